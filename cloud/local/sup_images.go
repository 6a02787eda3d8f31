package local

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
)

// Images live in PHOENIX_HOME/images/BUILDID. A bake builds its tree in
// images/.tmp (on the same file system) and the supervisor renames it into
// place and records it in one step, so an image either exists whole and
// recorded or not at all. A directory without a record (a kill between the
// rename and the commit) is an orphan: the next commit of that build id
// replaces it.
//
// Rebakes. Bake with Replace (an image past its maxAge) runs the steps
// again into a new tree, images/BUILDID.N, and points the image's one
// record at it with a new digest and creation time, in one transaction.
// The old tree stays while any pool started from it exists: a pool records
// the tree its servers run from (their working directory), starts from it
// again when warmed, and is checked for drift against it, so a rebake never
// pulls a tree from under running servers nor makes them look drifted. A
// tree that no image record and no pool refers to is removed by the next
// commit, pool deletion or image deletion of its build id (sweepTrees).

func (s *supervisor) imagesDir() string { return filepath.Join(s.home, "images") }

// image reads an image record; nil if absent.
func (s *supervisor) image(project, buildID string) (*imageRec, error) {
	var rec imageRec
	var ok bool
	err := s.st.view(func(tx *bolt.Tx) error {
		var err error
		ok, err = get(tx, bucketImages, recKey(project, buildID), &rec)
		return err
	})
	if err != nil || !ok {
		return nil, err
	}
	return &rec, nil
}

func (r *imageRec) live() cloud.Image {
	return cloud.Image{Cloud: model.CloudLocal, Name: r.Name, BuildID: r.BuildID, ParentBuildID: r.ParentBuildID, CreatedAt: r.CreatedAt, Ref: r.Dir}
}

// getImage returns a recorded image whose tree exists; a record whose tree
// was removed by hand is dropped, so that the next bake rebuilds it. The
// image's Drift says whether its tree still matches its digest (checked
// outside s.mu: a first check hashes the whole tree).
func (s *supervisor) getImage(project, buildID string) (*cloud.Image, error) {
	rec, err := s.presentImage(project, buildID)
	if err != nil {
		return nil, err
	}
	im := rec.live()
	im.Drift = drifted(rec)
	return &im, nil
}

// presentImage returns the record of an image whose tree exists.
func (s *supervisor) presentImage(project, buildID string) (*imageRec, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, err := s.image(project, buildID)
	if err != nil {
		return nil, err
	}
	if rec == nil {
		return nil, fmt.Errorf("image %s: %w", short(buildID), cloud.ErrNotFound)
	}
	if _, err := os.Stat(rec.Dir); err != nil {
		_ = s.st.update(func(tx *bolt.Tx) error { return del(tx, bucketImages, rec.key()) })
		return nil, fmt.Errorf("image %s: its tree is gone: %w", short(buildID), cloud.ErrNotFound)
	}
	return rec, nil
}

// markDrift sets the Drift of the observed images whose trees no longer
// match the digests of their records (recs, by build id).
func markDrift(images []cloud.Image, recs map[string]*imageRec) {
	for i := range images {
		if rec := recs[images[i].BuildID]; rec != nil {
			images[i].Drift = drifted(rec)
		}
	}
}

