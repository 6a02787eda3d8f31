package dag

// Heap is a priority queue of node indices, the one that orders ready
// nodes everywhere: Indexed.Order, and the executor's walker among the
// nodes it may start. The zero value is not usable: see NewHeap.
type Heap struct {
	ids  []int32
	less func(a, b int32) bool
}

// NewHeap returns an empty heap that pops first the node first by less;
// nil less pops the lowest index first.
func NewHeap(less func(a, b int32) bool) *Heap {
	if less == nil {
		less = func(a, b int32) bool { return a < b }
	}
	return &Heap{less: less}
}

// Len is the number of nodes in the heap.
func (h *Heap) Len() int { return len(h.ids) }

// Peek returns the node Pop would return; the heap must not be empty.
func (h *Heap) Peek() int32 { return h.ids[0] }

// Push adds node i.
func (h *Heap) Push(i int32) {
	h.ids = append(h.ids, i)
	for c := len(h.ids) - 1; c > 0; {
		p := (c - 1) / 2
		if !h.less(h.ids[c], h.ids[p]) {
			break
		}
		h.ids[p], h.ids[c] = h.ids[c], h.ids[p]
		c = p
	}
}

// Pop removes and returns the first node; the heap must not be empty.
func (h *Heap) Pop() int32 {
	top := h.ids[0]
	last := len(h.ids) - 1
	h.ids[0] = h.ids[last]
	h.ids = h.ids[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < last && h.less(h.ids[l], h.ids[m]) {
			m = l
		}
		if r < last && h.less(h.ids[r], h.ids[m]) {
			m = r
		}
		if m == i {
			break
		}
		h.ids[i], h.ids[m] = h.ids[m], h.ids[i]
		i = m
	}
	return top
}
