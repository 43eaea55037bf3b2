package server

import (
	"cmp"
	"crypto/tls"
	"errors"
	"net"
	"slices"
	"syscall"
	"time"
	"unsafe"

	"github.com/gonginx/gonginx/location"
	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite/http1"
	"github.com/gonginx/gonginx/upstream"
	"github.com/gonginx/gonginx/upstream/poller"
)

// newListener serves ln: a TCP socket's connections are the poller's
// own sockets (poller.Conn: accepted with raw system calls, waiting on
// the process's poller, their local address read only when needed), as
// nginx's; an accepted socket keeps the listening socket's keep-alive
// as the kernel gives it.
func newListener(s *Server, ln net.Listener) *listener {
	l := &listener{ln: ln, srv: s}
	if ta, ok := ln.Addr().(*net.TCPAddr); ok {
		l.port = uint16(ta.Port)
		if !ta.IP.IsUnspecified() {
			l.ip, l.ipPort, l.ipText = ta.IP, ta.Port, http1.AddrText(ipText(ta.IP))
		}
	}
	if acc, err := poller.NewAcceptor(ln); err == nil {
		l.acc = acc
	} else {
		l.ka = readKeepalive(ln)
	}
	return l
}

// close closes the listening socket.
func (l *listener) close() {
	if l.acc != nil {
		l.acc.Close()
		return
	}
	l.ln.Close()
}

// accept takes the next connection, for sc: the socket a connection
// that had sc left (unref) is taken for it.
func (l *listener) accept(sc *serverConn) (net.Conn, error) {
	if l.acc == nil {
		return l.ln.Accept()
	}
	spare, _ := sc.nc.(*poller.Conn)
	sc.nc = nil
	c, err := l.acc.Accept(spare)
	if err != nil {
		return nil, err
	}
	return c, nil
}

func (l *listener) acceptLoop() {
	defer l.srv.wg.Done()
	var delay time.Duration
	// sc is the next connection's record, taken before its accept: a
	// record connRecs kept holds its connection's socket, recycled, for
	// the accept to take.
	var sc *serverConn
	for {
		if sc == nil {
			// Zeroed (unref) but for nc.
			if sc = connRecs.Get(); sc == nil {
				sc = new(serverConn)
			}
		}
		nc, err := l.accept(sc)
		if err != nil {
			if errors.Is(err, net.ErrClosed) || l.srv.closing.Load() {
				return
			}
			// ngx_event_accept: out of descriptors is "crit" and accepting
			// waits accept_mutex_delay (500ms); other errors back off as
			// net/http does.
			level := "alert"
			if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				level, delay = "crit", 500*time.Millisecond
			} else if delay == 0 {
				delay = 5 * time.Millisecond
			} else if delay *= 2; delay > time.Second {
				delay = time.Second
			}
			l.srv.log.Log(level, "accept4() failed ("+nginxconf.ErrnoText(err)+")")
			time.Sleep(delay)
			continue
		}
		delay = 0
		// ngx_event_accept: without a free connection the socket is
		// closed at once.
		if !l.srv.slots.Take() {
			l.srv.log.Log("alert", l.srv.slots.NotEnough())
			nc.Close()
			continue
		}
		l.ka.apply(nc)
		sc.nc = nc
		if pc, ok := nc.(*poller.Conn); ok {
			// $remote_addr's text is shared with the connection before
			// from the same client (a browser's several connections, a
			// balancer's many): a string less that each holds.
			ap := pc.RemoteAddrPort() // no net.TCPAddr made
			if ip := ap.Addr().Unmap(); ip != l.lastIP || l.lastIPText == "" {
				l.lastIP, l.lastIPText = ip, ip.String()
			}
			sc.info.RemoteAddr, sc.info.RemotePort = l.lastIPText, ap.Port()
		}
		sc.flags.Or(connSlot | connLive)
		l.srv.setReusable(sc, true) // ngx_http_init_connection
		if l.srv.rt.Load().OrdersFirst() {
			e := &connExt{order: &orderedConn{}}
			sc.ext.Store(e)
			l.srv.order.add(e.order)
		}
		if !l.srv.track(sc) {
			nc.Close()
			l.srv.releaseSlot(sc)
			return
		}
		// Numbered here, in accept order, as ngx_event_accept numbers
		// them: in the connection's goroutine, two accepted together
		// (a burst, a backlog at start) took their numbers in the
		// order their goroutines ran.
		sc.h1.connID = l.srv.counters.Conn.Add(1)
		l.srv.slots.Opened(connFD(nc), sc.h1.connID)
		// Counted here, before the next accept, as nginx's
		// ngx_stat_active: a connection counts (as waiting) from the
		// moment it is accepted, even before its goroutine runs.
		stats := &l.srv.counters.Stats
		stats.Active.Add(1)
		stats.Accepted.Add(1)
		// A goroutine that served a connection before has its stack
		// grown already; a new one grows it through the proxy's calls,
		// copying it twice or more per connection.
		sc.h1.l = l
		if !l.parkNew(sc) {
			upstream.GoResume((*connStart)(sc))
		}
		sc = nil
	}
}

