package planner

import (
	"fmt"
	"sort"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
)

// planImagePrunes applies rule 5. An image is needed when a pool that stays
// after the plan uses it, when the spec names its build id, or when it is an
// ancestor (by ParentBuildID) of a needed image. Of the images not needed,
// the newest `keep` of each (cloud, image name) are retained, with their
// ancestors; the rest are pruned. A prune waits for the prunes of the pools
// that used the image and for the prunes of its child images.
func planImagePrunes(d *model.Desired, idx *index, res *results, keep int) []Step {
	desired := make(map[string]bool, len(d.Images))
	for _, im := range d.Images {
		desired[im.BuildID] = true
	}
	users := map[*cloud.Image][]string{} // pool prune step ids by image
	needed := make(map[*cloud.Image]bool, idx.imageCount)
	// keepChain marks im and its ancestors needed; a walk stops at an image
	// already marked, whose ancestors a previous walk marked.
	keepChain := func(im *cloud.Image) {
		for depth := 0; depth < 64 && im != nil && !needed[im]; depth++ {
			needed[im] = true
			if im.ParentBuildID == "" {
				return
			}
			im = idx.image(im.Cloud, im.ParentBuildID)
		}
	}
	for _, s := range idx.slotList {
		for i, p := range s.pools {
			im := s.images[i]
			if im == nil {
				continue
			}
			if id := res.pruned[p]; id != "" {
				users[im] = append(users[im], id)
				continue
			}
			keepChain(im)
		}
	}
	images := idx.imageList()
	for _, im := range images {
		if desired[im.BuildID] {
			keepChain(im)
		}
	}
	// Unneeded images, newest first within each (cloud, name).
	var unused []*cloud.Image
	for _, im := range images {
		if !needed[im] {
			unused = append(unused, im)
		}
	}
	sort.SliceStable(unused, func(a, b int) bool {
		x, y := unused[a], unused[b]
		if x.Cloud != y.Cloud {
			return x.Cloud < y.Cloud
		}
		if x.Name != y.Name {
			return x.Name < y.Name
		}
		if !x.CreatedAt.Equal(y.CreatedAt) {
			return x.CreatedAt.After(y.CreatedAt)
		}
		return x.BuildID > y.BuildID
	})
	var kept []*cloud.Image
	for i, n := 0, 0; i < len(unused); i++ {
		if i > 0 && (unused[i].Cloud != unused[i-1].Cloud || unused[i].Name != unused[i-1].Name) {
			n = 0
		}
		if n < keep {
			kept = append(kept, unused[i])
		}
		n++
	}
	for _, im := range kept {
		keepChain(im)
	}
	stepID := map[*cloud.Image]string{}
	var steps []Step
	for _, im := range unused {
		if needed[im] {
			continue
		}
		id := fmt.Sprintf("prune-image:%s:%s", im.Cloud, short12(im.BuildID))
		stepID[im] = id
		steps = append(steps, Step{
			ID: id, Kind: Prune, Cloud: im.Cloud, Image: im.Name, BuildID: im.BuildID,
			Reason: fmt.Sprintf("image %s %s: unused, past image retention (keep %d)", im.Name, short8(im.BuildID), keep),
			After:  users[im],
		})
	}
	// A parent goes after its children.
	at := make(map[string]int, len(steps))
	for i := range steps {
		at[steps[i].ID] = i
	}
	for i := range steps {
		im := idx.image(steps[i].Cloud, steps[i].BuildID)
		if im.ParentBuildID == "" {
			continue
		}
		parent := idx.image(im.Cloud, im.ParentBuildID)
		if p, ok := at[stepID[parent]]; ok && parent != nil {
			steps[p].After = append(steps[p].After, steps[i].ID)
		}
	}
	return steps
}
