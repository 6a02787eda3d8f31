package local

import (
	"net"
	"strconv"
	"testing"
)

// /proc/net/tcp writes addresses in host-order words and ports in hex.
func TestParseProcAddr(t *testing.T) {
	for in, want := range map[string]string{
		"0100007F:1F90":                         "127.0.0.1:8080",
		"00000000:0050":                         "0.0.0.0:80",
		"00000000000000000000000001000000:1F91": "[::1]:8081",
	} {
		ip, port, ok := parseProcAddr(in)
		if got := net.JoinHostPort(ip.String(), strconv.Itoa(port)); !ok || got != want {
			t.Errorf("parseProcAddr(%s) = %s, %v; want %s", in, got, ok, want)
		}
	}
}
