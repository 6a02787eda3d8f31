package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/phoenix-gitops/phoenix/cloud"
)

func init() { register(newUnlockCmd) }

func newUnlockCmd() *cobra.Command {
	var src specSource
	cmd := &cobra.Command{
		Use:   "unlock ENV [DIR]",
		Short: "Release an environment's apply lock (for humans, after a crashed apply)",
		Long: `Unlock releases the lock that phoenix apply holds on an environment,
whoever holds it. Locks are leases that expire by themselves a few minutes
after the apply that took them dies; use unlock only when you know that
apply is gone and cannot wait. Unlocking an environment that is not locked
says so and succeeds (exit 0).`,
		Example: `  phoenix unlock prod                  prod of the spec in environments/
  phoenix unlock prod specs/shop`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			src.Dir = specDir(args[1:])
			return runUnlock(cmd.Context(), cmd.OutOrStdout(), src, args[0])
		},
	}
	addSpecFlags(cmd, &src)
	return cmd
}

func runUnlock(ctx context.Context, w io.Writer, src specSource, env string) error {
	desired, err := loadSpec(ctx, src)
	if err != nil {
		return err
	}
	scope, err := envScope(desired, []string{env})
	if err != nil {
		return err
	}
	clouds, err := openClouds(ctx, desired)
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
	var holder *cloud.LockInfo
	for i := range live.Locks {
		if live.Locks[i].Env == env {
			holder = &live.Locks[i]
		}
	}
	if err := c.Unlock(ctx, desired.Project, env, ""); err != nil {
		return fmt.Errorf("unlocking %s: %w", env, err)
	}
	if holder == nil {
		fmt.Fprintf(w, "%s was not locked.\n", env)
		return nil
	}
	fmt.Fprintf(w, "Unlocked %s (it was held by %s until %s).\n", env, holder.Owner, holder.Expires.Local().Format("15:04:05"))
	return nil
}
