package aws

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
)

// bakeSpec is one AWS environment and the images a bake test needs.
func bakeSpec(s site, images ...*model.Image) *model.Desired {
	a := s.AWS
	d := &model.Desired{Project: "shop", Images: map[string]*model.Image{},
		Environments: map[string]*model.Environment{"prod": {Name: "prod", Cloud: Name, AWS: &a}}}
	for _, im := range images {
		d.Images[im.Name] = im
	}
	return d
}

// A bake uploads the files, runs a builder that the test stops, and makes
// a tagged AMI; the builder is gone afterwards. Replace bakes the same
// build id again: the newer AMI is the record, and DeleteImage removes
// both AMIs and their snapshots.
func TestBakeOnMoto(t *testing.T) {
	needMoto(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg := motoConfig(t)
	s := newSite(t, cfg, 0)
	builders := fakeBuilders(t, cfg)
	im := &model.Image{Name: "app", From: "ami:" + s.SourceAMI, BuildID: strings.Repeat("ab", 32),
		Files: []model.File{{Dest: "/srv/www", Source: "www"}}, Steps: []string{"echo baked"}}
	src := fstest.MapFS{"www/index.html": {Data: []byte("hi")}}
	clock := time.Now()
	opt := motoOptions()
	opt.Now = func() time.Time { return clock }
	c, err := NewFromConfig(cfg, bakeSpec(s, im), opt)
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	first, err := c.Bake(ctx, cloud.BakeRequest{Project: "shop", Image: im, Source: src, Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if first.BuildID != im.BuildID || first.Name != "app" || !strings.HasPrefix(first.Ref, "ami-") {
		t.Fatalf("baked %+v", first)
	}
	if !strings.Contains(log.String(), "played by the test") {
		t.Errorf("the builder's log did not reach Log:\n%s", log.String())
	}
	// The builder was launched to stop, not terminate, when its user data
	// powers off (moto's default is stop too: this catches a wrong value,
	// the stand-in of the request cannot be asked here).
	if b := builders.behaviors(); len(b) != 1 || fmt.Sprint(b) != fmt.Sprintf("map[%s:stop]", firstKey(b)) {
		t.Errorf("builders' shutdown behaviors %v, want one builder with stop", b)
	}
	// The artifact and the result are gone once the bake has read them.
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	for _, key := range []string{artifactKey("shop", im.BuildID), resultKey("shop", im.BuildID)} {
		if _, err := s3c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.AWS.Bucket, Key: &key}); err == nil {
			t.Errorf("%s is still in the bucket after the bake", key)
		}
	}
	e := ec2.NewFromConfig(cfg)
	if n := liveBuilders(t, e); n != 0 {
		t.Errorf("%d builders left running or stopped after the bake", n)
	}

	again, err := c.Bake(ctx, cloud.BakeRequest{Project: "shop", Image: im, Source: src})
	if err != nil || again.Ref != first.Ref {
		t.Fatalf("baking again: %+v, %v; want the existing %s", again, err, first.Ref)
	}

	clock = clock.Add(48 * time.Hour)
	replaced, err := c.Bake(ctx, cloud.BakeRequest{Project: "shop", Image: im, Source: src, Replace: true})
	if err != nil {
		t.Fatal(err)
	}
	if replaced.Ref == first.Ref || !replaced.CreatedAt.After(first.CreatedAt) {
		t.Fatalf("replace gave %+v, want a newer AMI than %+v", replaced, first)
	}
	live, err := c.Observe(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	if len(live.Images) != 1 || live.Images[0].Ref != replaced.Ref {
		t.Fatalf("after a replace Observe reports %+v, want only %s", live.Images, replaced.Ref)
	}

	snaps := snapshotsOf(t, e, first.Ref, replaced.Ref)
	if len(snaps) < 2 {
		t.Fatalf("the two AMIs have snapshots %v, want at least one each", snaps)
	}
	// An interrupted bake's leftovers are DeleteImage's to remove.
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: &s.AWS.Bucket, Key: aws.String(artifactKey("shop", im.BuildID)), Body: strings.NewReader("x")}); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteImage(ctx, "shop", im.BuildID); err != nil {
		t.Fatal(err)
	}
	assertImagesGone(t, e, []string{first.Ref, replaced.Ref}, snaps)
	if _, err := s3c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.AWS.Bucket, Key: aws.String(artifactKey("shop", im.BuildID))}); err == nil {
		t.Error("DeleteImage left the build's artifact in the bucket")
	}
}