// track registers an accepted connection. During a graceful stop one
// accepted before the listener closed is still served (its request is in
// its socket: closing it unread would reset it, where nginx serves it);
// after an immediate stop it is refused.
func (s *Server) track(sc *serverConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped.Load() {
		return false
	}
	sc.next = s.conns
	if s.conns != nil {
		s.conns.prev = sc
	}
	s.conns = sc
	s.wg.Add(1)
	return true
}

func (s *Server) untrack(sc *serverConn) {
	s.mu.Lock()
	if sc.prev != nil {
		sc.prev.next = sc.next
	} else if s.conns == sc {
		s.conns = sc.next
	}
	if sc.next != nil {
		sc.next.prev = sc.prev
	}
	sc.prev, sc.next = nil, nil
	s.mu.Unlock()
	s.releaseSlot(sc)
	s.wg.Done()
}

// releaseSlot gives back the connection's worker_connections slot unless
// a drain took it.
func (s *Server) releaseSlot(sc *serverConn) {
	if sc.flags.And(^uint32(connSlot))&connSlot != 0 {
		s.slots.Release()
	}
}

// setReusable marks a connection reusable (ngx_reusable_connection):
// waiting for a request with no byte of it read, or lingering.
// A reusable connection counts as waiting ($connections_waiting, stub
// status), as nginx counts ngx_stat_waiting there: a request being served
// or logged is not waiting. Only the connection's own goroutine (or the
// accept loop before it starts) calls it.
func (s *Server) setReusable(sc *serverConn, on bool) {
	if !on {
		// Load first: a Swap is a locked instruction, and a request's
		// second clear (after RequestBytes's) finds it clear.
		if sc.reusable.Load() != 0 && sc.reusable.Swap(0) != 0 {
			s.counters.Stats.Waiting.Add(-1)
		}
	} else if sc.reusable.Load() == 0 {
		sc.reusable.Store(s.reuseSeq.Add(1))
		s.counters.Stats.Waiting.Add(1)
	}
}

// drainReusable is ngx_drain_connections, called when few
// worker_connections are free: it closes the reusable connections that
// became so first (an eighth of them, 1 to 32), their slots free when it
// returns.
func (s *Server) drainReusable() {
	s.mu.Lock()
	type candidate struct {
		sc  *serverConn
		seq int64
	}
	var reusable []candidate // a drain is rare: it may allocate
	for sc := s.conns; sc != nil; sc = sc.next {
		// One closing has given its slot back already.
		if seq := sc.reusable.Load(); seq != 0 && sc.hasSlot() {
			reusable = append(reusable, candidate{sc, seq})
		}
	}
	if len(reusable) == 0 {
		s.mu.Unlock()
		return
	}
	slices.SortFunc(reusable, func(a, b candidate) int { return cmp.Compare(a.seq, b.seq) })
	for _, c := range reusable[:upstream.DrainCount(len(reusable))] {
		s.releaseSlot(c.sc)
		if h2 := c.sc.h2(); h2 != nil {
			h2.Drain() // GOAWAY first, by its reader
			continue
		}
		c.sc.nc.Close()
		c.sc.unpark()
	}
	s.mu.Unlock()
	if s.slots.ShouldWarn(time.Now()) {
		s.log.Log("warn", s.slots.ReusingMessage())
	}
}

