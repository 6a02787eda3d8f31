package dag

import (
	"errors"
	"slices"
	"testing"
)

func TestTopoSortKeepsDependenciesFirstAndInsertionOrder(t *testing.T) {
	g := New[string]()
	g.Add("swap", "create")
	g.Add("bake-app", "bake-base")
	g.Add("create", "bake-app")
	g.Add("bake-base")
	g.Add("prune", "swap")
	got, err := g.TopoSort()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"bake-base", "bake-app", "create", "swap", "prune"}
	if !slices.Equal(got, want) {
		t.Fatalf("TopoSort = %v, want %v", got, want)
	}
}

func TestTopoSortNamesTheCycle(t *testing.T) {
	g := New[string]()
	g.Add("a", "b")
	g.Add("b", "c")
	g.Add("c", "a")
	g.Add("d")
	_, err := g.TopoSort()
	var ce *CycleError[string]
	if !errors.As(err, &ce) {
		t.Fatalf("want a CycleError, got %v", err)
	}
	if want := []string{"a", "b", "c", "a"}; !slices.Equal(ce.Cycle, want) {
		t.Fatalf("cycle = %v, want %v", ce.Cycle, want)
	}
}

func TestTopoSortRejectsUnknownDependency(t *testing.T) {
	g := New[int]()
	g.Add(1, 2)
	if _, err := g.TopoSort(); err == nil {
		t.Fatal("want an error for a dependency that is not a node")
	}
}

func TestAddMergesDependenciesWithoutDuplicates(t *testing.T) {
	g := New[string]()
	g.Add("x", "a")
	g.Add("x", "b", "a")
	g.Add("a")
	g.Add("b")
	if got := g.Deps("x"); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("Deps = %v", got)
	}
	if g.Len() != 3 || !g.Has("b") || g.Has("zz") {
		t.Fatalf("Len/Has wrong: %d", g.Len())
	}
}

// BenchmarkTopoSortWide sorts a plan-shaped graph: a few roots with 20,000
// dependants each waited on by one more node, the shape that made a linear
// ready-scan quadratic.
func BenchmarkTopoSortWide(b *testing.B) {
	g := New[int]()
	const n = 20000
	g.Add(-1)
	for i := 0; i < n; i++ {
		g.Add(i, -1)
		g.Add(n+i, i)
	}
	b.ResetTimer()
	for range b.N {
		if _, err := g.TopoSort(); err != nil {
			b.Fatal(err)
		}
	}
}
