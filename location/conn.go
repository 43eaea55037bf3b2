package location

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"strconv"
	"syscall"
	"time"

	"github.com/gonginx/gonginx/location/proxyproto"
	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/rewrite/http1"
	"github.com/gonginx/gonginx/upstream"
	"github.com/gonginx/gonginx/upstream/tlsutil"
)

// This file is the seam package location/server drives: the server owns
// sockets, handshakes, timeouts, the keep-alive loop, reload and shutdown;
// it hands each request of a connection to a Conn, which routes it
// through the phases and the content handlers.

// Conn is one client connection's exchange: the per-request state its
// requests run through, bound to one configuration. A value (no
// allocation); the exchange behind it is pooled. The handlers see the
// connection as an http1.Stream; c is the HTTP/1 connection itself, for
// what only the server sets and reads (limits, timeouts, unread input).
type Conn struct {
	x *exchange
	c *http1.Conn
}

// NewConn binds a connection to rt. id is nginx's connection number,
// accepted the accept time, stats the counters it is counted in;
// toHTTPS: plain HTTP arrived on a TLS socket (every request gets 497).
func NewConn(rt *Router, c *http1.Conn, log *Logger, id uint64, accepted time.Time, stats *rewrite.ConnStats, toHTTPS bool) Conn {
	x := newExchange(rt, c, log)
	x.toHTTPS = toHTTPS
	x.connID = id
	x.connStart = accepted
	x.stats = stats
	return Conn{x, c}
}

// SetOrder gives the connection's first request its place among the
// first requests of other connections (see Ordered); nil: none.
func (h Conn) SetOrder(o Ordered) { h.x.order = o }

// Release returns the exchange to its pool.
func (h Conn) Release() {
	if h.c.Filter == h.x {
		h.c.Filter = nil
	}
	// A connection that proxied was registered with the abort watcher.
	upstream.ForgetClient(h.c.KnownSocket())
	h.x.release()
}

// Park returns the exchange to its pool while the connection waits for
// its next request with no goroutine (as Release, but the connection
// goes on: it stays registered with the poller). NewConn binds it again,
// and Unparked gives it what Park kept.
func (h Conn) Park() Parked {
	p := Parked{h.x.lastConfOrNil()}
	h.c.Filter, h.c.DecideRate = nil, nil
	h.x.release()
	return p
}

// Parked is what a parked connection keeps of its exchange: the
// configuration where its last request ended, whose error_log the
// keepalive wait logs to (nginx's connection log stays that location's).
type Parked struct{ last *locConf }

// KeepaliveTimeout is keepalive_timeout where the parked connection's
// last request ended (Conn.KeepaliveTimeout then), 0 before its first.
func (p Parked) KeepaliveTimeout() time.Duration {
	if p.last == nil {
		return 0
	}
	return p.last.keepalive
}

// Unparked gives a connection bound again (NewConn) what Park kept.
func (h Conn) Unparked(p Parked) { h.x.parkedConf = p.last }

// HTTP1 is the connection NewConn bound (nil for the zero Conn).
func (h Conn) HTTP1() *http1.Conn { return h.c }

// Bound reports whether the Conn has an exchange (NewConn, not Park or
// the zero Conn).
func (h Conn) Bound() bool { return h.x != nil }

// Router is the configuration the connection is bound to.
func (h Conn) Router() *Router { return h.x.rt }

// Rebind moves the connection to a reloaded configuration.
func (h Conn) Rebind(rt *Router) { h.x.rebind(rt) }

// Prepare sets the limits the next request is read under: its address's
// default server's (the keepalive wait stays the last request's
// location's), or the server the Host names where an address's servers
// parse heads differently.
func (h Conn) Prepare(addr *Addr) {
	x, c := h.x, h.c
	conf := addr.Default.root.conf
	c.HeaderTimeout = conf.headerTimeout
	c.Limits = conf.limits
	if addr.hostLimits {
		x.hostAddr = addr
		c.Limits.ForHost, c.Limits.MaxHeadAll = x.forHost, addr.maxHead
	}
	c.ReadTimeout = conf.bodyTimeout
	c.WriteTimeout = conf.sendTimeout
}

