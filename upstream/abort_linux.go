//go:build linux

package upstream

import (
	"net"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/gonginx/gonginx/upstream/poller"
)

// brokenConns is the process's watcher of client sockets.
var brokenConns watcher

// The watcher's registrations are on the process's poller, with the
// parked tunnels': one epoll entry per socket, which a tunnel takes over
// from the request that switched protocols (nginx's connection is one
// entry in its epoll set for its whole life).
type watcher struct {
	once sync.Once
	p    *poller.Poller
	mu   sync.Mutex
	byFd map[int]*clientWatch // registered connections by descriptor
	// own lists the watches of the server's own sockets (w.conn set),
	// which their Conn finds (its hang-up handler): a map's insert and
	// delete, with the descriptor's hashing, cost each proxied
	// connection ~380 instructions.
	own   *clientWatch
	nown  int
	ready atomic.Bool // p is set
	// spare are records of parked or ended connections' watches
	// (forgetIdle, forget), for the next first watch on a server's
	// socket: a connection's set-up leaves no record behind as garbage
	// (a burst of new connections grows the heap by each before a
	// collection runs).
	spare  [16]*clientWatch
	nspare int
}

func (p *watcher) start() {
	pl, err := poller.Default()
	if err != nil {
		return
	}
	p.p = pl
	p.byFd = map[int]*clientWatch{}
	p.ready.Store(true)
}

// watchEvents: nginx 1.22 on Linux watches with EPOLLRDHUP and, when it
// is reported (pending_eof), takes the client as gone even with unread
// bytes before the EOF; unread bytes alone (a pipelined request) do not
// wake it. Errors and hang-ups are always reported. Edge-triggered: a
// hang-up is reported once, and kept in the watch.
const watchEvents = poller.RDHup | poller.Edge

// inputEvents adds the socket's input: for a connection that parks
// (WatchInput), edge-triggered, so an idle connection's events are one
// per arrival and a request costs no epoll_ctl; and for a request that
// may switch protocols, whose tunnel reads on these events (the events a
// parked tunnel direction registers).
const inputEvents = watchEvents | poller.In

