package aws

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/phoenix-gitops/phoenix/cloud"
)

// Bake builds an AMI for req.Image without SSH: a builder instance launched
// from the parent AMI (or the source) runs the image's steps from its user
// data and powers off; the AMI is made from the stopped builder. Baking a
// build id that exists returns the existing AMI unless req.Replace asks for
// a fresh one: then a new AMI (a name with a time suffix) becomes the
// build id's record, the newest one wins, and the older AMI stays for the
// pools that still run it until DeleteImage removes every AMI of the build
// id. Independent bakes may run at once: each has its own builder, artifact
// and result object.
func (c *Cloud) Bake(ctx context.Context, req cloud.BakeRequest) (cloud.Image, error) {
	im := req.Image
	existing, err := c.findImage(ctx, req.Project, im.BuildID)
	if err != nil {
		return cloud.Image{}, err
	}
	if existing != nil && !req.Replace {
		// An AMI an interrupted bake left pending is waited for, not
		// handed to a pool that could not launch from it yet.
		if existing.State != ec2types.ImageStateAvailable {
			if err := c.waitAvailable(ctx, aws.ToString(existing.ImageId)); err != nil {
				return cloud.Image{}, fmt.Errorf("%s did not become available: %w", aws.ToString(existing.ImageId), err)
			}
		}
		logf(req.Log, "image %s %s exists: %s", im.Name, short(im.BuildID, 12), aws.ToString(existing.ImageId))
		return liveImage(*existing), nil
	}
	site, err := c.bakeSite()
	if err != nil {
		return cloud.Image{}, err
	}
	base, err := c.baseAMI(ctx, req)
	if err != nil {
		return cloud.Image{}, err
	}
	script, err := c.prepareBuilder(ctx, req, site.Bucket)
	if err != nil {
		return cloud.Image{}, err
	}
	if err := c.terminateBuilders(ctx, req.Project, im.BuildID); err != nil {
		return cloud.Image{}, err
	}
	instance, err := c.runBuilder(ctx, req, base, script)
	if err != nil {
		return cloud.Image{}, err
	}
	logf(req.Log, "builder %s started from %s", instance, base)
	// The builder goes whatever happens, even when ctx is cancelled.
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		_, _ = c.api.EC2.TerminateInstances(cctx, &ec2.TerminateInstancesInput{InstanceIds: []string{instance}})
	}()
	if err := c.waitStopped(ctx, instance); err != nil {
		return cloud.Image{}, fmt.Errorf("builder %s did not stop: %w", instance, err)
	}
	// The builder is done with its artifact and result: they go once the
	// result is read, whatever it says (the log reaches req.Log and the
	// error). DeleteImage removes any an interrupted bake left.
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if err := c.deleteBakeObjects(cctx, req.Project, im.BuildID); err != nil {
			logf(req.Log, "image %s: %v (DeleteImage tries again)", im.Name, err)
		}
	}()
	if err := c.readResult(ctx, req, site.Bucket); err != nil {
		return cloud.Image{}, err
	}
	ami, err := c.createImage(ctx, req, instance)
	if err != nil {
		return cloud.Image{}, err
	}
	if err := c.waitAvailable(ctx, ami); err != nil {
		return cloud.Image{}, fmt.Errorf("%s did not become available: %w", ami, err)
	}
	done, err := c.findImage(ctx, req.Project, im.BuildID)
	if err != nil {
		return cloud.Image{}, err
	}
	if done == nil {
		return cloud.Image{}, fmt.Errorf("%s is available but not found by its tags", ami)
	}
	if err := c.tagSnapshots(ctx, *done); err != nil {
		return cloud.Image{}, err
	}
	logf(req.Log, "image %s %s baked: %s", im.Name, short(im.BuildID, 12), ami)
	return liveImage(*done), nil
}

// baseAMI is the AMI the builder starts from.
func (c *Cloud) baseAMI(ctx context.Context, req cloud.BakeRequest) (string, error) {
	if req.Parent != nil {
		if req.Parent.Ref == "" {
			return "", fmt.Errorf("parent image %s has no AMI", req.Parent.Name)
		}
		return req.Parent.Ref, nil
	}
	return c.sourceAMI(ctx, req.Image.From)
}

