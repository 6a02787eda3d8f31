package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
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
// was removed by hand is dropped, so that the next bake rebuilds it.
func (s *supervisor) getImage(project, buildID string) (*cloud.Image, error) {
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
	im := rec.live()
	return &im, nil
}

// commitImage moves a finished tree into place and records it.
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
	final := filepath.Join(s.imagesDir(), req.BuildID)
	if rec, _ := s.image(req.Project, req.BuildID); rec != nil {
		if _, err := os.Stat(rec.Dir); err == nil {
			_ = removeTree(req.TmpDir) // a concurrent bake of the same id won
			im := rec.live()
			return &im, nil
		}
	}
	shared := false
	err = s.st.view(func(tx *bolt.Tx) error {
		return each(tx, bucketImages, nil, func(r *imageRec) error {
			if r.BuildID == req.BuildID && r.Project != req.Project {
				shared = true
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(final); err == nil && shared {
		_ = removeTree(req.TmpDir) // same inputs, same tree: share it
	} else {
		if err := removeTree(final); err != nil { // an orphan
			return nil, err
		}
		if err := os.Rename(req.TmpDir, final); err != nil {
			return nil, fmt.Errorf("committing image %s: %w", req.Name, err)
		}
		_ = os.Chmod(final, 0o555)
	}
	rec := &imageRec{
		Project: req.Project, Name: req.Name, BuildID: req.BuildID, ParentBuildID: req.ParentBuildID,
		From: req.From, Dir: final, Digest: req.Digest, CreatedAt: time.Now().UTC(),
	}
	if err := s.st.update(func(tx *bolt.Tx) error { return put(tx, bucketImages, rec.key(), rec) }); err != nil {
		return nil, err
	}
	s.log.Printf("image %s %s committed", req.Name, short(req.BuildID))
	im := rec.live()
	return &im, nil
}

// deleteImage removes an image's record, and its tree when no other
// project records the same build id. It refuses an image a pool uses.
func (s *supervisor) deleteImage(project, buildID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, err := s.image(project, buildID)
	if err != nil || rec == nil {
		return err
	}
	var users []string
	otherProject := false
	for _, rt := range s.pools {
		if rt.rec.BuildID == buildID {
			if rt.rec.Project == project {
				users = append(users, rt.rec.ID)
			} else {
				otherProject = true
			}
		}
	}
	if len(users) > 0 {
		sort.Strings(users)
		return fmt.Errorf("deleting image %s %s: used by pool %s: %w", rec.Name, short(buildID), strings.Join(users, ", "), cloud.ErrInUse)
	}
	err = s.st.view(func(tx *bolt.Tx) error {
		return each(tx, bucketImages, nil, func(r *imageRec) error {
			if r.BuildID == buildID && r.Project != project {
				otherProject = true
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	if err := s.st.update(func(tx *bolt.Tx) error { return del(tx, bucketImages, rec.key()) }); err != nil {
		return err
	}
	if !otherProject {
		if err := removeTree(rec.Dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("removing image tree %s: %w", rec.Dir, err)
		}
	}
	s.log.Printf("image %s %s deleted", rec.Name, short(buildID))
	return nil
}

// verifyImage checks an image's tree against its recorded digest: a tree
// changed after the bake is drift, and no server starts from it.
func verifyImage(rec *imageRec) error {
	got, err := treeDigest(rec.Dir)
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
