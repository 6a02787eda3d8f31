package local

import (
	"errors"
	"fmt"
	"net"
	"regexp"
)

// The supervisor checks the names and addresses of every request itself,
// not trusting that a compiler checked them: a name becomes part of a
// path in the home (logs/ENV/ROLE/POOL-N.log, images/BUILDID) and an
// address is a port the supervisor listens on, so "../../x" or a public
// address must not get through however the request was made.

var (
	// nameRE is the compiler's rule for project, environment, role and
	// image names.
	nameRE = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)
	// idRE is one path component made by Phoenix: pool ids
	// (env.role.key.gen) and build ids.
	idRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
)

// maxNameLen bounds every name, far above what a spec uses and below a
// file name's limit.
const maxNameLen = 200

// checkNames checks pairs of (what, name) against nameRE.
func checkNames(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		what, name := pairs[i], pairs[i+1]
		if len(name) > maxNameLen || !nameRE.MatchString(name) {
			return fmt.Errorf("%s name %q is not valid: names start with a lowercase letter and hold only lowercase letters, digits and -", what, name)
		}
	}
	return nil
}

// checkID checks a pool or build id.
func checkID(what, id string) error {
	if len(id) > maxNameLen || !idRE.MatchString(id) {
		return fmt.Errorf("%s %q is not valid: ids hold only letters, digits, '.', '_' and '-', and start with a letter or digit", what, id)
	}
	return nil
}

// checkLoopback accepts an endpoint host on this machine's loopback only,
// as the compiler does: the local cloud never listens where others reach.
func checkLoopback(addr, host string) error {
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("endpoint address %q is not on loopback (use 127.0.0.1, ::1 or localhost)", addr)
}

func (r *createReq) check() error {
	if r.ID == "" || r.Spec.Env == "" || r.Spec.Role == "" {
		return errors.New("creating pool: the request needs an id, an environment and a role")
	}
	if err := checkNames("project", r.Project, "environment", r.Spec.Env, "role", r.Spec.Role); err != nil {
		return fmt.Errorf("creating pool: %w", err)
	}
	if err := errors.Join(checkID("pool id", r.ID), checkID("build id", r.Image.BuildID)); err != nil {
		return fmt.Errorf("creating pool: %w", err)
	}
	return nil
}

func (r *commitImageReq) check() error {
	err := errors.Join(checkNames("project", r.Project, "image", r.Name), checkID("build id", r.BuildID))
	if err == nil && r.ParentBuildID != "" {
		err = checkID("parent build id", r.ParentBuildID)
	}
	if err != nil {
		return fmt.Errorf("committing image: %w", err)
	}
	return nil
}

func (r *deleteImageReq) check() error {
	if err := errors.Join(checkNames("project", r.Project), checkID("build id", r.BuildID)); err != nil {
		return fmt.Errorf("deleting image: %w", err)
	}
	return nil
}

func (r *warmReq) check() error {
	if err := errors.Join(checkNames("project", r.Project), checkID("pool id", r.Pool)); err != nil {
		return fmt.Errorf("warming pool: %w", err)
	}
	return nil
}

func (r *deletePoolReq) check() error {
	if err := errors.Join(checkNames("project", r.Project), checkID("pool id", r.Pool)); err != nil {
		return fmt.Errorf("deleting pool: %w", err)
	}
	return nil
}

func (r *swapReq) check() error {
	errs := []error{checkNames("project", r.Project, "environment", r.Env, "role", r.Role)}
	for _, b := range r.Backends {
		errs = append(errs, checkID("pool id", b.Pool))
	}
	if r.Endpoint != "" {
		errs = append(errs, checkAddress(r.Endpoint))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("swapping: %w", err)
	}
	return nil
}

func (r *lockReq) check() error {
	if err := checkNames("project", r.Project, "environment", r.Env); err != nil {
		return fmt.Errorf("locking: %w", err)
	}
	return nil
}

func (r *unlockReq) check() error {
	if err := checkNames("project", r.Project, "environment", r.Env); err != nil {
		return fmt.Errorf("unlocking: %w", err)
	}
	return nil
}
