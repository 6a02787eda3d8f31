package compiler

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"cuelang.org/go/cue"

	"github.com/phoenix-gitops/phoenix/dag"
	"github.com/phoenix-gitops/phoenix/model"
)

// The checks in this file are the rules CUE cannot say well: references
// between entries, cycles, bounds, formats and files that must exist. They
// run in Go over the decoded spec (a map lookup per reference rather than
// a CUE field lookup) and report through d, so every problem of a spec
// comes out at once.

var (
	nameRE   = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)
	envVarRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	// accountRE is an AWS account id; roleNameRE is what IAM allows in a
	// role name.
	accountRE  = regexp.MustCompile(`^[0-9]{12}$`)
	roleNameRE = regexp.MustCompile(`^[A-Za-z0-9+=,.@_-]{1,64}$`)
)

// secretSchemes are the reference schemes a secret may use.
var secretSchemes = []string{"env:", "file:", "ssm:", "secretsmanager:"}

// checker holds what the checks share.
type checker struct {
	raw    *rawSpec
	broken map[string]map[string]bool
	fsys   fs.FS
	d      *diags
}

func check(raw *rawSpec, broken map[string]map[string]bool, fsys fs.FS, d *diags) {
	c := &checker{raw: raw, broken: broken, fsys: fsys, d: d}
	c.name(pathOf("project"), "project", raw.Project)
	for _, n := range sortedKeys(raw.Images) {
		c.image(n, raw.Images[n])
	}
	c.imageCycles()
	for _, n := range sortedKeys(raw.Roles) {
		c.role(n, raw.Roles[n])
	}
	for _, n := range sortedKeys(raw.Environments) {
		c.env(n, raw.Environments[n])
	}
	c.afterCycles()
	c.endpoints()
}

// defined says whether section holds name, even one whose own errors were
// reported already.
func (c *checker) defined(section, name string) bool {
	switch section {
	case "images":
		if _, ok := c.raw.Images[name]; ok {
			return true
		}
	case "roles":
		if _, ok := c.raw.Roles[name]; ok {
			return true
		}
	case "environments":
		if _, ok := c.raw.Environments[name]; ok {
			return true
		}
	}
	return c.broken[section][name]
}

