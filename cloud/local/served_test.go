package local

import (
	"context"
	"testing"
	"time"
)

// A serving pool reports when it started serving, not the time of the
// observation: a saved plan made from one observation must match the next
// one taken seconds later. A pool swapped away from reports when it
// stopped serving, later than the start of the pool that replaced it, so
// retention still orders the pools newest-served first.
func TestServingPoolReportsWhenItStartedServing(t *testing.T) {
	c := newTestCloud(t)
	f := newFixture(t, c, 1)
	ctx := context.Background()
	before := time.Now().Add(-time.Second)
	a, _ := f.serve(t, "A")
	first := f.pool(t, a.ID).LastServed
	if first.Before(before) || first.After(time.Now()) {
		t.Fatalf("serving pool's last served %v is not the time of its swap (after %v)", first, before)
	}
	time.Sleep(1100 * time.Millisecond)
	if again := f.pool(t, a.ID).LastServed; !again.Equal(first) {
		t.Fatalf("serving pool's last served moved from %v to %v with nothing swapped", first, again)
	}
	b := f.create(t, "B")
	if err := f.swap(ctx, only(b.ID)); err != nil {
		t.Fatal(err)
	}
	pa, pb := f.pool(t, a.ID), f.pool(t, b.ID)
	if !pa.LastServed.After(first) || pb.LastServed.Before(pa.LastServed.Add(-time.Millisecond)) {
		t.Fatalf("after the swap A last served %v (was %v), B %v: want A at the swap, B no earlier", pa.LastServed, first, pb.LastServed)
	}
}
