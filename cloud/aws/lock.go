package aws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
)

// lease is the body of a lock object.
type lease struct {
	Owner   string    `json:"owner"`
	Expires time.Time `json:"expires"`
}

// Lock takes the lock of (project, env) with a conditional put that only
// succeeds if no lock object exists (If-None-Match: *). If one exists it is
// read: the same owner renews it, and an expired lease is taken over; both
// overwrite it only if it is still the object that was read (If-Match on
// its ETag), so two takers cannot both win. Otherwise it returns a
// LockedError naming the holder. It never waits.
func (c *Cloud) Lock(ctx context.Context, req cloud.LockRequest) error {
	env, err := c.lockSite(req.Env)
	if err != nil {
		return fmt.Errorf("locking %s: %w", req.Env, err)
	}
	if req.Owner == "" || req.Lease <= 0 {
		return fmt.Errorf("locking %s: an owner and a positive lease are required", req.Env)
	}
	key := lockKey(req.Project, req.Env)
	body, _ := json.Marshal(lease{Owner: req.Owner, Expires: c.opt.Now().Add(req.Lease).UTC()})
	put := func(cond func(*s3.PutObjectInput)) error {
		in := &s3.PutObjectInput{Bucket: &env.Bucket, Key: &key, Body: strings.NewReader(string(body)), ContentType: aws.String("application/json")}
		cond(in)
		_, err := c.api.S3.PutObject(ctx, in)
		return err
	}
	err = put(func(in *s3.PutObjectInput) { in.IfNoneMatch = aws.String("*") })
	if err == nil {
		return nil
	}
	if !conflict(err) {
		return c.bucketError("locking "+req.Env, env.Bucket, err)
	}
	held, etag, err := c.readLease(ctx, env.Bucket, key)
	if err != nil {
		return err
	}
	if held == nil { // released between our two calls: try once more
		if err := put(func(in *s3.PutObjectInput) { in.IfNoneMatch = aws.String("*") }); err != nil {
			if conflict(err) {
				return &cloud.LockedError{Env: req.Env, Owner: "another apply", Expires: c.opt.Now().Add(req.Lease)}
			}
			return classify("locking "+req.Env, err)
		}
		return nil
	}
	if held.Owner != req.Owner && c.opt.Now().Before(held.Expires) {
		return &cloud.LockedError{Env: req.Env, Owner: held.Owner, Expires: held.Expires}
	}
	if err := put(func(in *s3.PutObjectInput) { in.IfMatch = &etag }); err != nil {
		if conflict(err) {
			return c.holder(ctx, env.Bucket, key, req.Env)
		}
		return classify("locking "+req.Env, err)
	}
	return nil
}

// holder reads the current lock to report who won a race.
func (c *Cloud) holder(ctx context.Context, bucket, key, env string) error {
	held, _, err := c.readLease(ctx, bucket, key)
	if err != nil {
		return err
	}
	if held == nil {
		return &cloud.LockedError{Env: env, Owner: "another apply"}
	}
	return &cloud.LockedError{Env: env, Owner: held.Owner, Expires: held.Expires}
}

// Unlock deletes the lock if owner holds it (an empty owner forces it),
// conditional on the ETag that was read so a lock retaken meanwhile stays.
// A missing lock is not an error; another owner's lock is a LockedError.
func (c *Cloud) Unlock(ctx context.Context, project, env, owner string) error {
	e, err := c.lockSite(env)
	if err != nil {
		return fmt.Errorf("unlocking %s: %w", env, err)
	}
	key := lockKey(project, env)
	held, etag, err := c.readLease(ctx, e.Bucket, key)
	if err != nil || held == nil {
		return err
	}
	if owner != "" && held.Owner != owner {
		return &cloud.LockedError{Env: env, Owner: held.Owner, Expires: held.Expires}
	}
	_, err = c.api.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &e.Bucket, Key: &key, IfMatch: &etag})
	if conflict(err) {
		return c.holder(ctx, e.Bucket, key, env)
	}
	if err != nil && !hasCode(err, "NoSuchKey", "NotFound") {
		return classify("unlocking "+env, err)
	}
	return nil
}

// lockSite is where the lock of env lives: its own bucket, or for an
// environment that is not in the spec (left it, or a typo on the command
// line) the bake bucket.
func (c *Cloud) lockSite(env string) (*model.AWS, error) {
	if e, ok := c.envs[env]; ok {
		return e, nil
	}
	return c.bakeSite()
}

// readLease returns the lock object's lease and ETag, or nil if none.
func (c *Cloud) readLease(ctx context.Context, bucket, key string) (*lease, string, error) {
	out, err := c.api.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if hasCode(err, "NoSuchKey", "NotFound") {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", c.bucketError("reading lock "+key, bucket, err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(io.LimitReader(out.Body, 64<<10))
	if err != nil {
		return nil, "", classify("reading lock "+key, err)
	}
	var l lease
	if err := json.Unmarshal(data, &l); err != nil {
		// A lock object we cannot read is treated as held until its owner
		// is known: refuse rather than guess.
		return nil, "", fmt.Errorf("lock %s is not a Phoenix lease: %w", key, err)
	}
	return &l, aws.ToString(out.ETag), nil
}

// conflict reports a failed S3 precondition or a concurrent conditional
// write.
func conflict(err error) bool {
	return err != nil && hasCode(err, "PreconditionFailed", "ConditionalRequestConflict")
}

// locks lists the unexpired locks of the project in the buckets of its
// environments.
func (c *Cloud) locks(ctx context.Context, project string) ([]cloud.LockInfo, error) {
	buckets := map[string]bool{}
	for _, e := range c.envs {
		buckets[e.Bucket] = true
	}
	var out []cloud.LockInfo
	for b := range buckets {
		p := s3.NewListObjectsV2Paginator(c.api.S3, &s3.ListObjectsV2Input{Bucket: aws.String(b), Prefix: aws.String(lockPrefix(project))})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, c.bucketError("listing locks", b, err)
			}
			for _, o := range page.Contents {
				key := aws.ToString(o.Key)
				env := strings.TrimSuffix(strings.TrimPrefix(key, lockPrefix(project)), ".json")
				if env == "" || strings.Contains(env, "/") {
					continue
				}
				l, _, err := c.readLease(ctx, b, key)
				if err != nil {
					var te *cloud.TransientError
					if errors.As(err, &te) {
						return nil, err
					}
					continue // not a lease of ours; Lock reports it when it matters
				}
				if l != nil && c.opt.Now().Before(l.Expires) {
					out = append(out, cloud.LockInfo{Env: env, Owner: l.Owner, Expires: l.Expires})
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Env < out[j].Env })
	return out, nil
}

// bucketError is classify, except that a bucket that does not exist is
// said plainly, with the environments that name it: it is the operator's
// to create (Phoenix never creates the identity layer), and S3's own
// NoSuchBucket does not say which bucket it means.
func (c *Cloud) bucketError(doing, bucket string, err error) error {
	if !hasCode(err, "NoSuchBucket") {
		return classify(doing, err)
	}
	var envs []string
	region := ""
	for name, e := range c.envs {
		if e.Bucket == bucket {
			envs = append(envs, name)
			if e.Region != "" {
				region = " in " + e.Region
			}
		}
	}
	sort.Strings(envs)
	named := ""
	if len(envs) > 0 {
		named = " (aws.bucket of " + strings.Join(envs, ", ") + ")"
	}
	return fmt.Errorf("%s: bucket %s%s does not exist%s: create it, or name an existing bucket; Phoenix never creates it: %w",
		doing, bucket, named, region, concise(err))
}
