package aws

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
)

// maxUserData is EC2's limit on user data before base64 encoding.
const maxUserData = 16 * 1024

// quote makes s one single-quoted shell word.
func quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// heredocMark returns a here-document delimiter that does not occur in body.
func heredocMark(body string) string {
	sum := sha256.Sum256([]byte(body))
	return "PHOENIX_EOF_" + hex.EncodeToString(sum[:6])
}

// builderScript is the user data of a bake builder. It fetches the image's
// files (an artifact by presigned URL, so the builder needs no credentials),
// runs the steps with the image's env, uploads "ok" or "failed" and its log
// to the presigned result URL, and powers off; the instance stops because it
// was launched with InstanceInitiatedShutdownBehavior=stop. Bake waits for
// stopped and then reads the result: a builder that stops without one failed.
func builderScript(im *model.Image, artifactURL, resultURL string) (string, error) {
	var steps strings.Builder
	for _, k := range sortedKeys(im.Env) {
		if !validEnvName(k) {
			return "", fmt.Errorf("image %s: env name %q is not a shell variable name", im.Name, k)
		}
		fmt.Fprintf(&steps, "export %s=%s\n", k, quote(im.Env[k]))
	}
	for i, s := range im.Steps {
		fmt.Fprintf(&steps, "echo %s\n", quote(fmt.Sprintf("+ step %d: %s", i+1, s)))
		fmt.Fprintf(&steps, "/bin/sh -ec %s\n", quote(s))
	}
	body := steps.String()
	mark := heredocMark(body)
	var b strings.Builder
	fmt.Fprintf(&b, `#!/bin/bash
# Phoenix builder: image %s, build id %s.
log=/var/log/phoenix-bake.log
status=failed
finish() {
  { echo "$status"; cat "$log"; } > /var/tmp/phoenix-result
  for i in 1 2 3 4 5; do
    curl -fsS -H 'Content-Type: text/plain' -X PUT -T /var/tmp/phoenix-result %s && break
    sleep 5
  done
  shutdown -h now || poweroff
}
trap finish EXIT
exec >"$log" 2>&1
set -eu
`, im.Name, im.BuildID, quote(resultURL))
	if artifactURL != "" {
		fmt.Fprintf(&b, "curl -fsS --retry 5 -o /var/tmp/phoenix-artifact.tar.gz %s\n", quote(artifactURL))
		b.WriteString("tar -xzf /var/tmp/phoenix-artifact.tar.gz -C /\nrm -f /var/tmp/phoenix-artifact.tar.gz\n")
	}
	fmt.Fprintf(&b, "cat > /var/tmp/phoenix-steps.sh <<'%s'\nset -eu\n%s%s\n", mark, body, mark)
	b.WriteString("/bin/sh -e /var/tmp/phoenix-steps.sh\nrm -f /var/tmp/phoenix-steps.sh\nstatus=ok\n")
	return encodeUserData(b.String())
}

// serverScript is the user data of a pool's servers. It writes the
// environment and role config, and the secret REFERENCES (never values),
// under /etc/phoenix for the image's boot scripts to read, then starts the
// role's command as a systemd service when there is one. An image that
// ships /usr/local/bin/phoenix-resolve-secrets gets it run on the
// references before the command starts; secret values never leave AWS.
func serverScript(req cloud.CreateRequest) (string, error) {
	p := req.Pool
	vars := map[string]string{}
	for k, v := range p.Config {
		vars[k] = v
	}
	vars["PHOENIX_PROJECT"] = req.Project
	vars["PHOENIX_ENV"] = p.Env
	vars["PHOENIX_ROLE"] = p.Role
	vars["PHOENIX_POOL"] = req.ID
	vars["PHOENIX_BUILD_ID"] = req.Image.BuildID
	vars["PORT"] = fmt.Sprint(p.Port)
	env, err := shellAssignments(vars)
	if err != nil {
		return "", fmt.Errorf("pool %s config: %w", req.ID, err)
	}
	refs, err := shellAssignments(p.Secrets)
	if err != nil {
		return "", fmt.Errorf("pool %s secrets: %w", req.ID, err)
	}
	var b strings.Builder
	b.WriteString("#!/bin/sh\n# Phoenix server: " + req.Project + " " + req.ID + "\nset -eu\nmkdir -p /etc/phoenix\numask 077\n")
	writeFile(&b, "/etc/phoenix/env", env)
	writeFile(&b, "/etc/phoenix/secret-refs", refs)
	if p.Command != "" {
		writeFile(&b, "/etc/phoenix/command", "#!/bin/sh\nset -a\n. /etc/phoenix/env\n"+
			"if [ -x /usr/local/bin/phoenix-resolve-secrets ]; then eval \"$(/usr/local/bin/phoenix-resolve-secrets /etc/phoenix/secret-refs)\"; fi\n"+
			"set +a\nexec /bin/sh -c "+quote(p.Command)+"\n")
		b.WriteString("chmod 700 /etc/phoenix/command\n")
		writeFile(&b, "/etc/systemd/system/phoenix-server.service",
			"[Unit]\nDescription=Phoenix "+req.ID+"\nAfter=network-online.target\n\n[Service]\nExecStart=/etc/phoenix/command\nRestart=always\n\n[Install]\nWantedBy=multi-user.target\n")
		b.WriteString("systemctl daemon-reload && systemctl enable --now phoenix-server.service\n")
	}
	return encodeUserData(b.String())
}

func writeFile(b *strings.Builder, path, content string) {
	mark := heredocMark(content)
	fmt.Fprintf(b, "cat > %s <<'%s'\n%s%s\n", path, mark, content, mark)
}

// shellAssignments renders NAME='value' lines, sorted.
func shellAssignments(m map[string]string) (string, error) {
	keys := make([]string, 0, len(m))
	for k := range m {
		if !validEnvName(k) {
			return "", fmt.Errorf("%q is not a shell variable name", k)
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s\n", k, quote(m[k]))
	}
	return b.String(), nil
}

func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		ok := r == '_' || (r >= 'A' && r <= 'Z') || (r >= 'a' && r <= 'z') || (i > 0 && r >= '0' && r <= '9')
		if !ok {
			return false
		}
	}
	return true
}

func encodeUserData(script string) (string, error) {
	if len(script) > maxUserData {
		return "", fmt.Errorf("user data is %d bytes, over EC2's limit of %d", len(script), maxUserData)
	}
	return base64.StdEncoding.EncodeToString([]byte(script)), nil
}
