package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The control socket. Whoever can connect to it drives the local cloud,
// and the CLI sends secret values over it, so each end makes sure the
// other is this user: the socket lives in a directory only the user can
// enter, checked before every use (as tmux and ssh-agent do), and each end
// checks the other's uid with SO_PEERCRED. A name in a shared directory
// that anyone could create first (the old /tmp/phoenix-HASH.sock) is never
// used.

const (
	sockName = "supervisor.sock"
	// sockDirFile, in the home, names the private directory that holds the
	// socket of a home too long for a socket path (written by the running
	// supervisor; the home is private, so no one else can point it
	// elsewhere).
	sockDirFile = "supervisor.sockdir"
	// maxSockPath leaves room under sun_path's 108 bytes (104 on BSDs).
	maxSockPath = 100
)

// unsafeSocketError says the socket, its directory or the process behind
// it is not this user's: the client refuses to talk to it.
type unsafeSocketError struct{ msg string }

func (e *unsafeSocketError) Error() string { return e.msg }

func isUnsafeSocket(err error) bool {
	var u *unsafeSocketError
	return errors.As(err, &u)
}

// inHome reports whether home's socket fits in home itself.
func inHome(home string) bool { return len(filepath.Join(home, sockName)) < maxSockPath }

// clientSocketPath is where a client finds the socket of home, with its
// directory checked private. A long home's socket directory is the one
// its supervisor recorded; none recorded means none runs.
func clientSocketPath(home string) (string, error) {
	if inHome(home) {
		if err := checkPrivateDir(home, true); err != nil {
			return "", err
		}
		return filepath.Join(home, sockName), nil
	}
	if err := checkPrivateDir(home, true); err != nil {
		return "", err
	}
	b, err := os.ReadFile(filepath.Join(home, sockDirFile))
	if err != nil {
		return "", &net.OpError{Op: "dial", Net: "unix", Err: fmt.Errorf("reading the socket's directory: %w", err)}
	}
	dir := strings.TrimSpace(string(b))
	if !filepath.IsAbs(dir) {
		return "", &unsafeSocketError{fmt.Sprintf("%s names %q, not an absolute directory", filepath.Join(home, sockDirFile), dir)}
	}
	if err := checkPrivateDir(dir, false); err != nil {
		return "", err
	}
	return filepath.Join(dir, sockName), nil
}

// checkPrivateDir refuses a directory that is not this user's alone: not
// a directory, owned by another uid, or open to group or others. The
// home may be reached through a symlink its user chose (follow); a socket
// directory Phoenix made may not. A home of ours that is merely too open
// (made 0755 by an older version) is closed to 0700.
func checkPrivateDir(dir string, follow bool) error {
	stat := os.Lstat
	if follow {
		stat = os.Stat
	}
	fi, err := stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return &net.OpError{Op: "dial", Net: "unix", Err: err}
	}
	if err != nil {
		return fmt.Errorf("checking %s: %w", dir, err)
	}
	return checkPrivateInfo(dir, fi, os.Getuid(), follow)
}

// checkPrivateInfo is checkPrivateDir's verdict on fi for uid; fix closes
// a directory of uid's that is too open.
func checkPrivateInfo(dir string, fi fs.FileInfo, uid int, fix bool) error {
	if fi.Mode()&fs.ModeSymlink != 0 {
		return &unsafeSocketError{fmt.Sprintf("refusing the local cloud's socket directory %s: it is a symlink", dir)}
	}
	if !fi.IsDir() {
		return &unsafeSocketError{fmt.Sprintf("refusing %s: it is not a directory", dir)}
	}
	owner, ok := fileOwner(fi)
	if !ok {
		return &unsafeSocketError{fmt.Sprintf("refusing %s: its owner is unknown", dir)}
	}
	if owner != uid {
		return &unsafeSocketError{fmt.Sprintf("refusing %s: it is owned by uid %d, not by you (uid %d); choose a PHOENIX_HOME of your own", dir, owner, uid)}
	}
	if fi.Mode().Perm()&0o077 == 0 {
		return nil
	}
	if fix {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("closing %s to other users: %w", dir, err)
		}
		return nil
	}
	return &unsafeSocketError{fmt.Sprintf("refusing the local cloud's socket directory %s: its mode is %04o, other users can reach it (want 0700)", dir, fi.Mode().Perm())}
}