// commitImage moves a finished tree into place and records it. A first
// bake of a build id goes to images/BUILDID (shared with another project
// that records the same build id: same inputs, same tree); a rebake
// (req.Replace) always gets a directory of its own.
func (s *supervisor) commitImage(_ context.Context, req *commitImageReq) (any, error) {
	tmpRoot := filepath.Join(s.imagesDir(), ".tmp")
	rel, err := filepath.Rel(tmpRoot, req.TmpDir)
	if err != nil || rel == "." || strings.HasPrefix(rel, "..") || strings.Contains(rel, string(filepath.Separator)) {
		return nil, fmt.Errorf("committing image %s: %s is not a bake directory of this home", req.Name, req.TmpDir)
	}
	if req.BuildID == "" || strings.ContainsAny(req.BuildID, "/\\.") {
		return nil, fmt.Errorf("committing image %s: bad build id %q", req.Name, req.BuildID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, err := s.image(req.Project, req.BuildID)
	if err != nil {
		return nil, err
	}
	if old != nil && !req.Replace {
		if _, err := os.Stat(old.Dir); err == nil {
			_ = removeTree(req.TmpDir) // a concurrent bake of the same id won
			im := old.live()
			return &im, nil
		}
	}
	refs, err := s.treeRefs()
	if err != nil {
		return nil, err
	}
	final, err := s.placeTree(req, refs)
	if err != nil {
		return nil, fmt.Errorf("committing image %s: %w", req.Name, err)
	}
	rec := &imageRec{
		Project: req.Project, Name: req.Name, BuildID: req.BuildID, ParentBuildID: req.ParentBuildID,
		From: req.From, Dir: final, Digest: req.Digest, CreatedAt: time.Now().UTC(),
	}
	if old != nil && !rec.CreatedAt.After(old.CreatedAt) {
		rec.CreatedAt = old.CreatedAt.Add(time.Microsecond) // a wall clock stepped back: a rebake is still newer
	}
	if err := s.st.update(func(tx *bolt.Tx) error { return put(tx, bucketImages, rec.key(), rec) }); err != nil {
		return nil, err
	}
	if old != nil && req.Replace {
		s.log.Printf("image %s %s rebaked into %s (was %s)", req.Name, short(req.BuildID), filepath.Base(final), filepath.Base(old.Dir))
	} else {
		s.log.Printf("image %s %s committed", req.Name, short(req.BuildID))
	}
	s.sweepTrees(req.BuildID)
	im := rec.live()
	return &im, nil
}

// placeTree renames a finished bake into the images directory and returns
// where it went. images/BUILDID is the first bake's place: an image record
// of another project there is shared by a first bake (the new tree is
// dropped); a directory there that nothing refers to is an orphan of a
// crash and is replaced. A rebake, or a first bake whose place is taken by
// a tree that pools still run from, goes to images/BUILDID.N, a new N
// each time (nanoseconds since the epoch: never reused, so that no cached
// drift check of a removed tree applies to a new one). s.mu held.
func (s *supervisor) placeTree(req *commitImageReq, refs treeRefs) (string, error) {
	final := filepath.Join(s.imagesDir(), req.BuildID)
	_, statErr := os.Stat(final)
	exists := statErr == nil
	switch {
	case exists && !req.Replace && refs.records[final]:
		_ = removeTree(req.TmpDir) // same inputs, same tree: share it
		return final, nil
	case exists && !refs.used(final):
		if err := removeTree(final); err != nil { // an orphan
			return "", err
		}
	case exists || req.Replace:
		final = filepath.Join(s.imagesDir(), req.BuildID+"."+strconv.FormatInt(time.Now().UnixNano(), 10))
	}
	if err := os.Rename(req.TmpDir, final); err != nil {
		return "", err
	}
	_ = os.Chmod(final, 0o555)
	primeTree(final, req.Digest) // the bake just hashed it: the first Observe need not
	return final, nil
}

// treeRefs says which image trees are in use, in every project: the tree
// each image record points at, and the tree each pool record was started
// from. A pool's record goes last when it is deleted, after its servers
// stopped, so a tree is in use for as long as a server may run from it.
type treeRefs struct {
	records map[string]bool // image records' trees
	pools   map[string]bool // trees pools were started from
}

func (r treeRefs) used(dir string) bool { return r.records[dir] || r.pools[dir] }

// treeRefs reads the trees in use from the store; s.mu held.
func (s *supervisor) treeRefs() (treeRefs, error) {
	refs := treeRefs{records: map[string]bool{}, pools: map[string]bool{}}
	err := s.st.view(func(tx *bolt.Tx) error {
		byImage := map[string]string{} // recKey(project, build) -> dir, for pools recorded without a tree
		if err := each(tx, bucketImages, nil, func(r *imageRec) error {
			refs.records[r.Dir] = true
			byImage[string(r.key())] = r.Dir
			return nil
		}); err != nil {
			return err
		}
		return each(tx, bucketPools, nil, func(r *poolRec) error {
			if r.ImageDir != "" {
				refs.pools[r.ImageDir] = true
			} else if dir, ok := byImage[string(recKey(r.Project, r.BuildID))]; ok {
				refs.pools[dir] = true
			}
			return nil
		})
	})
	return refs, err
}

// sweepTrees removes the trees of a build id (images/BUILDID and
// images/BUILDID.N) that no image record and no pool refers to: the trees
// a rebake replaced, once the last pool started from them is deleted, the
// trees of a deleted image, and orphans left by a crash between a rename
// and its record. Failures are logged: the next sweep retries. s.mu held.
func (s *supervisor) sweepTrees(buildID string) {
	refs, err := s.treeRefs()
	if err != nil {
		s.log.Printf("sweeping the trees of image %s: %v", short(buildID), err)
		return
	}
	entries, err := os.ReadDir(s.imagesDir())
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() || (e.Name() != buildID && !strings.HasPrefix(e.Name(), buildID+".")) {
			continue
		}
		dir := filepath.Join(s.imagesDir(), e.Name())
		if refs.used(dir) {
			continue
		}
		if err := removeTree(dir); err != nil {
			s.log.Printf("removing image tree %s: %v", dir, err)
			continue
		}
		s.driftMu.Lock()
		delete(s.driftSeen, dir)
		s.driftMu.Unlock()
		forgetTree(dir)
		s.log.Printf("image tree %s removed (no image or pool uses it)", e.Name())
	}
}

// tree returns the image tree a pool's servers start from: the one
// recorded with the pool, or for a pool recorded without one (before
// rebakes kept trees per pool) img, the image's current tree, which may be
// nil.
func (r *poolRec) tree(img *imageRec) *imageRec {
	if r.ImageDir == "" {
		return img
	}
	return &imageRec{
		Project: r.Project, Name: r.ImageName, BuildID: r.BuildID,
		Dir: r.ImageDir, Digest: r.ImageDigest,
	}
}

// deleteImage removes an image's record, and the trees of its build id
// that nothing else uses (another project's record of the same build id,
// a pool of another project). It refuses an image a pool of the project
// uses.
func (s *supervisor) deleteImage(project, buildID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, err := s.image(project, buildID)
	if err != nil || rec == nil {
		return err
	}
	var users []string
	for _, rt := range s.pools {
		if rt.rec.BuildID == buildID && rt.rec.Project == project {
			users = append(users, rt.rec.ID)
		}
	}
	if len(users) > 0 {
		sort.Strings(users)
		return fmt.Errorf("deleting image %s %s: used by pool %s: %w", rec.Name, short(buildID), strings.Join(users, ", "), cloud.ErrInUse)
	}
	if err := s.st.update(func(tx *bolt.Tx) error { return del(tx, bucketImages, rec.key()) }); err != nil {
		return err
	}
	s.sweepTrees(buildID)
	s.log.Printf("image %s %s deleted", rec.Name, short(buildID))
	return nil
}

// verifyImage checks an image's tree against its recorded digest: a tree
// changed after the bake is drift, and no server starts from it.
func verifyImage(rec *imageRec) error {
	got, err := currentDigest(rec.Dir)
	if err != nil {
		return fmt.Errorf("image %s %s: reading its tree: %w", rec.Name, short(rec.BuildID), err)
	}
	if got != rec.Digest {
		return fmt.Errorf("image %s %s: its tree at %s no longer matches its digest (changed after the bake): drift", rec.Name, short(rec.BuildID), rec.Dir)
	}
	return nil
}

func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}
