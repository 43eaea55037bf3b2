package upstream

import (
	"sync"
	"time"

	"github.com/gonginx/gonginx/upstream/poller"
)

// tunnelIdle is the idle limit (proxy_read_timeout, stream's
// proxy_timeout) of the process's parked tunnels: one heap ordered by
// deadline and one runtime timer armed for the earliest, as nginx keeps
// all its timers in one rbtree. A runtime timer per tunnel (kept in a
// pool, Reset and Stopped) cost each WebSocket connection ~900
// instructions, and each idle tunnel the timer's memory.
var tunnelIdle idleHeap

type idleHeap struct {
	mu    sync.Mutex
	heap  []*tunnel // by idleAt; t.idleIdx is its index + 1
	timer *time.Timer
	armed int64 // poller.Nanotime when timer fires; zero: stopped
}

// add puts t in the heap until at (poller.Nanotime's scale).
func (h *idleHeap) add(t *tunnel, at int64) {
	h.mu.Lock()
	t.idleAt = at
	h.heap = append(h.heap, t)
	t.idleIdx = int32(len(h.heap))
	h.up(len(h.heap) - 1)
	h.arm()
	h.mu.Unlock()
}

// remove takes t out of the heap; false when it was not there (the
// timer took it). The timer stays armed: when it fires early it is
// armed again.
func (h *idleHeap) remove(t *tunnel) bool {
	h.mu.Lock()
	if t.idleIdx == 0 {
		h.mu.Unlock()
		return false
	}
	h.take(int(t.idleIdx) - 1)
	if len(h.heap) == 0 && cap(h.heap) > 1024 {
		h.heap = nil // a burst's slice is not kept
	}
	h.mu.Unlock()
	return true
}

// take removes the heap's entry i. Under mu.
func (h *idleHeap) take(i int) {
	h.heap[i].idleIdx = 0
	last := len(h.heap) - 1
	if i != last {
		h.heap[i] = h.heap[last]
		h.heap[i].idleIdx = int32(i + 1)
	}
	h.heap[last] = nil
	h.heap = h.heap[:last]
	if i < last {
		h.down(i)
		h.up(i)
	}
}

// arm sets the timer for the earliest deadline if it would fire later
// (or not at all). Under mu.
func (h *idleHeap) arm() {
	if len(h.heap) == 0 {
		return
	}
	at := h.heap[0].idleAt
	if h.armed != 0 && h.armed <= at {
		return
	}
	h.armed = at
	d := time.Duration(at - poller.Nanotime())
	if h.timer == nil {
		h.timer = time.AfterFunc(d, h.fire)
	} else {
		h.timer.Reset(d)
	}
}

// fire takes the tunnels whose deadline passed out of the heap, arms
// the timer for the next, and checks each (checkIdle, with the heap's
// reference).
func (h *idleHeap) fire() {
	h.mu.Lock()
	h.armed = 0
	now := poller.Nanotime()
	var due []*tunnel // rare: once per deadline that passed
	for len(h.heap) > 0 && h.heap[0].idleAt <= now {
		due = append(due, h.heap[0])
		h.take(0)
	}
	h.arm()
	h.mu.Unlock()
	for _, t := range due {
		t.checkIdle()
	}
}

func (h *idleHeap) less(i, j int) bool { return h.heap[i].idleAt < h.heap[j].idleAt }

func (h *idleHeap) swap(i, j int) {
	h.heap[i], h.heap[j] = h.heap[j], h.heap[i]
	h.heap[i].idleIdx, h.heap[j].idleIdx = int32(i+1), int32(j+1)
}

func (h *idleHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(i, p) {
			return
		}
		h.swap(i, p)
		i = p
	}
}

func (h *idleHeap) down(i int) {
	n := len(h.heap)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && h.less(r, l) {
			m = r
		}
		if !h.less(m, i) {
			return
		}
		h.swap(i, m)
		i = m
	}
}
