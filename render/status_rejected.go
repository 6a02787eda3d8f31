package render

import (
	"fmt"
	"io"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/status"
)

// writeRejected names the releases release analysis rejected, with the
// figures and when: the plan holds a rejected pool's (environment, role)
// until a new commit or --retry-rejected, and status says why nothing
// moves.
func writeRejected(w io.Writer, pools []status.Pool) {
	if len(pools) == 0 {
		return
	}
	fmt.Fprintln(w)
	for _, p := range pools {
		when := ""
		if !p.RejectedAt.IsZero() {
			when = " at " + p.RejectedAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(w, "%s/%s: release %s (commit %s) was rejected by release analysis%s: %s.\n",
			p.Env, p.Role, cloud.ShortPool(p.Role, p.Key, p.Generation), statusCommit(p.Commit), when, p.Rejected)
	}
	fmt.Fprintln(w, "A rejected release is held: a new commit releases normally; phoenix apply --retry-rejected tries it again.")
}
