package server

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"time"

	"github.com/gonginx/gonginx/location"
	"github.com/gonginx/gonginx/rewrite/http1"
	"github.com/gonginx/gonginx/upstream"
	"github.com/gonginx/gonginx/upstream/poller"
)

// idleGrace is how long a keep-alive connection waits for its next
// request with its goroutine before it parks.
// A var: a test makes every grace run out before its read begins, as a
// loaded machine may.
var idleGrace = 100 * time.Millisecond

// maxGraceWaits bounds the connections of a process that wait out
// idleGrace at once; the others park as soon as their response is out.
// A connection in its grace holds a goroutine (its stack, grown by the
// request it served), a read buffer, a Conn and an exchange (about 10
// KB): a burst of connections that each make a request and go idle (a
// page's clients, the bench's idle-http row) held all of it at once, and
// the process kept the memory after they parked (10.2 KiB RSS per idle
// connection against nginx's 1.2). 2,000 idle connections in one
// process: 4.4 KiB each with 64, 3.65 with 32, 3.5 with 16, 3.3 with 1.
// A busy connection's next request comes within the grace, so the bound
// costs the steady state nothing below 32 clients per worker that send
// as soon as they are answered (the bench's http row has 16).
const maxGraceWaits = 32

// h1Conn is an HTTP/1 connection's state across its requests. Between
// two requests it parks (park): no goroutine, no buffer, no exchange,
// only this and the socket on the poller, as nginx's idle keep-alive
// connection is its ngx_connection_t and a timer.
//
// A connection that has shown it sends its next request soon parks
// once it has waited idleGrace for it (h1GraceEarned): parking as soon as
// the response is out made each request a wake-up (the poller's event,
// a goroutine, a Conn and an exchange bound again), 32.4 -> 36.8 CPU µs
// per proxied request on the bench's http row (A/B, five repetitions),
// where a client sends its next request at once (a benchmark's, a
// browser loading a page); TLS's wake-up costs more. Others park as
// soon as nothing is at hand: after the first request (one wake-up
// more for a client that goes on), or after a request that came later
// than the grace (which it would have waited out for nothing). A burst
// of clients that each make one request and go quiet (the bench's
// idle-http row) held up to maxGraceWaits goroutines with stacks grown
// by the proxy, exchanges and buffers, whose memory the process kept
// once they parked: 4.86 -> 3.7 KiB per idle connection.
type h1Conn struct {
	// x is the connection bound to its configuration (its
	// http1.Conn: x.HTTP1()), unbound while parked: kept holds what it
	// needs.
	kept     http1.Kept
	x        location.Conn
	parked   location.Parked  // what x kept while parked
	rt       *location.Router // the configuration it runs under (x's, once bound)
	tconn    *tls.Conn
	connID   uint64
	accepted monoTime

	l *listener // its listener
	// idleUntil is when keepalive_timeout ends the current wait
	// (client_header_timeout the wait for the first request).
	idleUntil monoTime
	// waker parks the connection; serverConn.Ready is its poller's
	// handler, which resumes it (serverConn.resumer).
	waker upstream.Waker
	// bits are the h1Quiet... flags, in one byte: six bools beside
	// waker kept serverConn a size class larger (240 bytes, not 224).
	bits h1Bits
}

// h1Bits are an h1Conn's flags, its goroutine's (or its parker's) only.
type h1Bits uint8

const (
	h1Quiet    h1Bits = 1 << iota // no close_notify: it timed out or failed
	h1Reading                     // counted in stub_status's reading
	h1Watching                    // the socket is on the poller
	h1NoPark                      // it cannot be (no poller, no socket)
	h1Debug                       // a debug_connection client
	// h1GraceEarned: the last request came within idleGrace of the
	// response before it, so the next wait has the grace (maxGraceWaits
	// allowing); else the connection parks as soon as nothing is at hand.
	h1GraceEarned
	// h1TLSAddr: accepted on an ssl address (a handshake, failed or
	// not, or plain HTTP answered 400 through its peek): its record is
	// left to the GC, not reused (serverConn.unref).
	h1TLSAddr
	// h1Fresh: parked since its accept, nothing of it run (parkNew):
	// its wake starts it (serveConn).
	h1Fresh
)

