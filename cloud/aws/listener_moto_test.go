package aws

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
)

// webSpec is one AWS environment whose web role is behind listener.
func webSpec(s site, listener string) *model.Desired {
	a := s.AWS
	return &model.Desired{Project: "shop",
		Environments: map[string]*model.Environment{"prod": {Name: "prod", Cloud: Name, AWS: &a}},
		Pools:        []*model.Pool{{Env: "prod", Role: "web", Cloud: Name, Endpoint: listener}}}
}

// On moto: a pool that served behind a listener that was deleted since
// (the spec moved web to another listener) is still observed and pruned;
// a cloud whose spec names the deleted listener says which one is gone.
func TestDeletedListenerOnMoto(t *testing.T) {
	needMoto(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg := motoConfig(t)
	s := newSite(t, cfg, 2)
	old, moved := s.Listeners[0], s.Listeners[1]
	before, err := NewFromConfig(cfg, webSpec(s, old), motoOptions())
	if err != nil {
		t.Fatal(err)
	}
	req := cloud.CreateRequest{Project: "shop", ID: "prod.web.aaaa.1", Generation: 1, Commit: "c1",
		Image: cloud.Image{Name: "app", BuildID: "b1", Ref: s.SourceAMI},
		Pool:  &model.Pool{Env: "prod", Role: "web", Cloud: Name, Endpoint: old, Count: 1, Port: 8080, Command: "./server"}}
	if _, err := before.CreatePool(ctx, req); err != nil {
		t.Fatal(err)
	}
	if err := before.Swap(ctx, cloud.SwapRequest{Project: "shop", Env: "prod", Role: "web", Endpoint: old,
		Backends: []cloud.Backend{{Pool: req.ID, Weight: 100}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := elb.NewFromConfig(cfg).DeleteListener(ctx, &elb.DeleteListenerInput{ListenerArn: aws.String(old)}); err != nil {
		t.Fatal(err)
	}

	after, err := NewFromConfig(cfg, webSpec(s, moved), motoOptions())
	if err != nil {
		t.Fatal(err)
	}
	live, err := after.Observe(ctx, "shop")
	if err != nil {
		t.Fatalf("Observe with a pool behind a deleted listener: %v", err)
	}
	if len(live.Pools) != 1 || len(live.Endpoints) != 1 || live.Endpoints[0].Address != moved || len(live.Endpoints[0].Backends) != 0 {
		t.Fatalf("observed pools %+v, endpoints %+v; want the pool and only the spec's listener, serving nothing", live.Pools, live.Endpoints)
	}
	if err := after.DeletePool(ctx, "shop", req.ID); err != nil {
		t.Fatalf("pruning the pool behind the deleted listener: %v", err)
	}
	if live, err := after.Observe(ctx, "shop"); err != nil || len(live.Pools) != 0 {
		t.Fatalf("after the prune: %+v, %v", live, err)
	}

	_, err = before.Observe(ctx, "shop")
	if !errors.Is(err, cloud.ErrNotFound) || !strings.Contains(err.Error(), old) {
		t.Fatalf("Observe with the spec's listener deleted: %v, want ErrNotFound naming %s", err, old)
	}
}

// On moto: a spec whose bucket does not exist is told so by plan (Observe)
// and apply (Lock), naming the bucket and the environments that name it,
// not with S3's bare NoSuchBucket.
func TestMissingBucketOnMoto(t *testing.T) {
	needMoto(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg := motoConfig(t)
	s := newSite(t, cfg, 1)
	s.AWS.Bucket = "phoenix-nope"
	c, err := NewFromConfig(cfg, webSpec(s, s.Listeners[0]), motoOptions())
	if err != nil {
		t.Fatal(err)
	}
	_, oerr := c.Observe(ctx, "shop")
	lerr := c.Lock(ctx, cloud.LockRequest{Project: "shop", Env: "prod", Owner: "me", Lease: time.Minute})
	for _, err := range []error{oerr, lerr} {
		if err == nil || !strings.Contains(err.Error(), "bucket phoenix-nope (aws.bucket of prod) does not exist in us-east-1: create it") ||
			strings.Contains(err.Error(), "RequestID") || !hasCode(err, "NoSuchBucket") {
			t.Errorf("got %v, want the missing bucket named, with its environment and what to do", err)
		}
	}
}