// prepareBuilder uploads the image's files, clears any stale result and
// returns the builder's user data with presigned URLs valid for the bake.
func (c *Cloud) prepareBuilder(ctx context.Context, req cloud.BakeRequest, bucket string) (string, error) {
	im := req.Image
	ttl := c.opt.BakeTimeout + time.Hour
	artifactURL := ""
	if len(im.Files) > 0 {
		data, err := artifact(req)
		if err != nil {
			return "", err
		}
		key := artifactKey(req.Project, im.BuildID)
		if _, err := c.api.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: bytes.NewReader(data)}); err != nil {
			return "", c.bucketError("uploading the artifact", bucket, err)
		}
		u, err := c.api.Presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key}, s3.WithPresignExpires(ttl))
		if err != nil {
			return "", fmt.Errorf("presigning the artifact: %w", err)
		}
		artifactURL = u.URL
	}
	rkey := resultKey(req.Project, im.BuildID)
	if _, err := c.api.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: &rkey}); err != nil && !hasCode(err, "NoSuchKey", "NotFound") {
		return "", c.bucketError("clearing an old bake result", bucket, err)
	}
	u, err := c.api.Presign.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &rkey}, s3.WithPresignExpires(ttl))
	if err != nil {
		return "", fmt.Errorf("presigning the result: %w", err)
	}
	return builderScript(im, artifactURL, u.URL)
}

// artifact packs the image's files into a tar.gz whose paths are their
// destinations, to be unpacked at / on the builder.
func artifact(req cloud.BakeRequest) ([]byte, error) {
	if req.Source == nil {
		return nil, fmt.Errorf("image %s has files but the spec has no source", req.Image.Name)
	}
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, f := range req.Image.Files {
		dest := strings.TrimPrefix(path.Clean("/"+f.Dest), "/")
		err := fs.WalkDir(req.Source, path.Clean(f.Source), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel := strings.TrimPrefix(strings.TrimPrefix(p, path.Clean(f.Source)), "/")
			name := path.Join(dest, rel)
			info, err := d.Info()
			if err != nil {
				return err
			}
			hdr := &tar.Header{Name: name, Mode: int64(info.Mode().Perm()), ModTime: time.Unix(0, 0)}
			if d.IsDir() {
				// Directories are 0755 whatever the source says (a tree
				// read from git reports 0555).
				hdr.Typeflag, hdr.Name, hdr.Mode = tar.TypeDir, name+"/", 0o755
				return tw.WriteHeader(hdr)
			}
			data, err := fs.ReadFile(req.Source, p)
			if err != nil {
				return err
			}
			hdr.Typeflag, hdr.Size = tar.TypeReg, int64(len(data))
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
			_, err = tw.Write(data)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("packing %s for image %s: %w", f.Source, req.Image.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// terminateBuilders ends builders of this build left by an interrupted
// bake, so a rerun starts clean.
func (c *Cloud) terminateBuilders(ctx context.Context, project, buildID string) error {
	ids, err := c.builders(ctx, project, buildID)
	if err != nil || len(ids) == 0 {
		return err
	}
	_, err = c.api.EC2.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: ids})
	return classify("terminating old builders", err)
}

// builders lists the live builder instances of (project, buildID).
func (c *Cloud) builders(ctx context.Context, project, buildID string) ([]string, error) {
	in := &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{
		{Name: aws.String("tag:" + tagProject), Values: []string{project}},
		{Name: aws.String("tag:" + tagBuilder), Values: []string{buildID}},
		{Name: aws.String("instance-state-name"), Values: []string{"pending", "running", "stopping", "stopped"}},
	}}
	var ids []string
	p := ec2.NewDescribeInstancesPaginator(c.api.EC2, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, classify("describing builders", err)
		}
		for _, r := range page.Reservations {
			for _, i := range r.Instances {
				if ec2TagSet(i.Tags).owned(project) {
					ids = append(ids, aws.ToString(i.InstanceId))
				}
			}
		}
	}
	return ids, nil
}

