package specdiff

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/phoenix-gitops/phoenix/model"
)

// spec builds a small desired state: base → web images, web in staging
// and prod.
func spec() *model.Desired {
	d := &model.Desired{
		Project: "shop",
		Images: map[string]*model.Image{
			"base": {Name: "base", From: "scratch", Steps: []string{"mkdir /app"}, BuildID: "b1", Chain: []string{"base"}},
			"web": {Name: "web", Parent: "base", Steps: []string{"go build"}, BuildID: "w1", Chain: []string{"base", "web"},
				Files: []model.File{{Dest: "/src", Source: "app", Digest: "d1"}}},
		},
		Environments: map[string]*model.Environment{
			"staging": {Name: "staging", Cloud: "local", Roles: []string{"web"}, Retention: model.Retention{Keep: 2, Warm: 1}, Traffic: model.Traffic{Strategy: "blue-green"}},
			"prod":    {Name: "prod", Cloud: "local", Roles: []string{"web"}, Retention: model.Retention{Keep: 2, Warm: 1}, Traffic: model.Traffic{Strategy: "blue-green"}, After: []string{"staging"}},
		},
	}
	for _, env := range []string{"prod", "staging"} {
		d.Pools = append(d.Pools, &model.Pool{Env: env, Role: "web", Cloud: "local", Image: "web", BuildID: "w1", Key: env + "-k1",
			Count: 2, Port: 8080, Endpoint: "127.0.0.1:1808" + map[string]string{"prod": "2", "staging": "1"}[env],
			Config: map[string]string{"VERSION": "1"}, Secrets: map[string]string{"DB": "env:DB_PASSWORD"}})
	}
	return d
}

func TestNoChange(t *testing.T) {
	if d := Compare(spec(), spec()); !d.Empty() {
		t.Fatalf("same spec: %+v", d)
	}
}

func TestConfigAndCountMoveTheKeyButNoBuildID(t *testing.T) {
	base, head := spec(), spec()
	p := head.Pools[1] // staging/web
	p.Config = map[string]string{"VERSION": "2"}
	p.Count = 3
	p.Key = "staging-k2"
	d := Compare(base, head)
	if len(d.Images) != 0 || len(d.Envs) != 0 {
		t.Fatalf("a config change must not touch images or envs: %+v", d)
	}
	if len(d.Pools) != 1 {
		t.Fatalf("pools = %+v", d.Pools)
	}
	pc := d.Pools[0]
	if pc.Env != "staging" || !pc.KeyChanged || pc.Why() != `count 2 → 3; config VERSION "1" → "2"` {
		t.Fatalf("pool change = %+v, why %q", pc, pc.Why())
	}
	if r := d.Reason("staging", "web"); r != pc.Why() {
		t.Errorf("reason %q, want the settings %q", r, pc.Why())
	}
	if r := d.Reason("prod", "web"); r != "" {
		t.Errorf("an unchanged pool has reason %q", r)
	}
}

func TestParentRebakeReachesDescendantsAndPools(t *testing.T) {
	base, head := spec(), spec()
	head.Images["base"].Steps = []string{"mkdir /app", "apk upgrade"}
	head.Images["base"].BuildID = "b2"
	head.Images["web"].BuildID = "w2"
	head.Images["web"].Files[0].Digest = "d2"
	for _, p := range head.Pools {
		p.BuildID = "w2"
		p.Key += "x"
	}
	d := Compare(base, head)
	want := map[string]string{
		"base": "steps changed (1 → 2 steps)",
		"web":  "parent base rebaked; file app changed",
	}
	if len(d.Images) != 2 {
		t.Fatalf("images = %+v", d.Images)
	}
	for _, im := range d.Images {
		if got := strings.Join(im.Reasons, "; "); got != want[im.Name] || !im.Rebake {
			t.Errorf("image %s: %q rebake=%v, want %q", im.Name, got, im.Rebake, want[im.Name])
		}
	}
	for _, p := range d.Pools {
		if p.Why() != "image web rebaked w1 → w2" {
			t.Errorf("pool %s why = %q", p.Env, p.Why())
		}
		if r := d.Reason(p.Env, p.Role); r != "image web rebaked: parent base rebaked, file app changed" {
			t.Errorf("pool %s reason = %q", p.Env, r)
		}
	}
}