func (h *h1Conn) has(b h1Bits) bool { return h.bits&b != 0 }

func (h *h1Conn) set(b h1Bits, on bool) {
	if on {
		h.bits |= b
	} else {
		h.bits &^= b
	}
}

// conn is the net.Conn its requests are read from (http1.Conn's): the
// TLS connection over the socket, or the socket. Kept in h1Conn besides
// nc and tconn, it cost every idle connection 16 bytes.
func (sc *serverConn) conn() net.Conn {
	if sc.h1.tconn != nil {
		return sc.h1.tconn
	}
	return sc.nc
}

// addrIn is the address of sock the connection arrived on: the local
// address is read (getsockname, on a wildcard listener) only when the
// port has several, as nginx's ngx_http_init_connection.
func (sc *serverConn) addrIn(sock *location.Socket) *location.Addr {
	if len(sock.Addrs) == 1 {
		return sock.Addrs[0]
	}
	return sock.AddrFor(sc.localIP())
}

// localIP is the address the connection arrived on (nil on a unix
// socket), looked up per request: kept in h1Conn it made serverConn a
// size class larger.
func (sc *serverConn) localIP() net.IP {
	if ta, ok := sc.nc.LocalAddr().(*net.TCPAddr); ok {
		return ta.IP
	}
	return nil
}

// RequestBytes is http1.Conn.OnRequestBytes: the first bytes of a
// request are in.
func (sc *serverConn) RequestBytes() {
	s := sc.h1.l.srv
	if o := sc.order(); o != nil {
		o.started.Store(true)
	}
	// Reading a request, it is not idle: a graceful stop lets it
	// finish (ngx_http_keepalive_handler clears c->idle).
	sc.setIdle(false)
	s.setReusable(sc, false)
	sc.h1.set(h1Reading, true)
	s.counters.Stats.Reading.Add(1)
	s.counters.Stats.Requests.Add(1)
}

// Resume is a parked HTTP/1 connection's upstream.Resumer (its Waker's).
func (sc *serverConn) Resume() {
	if sc.h1.has(h1Fresh) {
		sc.h1.l.serveConn(sc)
		return
	}
	sc.h1.l.resume(sc)
}

// Ready is the poller's report of input on a watched connection
// (upstream.WatchInput): a parked one runs again.
func (sc *serverConn) Ready(uint32) {
	if sc.h1.waker.Woken() {
		upstream.GoResume(sc.resumer())
	}
}

// resumer runs the connection again once its waker let it go: its
// HTTP/2 reader's, or its HTTP/1 requests'.
func (sc *serverConn) resumer() upstream.Resumer {
	if hc := sc.h2(); hc != nil {
		return hc.Parker().(*h2Streams)
	}
	return sc
}

// connStart starts a connection's goroutine (upstream.GoResume): the
// connection itself, where a func bound to it would allocate.
type connStart serverConn

func (c *connStart) Resume() {
	sc := (*serverConn)(c)
	sc.h1.l.serveConn(sc)
}

