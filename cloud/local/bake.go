package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
)

// Bake runs in the calling process (the CLI), not in the supervisor: the
// steps need the caller's toolchain environment (a `go build` step needs
// PATH, HOME, GOCACHE, ...) and their output streams straight to
// req.Log. The tree is built in PHOENIX_HOME/images/.tmp, made read-only,
// digested, and handed to the supervisor, which renames it into place and
// records it in one step. A bake that fails removes its tree: no image is
// left behind.

// passEnv are the variables of the caller's environment that bake steps
// see, besides the image's own env: enough for toolchains, nothing else.
var passEnv = []string{"PATH", "HOME", "USER", "LANG", "TMPDIR", "GOCACHE", "GOPATH", "GOMODCACHE", "GOPROXY", "GOFLAGS", "GOTOOLCHAIN", "GONOSUMDB", "GOPRIVATE", "GOINSECURE", "GONOSUMCHECK"}

// Bake implements cloud.Cloud. An image whose build id is recorded is a
// cache hit: one round trip to the supervisor, nothing rebuilt. With
// req.Replace it is built again from scratch, its steps run again, and the
// supervisor points the image's record at the new tree (see rebakes in
// sup_images.go).
func (c *Cloud) Bake(ctx context.Context, req cloud.BakeRequest) (cloud.Image, error) {
	im := req.Image
	if im == nil || im.BuildID == "" || im.Name == "" {
		return cloud.Image{}, errors.New("local cloud: bake request without an image, name or build id")
	}
	if req.Replace {
		return c.build(ctx, req)
	}
	var got cloud.Image
	err := c.getJSON(ctx, pathImage, url.Values{"project": {req.Project}, "build": {im.BuildID}}, &got)
	if err == nil && got.Drift {
		// Changed since its bake (a plan made before the change asks
		// for it as it is): never hand it out, bake it again.
		req.Replace = true
		return c.build(ctx, req)
	}
	if err == nil {
		return got, nil
	}
	if !errors.Is(err, cloud.ErrNotFound) {
		return cloud.Image{}, fmt.Errorf("looking up build %s: %w", short(im.BuildID), err)
	}
	return c.build(ctx, req)
}

// build makes the tree of a missing image and commits it.
func (c *Cloud) build(ctx context.Context, req cloud.BakeRequest) (cloud.Image, error) {
	im := req.Image
	// The executor names the image ("baking app: …"); the build id is
	// what it does not say.
	fail := func(err error) (cloud.Image, error) {
		return cloud.Image{}, fmt.Errorf("build %s: %w", short(im.BuildID), err)
	}
	var parentDir string
	switch {
	case req.Parent != nil:
		var p cloud.Image
		if err := c.getJSON(ctx, pathImage, url.Values{"project": {req.Project}, "build": {req.Parent.BuildID}}, &p); err != nil {
			return fail(fmt.Errorf("parent image %s %s: %w", req.Parent.Name, short(req.Parent.BuildID), err))
		}
		if p.Drift {
			// Copying it would launder the change into the child
			// under a fresh digest.
			return fail(fmt.Errorf("parent image %s %s: its tree %s does not match its digest (changed after its bake): %w; the next plan rebakes it",
				req.Parent.Name, short(req.Parent.BuildID), p.Ref, cloud.ErrDrift))
		}
		parentDir = p.Ref
	case im.Parent != "":
		return fail(fmt.Errorf("its parent %s was not given", im.Parent))
	case im.From == "":
		return fail(errors.New("it has neither a parent nor a source (from)"))
	}
	tmpRoot := filepath.Join(c.home, "images", ".tmp")
	if err := os.MkdirAll(tmpRoot, 0o700); err != nil {
		return fail(err)
	}
	sweepTmp(tmpRoot)
	dir, err := os.MkdirTemp(tmpRoot, fmt.Sprintf("%s-%d-", short(im.BuildID), os.Getpid()))
	if err != nil {
		return fail(err)
	}
	committed := false
	defer func() {
		if !committed {
			_ = removeTree(dir)
		}
	}()
	logPath := filepath.Join(c.home, "logs", "bake", im.Name, im.BuildID+".log")
	if err := os.MkdirAll(filepath.Dir(logPath), 0o700); err != nil {
		return fail(err)
	}
	logFile, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fail(err)
	}
	defer logFile.Close()
	out := io.Writer(logFile)
	if req.Log != nil {
		out = io.MultiWriter(logFile, &lockedWriter{w: req.Log})
	}

	if err := c.populate(req, parentDir, dir, out); err != nil {
		return fail(err)
	}
	for i, step := range im.Steps {
		if err := runStep(ctx, dir, step, im.Env, out); err != nil {
			return fail(&cloud.BakeStepError{Step: i + 1, Command: step, Log: logPath, Err: err})
		}
	}
	if err := makeReadOnly(dir); err != nil {
		return fail(err)
	}
	_ = os.Chmod(dir, 0o755) // the root stays writable until it is renamed into place
	digest, err := treeDigest(dir)
	if err != nil {
		return fail(err)
	}
	parentID := ""
	if req.Parent != nil {
		parentID = req.Parent.BuildID
	}
	var got cloud.Image
	err = c.call(ctx, pathCommitImage, commitImageReq{
		Project: req.Project, Name: im.Name, BuildID: im.BuildID, ParentBuildID: parentID,
		From: im.From, TmpDir: dir, Digest: digest, Replace: req.Replace,
	}, &got)
	if err != nil {
		return fail(err)
	}
	committed = true
	fmt.Fprintf(out, "image %s %s baked, tree digest %s\n", im.Name, short(im.BuildID), short(digest))
	return got, nil
}

