package server

import (
	"sync"
	"time"

	"github.com/gonginx/gonginx/upstream/poller"
)

// idleTimers is keepalive_timeout for the parked connections of a
// server: one heap ordered by deadline and one time.Timer armed for the
// earliest, as nginx keeps all its timers in one rbtree. A time.Timer
// per parked connection (and its callback) cost 136 bytes each.
type idleTimers struct {
	mu    sync.Mutex
	heap  []*serverConn // by h1.idleUntil; sc.timerAt is its index + 1
	timer *time.Timer
	armed monoTime // when timer fires; zero: stopped
	srv   *Server
}

// monoTime is a time on the monotonic clock, on poller.Nanotime's
// scale (0: none): a connection keeps its times in 8 bytes each, where
// a time.Time takes 24, and reading it is one clock read, where
// time.Now makes two.
type monoTime int64

func monoOf(t time.Time) monoTime { return monoTime(poller.MonoOf(t)) }

func monoNow() monoTime { return monoTime(poller.Nanotime()) }

// Time is m as a time.Time, for deadlines and durations (poller.TimeOf).
func (m monoTime) Time() time.Time {
	if m == 0 {
		return time.Time{}
	}
	return poller.TimeOf(int64(m))
}

// add puts a connection about to park in the heap, until its idleUntil.
func (t *idleTimers) add(sc *serverConn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if sc.timerAt != 0 {
		return
	}
	t.heap = append(t.heap, sc)
	sc.timerAt = int32(len(t.heap))
	t.up(len(t.heap) - 1)
	t.arm()
}

// remove takes a connection out of the heap (it woke, or it ends). The
// timer stays armed: when it fires early it is armed again.
func (t *idleTimers) remove(sc *serverConn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if sc.timerAt == 0 {
		return
	}
	i := int(sc.timerAt) - 1
	sc.timerAt = 0
	last := len(t.heap) - 1
	if i != last {
		t.heap[i] = t.heap[last]
		t.heap[i].timerAt = int32(i + 1)
	}
	t.heap[last] = nil
	t.heap = t.heap[:last]
	if i < last {
		t.down(i)
		t.up(i)
	}
	if len(t.heap) == 0 && cap(t.heap) > 1024 {
		t.heap = nil // a burst's slice is not kept
	}
}

// arm sets the timer for the earliest deadline if it would fire later
// (or not at all). Under mu.
func (t *idleTimers) arm() {
	if len(t.heap) == 0 {
		return
	}
	at := t.heap[0].h1.idleUntil
	if t.armed != 0 && t.armed <= at {
		return
	}
	t.armed = at
	if t.timer == nil {
		t.timer = time.AfterFunc(time.Duration(at-monoNow()), t.fire)
	} else {
		t.timer.Reset(time.Duration(at - monoNow()))
	}
}

// fire ends the connections whose keepalive_timeout passed
// (ngx_http_keepalive_handler: closed, nothing sent), and arms the timer
// for the next.
func (t *idleTimers) fire() {
	t.mu.Lock()
	t.armed = 0
	now := monoNow()
	var due []*serverConn // rare: once per deadline that passed
	for len(t.heap) > 0 && now >= t.heap[0].h1.idleUntil {
		sc := t.heap[0]
		last := len(t.heap) - 1
		t.heap[0] = t.heap[last]
		t.heap[0].timerAt = 1
		t.heap[last] = nil
		t.heap = t.heap[:last]
		sc.timerAt = 0
		t.down(0)
		// Unparked here, under mu: a connection woken by input
		// meanwhile is its waker's (and remove is a no-op for it).
		if sc.h1.waker.Unpark() {
			due = append(due, sc)
		}
	}
	t.arm()
	t.mu.Unlock()
	for _, sc := range due {
		t.srv.endIdle(sc)
	}
}

func (t *idleTimers) less(i, j int) bool {
	return t.heap[i].h1.idleUntil < t.heap[j].h1.idleUntil
}

func (t *idleTimers) swap(i, j int) {
	t.heap[i], t.heap[j] = t.heap[j], t.heap[i]
	t.heap[i].timerAt, t.heap[j].timerAt = int32(i+1), int32(j+1)
}

func (t *idleTimers) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !t.less(i, p) {
			return
		}
		t.swap(i, p)
		i = p
	}
}

func (t *idleTimers) down(i int) {
	n := len(t.heap)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && t.less(r, l) {
			m = r
		}
		if !t.less(m, i) {
			return
		}
		t.swap(i, m)
		i = m
	}
}
