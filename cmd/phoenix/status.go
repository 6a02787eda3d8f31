package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
)

func newStatusCmd(cl *clouds) *cobra.Command {
	var src specSource
	var envs []string
	var format string
	cmd := &cobra.Command{
		Use:   "status [DIR]",
		Short: "Show what serves each endpoint, what is retained, ages, health and commits",
		Long: `Status reads the live cloud and shows, for each (environment, role) of
the spec, the endpoint's address, the pool serving it (with weights during a
canary), that pool's age, health and git commit, and the retained pools
with whether they are warm or cold. --format json writes the same for
programs. It changes nothing. Exit 0 when the cloud could be read, 1
otherwise.`,
		Example: `  phoenix status                       every environment of environments/
  phoenix status --env prod
  phoenix status --format json | jq '.endpoints[] | {env, role, backends}'`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			src.Dir = specDir(args)
			if format != "text" && format != "json" {
				return fmt.Errorf("unknown --format %q: use text, json", format)
			}
			return runStatus(cmd.Context(), cl, cmd.OutOrStdout(), src, envs, format)
		},
	}
	addSpecFlags(cmd, &src)
	cmd.Flags().StringArrayVar(&envs, "env", nil, "show only this environment (repeatable)")
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

// statusDoc is the JSON contract of `phoenix status --format json`.
type statusDoc struct {
	Project   string           `json:"project"`
	Endpoints []statusEndpoint `json:"endpoints"`
	Pools     []statusPool     `json:"pools"`
	Images    []statusImage    `json:"images"`
	// Simulation is true when the live state came from the in-memory
	// simulation (PHOENIX_CLOUD_OVERRIDE=memory): nothing in it is real.
	Simulation bool `json:"simulation,omitempty"`
}

type statusEndpoint struct {
	Env      string          `json:"env"`
	Role     string          `json:"role"`
	Cloud    string          `json:"cloud"`
	Address  string          `json:"address"`
	Backends []cloud.Backend `json:"backends"`
	// InSpec is false for an endpoint whose (environment, role) left the spec.
	InSpec bool `json:"in_spec"`
}

type statusPool struct {
	ID         string    `json:"id"`
	Env        string    `json:"env"`
	Role       string    `json:"role"`
	Key        string    `json:"key"`
	Generation int       `json:"generation"`
	Image      string    `json:"image"`
	BuildID    string    `json:"build_id"`
	Commit     string    `json:"commit"`
	CreatedAt  time.Time `json:"created_at"`
	Serving    bool      `json:"serving"`
	Weight     int       `json:"weight,omitempty"`
	Healthy    bool      `json:"healthy"`
	Servers    int       `json:"servers"`
	Count      int       `json:"count"`
	State      string    `json:"state"`
	Cloud      string    `json:"cloud"`
	// Desired is true when the pool's key is the spec's for its role now.
	Desired bool   `json:"desired"`
	Reason  string `json:"reason,omitempty"`
	// Rejected says why release analysis rejected the pool (rule 8).
	Rejected   string    `json:"rejected,omitempty"`
	RejectedAt time.Time `json:"rejected_at,omitzero"`
}

