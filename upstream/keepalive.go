package upstream

import (
	"errors"
	"net"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gonginx/gonginx/rewrite/http1"
	"github.com/gonginx/gonginx/upstream/poller"
)

// The pool of kept-alive backend connections of a group, as
// ngx_http_upstream_keepalive_module: at most "keepalive N" idle ones
// (the least recently used is closed for a new one), each closed after
// keepalive_timeout idle; a connection is not kept once it has served
// keepalive_requests requests or lived keepalive_time. An idle connection
// costs no goroutine: one timer per group sweeps the pool.

const (
	defaultKeepaliveTimeout  = 60 * time.Second
	defaultKeepaliveRequests = 1000
	defaultKeepaliveTime     = time.Hour
)

type idleConn struct {
	nc     net.Conn
	server int
	life   connLife
	since  time.Time // when it went idle
}

// connLife is what a backend connection carries from request to request.
type connLife struct {
	// expires is when keepalive_time ends its reuse: its creation plus
	// the group's keepalive_time, added once (a per-request Sub costs
	// ~30 instructions where After, inlined, costs a few).
	expires  time.Time
	requests int // requests sent on it, the current one included
	fd       int // its socket, peeked at before reuse (-1: none)
	// full: its last read filled the buffer, so bytes may be left in
	// the socket that no report will announce (ET reports arrivals, not
	// what is there): its reuse peeks, as nginx's free of a connection
	// whose read event is still ready runs its close handler's peek.
	full bool
	// slots holds the worker_connections slot it takes (nil: none).
	slots *ConnSlots
	// dl is its deadlines as set, re-armed lazily from request to
	// request (the proxy's own; other protocols clear them when they
	// pool it).
	dl http1.Deadlines
	// sock reads and writes it when it is a plain socket (nil: through
	// the net.Conn).
	sock *http1.Sock
	// watch tells of the backend's close while it is kept (nil: none,
	// peeked at instead).
	watch *closeWatch
	// pend is a send left to the response's first read
	// (exchange.deferSend; nil: none).
	pend *sendPend
}

// closeWatch is a kept-alive backend connection's entry in the process's
// poller (EPOLLIN and EPOLLRDHUP, edge-triggered; a reset's EPOLLERR and
// EPOLLHUP come without asking), made the first time it is kept and kept
// for its life, as nginx keeps a cached connection's read event armed
// and closes it when it fires (ngx_http_upstream_keepalive_close_handler):
// a reuse peeks (recvfrom MSG_PEEK) only when the poller reported the
// socket since its last look, so a reuse of a quiet connection makes no
// system call. The reports of its replies' arrivals while it serves a
// request cost the poller's goroutine a turn per batch of events, not a
// system call per request.
//
// The race left is nginx's: bytes (or a close) that arrive while a
// reuse is under way, their report not yet handled, are read by that
// request (nginx's worker reuses a cached connection in the event
// handler before it takes the epoll_wait that would report them; here
// the poller's goroutine may not have had its turn since they came: one
// poll round either way). A report is never lost: the kernel re-checks
// an edge-triggered entry when it hands it over, so an entry reported is
// one with bytes (or an end) unread then, and quiet is cleared for it.
type closeWatch struct {
	reg poller.Reg
	rc  syscall.RawConn // the socket's, for Remove (leave)
	// quiet: nothing was reported since the connection's last look (a
	// peek, or a read that left the socket empty: connLife.read): its
	// reuse needs no peek. A new watch is not quiet: what came before it
	// was registered is looked at once.
	quiet atomic.Bool
	// hup: a report said the backend ended or failed (RDHUP, HUP, ERR),
	// which a read that took the bytes before it does not clear: the
	// reuse peeks, as quiet is set by each read (Sock.MarkReads) and a
	// report taken while the answer was awaited is of that answer.
	hup atomic.Bool
	// late is how often the backend's answer was not there yet at the
	// read right after the request's send (in 256ths, averaged over the
	// reads tried at once): past lateWait the read waits for the poller
	// first (Sock.SendRead). Here, with the connection's heap state, not
	// in connLife, which is copied in and out of the pool.
	late uint8
	// probeGap is the requests from one read tried at once (a probe)
	// to the next while late is past lateWait, untilProbe those left:
	// probeEvery after a probe that found the answer, doubled (to
	// probeMost) after each that found nothing.
	probeGap, untilProbe uint8
}