// HeaderTimeout is client_header_timeout of the address's default server,
// which runs from accept through the TLS handshake.
func (a *Addr) HeaderTimeout() time.Duration { return a.Default.root.conf.headerTimeout }

// ProxyProtocol reports whether connections to the address start with a
// PROXY protocol header ("listen ... proxy_protocol" on any of its
// listen directives), and how many bytes nginx's one read of it takes:
// client_header_buffer_size of the default server, or the 108 bytes it
// peeks at on a TLS address (tls).
func (a *Addr) ProxyProtocol() (on bool, readSize int, tls bool) {
	if !a.Listen.ProxyProtocol {
		return false, 0, false
	}
	if a.TLS() {
		return true, proxyproto.MaxTLSHeader + 1, true
	}
	return true, a.Default.root.conf.limits.ClientHeaderBufferSize, false
}

// Serve runs one request through nginx's phases and writes the response.
func (h Conn) Serve(addr *Addr, req *http1.Request) {
	h.x.serve(addr, req)
	h.x.endSend()
}

// DiscardFailed logs what ended the discarding of a body after the
// response went out, as nginx's discard filter does for a bad chunk.
func (h Conn) DiscardFailed(err error) {
	if perr, ok := err.(*http1.Error); ok {
		h.x.logDiscardFailed(perr)
	}
}

// BadRequest answers a request the parser rejected with its status.
func (h Conn) BadRequest(addr *Addr, perr *http1.Error) { h.x.badRequest(addr, perr, h.c) }

// BadStreamRequest is BadRequest for an HTTP/2 stream whose header block
// was at fault: host is the Host that came before the fault, for the
// log line.
func (h Conn) BadStreamRequest(addr *Addr, perr *http1.Error, host []byte) {
	h.x.streamHost = host
	h.x.badRequest(addr, perr, h.c)
	h.x.streamHost = nil
}

// ClientClosed logs, at info, a client that closed its connection with
// no request under way, as nginx does: before its first request ("client
// closed connection while waiting for request", in the error log of the
// address's default server, listen naming the address) or between
// requests (in the log of the location its last request ended in).
func (h Conn) ClientClosed(addr *Addr, first bool, listen string) {
	x := h.x
	var logs []errorLogRule
	if first {
		logs = addr.Default.root.conf.errorLogs
	} else {
		conf := x.lastConfOrNil()
		if conf == nil {
			return
		}
		logs = conf.errorLogs
	}
	if !x.log.takes(logs, levelRank("info")) {
		return // the message is not made
	}
	id := "*" + strconv.FormatUint(x.connID, 10) + " "
	client := ""
	if info := x.c.Request().Conn; info != nil {
		client = info.RemoteAddr
	}
	if first {
		x.log.logTo(logs, "info", id+"client closed connection while waiting for request, client: "+client+", server: "+listen)
		return
	}
	// nginx drops the context here (c->log->handler = NULL).
	x.log.logTo(logs, "info", id+"client "+client+" closed keepalive connection")
}

// TimedOut records a request whose head did not arrive in time (408,
// nothing sent), logged at info as ngx_http_read_request_header does.
func (h Conn) TimedOut(addr *Addr) {
	x := h.x
	x.timedOut(addr, h.c)
	where := "headers"
	if x.req.Parsed == 0 {
		where = "line"
	}
	x.log.Logf(x, "info", "client timed out (110: Connection timed out) while reading client request %s", where)
}

// WaitTimedOut logs, at info, a connection whose first request did not
// begin within client_header_timeout, as ngx_http_wait_request_handler
// does before it closes it (no request, nothing sent): in the error log
// of the address's default server, listen naming the address.
func (a *Addr) WaitTimedOut(log *Logger, connID uint64, client, listen string) {
	log.logTo(a.Default.root.conf.errorLogs, "info", "*"+strconv.FormatUint(connID, 10)+
		" client timed out (110: Connection timed out) while waiting for request, client: "+client+", server: "+listen)
}

