package aws

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
)

// On moto's S3 (which honours If-None-Match and If-Match), of several
// applies racing for a free lock, and then for an expired one, exactly one
// wins each time.
func TestLockRaceOnMoto(t *testing.T) {
	needMoto(t)
	cfg := motoConfig(t)
	s := newSite(t, cfg, 0)
	var mu sync.Mutex
	now := time.Now()
	opt := motoOptions()
	opt.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	a := s.AWS
	c, err := NewFromConfig(cfg, &model.Desired{Project: "shop", Environments: map[string]*model.Environment{
		"prod": {Name: "prod", Cloud: Name, AWS: &a}}}, opt)
	if err != nil {
		t.Fatal(err)
	}
	race := func(round string) string {
		var wg sync.WaitGroup
		errs := make([]error, 6)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = c.Lock(context.Background(), cloud.LockRequest{Project: "shop", Env: "prod", Owner: fmt.Sprintf("%s-%d", round, i), Lease: time.Minute})
			}()
		}
		wg.Wait()
		winner := ""
		for i, err := range errs {
			switch {
			case err == nil && winner != "":
				t.Fatalf("%s: two winners, %s and %s-%d", round, winner, round, i)
			case err == nil:
				winner = fmt.Sprintf("%s-%d", round, i)
			case !errors.Is(err, cloud.ErrLocked):
				t.Fatalf("%s: %v", round, err)
			}
		}
		if winner == "" {
			t.Fatalf("%s: nobody won", round)
		}
		return winner
	}
	first := race("free")
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	second := race("expired")
	live, err := c.Observe(context.Background(), "shop")
	if err != nil || len(live.Locks) != 1 || live.Locks[0].Owner != second {
		t.Fatalf("after %s then %s won, the observed locks are %+v (%v)", first, second, live.Locks, err)
	}
}
