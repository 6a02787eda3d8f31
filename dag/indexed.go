package dag

import "fmt"

// Indexed is a graph over the nodes 0..n-1 with, for each node, the nodes
// it waits for and the nodes waiting for it, each kept as one flat array
// (compressed rows): planner plans and executor walks index nodes this way
// so that one ordering serves both, with no map look-up per edge.
type Indexed struct {
	depAt, userAt []int32 // node i's edges: deps[depAt[i]:depAt[i+1]]
	deps, users   []int32
}

// NewIndexed builds a graph of len(depAt)-1 nodes: node i waits for
// deps[depAt[i]:depAt[i+1]]. It keeps both slices. It fails on a
// dependency outside the graph.
func NewIndexed(depAt, deps []int32) (*Indexed, error) {
	n := len(depAt) - 1
	x := &Indexed{depAt: depAt, deps: deps, userAt: make([]int32, n+1), users: make([]int32, len(deps))}
	for _, d := range deps {
		if d < 0 || int(d) >= n {
			return nil, fmt.Errorf("dependency on node %d of a graph of %d", d, n)
		}
		x.userAt[d+1]++
	}
	for i := range n {
		x.userAt[i+1] += x.userAt[i]
	}
	fill := make([]int32, n)
	copy(fill, x.userAt[:n])
	for i := range n {
		for _, d := range x.Deps(int32(i)) {
			x.users[fill[d]] = int32(i)
			fill[d]++
		}
	}
	return x, nil
}

// Len is the number of nodes.
func (x *Indexed) Len() int { return len(x.depAt) - 1 }

// Deps returns the nodes i waits for, in the order given; the slice is the
// graph's own.
func (x *Indexed) Deps(i int32) []int32 { return x.deps[x.depAt[i]:x.depAt[i+1]] }

// Users returns the nodes waiting for i, in increasing order; the slice is
// the graph's own.
func (x *Indexed) Users(i int32) []int32 { return x.users[x.userAt[i]:x.userAt[i+1]] }

// Order returns the nodes so that every node comes after the nodes it
// waits for and, among the nodes ready at each point, the one first by
// less goes first (nil: the lowest index), so the result is deterministic
// whatever the graph. ok is false on a cycle; the order then holds only
// the nodes outside it and what they wait for.
func (x *Indexed) Order(less func(a, b int32) bool) (order []int32, ok bool) {
	n := x.Len()
	waiting := make([]int32, n)
	ready := NewHeap(less)
	for i := range n {
		waiting[i] = x.depAt[i+1] - x.depAt[i]
		if waiting[i] == 0 {
			ready.Push(int32(i))
		}
	}
	order = make([]int32, 0, n)
	for ready.Len() > 0 {
		i := ready.Pop()
		order = append(order, i)
		for _, u := range x.Users(i) {
			if waiting[u]--; waiting[u] == 0 {
				ready.Push(u)
			}
		}
	}
	return order, len(order) == n
}

// Renumber returns the graph with node order[p] as node p, for an order
// of all the nodes (such as Order's): after it, a node's index is its
// position, and a dependency always has a lower index than its users.
func (x *Indexed) Renumber(order []int32) *Indexed {
	n := x.Len()
	pos := make([]int32, n)
	for p, i := range order {
		pos[i] = int32(p)
	}
	depAt := make([]int32, n+1)
	deps := make([]int32, 0, len(x.deps))
	for p, i := range order {
		for _, d := range x.Deps(i) {
			deps = append(deps, pos[d])
		}
		depAt[p+1] = int32(len(deps))
	}
	y, _ := NewIndexed(depAt, deps) // every index is in range
	return y
}