// ConnInfo logs, at info, a line of a connection with no request (an
// HTTP/2 connection's own): in the error log of the address's default
// server, with its number, client and listen address as nginx's
// connection log context adds them.
func (a *Addr) ConnInfo(log *Logger, connID uint64, msg, client, listen string) {
	log.logTo(a.Default.root.conf.errorLogs, "info", "*"+strconv.FormatUint(connID, 10)+" "+msg+
		", client: "+client+", server: "+listen)
}

// StreamHeaderInfo logs, at info, an error in an HTTP/2 stream's header
// block as nginx's stream log does: no request line yet, the address's
// default server, and the host when one came before the error.
func (a *Addr) StreamHeaderInfo(log *Logger, connID uint64, msg, client string, host []byte) {
	log.logTo(a.Default.root.conf.errorLogs, "info", streamHeaderLine(connID, msg, client, a.Default.Name, host))
}

func streamHeaderLine(connID uint64, msg, client, server string, host []byte) string {
	line := "*" + strconv.FormatUint(connID, 10) + " " + msg + " while reading client request headers, client: " +
		client + ", server: " + server
	if host != nil {
		line += ", host: \"" + string(host) + "\""
	}
	return line
}

// HandshakeEnded logs, at info, a connection of an ssl address that
// ended before its handshake did: what is "client timed out (110:
// Connection timed out)" (client_header_timeout) or "client closed
// connection", as ngx_http_ssl_handshake does, in the error log of the
// address's default server.
func (a *Addr) HandshakeEnded(log *Logger, connID uint64, what, client, listen string) {
	log.logTo(a.Default.root.conf.errorLogs, "info", "*"+strconv.FormatUint(connID, 10)+" "+what+
		" while SSL handshaking, client: "+client+", server: "+listen)
}

// Dropped records an HTTP/2 stream reset for a malformed field before
// it had a request: nginx logs it with status 0 ("000").
func (h Conn) Dropped(addr *Addr) {
	x := h.x
	req := x.c.Request()
	x.req, x.addr = req, addr
	x.st.Reset(req)
	x.st.Start = time.Now()
	x.srv, x.loc = addr.Default, nil
	x.status = 0
}

// LogInfo logs msg at info in the request's context (its client,
// server, request line and host).
func (h Conn) LogInfo(msg string) { h.x.log.Logf(h.x, "info", "%s", msg) }

// AccessLog writes the access log lines of the request just served.
func (h Conn) AccessLog() { h.x.accessLog() }

// TunnelEnded is a detached tunnel's end for the request
// (http1.Conn.AwaitTunnel): the error it ended with is logged as a
// proxied request's is when the proxy returns it.
func (h Conn) TunnelEnded(err error) {
	if err != nil && !isGunzipError(err) {
		h.x.logUpstreamError(err)
	}
}

// EndRequest is the request's end, as nginx's pool cleanup: its body's
// temporary file goes.
func (h Conn) EndRequest() {
	h.x.st.DropBodyFile()
	h.x.endLimitConn()
}

// Status is the status the last request ended with (444, 499 and 408
// close the connection at once).
func (h Conn) Status() int { return h.x.status }

// ToHTTPS reports plain HTTP on a TLS socket: the connection closes
// after its 497.
func (h Conn) ToHTTPS() bool { return h.x.toHTTPS }

// lastConf is the configuration the last request ended in: its location's,
// else its server's.
func (x *exchange) lastConf() *locConf {
	if x.loc != nil {
		return x.loc.conf
	}
	return x.srv.root.conf
}

// lastConfOrNil is lastConf, or a parked connection's (Unparked), or nil
// before the connection's first request.
func (x *exchange) lastConfOrNil() *locConf {
	if x.srv == nil {
		return x.parkedConf
	}
	return x.lastConf()
}

// KeepaliveTimeout is keepalive_timeout where the last request ended.
func (h Conn) KeepaliveTimeout() time.Duration { return h.x.lastConf().keepalive }

// ResetIfTimedOut closes with a reset under reset_timedout_connection,
// where the last request ended.
func (h Conn) ResetIfTimedOut() { h.x.resetIfTimedOut(h.x.lastConf()) }