// probeNow counts a request whose answer is waited for down to the next
// probe, and reports whether this one probes.
func (w *closeWatch) probeNow() bool {
	if w.untilProbe > 0 {
		w.untilProbe--
		return false
	}
	return true
}

// tried records a read tried at once: late (in 256ths, an average over
// the last ~8 tries) and the probes' spacing.
func (w *closeWatch) tried(late bool) {
	v := 0
	gap := probeEvery
	if late {
		v = 256
		gap = min(max(int(w.probeGap)*2, probeEvery), probeMost)
	}
	w.late = uint8((int(w.late)*7 + v) / 8)
	w.probeGap, w.untilProbe = uint8(gap), uint8(gap-1)
}

// Ready records the report (the poller's goroutine): bytes or an end
// unread when the poller took the event.
func (w *closeWatch) Ready(events uint32) {
	if events&(poller.RDHup|poller.Hup|poller.Err) != 0 {
		w.hup.Store(true)
	}
	w.quiet.Store(false)
}

// watchClose registers nc, a plain socket of package net's, for its
// backend's bytes and close; nil when it cannot (the pool peeks then).
func watchClose(nc net.Conn) *closeWatch {
	var sc syscall.Conn
	switch c := nc.(type) {
	case *net.TCPConn:
		sc = c
	case *net.UnixConn:
		sc = c
	default:
		return nil
	}
	p, err := poller.ConnPoller()
	if err != nil {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	w := &closeWatch{rc: rc}
	if w.reg, err = p.Add(rc, poller.In|poller.RDHup|poller.Edge, w); err != nil {
		return nil
	}
	return w
}

// setRead arms nc's read deadline at now+timeout (none when timeout <=
// 0), lazily (l.dl): the server's own socket sets it from the two, with
// no time.Time made for it.
func (l *connLife) setRead(nc net.Conn, now time.Time, timeout time.Duration) {
	if pc, ok := nc.(*poller.Conn); ok {
		if l.dl.RearmRead(now, timeout) {
			pc.SetReadDeadlineAfter(now, timeout)
		}
		return
	}
	l.dl.SetRead(nc, now, timeout)
}

// setWrite is setRead's for the write deadline.
func (l *connLife) setWrite(nc net.Conn, now time.Time, timeout time.Duration) {
	if pc, ok := nc.(*poller.Conn); ok {
		if l.dl.RearmWrite(now, timeout) {
			pc.SetWriteDeadlineAfter(now, timeout)
		}
		return
	}
	l.dl.SetWrite(nc, now, timeout)
}

// stale reports whether a kept connection must not be reused: its
// backend closed it or sent what no request asked for. A watched
// connection whose last read left its socket empty and that the poller
// has reported nothing for since is not looked at (closeWatch); else a
// peek looks.
func (l *connLife) stale() bool {
	w := l.watch
	if w != nil {
		if !l.full && w.quiet.Load() && !w.hup.Load() {
			return false
		}
		// Before the peek: a report after it is the next reuse's.
		w.quiet.Store(true)
	}
	return idleClosed(l.fd)
}

// unwatch ends the close watch of a connection that closes (its close
// takes it out of the set).
func (l *connLife) unwatch() {
	if l.watch != nil {
		l.watch.reg.Forget()
		l.watch = nil
		if l.sock != nil {
			l.sock.MarkReads(nil)
		}
	}
}

// leave ends the close watch of a connection a tunnel takes on: out of
// the Conns' poller's set, where its traffic would wake that poller's
// goroutine for a registration gone (the tunnel's are on the process's
// other poller).
func (l *connLife) leave() {
	if l.watch != nil {
		l.watch.reg.Remove(l.watch.rc)
		l.watch = nil
		if l.sock != nil {
			l.sock.MarkReads(nil)
		}
	}
}

// release gives back the slot the backend connection holds, once, and
// its Sock to the pool (the connection is closed or given to a tunnel,
// which reads it otherwise).
func (l *connLife) release() {
	l.unwatch()
	l.slots.Release()
	l.slots = nil
	http1.PutSock(l.sock)
	l.sock = nil
}

// read reads the connection nc, through its Sock when it has one; the
// first read after a deferred send makes it. A read that leaves the
// socket empty (it took less than b) is a look for the close watch:
// what the poller reported before it began is read; one that fills b
// may leave bytes, and the reuse peeks (full).
func (l *connLife) read(nc net.Conn, b []byte) (n int, err error) {
	if w := l.watch; w != nil && !w.quiet.Load() {
		// Before the read: a report that comes after it began is kept
		// (it may be of bytes after the ones read).
		w.quiet.Store(true)
		if l.pend != nil && idleClosed(l.fd) {
			// Reported since the reuse's look, before the request went
			// out: what is there is no answer to it, and it is not sent.
			sp := l.pend
			l.pend = nil
			sp.err, sp.unsent = errStaleKept, len(sp.out)
			l.full = true
			return 0, errStaleKept
		}
	}
	if l.pend != nil {
		n, err = l.sendRead(b)
	} else {
		n, err = http1.ReadVia(l.sock, nc, b)
	}
	l.full = n == len(b) || err != nil
	return n, err
}

// lateWait is closeWatch.late's mark past which the answer is waited for
// before it is read: a read that finds nothing costs a system call, a
// wait for an answer already there a trip through the scheduler's
// poller. Past it one request in probeEvery to probeMost reads at once
// all the same (closeWatch.tried), so that late follows a backend that
// became quicker: a backend that stays late (php-fpm's answer is never
// there at once) is probed less and less often, each probe a read that
// finds nothing (one in 8 php requests made it, 0.14 of their 2.26
// recvfrom; nginx's recv comes after epoll_wait's word).
const (
	lateWait   = 160
	probeEvery = 8
	probeMost  = 64
)

// sendPend is a request's last bytes whose write is left to the
// response's first read (exchange.deferSend), what runs once they are
// sent, and the write's failure (err, with the bytes it left unsent).
type sendPend struct {
	out    []byte
	after  func() bool
	err    error
	unsent int
}

// errSendStopped is the read of a deferred send whose hook asked for no
// read (the client's watch closed the backend: exchange.armWatch).
var errSendStopped = errors.New("upstream: the backend closed as the request was sent")

// errStaleKept is the send of a request on a kept connection that the
// poller reported between the reuse's look and the send (bytes or an end
// no request asked for): nothing is sent, and the try fails as one on a
// kept connection its backend closed (a fresh connection is tried).
var errStaleKept = errors.New("upstream: the backend sent data on the idle keepalive connection")

// sendRead sends l.pend's bytes and reads the answer into b
// (Sock.SendRead), waiting first when the backend has mostly been late;
// a failed write is kept in l.pend.err (the exchange's send failed).
func (l *connLife) sendRead(b []byte) (int, error) {
	sp := l.pend
	l.pend = nil
	out := sp.out
	if len(b) == 0 {
		return l.sendThenRead(sp, 0, b)
	}
	w := l.watch
	wait := w != nil && w.late > lateWait && !w.probeNow()
	sent, n, late, err := l.sock.SendRead(out, b, wait, sp.after)
	if sent < len(out) {
		if err != nil {
			sp.err, sp.unsent = err, len(out)-sent
			return 0, err
		}
		return l.sendThenRead(sp, sent, b)
	}
	if err == nil && n == 0 {
		return 0, errSendStopped
	}
	if w != nil && !wait {
		w.tried(late)
	}
	return n, err
}

// sendThenRead is sendRead's way when the socket took only part of the
// bytes (or the read has no room): the rest is written under the write
// deadline, then the answer read.
func (l *connLife) sendThenRead(sp *sendPend, sent int, b []byte) (int, error) {
	if sent < len(sp.out) {
		m, err := l.sock.Write(sp.out[sent:])
		sent += m
		if err != nil {
			sp.err, sp.unsent = err, len(sp.out)-sent
			return 0, err
		}
	}
	if sp.after != nil && sp.after() {
		return 0, errSendStopped
	}
	return l.sock.Read(b)
}

// write writes the connection nc, through its Sock when it has one.
func (l *connLife) write(nc net.Conn, b []byte) (int, error) { return http1.WriteVia(l.sock, nc, b) }

// getIdle, called with g.mu held (pickNext, in the pick's lock section),
// returns the most recently used idle connection to server, if
// any (its balancer counted it already), not one connLife.stale finds stale.
//
// The entry is read in place and copied once, into life (an idleConn is
// ~190 bytes: a copy of it, its life copied again as the result, a
// zero-length copy's typedslicecopy call and a deferred unlock cost ~120
// instructions per reuse).
func (g *Group) getIdle(server int, now time.Time, life *connLife) net.Conn {
	if g.Keepalive == 0 {
		return nil
	}
	// (g.mu is held: its lines keep default.pgo's offsets, stale's inlined.)
	for n := len(g.idle) - 1; n >= 0; n-- {
		ic := &g.idle[n]
		if ic.server != server && g.Servers[ic.server].Addr != g.Servers[server].Addr {
			continue
		}
		nc, expired := ic.nc, now.Sub(ic.since) >= g.KeepaliveTimeout
		*life = ic.life
		last := len(g.idle) - 1
		if n < last {
			copy(g.idle[n:], g.idle[n+1:])
		}
		g.idle[last] = idleConn{}
		g.idle = g.idle[:last]
		// The sweep has not run yet: nginx's timer would have closed it.
		if expired || life.stale() {
			nc.Close()
			life.release()
			*life = connLife{}
			continue
		}
		return nc
	}
	return nil
}

// putIdle keeps nc for reuse, or closes it when nginx would not cache it
// (keepalive_requests reached, keepalive_time passed, the configuration
// replaced).
//
// life is copied once, into the entry made in place (a composite literal
// appended, the evicted entry and life passed by value were ~190-byte
// copies: ~70 instructions per request).
func (g *Group) putIdle(nc net.Conn, server int, life *connLife, now time.Time) {
	g.releaseIdle(nc, server, life, now, false, false)
}

// doneIdle is done(server, failed, now), then putIdle, in one lock
// section (one lock and unlock a request where two were: each is a
// locked instruction).
func (g *Group) doneIdle(nc net.Conn, server int, failed bool, life *connLife, now time.Time) (disabled bool) {
	return g.releaseIdle(nc, server, life, now, true, failed)
}

// releaseIdle is putIdle, after done's bookkeeping when account is set.
func (g *Group) releaseIdle(nc net.Conn, server int, life *connLife, now time.Time, account, failed bool) (disabled bool) {
	if life.watch == nil && life.requests < g.KeepaliveRequests && !now.After(life.expires) {
		// Watched from its first time idle on: a connection never kept
		// (HTTP/1.0 to the backend, its close asked) costs no epoll_ctl.
		// A close that came before is reported as it is added.
		life.watch = watchClose(nc)
		if life.watch != nil && life.sock != nil {
			// Its reads are its looks from now on: the report of an
			// answer taken before the read that takes it leaves no peek.
			life.sock.MarkReads(&life.watch.quiet)
		}
	}
	g.mu.Lock()
	if account {
		disabled = g.doneLocked(server, failed, now)
	}
	if g.retired || life.requests >= g.KeepaliveRequests || now.After(life.expires) {
		g.mu.Unlock()
		nc.Close()
		life.release()
		return disabled
	}
	var evicted net.Conn
	var evictedLife connLife
	if len(g.idle) == g.Keepalive {
		evicted, evictedLife = g.idle[0].nc, g.idle[0].life
		copy(g.idle, g.idle[1:])
		g.idle[len(g.idle)-1] = idleConn{}
		g.idle = g.idle[:len(g.idle)-1]
	}
	if n := len(g.idle); n < cap(g.idle) {
		g.idle = g.idle[:n+1]
	} else {
		g.idle = append(g.idle, idleConn{})
	}
	e := &g.idle[len(g.idle)-1]
	e.nc, e.server, e.since = nc, server, now
	e.life = *life
	if !g.sweepArmed {
		g.armSweep(g.KeepaliveTimeout)
	}
	g.mu.Unlock()
	if evicted != nil {
		evicted.Close()
		evictedLife.release()
	}
	return disabled
}

// armSweep schedules the sweep in d (called with g.mu held).
func (g *Group) armSweep(d time.Duration) {
	g.sweepArmed = true
	if g.sweep == nil {
		g.sweep = time.AfterFunc(d, g.sweepIdle)
		return
	}
	g.sweep.Reset(d)
}

// sweepIdle closes the idle connections past keepalive_timeout and
// schedules itself for the oldest that remains.
func (g *Group) sweepIdle() {
	now := time.Now()
	g.mu.Lock()
	g.sweepArmed = false
	n := 0
	for n < len(g.idle) && now.Sub(g.idle[n].since) >= g.KeepaliveTimeout {
		n++
	}
	expired := make([]idleConn, n)
	copy(expired, g.idle[:n])
	rest := copy(g.idle, g.idle[n:])
	clear(g.idle[rest:])
	g.idle = g.idle[:rest]
	if rest > 0 {
		g.armSweep(g.idle[0].since.Add(g.KeepaliveTimeout).Sub(now))
	}
	g.mu.Unlock()
	for _, ic := range expired {
		ic.nc.Close()
		ic.life.release()
	}
}

// CloseIdle closes the kept-alive connections (on stop).
func (gs *Groups) CloseIdle() { gs.closeIdle(false) }

// Exiting is a graceful stop's start: the kept-alive connections close
// now and those in use as their requests end, as nginx's
// ngx_close_idle_connections and its keepalive module's free_peer, which
// keeps none once ngx_exiting is set.
func (gs *Groups) Exiting() {
	gs.retired.Store(true)
	gs.closeIdle(true)
}

// Retire closes the kept-alive connections of a configuration a reload
// replaced, and those still in use as their requests end.
func (gs *Groups) Retire() {
	gs.retired.Store(true)
	gs.closeIdle(true)
	for _, z := range gs.caches {
		z.Stop() // the new configuration's zones manage the same files
	}
}

func (gs *Groups) closeIdle(retire bool) {
	gs.dynMu.Lock()
	dynamic := make([]*Group, 0, len(gs.dynamic))
	for _, g := range gs.dynamic {
		dynamic = append(dynamic, g)
	}
	gs.dynMu.Unlock()
	for _, m := range []map[string]*Group{gs.byName, gs.implicit} {
		for _, g := range m {
			g.closeIdle(retire)
		}
	}
	for _, g := range dynamic {
		g.closeIdle(retire)
	}
}

func (g *Group) closeIdle(retire bool) {
	g.mu.Lock()
	idle := g.idle
	g.idle = nil
	if retire {
		g.retired = true
	}
	if g.sweep != nil {
		g.sweep.Stop()
		g.sweepArmed = false
	}
	g.mu.Unlock()
	for _, ic := range idle {
		ic.nc.Close()
		ic.life.release()
	}
}
