package planfile

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/phoenix-gitops/phoenix/cloud"
)

// diffSpec names what changed between two spec views, for people.
func diffSpec(was, now SpecView) []string {
	var out []string
	if was.Project != now.Project {
		out = append(out, fmt.Sprintf("project %s is now %s", was.Project, now.Project))
	}
	for _, k := range keys(was.Envs, now.Envs) {
		a, inA := was.Envs[k]
		b, inB := now.Envs[k]
		switch {
		case !inB:
			out = append(out, "environment "+k+" left the spec")
		case !inA:
			out = append(out, "environment "+k+" was added")
		case a.Cloud != b.Cloud:
			out = append(out, fmt.Sprintf("environment %s moved from the %s cloud to %s", k, a.Cloud, b.Cloud))
		case !reflect.DeepEqual(a.After, b.After):
			out = append(out, fmt.Sprintf("environment %s now comes after %s (was %s)", k, listOr(b.After), listOr(a.After)))
		}
	}
	for _, k := range keys(was.Images, now.Images) {
		a, inA := was.Images[k]
		b, inB := now.Images[k]
		switch {
		case !inB:
			out = append(out, "image "+k+" is no longer used")
		case !inA:
			out = append(out, "image "+k+" is new")
		case a.BuildID != b.BuildID:
			out = append(out, fmt.Sprintf("image %s changed (build %s → %s)", k, short(a.BuildID, 7), short(b.BuildID, 7)))
		case a.MaxAge != b.MaxAge:
			out = append(out, fmt.Sprintf("image %s maxAge changed (%v → %v)", k, a.MaxAge, b.MaxAge))
		}
	}
	for _, k := range keys(was.Pools, now.Pools) {
		a, inA := was.Pools[k]
		b, inB := now.Pools[k]
		switch {
		case !inB:
			out = append(out, k+" left the spec")
		case !inA:
			out = append(out, k+" was added")
		case a.Key != b.Key:
			out = append(out, fmt.Sprintf("%s changed (pool key %s → %s)", k, short(a.Key, 8), short(b.Key, 8)))
		default:
			out = append(out, fieldChanges(k, a, b)...)
		}
	}
	if len(out) == 0 {
		out = append(out, "its fingerprint differs")
	}
	return out
}

// fieldChanges names the settings outside the key that differ.
func fieldChanges(k string, a, b SpecPool) []string {
	var out []string
	add := func(field string, x, y any) {
		if !reflect.DeepEqual(x, y) {
			out = append(out, fmt.Sprintf("%s %s changed (%v → %v)", k, field, x, y))
		}
	}
	add("endpoint", a.Endpoint, b.Endpoint)
	add("cloud", a.Cloud, b.Cloud)
	add("count", a.Count, b.Count)
	add("retention", fmt.Sprintf("keep %d warm %d", a.Retention.Keep, a.Retention.Warm), fmt.Sprintf("keep %d warm %d", b.Retention.Keep, b.Retention.Warm))
	add("maxAge", a.MaxAge, b.MaxAge)
	add("traffic", a.Traffic, b.Traffic)
	add("image", short(a.BuildID, 7), short(b.BuildID, 7))
	return out
}