// serveRequests reads and serves the connection's requests until it
// closes (false) or parks (true: its goroutine ends, the connection
// belongs to whoever wakes it).
func (l *listener) serveRequests(sc *serverConn, first bool) bool {
	h := &sc.h1
	c := h.x.HTTP1()
	stats := &l.srv.counters.Stats
	for {
		// A new request is read under its address's default server
		// (the keepalive wait under the last request's location).
		h.x.Prepare(sc.addrIn(l.sock.Load()))
		sc.setIdle(!first)
		if l.srv.closing.Load() && !first {
			return false
		}
		if !first {
			l.srv.setReusable(sc, true) // ngx_http_set_keepalive
		}
		// A connection waits for its next request until bytes arrive
		// (OnRequestBytes), then reads it; a parked one's read does not
		// wait (NoWait), nor does one past maxGraceWaits. The first
		// request's wait has the grace too, then parks (a browser's
		// preconnect), but for a TLS one (its handshake came first), one
		// answered 497 or one whose place in line limit_conn keeps.
		parkable := !h.has(h1NoPark) && (!first || h.tconn == nil && !h.x.ToHTTPS() && (sc.order() == nil || sc.order().done))
		if first {
			c.HeaderDeadline, c.IdleGrace = h.idleUntil.Time(), 0 // the head's timer runs from accept
		}
		graced := false
		if parkable && !c.NoWait {
			if first || h.has(h1GraceEarned) {
				graced = l.srv.graceWaits.Add(1) <= maxGraceWaits
				if !graced {
					l.srv.graceWaits.Add(-1)
				}
			}
			c.NoWait = !graced
			if first && graced {
				c.IdleGrace = idleGrace
			}
		}
		req, err := c.ReadRequest()
		if graced {
			l.srv.graceWaits.Add(-1)
		}
		if err == http1.ErrWouldBlock {
			if l.park(sc, first) {
				return true
			}
			// Input came meanwhile: read it (or, unable to park, wait).
			c = h.x.HTTP1()
			c.NoWait = !h.has(h1NoPark)
			continue
		}
		c.NoWait = false
		if h.has(h1Reading) {
			h.set(h1Reading, false)
			stats.Reading.Add(-1)
		}
		sc.setIdle(false)
		l.srv.setReusable(sc, false)
		wasFirst := first
		first = false
		if wasFirst && !h.has(h1NoPark) {
			c.IdleGrace = idleGrace
		}
		// The grace is earned by a request that came within it of the
		// previous response (its head read by then).
		// On the monotonic offsets: a time.Time's Add costs ~75
		// instructions, twice here on every request.
		earned := !wasFirst && monoOf(c.HeadAt()) < h.idleUntil+monoTime(idleGrace-c.IdleTimeout)
		h.set(h1GraceEarned, earned)
		if earned && h.has(h1Watching) {
			// Busy again: its waits have the grace, and its arrivals
			// need not wake the poller until it parks again.
			raw, owner := c.Socket()
			upstream.StopInput(raw, owner, sc)
			h.set(h1Watching, false)
		}
		if err != nil {
			var perr *http1.Error
			h.set(h1Quiet, !errors.As(err, &perr))
			switch {
			case errors.As(err, &perr):
				l.srv.useCurrent(h.x)
				h.x.BadRequest(sc.addrIn(l.sock.Load()), perr)
				l.srv.setReusable(sc, true) // lingering
				// nginx frees (and logs) the request at the linger's end.
				lingeringClose(h.x, c, sc, c.NetConn())
				h.x.AccessLog()
			case errors.Is(err, io.EOF):
				sock := l.sock.Load()
				h.x.ClientClosed(sc.addrIn(sock), wasFirst, sock.Listen.Addr)
			case errors.Is(err, io.ErrUnexpectedEOF):
				l.srv.useCurrent(h.x)
				h.x.ClosedMidHead(sc.addrIn(l.sock.Load()))
				h.x.AccessLog()
			case wasFirst && errors.Is(err, os.ErrDeadlineExceeded):
				l.waitTimedOut(sc, c.Info)
			case errors.Is(err, http1.ErrRequestTimeout):
				l.srv.useCurrent(h.x)
				h.x.TimedOut(sc.addrIn(l.sock.Load()))
				h.x.AccessLog()
				h.x.ResetIfTimedOut()
			}
			return false
		}
		l.srv.useCurrent(h.x)
		addr := sc.addrIn(l.sock.Load())
		stats.Writing.Add(1)
		h.x.Serve(addr, req)
		if o := sc.order(); o != nil && !o.done {
			o.Pass() // it ended before the preaccess phase
			h.x.SetOrder(nil)
		}
		if c.TunnelDetached() {
			// The request became a tunnel that runs on: its end is
			// the tunnel's, and this goroutine ends meanwhile.
			if c.AwaitTunnel(sc) {
				return true
			}
			h.x.TunnelEnded(c.TunnelErr())
		}
		status := h.x.Status()
		closing := !c.KeepAlive() || h.x.ToHTTPS() || status == 444 || status == 499 || status == 408
		if closing && !c.Hijacked() && status != 444 && status != 499 && status != 408 { // nginx closes these at once
			// A lingering close comes first: nginx frees the request, and
			// logs it ($request_time with it), at the linger's end.
			l.srv.setReusable(sc, true) // lingering
			lingeringClose(h.x, c, sc, c.NetConn())
		}
		var discardErr error
		if !closing && !c.Hijacked() && !c.BodyDone() {
			// The body left unread is discarded under lingering_timeout
			// per wait and lingering_time in all, not client_body_timeout,
			// and the request logged once that ends (nginx's
			// ngx_http_discarded_request_body_handler); a wait that
			// passes, or a bad chunk, closes.
			total, wait := h.x.DiscardWaits()
			read := c.BodyErr() == nil // a body read that failed was logged then
			if discardErr = c.DiscardBody(wait, time.Now().Add(total)); discardErr != nil {
				closing = true
				if read {
					h.x.DiscardFailed(discardErr)
				}
			}
		}
		// nginx no longer counts the request writing when it logs it.
		stats.Writing.Add(-1)
		h.x.AccessLog()
		h.x.EndRequest()
		if c.Hijacked() {
			return false
		}
		c.IdleTimeout = h.x.KeepaliveTimeout()
		// Each errors.Is is a call: asked only of an error.
		if werr := c.WriteErr(); werr != nil && errors.Is(werr, os.ErrDeadlineExceeded) {
			h.x.ResetIfTimedOut() // send_timeout passed
		}
		h.set(h1Quiet, status == 499 || status == 408)
		if discardErr != nil && errors.Is(discardErr, http1.ErrRequestTimeout) {
			h.x.ResetIfTimedOut()
		}
		if closing {
			return false
		}
		// The keepalive wait's start is read on the monotonic clock
		// alone (a deadline's, never shown), and given to a socket of
		// the poller's on its scale (no time.Time made).
		now := monoNow()
		h.idleUntil = now + monoTime(c.IdleTimeout)
		if c.MonoIdle() {
			c.IdleSinceMono = int64(now)
		} else {
			c.IdleSince = now.Time()
		}
	}
}