// definedNames lists the names section defines, sorted, with those whose
// own errors were reported already.
func (c *checker) definedNames(section string) []string {
	var names []string
	switch section {
	case "images":
		names = sortedKeys(c.raw.Images)
	case "roles":
		names = sortedKeys(c.raw.Roles)
	case "environments":
		names = sortedKeys(c.raw.Environments)
	}
	for n := range c.broken[section] {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// hint is the detail for an unknown name: the closest defined name when
// one is a likely typo, and the list of defined names.
func (c *checker) hint(section, name string) string {
	names := c.definedNames(section)
	if len(names) == 0 {
		return "none are defined"
	}
	return didYouMean(name, names, "defined "+section+": "+strings.Join(names, ", "))
}

// didYouMean is detail, led by the closest of names to name when one is
// a likely typo.
func didYouMean(name string, names []string, detail string) string {
	if best := closest(name, names); best != "" {
		return fmt.Sprintf("did you mean %q?\n%s", best, detail)
	}
	return detail
}

// closest is the name of names within two edits of name (a likely typo:
// "cuont" for "count"), or "" when none is.
func closest(name string, names []string) string {
	best, bestDist := "", 3
	for _, n := range names {
		if d := editDistance(name, n); d < bestDist && d < len(name) {
			best, bestDist = n, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of two short names.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func (c *checker) name(p vpath, what, name string) {
	if !nameRE.MatchString(name) {
		if what == "project" {
			c.d.at(p, fmt.Sprintf("project name %q is not valid", name), "names start with a lowercase letter and hold only lowercase letters, digits and -")
			return
		}
		c.d.atLabel(p, fmt.Sprintf("%s name %q is not valid", what, name),
			"names start with a lowercase letter and hold only lowercase letters, digits and -")
	}
}

func (c *checker) duration(p vpath, what, s string) time.Duration {
	v, err := parseDuration(s)
	if err != nil && strings.HasPrefix(strings.TrimSpace(s), "-") {
		c.d.at(p, fmt.Sprintf("%s: %s %q is negative", owner(p), what, s),
			`a duration is a length of time: "90s", "12h", "7d", "1d12h"`)
	} else if err != nil {
		c.d.at(p, fmt.Sprintf("%s: %s %q is not a duration", owner(p), what, s),
			`write a Go duration or days: "90s", "12h", "7d", "1d12h"`)
	}
	return v
}

// maxAge checks a maxAge: a duration of more than 0, since the planner
// reads 0 as no limit at all, the opposite of what "0d" seems to say.
func (c *checker) maxAge(p vpath, s string) {
	if v := c.duration(p, "maxAge", s); v == 0 && c.validDuration(s) {
		c.d.at(p, fmt.Sprintf("%s: maxAge %q must be more than 0", owner(p), s),
			"leave maxAge out for no limit on age")
	}
}

func (c *checker) image(name string, im *rawImage) {
	p := pathOf("images", name)
	c.name(p, "image", name)
	switch {
	case im.From != nil && im.Parent != nil:
		c.d.at(p.field("parent"), fmt.Sprintf("image %q has both from and parent", name),
			"an image is built either from an external source or on a parent image")
	case im.From == nil && im.Parent == nil:
		c.d.at(p, fmt.Sprintf("image %q has neither from nor parent", name),
			`set from ("scratch", "dir:PATH", "ami:ami-…", "ami-name:PATTERN") or parent (another image)`)
	case im.From != nil:
		c.from(p.field("from"), name, *im.From)
	case !c.defined("images", *im.Parent):
		c.d.at(p.field("parent"), fmt.Sprintf("image %q: parent %q is not defined in images", name, *im.Parent),
			c.hint("images", *im.Parent))
	}
	for _, dest := range sortedKeys(im.Files) {
		c.file(p.field("files", dest), name, dest, im.Files[dest])
	}
	for _, k := range sortedKeys(im.Env) {
		if !envVarRE.MatchString(k) {
			c.d.atLabel(p.field("env", k), fmt.Sprintf("image %q: env name %q is not a variable name", name, k),
				"env reaches the bake steps as environment variables: letters, digits and _")
		}
	}
	if im.MaxAge != nil {
		c.maxAge(p.field("maxAge"), *im.MaxAge)
	}
}

// from checks an image's external source.
func (c *checker) from(p vpath, image, from string) {
	scheme, rest, _ := strings.Cut(from, ":")
	switch {
	case from == "scratch":
	case scheme == "dir" && rest != "":
		src, ok := c.specPath(rest)
		if !ok {
			c.d.at(p, fmt.Sprintf("image %q: from %q must name a directory inside the spec", image, from), "")
			return
		}
		switch fi, err := fs.Stat(c.fsys, src); {
		case err != nil && !errors.Is(err, fs.ErrNotExist):
			c.d.at(p, fmt.Sprintf("image %q: from %q: %v", image, from, err), "")
		case err != nil || !fi.IsDir():
			c.d.at(p, fmt.Sprintf("image %q: from %q: no directory %s in the spec", image, from, src), "")
		}
	case scheme == "ami" && strings.HasPrefix(rest, "ami-") && len(rest) > 4:
	case scheme == "ami-name" && rest != "":
	default:
		c.d.at(p, fmt.Sprintf("image %q: from %q is not a known source", image, from),
			`use "scratch" or "dir:PATH" (local), "ami:ami-…" or "ami-name:PATTERN" (aws)`)
	}
}

// specPath cleans a path relative to the spec root; ok is false when it
// leaves the spec.
func (c *checker) specPath(p string) (string, bool) {
	cp := path.Clean(p)
	return cp, !path.IsAbs(p) && fs.ValidPath(cp)
}

func (c *checker) file(p vpath, image, dest, src string) {
	if dest == "" || slices.Contains(strings.Split(dest, "/"), "..") {
		c.d.at(p, fmt.Sprintf("image %q: file destination %q leaves the image", image, dest), "")
	}
	sp, ok := c.specPath(src)
	if !ok {
		c.d.at(p, fmt.Sprintf("image %q: file source %q must be a path inside the spec directory", image, src), "")
		return
	}
	switch _, err := fs.Stat(c.fsys, sp); {
	case errors.Is(err, fs.ErrNotExist):
		c.d.at(p, fmt.Sprintf("image %q: file source %q does not exist in the spec directory", image, src), "")
	case err != nil:
		c.d.at(p, fmt.Sprintf("image %q: file source %q: %v", image, src, err), "")
	}
}

func (c *checker) role(name string, r *rawRole) {
	p := pathOf("roles", name)
	c.name(p, "role", name)
	if !c.defined("images", r.Image) {
		c.d.at(p.field("image"), fmt.Sprintf("role %q: image %q is not defined in images", name, r.Image),
			c.hint("images", r.Image))
	}
	c.count(p.field("count"), *r.Count)
	if *r.Port < 1 || *r.Port > 65535 {
		c.d.at(p.field("port"), fmt.Sprintf("role %q: port %d is out of range 1..65535", name, *r.Port), "")
	}
	c.urlPath(p.field("health", "path"), "health path", *r.Health.Path)
	iv := c.duration(p.field("health", "interval"), "health interval", *r.Health.Interval)
	to := c.duration(p.field("health", "timeout"), "health timeout", *r.Health.Timeout)
	if iv <= 0 && c.validDuration(*r.Health.Interval) {
		c.d.at(p.field("health", "interval"), fmt.Sprintf("role %q: health interval must be more than 0", name), "")
	}
	if to <= 0 && c.validDuration(*r.Health.Timeout) {
		c.d.at(p.field("health", "timeout"), fmt.Sprintf("role %q: health timeout must be more than 0", name), "")
	}
	if d := r.Health.Deadline; d != nil {
		if v := c.duration(p.field("health", "deadline"), "health deadline", *d); v <= 0 && c.validDuration(*d) {
			c.d.at(p.field("health", "deadline"), fmt.Sprintf("role %q: health deadline %q must be more than 0", name, *d),
				"leave deadline out for the default: twenty health intervals")
		}
	}
	for i, s := range r.Smoke {
		sp := p.field("smoke").index(i)
		c.urlPath(sp.field("path"), "smoke path", s.Path)
		if *s.Status < 100 || *s.Status > 599 {
			c.d.at(sp.field("status"), fmt.Sprintf("role %q: smoke status %d is not an HTTP status", name, *s.Status), "")
		}
	}
	for i, w := range r.Warm {
		c.urlPath(p.field("warm").index(i), "warm path", w)
	}
	c.config(p.field("config"), r.Config)
}

func (c *checker) validDuration(s string) bool { _, err := parseDuration(s); return err == nil }

func (c *checker) count(p vpath, n int) {
	if n < 1 {
		c.d.at(p, fmt.Sprintf("%s: count %d is less than 1", owner(p), n), "a pool has at least one server")
	}
}

func (c *checker) urlPath(p vpath, what, s string) {
	if !strings.HasPrefix(s, "/") {
		c.d.at(p, fmt.Sprintf("%s: %s %q must start with /", owner(p), what, s), "")
	}
}

func (c *checker) config(p vpath, cfg map[string]string) {
	for _, k := range sortedKeys(cfg) {
		if !envVarRE.MatchString(k) {
			c.d.atLabel(p.field(k), fmt.Sprintf("%s: config key %q is not a variable name", owner(p), k),
				"config reaches servers as environment variables: letters, digits and _")
		}
	}
}

func (c *checker) env(name string, e *rawEnv) {
	p := pathOf("environments", name)
	c.name(p, "environment", name)
	switch *e.Cloud {
	case model.CloudLocal:
	case model.CloudAWS:
		if e.AWS == nil && !c.d.hasFailed(p.field("aws")) { // an aws block with errors is reported as such
			c.d.at(p.field("cloud"), fmt.Sprintf("environment %q runs on aws but has no aws settings", name),
				"add aws: {region, subnets, bucket}")
		}
	default:
		c.d.at(p.field("cloud"), fmt.Sprintf("environment %q: cloud %q is not known", name, *e.Cloud), `use "local" or "aws"`)
	}
	if a := e.AWS; a != nil && a.AssumeRole != "" {
		if _, ok := roleAccount(a.AssumeRole); !ok {
			c.d.at(p.field("aws", "assumeRole"), fmt.Sprintf("environment %q: assumeRole %q is not an IAM role ARN", name, a.AssumeRole),
				`arn:PARTITION:iam::ACCOUNT:role/NAME (ACCOUNT is 12 digits; NAME may follow a PATH/), e.g. "arn:aws:iam::123456789012:role/phoenix-deploy"`)
		}
	}
	for _, rn := range sortedKeys(e.Roles) {
		c.envRole(p.field("roles", rn), name, rn, e)
	}
	c.config(p.field("config"), e.Config)
	for _, k := range sortedKeys(e.Secrets) {
		c.secret(p.field("secrets", k), k, e.Secrets[k])
	}
	keep, warm := *e.Retention.Keep, *e.Retention.Warm
	if keep < 0 {
		c.d.at(p.field("retention", "keep"), fmt.Sprintf("environment %q: retention keep %d is negative", name, keep), "")
	}
	if warm < 0 || warm > max(keep, 0) {
		c.d.at(p.field("retention", "warm"), fmt.Sprintf("environment %q: retention warm %d must be between 0 and keep (%d)",
			name, warm, keep), "warm pools are some of the kept ones")
	}
	if e.MaxAge != nil {
		c.maxAge(p.field("maxAge"), *e.MaxAge)
	}
	for i, a := range e.After {
		switch {
		case a == name:
			c.d.at(p.field("after").index(i), fmt.Sprintf("environment %q cannot come after itself", name), "")
		case !c.defined("environments", a):
			c.d.at(p.field("after").index(i), fmt.Sprintf("environment %q: after %q is not defined in environments", name, a),
				c.hint("environments", a))
		}
	}
	c.traffic(p.field("traffic"), name, e.Traffic)
}

func (c *checker) envRole(p vpath, env, role string, e *rawEnv) {
	er := e.Roles[role]
	r, ok := c.raw.Roles[role]
	if !c.defined("roles", role) {
		c.d.atLabel(p, fmt.Sprintf("environment %q: role %q is not defined in roles", env, role), c.hint("roles", role))
	}
	if er.Count != nil {
		c.count(p.field("count"), *er.Count)
	}
	c.config(p.field("config"), er.Config)
	cloud := *e.Cloud
	c.endpoint(p.field("endpoint"), env, role, cloud, er.Endpoint, e.AWS)
	if ok && (cloud == model.CloudLocal || cloud == model.CloudAWS) {
		if root, from := c.rootFrom(r.Image); from != "" && cloudOf(from) != cloud {
			c.d.at(p, fmt.Sprintf("environment %q runs on %s but role %q's image comes from %q (image %q)", env, cloud, role, from, root),
				"local images start from scratch or dir:, aws images from ami: or ami-name:")
		}
	}
}

// rootFrom follows parents to the image that has a from; it returns ""
// for a broken or cyclic chain (reported elsewhere).
func (c *checker) rootFrom(image string) (string, string) {
	seen := map[string]bool{}
	for !seen[image] {
		seen[image] = true
		im, ok := c.raw.Images[image]
		switch {
		case !ok:
			return "", ""
		case im.From != nil:
			return image, *im.From
		case im.Parent == nil:
			return "", ""
		}
		image = *im.Parent
	}
	return "", ""
}

// cloudOf says which cloud an external image source belongs to.
func cloudOf(from string) string {
	if strings.HasPrefix(from, "ami:") || strings.HasPrefix(from, "ami-name:") {
		return model.CloudAWS
	}
	return model.CloudLocal
}

func (c *checker) endpoint(p vpath, env, role, cloud, ep string, aws *rawAWS) {
	switch cloud {
	case model.CloudLocal:
		host, port, err := net.SplitHostPort(ep)
		n, perr := strconv.Atoi(port)
		if err != nil || perr != nil || n < 1 || n > 65535 {
			c.d.at(p, fmt.Sprintf("environment %q, role %q: endpoint %q is not host:port", env, role, ep), `e.g. "127.0.0.1:17081"`)
			return
		}
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			c.d.at(p, fmt.Sprintf("environment %q, role %q: endpoint %q is not on loopback", env, role, ep),
				"the local cloud listens on 127.0.0.1, ::1 or localhost only")
		}
	case model.CloudAWS:
		if !isListenerARN(ep) {
			c.d.at(p, fmt.Sprintf("environment %q, role %q: endpoint %q is not a load balancer listener ARN", env, role, ep),
				`e.g. "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2"`)
			return
		}
		if aws != nil {
			c.listenerPlace(p, env, role, ep, aws)
		}
	}
}

// listenerPlace checks that a listener is where the environment's AWS
// calls go: in aws.region and, with assumeRole, in the role's account.
// Elsewhere the listener "does not exist" to those calls, which would
// send the user looking for a deleted listener at apply.
func (c *checker) listenerPlace(p vpath, env, role, ep string, aws *rawAWS) {
	parts := strings.SplitN(ep, ":", 6) // a listener ARN: arn:PARTITION:elasticloadbalancing:REGION:ACCOUNT:RESOURCE
	if aws.Region != "" && parts[3] != aws.Region {
		c.d.at(p, fmt.Sprintf("environment %q, role %q: endpoint %q is a listener in %s, but aws.region is %s", env, role, ep, parts[3], aws.Region),
			"the environment's AWS calls go to aws.region, where a listener of another region cannot be found: use a listener of "+aws.Region)
	}
	if account, ok := roleAccount(aws.AssumeRole); ok && parts[4] != account {
		c.d.at(p, fmt.Sprintf("environment %q, role %q: endpoint %q is a listener of account %s, but aws.assumeRole %q is a role of account %s",
			env, role, ep, parts[4], aws.AssumeRole, account),
			"the environment's AWS calls act in the role's account, where a listener of another account cannot be changed: use a listener of "+account+" or a role of "+parts[4])
	}
}

// roleAccount returns the account of an IAM role ARN,
// arn:PARTITION:iam::ACCOUNT:role/PATH/NAME (PATH/ optional), and whether
// s has that shape.
func roleAccount(s string) (string, bool) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] == "" || parts[2] != "iam" || parts[3] != "" || !accountRE.MatchString(parts[4]) {
		return "", false
	}
	res := strings.Split(parts[5], "/")
	if len(res) < 2 || res[0] != "role" || !roleNameRE.MatchString(res[len(res)-1]) {
		return "", false
	}
	for _, seg := range res[1 : len(res)-1] {
		if seg == "" || strings.ContainsFunc(seg, func(r rune) bool { return r < '!' || r > '~' }) {
			return "", false
		}
	}
	return parts[4], true
}

// isListenerARN says whether s has the shape of a load balancer listener
// ARN: arn:PARTITION:elasticloadbalancing:REGION:ACCOUNT:listener/TYPE/
// NAME/LB-ID/LISTENER-ID. The AWS cloud derives the load balancer from it.
func isListenerARN(s string) bool {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "elasticloadbalancing" {
		return false
	}
	res := strings.Split(parts[5], "/")
	return parts[1] != "" && parts[3] != "" && parts[4] != "" &&
		len(res) == 5 && res[0] == "listener" && !slices.Contains(res, "")
}

func (c *checker) secret(p vpath, name, ref string) {
	if !envVarRE.MatchString(name) {
		c.d.atLabel(p, fmt.Sprintf("%s: secret name %q is not a variable name", owner(p), name), "secrets reach servers as environment variables")
	}
	for _, s := range secretSchemes {
		if strings.HasPrefix(ref, s) && len(ref) > len(s) {
			return
		}
	}
	// Never echo the value: it may be the secret itself.
	c.d.at(p, fmt.Sprintf("%s: secret %q is not a reference", owner(p), name),
		"a secret names where the value lives (env:NAME, file:PATH, ssm:NAME, secretsmanager:ID), never the value itself")
}

func (c *checker) traffic(p vpath, env string, t rawTraffic) {
	switch *t.Strategy {
	case "blue-green":
		if len(t.Steps) > 0 {
			c.d.at(p.field("steps"), fmt.Sprintf("environment %q: traffic steps apply to the canary strategy only", env), "")
		}
	case "canary":
		prev := 0
		for i, s := range t.Steps {
			if s <= prev || s > 100 {
				c.d.at(p.field("steps").index(i), fmt.Sprintf("environment %q: canary step %d must be more than %d and at most 100", env, s, prev),
					"steps are increasing percentages of traffic on the new pool")
				return
			}
			prev = s
		}
	default:
		c.d.at(p.field("strategy"), fmt.Sprintf("environment %q: traffic strategy %q is not known", env, *t.Strategy), `use "blue-green" or "canary"`)
	}
	c.watch(p, env, t)
}

// watch checks how a release is watched: pause (canaries only) and bake
// are lengths of time, and the analysis bounds are ones a window can meet.
func (c *checker) watch(p vpath, env string, t rawTraffic) {
	if t.Pause != nil {
		if *t.Strategy == "blue-green" {
			c.d.at(p.field("pause"), fmt.Sprintf("environment %q: traffic pause applies to the canary strategy only", env),
				"a blue-green release is watched after its one swap: use bake")
		} else {
			c.positive(p.field("pause"), "traffic pause", *t.Pause, "")
		}
	}
	if t.Bake != nil {
		c.positive(p.field("bake"), "traffic bake", *t.Bake, "leave bake out for no watch after the last swap")
	}
	a := t.Analysis
	if a == nil {
		return
	}
	ap := p.field("analysis")
	if r := *a.MaxErrorRate; !(r > 0 && r <= 100) {
		c.d.at(ap.field("maxErrorRate"), fmt.Sprintf("environment %q: analysis maxErrorRate %v must be more than 0 and at most 100", env, r),
			"it is a percent of the new pool's requests in a window")
	}
	if a.MaxLatency != nil {
		c.positive(ap.field("maxLatency"), "analysis maxLatency", *a.MaxLatency, "leave maxLatency out for no limit")
	}
	if n := *a.MinRequests; n < 0 {
		c.d.at(ap.field("minRequests"), fmt.Sprintf("environment %q: analysis minRequests %d is negative", env, n),
			"0 judges any window, however few its requests")
	}
}

// positive checks a duration that must be more than 0.
func (c *checker) positive(p vpath, what, s, detail string) {
	if v := c.duration(p, what, s); v <= 0 && c.validDuration(s) {
		c.d.at(p, fmt.Sprintf("%s: %s %q must be more than 0", owner(p), what, s), detail)
	}
}

// imageCycles reports each cycle of parents once, at the image of the
// cycle that sorts first.
func (c *checker) imageCycles() {
	done := map[string]bool{}
	for _, n := range sortedKeys(c.raw.Images) {
		var chain []string
		at := map[string]int{}
		for cur := n; ; {
			if done[cur] {
				break
			}
			if i, ok := at[cur]; ok {
				cyc := append(slices.Clone(chain[i:]), cur)
				start := rotateMin(cyc)
				c.d.at(pathOf("images", start[0], "parent"), "image cycle: "+strings.Join(start, " → "), "")
				break
			}
			at[cur] = len(chain)
			chain = append(chain, cur)
			im, ok := c.raw.Images[cur]
			if !ok || im.Parent == nil || im.From != nil {
				break
			}
			cur = *im.Parent
		}
		for _, x := range chain {
			done[x] = true
		}
	}
}

// rotateMin rotates a cycle (first element repeated last) to start at its
// smallest name, so the message does not depend on where the walk began.
func rotateMin(cyc []string) []string {
	ring := cyc[:len(cyc)-1]
	i := slices.Index(ring, slices.Min(ring))
	out := append(slices.Clone(ring[i:]), ring[:i]...)
	return append(out, out[0])
}

func (c *checker) afterCycles() {
	g := dag.New[string]()
	for _, n := range sortedKeys(c.raw.Environments) {
		var deps []string
		for _, a := range c.raw.Environments[n].After {
			if _, ok := c.raw.Environments[a]; ok && a != n {
				deps = append(deps, a)
			}
		}
		g.Add(n, deps...)
	}
	if cyc := g.FindCycle(); cyc != nil {
		cyc = rotateMin(cyc)
		e := c.raw.Environments[cyc[0]]
		i := slices.Index(e.After, cyc[1])
		c.d.at(pathOf("environments", cyc[0], "after").index(i), "environment cycle in after: "+strings.Join(cyc, " → "), "")
	}
}

// endpoints reports two (environment, role) pairs with the same address.
func (c *checker) endpoints() {
	seen := map[string]string{}
	for _, en := range sortedKeys(c.raw.Environments) {
		e := c.raw.Environments[en]
		for _, rn := range sortedKeys(e.Roles) {
			ep := e.Roles[rn].Endpoint
			if ep == "" {
				continue
			}
			if other, ok := seen[ep]; ok {
				c.d.at(pathOf("environments", en, "roles", rn, "endpoint"),
					fmt.Sprintf("endpoint %s of %s/%s is already the endpoint of %s", ep, en, rn, other),
					"every (environment, role) needs its own address")
				continue
			}
			seen[ep] = en + "/" + rn
		}
	}
}

// owner names the image, role or environment that holds the value at p:
// `environment "prod", role "web"`.
func owner(p vpath) string {
	labels := make([]string, 0, len(p))
	for _, s := range p {
		if s.LabelType() != cue.StringLabel {
			break // a list index: no entity lies below one
		}
		labels = append(labels, s.Unquoted())
	}
	who, _ := entities(labels)
	if len(who) == 0 {
		return "spec"
	}
	return strings.Join(who, ", ")
}