func TestEnvironmentsRetentionTrafficAndSecrets(t *testing.T) {
	base, head := spec(), spec()
	delete(head.Environments, "staging")
	head.Pools = head.Pools[:1] // prod only
	head.Environments["qa"] = &model.Environment{Name: "qa", Cloud: "local"}
	head.Pools = append(head.Pools, &model.Pool{Env: "qa", Role: "web", Key: "qa-k1"})
	prod := head.Environments["prod"]
	prod.Retention.Keep = 3
	prod.Traffic = model.Traffic{Strategy: "canary", Steps: []int{10, 50, 100}}
	prod.MaxAge = 7 * 24 * time.Hour
	head.Pools[0].Secrets = map[string]string{"DB": "ssm:/shop/db"}
	head.Pools[0].Key = "prod-k2"

	d := Compare(base, head)
	var envs []string
	for _, e := range d.Envs {
		envs = append(envs, e.Name+" "+string(e.Status)+settingsSuffix(e.Settings, ": "))
	}
	wantEnvs := []string{
		"prod changed: retention keep 2 → 3; traffic blue-green → canary 10%/50%/100%; maxAge added 7d",
		"qa added",
		"staging removed",
	}
	if strings.Join(envs, "\n") != strings.Join(wantEnvs, "\n") {
		t.Fatalf("envs:\n%s\nwant:\n%s", strings.Join(envs, "\n"), strings.Join(wantEnvs, "\n"))
	}
	if p := d.Pool("prod", "web"); p == nil || p.Why() != `secret DB "env:DB_PASSWORD" → "ssm:/shop/db"` {
		t.Fatalf("prod/web = %+v", p)
	}
	if p := d.Pool("qa", "web"); p == nil || p.Status != Added {
		t.Fatalf("qa/web = %+v", p)
	}
	if p := d.Pool("staging", "web"); p == nil || p.Status != Removed {
		t.Fatalf("staging/web = %+v", p)
	}
	var text, md bytes.Buffer
	d.Text(&text)
	d.Markdown(&md)
	for _, want := range []string{"+ environment qa", "- environment staging", "~ pool prod/web"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	if !strings.Contains(md.String(), "- environment **qa** added") {
		t.Errorf("markdown:\n%s", md.String())
	}
	if _, err := json.Marshal(d); err != nil {
		t.Fatal(err)
	}
}

func TestMissingSpecOnOneSide(t *testing.T) {
	d := Compare(nil, spec())
	if r := d.Reason("prod", "web"); r != "" {
		t.Errorf("an added pool has reason %q: the plan says it is new", r)
	}
	if len(d.Envs) != 2 || len(d.Pools) != 2 || len(d.Images) != 2 {
		t.Fatalf("everything should be added: %+v", d)
	}
	if d := Compare(spec(), nil); d.Pools[0].Status != Removed {
		t.Fatalf("everything should be removed: %+v", d)
	}
}

// TestTextAlignsImagesAndPools: the build ids of images and the keys of
// pools start in one column, also with a role name longer than the old
// fixed width.
func TestTextAlignsImagesAndPools(t *testing.T) {
	base, head := spec(), spec()
	head.Images["web"].Steps = []string{"go build -v"}
	head.Images["web"].BuildID = "w2"
	for _, p := range head.Pools {
		p.BuildID, p.Key = "w2", p.Env+"-k2"
	}
	long := &model.Pool{Env: "staging", Role: "notifications-worker", Cloud: "local", Image: "web", Key: "n1"}
	base.Pools = append(base.Pools, long)
	head.Pools = append(head.Pools, &model.Pool{Env: "staging", Role: "notifications-worker", Cloud: "local", Image: "web", Key: "n2"})
	var text bytes.Buffer
	Compare(base, head).Text(&text)
	col := -1
	for _, line := range strings.Split(strings.TrimSpace(text.String()), "\n")[1:] {
		i := 4 + strings.Index(line[4:], "  ") // the gap after the name
		for i < len(line) && line[i] == ' ' {
			i++
		}
		if col == -1 {
			col = i
		}
		if i != col {
			t.Errorf("column %d, want %d: %q\n%s", i, col, line, text.String())
		}
	}
	if col == -1 {
		t.Fatal("no lines")
	}
}

// A change of the role an AWS environment assumes is shown on the
// environment, as a change of region is: added, changed and removed.
func TestAssumeRoleChangeIsAnEnvironmentSetting(t *testing.T) {
	const a, b = "arn:aws:iam::123456789012:role/phoenix", "arn:aws:iam::210987654321:role/phoenix"
	awsSpec := func(staging, prod string) *model.Desired {
		d := spec()
		for name, role := range map[string]string{"staging": staging, "prod": prod} {
			d.Environments[name].Cloud = "aws"
			d.Environments[name].AWS = &model.AWS{Region: "eu-west-1", AssumeRole: role, Subnets: []string{"subnet-1"}, Bucket: "locks"}
		}
		return d
	}
	d := Compare(awsSpec("", a), awsSpec(a, b))
	var envs []string
	for _, e := range d.Envs {
		envs = append(envs, e.Name+" "+string(e.Status)+settingsSuffix(e.Settings, ": "))
	}
	want := []string{
		"prod changed: assumeRole " + a + " → " + b,
		"staging changed: assumeRole added " + a,
	}
	if strings.Join(envs, "\n") != strings.Join(want, "\n") {
		t.Fatalf("envs:\n%s\nwant:\n%s", strings.Join(envs, "\n"), strings.Join(want, "\n"))
	}
	d = Compare(awsSpec(a, a), awsSpec("", a))
	if len(d.Envs) != 1 || settingsSuffix(d.Envs[0].Settings, "") != "assumeRole removed (was "+a+")" {
		t.Fatalf("envs = %+v", d.Envs)
	}
	var text bytes.Buffer
	d.Text(&text)
	if !strings.Contains(text.String(), "~ environment staging: assumeRole removed (was "+a+")") {
		t.Errorf("text:\n%s", text.String())
	}
}