// Linger is lingering_close where the last request ended: whether to
// linger (always, or on with input left unread or ready, as
// ngx_http_finalize_connection's read->ready: bytes, an end or a reset
// came since the last read), lingering_time in all and lingering_timeout
// per wait. ready is asked only when nothing else decides. A connection
// a write to failed closes at once (nginx's c->error terminates the
// request before ngx_http_finalize_connection).
func (h Conn) Linger(ready func() bool) (linger bool, total, wait time.Duration) {
	conf := h.x.lastConf()
	if conf.lingering == lingerOff || h.c.WriteErr() != nil || conf.lingering == lingerOn && !h.c.UnreadInput() && !ready() {
		return false, 0, 0
	}
	return true, conf.lingeringTime, conf.lingeringWait
}

// DiscardWaits are lingering_time in all and lingering_timeout per wait
// where the last request ended: how long nginx goes on discarding a body
// it answered without reading before the connection's next request
// (ngx_http_finalize_connection's timer, whatever lingering_close says).
func (h Conn) DiscardWaits() (total, wait time.Duration) {
	conf := h.x.lastConf()
	return conf.lingeringTime, conf.lingeringWait
}

// ShutdownFailed logs a lingering close's failed shutdown() as
// ngx_http_set_lingering_close's ngx_connection_error: a client that
// reset meanwhile is ENOTCONN, at info; the action is the one the
// request left (the upstream module's words for a proxied one).
func (h Conn) ShutdownFailed(err error) {
	x := h.x
	level := "alert"
	for _, e := range []syscall.Errno{syscall.ECONNRESET, syscall.ENOTCONN, syscall.ETIMEDOUT, syscall.ECONNREFUSED,
		syscall.ENETDOWN, syscall.ENETUNREACH, syscall.EHOSTDOWN, syscall.EHOSTUNREACH} {
		if errors.Is(err, e) {
			level = "info"
		}
	}
	action := ""
	if x.proxied || x.upstreamName != "" || x.st.UpstreamName.Named() {
		action = " while sending to client"
	}
	x.log.Logf(x, level, "shutdown() failed (%s)%s", nginxconf.ErrnoText(err), action)
}

// TLS reports whether connections to the address are TLS: "listen ...
// ssl", or "ssl on" in its default server (ngx_http_init_connection).
func (a *Addr) TLS() bool {
	return a.Listen.SSL || a.Default.SSL != nil && a.Default.SSL.Enable
}

// TLSConfig is the socket's TLS configuration, its SSL contexts built
// (certificates loaded, OCSP stapling started); nil when no address of
// the socket is TLS.
func (rt *Router) TLSConfig(sock *Socket, log *Logger) (*tls.Config, error) {
	return buildTLS(sock, rt, log)
}

// PeekConn reads what a connection of a TLS socket sent first, to tell
// TLS from plain HTTP as nginx's one-byte MSG_PEEK does, and wraps the
// connection for its handshake: what was read is read again, and the SNI
// callback records on it what the $ssl_* variables need. It returns the
// first byte, or the read's error (io.EOF: closed before a byte). One
// read takes the whole ClientHello where a byte, then crypto/tls's
// record header and the rest were three.
func PeekConn(nc net.Conn, info *http1.ConnInfo, id uint64) (net.Conn, byte, error) {
	pc := &peekedConn{Conn: nc, info: info, connID: id, sock: http1.SockFor(nc)}
	bp := peekPool.Get().(*[]byte)
	n, err := http1.ReadVia(pc.sock, nc, *bp)
	if n == 0 {
		peekPool.Put(bp)
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return nil, 0, err
	}
	pc.first, pc.peeked = (*bp)[:n], bp
	pc.ticketOffered = offersTicket(pc.first)
	return pc, pc.first[0], nil
}

// ParkTLS gives back what a TLS connection's socket I/O holds (its
// http1.Sock, ~200 bytes) and crypto/tls's input and handshake buffers
// (~3.5 KB after a handshake and a request: tlsutil.ReleaseBuffers)
// while the connection waits parked with no goroutine; UnparkTLS takes
// a Sock again before it reads, and the next record makes the buffers.
// nc is the connection's net.Conn (a *tls.Conn over PeekConn's; others
// are left).
func ParkTLS(nc net.Conn) {
	if t, ok := nc.(*tls.Conn); ok {
		tlsutil.ReleaseBuffers(t)
	}
	if pc := peekedUnder(nc); pc != nil && pc.sock != nil {
		http1.PutSock(pc.sock)
		pc.sock = nil
	}
}

