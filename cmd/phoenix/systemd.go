package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/phoenix-gitops/phoenix/cloud/local"
)

// systemdUnitName is the user unit `phoenix cloud up --systemd` writes.
const systemdUnitName = "phoenix-supervisor.service"

// withSystemdFlag adds --systemd to `cloud up`: the supervisor owns every
// endpoint's proxy, so a supervisor that dies takes every endpoint down
// until the next command starts it; a user unit restarts it at once.
func withSystemdFlag(up *cobra.Command) *cobra.Command {
	var systemd bool
	up.Flags().BoolVar(&systemd, "systemd", false, "write a systemd user unit that keeps the supervisor running (restarted when it dies), print how to enable it, and start nothing")
	run := up.RunE
	up.RunE = func(cmd *cobra.Command, args []string) error {
		if !systemd {
			return run(cmd, args)
		}
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("finding the phoenix binary for the unit: %w", err)
		}
		if resolved, err := filepath.EvalSymlinks(exe); err == nil {
			exe = resolved
		}
		home, err := filepath.Abs(localHome())
		if err != nil {
			return fmt.Errorf("resolving PHOENIX_HOME: %w", err)
		}
		return installSystemdUnit(cmd.OutOrStdout(), exe, home)
	}
	return up
}

// installSystemdUnit writes the unit for the supervisor of home run by exe
// and tells how to enable it; it runs no systemctl itself, so that it
// never changes what a user's session manager runs behind their back.
func installSystemdUnit(w io.Writer, exe, home string) error {
	// systemd opens supervisor.log in the home before the supervisor
	// runs, and makes no directory for it.
	if err := local.EnsureHome(home); err != nil {
		return fmt.Errorf("writing the systemd unit: %w", err)
	}
	dir, err := systemdUserDir()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("writing the systemd unit: %w", err)
	}
	path := filepath.Join(dir, systemdUnitName)
	if err := os.WriteFile(path, []byte(systemdUnit(exe, home)), 0o644); err != nil {
		return fmt.Errorf("writing the systemd unit: %w", err)
	}
	fmt.Fprintf(w, "wrote %s (supervisor of %s)\n\nEnable it, and start it now:\n\n", path, home)
	fmt.Fprintf(w, "  systemctl --user daemon-reload\n  systemctl --user enable --now %s\n\n", systemdUnitName)
	fmt.Fprintf(w, "A supervisor a command started keeps serving; the unit's takes over (adopting its servers) once it stops: kill its pid (phoenix cloud status), the servers keep running.\n")
	fmt.Fprintf(w, "To keep it running while you are logged out: loginctl enable-linger $USER\n")
	return nil
}

// systemdUserDir is where systemd looks for a user's own units:
// $XDG_CONFIG_HOME/systemd/user, by default ~/.config/systemd/user.
func systemdUserDir() (string, error) {
	if x := os.Getenv("XDG_CONFIG_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "systemd", "user"), nil
	}
	h, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("finding the systemd user unit directory: %w", err)
	}
	return filepath.Join(h, ".config", "systemd", "user"), nil
}

// systemdUnit is the unit's text. Restart=always brings a supervisor back
// after a crash, a kill or `cloud down`; KillMode=process lets its servers
// outlive a restart of the supervisor alone (the next one adopts them),
// as they outlive one started by a command; UMask keeps its log private
// like everything in the home.
func systemdUnit(exe, home string) string {
	log := systemdSpecifiers(filepath.Join(home, "supervisor.log"))
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by phoenix cloud up --systemd: the local cloud's supervisor for\n# PHOENIX_HOME %s.\n", home)
	b.WriteString("[Unit]\nDescription=Phoenix local cloud supervisor\n\n")
	b.WriteString("[Service]\nType=simple\nUMask=0077\n")
	fmt.Fprintf(&b, "Environment=%s\n", systemdQuote(systemdSpecifiers("PHOENIX_HOME="+home)))
	fmt.Fprintf(&b, "ExecStart=%s supervise --home %s\n", systemdArg(exe), systemdArg(home))
	b.WriteString("Restart=always\nRestartSec=5\nKillMode=process\n")
	fmt.Fprintf(&b, "StandardOutput=append:%s\nStandardError=append:%s\n", log, log)
	b.WriteString("\n[Install]\nWantedBy=default.target\n")
	return b.String()
}

// systemdArg is one literal word of ExecStart: its specifiers (%) and
// variables ($) escaped, then quoted, so that a home with spaces, a $ or a
// % stays the path it is.
func systemdArg(s string) string {
	return systemdQuote(strings.ReplaceAll(systemdSpecifiers(s), "$", "$$"))
}

// systemdQuote double-quotes a value, escaping \ and ".
func systemdQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// systemdSpecifiers escapes systemd's specifiers (%h, %u...), which every
// setting expands.
func systemdSpecifiers(s string) string { return strings.ReplaceAll(s, "%", "%%") }
