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
	users := map[imageRef][]string{} // pool prune step ids by image
	needed := map[imageRef]bool{}
	// keepChain marks r and its ancestors needed; a walk stops at an image
	// already marked, whose ancestors a previous walk marked.
	keepChain := func(r imageRef) {
		for depth := 0; depth < 64 && !needed[r]; depth++ {
			im := idx.images[r]
			if im == nil {
				return
			}
			needed[r] = true
			if im.ParentBuildID == "" {
				return
			}
			r = imageRef{r.cloud, im.ParentBuildID}
		}
	}
	for ref, p := range idx.poolByID {
		ir := imageRef{p.Cloud, p.BuildID}
		if id := res.pruned[ref]; id != "" {
			users[ir] = append(users[ir], id)
			continue
		}
		keepChain(ir)
	}
	images := idx.imageList()
	for _, im := range images {
		if desired[im.BuildID] {
			keepChain(imageRef{im.Cloud, im.BuildID})
		}
	}
	// Unneeded images, newest first within each (cloud, name).
	var unused []*cloud.Image
	for _, im := range images {
		if !needed[imageRef{im.Cloud, im.BuildID}] {
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
	var kept []imageRef
	for i, n := 0, 0; i < len(unused); i++ {
		if i > 0 && (unused[i].Cloud != unused[i-1].Cloud || unused[i].Name != unused[i-1].Name) {
			n = 0
		}
		if n < keep {
			kept = append(kept, imageRef{unused[i].Cloud, unused[i].BuildID})
		}
		n++
	}
	for _, r := range kept {
		keepChain(r)
	}
	stepID := map[imageRef]string{}
	var steps []Step
	for _, im := range unused {
		r := imageRef{im.Cloud, im.BuildID}
		if needed[r] {
			continue
		}
		id := fmt.Sprintf("prune-image:%s:%s", im.Cloud, short12(im.BuildID))
		stepID[r] = id
		steps = append(steps, Step{
			ID: id, Kind: Prune, Cloud: im.Cloud, Image: im.Name, BuildID: im.BuildID,
			Reason: fmt.Sprintf("image %s %s: unused, past image retention (keep %d)", im.Name, short8(im.BuildID), keep),
			After:  users[r],
		})
	}
	// A parent goes after its children.
	at := make(map[string]int, len(steps))
	for i := range steps {
		at[steps[i].ID] = i
	}
	for i := range steps {
		im := idx.images[imageRef{steps[i].Cloud, steps[i].BuildID}]
		if im.ParentBuildID == "" {
			continue
		}
		if p, ok := at[stepID[imageRef{im.Cloud, im.ParentBuildID}]]; ok {
			steps[p].After = append(steps[p].After, steps[i].ID)
		}
	}
	return steps
}
