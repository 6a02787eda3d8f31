package render

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
	"github.com/phoenix-gitops/phoenix/status"
)

// StatusText writes phoenix status for a person: the table of UX.md, one
// line per endpoint, then what the table cannot say (cold serving pools,
// failed and rejected pools, what left the spec, images and their drift).
func StatusText(w io.Writer, doc *status.Doc, o StatusOptions) error {
	now := o.Now
	if len(doc.Endpoints) == 0 {
		_, err := fmt.Fprintln(w, "No environments in scope.")
		return err
	}
	var stopped []status.Pool  // serving, but no server runs
	var failed []status.Pool   // retained in the table as "(failed)"
	var rejected []status.Pool // rejected by release analysis (status_rejected.go)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ENV\tROLE\tENDPOINT\tSERVING\tAGE\tHEALTH\tCOMMIT\tRETAINED")
	for _, e := range doc.Endpoints {
		var serving []string
		age, health, commit := "-", "-", "-"
		var retained []status.Pool
		for _, p := range doc.Pools {
			if p.Env != e.Env || p.Role != e.Role {
				continue
			}
			short := cloud.ShortPool(p.Role, p.Key, p.Generation)
			if p.Serving {
				if p.Weight < 100 {
					short = fmt.Sprintf("%s %d%%", short, p.Weight)
				}
				serving = append(serving, short)
				if age == "-" {
					age, health, commit = humanAge(now.Sub(p.CreatedAt)), fmt.Sprintf("%d/%d", p.Servers, p.Count), statusCommit(p.Commit)
					if p.State == string(cloud.PoolCold) {
						health = "cold"
					}
				}
				if p.State == string(cloud.PoolCold) && e.InSpec { // apply starts only what is in the spec
					stopped = append(stopped, p)
				}
				continue
			}
			if p.State == string(cloud.PoolFailed) {
				failed = append(failed, p)
			}
			if p.Rejected != "" {
				rejected = append(rejected, p)
			}
			retained = append(retained, p)
		}
		role := e.Role
		if !e.InSpec {
			role += " (not in spec)"
		}
		srv := strings.Join(serving, ", ")
		if srv == "" {
			srv = "-"
		}
		ret := retainedList(retained)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Env, role, e.Address, srv, age, health, commit, ret)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	writeColdServing(w, stopped)
	writeFailed(w, failed)
	writeRejected(w, rejected)
	writeLeftSpec(w, doc.Endpoints)
	if len(doc.Pools) == 0 {
		// A new user's first status: say what to do rather than only "-".
		fmt.Fprintln(w, "\nNo pools yet: nothing is deployed in these environments. See what would be with phoenix plan; deploy with phoenix apply --yes.")
	}
	writeImages(w, doc.Images, o)
	writeDriftedImages(w, doc.Images)
	return nil
}

// StatusOptions are how StatusText shows the status.
type StatusOptions struct {
	// Now is what ages are measured against.
	Now time.Time
	// AllImages lists every image build; otherwise the newest build of
	// each image is named and the others are counted (status --all).
	AllImages bool
}

// writeImages names the image builds. Every bake adds one and the image
// retention keeps several, so the full list grows with the history of the
// spec: by default it names the newest build of each image (what the spec
// uses, bounded by the spec's size) and counts the rest.
func writeImages(w io.Writer, images []status.Image, o StatusOptions) {
	if len(images) == 0 {
		return
	}
	all := imageList(images, o.Now)
	if o.AllImages {
		fmt.Fprintf(w, "\nImages: %s\n", strings.Join(all, ", "))
		return
	}
	var newest []status.Image // images are sorted by name, newest first
	for i, im := range images {
		if i == 0 || im.Name != images[i-1].Name {
			newest = append(newest, im)
		}
	}
	named := imageList(newest, o.Now)
	if len(named) == len(all) {
		fmt.Fprintf(w, "\nImages: %s\n", strings.Join(named, ", "))
		return
	}
	fmt.Fprintf(w, "\nImages: %s of %s, the newest of each: %s (phoenix status --all lists every build)\n",
		countOf(len(all), "build"), countOf(len(named), "image"), strings.Join(named, ", "))
}

// imageList names image builds as "web 3c5e5de (2d, drift)", once each.
func imageList(images []status.Image, now time.Time) []string {
	var out []string
	for _, im := range images {
		drift := ""
		if im.Drift {
			drift = ", drift"
		}
		out = append(out, fmt.Sprintf("%s %s (%s%s)", im.Name, statusCommit(im.BuildID), humanAge(now.Sub(im.CreatedAt)), drift))
	}
	return slices.Compact(out)
}

