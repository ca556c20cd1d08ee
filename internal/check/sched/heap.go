package sched

// slotHeap is a binary min-heap of entries by next slot (ties by id, so the
// order is deterministic). Each entry knows its index for O(log n) removal
// and re-slotting; index is -1 when the entry is not in the heap.
type slotHeap []*entry

func (h slotHeap) less(i, j int) bool {
	a, b := h[i], h[j]
	if a.next != b.next {
		return a.next < b.next
	}
	return a.id < b.id
}

func (h slotHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}

func (h *slotHeap) push(e *entry) {
	e.index = len(*h)
	*h = append(*h, e)
	h.up(e.index)
}

func (h *slotHeap) remove(i int) {
	old := *h
	last := len(old) - 1
	e := old[i]
	if i != last {
		old.swap(i, last)
	}
	old[last] = nil
	*h = old[:last]
	e.index = -1
	if i != last {
		h.fix(i)
	}
}

// fix restores the order after h[i].next changed.
func (h slotHeap) fix(i int) {
	if !h.down(i) {
		h.up(i)
	}
}

func (h slotHeap) init() {
	for i := len(h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

func (h slotHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(i, p) {
			return
		}
		h.swap(i, p)
		i = p
	}
}

// down sifts h[i] down and reports whether it moved.
func (h slotHeap) down(i int) bool {
	start := i
	n := len(h)
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && h.less(r, l) {
			m = r
		}
		if !h.less(m, i) {
			break
		}
		h.swap(i, m)
		i = m
	}
	return i > start
}

// jobQueue is a FIFO ring of due runs waiting for a worker.
type jobQueue struct {
	buf  []job
	head int
	n    int
}

func (q *jobQueue) len() int { return q.n }

func (q *jobQueue) push(j job) {
	if q.n == len(q.buf) {
		buf := make([]job, max(16, 2*len(q.buf)))
		for i := range q.n {
			buf[i] = q.buf[(q.head+i)%len(q.buf)]
		}
		q.buf, q.head = buf, 0
	}
	q.buf[(q.head+q.n)%len(q.buf)] = j
	q.n++
}

func (q *jobQueue) pop() job {
	j := q.buf[q.head]
	q.buf[q.head] = job{}
	q.head = (q.head + 1) % len(q.buf)
	q.n--
	return j
}
