package upstream

import (
	"net"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/gonginx/gonginx/rewrite/http1/wake"
	"github.com/gonginx/gonginx/upstream/poller"
)

// A Waker lets a connection wait for input with no goroutine, as nginx's
// idle connections wait in its event loop: the connection's socket is on
// the process's poller (its registration for the client-abort watch,
// abort_linux.go), its owner calls Park when it has nothing to read and
// ends its goroutine, and the poller tells the owner's handler
// (WatchInput's), which asks Woken and resumes the connection on a
// goroutine (GoResume) when bytes or a hang-up arrive. The socket's
// registration is edge-triggered and stays for the connection's life,
// so a request costs no system call: input that arrives while the
// owner runs (before it parks) is remembered, and Park then fails so
// that the owner reads it. The handler is the connection's own record,
// which knows what resumes it: a Resumer kept here cost every idle
// connection 16 bytes (its record a size class larger).
type Waker struct {
	state atomic.Int32
}

// Resumer runs a connection on the goroutine Waker or Go gives it: an
// interface, so that the connection's own record resumes it, where a
// func value bound to it would be one more allocation each idle
// connection holds.
type Resumer interface{ Resume() }

// Func is a func as a Resumer (a func value is stored in an interface
// without an allocation).
type Func func()

func (f Func) Resume() { f() }

const (
	wakerRunning int32 = iota // a goroutine owns the connection
	wakerReady                // running, and input arrived since
	wakerParked               // no goroutine: the poller wakes it
)

// Park hands the connection to the poller. It reports false when input
// arrived since the last Park or Unpark (the owner reads again instead);
// after true the owner's goroutine must not touch the connection, which
// belongs to whoever wakes it: wake, or a successful Unpark.
func (w *Waker) Park() bool {
	if w.state.CompareAndSwap(wakerRunning, wakerParked) {
		return true
	}
	w.state.Store(wakerRunning) // was ready: input is there
	return false
}

// Unpark takes a parked connection back for its owner (a timer that
// fired, a shutdown); false: the poller woke it first, or it runs.
func (w *Waker) Unpark() bool {
	return w.state.CompareAndSwap(wakerParked, wakerRunning)
}

// Parked reports whether the connection waits on the poller.
func (w *Waker) Parked() bool { return w.state.Load() == wakerParked }

// Woken is the owner's handler's, told of input: true when the
// connection was parked, and now belongs to the caller, which resumes
// it (GoResume); false when its owner runs (its next Park fails).
func (w *Waker) Woken() bool {
	for {
		switch w.state.Load() {
		case wakerParked:
			if w.state.CompareAndSwap(wakerParked, wakerRunning) {
				return true
			}
		case wakerRunning:
			if w.state.CompareAndSwap(wakerRunning, wakerReady) {
				return false
			}
		default:
			return false
		}
	}
}

// WatchInput registers a connection's socket (raw, below TLS; owner is
// the net.Conn it belongs to, as for the abort watch) with the poller
// for h, the connection's handler of its Waker: from now on input on it
// reaches h.Ready (on the poller's goroutine, which h must not hold
// up). Call it once, before the first Park; the registration ends with
// ForgetClient. It reports false where there is no poller (the owner
// then waits with a goroutine).
func WatchInput(raw syscall.RawConn, owner net.Conn, h poller.Handler) bool {
	if raw == nil || h == nil {
		return false
	}
	if c := poller.ConnOf(raw); c != nil {
		// The server's own socket is on the poller for its life: its
		// input reaches h with no registration (no epoll_ctl, no watch
		// record) of its own.
		c.OnInput(h)
		return true
	}
	return brokenConns.watchInput(raw, owner, h)
}

// StopInput ends WatchInput's reports to h, which runs
// again and sends its requests without pausing: each arrival would wake
// the poller's loop (and take its lock) besides the runtime's poller,
// per request. The registration stays for the abort watch; the next
// WatchInput adds input again (an epoll_ctl each way, once per stretch
// of busy requests).
func StopInput(raw syscall.RawConn, owner net.Conn, h poller.Handler) {
	if c := poller.ConnOf(raw); c != nil {
		c.OnInput(nil)
		return
	}
	if raw != nil {
		brokenConns.stopInput(raw, owner, h)
	}
}

// Woken connections run on a few lingering goroutines when one is free,
// else on a new one: a goroutine that ends after each request frees its
// grown stack and the next one grows its own again, which costs more
// than the request's wake-up itself. A lingering goroutine waits on a
// wake.Wake of its own in the idle list, and resume hands it the work
// and wakes it: a channel's send and receive took the channel's lock
// twice and a sudog per hand-over (a WebSocket connect's resume, a
// parked connection's next request).
var (
	lingerMu     sync.Mutex
	lingerers    []*lingerer // idle, the last parked first
	idleResumers atomic.Int32
)

// lingerer is one lingering goroutine: its wake, and the work handed to
// it (set before the wake is given).
type lingerer struct {
	wake wake.Wake
	next Resumer
}

// maxIdleResumers bounds the goroutines that wait for wake-ups: a fixed
// cost for the process, not one per connection. It is above the work a
// worker has in flight at once in a burst of short connections (each
// holds one for its request, then one for its tunnel's end): with 8,
// 16 WebSocket connects at a time on one worker started a goroutine per
// connection, whose stack grew again (BenchmarkWebSocketConnectParallel).
// An idle one's stack shrinks at the collections.
const maxIdleResumers = 64

// Go runs f on a lingering goroutine, as resume does: a new connection's
// goroutine too (its stack grown by an earlier connection is not grown
// and copied again).
func Go(f func()) { resume(Func(f)) }

// GoResume runs r.Resume as Go runs a func.
func GoResume(r Resumer) { resume(r) }

// Lingering is the number of goroutines waiting for work in resume's
// pool (a fixed cost of the process, at most maxIdleResumers).
func Lingering() int { return int(idleResumers.Load()) }

func resume(f Resumer) {
	lingerMu.Lock()
	n := len(lingerers)
	if n == 0 {
		lingerMu.Unlock()
		go resumer(f)
		return
	}
	l := lingerers[n-1]
	lingerers[n-1] = nil
	lingerers = lingerers[:n-1]
	idleResumers.Add(-1)
	lingerMu.Unlock()
	l.next = f
	l.wake.Give()
}

func resumer(f Resumer) {
	var l *lingerer // made once the goroutine first lingers
	for {
		f.Resume()
		if l == nil {
			l = &lingerer{}
			l.wake.Init()
		}
		lingerMu.Lock()
		if len(lingerers) >= maxIdleResumers {
			lingerMu.Unlock()
			return
		}
		lingerers = append(lingerers, l)
		idleResumers.Add(1)
		lingerMu.Unlock()
		for f = nil; f == nil; f, l.next = l.next, nil {
			l.wake.Take() // resume's, after it set next: never early
		}
	}
}
