package location

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/rewrite/http1"
	"github.com/gonginx/gonginx/upstream"
)

// StartOptions configure Start.
type StartOptions struct {
	Compile Options
	// ErrorLog receives nginx-format error lines (stderr when nil).
	ErrorLog io.Writer
	// Logger replaces ErrorLog when set (shared across reloads).
	Logger *Logger
	// Listeners pre-opened by the caller, by nginx address text
	// ("127.0.0.1:9000"); others are opened by Start.
	Listeners map[string]net.Listener
	// InheritedOnly makes a socket missing from Listeners an error: a
	// worker serves only what its master bound.
	InheritedOnly bool
	// Hold keeps Start from accepting until Serve is called, so a worker
	// can drop its privileges between loading keys and serving.
	Hold bool
	// Counters, when set, are shared with other processes (a worker's
	// point into memory its master shares with all workers); nil: the
	// server's own.
	Counters *Counters
}

// Counters are what nginx keeps in shared memory for all its workers:
// the connection serial number ($connection) and stub_status's counters.
type Counters struct {
	Conn  atomic.Uint64
	Stats rewrite.ConnStats
}

// Server runs a Router on its listen sockets. Reload swaps in a new
// configuration atomically; connections pick it up at their next request.
type Server struct {
	opts StartOptions
	log  *Logger

	mu        sync.Mutex
	listeners map[string]*listener // by socket address text
	conns     map[*serverConn]struct{}
	wg        sync.WaitGroup
	closing   atomic.Bool
	rt        atomic.Pointer[Router]
	// routers are the configurations in use: the current one, and old
	// ones some connection or tunnel still runs under.
	routers  []*Router
	done     chan struct{}
	counters *Counters
	held     []*listener // accept loops waiting for Serve
}

type listener struct {
	ln   net.Listener
	sock atomic.Pointer[Socket]
	tls  atomic.Pointer[tls.Config]
	srv  *Server
}

type serverConn struct {
	nc   net.Conn
	idle atomic.Bool
}

// Start compiles cfg and listens on its sockets.
func Start(cfg *nginxconf.Config, opts StartOptions) (*Server, error) {
	opts.Compile.LoadCerts, opts.Compile.Serving = true, true
	rt, err := Compile(cfg, opts.Compile)
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, listeners: map[string]*listener{}, conns: map[*serverConn]struct{}{}, done: make(chan struct{})}
	if s.counters = opts.Counters; s.counters == nil {
		s.counters = &Counters{}
	}
	s.log = opts.Logger
	if s.log == nil {
		s.log = NewLogger(opts.ErrorLog)
	}
	if opts.Hold {
		s.held = []*listener{}
	}
	if err := s.apply(rt); err != nil {
		s.closeListeners()
		return nil, err
	}
	return s, nil
}

// Serve starts accepting on the listeners of a Start with Hold.
func (s *Server) Serve() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.held {
		s.wg.Add(1)
		go l.acceptLoop()
	}
	s.held = nil
}

// Router returns the configuration being served.
func (s *Server) Router() *Router { return s.rt.Load() }

// Logger returns the server's logger.
func (s *Server) Logger() *Logger { return s.log }

// Addrs returns the bound addresses, in socket order.
func (s *Server) Addrs() []net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []net.Addr
	for _, sock := range s.rt.Load().Sockets {
		if l := s.listeners[sock.Listen.Addr]; l != nil {
			out = append(out, l.ln.Addr())
		}
	}
	return out
}

// Reload compiles cfg and, when it compiles, serves it: sockets still in
// the configuration keep their listener, new ones are opened, and gone
// ones closed. On error the old configuration keeps serving.
func (s *Server) Reload(cfg *nginxconf.Config) error {
	opts := s.opts.Compile
	opts.LoadCerts, opts.Serving = true, true
	rt, err := Compile(cfg, opts)
	if err != nil {
		return err
	}
	return s.apply(rt)
}