// watchInput registers owner's socket for h's input, adding EPOLLIN to
// an abort registration the connection has already.
func (p *watcher) watchInput(raw syscall.RawConn, owner net.Conn, h poller.Handler) bool {
	p.once.Do(p.start)
	if p.p == nil {
		return false
	}
	fd := socketFd(raw)
	if fd < 0 {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	cw := p.byFd[fd]
	if cw != nil && cw.owner == owner {
		if cw.input == h {
			return true
		}
		cw.input = h
		if cw.events != inputEvents {
			if cw.reg.Modify(raw, inputEvents) != nil {
				cw.input = nil
				return false
			}
			cw.events = inputEvents
		}
		return true
	}
	if cw != nil {
		p.release(cw) // a connection that ended without ForgetClient
	}
	cw = &clientWatch{fd: fd, owner: owner, input: h}
	return p.register(raw, cw, inputEvents)
}

// stopInput takes h off owner's registration and input off its events
// (watchEvents again).
func (p *watcher) stopInput(raw syscall.RawConn, owner net.Conn, h poller.Handler) {
	if !p.ready.Load() {
		return
	}
	fd := socketFd(raw)
	if fd < 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	cw := p.byFd[fd]
	if cw == nil || cw.owner != owner || cw.input != h {
		return
	}
	cw.input = nil
	if cw.events == inputEvents && cw.reg.Modify(raw, watchEvents) == nil {
		cw.events = watchEvents
	}
}

// watch starts a request's watch on its client connection, registering
// the connection on its first request (for its input too when the
// request may switch protocols: upgrade).
func (p *watcher) watch(raw syscall.RawConn, owner, backend net.Conn, upgrade bool) *clientWatch {
	p.once.Do(p.start)
	if p.p == nil {
		return nil
	}
	c := poller.ConnOf(raw)
	if c != nil {
		// The server's own socket holds its watch as its hang-up
		// handler: a later request finds it with no descriptor read
		// and no map lookup.
		if c.HangupHooked() {
			p.mu.Lock()
			if w, _ := c.HangupHandlerSerialized().(*clientWatch); w != nil && w.listed && sameOwner(w.owner, owner) {
				defer p.mu.Unlock()
				if w.backend != nil {
					return nil // a request of this connection is watched already
				}
				return p.arm(w, raw, backend, false)
			}
			p.mu.Unlock()
		}
	}
	fd := socketFd(raw)
	if fd < 0 {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	w := p.listed(fd, c)
	fresh := false
	switch {
	case w != nil && w.owner == owner:
		if w.backend != nil {
			return nil // a request of this connection is watched already
		}
	default:
		// First request of this connection (the descriptor may have
		// served a connection that ended without ForgetClient).
		if w != nil {
			p.release(w)
		}
		if c != nil {
			w = p.takeSpare(fd, owner)
			// The server's own socket is on the poller for its life:
			// its hang-ups reach w with no registration of its own
			// (no epoll_ctl), one reported already is kept.
			w.conn = c
			c.OnHangup(w)
			p.list(w)
			w.eof = c.HungUp()
		} else {
			events := watchEvents
			if upgrade {
				events = inputEvents
			}
			w = &clientWatch{fd: fd, owner: owner}
			if !p.register(raw, w, events) {
				return nil
			}
		}
		fresh = true
	}
	return p.arm(w, raw, backend, fresh)
}

// arm starts a request's watch on w, its connection's. Called under p.mu.
func (p *watcher) arm(w *clientWatch, raw syscall.RawConn, backend net.Conn, fresh bool) *clientWatch {
	w.backend = backend
	w.raw = raw
	w.clearAborted()
	w.terminated = false
	w.fresh = fresh
	if w.eof {
		p.abort(w) // the client hung up before this request
	}
	return w
}

// list puts w in byFd (its descriptor's entry is free), or in own.
// Called under p.mu.
func (p *watcher) list(w *clientWatch) {
	w.listed = true
	if w.conn == nil {
		p.byFd[w.fd] = w
		return
	}
	w.ownPrev, w.ownNext = nil, p.own
	if p.own != nil {
		p.own.ownPrev = w
	}
	p.own = w
	p.nown++
}

// unlist takes w out of byFd or own. Called under p.mu.
func (p *watcher) unlist(w *clientWatch) {
	w.listed = false
	if w.conn == nil {
		delete(p.byFd, w.fd)
		return
	}
	if w.ownPrev != nil {
		w.ownPrev.ownNext = w.ownNext
	} else {
		p.own = w.ownNext
	}
	if w.ownNext != nil {
		w.ownNext.ownPrev = w.ownPrev
	}
	w.ownPrev, w.ownNext = nil, nil
	p.nown--
}

// sameOwner is a == b, a server's own socket asked by its type (a
// compare each): a comparison of two interfaces calls runtime.ifaceeq,
// which reads the type's descriptor (~20 instructions and half an L1d
// miss per proxied request).
func sameOwner(a, b net.Conn) bool {
	if pa, ok := a.(*poller.Conn); ok {
		pb, ok := b.(*poller.Conn)
		return ok && pa == pb
	}
	return a == b
}

// listed is the listed watch of descriptor fd, whose Conn is c when
// it is the server's own socket (its hang-up handler then). Called
// under p.mu.
func (p *watcher) listed(fd int, c *poller.Conn) *clientWatch {
	if c == nil {
		return p.byFd[fd]
	}
	if w, _ := c.HangupHandlerSerialized().(*clientWatch); w != nil && w.listed && w.conn == c {
		return w
	}
	return nil
}

// rewatch arms w again for the request unwatch ended, if its connection
// is still registered and no other request is watched.
func (p *watcher) rewatch(w *clientWatch, backend net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !w.listed || w.backend != nil {
		return // forgotten, or taken over
	}
	w.backend = backend
	w.clearAborted()
	w.fresh = false
	if w.eof {
		p.abort(w) // the hang-up came between the head and the body
	}
}

// fdGetter reads a RawConn's descriptor through a callback bound once:
// a closure made per call would allocate per request.
type fdGetter struct {
	fd int
	fn func(uintptr)
}

var fdGetters = sync.Pool{New: func() any {
	g := &fdGetter{}
	g.fn = func(d uintptr) { g.fd = int(d) }
	return g
}}

// socketFd is raw's descriptor, or -1.
func socketFd(raw syscall.RawConn) int {
	if c := poller.ConnOf(raw); c != nil {
		return c.FD()
	}
	g := fdGetters.Get().(*fdGetter)
	g.fd = -1
	if raw.Control(g.fn) != nil {
		g.fd = -1
	}
	fd := g.fd
	fdGetters.Put(g)
	return fd
}

// register adds w's socket to the poller for events. Called under p.mu.
func (p *watcher) register(raw syscall.RawConn, w *clientWatch, events uint32) bool {
	reg, err := p.p.Add(raw, events, w)
	if err != nil {
		return false
	}
	w.reg, w.events = reg, events
	p.list(w)
	return true
}

// release drops w's entry and slot (its epoll registration is removed by
// the caller, or went with its descriptor's close). Called under p.mu.
func (p *watcher) release(w *clientWatch) {
	if w.conn != nil {
		w.conn.OnHangup(nil)
	}
	w.reg.Forget()
	if w.listed {
		p.unlist(w)
	}
}

// unwatch ends the request's watch; once it returns, the backend is not
// touched.
func (p *watcher) unwatch(w *clientWatch) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	aborted := w.aborted.Load()
	if aborted {
		abortsEnding.Add(-1)
		w.aborted.Store(false)
	}
	w.backend = nil
	return aborted
}

// clearAborted clears w.aborted, storing only when it is set: a store
// is an atomic exchange (a locked instruction), and a request's watch
// finds it clear. Called under p.mu, which every store of it holds.
func (w *clientWatch) clearAborted() {
	if w.aborted.Load() {
		w.aborted.Store(false)
	}
}

// forget unregisters a client connection.
func (p *watcher) forget(raw syscall.RawConn, owner net.Conn) {
	if !p.ready.Load() {
		return
	}
	// The server's own socket's watch is found through its Conn, closed
	// or not: a 499, 444 or 408 closes the socket before the exchange
	// is released, and its descriptor (-1 once closing) found nothing,
	// so the record and the socket stayed on the own list for good.
	c := poller.ConnOf(raw)
	fd := -1
	if c == nil {
		if fd = socketFd(raw); fd < 0 {
			return
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if w := p.listed(fd, c); w != nil && w.owner == owner {
		if w.conn == nil {
			w.reg.Remove(raw)
		}
		p.release(w)
		if w.conn != nil && w.backend == nil {
			// A server's socket whose requests ended (its end, or a
			// tunnel taking it): its record is the next first
			// watch's, as a parked connection's (forgetIdle).
			p.putSpare(w)
		}
	}
}

// forgetIdle drops the watch of a connection with no request watched
// whose hang-ups reach it through its Conn (ParkClient). A report the
// loop took before is dropped by Ready (the watch is not byFd's).
func (p *watcher) forgetIdle(raw syscall.RawConn, owner net.Conn) {
	if !p.ready.Load() {
		return
	}
	fd := socketFd(raw)
	if fd < 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if w := p.listed(fd, poller.ConnOf(raw)); w != nil && w.owner == owner && w.conn != nil && w.backend == nil {
		p.release(w)
		// No request of the connection holds w: its requests ended
		// before it parks.
		p.putSpare(w)
	}
}

// putSpare keeps a released record of a server's socket for takeSpare,
// if there is room. Called under p.mu.
func (p *watcher) putSpare(w *clientWatch) {
	if p.nspare < len(p.spare) {
		p.spare[p.nspare] = w
		p.nspare++
	}
}

// takeSpare is a record for a first watch on a server's socket (a spare
// one, reset, when there is one). A report its last socket's Conn took
// before the record was released may still reach it (Ready): it checks
// the socket it watches now. Called under p.mu.
func (p *watcher) takeSpare(fd int, owner net.Conn) *clientWatch {
	if p.nspare == 0 {
		return &clientWatch{fd: fd, owner: owner}
	}
	p.nspare--
	w := p.spare[p.nspare]
	p.spare[p.nspare] = nil
	*w = clientWatch{fd: fd, owner: owner}
	return w
}

// count is how many connections the watcher holds a record for.
func (p *watcher) count() int {
	if !p.ready.Load() {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.byFd) + p.nown
}

// handOver gives owner's registration to h (a tunnel's direction from
// the client) and forgets the connection: one epoll entry for the
// socket's whole life. With no EPOLLIN in it yet, it is added
// (epoll_ctl reports bytes already there to h); else no system call, and
// pending reports an input or hang-up event this watch took, which no
// later event repeats (h must read once). ok is false when the
// connection is not registered: h registers on its own.
func (p *watcher) handOver(raw syscall.RawConn, owner net.Conn, h poller.Handler) (reg poller.Reg, pending, ok bool) {
	if !p.ready.Load() {
		return reg, false, false
	}
	fd := socketFd(raw)
	if fd < 0 {
		return reg, false, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	w := p.byFd[fd]
	if w == nil || w.owner != owner || w.backend != nil || w.conn != nil {
		return reg, false, false
	}
	p.unlist(w)
	w.next = h
	w.reg.SetHandler(h)
	if w.events != inputEvents {
		if w.reg.Modify(raw, inputEvents) != nil {
			w.reg.Remove(raw)
			return reg, false, false
		}
		w.events = inputEvents
	}
	return w.reg, w.inputSeen || w.eof, true
}

// TerminateRequests ends the requests that wait on a backend of the
// client connections whose descriptor ends names, as nginx's shutdown timer (once
// worker_shutdown_timeout passed) terminates every request: the backend
// connection closes, the request returns ErrTerminated.
func TerminateRequests(ends func(fd int) bool) {
	terminateUnwatched(ends)
	p := &brokenConns
	if !p.ready.Load() {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	terminate := func(w *clientWatch) {
		if w.backend != nil && !w.aborted.Load() && ends(w.fd) {
			w.terminated = true
			p.abort(w)
		}
	}
	for _, w := range p.byFd {
		terminate(w)
	}
	for w := p.own; w != nil; w = w.ownNext {
		terminate(w)
	}
}

// abort takes a watched request's client as gone: its backend closes.
func (p *watcher) abort(w *clientWatch) {
	if w.backend != nil && !w.aborted.Load() {
		w.aborted.Store(true)
		abortsEnding.Add(1)
		w.backend.Close()
	}
}

// settle handles what is ready now, from the caller's goroutine (an
// edge-triggered event is reported once: to the poller's loop or here),
// and waits for what the loop took: then every hang-up reported before
// this call is recorded.
func (p *watcher) settle() {
	if p.ready.Load() {
		p.p.Settle()
		poller.SettleConns()
	}
}

// settleConn is settle for a watch of one socket: the poller that
// reports its events only.
func (p *watcher) settleConn(w *clientWatch) {
	if w.conn != nil {
		poller.SettleConns()
	} else {
		p.p.Settle()
	}
}

// Ready is the poller's report for w's socket: the hang-ups close the
// backends of the requests whose client they were; input wakes a parked
// connection.
func (w *clientWatch) Ready(events uint32) {
	p := &brokenConns
	p.mu.Lock()
	if next := w.next; next != nil {
		p.mu.Unlock()
		next.Ready(events) // taken by the loop before the hand-over
		return
	}
	if !w.listed || w.conn != nil && !w.conn.HungUp() {
		// Forgotten meanwhile; or a record taken again (takeSpare) for
		// a socket that did not hang up: the report is the last one's,
		// which its Conn took before it let the record go.
		p.mu.Unlock()
		return
	}
	if events&poller.In != 0 {
		w.inputSeen = true
	}
	if w.input != nil {
		w.input.Ready(events) // bytes, or the end for its read to see
	}
	if events&(poller.RDHup|poller.Hup|poller.Err) != 0 {
		w.eof = true
		p.abort(w)
	}
	p.mu.Unlock()
}

// sockErr is the error pending on the client's socket (SO_ERROR), which
// nginx reads when epoll reports the hang-up and logs with it: a reset
// is "(104: Connection reset by peer)", a plain close has none. Read on
// the hang-up's path only, by the request's goroutine (the socket is
// its connection's, so its descriptor cannot be another's meanwhile).
func (w *clientWatch) sockErr() error {
	if w == nil || w.raw == nil {
		return nil
	}
	var soErr int
	var err error
	if cerr := w.raw.Control(func(fd uintptr) {
		soErr, err = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_ERROR)
	}); cerr != nil || err != nil || soErr == 0 {
		return nil
	}
	return syscall.Errno(soErr)
}
