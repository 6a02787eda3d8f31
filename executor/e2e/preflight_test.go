package e2e

import (
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
)

// TestApplyRefusesAnEndpointHeldByAnotherProgram holds an environment's
// endpoint port with a listener of this test: apply is refused before its
// first step, naming the address and this process, and bakes nothing.
func TestApplyRefusesAnEndpointHeldByAnotherProgram(t *testing.T) {
	e := newEnv(t, "prod")
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", e.ports["prod"]))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	e.write(release{Version: "1", Leaf: "r1"}, 1, envSpec{Name: "prod", Keep: 1, Warm: 1})
	out, err := e.phoenix("apply", e.dir, "--yes")
	want := fmt.Sprintf("prod/web: endpoint address 127.0.0.1:%d is in use by another program (pid %d: ", e.ports["prod"], os.Getpid())
	if err == nil || !strings.Contains(out, want) {
		t.Fatalf("apply with the endpoint port held: %v, want it refused with %q:\n%s", err, want, out)
	}
	if s := e.status(); len(s.Images) != 0 || len(s.Pools) != 0 {
		t.Fatalf("a refused apply left %d images and %d pools", len(s.Images), len(s.Pools))
	}
}