func firstKey(m map[string]string) string {
	for k := range m {
		return k
	}
	return ""
}

// snapshotsOf returns the snapshot ids in the block device mappings of
// AMIs, read from EC2 before they are deleted.
func snapshotsOf(t testing.TB, e *ec2.Client, amis ...string) []string {
	t.Helper()
	out, err := e.DescribeImages(context.Background(), &ec2.DescribeImagesInput{ImageIds: amis})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, im := range out.Images {
		for _, bd := range im.BlockDeviceMappings {
			if bd.Ebs != nil && bd.Ebs.SnapshotId != nil {
				ids = append(ids, *bd.Ebs.SnapshotId)
			}
		}
	}
	return ids
}

// assertImagesGone checks in EC2 that the AMIs and the snapshots are gone,
// each asked for by id.
func assertImagesGone(t testing.TB, e *ec2.Client, amis, snaps []string) {
	t.Helper()
	ctx := context.Background()
	for _, id := range amis {
		out, err := e.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{id}})
		if err == nil && len(out.Images) > 0 && out.Images[0].State != ec2types.ImageStateDeregistered {
			t.Errorf("AMI %s is still there (%s)", id, out.Images[0].State)
		}
	}
	for _, id := range snaps {
		out, err := e.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: []string{id}})
		if err == nil && len(out.Snapshots) > 0 {
			t.Errorf("snapshot %s is still there", id)
		}
	}
}

// A builder that reports a failed step fails the bake with its log, makes
// no AMI and is terminated.
func TestBakeFailureOnMoto(t *testing.T) {
	needMoto(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg := motoConfig(t)
	s := newSite(t, cfg, 0)
	fakeBuilders(t, cfg)
	im := &model.Image{Name: "broken", From: "ami:" + s.SourceAMI, BuildID: strings.Repeat("cd", 32), Steps: []string{"exit 1"}}
	c, err := NewFromConfig(cfg, bakeSpec(s, im), motoOptions())
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Bake(ctx, cloud.BakeRequest{Project: "shop", Image: im})
	if err == nil || !strings.Contains(err.Error(), "step failed") || !strings.Contains(err.Error(), "played by the test") {
		t.Fatalf("bake of a failing step: %v, want an error with the bake log", err)
	}
	live, err := c.Observe(ctx, "shop")
	if err != nil || len(live.Images) != 0 {
		t.Fatalf("a failed bake left images %+v (%v)", live.Images, err)
	}
	if n := liveBuilders(t, ec2.NewFromConfig(cfg)); n != 0 {
		t.Errorf("%d builders left after a failed bake", n)
	}
}

// liveBuilders counts builder instances not terminated.
func liveBuilders(t *testing.T, e *ec2.Client) int {
	t.Helper()
	out, err := e.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{
		{Name: aws.String("tag-key"), Values: []string{tagBuilder}},
		{Name: aws.String("instance-state-name"), Values: []string{"pending", "running", "stopping", "stopped"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range out.Reservations {
		n += len(r.Instances)
	}
	return n
}

// A result object with nothing in it is said to be empty (was: 'the
// builder's report starts with "", not ok or failed; last lines:' and
// nothing after it).
func TestEmptyBakeResult(t *testing.T) {
	s := newStandIn(t)
	req := cloud.BakeRequest{Project: "shop", Image: &model.Image{Name: "base", BuildID: "b1"}}
	s.s3.objects["locks/"+resultKey("shop", "b1")] = nil
	err := s.readResult(context.Background(), req, "locks")
	if err == nil || err.Error() != "the builder's result is empty: its upload sent no body (see its console output)" {
		t.Fatalf("empty result: %v", err)
	}
	s.s3.objects["locks/"+resultKey("shop", "b1")] = []byte("\nsome log\n")
	if err := s.readResult(context.Background(), req, "locks"); err == nil || !strings.Contains(err.Error(), `starts with ""`) || !strings.Contains(err.Error(), "some log") {
		t.Fatalf("a result with a log and no status: %v", err)
	}
}