// dialSupervisor connects to home's supervisor and checks that it runs as
// this user.
func dialSupervisor(ctx context.Context, home string) (net.Conn, error) {
	sock, err := clientSocketPath(home)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", sock)
	if err != nil {
		return nil, err
	}
	if err := checkPeer(conn, os.Getuid()); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// checkPeer refuses a connection whose other end is not a process of uid.
func checkPeer(conn net.Conn, uid int) error {
	got, err := peerUID(conn)
	if err != nil {
		return &unsafeSocketError{fmt.Sprintf("refusing the local cloud's socket peer: reading its uid: %v", err)}
	}
	if got != uid {
		return &unsafeSocketError{fmt.Sprintf("refusing the local cloud's socket peer: it runs as uid %d, not as you (uid %d)", got, uid)}
	}
	return nil
}

// peerUID reads the uid of the process at the other end of a unix socket.
func peerUID(conn net.Conn) (int, error) {
	uc, ok := conn.(*net.UnixConn)
	if !ok {
		return 0, fmt.Errorf("%T is not a unix socket", conn)
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return 0, err
	}
	uid, cerr := -1, error(nil)
	if err := raw.Control(func(fd uintptr) { uid, cerr = socketPeerUID(fd) }); err != nil {
		return 0, err
	}
	if cerr != nil {
		return 0, cerr
	}
	return uid, nil
}

// peerListener accepts only connections from processes of uid; others are
// closed at once and logged.
type peerListener struct {
	net.Listener
	uid  int
	logf func(string, ...any)
}

func (l *peerListener) Accept() (net.Conn, error) {
	for {
		conn, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if err := checkPeer(conn, l.uid); err != nil {
			l.logf("%v: connection closed", err)
			conn.Close()
			continue
		}
		return conn, nil
	}
}

// supervisorSocket is the supervisor's end: the listener and how to take
// it away again.
type supervisorSocket struct {
	net.Listener
	path string
	dir  string // a long home's private socket directory, removed on close
	home string
}

// listenSocket makes home's socket: in the home when its path is short,
// else in a fresh directory of random name (0700, checked) under the
// user's runtime directory or the temp directory, recorded in the home.
// The socket is bound under a temporary name, closed to others, then
// renamed into place, so it is never reachable with the umask's mode.
func listenSocket(home string, logf func(string, ...any)) (*supervisorSocket, error) {
	s := &supervisorSocket{home: home}
	dir := home
	if !inHome(home) {
		d, err := makeSocketDir(home)
		if err != nil {
			return nil, err
		}
		dir, s.dir = d, d
	}
	s.path = filepath.Join(dir, sockName)
	if len(s.path) >= maxSockPath {
		s.removeDir()
		return nil, fmt.Errorf("listening on %s: the path is too long for a unix socket (set TMPDIR or XDG_RUNTIME_DIR to a shorter directory)", s.path)
	}
	tmp := filepath.Join(dir, ".s."+strconv.Itoa(os.Getpid()))
	_ = os.Remove(tmp)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		s.removeDir()
		return nil, fmt.Errorf("listening on %s: %w", tmp, err)
	}
	ln.SetUnlinkOnClose(false)
	if err := os.Chmod(tmp, 0o600); err == nil {
		err = os.Rename(tmp, s.path)
	}
	if err != nil {
		ln.Close()
		_ = os.Remove(tmp)
		s.removeDir()
		return nil, fmt.Errorf("putting the socket in place at %s: %w", s.path, err)
	}
	if s.dir != "" {
		if err := writePrivateFile(filepath.Join(home, sockDirFile), []byte(s.dir+"\n")); err != nil {
			ln.Close()
			s.removeDir()
			return nil, fmt.Errorf("recording the socket's directory: %w", err)
		}
	}
	s.Listener = &peerListener{Listener: ln, uid: os.Getuid(), logf: logf}
	return s, nil
}

// makeSocketDir creates a long home's socket directory and removes the
// one a supervisor that died left behind.
func makeSocketDir(home string) (string, error) {
	if b, err := os.ReadFile(filepath.Join(home, sockDirFile)); err == nil {
		old := strings.TrimSpace(string(b))
		if filepath.IsAbs(old) && strings.HasPrefix(filepath.Base(old), "phoenix-") && checkPrivateDir(old, false) == nil {
			_ = os.RemoveAll(old)
		}
	}
	base := os.TempDir()
	if x := os.Getenv("XDG_RUNTIME_DIR"); x != "" && filepath.IsAbs(x) && checkPrivateDir(x, false) == nil {
		base = x
	}
	dir, err := os.MkdirTemp(base, "phoenix-")
	if err != nil {
		return "", fmt.Errorf("creating the socket's directory: %w", err)
	}
	if err := checkPrivateDir(dir, false); err != nil {
		return "", err
	}
	return dir, nil
}

// Close stops listening and removes the socket (and a long home's socket
// directory and its record, while the record still names it).
func (s *supervisorSocket) Close() error {
	err := s.Listener.Close()
	_ = os.Remove(s.path)
	if s.dir != "" {
		rec := filepath.Join(s.home, sockDirFile)
		if b, rerr := os.ReadFile(rec); rerr == nil && strings.TrimSpace(string(b)) == s.dir {
			_ = os.Remove(rec)
		}
		s.removeDir()
	}
	return err
}

func (s *supervisorSocket) removeDir() {
	if s.dir != "" {
		_ = os.RemoveAll(s.dir)
	}
}

// EnsureHome creates home (0700) or checks that an existing one is this
// user's alone: it refuses a home owned by another user, and closes one of
// ours that is open to others (see checkPrivateDir). Everything the local
// cloud and the journal write goes in it.
func EnsureHome(home string) error {
	if err := os.MkdirAll(home, 0o700); err != nil {
		return fmt.Errorf("creating PHOENIX_HOME %s: %w", home, err)
	}
	return checkPrivateDir(home, true)
}

// writePrivateFile replaces path with data (mode 0600) in one rename, so
// a reader sees the old contents or the new, never a part.
func writePrivateFile(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	_, werr := f.Write(data)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		_ = os.Remove(f.Name())
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		_ = os.Remove(f.Name())
		return err
	}
	return nil
}
