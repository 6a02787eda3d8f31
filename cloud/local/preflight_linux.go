package local

import (
	"bufio"
	"encoding/hex"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// listenerOf finds the process listening on addr from /proc: the socket's
// inode and owner in /proc/net/tcp (or tcp6), then the process that has
// that socket open among /proc/*/fd.
func listenerOf(addr string) (holder, bool) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return holder{}, false
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return holder{}, false
	}
	ip := net.ParseIP(host)
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		if inode, uid, ok := listeningSocket(table, ip, port); ok {
			h := holder{uid: uid}
			h.pid = socketOwner(inode)
			if h.pid > 0 {
				h.command = commandLine(h.pid)
			}
			return h, true
		}
	}
	return holder{}, false
}

// listeningSocket returns the inode and uid of the listening socket on
// port in a /proc/net/tcp table whose address is ip or a wildcard (any
// address when ip is nil: a host name).
func listeningSocket(table string, ip net.IP, port int) (inode string, uid int, ok bool) {
	f, err := os.Open(table)
	if err != nil {
		return "", 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // the header
	for sc.Scan() {
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 || fields[3] != "0A" { // 0A: LISTEN
			continue
		}
		lip, lport, ok := parseProcAddr(fields[1])
		if !ok || lport != port || !(ip == nil || lip.IsUnspecified() || lip.Equal(ip)) {
			continue
		}
		uid, _ = strconv.Atoi(fields[7])
		return fields[9], uid, true
	}
	return "", 0, false
}

// parseProcAddr decodes "0100007F:1F90": the address in 32-bit words of
// host byte order (little endian here), the port in big-endian hex.
func parseProcAddr(s string) (net.IP, int, bool) {
	a, p, ok := strings.Cut(s, ":")
	if !ok {
		return nil, 0, false
	}
	b, err := hex.DecodeString(a)
	if err != nil || (len(b) != 4 && len(b) != 16) {
		return nil, 0, false
	}
	for w := 0; w < len(b); w += 4 {
		b[w], b[w+1], b[w+2], b[w+3] = b[w+3], b[w+2], b[w+1], b[w]
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return nil, 0, false
	}
	return net.IP(b), int(port), true
}

// socketOwner returns the pid of a process that has socket inode open, or
// 0 if none this user may look into does.
func socketOwner(inode string) int {
	want := "socket:[" + inode + "]"
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, dir := range procs {
		fds, err := os.ReadDir(filepath.Join(dir, "fd"))
		if err != nil {
			continue // another user's, or gone
		}
		for _, fd := range fds {
			if link, err := os.Readlink(filepath.Join(dir, "fd", fd.Name())); err == nil && link == want {
				pid, _ := strconv.Atoi(filepath.Base(dir))
				return pid
			}
		}
	}
	return 0
}

// commandLine is a process's command line, arguments joined by spaces,
// cut at 120 characters.
func commandLine(pid int) string {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	if err != nil || len(b) == 0 {
		return "?"
	}
	s := strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return s
}