// TunnelDone is http1.TunnelWaiter: the detached tunnel of sc's request
// ended (tunnelEnded).
func (sc *serverConn) TunnelDone() { sc.h1.l.tunnelEnded(sc) }

// tunnelEnded ends a request whose tunnel ran on without its goroutine
// (http1.Conn.AwaitTunnel), as serveRequests ends one it waited for:
// the log line, limit_conn, the connection.
func (l *listener) tunnelEnded(sc *serverConn) {
	h := &sc.h1
	h.x.TunnelEnded(h.x.HTTP1().TunnelErr())
	l.srv.counters.Stats.Writing.Add(-1)
	h.x.AccessLog()
	h.x.EndRequest()
	l.srv.endConn(sc)
}

// parkNew parks a connection just accepted until its first bytes arrive
// (true), as ngx_http_init_connection leaves a new connection to its
// read event and client_header_timeout's timer: no goroutine starts
// for it until then. One started at accept found nothing to read (the
// client sends after its connect) and waited for the poller's report,
// a park and a wake-up more per connection. Not for what starts with
// more than a request's read (TLS, HTTP/2, the PROXY protocol, a place
// in line) or comes with its bytes (a deferred listener's).
func (l *listener) parkNew(sc *serverConn) bool {
	pc, ok := sc.nc.(*poller.Conn)
	if !ok || l.acc == nil || l.acc.Deferred() || sc.ext.Load() != nil {
		return false
	}
	addr := sc.addrIn(l.sock.Load())
	if on, _, _ := addr.ProxyProtocol(); on || addr.TLS() || addr.HTTP2() {
		return false
	}
	h := &sc.h1
	h.accepted = monoNow()
	timed := false
	if ht := addr.HeaderTimeout(); ht > 0 {
		h.idleUntil, timed = h.accepted+monoTime(ht), true
	}
	// Its socket's input reaches sc.Ready from now on (the hook stays
	// for the connection's keep-alive parks).
	h.set(h1Fresh|h1Watching, true)
	// Once hooked, sc may be woken, served and ended by another
	// goroutine while this one still reads it (park's reference).
	sc.flags.Add(connParkRef)
	h.waker.Park()
	if timed {
		l.srv.idleTimers.Add(sc)
	}
	pc.OnInput(sc)
	// An immediate stop or a drain that closed it before it parked:
	// it ends now.
	if (l.srv.stopped.Load() || !sc.hasSlot()) && h.waker.Unpark() {
		upstream.GoResume(sc)
	}
	sc.unref(connParkRef)
	return true
}

