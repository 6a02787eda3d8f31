package aws

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	asgtypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/phoenix-gitops/phoenix/cloud"
)

// projectImages lists the AMIs owned by this account and tagged for project
// (paginated), skipping any that are being deregistered.
func (c *Cloud) projectImages(ctx context.Context, project string, extra ...ec2types.Filter) ([]ec2types.Image, error) {
	in := &ec2.DescribeImagesInput{
		Owners:  []string{"self"},
		Filters: append([]ec2types.Filter{{Name: aws.String("tag:" + tagProject), Values: []string{project}}}, extra...),
	}
	var out []ec2types.Image
	p := ec2.NewDescribeImagesPaginator(c.api.EC2, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, classify("describing images", err)
		}
		for _, im := range page.Images {
			if !ec2TagSet(im.Tags).owned(project) {
				continue // the filter is the cloud's; ownership is checked here too
			}
			switch im.State {
			case ec2types.ImageStateDeregistered, ec2types.ImageStateFailed, ec2types.ImageStateError:
				continue
			}
			out = append(out, im)
		}
	}
	return out, nil
}

// findImage returns the project's newest AMI with buildID, if any; a copy
// of one made for another region (a Multi's) is not it.
func (c *Cloud) findImage(ctx context.Context, project, buildID string) (*ec2types.Image, error) {
	ims, err := c.buildImages(ctx, project, buildID)
	if err != nil {
		return nil, err
	}
	ims = slices.DeleteFunc(ims, isCopy)
	if len(ims) == 0 {
		return nil, nil
	}
	return &ims[len(ims)-1], nil
}

// buildImages returns the project's AMIs of buildID, oldest first: more
// than one when a bake replaced an image past its maxAge.
func (c *Cloud) buildImages(ctx context.Context, project, buildID string) ([]ec2types.Image, error) {
	ims, err := c.projectImages(ctx, project, ec2types.Filter{Name: aws.String("tag:" + tagBuildID), Values: []string{buildID}})
	if err != nil {
		return nil, err
	}
	var out []ec2types.Image
	for _, im := range ims {
		if ec2TagSet(im.Tags)[tagBuildID] == buildID {
			out = append(out, im)
		}
	}
	sortByCreation(out)
	return out, nil
}

// sortByCreation orders AMIs by their created-at tag, oldest first.
func sortByCreation(ims []ec2types.Image) {
	sort.SliceStable(ims, func(i, j int) bool {
		return liveImage(ims[i]).CreatedAt.Before(liveImage(ims[j]).CreatedAt)
	})
}

// newestPerBuild keeps the newest AMI of every build id.
func newestPerBuild(ims []ec2types.Image) []ec2types.Image {
	sortByCreation(ims)
	last := map[string]int{}
	for i, im := range ims {
		last[ec2TagSet(im.Tags)[tagBuildID]] = i
	}
	var out []ec2types.Image
	for i, im := range ims {
		if last[ec2TagSet(im.Tags)[tagBuildID]] == i {
			out = append(out, im)
		}
	}
	return out
}

// liveImages is the newest image of every build among ims, by build id.
// Copies into other regions (a Multi's) are not images of their own.
func liveImages(ims []ec2types.Image) []cloud.Image {
	var out []cloud.Image
	for _, im := range newestPerBuild(slices.DeleteFunc(slices.Clone(ims), isCopy)) {
		out = append(out, liveImage(im))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].BuildID < out[j].BuildID })
	return out
}

// isCopy reports whether an AMI is a copy made for another region (a
// Multi's), not an image of its own.
func isCopy(im ec2types.Image) bool { return ec2TagSet(im.Tags)[tagCopyOf] != "" }

// liveImage turns a tagged AMI into the live image.
func liveImage(im ec2types.Image) cloud.Image {
	t := ec2TagSet(im.Tags)
	created := t.time(tagCreatedAt)
	if created.IsZero() {
		created, _ = time.Parse(time.RFC3339, aws.ToString(im.CreationDate))
	}
	return cloud.Image{
		Cloud:         Name,
		Name:          t[tagImage],
		BuildID:       t[tagBuildID],
		ParentBuildID: t[tagParent],
		CreatedAt:     created,
		Ref:           aws.ToString(im.ImageId),
	}
}

