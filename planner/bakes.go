package planner

import (
	"fmt"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
)

// imageState is what the planner knows of one desired image in one cloud.
type imageState struct {
	cloud string
	img   *model.Image
	live  *cloud.Image // nil when the cloud has no image of this build id
	// current is true when the live image can be used as it is: present,
	// not drifted, younger than its maxAge, and baked after its parent,
	// which is itself live and current.
	current bool
	why     string // why not current, for the bake's reason
	parent  *imageState
	baked   bool   // a bake step is planned
	stepID  string // the bake step's id when baked
}

// bakes decides, once per (cloud, image), whether an image must be baked,
// and emits one bake step per (cloud, build id) however many pools need it.
type bakes struct {
	d       *model.Desired
	idx     *index
	now     time.Time
	states  map[[2]string]*imageState             // (cloud, image name)
	byBuild map[string]map[string]*imageState     // cloud → build id → the image that bakes it
	order   []*imageState                         // baked images, parents first
	explain func(name, liveBuildID string) string // Options.ExplainImage; may be nil
}

func newBakes(d *model.Desired, idx *index, now time.Time) *bakes {
	return &bakes{
		d: d, idx: idx, now: now,
		states:  map[[2]string]*imageState{},
		byBuild: map[string]map[string]*imageState{},
	}
}

// state returns (computing once) the state of image name in cloud c.
func (b *bakes) state(c, name string) *imageState {
	k := [2]string{c, name}
	if s, ok := b.states[k]; ok {
		return s
	}
	img := b.d.Images[name]
	s := &imageState{cloud: c, img: img}
	b.states[k] = s // before recursing: a (malformed) parent cycle stops here
	if img == nil {
		return s
	}
	if img.Parent != "" && img.Parent != name {
		s.parent = b.state(c, img.Parent)
	}
	s.live = b.idx.image(c, img.BuildID)
	s.current, s.why = b.judge(s)
	return s
}

// judge says whether a live image is current and, if not, why.
func (b *bakes) judge(s *imageState) (bool, string) {
	name := s.img.Name
	if s.live == nil {
		if old := b.idx.newestByName[s.cloud][name]; old != nil {
			if b.explain != nil {
				if why := b.explain(name, old.BuildID); why != "" {
					return false, fmt.Sprintf("image %s: %s", name, why)
				}
			}
			return false, fmt.Sprintf("image %s: inputs changed (live build %s)", name, short8(old.BuildID))
		}
		return false, fmt.Sprintf("image %s: not baked yet", name)
	}
	if s.live.Drift {
		// Repaired like a drifted pool, by replacement; its children
		// follow (their parent is not current).
		return false, fmt.Sprintf("image %s: drift: image tree does not match its digest", name)
	}
	if older(s.live.CreatedAt, s.img.MaxAge, b.now) {
		return false, fmt.Sprintf("image %s: older than maxAge %s", name, fmtAge(s.img.MaxAge))
	}
	if p := s.parent; p != nil {
		switch {
		case p.live == nil:
			// Baking the parent makes this bake older than it; a parent
			// of a live image is only gone if someone deleted it.
			return false, fmt.Sprintf("image %s: parent %s is missing", name, p.img.Name)
		case !p.current:
			return false, fmt.Sprintf("image %s: parent %s is rebaked", name, p.img.Name)
		case bakedBefore(s.live.CreatedAt, p.live.CreatedAt):
			return false, fmt.Sprintf("image %s: parent %s was rebaked after it", name, p.img.Name)
		}
	}
	return true, ""
}

// plan makes sure image name is usable in cloud c: it bakes the image if it
// is not current, and then every ancestor that is not current either
// (a bake needs its parent live).
func (b *bakes) plan(c, name string) {
	var chain []*imageState
	for s := b.state(c, name); s != nil && s.img != nil && !s.current && !s.baked; s = s.parent {
		chain = append(chain, s)
		if len(chain) > 64 {
			break
		}
	}
	// Parents first, so that b.order is a valid bake order.
	for i := len(chain) - 1; i >= 0; i-- {
		s := chain[i]
		s.baked = true
		byID := b.byBuild[c]
		if byID == nil {
			byID = map[string]*imageState{}
			b.byBuild[c] = byID
		}
		if first := byID[s.img.BuildID]; first != nil {
			s.stepID = first.stepID
			continue
		}
		byID[s.img.BuildID] = s
		s.stepID = fmt.Sprintf("bake:%s:%s:%s", c, s.img.Name, short12(s.img.BuildID))
		b.order = append(b.order, s)
	}
}

// stepFor returns the id of the bake step of image name in cloud c, or ""
// when the live image is used as it is.
func (b *bakes) stepFor(c, name string) string {
	if s := b.states[[2]string{c, name}]; s != nil && s.baked {
		return s.stepID
	}
	return ""
}

// rebaked reports whether the plan bakes build id in cloud c, which makes
// every existing pool built from it out of date.
func (b *bakes) rebaked(c, buildID string) bool { return b.byBuild[c][buildID] != nil }

// steps returns the bake steps, parents before children.
func (b *bakes) steps() []Step {
	out := make([]Step, 0, len(b.order))
	for _, s := range b.order {
		st := Step{
			ID:      s.stepID,
			Kind:    Bake,
			Cloud:   s.cloud,
			Image:   s.img.Name,
			BuildID: s.img.BuildID,
			Reason:  s.why,
			Replace: s.live != nil,
		}
		if p := s.parent; p != nil && p.baked {
			st.After = []string{p.stepID}
		}
		out = append(out, st)
	}
	return out
}

// clockSkew is how far apart two timestamps must be for the planner to
// trust their order: images and pools may be stamped by different machines
// (two CI runners), and a rebake is days after the bake it replaces.
const clockSkew = time.Minute

// bakedBefore reports whether something made at t predates a bake at bake,
// by more than the clock skew.
func bakedBefore(t, bake time.Time) bool { return t.Add(clockSkew).Before(bake) }

// older reports whether something created at t is at least maxAge old at
// now. A zero maxAge or a zero now means no limit.
func older(t time.Time, maxAge time.Duration, now time.Time) bool {
	if maxAge <= 0 || now.IsZero() {
		return false
	}
	return !t.Add(maxAge).After(now)
}

// fmtAge renders a duration the way specs write it: "7d", "12h", "90m".
func fmtAge(d time.Duration) string {
	switch {
	case d >= 24*time.Hour && d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d >= time.Hour && d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d >= time.Minute && d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}
