package server

import (
	"cmp"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// acceptOrder keeps what nginx's one event loop gives for free: a
// request that arrived on one connection before another connection was
// accepted is counted (limit_conn) before that connection's request. A
// test sends a request on one connection and the next on another a
// moment later; goroutines would run them in any order.
//
// A connection is pending from accept until its first request passes the
// preaccess phase, or it ends. A first request at limit_conn waits
// (boundedly) for the pending connections accepted before it that are
// under way: their goroutine has not looked yet, their request's bytes
// have arrived, or are being read. One that shows no byte yet is idle: a
// request it sends later comes after ours.
//
// Only configurations with limit_conn zones order (Router.OrdersFirst):
// for the others it costs nothing. It costs a lock per connection, never
// per request.
type acceptOrder struct {
	mu      sync.Mutex
	seq     uint64
	pending []*orderedConn // by seq, ascending
	changed chan struct{}  // closed (and replaced) when pending shrinks
	// maxWait, when set, bounds WaitEarlier instead of maxOrderWait: a
	// test that checks the order itself must not race the bound.
	maxWait time.Duration
}

// maxOrderWait bounds the wait for earlier connections: one that stalls
// (a slow client's head) delays the next by at most this.
const maxOrderWait = 50 * time.Millisecond

// maxOrderLook is how many of the latest earlier connections a first
// request looks at: the order matters between requests that come
// together, and idle connections must not make each new one slow.
const maxOrderLook = 16

// orderedConn is a connection's place, as location.Ordered.
type orderedConn struct {
	o       *acceptOrder
	seq     uint64
	done    bool // passed (touched by its own goroutine only)
	raw     atomic.Pointer[syscall.RawConn]
	started atomic.Bool // bytes of its request arrived
}

// add gives a just accepted connection its place.
func (o *acceptOrder) add(c *orderedConn) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.seq++
	c.o, c.seq = o, o.seq
	o.pending = append(o.pending, c)
}

// index is where seq is, or would be, in pending (o.mu held).
func (o *acceptOrder) index(seq uint64) int {
	i, _ := slices.BinarySearchFunc(o.pending, seq, func(c *orderedConn, seq uint64) int {
		return cmp.Compare(c.seq, seq)
	})
	return i
}

// pass removes c.
func (o *acceptOrder) pass(c *orderedConn) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if i := o.index(c.seq); i < len(o.pending) && o.pending[i] == c {
		o.pending = slices.Delete(o.pending, i, i+1)
		if o.changed != nil {
			close(o.changed)
			o.changed = nil
		}
	}
}

// busyBefore reports whether a connection accepted before seq is under
// way (o.mu held).
func (o *acceptOrder) busyBefore(seq uint64) bool {
	i := o.index(seq)
	for j := i - 1; j >= 0 && j >= i-maxOrderLook; j-- {
		if o.pending[j].underWay() {
			return true
		}
	}
	return false
}

// underWay: its goroutine has not looked at it yet, or its request is
// read or has bytes waiting.
func (c *orderedConn) underWay() bool {
	raw := c.raw.Load()
	if raw == nil || c.started.Load() {
		return true
	}
	waiting := false
	(*raw).Control(func(fd uintptr) {
		var b [1]byte
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		waiting = err == nil && n > 0
	})
	return waiting
}

func (c *orderedConn) WaitEarlier() {
	o := c.o
	var timer *time.Timer
	for {
		o.mu.Lock()
		if !o.busyBefore(c.seq) {
			o.mu.Unlock()
			return
		}
		if o.changed == nil {
			o.changed = make(chan struct{})
		}
		ch := o.changed
		o.mu.Unlock()
		if timer == nil {
			bound := maxOrderWait
			if o.maxWait > 0 {
				bound = o.maxWait
			}
			timer = time.NewTimer(bound)
			defer timer.Stop()
		}
		select {
		case <-ch:
		case <-timer.C:
			return
		}
	}
}

func (c *orderedConn) Pass() {
	if !c.done {
		c.done = true
		c.o.pass(c)
	}
}