// diffLive names what changed between two live views, endpoints first:
// what serves traffic matters most.
func diffLive(was, now LiveView) []string {
	var out, served []string
	for _, k := range keys(was.Endpoints, now.Endpoints) {
		a, b := was.Endpoints[k], now.Endpoints[k]
		if reflect.DeepEqual(a, b) {
			continue
		}
		name := trimCloud(k)
		switch {
		case len(b.Backends) == 0:
			out = append(out, fmt.Sprintf("%s now serves nothing (was %s)", name, backends(a.Backends)))
		case len(a.Backends) == 0:
			out = append(out, fmt.Sprintf("%s now serves %s (was nothing)", name, backends(b.Backends)))
		case a.Address != b.Address:
			out = append(out, fmt.Sprintf("%s moved from %s to %s", name, a.Address, b.Address))
		default:
			out = append(out, fmt.Sprintf("%s now serves %s (was %s)", name, backends(b.Backends), backends(a.Backends)))
		}
	}
	for _, k := range keys(was.Pools, now.Pools) {
		a, inA := was.Pools[k]
		b, inB := now.Pools[k]
		id := trimCloud(k)
		switch {
		case !inB:
			out = append(out, fmt.Sprintf("pool %s in %s/%s is gone", shortPool(id), a.Env, a.Role))
		case !inA:
			out = append(out, fmt.Sprintf("pool %s appeared in %s/%s", shortPool(id), b.Env, b.Role))
		case reflect.DeepEqual(a, b):
		case a.State != b.State:
			out = append(out, fmt.Sprintf("pool %s in %s/%s is now %s (was %s)", shortPool(id), b.Env, b.Role, b.State, a.State))
		case a.Health != b.Health:
			out = append(out, fmt.Sprintf("pool %s in %s/%s is now %s (was %s)", shortPool(id), b.Env, b.Role, b.Health, a.Health))
		case a.Drift != b.Drift:
			out = append(out, fmt.Sprintf("pool %s in %s/%s drift is now %v", shortPool(id), b.Env, b.Role, b.Drift))
		case a.Rejected != b.Rejected:
			out = append(out, fmt.Sprintf("pool %s in %s/%s %s", shortPool(id), b.Env, b.Role, rejected(b.Rejected)))
		case a.Released != b.Released:
			out = append(out, fmt.Sprintf("pool %s in %s/%s %s", shortPool(id), b.Env, b.Role, released(b.Released)))
		case a.ServedRank != b.ServedRank:
			// Only a swap changes it, and a swap shows on its endpoint;
			// say it only if nothing else explains the change.
			served = append(served, fmt.Sprintf("pool %s in %s/%s was swapped to or from", shortPool(id), b.Env, b.Role))
		default:
			out = append(out, fmt.Sprintf("pool %s in %s/%s changed", shortPool(id), b.Env, b.Role))
		}
	}
	for _, k := range keys(was.Images, now.Images) {
		a, inA := was.Images[k]
		b, inB := now.Images[k]
		bid := short(trimCloud(k), 7)
		switch {
		case !inB:
			out = append(out, fmt.Sprintf("image %s %s is gone", a.Name, bid))
		case !inA:
			out = append(out, fmt.Sprintf("image %s %s was baked", b.Name, bid))
		case a.Drift != b.Drift:
			out = append(out, fmt.Sprintf("image %s %s drift is now %v", b.Name, bid, b.Drift))
		case a.CreatedAt != b.CreatedAt:
			out = append(out, fmt.Sprintf("image %s %s was baked again", b.Name, bid))
		case !reflect.DeepEqual(a, b):
			out = append(out, fmt.Sprintf("image %s %s changed", b.Name, bid))
		}
	}
	if len(out) == 0 {
		out = served
	}
	if len(out) == 0 {
		out = append(out, "its fingerprint differs")
	}
	return out
}

func backends(bs []cloud.Backend) string {
	if len(bs) == 1 {
		return shortPool(bs[0].Pool)
	}
	parts := make([]string, len(bs))
	for i, b := range bs {
		parts[i] = fmt.Sprintf("%s %d%%", shortPool(b.Pool), b.Weight)
	}
	return strings.Join(parts, ", ")
}

// shortPool renders "prod.web.7d2e1a3b.2" as "web@7d2e.2".
func shortPool(id string) string {
	parts := strings.Split(id, ".")
	if len(parts) < 4 {
		return id
	}
	n := len(parts)
	var gen int
	if _, err := fmt.Sscan(parts[n-1], &gen); err != nil {
		return id
	}
	return cloud.ShortPool(parts[n-3], parts[n-2], gen)
}

func rejected(r bool) string {
	if r {
		return "was rejected by release analysis"
	}
	return "is no longer rejected"
}

func released(r bool) string {
	if r {
		return "is now a rollback target (a completed swap released it)"
	}
	return "is no longer a rollback target"
}

func trimCloud(k string) string {
	if i := strings.IndexByte(k, '/'); i >= 0 {
		return k[i+1:]
	}
	return k
}

func listOr(s []string) string {
	if len(s) == 0 {
		return "nothing"
	}
	return strings.Join(s, ", ")
}

func short(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// keys returns the union of two maps' keys, sorted.
func keys[V any](a, b map[string]V) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range []map[string]V{a, b} {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	sort.Strings(out)
	return out
}
