package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/cloud/local"
	"github.com/phoenix-gitops/phoenix/render"
)

func newCloudCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cloud",
		Short: "Start, stop and inspect the local cloud (its supervisor, servers and endpoints)",
		Long: `The local cloud runs on this machine: a supervisor process owns every
server process and every endpoint's reverse proxy. Commands that need it
start it; these commands manage it directly. State lives in PHOENIX_HOME
(default ~/.local/state/phoenix).`,
		Example: `  phoenix cloud status                 is it running, which endpoints and pools
  phoenix cloud down                   stop every server and endpoint (records and images stay)
  phoenix cloud up                     start again what served before cloud down`,
	}
	cmd.AddCommand(withSystemdFlag(newCloudUpCmd()), newCloudDownCmd(), newCloudStatusCmd())
	return cmd
}

func newCloudUpCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "up",
		Short: "Start the local cloud's supervisor and the serving pools a `cloud down` stopped",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := openLocal()
			if err != nil {
				return err
			}
			if err := c.Up(cmd.Context()); err != nil {
				return fmt.Errorf("starting the local cloud: %w", err)
			}
			st, err := c.Status(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "local cloud up: supervisor pid %d, %s, home %s\n", st.PID, countOf(len(st.Endpoints), "endpoint"), st.Home)
			return nil
		},
	}
}

func newCloudDownCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "down",
		Short: "Stop every server, endpoint and the supervisor (records and images stay)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := openLocal()
			if err != nil {
				return err
			}
			st, err := c.Status(cmd.Context())
			if errors.Is(err, local.ErrNotRunning) {
				return downOrphans(cmd.Context(), cmd.OutOrStdout(), c)
			}
			if err != nil {
				return err
			}
			if err := c.Down(cmd.Context()); err != nil {
				return fmt.Errorf("stopping the local cloud: %w", err)
			}
			servers := 0
			for _, p := range st.Pools {
				servers += len(p.PIDs)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "local cloud down: stopped %s, %s and the supervisor (pid %d)\n", countOf(servers, "server"), countOf(len(st.Endpoints), "endpoint"), st.PID)
			return nil
		},
	}
}

// downOrphans is `cloud down` when no supervisor answers: the servers a
// killed supervisor left running are still stopped (Down starts a
// supervisor that adopts them, and stops it with them).
func downOrphans(ctx context.Context, w io.Writer, c *local.Cloud) error {
	orphans, err := c.Orphans(ctx)
	if err != nil {
		return fmt.Errorf("looking for servers left running: %w", err)
	}
	if len(orphans) == 0 {
		fmt.Fprintln(w, "local cloud is not running")
		return nil
	}
	if err := c.Down(ctx); err != nil {
		return fmt.Errorf("stopping the servers the local cloud left running: %w", err)
	}
	n := orphanServers(orphans)
	fmt.Fprintf(w, "local cloud down: its supervisor was not running, but %s it started still ran; stopped %s (%s)\n",
		countOf(n, "server"), plural(n, "it", "them"), orphanPools(orphans))
	return nil
}

func orphanServers(orphans []local.PoolStatus) int {
	n := 0
	for _, p := range orphans {
		n += len(p.PIDs)
	}
	return n
}

// orphanPools names the pools of orphaned servers with their pids:
// "pool prod.web.1a2b3c4d.1 pids 10, 11; pool ...".
func orphanPools(orphans []local.PoolStatus) string {
	parts := make([]string, len(orphans))
	for i, p := range orphans {
		parts[i] = fmt.Sprintf("pool %s %s %s", p.ID, plural(len(p.PIDs), "pid", "pids"), pidList(p.PIDs, ", "))
	}
	return strings.Join(parts, "; ")
}

// pidList writes pids separated by sep.
func pidList(pids []int, sep string) string {
	s := make([]string, len(pids))
	for i, pid := range pids {
		s[i] = strconv.Itoa(pid)
	}
	return strings.Join(s, sep)
}

func newCloudStatusCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the supervisor, its endpoints and its pools",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "text" && format != "json" {
				return fmt.Errorf("unknown --format %q: use text, json", format)
			}
			c, err := openLocal()
			if err != nil {
				return err
			}
			st, err := c.Status(cmd.Context())
			if errors.Is(err, local.ErrNotRunning) {
				orphans, err := c.Orphans(cmd.Context())
				if err != nil {
					return fmt.Errorf("looking for servers left running: %w", err)
				}
				if format == "json" {
					return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]any{"running": false, "home": c.Home(), "orphans": orphansJSON(orphans)})
				}
				printNotRunning(cmd.OutOrStdout(), c.Home(), orphans)
				return nil
			}
			if err != nil {
				return err
			}
			if format == "json" {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(struct {
					Running bool `json:"running"`
					*local.Status
				}{true, st})
			}
			printCloudStatus(cmd.OutOrStdout(), st)
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

// orphansJSON keeps "orphans" a list in JSON, empty when none.
func orphansJSON(o []local.PoolStatus) []local.PoolStatus {
	if o == nil {
		return []local.PoolStatus{}
	}
	return o
}

// printNotRunning says the local cloud is not running and, when servers a
// killed supervisor started still run, which ones and what to do.
func printNotRunning(w io.Writer, home string, orphans []local.PoolStatus) {
	fmt.Fprintf(w, "local cloud is not running (home %s)\n%s\n", home, localDownText)
	if len(orphans) == 0 {
		return
	}
	n := orphanServers(orphans)
	fmt.Fprintf(w, "\nbut %s it started still %s without it (its supervisor was killed or stopped by a signal):\n\n", countOf(n, "server"), plural(n, "runs", "run"))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PROJECT\tPOOL\tSTATE\tRUNNING\tPIDS")
	for _, p := range orphans {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\t%s\n", p.Project, p.ID, p.State, len(p.PIDs), p.Count, pidList(p.PIDs, ","))
	}
	tw.Flush()
	fmt.Fprintln(w, "\nphoenix cloud down stops them; phoenix cloud up adopts them and opens their endpoints again.")
}

// printCloudStatus renders the supervisor's view for people.
func printCloudStatus(w io.Writer, st *local.Status) {
	fmt.Fprintf(w, "local cloud running: supervisor pid %d, up %s, home %s\n", st.PID, time.Since(st.StartedAt).Round(time.Second), st.Home)
	if len(st.Endpoints) > 0 {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "PROJECT\tENV\tROLE\tENDPOINT\tBACKENDS\tSERVED")
		for _, e := range st.Endpoints {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\n", e.Project, e.Env, e.Role, e.Address, backendsText(e.Backends), e.Served)
		}
		tw.Flush()
	}
	if len(st.Pools) > 0 {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "PROJECT\tPOOL\tSTATE\tHEALTH\tPIDS")
		for _, p := range st.Pools {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\t%s\n", p.Project, p.ID, p.State, p.Servers, p.Count, pidList(p.PIDs, ","))
		}
		tw.Flush()
	}
	printColdServing(w, st)
}

// printColdServing names the serving pools that are cold (as `cloud down`
// leaves them, and a supervisor started by any other command keeps them):
// their endpoints answer 503 until `cloud up` or an apply starts them.
func printColdServing(w io.Writer, st *local.Status) {
	serving := map[string]bool{}
	for _, e := range st.Endpoints {
		for _, b := range e.Backends {
			if b.Weight > 0 {
				serving[e.Project+"\x00"+b.Pool] = true
			}
		}
	}
	n := 0
	for _, p := range st.Pools {
		if p.State == cloud.PoolCold && serving[p.Project+"\x00"+p.ID] {
			if n == 0 {
				fmt.Fprintln(w)
			}
			n++
			fmt.Fprintf(w, "Serving pool %s is cold, so its endpoint answers 503%s.\n", p.ID, render.Because(p.Reason))
		}
	}
	if n > 0 {
		fmt.Fprintf(w, "phoenix cloud up starts %s.\n", plural(n, "it", "them"))
	}
}

func backendsText(bs []cloud.Backend) string {
	parts := make([]string, len(bs))
	for i, b := range bs {
		parts[i] = b.Pool
		if b.Weight != 100 {
			parts[i] += fmt.Sprintf(" (%d%%)", b.Weight)
		}
	}
	return strings.Join(parts, ", ")
}
