package local

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/phoenix-gitops/phoenix/model"
)

// Preflight checks what a pool's start and swap need and this machine can
// tell before apply changes anything: its secret references resolve (the
// values are forgotten), and its endpoint address is free or already one
// of the local cloud's proxies. Without it, a port held by another program
// fails the swap only after the bakes and the create.
func (c *Cloud) Preflight(ctx context.Context, pool *model.Pool) error {
	if _, err := resolveSecrets(pool.Secrets); err != nil {
		return err
	}
	return c.checkEndpointFree(ctx, pool.Endpoint)
}

// checkEndpointFree refuses an endpoint address that something answers on
// when no proxy of the local cloud serves it, naming the program that
// holds it where the system says.
func (c *Cloud) checkEndpointFree(ctx context.Context, addr string) error {
	if addr == "" || !answers(ctx, addr) || c.proxies(ctx, addr) {
		return nil
	}
	return fmt.Errorf("endpoint address %s is in use by another program%s; stop it or choose another address", addr, describeHolder(addr))
}

// answers reports whether a connection to addr is accepted: something
// listens there. Dialing, unlike binding the port to test it, cannot
// take it from a proxy being started at the same moment.
func answers(ctx context.Context, addr string) bool {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

// proxies reports whether the running supervisor serves an endpoint (of
// any project) at addr. A Phoenix endpoint of another project is refused
// by the swap itself, with the project's name.
func (c *Cloud) proxies(ctx context.Context, addr string) bool {
	if c.client == nil {
		return false
	}
	st, err := c.Status(ctx)
	if err != nil {
		return false
	}
	for _, ep := range st.Endpoints {
		if ep.Address == addr {
			return true
		}
	}
	return false
}

// describeHolder is " (pid N: command)" for the process listening on
// addr's port, " (uid N)" when only its owner is visible, or "" when the
// system does not say.
func describeHolder(addr string) string {
	h, ok := listenerOf(addr)
	switch {
	case !ok:
		return ""
	case h.pid > 0:
		return fmt.Sprintf(" (pid %d: %s)", h.pid, h.command)
	default:
		return fmt.Sprintf(" (a process of uid %d)", h.uid)
	}
}

// holder is the process that listens on a port.
type holder struct {
	pid     int // 0 if not visible to this user
	command string
	uid     int
}
