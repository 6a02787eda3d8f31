package aws

import (
	"context"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/phoenix-gitops/phoenix/cloud"
)

// readImages lists the project's images here (not copies), newest per
// build.
func (c *Cloud) readImages(ctx context.Context, project string) ([]cloud.Image, error) {
	ims, err := c.projectImages(ctx, project)
	if err != nil {
		return nil, err
	}
	return liveImages(ims), nil
}

// imageFor returns the AMI a pool (or bake) in p starts from: the image
// itself in the region it was read in, else its copy in p's region (made
// now if missing); shared with p's account by launch permission when that
// is not the image account.
func (m *Multi) imageFor(ctx context.Context, project string, im cloud.Image, p *placed, log io.Writer) (string, error) {
	home := m.homeOf(im.BuildID)
	if p == home || im.Ref == "" {
		return im.Ref, nil
	}
	owner, ami := home.c, im.Ref
	if r := p.key.region; r != home.key.region {
		owner = m.copiers[r]
		mu := m.copying(r, im.Ref)
		mu.Lock()
		var err error
		ami, err = owner.ensureCopy(ctx, project, im, home.key.region, log)
		mu.Unlock()
		if err != nil {
			return "", err
		}
	}
	if p.account != home.account {
		if err := owner.share(ctx, ami, p.account); err != nil {
			return "", err
		}
	}
	return ami, nil
}

// ensureCopy returns this region's copy of im (an AMI of srcRegion),
// copying it first if there is none: tagged as the image, plus the AMI it
// copies, so that Observe and DeleteImage find it. A copy an interrupted
// run started is adopted.
func (c *Cloud) ensureCopy(ctx context.Context, project string, im cloud.Image, srcRegion string, log io.Writer) (string, error) {
	if ex, err := c.findCopy(ctx, project, im.Ref); err != nil || ex != "" {
		if ex != "" {
			return ex, c.waitAvailable(ctx, ex)
		}
		return "", err
	}
	// A copy that failed keeps its name: it goes, and is made again.
	if err := c.deleteFailedCopies(ctx, project, im.Ref); err != nil {
		return "", err
	}
	tags := tagSet{
		tagProject:   project,
		tagImage:     im.Name,
		tagBuildID:   im.BuildID,
		tagCreatedAt: stamp(im.CreatedAt),
		tagCopyOf:    im.Ref,
		tagName:      amiName(project, im.Name, im.BuildID),
	}
	if im.ParentBuildID != "" {
		tags[tagParent] = im.ParentBuildID
	}
	// The source AMI's id keeps the name unique: a build re-baked past
	// its maxAge is another AMI, with its own copy. The name also keeps a
	// second process to one copy (InvalidAMIName.Duplicate, then found);
	// a client token would, but would hand back a copy that failed.
	name := short(amiName(project, im.Name, im.BuildID), 100) + "-" + im.Ref
	logf(log, "image %s: copying %s from %s", im.Name, im.Ref, srcRegion)
	out, err := c.api.EC2.CopyImage(ctx, &ec2.CopyImageInput{
		SourceImageId:     aws.String(im.Ref),
		SourceRegion:      aws.String(srcRegion),
		Name:              aws.String(name),
		Description:       aws.String("Phoenix image " + im.Name + " build " + im.BuildID + ", copy of " + im.Ref),
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeImage, Tags: tags.ec2()}},
	})
	var ami string
	switch {
	case hasCode(err, "InvalidAMIName.Duplicate"):
		if ami, err = c.findCopy(ctx, project, im.Ref); err != nil {
			return "", err
		}
		if ami == "" {
			return "", fmt.Errorf("an AMI named %s exists without this project's tags; not touching it", name)
		}
	case err != nil:
		return "", classify("copying "+im.Ref+" from "+srcRegion, err)
	default:
		ami = aws.ToString(out.ImageId)
	}
	// Tag again: not every EC2 (moto) honours tags given at the copy.
	if _, err := c.api.EC2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{ami}, Tags: tags.ec2()}); err != nil {
		return "", classify("tagging the copy "+ami, err)
	}
	return ami, c.waitAvailable(ctx, ami)
}

// findCopy returns the project's copy of the AMI src here, or "".
func (c *Cloud) findCopy(ctx context.Context, project, src string) (string, error) {
	ims, err := c.projectImages(ctx, project, ec2types.Filter{Name: aws.String("tag:" + tagCopyOf), Values: []string{src}})
	if err != nil {
		return "", err
	}
	for _, im := range ims {
		if ec2TagSet(im.Tags)[tagCopyOf] == src {
			return aws.ToString(im.ImageId), nil
		}
	}
	return "", nil
}

// deleteFailedCopies deregisters the project's copies of src here that
// failed (Observe and findCopy skip them).
func (c *Cloud) deleteFailedCopies(ctx context.Context, project, src string) error {
	out, err := c.api.EC2.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"}, Filters: []ec2types.Filter{
		{Name: aws.String("tag:" + tagProject), Values: []string{project}},
		{Name: aws.String("tag:" + tagCopyOf), Values: []string{src}},
		{Name: aws.String("state"), Values: []string{string(ec2types.ImageStateFailed), string(ec2types.ImageStateError)}},
	}})
	if err != nil {
		return classify("describing failed copies of "+src, err)
	}
	for _, im := range out.Images {
		if t := ec2TagSet(im.Tags); t.owned(project) && t[tagCopyOf] == src {
			if err := c.deregister(ctx, im); err != nil {
				return err
			}
		}
	}
	return nil
}

// share lets account launch ami. Adding a permission it has is a no-op.
func (c *Cloud) share(ctx context.Context, ami, account string) error {
	_, err := c.api.EC2.ModifyImageAttribute(ctx, &ec2.ModifyImageAttributeInput{
		ImageId:          aws.String(ami),
		LaunchPermission: &ec2types.LaunchPermissionModifications{Add: []ec2types.LaunchPermission{{UserId: aws.String(account)}}},
	})
	return classify("sharing "+ami+" with account "+account, err)
}

// deleteCopies deregisters the copies of buildID here, with their
// snapshots.
func (c *Cloud) deleteCopies(ctx context.Context, project, buildID string) error {
	ims, err := c.buildImages(ctx, project, buildID)
	if err != nil {
		return err
	}
	for _, im := range ims {
		if !isCopy(im) {
			continue
		}
		if err := c.deregister(ctx, im); err != nil {
			return err
		}
	}
	return nil
}
