package executor

import (
	"context"
	"slices"
	"testing"
)

// TestWalkOrderIsTheGraphsTopoSort: the walk's Order is dag's one order,
// so a graph inserted in plan order (as planGraph does) lists its steps in
// plan order, and Report.Failures, which reads Order, says them in plan
// order. A first-in first-out queue would put the independent create-b
// before swap-a.
func TestWalkOrderIsTheGraphsTopoSort(t *testing.T) {
	g := graphOf(map[string][]string{"swap-a": {"create-a"}, "swap-b": {"create-b", "swap-a"}},
		"create-a", "swap-a", "create-b", "swap-b")
	res, err := Walk(context.Background(), g, func(context.Context, string) error { return nil }, WalkOptions[string]{})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := g.TopoSort()
	if !slices.Equal(res.Order, want) || !slices.Equal(want, g.Nodes()) {
		t.Fatalf("Order = %v, want the insertion order %v", res.Order, g.Nodes())
	}
}
