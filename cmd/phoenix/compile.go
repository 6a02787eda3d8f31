package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/phoenix-gitops/phoenix/model"
)

func newCompileCmd() *cobra.Command {
	var src specSource
	var format string
	cmd := &cobra.Command{
		Use:   "compile [DIR]",
		Short: "Print the compiled desired state: images with build ids, pools with keys, endpoints",
		Long: `Compile validates the spec in DIR (default "environments") and prints the
desired state it describes: every image with its chain and build id,
every environment with its settings, and every (environment, role) pool
with its merged settings, pool key and endpoint. It reads no cloud.

--format json prints the model as JSON (durations in nanoseconds).
Exit 0 when the spec compiles, 1 otherwise.

Every command that compiles a spec bounds the evaluation: past
PHOENIX_EVAL_TIMEOUT (default 1m) or with the heap past
PHOENIX_EVAL_MEMORY (default 1GiB, also 512MiB or 4GB) it stops with a
diagnostic naming the limit.`,
		Example: `  phoenix compile                      images, environments and pools of environments/
  phoenix compile --format json | jq -c '.pools[] | {env, role, key}'
  phoenix compile --rev HEAD~1         what the previous commit described`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "text" && format != "json" {
				return fmt.Errorf("unknown --format %q: use text, json", format)
			}
			src.Dir = specDir(args)
			d, err := loadSpec(cmd.Context(), src)
			if err != nil {
				return err
			}
			if format == "json" {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				enc.SetEscapeHTML(false) // steps hold shell: "a > b", not "a \u003e b"
				return enc.Encode(d)
			}
			return writeCompiled(cmd.OutOrStdout(), d)
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	addSpecFlags(cmd, &src)
	return cmd
}

// shortID cuts a build id or pool key to the 7 characters a person reads.
func shortID(id string) string {
	if len(id) > 7 {
		return id[:7]
	}
	return id
}

// writeCompiled prints d for a person: images, environments, pools.
func writeCompiled(w io.Writer, d *model.Desired) error {
	fmt.Fprintf(w, "Project %s · %s", d.Project, compiledSummary(d))
	if d.Commit != "" {
		fmt.Fprintf(w, " · commit %s", shortID(d.Commit))
	}
	fmt.Fprintln(w)

	fmt.Fprintln(w, "\nImages")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, n := range d.ImageNames() {
		im := d.Images[n]
		src := "from " + im.From
		if im.Parent != "" {
			src = "parent " + im.Parent
		}
		extra := countOf(len(im.Steps), "step")
		if len(im.Files) > 0 {
			extra += ", " + countOf(len(im.Files), "file")
		}
		if im.MaxAge > 0 {
			extra += ", maxAge " + humanDuration(im.MaxAge)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", n, shortID(im.BuildID), src, extra)
	}
	tw.Flush()

	fmt.Fprintln(w, "\nEnvironments")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, n := range d.EnvNames() {
		e := d.Environments[n]
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", n, e.Cloud, envDetails(e), strings.Join(e.Roles, ", "))
	}
	tw.Flush()

	fmt.Fprintln(w, "\nPools")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  ENV\tROLE\tENDPOINT\tIMAGE\tKEY\tCOUNT\tCOMMAND\tCONFIG\tSECRETS")
	for _, p := range d.Pools {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s %s\t%s\t%d\t%s\t%s\t%s\n", p.Env, p.Role, p.Endpoint, p.Image, shortID(p.BuildID),
			shortID(p.Key), p.Count, orDash(p.Command), orDash(keyList(p.Config)), orDash(keyList(p.Secrets)))
	}
	return tw.Flush()
}

// envDetails says how an environment rolls out and what it keeps.
func envDetails(e *model.Environment) string {
	parts := []string{fmt.Sprintf("keep %d (warm %d)", e.Retention.Keep, e.Retention.Warm)}
	t := e.Traffic.Strategy
	if len(e.Traffic.Steps) > 0 {
		steps := make([]string, len(e.Traffic.Steps))
		for i, s := range e.Traffic.Steps {
			steps[i] = fmt.Sprintf("%d%%", s)
		}
		t += " " + strings.Join(steps, "/")
	}
	parts = append(parts, t)
	if e.MaxAge > 0 {
		parts = append(parts, "maxAge "+humanDuration(e.MaxAge))
	}
	if len(e.After) > 0 {
		parts = append(parts, "after "+strings.Join(e.After, ", "))
	}
	return strings.Join(parts, " · ")
}

// keyList lists a map's keys sorted ("API_URL, VERSION"): values may be
// long, and secret references are better not sprayed over a terminal.
func keyList(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return strings.Join(keys, ",")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// humanDuration prints whole days as "7d" and anything else as Go does.
func humanDuration(d time.Duration) string {
	const day = 24 * time.Hour
	if d >= day && d%day == 0 {
		return fmt.Sprintf("%dd", d/day)
	}
	return d.String()
}