type statusImage struct {
	Name          string    `json:"name"`
	BuildID       string    `json:"build_id"`
	ParentBuildID string    `json:"parent_build_id,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
	Cloud         string    `json:"cloud"`
	// Drift is true when the image no longer holds what its bake made.
	Drift bool `json:"drift,omitempty"`
}

func runStatus(ctx context.Context, cl *clouds, w io.Writer, src specSource, envs []string, format string) error {
	desired, err := loadSpec(ctx, src)
	if err != nil {
		return err
	}
	scope, err := envScope(desired, envs)
	if err != nil {
		return err
	}
	clouds, err := cl.openReadOnly(ctx, desired)
	if err != nil {
		return err
	}
	live, err := clouds.Observe(ctx, desired.Project)
	if err != nil {
		return err
	}
	if len(envs) == 0 {
		addLeftEnvs(scope, live)
	}
	doc := buildStatus(desired, live, scope)
	doc.Simulation = simulated(clouds)
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(doc)
	}
	if err := writeStatusText(w, doc, time.Now()); err != nil {
		return err
	}
	if note := localDownNote(clouds); note != "" {
		fmt.Fprintln(w, note)
	}
	return nil
}

// addLeftEnvs adds to scope the environments that left the spec but still
// have endpoints or pools in the live cloud: their servers run and serve
// until phoenix apply --destroy, and status showed nothing of them.
func addLeftEnvs(scope map[string]string, live *cloud.Live) {
	for _, e := range live.Endpoints {
		if _, ok := scope[e.Env]; !ok {
			scope[e.Env] = e.Cloud
		}
	}
	for _, p := range live.Pools {
		if _, ok := scope[p.Env]; !ok {
			scope[p.Env] = p.Cloud
		}
	}
}

// buildStatus joins the live state with the spec for the environments in
// scope (and endpoints of those environments whose role left the spec).
func buildStatus(d *model.Desired, live *cloud.Live, scope map[string]string) *statusDoc {
	doc := &statusDoc{Project: d.Project, Endpoints: []statusEndpoint{}, Pools: []statusPool{}, Images: []statusImage{}}
	wantKey := map[string]string{}
	weight := map[string]int{}
	seen := map[string]bool{}
	for _, p := range d.Pools {
		if _, ok := scope[p.Env]; ok {
			wantKey[p.Env+"/"+p.Role] = p.Key
		}
	}
	for _, e := range live.Endpoints {
		if _, ok := scope[e.Env]; !ok {
			continue
		}
		k := e.Env + "/" + e.Role
		_, in := wantKey[k]
		doc.Endpoints = append(doc.Endpoints, statusEndpoint{Env: e.Env, Role: e.Role, Cloud: e.Cloud, Address: e.Address, Backends: e.Backends, InSpec: in})
		seen[k] = true
		for _, b := range e.Backends {
			weight[b.Pool] += b.Weight
		}
	}
	// Endpoints of the spec that nothing serves yet.
	for _, p := range d.Pools {
		if _, ok := scope[p.Env]; ok && !seen[p.Env+"/"+p.Role] {
			doc.Endpoints = append(doc.Endpoints, statusEndpoint{Env: p.Env, Role: p.Role, Cloud: p.Cloud, Address: p.Endpoint, Backends: []cloud.Backend{}, InSpec: true})
		}
	}
	sort.Slice(doc.Endpoints, func(i, j int) bool {
		a, b := doc.Endpoints[i], doc.Endpoints[j]
		return a.Env+"/"+a.Role < b.Env+"/"+b.Role
	})
	for _, p := range live.Pools {
		if _, ok := scope[p.Env]; !ok {
			continue
		}
		doc.Pools = append(doc.Pools, statusPool{
			ID: p.ID, Env: p.Env, Role: p.Role, Key: p.Key, Generation: p.Generation, Image: p.Image, BuildID: p.BuildID,
			Commit: p.Commit, CreatedAt: p.CreatedAt, Serving: weight[p.ID] > 0, Weight: weight[p.ID], Healthy: p.Healthy,
			Servers: p.Servers, Count: p.Count, State: string(p.State), Cloud: p.Cloud,
			Desired: wantKey[p.Env+"/"+p.Role] == p.Key, Reason: p.Reason, Rejected: p.Rejected, RejectedAt: p.RejectedAt,
		})
	}
	sort.Slice(doc.Pools, func(i, j int) bool {
		a, b := doc.Pools[i], doc.Pools[j]
		if a.Env != b.Env || a.Role != b.Role {
			return a.Env+"/"+a.Role < b.Env+"/"+b.Role
		}
		return a.CreatedAt.After(b.CreatedAt) // newest first
	})
	for _, im := range live.Images {
		doc.Images = append(doc.Images, statusImage{Name: im.Name, BuildID: im.BuildID, ParentBuildID: im.ParentBuildID, CreatedAt: im.CreatedAt, Cloud: im.Cloud, Drift: im.Drift})
	}
	sort.Slice(doc.Images, func(i, j int) bool {
		a, b := doc.Images[i], doc.Images[j]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.CreatedAt.After(b.CreatedAt)
	})
	return doc
}

// writeStatusText writes the table of UX.md: one line per endpoint.
func writeStatusText(w io.Writer, doc *statusDoc, now time.Time) error {
	if len(doc.Endpoints) == 0 {
		_, err := fmt.Fprintln(w, "No environments in scope.")
		return err
	}
	var stopped []statusPool  // serving, but no server runs
	var failed []statusPool   // retained in the table as "(failed)"
	var rejected []statusPool // rejected by release analysis (status_rejected.go)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ENV\tROLE\tENDPOINT\tSERVING\tAGE\tHEALTH\tCOMMIT\tRETAINED")
	for _, e := range doc.Endpoints {
		var serving []string
		age, health, commit := "-", "-", "-"
		var retained []statusPool
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
					age, health, commit = humanAge(now.Sub(p.CreatedAt)), fmt.Sprintf("%d/%d", p.Servers, p.Count), shortCommit(p.Commit)
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
	if len(doc.Images) > 0 {
		var ims []string
		for _, im := range doc.Images {
			drift := ""
			if im.Drift {
				drift = ", drift"
			}
			ims = append(ims, fmt.Sprintf("%s %s (%s%s)", im.Name, shortCommit(im.BuildID), humanAge(now.Sub(im.CreatedAt)), drift))
		}
		fmt.Fprintf(w, "\nImages: %s\n", strings.Join(slices.Compact(ims), ", "))
	}
	writeDriftedImages(w, doc.Images)
	return nil
}

// writeDriftedImages says which images changed after their bake: nothing
// in the table shows it (their pools may still be healthy), and the next
// plan rebakes them with their descendants.
func writeDriftedImages(w io.Writer, images []statusImage) {
	var names []string
	for _, im := range images {
		if im.Drift {
			names = append(names, im.Name+" "+shortCommit(im.BuildID))
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
func writeColdServing(w io.Writer, pools []statusPool) {
	if len(pools) == 0 {
		return
	}
	fmt.Fprintln(w)
	local := false
	for _, p := range pools {
		fmt.Fprintf(w, "%s/%s: serving pool %s is cold, so its endpoint answers 503%s.\n", p.Env, p.Role, cloud.ShortPool(p.Role, p.Key, p.Generation), because(p.Reason))
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
func writeLeftSpec(w io.Writer, eps []statusEndpoint) {
	var left []string
	for _, e := range eps {
		if !e.InSpec && len(e.Backends) > 0 {
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
func writeFailed(w io.Writer, pools []statusPool) {
	if len(pools) == 0 {
		return
	}
	fmt.Fprintln(w)
	for _, p := range pools {
		fmt.Fprintf(w, "%s/%s: pool %s failed%s.\n", p.Env, p.Role, cloud.ShortPool(p.Role, p.Key, p.Generation), because(p.Reason))
	}
	fmt.Fprintln(w, "Failed pools never serve and do not count toward retention; phoenix plan shows them pruned.")
	if p := pools[0]; p.Cloud == model.CloudLocal {
		fmt.Fprintf(w, "What their servers wrote: phoenix logs %s %s --pool %s\n", p.Env, p.Role, cloud.ShortPool(p.Role, p.Key, p.Generation))
	}
}

// because completes a sentence about a pool with its reason (": why"),
// or with nothing when it has none.
func because(reason string) string {
	if reason == "" {
		return ""
	}
	return ": " + reason
}

// retainedList renders the non-serving pools in the order a rollback
// would pick them: warm, then cold, then the rest; newest first in each.
func retainedList(pools []statusPool) string {
	if len(pools) == 0 {
		return "-"
	}
	rank := map[string]int{"warm": 0, "cold": 1}
	temp := func(p statusPool) int {
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
func poolTemp(p statusPool) string {
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

// shortCommit shortens a commit (or build id) to 7 hex digits for the
// table, keeping the "-dirty" mark of a spec applied with --allow-dirty.
func shortCommit(c string) string {
	if c == "" {
		return "-"
	}
	base, dirty := strings.CutSuffix(c, "-dirty")
	if len(base) > 7 {
		base = base[:7]
	}
	if dirty {
		return base + "-dirty"
	}
	return base
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