// sweepTmp removes the bake directories of processes that died mid-bake
// (named BUILDID-PID-RANDOM): a killed bake leaves no garbage for long.
func sweepTmp(tmpRoot string) {
	entries, err := os.ReadDir(tmpRoot)
	if err != nil {
		return
	}
	for _, e := range entries {
		parts := strings.Split(e.Name(), "-")
		if len(parts) != 3 {
			continue
		}
		pid, err := strconv.Atoi(parts[1])
		if err != nil || pid == os.Getpid() || (pidAlive(pid) && !isZombie(pid)) {
			continue
		}
		_ = removeTree(filepath.Join(tmpRoot, e.Name()))
	}
}

// populate fills dir from the parent's tree or the image's source, then
// copies the image's files in. Phoenix's own writes go through an os.Root
// of dir: a link a parent's step left in the tree never leads them out.
func (c *Cloud) populate(req cloud.BakeRequest, parentDir, dir string, out io.Writer) error {
	im := req.Image
	if parentDir != "" {
		mode := copyBytes
		if len(im.Steps) == 0 {
			mode = copyLink
		}
		if err := copyTree(parentDir, dir, mode); err != nil {
			return fmt.Errorf("copying the parent's tree: %w", err)
		}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	if parentDir == "" {
		if err := fromSource(req, root); err != nil {
			return err
		}
	}
	for _, f := range im.Files {
		if err := copyFilesEntry(req, root, f); err != nil {
			return fmt.Errorf("image %s: files destination %s: %w", im.Name, f.Dest, err)
		}
		fmt.Fprintf(out, "+ copied %s to %s\n", f.Source, f.Dest)
	}
	return nil
}

// fromSource fills an image without a parent from its source.
func fromSource(req cloud.BakeRequest, root *os.Root) error {
	from := req.Image.From
	switch {
	case from == "scratch":
		return nil
	case strings.HasPrefix(from, "dir:"):
	case from == "":
		return errors.New("it has neither a parent nor a source (from)")
	default:
		return fmt.Errorf("source %q is not supported on the local cloud (use scratch or dir:PATH)", from)
	}
	src := path.Clean(strings.TrimPrefix(from, "dir:"))
	if req.Source == nil {
		return fmt.Errorf("source %s: the spec's files are not available", from)
	}
	entries, err := fs.ReadDir(req.Source, src)
	if err != nil {
		return fmt.Errorf("source %s: %w", from, err)
	}
	for _, e := range entries {
		if err := copyFromFS(req.Source, path.Join(src, e.Name()), root, e.Name()); err != nil {
			return fmt.Errorf("source %s: %w", from, err)
		}
	}
	return nil
}

// copyFilesEntry copies one `files` entry into the image root.
func copyFilesEntry(req cloud.BakeRequest, root *os.Root, f model.File) error {
	if req.Source == nil {
		return fmt.Errorf("source %s: the spec's files are not available", f.Source)
	}
	dst, err := insideRoot(f.Dest)
	if err != nil {
		return err
	}
	if err := copyFromFS(req.Source, path.Clean(f.Source), root, dst); err != nil {
		return fmt.Errorf("copying %s: %w", f.Source, outsideImage(root, dst, err))
	}
	return nil
}

// runStep runs one step with `sh -c` in the image root, in its own process
// group (killed whole when ctx ends), and returns its error with the tail
// of its output.
func runStep(ctx context.Context, dir, step string, imageEnv map[string]string, out io.Writer) error {
	fmt.Fprintf(out, "+ %s\n", step)
	tail := &tailBuffer{max: 2048}
	cmd := exec.Command("/bin/sh", "-c", step)
	cmd.Dir = dir
	cmd.Env = stepEnv(dir, imageEnv)
	cmd.Stdout = io.MultiWriter(out, tail)
	cmd.Stderr = cmd.Stdout
	newGroup(cmd)
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			if tail.String() == "" {
				return fmt.Errorf("%v (the step printed nothing)", err)
			}
			return fmt.Errorf("%v; output:\n%s", err, tail.String())
		}
		return nil
	case <-ctx.Done():
		_ = signalGroup(cmd.Process.Pid, syscall.SIGKILL)
		<-done
		return ctx.Err()
	}
}

// stepEnv is the environment of a bake step: the pass-through variables of
// the caller, then the image's env (which wins), then IMAGE_ROOT.
func stepEnv(dir string, imageEnv map[string]string) []string {
	vars := map[string]string{}
	for _, k := range passEnv {
		if v, ok := os.LookupEnv(k); ok {
			vars[k] = v
		}
	}
	if _, ok := vars["PATH"]; !ok {
		vars["PATH"] = "/usr/local/bin:/usr/bin:/bin"
	}
	for k, v := range imageEnv {
		vars[k] = v
	}
	vars["IMAGE_ROOT"] = dir
	env := make([]string, 0, len(vars))
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	return env
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = t.b[len(t.b)-t.max:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(bytes.TrimRight(t.b, "\n"))
}

// lockedWriter serialises writes to a caller's writer shared by stdout and
// stderr of a step.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
