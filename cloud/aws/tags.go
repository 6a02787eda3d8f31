package aws

import (
	"sort"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	asgtypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/phoenix-gitops/phoenix/cloud"
)

// Tags are the state: Observe rebuilds the live picture from them, and a
// resource without tagProject = the project is never touched.
const (
	tagProject    = "phoenix:project"
	tagEnv        = "phoenix:env"
	tagRole       = "phoenix:role"
	tagPool       = "phoenix:pool"
	tagKey        = "phoenix:key"
	tagGeneration = "phoenix:generation"
	tagBuildID    = "phoenix:build-id"
	tagParent     = "phoenix:parent-build-id"
	tagImage      = "phoenix:image"
	tagCommit     = "phoenix:commit"
	tagCreatedAt  = "phoenix:created-at"
	tagState      = "phoenix:state"
	tagReason     = "phoenix:reason"
	tagEndpoint   = "phoenix:endpoint"
	tagLastServed = "phoenix:last-served"
	tagReleased   = "phoenix:released"
	tagRejected   = "phoenix:rejected" // why release analysis rejected the pool
	tagRejectedAt = "phoenix:rejected-at"
	tagBuilder    = "phoenix:builder"
	tagAMI        = "phoenix:ami"
	tagCopyOf     = "phoenix:copy-of" // the AMI a copy in another region was made from
	tagName       = "Name"
)

// maxTagValue is AWS's limit on a tag value.
const maxTagValue = 256

type tagSet map[string]string

// sortedKeys returns the keys of m, sorted.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (t tagSet) ec2() []ec2types.Tag {
	out := make([]ec2types.Tag, 0, len(t))
	for _, k := range sortedKeys(t) {
		out = append(out, ec2types.Tag{Key: aws.String(k), Value: aws.String(short(t[k], maxTagValue))})
	}
	return out
}

func (t tagSet) elb() []elbtypes.Tag {
	out := make([]elbtypes.Tag, 0, len(t))
	for _, k := range sortedKeys(t) {
		out = append(out, elbtypes.Tag{Key: aws.String(k), Value: aws.String(short(t[k], maxTagValue))})
	}
	return out
}

// asg returns tags for the auto scaling group called group. They are not
// propagated at launch: the launch template tags the instances.
func (t tagSet) asg(group string) []asgtypes.Tag {
	out := make([]asgtypes.Tag, 0, len(t))
	for _, k := range sortedKeys(t) {
		out = append(out, asgtypes.Tag{
			ResourceId: aws.String(group), ResourceType: aws.String("auto-scaling-group"),
			Key: aws.String(k), Value: aws.String(short(t[k], maxTagValue)), PropagateAtLaunch: aws.Bool(false),
		})
	}
	return out
}

func ec2TagSet(tags []ec2types.Tag) tagSet {
	t := tagSet{}
	for _, x := range tags {
		t[aws.ToString(x.Key)] = aws.ToString(x.Value)
	}
	return t
}

func asgTagSet(tags []asgtypes.TagDescription) tagSet {
	t := tagSet{}
	for _, x := range tags {
		t[aws.ToString(x.Key)] = aws.ToString(x.Value)
	}
	return t
}

func elbTagSet(tags []elbtypes.Tag) tagSet {
	t := tagSet{}
	for _, x := range tags {
		t[aws.ToString(x.Key)] = aws.ToString(x.Value)
	}
	return t
}

// owned reports whether the tags say project made the resource.
func (t tagSet) owned(project string) bool { return project != "" && t[tagProject] == project }

func (t tagSet) time(key string) time.Time {
	v, err := time.Parse(time.RFC3339Nano, t[key])
	if err != nil {
		return time.Time{}
	}
	return v
}

func (t tagSet) int(key string) int {
	n, _ := strconv.Atoi(t[key])
	return n
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// poolTags are the tags of every resource of a pool.
func poolTags(req cloud.CreateRequest, now time.Time) tagSet {
	p := req.Pool
	t := tagSet{
		tagProject:    req.Project,
		tagEnv:        p.Env,
		tagRole:       p.Role,
		tagPool:       req.ID,
		tagKey:        p.Key,
		tagGeneration: strconv.Itoa(req.Generation),
		tagBuildID:    req.Image.BuildID,
		tagImage:      req.Image.Name,
		tagAMI:        req.Image.Ref,
		tagCommit:     req.Commit,
		tagCreatedAt:  stamp(now),
		tagName:       "phoenix " + req.Project + " " + req.ID,
	}
	if p.Endpoint != "" {
		t[tagEndpoint] = p.Endpoint
	}
	return t
}