// EndTLS gives a TLS connection's Sock back for good at the
// connection's end (no read or write of it runs, nor will); crypto/tls's
// buffers go with the connection.
func EndTLS(nc net.Conn) {
	if pc := peekedUnder(nc); pc != nil && pc.sock != nil {
		http1.PutSock(pc.sock)
		pc.sock = nil
	}
}

// UnparkTLS is ParkTLS undone: reads and writes are raw again.
func UnparkTLS(nc net.Conn) {
	if pc := peekedUnder(nc); pc != nil && pc.sock == nil {
		pc.sock = http1.SockFor(pc.Conn)
	}
}

// TLSSockHeld reports whether a TLS connection's socket I/O holds a
// Sock (tests: a parked one holds none).
func TLSSockHeld(nc net.Conn) bool {
	pc := peekedUnder(nc)
	return pc != nil && pc.sock != nil
}

func peekedUnder(nc net.Conn) *peekedConn {
	if t, ok := nc.(*tls.Conn); ok {
		pc, _ := t.NetConn().(*peekedConn)
		return pc
	}
	return nil
}

// Handshaken records what a finished handshake settled, for $https,
// the server name and the $ssl_* variables.
func Handshaken(info *http1.ConnInfo, t *tls.Conn) {
	info.TLS = true
	cs := t.ConnectionState()
	if ti, ok := info.SSL.(*tlsInfo); ok {
		ti.state = handshakeStateOf(cs)
		if !ti.sessionIDSet {
			rand.Read(ti.sessionID[:])
		}
		// OpenSSL verifies the chain during the handshake and keeps the
		// result with the session; a resumed session's chain is
		// verified again here.
		if v := ti.verifier; v != nil && len(ti.state.PeerCertificates) > 0 {
			var chain []*x509.Certificate
			ti.verifyCode, chain = v.verify(ti.state.PeerCertificates, time.Now())
			// ssl_ocsp asks after the handshake, a resumed one too
			// (ngx_ssl_ocsp_validate), and the request waits for it.
			if v.ocsp != nil && ti.verifyCode == x509OK {
				ti.ocspError = v.ocsp.check(chain, ti.connID, info.RemoteAddr)
			}
		}
	}
}

// RetireBackends closes the configuration's idle keep-alive backend
// connections now and the ones in use when their request ends: nothing
// new goes to its backends.
func (rt *Router) RetireBackends() { rt.eachGroups((*upstream.Groups).Retire) }

// ExitBackends closes the configuration's idle keep-alive backend
// connections at a graceful stop's start, and the ones in use when their
// request ends.
func (rt *Router) ExitBackends() { rt.eachGroups((*upstream.Groups).Exiting) }

// StopResolvers ends the configuration's name lookups in flight.
func (rt *Router) StopResolvers() { rt.eachGroups((*upstream.Groups).StopResolvers) }

// CloseTunnels closes the configuration's WebSocket and other upgraded
// tunnels.
func (rt *Router) CloseTunnels() {
	if rt.groups != nil && rt.groups.Tunnels != nil {
		rt.groups.Tunnels.CloseAll()
	}
}

// CloseLogs closes the configuration's syslog sockets, once no request
// runs under it.
func (rt *Router) CloseLogs() {
	for _, p := range rt.syslogPeers {
		p.Close()
	}
	for _, c := range rt.logCaches {
		c.close()
	}
}

func (rt *Router) eachGroups(f func(*upstream.Groups)) {
	if rt.groups != nil {
		f(rt.groups)
	}
	if rt.Stream != nil {
		f(rt.Stream.Groups())
	}
}

