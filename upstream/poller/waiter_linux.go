package poller

import (
	"math/bits"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gonginx/gonginx/rewrite/http1/wake"
)

// waiter is a waiting Read's or Write's wake (rewrite/http1/wake: the
// goroutine parked and readied as the runtime's poller does it) and
// timer. The timer is a function's, which gives the same wake as the
// poller's report: the wait is one park, not a select over the report
// and a timer channel (whose runtime handling, on every wait with a
// deadline, cost more than the rest of the wait). The timer is re-armed lazily,
// as nginx's (NGX_TIMER_LAZY_DELAY): a wait keeps the one its waiter's
// last wait armed when it fires before the new deadline by no more than
// an eighth of the wait (a keep-alive connection's next wait, or another
// connection's, has a deadline close to the last one's), and is never
// stopped. A wake that comes early or late is a spurious one, which
// every wait looks past.
//
// A deadline moved while a wait runs wakes it only when the new one is
// before the timer the wait armed (published in fires): one moved later
// or cleared is seen when the timer fires early, so a connection whose
// idle deadline another goroutine pushes on at each request's end (an
// HTTP/2 connection's streams) costs its waiting reader no wake.
type waiter struct {
	wake  wake.Wake
	timer *time.Timer
	armed int64 // when the timer fires (nanotime); 0: never armed
	// fires is armed while the wait relies on the timer (setDeadline
	// reads it); 0: the wait has no timer and any deadline wakes it.
	fires atomic.Int64
}

// waiters are the idle waiters, and spareWaiters one for each class of
// its last wait's deadline (waiterClass), taken first: a waiter keeps
// its timer armed, and a wait whose deadline is within an eighth of it
// keeps that (waitOn). With the pool alone every wait re-armed its timer
// where waits of two timeouts take turns, as a keep-alive connection's
// wait for its next request (idle grace, 100 ms) and its backend's
// answer (60 s) do: 1.38 resets per php-close request (a clock read and
// the runtime's timer heap in each, ~380 instructions). A pool per class
// instead missed its per-P slot whenever two waits of a class overlap.
var (
	waiters      sync.Pool
	spareWaiters [waiterClasses]atomic.Pointer[waiter]
)

// Waiter classes: 0 for a wait with no deadline (or one past), 1 for
// one under 2^minClassBits ns (~1 ms), then eight per doubling of the
// time left: two deadlines of a class are within an eighth of each other.
const (
	minClassBits  = 20
	classSteps    = 8
	waiterClasses = 2 + (63-minClassBits)*classSteps
)

// waiterClass is the class of a wait whose deadline is left ns away.
func waiterClass(left int64) int {
	if left <= 0 {
		return 0
	}
	k := bits.Len64(uint64(left)) // 2^(k-1) <= left < 2^k
	if k <= minClassBits {
		return 1
	}
	// The three bits below the top one: the eighth of the doubling.
	return 2 + (k-1-minClassBits)*classSteps + int(left>>(k-4))&(classSteps-1)
}

func newWaiter() *waiter {
	w := &waiter{}
	w.wake.Init()
	w.timer = time.AfterFunc(time.Hour, w.wake.Give)
	w.timer.Stop()
	return w
}

// wait waits for the poller's report, the deadline or the close. now,
// when not 0, is a clock read since the operation's last try (its
// prepare's): the first look at the deadline takes it (a keep-alive
// connection's read reads the clock once per request, not twice).
func (c *Conn) wait(s *side, now int64) error {
	spare := &spareWaiters[0]
	if d := s.deadline.Load(); d != 0 {
		if now == 0 {
			now = nanotime() // waitOn's first look takes it
		}
		spare = &spareWaiters[waiterClass(d-now)]
	}
	w := spare.Swap(nil)
	if w == nil {
		if w, _ = waiters.Get().(*waiter); w == nil {
			w = newWaiter()
		}
	}
	w.fires.Store(0) // another wait's timer: until this one's, any deadline wakes it
	s.waiter.Store(w)
	if s == &c.w && !c.hasFlag(flagOutOn) {
		c.watchOut() // after the waiter is published: its report finds it
	}
	err := c.waitOn(s, w, now)
	s.waiter.Store(nil)
	w.wake.Drop() // a wake that came late
	if !spare.CompareAndSwap(nil, w) {
		waiters.Put(w)
	}
	return err
}

func (c *Conn) waitOn(s *side, w *waiter, now int64) error {
	ready := c.readyBit(s)
	for {
		if c.closing() {
			return net.ErrClosed
		}
		// Reported since the try (the waiter is published first: a
		// report after this finds it).
		if c.flags.And(^ready)&ready != 0 {
			return nil
		}
		d := s.deadline.Load()
		if d == 0 {
			w.fires.Store(0)
			// A deadline set since the load above saw fires at its
			// old value, perhaps no wake: look again.
			if s.deadline.Load() == 0 {
				w.wake.Take()
			}
			now = 0
			continue
		}
		if now == 0 {
			now = nanotime()
		}
		left := d - now
		if left <= 0 {
			return os.ErrDeadlineExceeded
		}
		if a := w.armed; a <= now || a > d || d-a > left/8 {
			w.timer.Reset(time.Duration(left))
			w.armed = d
		}
		// Published, then the deadline read again: a setDeadline either
		// stored before this load (seen here) or reads fires after the
		// store (and wakes for a deadline before it).
		w.fires.Store(w.armed)
		if s.deadline.Load() == d {
			w.wake.Take() // the report, the timer, or a deadline moved sooner: look again
		}
		now = 0
	}
}