// sourceAMI resolves an image's external source: "ami:ami-…" as is, or
// "ami-name:PATTERN" to the newest available AMI whose name matches, owned
// by this account or public.
func (c *Cloud) sourceAMI(ctx context.Context, from string) (string, error) {
	switch {
	case strings.HasPrefix(from, "ami:"):
		id := strings.TrimPrefix(from, "ami:")
		if !strings.HasPrefix(id, "ami-") {
			return "", fmt.Errorf("source %q: want ami:ami-…", from)
		}
		return id, nil
	case strings.HasPrefix(from, "ami-name:"):
		pattern := strings.TrimPrefix(from, "ami-name:")
		var found []ec2types.Image
		for _, in := range []*ec2.DescribeImagesInput{
			{Owners: []string{"self"}, Filters: []ec2types.Filter{{Name: aws.String("name"), Values: []string{pattern}}, {Name: aws.String("state"), Values: []string{"available"}}}},
			{Filters: []ec2types.Filter{{Name: aws.String("name"), Values: []string{pattern}}, {Name: aws.String("state"), Values: []string{"available"}}, {Name: aws.String("is-public"), Values: []string{"true"}}}},
		} {
			p := ec2.NewDescribeImagesPaginator(c.api.EC2, in)
			for p.HasMorePages() {
				page, err := p.NextPage(ctx)
				if err != nil {
					return "", classify("finding AMIs named "+pattern, err)
				}
				found = append(found, page.Images...)
			}
		}
		if len(found) == 0 {
			return "", fmt.Errorf("no available AMI named %q owned by this account or public: %w", pattern, cloud.ErrNotFound)
		}
		sort.Slice(found, func(i, j int) bool {
			return aws.ToString(found[i].CreationDate) > aws.ToString(found[j].CreationDate)
		})
		return aws.ToString(found[0].ImageId), nil
	default:
		return "", fmt.Errorf("source %q is not an AWS image source (want ami:ID or ami-name:PATTERN)", from)
	}
}

// DeleteImage deregisters the project's AMIs with buildID and deletes
// their snapshots, and the build's artifact and result objects if an
// interrupted bake left them. It refuses while a pool of the project still
// uses the build. An image that is gone already is not an error.
func (c *Cloud) DeleteImage(ctx context.Context, project, buildID string) error {
	if err := c.refuseInUse(ctx, project, buildID); err != nil {
		return err
	}
	return c.deleteBuild(ctx, project, buildID)
}

// deleteBuild deregisters the project's AMIs of buildID here and deletes
// the build's leftover objects, without asking whether a pool uses it.
func (c *Cloud) deleteBuild(ctx context.Context, project, buildID string) error {
	ims, err := c.buildImages(ctx, project, buildID)
	if err != nil {
		return err
	}
	for _, im := range ims {
		if err := c.deregister(ctx, im); err != nil {
			return err
		}
	}
	return c.deleteBakeObjects(ctx, project, buildID)
}

// refuseInUse returns an error wrapping cloud.ErrInUse if a pool of the
// project uses the build here.
func (c *Cloud) refuseInUse(ctx context.Context, project, buildID string) error {
	groups, err := c.projectGroups(ctx, project)
	if err != nil {
		return err
	}
	for _, g := range groups {
		if asgTagSet(g.Tags)[tagBuildID] == buildID {
			return fmt.Errorf("pool %s uses it: %w", asgTagSet(g.Tags)[tagPool], cloud.ErrInUse)
		}
	}
	return nil
}

// deregister removes one AMI and its snapshots; what is gone is skipped.
func (c *Cloud) deregister(ctx context.Context, im ec2types.Image) error {
	if _, err := c.api.EC2.DeregisterImage(ctx, &ec2.DeregisterImageInput{ImageId: im.ImageId}); err != nil && !hasCode(err, "InvalidAMIID.NotFound", "InvalidAMIID.Unavailable") {
		return classify("deregistering "+aws.ToString(im.ImageId), err)
	}
	for _, bd := range im.BlockDeviceMappings {
		if bd.Ebs == nil || bd.Ebs.SnapshotId == nil {
			continue
		}
		if _, err := c.api.EC2.DeleteSnapshot(ctx, &ec2.DeleteSnapshotInput{SnapshotId: bd.Ebs.SnapshotId}, ec2Settle("InvalidSnapshot.InUse")); err != nil && !hasCode(err, "InvalidSnapshot.NotFound") {
			return classify("deleting snapshot "+aws.ToString(bd.Ebs.SnapshotId), err)
		}
	}
	return nil
}

// projectGroups lists the project's auto scaling groups (paginated, by tag
// filter, ownership checked again here), skipping groups being deleted;
// with envs, only those environments' groups.
func (c *Cloud) projectGroups(ctx context.Context, project string, envs ...string) ([]asgtypes.AutoScalingGroup, error) {
	in := &autoscaling.DescribeAutoScalingGroupsInput{
		Filters:    []asgtypes.Filter{{Name: aws.String("tag:" + tagProject), Values: []string{project}}},
		MaxRecords: aws.Int32(100),
	}
	if len(envs) > 0 {
		in.Filters = append(in.Filters, asgtypes.Filter{Name: aws.String("tag:" + tagEnv), Values: envs})
	}
	var out []asgtypes.AutoScalingGroup
	read := c.readingGroups()
	p := autoscaling.NewDescribeAutoScalingGroupsPaginator(c.api.AutoScaling, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			read.done(nil)
			return nil, classify("describing auto scaling groups", err)
		}
		for _, g := range page.AutoScalingGroups {
			if !asgTagSet(g.Tags).owned(project) || deleting(g) {
				continue
			}
			out = append(out, g)
		}
	}
	read.done(out) // for the steps that act on these pools a moment later (Cloud.group)
	return out, nil
}

func deleting(g asgtypes.AutoScalingGroup) bool {
	return strings.HasPrefix(strings.ToLower(aws.ToString(g.Status)), "delete")
}