// rebind moves a connection's exchange to a reloaded configuration.
func (x *exchange) rebind(rt *Router) {
	x.rt = rt
	x.c.Sent().Unread = !rt.readsSent
	x.st.UpstreamUnread = !rt.readsUpstream
	if len(x.st.Values) < rt.slots || x.st.Values == nil {
		x.st.Values = make([][]byte, rt.slots)
		x.st.Valid = make([]bool, rt.slots)
	}
}

// badRequest answers a request the parser rejected with its status.
// c is x's connection, whose raw first line is $request when the request
// line did not parse.
func (x *exchange) badRequest(addr *Addr, perr *http1.Error, c *http1.Conn) {
	x.startRejected(addr, c)
	if perr == http1.ErrURITooLong && len(x.req.Method) == 0 {
		x.st.RequestLine = c.LongRequestLine()
	}
	if len(x.req.Dropped) > 0 {
		x.logDroppedHeaders(x.req)
	}
	x.logRejected(perr)
	// A request line parsed whole as HTTP/0.9 gets a bare body; one
	// rejected earlier reads as HTTP/1.0 (http1's default) and gets a head.
	x.special(perr.Status)
	x.c.Finish()
}

// startRejected sets x up for a request whose head was not read whole
// (rejected, or cut by its client): the server the Host parsed so far
// names, and nothing of what the connection's previous request left.
func (x *exchange) startRejected(addr *Addr, c *http1.Conn) {
	req := x.c.Request()
	x.req, x.addr = req, addr
	x.st.Reset(req)
	x.startState()
	if len(req.Method) == 0 {
		x.st.RequestLine = c.FirstLine()
	}
	x.srv = addr.Default
	if len(req.Host) > 0 {
		x.srv = addr.selectServer(req.Host, &x.st)
	}
	// The server's own configuration, not what the connection's previous
	// request ended in (add_header always applies to a 400), nor anything
	// else a previous request of this pooled exchange left: its gzip
	// decisions (a 400 after a compressed response got its "Vary"), its
	// WWW-Authenticate, its error_page state.
	x.startRequest()
	x.st.ErrStatus = 0
	x.st.ServerName = x.srv.Name
}

// timedOut logs a request whose head did not arrive within
// client_header_timeout: nginx closes it with 408 and sends nothing.
func (x *exchange) timedOut(addr *Addr, c *http1.Conn) {
	req := x.c.Request()
	x.req, x.addr = req, addr
	x.st.Reset(req)
	x.st.Start = time.Now()
	if len(req.Method) == 0 {
		x.st.RequestLine = c.FirstLine()
	}
	x.srv, x.loc, x.curConf = addr.Default, nil, nil
	x.mods.reset() // nothing of the connection's previous request
	x.st.ServerName = x.srv.Name
	x.status = 408
}

// ClosedMidHead records a request whose client closed the connection
// before its head was complete, as nginx does: "client prematurely closed
// connection" at info, and the request logged with 400 (nothing is sent).
func (h Conn) ClosedMidHead(addr *Addr) {
	x, c := h.x, h.c
	x.startRejected(addr, c)
	x.status = 400
	// Terminated (no $request_completion), its connection "close".
	c.Discard()
	c.Sent().Written = true
	where := "headers"
	if c.Request().Parsed == 0 {
		where = "line"
	}
	x.log.Logf(x, "info", "client prematurely closed connection while reading client request %s", where)
}

// accessLog writes the access log lines for the request just served.
func (x *exchange) accessLog() {
	if x.srv != nil && x.debugWanted() {
		x.debugEnd()
	}
	x.writeAccessLogs(x.lastConf())
}

// TempPaths are the proxies' *_temp_path directories, which the master
// makes and gives to the workers' user (ngx_create_paths).
func (rt *Router) TempPaths() []string {
	if rt.groups == nil {
		return nil
	}
	return rt.groups.TempPaths()
}

// CachePaths lists the directories of the configuration's
// proxy_cache_path zones (and fastcgi's, scgi's, uwsgi's), which the
// master gives to the workers' user as nginx's ngx_create_paths does.
func (rt *Router) CachePaths() []string {
	var paths []string
	if rt.groups != nil {
		for _, z := range rt.groups.Caches() {
			paths = append(paths, z.Path)
		}
	}
	return paths
}