func (l *listener) serveConn(sc *serverConn) {
	h := &sc.h1
	parked := false
	defer func() {
		if !parked {
			l.srv.endConn(sc)
		}
	}()
	nc := sc.nc
	sock := l.sock.Load()
	h.rt = l.srv.acquire()
	info := &sc.info
	if pc, ok := nc.(*poller.Conn); ok && pc.KnownLocalAddr() == nil && l.port != 0 {
		// A wildcard listener's: its address is read (getsockname)
		// when $server_addr or the port's several addresses ask, as
		// nginx's ngx_connection_local_sockaddr.
		info.ServerPort, info.Local = l.port, pc
	} else if ta, ok := nc.LocalAddr().(*net.TCPAddr); ok {
		if l.ipText != nil && ta.IP.Equal(l.ip) && ta.Port == l.ipPort {
			// The listener's own address: its text, not a copy per
			// connection.
			info.Local, info.ServerPort = l.ipText, l.port
		} else {
			info.Local, info.ServerPort = http1.AddrText(ipText(ta.IP)), uint16(ta.Port)
		}
	}
	if _, ok := nc.(*poller.Conn); ok {
		// Its client's address is set (acceptLoop).
	} else if ra, ok := nc.RemoteAddr().(*net.TCPAddr); ok {
		info.RemoteAddr, info.RemotePort = ipText(ra.IP), uint16(ra.Port)
	} else {
		info.RemoteAddr = "unix:"
	}
	// debug_connection matches the socket's peer, before any PROXY header.
	debugConn := h.rt.Debug.Match(info.RemoteAddr)
	addr := sc.addrIn(sock)
	// One client_header_timeout runs from accept through the handshake
	// to the end of the first request's head (ngx_http_init_connection).
	var accepted, headerDeadline time.Time
	fresh := h.has(h1Fresh) // parked since its accept (parkNew)
	if fresh {
		// Its times are set on the monotonic scale (h.idleUntil the
		// head's deadline), and it reads no PROXY header and makes no
		// handshake, which take headerDeadline.
		h.set(h1Fresh, false)
		l.srv.idleTimers.Remove(sc)
		accepted = h.accepted.Time()
	} else {
		accepted = time.Now()
		h.accepted = monoOf(accepted)
		if ht := addr.HeaderTimeout(); ht > 0 {
			headerDeadline = accepted.Add(ht)
		}
	}
	if on, size, isTLS := addr.ProxyProtocol(); on && !l.readProxyHeader(nc, size, isTLS, info, h.connID, headerDeadline) {
		return
	}
	toHTTPS := false
	conn := nc
	if tc := l.tls.Load(); tc != nil && addr.TLS() {
		h.set(h1TLSAddr, true)
		if o := sc.order(); o != nil {
			o.Pass() // a handshake first: not ordered
		}
		nc.SetReadDeadline(headerDeadline)
		pc, first, err := location.PeekConn(nc, info, h.connID)
		l.srv.setReusable(sc, false)
		if err != nil {
			l.handshakeEnded(sc, info, err)
			return
		}
		if first == 0x16 || first&0x80 != 0 {
			t := tls.Server(pc, tc)
			if err := t.Handshake(); err != nil {
				if isTimeout(err) {
					l.handshakeEnded(sc, info, err)
				}
				location.EndTLS(t) // its Sock back: t is not used again
				return
			}
			h.tconn = t
			location.Handshaken(info, t)
			conn = t
			if t.ConnectionState().NegotiatedProtocol == "h2" {
				nc.SetReadDeadline(time.Time{})
				parked = l.serveHTTP2(sc, t, info, h.rt, addr, h.connID, accepted, nil)
				return
			}
		} else {
			// Plain HTTP to an ssl port: answered 400 and closed, never
			// parked (its Conn reads through pc, not sc.conn()).
			toHTTPS = true
			h.set(h1NoPark, true)
			conn = pc
		}
		nc.SetReadDeadline(time.Time{})
	}
	if addr.HTTP2() && !addr.TLS() {
		l.srv.setReusable(sc, false)
		parked = l.serveHTTP2(sc, conn, info, h.rt, addr, h.connID, accepted, nil)
		return
	}
	c := http1.NewConn(conn, info)
	h.x = location.NewConn(h.rt, c, l.srv.log, h.connID, accepted, &l.srv.counters.Stats, toHTTPS)
	h.x.SetDebugConnection(debugConn)
	h.set(h1Debug, debugConn)
	if o := sc.order(); o != nil && !o.done {
		if raw, _ := c.Socket(); raw != nil {
			o.raw.Store(&raw)
		}
		h.x.SetOrder(o)
		// Its request's bytes are read only once it shows as under way,
		// so a later connection's check never finds them gone from the
		// socket but not yet told (a later request took the cache lock
		// first under load: TestProcessCacheLockOrder).
		c.TellBeforeFirstRead = true
	}
	if !fresh {
		h.idleUntil = monoOf(headerDeadline) // serveRequests' first wait
	}
	c.Exiting = &l.srv.closing
	c.OnRequestBytes, c.Finisher = sc, sc
	c.Clock = poller.Now // one clock read per request's head
	c.TunnelOwner = true
	c.IdleGrace = idleGrace
	// One parked since its accept was woken by its first bytes (or its
	// end), reported once (the socket is edge-triggered): it reads them
	// at once, never under the grace's deadline. Read under it, a read
	// that began after the deadline (100 ms from the wake to the read on
	// a loaded machine) took nothing, and the connection parked again
	// with its request unread until client_header_timeout.
	c.NoWait = fresh
	parked = l.serveRequests(sc, true)
}