func (c *Cloud) runBuilder(ctx context.Context, req cloud.BakeRequest, base, userData string) (string, error) {
	site, _ := c.bakeSite()
	tags := tagSet{
		tagProject: req.Project,
		tagBuilder: req.Image.BuildID,
		tagImage:   req.Image.Name,
		tagName:    "phoenix builder " + req.Project + " " + req.Image.Name,
	}
	in := &ec2.RunInstancesInput{
		ImageId:                           &base,
		InstanceType:                      ec2types.InstanceType(c.opt.BuilderType),
		MinCount:                          aws.Int32(1),
		MaxCount:                          aws.Int32(1),
		SubnetId:                          &site.Subnets[0],
		UserData:                          &userData,
		InstanceInitiatedShutdownBehavior: ec2types.ShutdownBehaviorStop,
		TagSpecifications: []ec2types.TagSpecification{
			{ResourceType: ec2types.ResourceTypeInstance, Tags: tags.ec2()},
			{ResourceType: ec2types.ResourceTypeVolume, Tags: tags.ec2()},
		},
	}
	if len(site.SecurityGroups) > 0 {
		in.SecurityGroupIds = site.SecurityGroups
	}
	if site.InstanceProfile != "" {
		in.IamInstanceProfile = profile(site.InstanceProfile)
	}
	out, err := c.api.EC2.RunInstances(ctx, in)
	if err != nil {
		return "", classify("launching the builder of "+req.Image.Name, err)
	}
	if len(out.Instances) == 0 {
		return "", fmt.Errorf("launching the builder of %s: no instance returned", req.Image.Name)
	}
	return aws.ToString(out.Instances[0].InstanceId), nil
}

// profile names an instance profile by ARN or by name.
func profile(p string) *ec2types.IamInstanceProfileSpecification {
	if strings.HasPrefix(p, "arn:") {
		return &ec2types.IamInstanceProfileSpecification{Arn: &p}
	}
	return &ec2types.IamInstanceProfileSpecification{Name: &p}
}

func (c *Cloud) waitStopped(ctx context.Context, instance string) error {
	w := ec2.NewInstanceStoppedWaiter(c.api.EC2, func(o *ec2.InstanceStoppedWaiterOptions) {
		o.MinDelay, o.MaxDelay = c.opt.PollMin, c.opt.PollMax
	})
	err := w.Wait(countedAs(ctx, WaiterPolls), &ec2.DescribeInstancesInput{InstanceIds: []string{instance}}, c.opt.BakeTimeout)
	return classify("waiting for stopped", err)
}

// readResult reads the builder's report and copies its log to req.Log. A
// builder that stopped without reporting ok failed.
func (c *Cloud) readResult(ctx context.Context, req cloud.BakeRequest, bucket string) error {
	key := resultKey(req.Project, req.Image.BuildID)
	out, err := c.api.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if hasCode(err, "NoSuchKey", "NotFound") {
		return errors.New("the builder stopped without reporting a result (see its console output)")
	}
	if err != nil {
		return classify("reading the bake result", err)
	}
	defer out.Body.Close()
	r := bufio.NewReader(out.Body)
	status, _ := r.ReadString('\n')
	status = strings.TrimSpace(status)
	var tail tailWriter
	w := io.Writer(&tail)
	if req.Log != nil {
		w = io.MultiWriter(req.Log, &tail)
	}
	if _, err := io.Copy(w, r); err != nil {
		return classify("reading the bake log", err)
	}
	switch status {
	case "ok":
		return nil
	case "failed":
		return fmt.Errorf("a step failed; last lines of the bake log:\n%s", tail.String())
	case "":
		if tail.String() == "" {
			// The object exists, so the builder got as far as its upload.
			return errors.New("the builder's result is empty: its upload sent no body (see its console output)")
		}
		fallthrough
	default:
		return fmt.Errorf("the builder's report starts with %q, not ok or failed; last lines:\n%s", status, tail.String())
	}
}

