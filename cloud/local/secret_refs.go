package local

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
)

// The CLI resolves only secret references it chose itself: those of the
// spec it creates a pool from, which it records in the home as it sends
// the create (refs/…, references only, never values). When the supervisor
// later asks for a pool's secrets (to warm a cold pool, on a swap or on
// `cloud up`), the CLI resolves the references it recorded for that pool,
// and refuses when the supervisor names others: a process that answers
// on the socket must never get to choose which files or variables of the
// user are read and sent to it.

const refsDir = "secret-refs"

// refsRecord is one pool's recorded references.
type refsRecord struct {
	Project string            `json:"project"`
	Pool    string            `json:"pool"`
	Secrets map[string]string `json:"secrets"` // name -> reference
}

// refsPath is where the references of (project, pool) are recorded; the
// name is a hash, so no project or pool name shapes a path.
func refsPath(home, project, pool string) string {
	sum := sha256.Sum256(recKey(project, pool))
	return filepath.Join(home, refsDir, hex.EncodeToString(sum[:16])+".json")
}

// recordRefs records the secret references a pool is created with.
func recordRefs(home, project, pool string, refs map[string]string) error {
	if len(refs) == 0 {
		return nil
	}
	path := refsPath(home, project, pool)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("recording the secret references of pool %s: %w", pool, err)
	}
	b, err := json.Marshal(refsRecord{Project: project, Pool: pool, Secrets: refs})
	if err != nil {
		return err
	}
	if err := writePrivateFile(path, b); err != nil {
		return fmt.Errorf("recording the secret references of pool %s: %w", pool, err)
	}
	return nil
}

// forgetRefs removes a deleted pool's record.
func forgetRefs(home, project, pool string) {
	_ = os.Remove(refsPath(home, project, pool))
}

// recordedRefs reads the references recorded for (project, pool); ok is
// false when there is no record.
func recordedRefs(home, project, pool string) (refs map[string]string, ok bool, err error) {
	b, err := os.ReadFile(refsPath(home, project, pool))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("reading the secret references of pool %s: %w", pool, err)
	}
	var rec refsRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, false, fmt.Errorf("decoding the secret references of pool %s: %w", pool, err)
	}
	if rec.Project != project || rec.Pool != pool {
		return nil, false, fmt.Errorf("the secret references recorded for pool %s belong to %s/%s", pool, rec.Project, rec.Pool)
	}
	return rec.Secrets, true, nil
}

// resolvePoolSecrets resolves the secrets of a pool that the supervisor
// says has the references named: only if they are the ones this home
// recorded when the pool was created or, with no record, the ones the spec
// this process holds gives the pool (spec; nil when it does not describe
// the pool). The spec's are then recorded, as a create would have.
func resolvePoolSecrets(home, project, pool string, named, spec map[string]string) (map[string]string, error) {
	if len(named) == 0 {
		return nil, nil
	}
	own, ok, err := recordedRefs(home, project, pool)
	if err != nil {
		return nil, err
	}
	if !ok && spec != nil && maps.Equal(spec, named) {
		if err := recordRefs(home, project, pool, spec); err != nil {
			return nil, err
		}
		own, ok = spec, true
	}
	if !ok {
		return nil, fmt.Errorf("refusing to resolve the secret references %s that the supervisor names for pool %s: this home has no record of creating the pool with them, and the spec does not describe it (a pool created before Phoenix kept records: phoenix apply of the spec that made it starts it, or delete it)", refNames(named), pool)
	}
	if !maps.Equal(own, named) {
		return nil, fmt.Errorf("refusing to resolve the secret references %s that the supervisor names for pool %s: they differ from the ones it was created with (%s)", refNames(named), pool, refNames(own))
	}
	return resolveSecrets(own)
}

// specRefs returns the secret references spec gives the pool with id in
// project: the desired pool of the same environment, role and key (a pool
// id is ENV.ROLE.KEY8.GEN), or nil when the spec does not describe it.
func specRefs(spec *model.Desired, project, id string) map[string]string {
	if spec == nil || spec.Project != project {
		return nil
	}
	for _, p := range spec.Pools {
		prefix := strings.TrimSuffix(cloud.PoolID(p.Env, p.Role, p.Key, 0), "0")
		if p.Cloud == model.CloudLocal && strings.HasPrefix(id, prefix) && !strings.Contains(id[len(prefix):], ".") {
			if p.Secrets == nil {
				return map[string]string{}
			}
			return p.Secrets
		}
	}
	return nil
}

// refNames lists "name=reference" pairs, sorted.
func refNames(refs map[string]string) string {
	out := make([]string, 0, len(refs))
	for n, r := range refs {
		out = append(out, n+"="+r)
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}