// lingeringClose is ngx_http_set_lingering_close: when the client may
// still be sending (lingering_close on and input left unread, or always),
// the write side is shut down (after TLS's close_notify) and what arrives
// is read and dropped until the client closes, lingering_timeout passes
// without data or lingering_time in all. Closing at once would make the
// kernel answer the unread bytes with a reset, which can destroy the
// response (a 413, a 400) before the client has read it.
func lingeringClose(x location.Conn, c *http1.Conn, sc *serverConn, conn net.Conn) {
	linger, total, wait := x.Linger(func() bool { return readReady(sc.nc) })
	if !linger {
		return
	}
	sc.setIdle(true) // a graceful stop closes it at once
	deadline := time.Now().Add(total)
	if !c.BodyDone() {
		// nginx first goes on discarding the body, its write side open
		// (ngx_http_discarded_request_body_handler), then lingers.
		read := c.BodyErr() == nil // a body read that failed was logged then
		if err := c.DiscardBody(wait, deadline); err != nil {
			if read {
				x.DiscardFailed(err)
			}
			return
		}
	}
	if t, ok := conn.(*tls.Conn); ok {
		if t.CloseWrite() != nil {
			return
		}
	}
	// The raw socket: after close_notify nginx reads and drops ciphertext.
	nc := sc.nc
	cw, ok := nc.(interface{ CloseWrite() error })
	if !ok {
		return
	}
	if err := cw.CloseWrite(); err != nil {
		// Closed meanwhile by the server itself (a graceful stop, a
		// drain of reusable connections): nginx's shutdown() runs
		// before anything else may close it, so it never logs that.
		if !errors.Is(err, net.ErrClosed) {
			x.ShutdownFailed(err)
		}
		return
	}
	buf := make([]byte, 4096) // an error path: no pooling needed
	for {
		w := time.Until(deadline)
		if w <= 0 {
			return
		}
		w = min(w, wait)
		nc.SetReadDeadline(time.Now().Add(w))
		if _, err := nc.Read(buf); err != nil {
			return
		}
	}
}

// readReady reports what nginx's read event would be ready with at a
// request's end: bytes unread in the socket, its end or a reset (one
// non-blocking peek; a connection closing without keep-alive only).
func readReady(nc net.Conn) bool {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	ready := false
	raw.Control(func(fd uintptr) {
		// Raw: syscall.Recvfrom enters the scheduler's syscall state,
		// which wakes the runtime's system monitor from its deep sleep.
		var b [1]byte
		_, _, errno := syscall.RawSyscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&b[0])), 1,
			syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
		ready = errno != syscall.EAGAIN && errno != syscall.EINTR
	})
	return ready
}

func ipText(ip net.IP) string {
	if v4 := ip.To4(); v4 != nil {
		return v4.String()
	}
	return ip.String()
}

// useCurrent moves the connection to the configuration being served, if
// a reload replaced its own.
func (s *Server) useCurrent(x location.Conn) {
	if rt := x.Router(); s.rt.Load() != rt {
		x.Rebind(s.switchRouter(rt))
	}
}

// connFD is nc's descriptor, -1 when it has none.
func connFD(nc net.Conn) int {
	if pc, ok := nc.(*poller.Conn); ok {
		return pc.FD()
	}
	fd := -1
	if c, ok := nc.(syscall.Conn); ok {
		if raw, err := c.SyscallConn(); err == nil {
			raw.Control(func(f uintptr) { fd = int(f) })
		}
	}
	return fd
}

// connectedStream reports whether fd is a stream socket that does not
// listen: a client's or a backend's connection, not a descriptor closed
// and reused for a file, a listener or a datagram socket.
func connectedStream(fd int) bool {
	typ, err := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_TYPE)
	if err != nil || typ != syscall.SOCK_STREAM {
		return false
	}
	acc, err := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_ACCEPTCONN)
	return err == nil && acc == 0
}
