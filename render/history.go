package render

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/phoenix-gitops/phoenix/history"
)

// HistoryText writes phoenix history for a person: a line per commit that
// changed the environment, one per role it changed (aligned across the
// whole listing), and a footer that says which states are an instant swap
// away.
func HistoryText(w io.Writer, h *history.History) {
	fmt.Fprintf(w, "History of %s · spec %s · from %s · %s (newest first)\n", h.Env, specDirLabel(h.Dir), shortID(h.Start, 7),
		plural(len(h.Changes), "1 change", fmt.Sprintf("%d changes", len(h.Changes))))
	if len(h.Changes) == 0 {
		fmt.Fprintf(w, "\nNo commit in reach changed what runs in %s.\n", h.Env)
	}
	// One line per commit, then one per role it changed, aligned across
	// the whole listing.
	var wr, wp, ws int
	for _, c := range h.Changes {
		for _, r := range c.Roles {
			wr, wp, ws = max(wr, len(r.Role)), max(wp, len(rolePool(r))), max(ws, len(r.State))
		}
	}
	for _, c := range h.Changes {
		subject := c.Subject
		if c.Event != "" {
			subject = c.Event + ": " + subject
		}
		fmt.Fprintf(w, "\n%s  %s  %-15s  %s (%s)\n", shortID(c.Commit, 7), c.When.UTC().Format("2006-01-02"), backLabel(c.Back), subject, c.Author)
		for _, r := range c.Roles {
			if !r.Changed && r.Plan == "" {
				continue
			}
			state := r.State
			if state == "" {
				state = "-"
			}
			line := fmt.Sprintf("    %-*s  %-*s  %-*s  %s", wr, r.Role, wp, rolePool(r), ws, state, r.Why)
			fmt.Fprintln(w, strings.TrimRight(line, " "))
			if r.Plan != "" {
				fmt.Fprintf(w, "    %-*s  plan: %s\n", wr, "", r.Plan)
			}
		}
	}
	if h.Live && len(h.Changes) > 0 {
		historyFooter(w, h.Changes)
	}
	for _, n := range h.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}

// historyFooter says in a sentence which states are an instant swap
// away. The newest change may not be applied yet: applying it is then the
// first thing to say.
func historyFooter(w io.Writer, changes []history.Change) {
	fmt.Fprintln(w)
	older := changes
	if newest := changes[0]; newest.Back != "current" {
		how := "creates new pools (baking only images whose inputs changed)"
		switch newest.Back {
		case "swap":
			how = "is a swap (instant)"
		case "release":
			how = "reuses existing pools, but not as an instant rollback (see plan: above)"
		case "held":
			how = "changes nothing: release analysis rejected its pool (see plan: above); phoenix apply --retry-rejected tries it again"
		}
		switch failed := failedPools(newest); {
		case len(failed) > 0: // so a rebuild, never a swap
			fmt.Fprintf(w, "%s is not serving: its apply failed (%s; phoenix status says why); applying it again %s.\n",
				shortID(newest.Commit, 7), strings.Join(failed, ", "), how)
		case serves(newest):
			fmt.Fprintf(w, "%s serves now, but the plan does not keep all of its pools (see plan: above): applying it again %s.\n",
				shortID(newest.Commit, 7), how)
		default:
			fmt.Fprintf(w, "%s is not applied yet: applying it %s.\n", shortID(newest.Commit, 7), how)
		}
		older = changes[1:]
	}
	var swaps, releases []string
	rebuilds := 0
	for _, c := range older {
		switch c.Back {
		case "swap":
			swaps = append(swaps, shortID(c.Commit, 7))
		case "release":
			releases = append(releases, shortID(c.Commit, 7))
		case "rebuild":
			rebuilds++
		}
	}
	if len(swaps) > 0 {
		fmt.Fprintf(w, "Rollback is a swap (instant) to: %s. Revert the commits after it; the plan shows swaps only.\n", strings.Join(swaps, ", "))
	}
	if len(releases) > 0 {
		fmt.Fprintf(w, "Going back to %s reuses existing pools, but not as an instant rollback (see plan: above).\n", strings.Join(releases, ", "))
	}
	if len(swaps)+len(releases) == 0 && rebuilds > 0 {
		fmt.Fprintln(w, "No older pool can be reused: going back to any of these commits rebuilds.")
	}
}

// serves reports whether every role the change changed is served by the
// pool it made: the change was applied, though the plan would not leave
// it as it is (a drifted or aged serving pool is replaced).
func serves(c history.Change) bool {
	changed := 0
	for _, r := range c.Roles {
		if !r.Changed || r.Key == "" {
			continue
		}
		if r.State != "serving" {
			return false
		}
		changed++
	}
	return changed > 0
}

// failedPools names the failed pools of a change: a commit whose pools
// failed was applied, so "not applied yet" would send the user to apply
// it again unaware that it fails.
func failedPools(c history.Change) []string {
	var out []string
	for _, r := range c.Roles {
		if r.State == "failed" && r.Pool != "" {
			out = append(out, Short(r.Pool)+" failed")
		}
	}
	return out
}

func rolePool(r history.Role) string {
	if r.Pool == "" {
		return "-"
	}
	p := Short(r.Pool)
	if r.MadeAt != "" {
		p += " (made at " + r.MadeAt + ")"
	}
	return p
}

func backLabel(b string) string {
	switch b {
	case "current":
		return "serving now"
	case "swap":
		return "swap (instant)"
	case "rebuild":
		return "rebuild"
	case "release":
		return "swap (release)"
	case "held":
		return "held (rejected)"
	}
	return "(live unknown)"
}

// specDirLabel names a spec directory inside its repository as the
// commands print it: "environments/", or "./" for the repository's root.
func specDirLabel(dir string) string {
	if dir == "" {
		dir = "."
	}
	return strings.TrimSuffix(filepath.ToSlash(dir), "/") + "/"
}