// apply opens missing listeners, installs rt, and closes listeners whose
// socket is gone.
func (s *Server) apply(rt *Router) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	type pending struct {
		l    *listener
		sock *Socket
		tc   *tls.Config
		new  bool
	}
	var todo []pending
	keep := map[string]bool{}
	for _, sock := range rt.Sockets {
		tc, err := buildTLS(sock, rt, s.log)
		if err != nil {
			return err
		}
		key := sock.Listen.Addr
		keep[key] = true
		if l := s.listeners[key]; l != nil {
			todo = append(todo, pending{l: l, sock: sock, tc: tc})
			continue
		}
		ln, err := s.listen(sock.Listen)
		if err != nil {
			for _, p := range todo {
				if p.new {
					p.l.ln.Close()
				}
			}
			return err
		}
		todo = append(todo, pending{l: &listener{ln: ln, srv: s}, sock: sock, tc: tc, new: true})
	}
	old := s.rt.Load()
	s.rt.Store(rt)
	s.routers = append(s.routers, rt)
	if old != nil {
		// Nothing new goes to the old configuration's backends: its idle
		// keep-alive connections close now, the ones in use when their
		// request ends (as nginx's old workers close theirs as they exit).
		if old.groups != nil {
			old.groups.Retire()
		}
		if old.users == 0 {
			s.dropRouter(old)
		}
	}
	for _, p := range todo {
		p.l.sock.Store(p.sock)
		p.l.tls.Store(p.tc)
		if p.new {
			s.listeners[p.sock.Listen.Addr] = p.l
			if s.opts.Hold && s.held != nil {
				s.held = append(s.held, p.l)
				continue
			}
			s.wg.Add(1)
			go p.l.acceptLoop()
		}
	}
	for key, l := range s.listeners {
		if !keep[key] {
			l.ln.Close()
			delete(s.listeners, key)
		}
	}
	return nil
}

// acquire returns the configuration being served, counted as used by
// one more connection until release.
func (s *Server) acquire() *Router {
	s.mu.Lock()
	defer s.mu.Unlock()
	rt := s.rt.Load()
	rt.users++
	return rt
}

// release ends one connection's use of rt; an old configuration no
// connection uses any more is dropped.
func (s *Server) release(rt *Router) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rt.users--
	if rt.users == 0 && rt != s.rt.Load() {
		s.dropRouter(rt)
	}
}

// switchRouter moves a connection from rt to the configuration being
// served, which it returns.
func (s *Server) switchRouter(rt *Router) *Router {
	cur := s.acquire()
	s.release(rt)
	return cur
}

// dropRouter forgets an old configuration (called with s.mu held).
func (s *Server) dropRouter(rt *Router) {
	for i, r := range s.routers {
		if r == rt {
			s.routers = append(s.routers[:i], s.routers[i+1:]...)
			break
		}
	}
}

// listen opens one socket as nginx would for l.
func (s *Server) listen(l *Listen) (net.Listener, error) {
	if ln, ok := s.opts.Listeners[l.Addr]; ok {
		return ln, nil
	}
	if s.opts.InheritedOnly {
		return nil, fmt.Errorf("socket %s was not inherited from the master process", l.Addr)
	}
	return ListenSocket(l)
}

// ListenSocket opens one socket as nginx would for l; errors read as
// nginx's "bind() to ADDR failed (13: Permission denied)".
func ListenSocket(l *Listen) (net.Listener, error) {
	network, addr := l.Network, ""
	switch l.Network {
	case "unix":
		addr = l.Path
	case "tcp6":
		addr = net.JoinHostPort(l.IP.String(), strconv.Itoa(l.Port))
		if !l.IPv6Only {
			network = "tcp"
		}
	default:
		addr = net.JoinHostPort(l.IP.String(), strconv.Itoa(l.Port))
	}
	lc := net.ListenConfig{Control: func(network, address string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			if l.ReusePort {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, 0xf /* SO_REUSEPORT */, 1)
			}
			if serr == nil && l.RcvBuf > 0 {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, l.RcvBuf)
			}
			if serr == nil && l.SndBuf > 0 {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF, l.SndBuf)
			}
		})
		if err != nil {
			return err
		}
		return serr
	}}
	ln, err := lc.Listen(context.Background(), network, addr)
	if err != nil {
		return nil, &bindError{msg: fmt.Sprintf("bind() to %s failed (%s)", l.Addr, nginxconf.ErrnoText(err)), err: err}
	}
	return ln, nil
}

// bindError reads as nginx's message and unwraps to the cause (errors.Is
// with syscall.EADDRINUSE).
type bindError struct {
	msg string
	err error
}

func (e *bindError) Error() string { return e.msg }
func (e *bindError) Unwrap() error { return e.err }

// appendLower appends b to dst with ASCII letters lowercased (a lookup
// key built in a per-request scratch buffer).
func appendLower(dst, b []byte) []byte {
	for _, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

func (l *listener) acceptLoop() {
	defer l.srv.wg.Done()
	var delay time.Duration
	for {
		nc, err := l.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || l.srv.closing.Load() {
				return
			}
			// Out of descriptors and the like: back off as net/http does.
			if delay == 0 {
				delay = 5 * time.Millisecond
			} else if delay *= 2; delay > time.Second {
				delay = time.Second
			}
			l.srv.log.Log("alert", "accept() failed ("+nginxconf.ErrnoText(err)+")")
			time.Sleep(delay)
			continue
		}
		delay = 0
		sc := &serverConn{nc: nc}
		if !l.srv.track(sc) {
			nc.Close()
			return
		}
		// Counted here, before the next accept, as nginx's
		// ngx_stat_active: a connection counts (as waiting) from the
		// moment it is accepted, even before its goroutine runs.
		stats := &l.srv.counters.Stats
		stats.Active.Add(1)
		stats.Accepted.Add(1)
		go l.serveConn(sc)
	}
}