// park hands an idle connection to the poller: its buffers and its
// exchange go back to their pools, keepalive_timeout is in idleTimers, and
// its goroutine ends (true). False: it cannot park, or input is there.
func (l *listener) park(sc *serverConn, first bool) bool {
	h := &sc.h1
	c := h.x.HTTP1()
	if h.has(h1NoPark) || !c.Idle() {
		return false
	}
	if !h.has(h1Watching) {
		raw, owner := c.Socket()
		if raw == nil || !upstream.WatchInput(raw, owner, sc) {
			h.set(h1NoPark, true)
			c.IdleGrace = 0
			return false
		}
		h.set(h1Watching, true)
	}
	// Its requests' abort watch is made again by the next one that
	// proxies: parked, it holds none.
	upstream.ParkClient(c.KnownSocket())
	h.rt = h.x.Router()
	h.parked = h.x.Park()
	h.x = location.Conn{}
	c.Detach(&h.kept)
	if h.tconn != nil {
		location.ParkTLS(h.tconn)
	}
	timed, until := h.parked.KeepaliveTimeout() > 0, h.idleUntil // h is not ours once parked
	if first {
		timed = until != 0 // client_header_timeout, from accept
	}
	if timed {
		l.srv.idleTimers.Add(sc)
	}
	// Once parked, sc may be woken, served and ended by another
	// goroutine while this one still reads it: its reference keeps the
	// record from a connection accepted meanwhile (connRecs).
	sc.flags.Add(connParkRef)
	ok := l.parked(sc, first, timed, until)
	sc.unref(connParkRef)
	return ok
}

// parked is park's after its setup: false, sc is the caller's again.
func (l *listener) parked(sc *serverConn, first, timed bool, until monoTime) bool {
	h := &sc.h1
	if !h.waker.Park() {
		l.unparked(sc)
		return false
	}
	// keepalive_timeout passed before it parked: the timer may have
	// fired while it still ran, and found nothing to take.
	if timed && monoNow() >= until && h.waker.Unpark() {
		l.srv.endIdle(sc)
		return true
	}
	// A stop or a drain that looked before it parked: it closes now (a
	// graceful stop waits for a first request, as nginx's connection
	// waiting for one is not idle).
	if (l.srv.closing.Load() && !first || !sc.hasSlot()) && h.waker.Unpark() {
		l.unparked(sc)
		return false
	}
	return true
}

// unparked binds a connection taken off the poller to a Conn and an
// exchange again.
func (l *listener) unparked(sc *serverConn) {
	h := &sc.h1
	l.srv.idleTimers.Remove(sc)
	if h.tconn != nil {
		location.UnparkTLS(h.tconn)
	}
	c := http1.Attach(&h.kept, sc.conn(), &sc.info)
	c.IdleTimeout = h.parked.KeepaliveTimeout() // as it was when it parked
	c.OnRequestBytes, c.Exiting, c.IdleGrace, c.NoWait = sc, &l.srv.closing, idleGrace, true
	c.Finisher = sc
	c.Clock = poller.Now
	c.TunnelOwner = true
	h.x = location.NewConn(h.rt, c, l.srv.log, h.connID, h.accepted.Time(), &l.srv.counters.Stats, false)
	h.x.SetDebugConnection(h.has(h1Debug))
	h.x.Unparked(h.parked)
	h.parked = location.Parked{}
}

// endIdle ends a parked connection (taken off the poller) whose
// keepalive_timeout passed: ngx_http_keepalive_handler closes it,
// nothing sent.
func (s *Server) endIdle(sc *serverConn) {
	h := &sc.h1
	if sc.h2() != nil {
		// HTTP/2's reader says GOAWAY and closes (h2Streams.Resume).
		upstream.GoResume(sc.resumer())
		return
	}
	if p, ok := sc.nc.(interface{ InputPending() bool }); ok && p.InputPending() {
		// Input came before the timer ran (its report not yet taken):
		// nginx reads it, as ngx_process_events_and_timers handles
		// events before the timers that expired.
		upstream.GoResume(sc)
		return
	}
	h.set(h1Quiet, true)
	if h.kept.Requests() == 0 {
		h.l.waitTimedOut(sc, &sc.info) // client_header_timeout, before its first request
	}
	s.endConn(sc)
}

