package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/phoenix-gitops/phoenix/cloud"
)

func newUnlockCmd(cl *clouds) *cobra.Command {
	var src specSource
	var owner string
	cmd := &cobra.Command{
		Use:   "unlock ENV [DIR]",
		Short: "Release an environment's apply lock (for humans, after a crashed apply)",
		Long: `Unlock releases the lock that phoenix apply holds on an environment,
whoever holds it. Locks are leases that expire by themselves a few minutes
after the apply that took them dies; use unlock only when you know that
apply is gone and cannot wait. Unlocking an environment that is not locked
says so and succeeds (exit 0).

A lock's holder is one apply, named user@host:pid#id ("locked by" in plan
and apply; the id is also the end of the apply's id in the journal). With
--owner, unlock releases the lock only if that apply still holds it, so
that it never frees the lock of a newer apply that took over meanwhile.`,
		Example: `  phoenix unlock prod                  prod of the spec in environments/
  phoenix unlock prod specs/shop
  phoenix unlock prod --owner 3f9c0a1b2d4e   only if that apply still holds it`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			src.Dir = specDir(args[1:])
			return runUnlock(cmd.Context(), cl, cmd.OutOrStdout(), src, args[0], owner)
		},
	}
	addSpecFlags(cmd, &src)
	cmd.Flags().StringVar(&owner, "owner", "", "unlock only if this apply holds the lock: its id, or the whole user@host:pid#id")
	return cmd
}

func runUnlock(ctx context.Context, cl *clouds, w io.Writer, src specSource, env, owner string) error {
	desired, err := loadSpec(ctx, src)
	if err != nil {
		return err
	}
	scope, err := envScope(desired, []string{env})
	if err != nil {
		return err
	}
	clouds, err := cl.open(ctx, desired)
	if err != nil {
		return err
	}
	c, err := clouds.Get(scope[env])
	if err != nil {
		return err
	}
	live, err := c.Observe(ctx, desired.Project)
	if err != nil {
		return fmt.Errorf("observing the %s cloud: %w", c.Name(), err)
	}
	holder := lockOf(live, env)
	if holder == nil && owner != "" {
		fmt.Fprintf(w, "%s was not locked.\n", env)
		return nil
	}
	only := "" // any holder
	if owner != "" {
		if !namesOwner(owner, holder.Owner) {
			return fmt.Errorf("not unlocking %s: it is held by %s, not by %s (until %s)", env, holder.Owner, owner, holder.Expires.Local().Format("15:04:05"))
		}
		only = holder.Owner // released only if that apply still holds it
	}
	if err := c.Unlock(ctx, desired.Project, env, only); err != nil {
		return fmt.Errorf("unlocking %s: %w", env, err)
	}
	if holder == nil {
		fmt.Fprintf(w, "%s was not locked.\n", env)
		return nil
	}
	fmt.Fprintf(w, "Unlocked %s (it was held by %s until %s).\n", env, holder.Owner, holder.Expires.Local().Format("15:04:05"))
	return nil
}

// lockOf returns the lock of env in live, or nil.
func lockOf(live *cloud.Live, env string) *cloud.LockInfo {
	for i := range live.Locks {
		if live.Locks[i].Env == env {
			return &live.Locks[i]
		}
	}
	return nil
}

// namesOwner reports whether name, as given to --owner, names the lock
// holder owner ("user@host:pid#id"): the whole of it or its id.
func namesOwner(name, owner string) bool {
	if name == owner {
		return true
	}
	hash := strings.LastIndexByte(owner, '#')
	return hash >= 0 && owner[hash+1:] == name
}
