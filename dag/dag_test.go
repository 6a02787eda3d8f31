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

func TestIndexedOrderPrefersLowestReadyIndex(t *testing.T) {
	// 0 <- 2, 1 <- 3, 2 <- 4: ready {0,1} -> 0, then {1,2} -> 1, ...
	x, err := NewIndexed([]int32{0, 0, 0, 1, 2, 3}, []int32{0, 1, 2})
	if err != nil {
		t.Fatal(err)
	}
	order, ok := x.Order(nil)
	if !ok || !slices.Equal(order, []int32{0, 1, 2, 3, 4}) {
		t.Fatalf("Order(nil) = %v, %v", order, ok)
	}
	// Highest index first among ready nodes.
	order, _ = x.Order(func(a, b int32) bool { return a > b })
	if !slices.Equal(order, []int32{1, 3, 0, 2, 4}) {
		t.Fatalf("Order(>) = %v", order)
	}
	if got := x.Users(0); !slices.Equal(got, []int32{2}) {
		t.Fatalf("Users(0) = %v", got)
	}
}

func TestIndexedCycleAndRange(t *testing.T) {
	x, err := NewIndexed([]int32{0, 1, 2, 2}, []int32{1, 0}) // 0 <-> 1, 2 free
	if err != nil {
		t.Fatal(err)
	}
	if order, ok := x.Order(nil); ok || !slices.Equal(order, []int32{2}) {
		t.Fatalf("Order on a cycle = %v, %v", order, ok)
	}
	if _, err := NewIndexed([]int32{0, 1}, []int32{5}); err == nil {
		t.Fatal("a dependency outside the graph was accepted")
	}
}

func TestRenumberPutsDependenciesFirst(t *testing.T) {
	// 0 waits for 2, 1 waits for 0.
	x, _ := NewIndexed([]int32{0, 1, 2, 2}, []int32{2, 0})
	order, _ := x.Order(nil)
	y := x.Renumber(order)
	for i := range int32(y.Len()) {
		for _, d := range y.Deps(i) {
			if d >= i {
				t.Fatalf("node %d waits for %d after renumbering %v", i, d, order)
			}
		}
	}
}

func TestHeapPopsInOrder(t *testing.T) {
	h := NewHeap(nil)
	for _, i := range []int32{5, 3, 9, 1, 4, 1} {
		h.Push(i)
	}
	var got []int32
	for h.Len() > 0 {
		got = append(got, h.Pop())
	}
	if !slices.Equal(got, []int32{1, 1, 3, 4, 5, 9}) {
		t.Fatalf("popped %v", got)
	}
}

// TestTopoSortAgreesWithIndexedOrder: the generic graph's order is the
// indexed one by insertion position, so the planner (reading positions)
// and the walker (insertion positions) sort alike.
func TestTopoSortAgreesWithIndexedOrder(t *testing.T) {
	g := New[string]()
	g.Add("c", "a")
	g.Add("b")
	g.Add("a")
	g.Add("d", "b", "c")
	got, err := g.TopoSort()
	if err != nil || !slices.Equal(got, []string{"b", "a", "c", "d"}) {
		t.Fatalf("TopoSort = %v, %v", got, err)
	}
}