// writeDriftedImages says which images changed after their bake: nothing
// in the table shows it (their pools may still be healthy), and the next
// plan rebakes them with their descendants.
func writeDriftedImages(w io.Writer, images []status.Image) {
	var names []string
	for _, im := range images {
		if im.Drift {
			names = append(names, im.Name+" "+statusCommit(im.BuildID))
		}
	}
	if len(names) == 0 {
		return
	}
	n := len(names)
	fmt.Fprintf(w, "\nDrift: %s %s no longer %s what %s bake made; phoenix plan shows %s rebaked, with every image built on %s.\n",
		plural(n, "image", "images"), strings.Join(names, ", "), plural(n, "holds", "hold"), plural(n, "its", "their"),
		plural(n, "it", "them"), plural(n, "it", "them"))
}

// writeColdServing explains serving pools whose servers are stopped (the
// local cloud's `cloud down` leaves them so): their endpoints answer 503
// until something starts them, which a HEALTH of 0/N alone did not say.
func writeColdServing(w io.Writer, pools []status.Pool) {
	if len(pools) == 0 {
		return
	}
	fmt.Fprintln(w)
	local := false
	for _, p := range pools {
		fmt.Fprintf(w, "%s/%s: serving pool %s is cold, so its endpoint answers 503%s.\n", p.Env, p.Role, cloud.ShortPool(p.Role, p.Key, p.Generation), Because(p.Reason))
		local = local || p.Cloud == model.CloudLocal
	}
	it := plural(len(pools), "it", "them")
	if local {
		fmt.Fprintf(w, "Start what served with phoenix cloud up (phoenix apply --yes starts %s too).\n", it)
	} else {
		fmt.Fprintf(w, "phoenix apply --yes starts %s.\n", it)
	}
}

// writeLeftSpec names the endpoints that remain (serving, or cold after
// cloud down) although their role or environment left the spec, and the
// flag that removes them.
func writeLeftSpec(w io.Writer, eps []status.Endpoint) {
	var left []string
	for _, e := range eps {
		if !e.InSpec && len(e.Serving) > 0 {
			left = append(left, e.Env+"/"+e.Role)
		}
	}
	if len(left) == 0 {
		return
	}
	fmt.Fprintf(w, "\nLeft the spec, but their endpoints and pools remain: %s. phoenix plan --destroy shows what destroying them takes.\n", strings.Join(left, ", "))
}

// writeFailed says why each failed pool failed (a smoke check's status,
// a server that did not turn healthy): the table's "(failed)" alone sent
// the user to --format json or the apply's output to find out.
func writeFailed(w io.Writer, pools []status.Pool) {
	if len(pools) == 0 {
		return
	}
	fmt.Fprintln(w)
	for _, p := range pools {
		fmt.Fprintf(w, "%s/%s: pool %s failed%s.\n", p.Env, p.Role, cloud.ShortPool(p.Role, p.Key, p.Generation), Because(p.Reason))
	}
	fmt.Fprintln(w, "Failed pools never serve and do not count toward retention; phoenix plan shows them pruned.")
	if p := pools[0]; p.Cloud == model.CloudLocal {
		fmt.Fprintf(w, "What their servers wrote: phoenix logs %s %s --pool %s\n", p.Env, p.Role, cloud.ShortPool(p.Role, p.Key, p.Generation))
	}
}

// Because completes a sentence about a pool with its reason (": why"),
// or with nothing when it has none.
func Because(reason string) string {
	if reason == "" {
		return ""
	}
	return ": " + reason
}

// retainedList renders the non-serving pools in the order a rollback
// would pick them: warm, then cold, then the rest; newest first in each.
func retainedList(pools []status.Pool) string {
	if len(pools) == 0 {
		return "-"
	}
	rank := map[string]int{"warm": 0, "cold": 1}
	temp := func(p status.Pool) int {
		if r, ok := rank[poolTemp(p)]; ok {
			return r
		}
		return 2
	}
	sort.SliceStable(pools, func(i, j int) bool { return temp(pools[i]) < temp(pools[j]) })
	out := make([]string, len(pools))
	for i, p := range pools {
		out[i] = fmt.Sprintf("%s (%s)", cloud.ShortPool(p.Role, p.Key, p.Generation), poolTemp(p))
	}
	return strings.Join(out, ", ")
}

// poolTemp says how ready a retained pool is for a rollback.
func poolTemp(p status.Pool) string {
	switch {
	case p.State == string(cloud.PoolFailed):
		return "failed"
	case p.State == string(cloud.PoolCreating):
		return "creating"
	case p.State == string(cloud.PoolCold):
		return "cold"
	case p.Healthy:
		return "warm"
	default:
		return fmt.Sprintf("unhealthy %d/%d", p.Servers, p.Count)
	}
}

// statusCommit shortens a commit (or build id) for the table as
// shortCommit does, with "-" for none.
func statusCommit(c string) string {
	if c == "" {
		return "-"
	}
	return shortCommit(c)
}

// humanAge renders an age as UX.md does: 40s, 2m, 5h, 14d.
func humanAge(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", max(int(d.Seconds()), 0))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	default:
		return fmt.Sprintf("%dd", int(d.Hours()/24))
	}
}