// createImage makes the AMI from the stopped builder, tagged at creation
// (the AMI and its snapshots). A duplicate name means an earlier run made
// it; that AMI is adopted.
func (c *Cloud) createImage(ctx context.Context, req cloud.BakeRequest, instance string) (string, error) {
	im := req.Image
	tags := tagSet{
		tagProject:   req.Project,
		tagImage:     im.Name,
		tagBuildID:   im.BuildID,
		tagCreatedAt: stamp(c.opt.Now()),
		tagName:      amiName(req.Project, im.Name, im.BuildID),
	}
	if req.Parent != nil {
		tags[tagParent] = req.Parent.BuildID
	}
	name := amiName(req.Project, im.Name, im.BuildID)
	if req.Replace {
		name = short(name, 110) + "-" + c.opt.Now().UTC().Format("20060102T150405Z")
	}
	out, err := c.api.EC2.CreateImage(ctx, &ec2.CreateImageInput{
		InstanceId:  &instance,
		Name:        &name,
		Description: aws.String("Phoenix image " + im.Name + " build " + im.BuildID),
		// The snapshots are tagged once the AMI is available and they are
		// known (tagSnapshots); a tag specification for them here is not
		// supported everywhere (moto).
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeImage, Tags: tags.ec2()}},
	})
	if hasCode(err, "InvalidAMIName.Duplicate") {
		ex, ferr := c.findImage(ctx, req.Project, im.BuildID)
		if ferr != nil {
			return "", ferr
		}
		if ex == nil {
			return "", fmt.Errorf("an AMI named %s exists without this project's tags; not touching it", name)
		}
		return aws.ToString(ex.ImageId), nil
	}
	if err != nil {
		return "", classify("creating the AMI", err)
	}
	return aws.ToString(out.ImageId), nil
}

func (c *Cloud) waitAvailable(ctx context.Context, ami string) error {
	w := ec2.NewImageAvailableWaiter(c.api.EC2, func(o *ec2.ImageAvailableWaiterOptions) {
		o.MinDelay, o.MaxDelay = c.opt.PollMin, c.opt.PollMax
	})
	err := w.Wait(countedAs(ctx, WaiterPolls), &ec2.DescribeImagesInput{ImageIds: []string{ami}}, c.opt.ImageTimeout)
	return classify("waiting for available", err)
}

// tagSnapshots gives an AMI's snapshots the AMI's tags, so what they cost
// is found by project.
func (c *Cloud) tagSnapshots(ctx context.Context, im ec2types.Image) error {
	var ids []string
	for _, bd := range im.BlockDeviceMappings {
		if bd.Ebs != nil && bd.Ebs.SnapshotId != nil {
			ids = append(ids, *bd.Ebs.SnapshotId)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	_, err := c.api.EC2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: ids, Tags: im.Tags})
	return classify("tagging the snapshots of "+aws.ToString(im.ImageId), err)
}

// tailWriter keeps the last lines written to it, for error messages.
type tailWriter struct{ buf []byte }

const tailBytes = 2048

func (t *tailWriter) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if len(t.buf) > tailBytes {
		t.buf = t.buf[len(t.buf)-tailBytes:]
	}
	return len(p), nil
}

func (t *tailWriter) String() string { return strings.TrimRight(string(t.buf), "\n") }

// deleteBakeObjects deletes a build's artifact and result from the bake
// bucket; objects already gone are no error.
func (c *Cloud) deleteBakeObjects(ctx context.Context, project, buildID string) error {
	site, err := c.bakeSite()
	if err != nil {
		return err
	}
	for _, key := range []string{artifactKey(project, buildID), resultKey(project, buildID)} {
		if _, err := c.api.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &site.Bucket, Key: &key}); err != nil && !hasCode(err, "NoSuchKey", "NotFound") {
			return classify("deleting bake object "+key, err)
		}
	}
	return nil
}