// waitTimedOut logs a connection whose first request did not begin in
// client_header_timeout.
func (l *listener) waitTimedOut(sc *serverConn, info *http1.ConnInfo) {
	sock := l.sock.Load()
	client := ""
	if info != nil {
		client = info.RemoteAddr
	}
	sc.addrIn(sock).WaitTimedOut(l.srv.log, sc.h1.connID, client, sock.Listen.Addr)
}

// handshakeEnded logs a connection of an ssl address that timed out
// (client_header_timeout) or closed before its handshake ended; other
// failures are the handshake's own to log.
func (l *listener) handshakeEnded(sc *serverConn, info *http1.ConnInfo, err error) {
	what := "client closed connection"
	switch {
	case isTimeout(err):
		what = "client timed out (110: Connection timed out)"
	case !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF):
		return
	}
	sock := l.sock.Load()
	client := ""
	if info != nil {
		client = info.RemoteAddr
	}
	sc.addrIn(sock).HandshakeEnded(l.srv.log, sc.h1.connID, what, client, sock.Listen.Addr)
}

// resume runs a parked connection again: its next request's bytes (or
// its end) arrived, or a stop or a drain closes it.
func (l *listener) resume(sc *serverConn) {
	l.unparked(sc)
	if !l.serveRequests(sc, sc.h1.x.HTTP1().Requests == 0) {
		l.srv.endConn(sc)
	}
}

// unpark takes a parked connection off the poller to end it (its socket
// was closed): a goroutine runs it to its end.
func (sc *serverConn) unpark() {
	if sc.h1.waker.Unpark() {
		go sc.resumer().Resume()
	}
}

// endConn ends a connection: what its goroutine's end released before
// connections could park.
func (s *Server) endConn(sc *serverConn) {
	h := &sc.h1
	// An HTTP/1 connection bound to an exchange runs: it left
	// idleTimers as it was woken (serveConn, unparked) and parks only
	// unbound, so a look there (a lock, ~40 instructions) finds nothing.
	if !h.x.Bound() || sc.h2() != nil {
		s.idleTimers.Remove(sc)
	}
	if h.x.Bound() {
		h.rt = h.x.Router()
	}
	if h.rt != nil {
		s.release(h.rt)
	}
	// Its TLS socket I/O (an http1.Sock, 6 objects) goes back to its
	// pool at the end, as when the connection parks, unless another
	// goroutine may still be in it: HTTP/2's reader, a tunnel's copy. A
	// parked connection (x unbound) gave it back already.
	giveBack := false
	if c := h.x.HTTP1(); c != nil {
		giveBack = h.tconn != nil && sc.h2() == nil && !c.Hijacked() && !c.TunnelDetached()
		h.x.Release()
		c.Free()
		h.x = location.Conn{}
	} else {
		upstream.ForgetClient(http1.SocketOf(sc.conn()))
	}
	// Its slot is free, and it is no longer counted (stub_status's active
	// and waiting), before the client can see it closed: nginx's
	// ngx_http_close_connection counts it out before its close().
	s.releaseSlot(sc)
	s.setReusable(sc, false)
	s.counters.Stats.Active.Add(-1) // counted in acceptLoop
	// A TLS connection ends with close_notify, as ngx_ssl_shutdown sends
	// it, unless it timed out or failed (quiet shutdown): OpenSSL clients
	// forget a TLS 1.2 session whose connection ended without one.
	if h.tconn != nil && !h.has(h1Quiet) {
		h.tconn.Close()
	}
	sc.nc.Close()
	if giveBack {
		location.EndTLS(h.tconn) // after close_notify: nothing more is written
	}
	if tlsEnded != nil && h.tconn != nil {
		tlsEnded(h.tconn)
	}
	if o := sc.order(); o != nil {
		o.Pass()
	}
	s.untrack(sc)
	sc.unref(connLive)
}

// tlsEnded, when set (tests), is told of each TLS connection endConn
// ended, before its record may be reused.
var tlsEnded func(*tls.Conn)

// isTimeout reports a deadline's error (client_header_timeout).
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
