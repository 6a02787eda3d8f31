package compiler

import (
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
)

// Pool keys of AWS specs without assumeRole are the keys they had before
// assumeRole existed: a changed key replaces the pool on the next apply.
// The keys below were compiled before assumeRole was added.
func TestPoolKeysWithoutAssumeRoleAreUnchanged(t *testing.T) {
	ar, err := txtar.ParseFile("testdata/valid_aws.txtar")
	if err != nil {
		t.Fatal(err)
	}
	fsys, _, _ := specOf(ar)
	if strings.Contains(string(fsys["spec.cue"].Data), "assumeRole") {
		t.Fatal("testdata/valid_aws.txtar must stay without assumeRole")
	}
	got := poolKeys(mustLoad(t, fsys))
	want := map[string]string{
		"prod/batch": "9b4da3679d045e5b3dfd5709ca0591baec39de60c5de55aece4ebe59be2236d3",
		"prod/web":   "89c048abc7111e13fa38244a3bdecd60c943f4d054709f7ae10012ad5d918779",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("pool %s: key %s, want %s as before assumeRole", k, got[k], w)
		}
	}
}

// awsSpec has two AWS environments of one account and region.
const awsSpec = `package phoenix

project: "shop"
images: os: from: "ami:ami-0123456789abcdef0"
roles: web: {image: "os", command: "run", port: 80}
environments: staging: {
	cloud: "aws"
	aws: {region: "eu-west-1", subnets: ["subnet-1"], bucket: "shop-phoenix"}
	roles: web: endpoint: "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/shop/1/2"
}
environments: prod: {
	cloud: "aws"
	aws: {region: "eu-west-1", subnets: ["subnet-2"], bucket: "shop-phoenix"}
	roles: web: endpoint: "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/shop/1/3"
}
`

// The role an environment assumes chooses the account its servers run
// in, so it is part of the key of that environment's pools only.
func TestAssumeRoleIsInTheKey(t *testing.T) {
	before := mustLoad(t, chainFS(awsSpec))
	withRole := func(role string) string {
		return strings.Replace(awsSpec, `aws: {region: "eu-west-1", subnets: ["subnet-1"]`,
			`aws: {region: "eu-west-1", assumeRole: "`+role+`", subnets: ["subnet-1"]`, 1)
	}
	a := mustLoad(t, chainFS(withRole("arn:aws:iam::123456789012:role/phoenix")))
	assertChanged(t, "pool keys", changed(poolKeys(before), poolKeys(a)), "staging/web")
	if got := a.Environments["staging"].AWS.AssumeRole; got != "arn:aws:iam::123456789012:role/phoenix" {
		t.Errorf("staging assumeRole %q", got)
	}
	if got := a.Environments["prod"].AWS.AssumeRole; got != "" {
		t.Errorf("prod assumeRole %q, want none", got)
	}
	b := mustLoad(t, chainFS(withRole("arn:aws:iam::123456789012:role/deploy/phoenix")))
	assertChanged(t, "pool keys", changed(poolKeys(a), poolKeys(b)), "staging/web")
}

func TestRoleAccount(t *testing.T) {
	for s, want := range map[string]string{
		"arn:aws:iam::123456789012:role/phoenix":               "123456789012",
		"arn:aws:iam::123456789012:role/deploy/eu/phoenix":     "123456789012",
		"arn:aws-cn:iam::210987654321:role/phoenix+deploy@x.y": "210987654321",
		"arn:aws-us-gov:iam::000000000000:role/a_b-c=d,e":      "000000000000",
	} {
		if got, ok := roleAccount(s); !ok || got != want {
			t.Errorf("roleAccount(%q) = %q, %v; want %q", s, got, ok, want)
		}
	}
	for _, s := range []string{
		"",
		"phoenix",
		"arn:aws:iam::123456789012:role/",
		"arn:aws:iam::123456789012:role",
		"arn:aws:iam::123456789012:user/phoenix",
		"arn:aws:iam::12345678901:role/phoenix",
		"arn:aws:iam::1234567890123:role/phoenix",
		"arn:aws:iam::12345678901x:role/phoenix",
		"arn:aws:iam:eu-west-1:123456789012:role/phoenix",
		"arn:aws:sts::123456789012:assumed-role/phoenix/session",
		"arn::iam::123456789012:role/phoenix",
		"arn:aws:iam::123456789012:role//phoenix",
		"arn:aws:iam::123456789012:role/deploy /phoenix",
		"arn:aws:iam::123456789012:role/pho enix",
		"arn:aws:iam::123456789012:role/" + strings.Repeat("x", 65),
		"ARN:aws:iam::123456789012:role/phoenix",
	} {
		if got, ok := roleAccount(s); ok {
			t.Errorf("roleAccount(%q) = %q, accepted", s, got)
		}
	}
}
