package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/history"
	"github.com/phoenix-gitops/phoenix/model"
	"github.com/phoenix-gitops/phoenix/render"
)

// historyOptions are the inputs of `phoenix history` (see package history).
type historyOptions = history.Options

func newHistoryCmd(cl *clouds) *cobra.Command {
	var o historyOptions
	var format string
	cmd := &cobra.Command{
		Use:   "history --env NAME [DIR]",
		Short: "The commits that changed what runs in an environment, and which reverts are instant swaps",
		Long: `History walks first-parent history from HEAD (or --rev) and lists, newest
first, the commits that changed the pools of one environment: for each,
the pool every changed role got, whether that pool still exists in the
live cloud (serving, retained warm or cold, or gone), and what going back
to that commit takes, exactly as phoenix plan --rev COMMIT --env ENV
would plan it against the live state now: nothing (serving now), a swap
(an instant rollback to retained pools), a release (existing pools, but
no instant rollback: a canary walks) or a rebuild (a retained pool that
drifted, aged past maxAge, lost servers or predates a rebake is not
reused; a "plan:" line says why).

It compares the spec directory's tree hash between commits and compiles
only the commits where the spec changed, so long histories are cheap.
In a shallow clone it stops where history is cut off and says how to
deepen it.`,
		Example: `  phoenix history --env prod
  phoenix history --env prod --offline --limit 5    from git alone
  phoenix history --env staging --format json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.Env == "" {
				return errors.New("history needs --env NAME" + envChoices(cmd.Context(), specSource{Dir: specDir(args), Rev: o.Rev}))
			}
			if format != "text" && format != "json" {
				return fmt.Errorf("unknown --format %q: use text, json", format)
			}
			o.Dir = specDir(args)
			h, err := computeHistory(cmd.Context(), o, cl.openReadOnly)
			if err != nil {
				return err
			}
			if format == "json" {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(h)
			}
			render.HistoryText(cmd.OutOrStdout(), h)
			return nil
		},
	}
	cmd.Flags().StringVar(&o.Env, "env", "", "the environment (required)")
	cmd.Flags().StringVar(&o.Rev, "rev", "HEAD", "start the walk at this revision")
	cmd.Flags().IntVar(&o.Limit, "limit", 20, "show at most this many changes")
	cmd.Flags().BoolVar(&o.Offline, "offline", false, "do not read the live cloud (pool states unknown)")
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

// envChoices names the environments of the spec at src, to follow "needs
// --env NAME" (": one of ci, prod, staging"); "" when the spec does not
// compile there, as the bare message is still right.
func envChoices(ctx context.Context, src specSource) string {
	d, err := loadSpec(ctx, src)
	if err != nil || len(d.EnvNames()) == 0 {
		return ""
	}
	return ": one of " + strings.Join(d.EnvNames(), ", ")
}

// computeHistory walks the history of o.Env with this command line's
// compiler and planner options (those of phoenix plan), opening the clouds
// with open; it marks a history read from the simulation.
func computeHistory(ctx context.Context, o historyOptions, open cloudOpener) (*history.History, error) {
	o.Compile = compileAt
	o.Plan = planOptions(nil, false, false)
	var sim bool
	h, err := history.Compute(ctx, o, func(ctx context.Context, d *model.Desired) (cloud.Set, error) {
		set, err := open(ctx, d)
		sim = simulated(set)
		return set, err
	})
	if err != nil {
		return nil, err
	}
	h.Simulation = sim
	return h, nil
}