func (s *Server) track(sc *serverConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() {
		return false
	}
	s.conns[sc] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *Server) untrack(sc *serverConn) {
	s.mu.Lock()
	delete(s.conns, sc)
	s.mu.Unlock()
	s.wg.Done()
}

// peekedConn replays the byte read to tell TLS from plain HTTP. The
// handshake records on it what the variables need; mute drops what
// crypto/tls writes after a rejected handshake's own alert.
type peekedConn struct {
	net.Conn
	first  []byte
	info   *http1.ConnInfo
	connID uint64
	mute   bool
}

func (p *peekedConn) Write(b []byte) (int, error) {
	if p.mute {
		return 0, net.ErrClosed
	}
	return p.Conn.Write(b)
}

func (p *peekedConn) Read(b []byte) (int, error) {
	if len(p.first) > 0 {
		n := copy(b, p.first)
		p.first = p.first[n:]
		return n, nil
	}
	return p.Conn.Read(b)
}

// CloseWrite lets the proxy half-close through the wrapper.
func (p *peekedConn) CloseWrite() error {
	if cw, ok := p.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

func (l *listener) serveConn(sc *serverConn) {
	defer l.srv.untrack(sc)
	stats := &l.srv.counters.Stats // counted in acceptLoop
	defer stats.Active.Add(-1)
	nc := sc.nc
	// A TLS connection ends with close_notify, as ngx_ssl_shutdown sends
	// it, unless it timed out or failed (quiet shutdown): OpenSSL clients
	// forget a TLS 1.2 session whose connection ended without one.
	var tconn *tls.Conn
	quiet := false
	defer func() {
		if tconn != nil && !quiet {
			tconn.Close()
		}
		nc.Close()
	}()
	sock := l.sock.Load()
	rt := l.srv.acquire()
	info := &http1.ConnInfo{}
	var localIP net.IP
	if ta, ok := nc.LocalAddr().(*net.TCPAddr); ok {
		localIP = ta.IP
		info.ServerAddr, info.ServerPort = ipText(ta.IP), strconv.Itoa(ta.Port)
	}
	if ra, ok := nc.RemoteAddr().(*net.TCPAddr); ok {
		info.RemoteAddr, info.RemotePort = ipText(ra.IP), strconv.Itoa(ra.Port)
	} else {
		info.RemoteAddr = "unix:"
	}
	addr := sock.addrFor(localIP)
	conf := addr.Default.root.conf
	connID := l.srv.counters.Conn.Add(1) // nginx numbers connections as accepted
	// One client_header_timeout runs from accept through the handshake
	// to the end of the first request's head (ngx_http_init_connection).
	accepted := time.Now()
	var headerDeadline time.Time
	if conf.headerTimeout > 0 {
		headerDeadline = accepted.Add(conf.headerTimeout)
	}
	toHTTPS := false
	conn := nc
	if tc := l.tls.Load(); tc != nil && addr.tls() {
		nc.SetReadDeadline(headerDeadline)
		var b [1]byte
		n, err := io.ReadFull(nc, b[:])
		if n == 0 || err != nil {
			l.srv.release(rt)
			return
		}
		pc := &peekedConn{Conn: nc, first: b[:n], info: info, connID: connID}
		if b[0] == 0x16 || b[0]&0x80 != 0 {
			t := tls.Server(pc, tc)
			if err := t.Handshake(); err != nil {
				l.srv.release(rt)
				return
			}
			info.TLS = true
			tconn = t
			info.SNI = lowerASCII(t.ConnectionState().ServerName)
			if ti, ok := info.SSL.(*tlsInfo); ok {
				ti.state = t.ConnectionState()
				rand.Read(ti.sessionID[:])
			}
			conn = t
		} else {
			toHTTPS = true
			conn = pc
		}
		nc.SetReadDeadline(time.Time{})
	}
	c := http1.NewConn(conn, info)
	defer c.Release()
	x := newExchange(rt, c, l.srv.log)
	defer x.release()
	defer func() { l.srv.release(x.rt) }() // runs before x.release: x.rt is still set
	x.toHTTPS = toHTTPS
	x.connID = connID
	x.connStart = accepted
	c.HeaderDeadline = headerDeadline
	x.stats = stats
	reading := false
	c.OnRequestBytes = func() { // once per connection
		reading = true
		stats.Reading.Add(1)
		stats.Requests.Add(1)
	}
	first := true
	for {
		// A new request is read under its address's default server
		// (the keepalive wait under the last request's location).
		c.HeaderTimeout = conf.headerTimeout
		c.Limits = conf.limits
		if addr.hostLimits {
			x.hostAddr = addr
			c.Limits.ForHost, c.Limits.MaxHeadAll = x.forHost, addr.maxHead
		}
		c.ReadTimeout = conf.bodyTimeout
		c.WriteTimeout = conf.sendTimeout
		sc.idle.Store(!first)
		if l.srv.closing.Load() && !first {
			return
		}
		// A connection waits for its next request until bytes arrive
		// (OnRequestBytes), then reads it.
		req, err := c.ReadRequest()
		if reading {
			reading = false
			stats.Reading.Add(-1)
		}
		sc.idle.Store(false)
		first = false
		if err != nil {
			var perr *http1.Error
			quiet = !errors.As(err, &perr)
			switch {
			case errors.As(err, &perr):
				x.useCurrent(l.srv)
				x.badRequest(l.sock.Load().addrFor(localIP), perr)
				x.accessLog()
				x.lingeringClose(sc, conn)
			case errors.Is(err, http1.ErrRequestTimeout):
				x.useCurrent(l.srv)
				x.timedOut(l.sock.Load().addrFor(localIP))
				x.accessLog()
				x.resetIfTimedOut(x.srv.root.conf)
			}
			return
		}
		x.useCurrent(l.srv)
		sock = l.sock.Load()
		addr = sock.addrFor(localIP)
		stats.Writing.Add(1)
		x.serve(addr, req)
		// nginx no longer counts the request writing when it logs it.
		stats.Writing.Add(-1)
		x.accessLog()
		x.st.DropBodyFile() // the request's end, as nginx's pool cleanup
		if c.Hijacked() {
			return
		}
		conf = addr.Default.root.conf
		last := x.srv.root.conf
		if x.loc != nil {
			last = x.loc.conf
		}
		c.IdleTimeout = last.keepalive
		if errors.Is(c.WriteErr(), os.ErrDeadlineExceeded) {
			x.resetIfTimedOut(last) // send_timeout passed
		}
		quiet = x.status == 499 || x.status == 408
		if !c.KeepAlive() || x.toHTTPS || x.status == 444 || x.status == 499 || x.status == 408 {
			if x.status != 444 && x.status != 499 && x.status != 408 { // nginx closes these at once
				x.lingeringClose(sc, conn)
			}
			return
		}
	}
}

// lingeringClose is ngx_http_set_lingering_close: when the client may
// still be sending (lingering_close on and input left unread, or always),
// the write side is shut down (after TLS's close_notify) and what arrives
// is read and dropped until the client closes, lingering_timeout passes
// without data or lingering_time in all. Closing at once would make the
// kernel answer the unread bytes with a reset, which can destroy the
// response (a 413, a 400) before the client has read it.
func (x *exchange) lingeringClose(sc *serverConn, conn net.Conn) {
	conf := x.srv.root.conf
	if x.loc != nil {
		conf = x.loc.conf
	}
	if conf.lingering == lingerOff || conf.lingering == lingerOn && !x.c.UnreadInput() {
		return
	}
	sc.idle.Store(true) // a graceful stop closes it at once
	deadline := time.Now().Add(conf.lingeringTime)
	if !x.c.BodyDone() {
		// nginx first goes on discarding the body, its write side open
		// (ngx_http_discarded_request_body_handler), then lingers.
		if x.c.DiscardBody(conf.lingeringWait, deadline) != nil {
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
	if !ok || cw.CloseWrite() != nil {
		return
	}
	buf := make([]byte, 4096) // an error path: no pooling needed
	for {
		wait := time.Until(deadline)
		if wait <= 0 {
			return
		}
		wait = min(wait, conf.lingeringWait)
		nc.SetReadDeadline(time.Now().Add(wait))
		if _, err := nc.Read(buf); err != nil {
			return
		}
	}
}

func ipText(ip net.IP) string {
	if v4 := ip.To4(); v4 != nil {
		return v4.String()
	}
	return ip.String()
}

// useCurrent moves the exchange to the configuration being served, if a
// reload replaced its own.
func (x *exchange) useCurrent(s *Server) {
	if s.rt.Load() != x.rt {
		x.rebind(s.switchRouter(x.rt))
	}
}

// rebind moves a connection's exchange to a reloaded configuration.
func (x *exchange) rebind(rt *Router) {
	x.rt = rt
	if len(x.st.Values) < rt.slots || x.st.Values == nil {
		x.st.Values = make([][]byte, rt.slots)
		x.st.Valid = make([]bool, rt.slots)
	}
}

// badRequest answers a request the parser rejected with its status.
func (x *exchange) badRequest(addr *Addr, perr *http1.Error) {
	req := x.c.Request()
	x.req, x.addr = req, addr
	x.st.Reset(req)
	x.startState()
	if len(req.Method) == 0 {
		x.st.RequestLine = x.c.FirstLine()
	}
	x.srv = addr.Default
	if len(req.Host) > 0 {
		x.srv = addr.selectServer(req.Host, &x.st)
	}
	// The server's own configuration, not what the connection's previous
	// request ended in (add_header always applies to a 400).
	x.loc, x.curConf = nil, nil
	x.errStatus, x.inErrPage, x.redirLoc = 0, false, nil
	// nginx logs these at "info", below the default error_log level.
	// A request line parsed whole as HTTP/0.9 gets a bare body; one
	// rejected earlier reads as HTTP/1.0 (http1's default) and gets a head.
	x.special(perr.Status)
	x.c.Finish()
}

// timedOut logs a request whose head did not arrive within
// client_header_timeout: nginx closes it with 408 and sends nothing.
func (x *exchange) timedOut(addr *Addr) {
	req := x.c.Request()
	x.req, x.addr = req, addr
	x.st.Reset(req)
	x.st.Start = time.Now()
	if len(req.Method) == 0 {
		x.st.RequestLine = x.c.FirstLine()
	}
	x.srv, x.loc = addr.Default, nil
	x.status = 408
}

// accessLog writes the access log lines for the request just served.
func (x *exchange) accessLog() {
	conf := x.srv.root.conf
	if x.loc != nil {
		conf = x.loc.conf
	}
	x.writeAccessLogs(conf)
}

// Shutdown stops accepting, closes idle connections and waits for
// in-flight requests to finish (SIGQUIT); when ctx ends first the rest
// are closed too.
func (s *Server) Shutdown(ctx context.Context) error {
	s.closing.Store(true)
	s.closeListeners()
	s.closeConns(true)
	waited := make(chan struct{})
	go func() { s.wg.Wait(); close(waited) }()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-waited:
			s.closeBackends()
			s.log.Close()
			return nil
		case <-tick.C:
			s.closeConns(true)
		case <-ctx.Done():
			s.closeTunnels()
			s.closeConns(false)
			<-waited
			s.closeBackends()
			s.log.Close()
			return ctx.Err()
		}
	}
}

// Close stops at once (SIGTERM/SIGINT): listeners and connections close.
func (s *Server) Close() error {
	s.closing.Store(true)
	s.closeListeners()
	s.closeTunnels()
	s.closeConns(false)
	s.stopResolvers()
	s.wg.Wait()
	s.closeBackends()
	s.log.Close()
	return nil
}

// stopResolvers ends name lookups in flight: a request waiting for a
// silent name server must not hold a stopping server for resolver_timeout.
func (s *Server) stopResolvers() { s.eachGroups((*upstream.Groups).StopResolvers) }

// closeBackends closes the idle keep-alive backend connections of every
// configuration once no request runs (a stop).
func (s *Server) closeBackends() { s.eachGroups((*upstream.Groups).Retire) }

// eachGroups calls f on the upstream groups of every configuration served.
func (s *Server) eachGroups(f func(*upstream.Groups)) {
	s.mu.Lock()
	routers := append([]*Router(nil), s.routers...)
	s.mu.Unlock()
	for _, rt := range routers {
		if rt.groups != nil {
			f(rt.groups)
		}
	}
}

func (s *Server) closeTunnels() {
	s.mu.Lock()
	routers := append([]*Router(nil), s.routers...)
	s.mu.Unlock()
	for _, rt := range routers {
		if rt.groups != nil && rt.groups.Tunnels != nil {
			rt.groups.Tunnels.CloseAll()
		}
	}
}

func (s *Server) closeListeners() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, l := range s.listeners {
		l.ln.Close()
		delete(s.listeners, k)
	}
}

func (s *Server) closeConns(idleOnly bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for sc := range s.conns {
		if !idleOnly || sc.idle.Load() {
			sc.nc.Close()
		}
	}
}

// WritePid writes the pid file when the configuration names one.
func WritePid(path string) error {
	if path == "" {
		return nil
	}
	return os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644)
}
