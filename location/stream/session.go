package stream

import (
	"crypto/tls"
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gonginx/gonginx/location/limit"
	"github.com/gonginx/gonginx/location/proxyproto"
	"github.com/gonginx/gonginx/location/realip"
	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/rewrite/http1"
	"github.com/gonginx/gonginx/upstream"
)

// session is one client connection (or UDP client) going through the
// phases: post_accept (PROXY protocol, realip), preaccess (set,
// limit_conn), access, ssl, preread, content (proxy_pass or return), log.
type session struct {
	srv    *Server
	cfg    *Config
	sock   *socket
	server *server
	conn   net.Conn  // the client (after TLS: tls)
	tls    *tls.Conn // when the server terminates TLS
	udp    bool
	start  time.Time
	id     uint64
	st     rewrite.State
	req    http1.Request
	ci     http1.ConnInfo
	// received and sent count the client's bytes ($bytes_received,
	// $bytes_sent).
	received, sent int64
	hello          clientHello
	limitStatus    string
	held           []limit.Held
	preread        []byte
	upstreamName   string
	usent, urecv   int64
	listenText     string
	// sni is the name the ClientHello sent ($ssl_server_name during the
	// handshake).
	sni string
	// clientVerify is $ssl_client_verify ("" without ssl_verify_client).
	clientVerify string
	// helloCiphers and helloCurves are what the ClientHello offered
	// ($ssl_ciphers, $ssl_curves).
	helloCiphers []uint16
	helloCurves  []tls.CurveID
	// orderSeq is the session's place for limit_conn (0: none).
	orderSeq uint64
	// peerAddr and peerPort are the connection's own ($realip_remote_*).
	peerAddr, peerPort string
	// slotHeld: the client's worker_connections slot is still taken.
	slotHeld atomic.Bool
}

func (l *listener) serveConn(nc net.Conn, seq uint64) {
	s := l.srv
	defer s.wg.Done()
	sock := l.sock.Load()
	cfg := s.cfg.Load()
	ss := &session{srv: s, cfg: cfg, sock: sock, conn: nc, start: time.Now(), id: s.connID()}
	ss.slotHeld.Store(true)
	s.slots.OpenedConn(nc, ss.id)
	defer ss.releaseSlot()
	ss.init(nc.LocalAddr(), nc.RemoteAddr())
	if seq > 0 {
		ss.orderSeq = seq
		defer s.order.done(seq)
	}
	s.conns.Track(nc, true)
	status := ss.run()
	s.conns.Track(nc, false)
	ss.finish(status)
	ss.releaseSlot() // before the client sees the close, as nginx's one event
	nc.Close()
}

// init fills the session's addresses and picks its server by the local
// address.
func (ss *session) init(local, remote net.Addr) {
	var port, localPort string
	ss.ci.RemoteAddr, port = splitAddr(remote)
	ss.ci.RemotePort = http1.PortNumber(port)
	ss.peerAddr, ss.peerPort = ss.ci.RemoteAddr, port
	var serverAddr string
	serverAddr, localPort = splitAddr(local)
	ss.ci.Local = http1.AddrText(serverAddr)
	ss.ci.ServerPort = http1.PortNumber(localPort)
	ss.server = ss.sock.addrs[len(ss.sock.addrs)-1].srv
	ss.listenText = ss.sock.listen.Addr
	if len(ss.sock.addrs) > 1 {
		for _, a := range ss.sock.addrs {
			if a.listen.Network != "unix" && a.listen.IP.String() == serverAddr {
				ss.server, ss.listenText = a.srv, a.listen.Addr
				break
			}
		}
	}
	ss.req.Conn = &ss.ci
	ss.st.Req = &ss.req
	ss.st.Stream = ss
	ss.st.Connection = ss.id
	ss.st.ConnStart = ss.start
	ss.st.UpstreamResponseTime = -1
	if ss.cfg.slots > 0 {
		ss.st.Values = make([][]byte, ss.cfg.slots)
		ss.st.Valid = make([]bool, ss.cfg.slots)
		for _, i := range ss.cfg.plainSlots {
			ss.st.Valid[i] = true
		}
	}
}

func splitAddr(a net.Addr) (host, port string) {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.IP.String(), strconv.Itoa(a.Port)
	case *net.UDPAddr:
		return a.IP.String(), strconv.Itoa(a.Port)
	case *net.UnixAddr:
		return "unix:", ""
	}
	return "", ""
}

// logf writes an error line with the session's context, as
// ngx_stream_log_error: " while ACTION, client: ADDR, server: LISTEN".
func (ss *session) logf(level, msg, action string) { ss.logx(level, msg, action, "") }

// proxyLog is the proxy's error line: "msg while action", the session's
// context, then the proxy's (ngx_stream_proxy_log_error).
func (ss *session) proxyLog(level, msg, proxyContext string) {
	msg, action, _ := strings.Cut(msg, " while ")
	ss.logx(level, msg, action, proxyContext)
}

func (ss *session) logx(level, msg, action, suffix string) {
	b := make([]byte, 0, 128+len(msg))
	b = append(b, '*')
	b = strconv.AppendUint(b, ss.id, 10)
	b = append(b, ' ')
	b = append(b, msg...)
	if action != "" {
		b = append(b, " while "...)
		b = append(b, action...)
	}
	b = append(b, ", "...)
	if ss.udp {
		b = append(b, "udp "...)
	}
	b = append(b, "client: "...)
	b = append(b, ss.ci.RemoteAddr...)
	b = append(b, ", server: "...)
	b = append(b, ss.listenText...)
	b = append(b, suffix...)
	ss.srv.log.LogTo(ss.server.errorLogs, level, string(b))
}

// note writes a line without the context (nginx logs these with its
// log handler cleared).
func (ss *session) note(level, msg string) {
	b := make([]byte, 0, 32+len(msg))
	b = append(b, '*')
	b = strconv.AppendUint(b, ss.id, 10)
	b = append(b, ' ')
	if ss.udp && msg[0] == 'c' {
		b = append(b, "udp "...)
	}
	b = append(b, msg...)
	ss.srv.log.LogTo(ss.server.errorLogs, level, string(b))
}

// run goes through the phases and returns the session's status.
func (ss *session) run() int {
	srv := ss.server
	ss.note("info", "client "+ss.ci.RemoteAddr+":"+ss.ci.RemotePortText()+" connected to "+ss.listenText)
	if ss.srv.log.TakesDebug(srv.errorLogs) { // the debug log (location/debug.go)
		ss.note("debug", "stream session of "+ss.listenText+" started")
	}
	if ss.sock.listen.ProxyProtocol && !ss.udp {
		if !ss.readProxyHeader() {
			return 400
		}
	}
	// post_accept: realip takes the PROXY protocol's address.
	if len(srv.realipFrom) > 0 && ss.ci.Proxied {
		a, ok := realip.ParseAddrPort([]byte(ss.ci.RemoteAddr))
		if ss.ci.RemoteAddr == "unix:" {
			a, ok = realip.Addr{Unix: true}, true
		}
		if ok && realip.Trusted(srv.realipFrom, &a) {
			ss.ci.RemoteAddr, ss.ci.RemotePort = ss.ci.Proxy.Addr, http1.PortNumber(ss.ci.Proxy.Port)
		}
	}
	// preaccess: set, then limit_conn.
	if srv.set != nil {
		srv.set.Run(&ss.st)
	}
	if st := ss.limitConn(); st != 0 {
		return st
	}
	// access.
	if st := ss.access(); st != 0 {
		return st
	}
	// ssl.
	if srv.tls != nil && ss.sock.listen.SSL && !ss.udp {
		if !ss.handshake() {
			return 500
		}
	}
	// preread.
	if srv.preread && !ss.udp {
		if st := ss.prereadPhase(); st != 0 {
			return st
		}
	}
	// content.
	switch {
	case srv.proxy != nil:
		return ss.proxy()
	case srv.ret != nil:
		v := srv.ret.Eval(&ss.st, nil)
		ss.conn.SetWriteDeadline(time.Now().Add(60 * time.Second))
		n, _ := ss.conn.Write(v)
		ss.sent += int64(n)
		return 200
	}
	return 500
}

// readProxyHeader reads the PROXY protocol header a "listen ...
// proxy_protocol" connection starts with, as ngx_stream_proxy_protocol
// handler: one peek of at most 4096 bytes must hold it, within
// proxy_protocol_timeout.
func (ss *session) readProxyHeader() bool {
	nc := ss.conn
	nc.SetReadDeadline(time.Now().Add(ss.server.ppTimeout))
	defer nc.SetReadDeadline(time.Time{})
	if f := proxyproto.ReadHeader(nc, make([]byte, 4096), false, &ss.ci); f != nil {
		if f.Msg != "" {
			ss.logf(f.Level, f.Msg, "reading PROXY protocol")
		}
		return false
	}
	return true
}

// limitConn is ngx_stream_limit_conn_handler: each limit's key is
// counted until the session ends; 503 when one is at its maximum.
func (ss *session) limitConn() int {
	srv := ss.server
	if len(srv.limits) == 0 {
		return 0
	}
	if ss.orderSeq > 0 {
		ss.srv.order.wait(ss.orderSeq)
		defer ss.srv.order.done(ss.orderSeq)
	}
	var key []byte
	for _, l := range srv.limits {
		key = l.key.Eval(&ss.st, key[:0])
		if len(key) == 0 || len(key) > 255 {
			continue
		}
		lc := l.conn
		h, res := lc.Acquire(key)
		switch res {
		case limit.Passed:
			ss.held = append(ss.held, h)
			ss.limitStatus = "PASSED"
			continue
		case limit.Failed:
			ss.releaseLimits()
			return 503
		}
		if srv.limitDryRun {
			ss.limitStatus = "REJECTED_DRY_RUN"
			ss.logf(srv.limitLevel, "limiting connections, dry run, by zone \""+l.name+"\"", "initializing session")
			continue
		}
		ss.limitStatus = "REJECTED"
		ss.logf(srv.limitLevel, "limiting connections by zone \""+l.name+"\"", "initializing session")
		ss.releaseLimits()
		return 503
	}
	return 0
}

// ending is the proxy's Ending: what the session holds is let go before
// the client can see its end, as nginx ends a session in one event.
func (ss *session) ending() {
	ss.releaseLimits()
	ss.releaseSlot()
}

// releaseSlot gives back the client's worker_connections slot, once.
func (ss *session) releaseSlot() {
	if ss.slotHeld.Swap(false) {
		ss.srv.slots.Release()
	}
}

func (ss *session) releaseLimits() {
	for _, h := range ss.held {
		h.Release()
	}
	ss.held = ss.held[:0]
}

// access is ngx_stream_access_handler: the first rule that matches the
// client's address decides.
func (ss *session) access() int {
	rules := ss.server.access
	if len(rules) == 0 {
		return 0
	}
	var ip net.IP
	unix := ss.ci.RemoteAddr == "unix:"
	if !unix {
		ip = net.ParseIP(ss.ci.RemoteAddr)
	}
	for _, r := range rules {
		match := r.all || r.unix && unix || r.net != nil && ip != nil && r.net.Contains(ip)
		if !match {
			continue
		}
		if r.deny {
			ss.logf("error", "access forbidden by rule", "initializing session")
			return 403
		}
		return 0
	}
	return 0
}

// handshake is the ssl phase: a TLS handshake within
// ssl_handshake_timeout.
func (ss *session) handshake() bool {
	// One config per session: the ClientHello is recorded for the
	// variables, and certificate names read variables (the ticket keys
	// are the server's).
	cfg := ss.server.tls.Clone()
	cfg.GetConfigForClient = func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		ss.helloCiphers, ss.helloCurves = h.CipherSuites, h.SupportedCurves
		// The suite, certificate and group as OpenSSL picks them.
		return ss.server.choice.Config(cfg, h, cfg.Certificates)
	}
	if dc := ss.server.dynCerts; dc != nil {
		cfg.GetCertificate = func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
			ss.sni = h.ServerName
			cert, err := dc.load(&ss.st)
			if err != nil {
				ss.logf("error", err.Error(), "SSL handshaking")
			}
			return cert, err
		}
	}
	tc := tls.Server(ss.conn, cfg)
	tc.SetDeadline(time.Now().Add(ss.server.handshakeLimit))
	if err := tc.Handshake(); err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			ss.logf("info", "client timed out (110: Connection timed out)", "SSL handshaking")
		}
		return false
	}
	tc.SetDeadline(time.Time{})
	ss.tls, ss.conn = tc, tc
	if v := ss.server.verify; v != nil {
		msg, result := v.check(tc.ConnectionState().PeerCertificates)
		ss.clientVerify = result
		if msg != "" {
			ss.logf("info", msg, "SSL handshaking")
			return false
		}
	}
	return true
}

// prereadPhase reads the client's first bytes until ssl_preread knows
// what they are, within preread_timeout and preread_buffer_size.
func (ss *session) prereadPhase() int {
	srv := ss.server
	buf := make([]byte, 0, min(srv.prereadSize, 4096))
	deadline := time.Now().Add(srv.prereadTimeout)
	ss.conn.SetReadDeadline(deadline)
	defer ss.conn.SetReadDeadline(time.Time{})
	for {
		if len(buf) > 0 && parseRecords(buf, &ss.hello) != prereadAgain {
			break
		}
		if len(buf) >= srv.prereadSize {
			ss.logf("error", "preread buffer full", "prereading client data")
			ss.preread = buf
			return 400
		}
		if len(buf) == cap(buf) {
			nb := make([]byte, len(buf), min(srv.prereadSize, 2*cap(buf)))
			copy(nb, buf)
			buf = nb
		}
		n, err := ss.conn.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n] // not in $bytes_received: nginx counts what the proxy reads
		if err != nil {
			if n > 0 && parseRecords(buf, &ss.hello) != prereadAgain {
				break
			}
			// Undecided: the variables are found (nginx made its context
			// with the first bytes) and empty, or not found without any.
			ss.hello = clientHello{ok: len(buf) > 0}
			ss.preread = buf
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return 0 // preread_timeout: on to the content phase
			}
			// ngx_stream_core_preread_phase: the client's end (or an
			// error) before ssl_preread decided ends the session, 200.
			return 200
		}
	}
	ss.preread = buf
	return 0
}

// proxy is the content phase of proxy_pass.
func (ss *session) proxy() int {
	sp := &upstream.StreamSession{Client: ss.conn, State: &ss.st, Preread: ss.preread,
		Log: ss.proxyLog, Note: ss.note, CountConn: ss.countConn, Ending: ss.ending}
	sp.ProxyHeader = ss.appendProxyHeader
	ss.preread = nil
	ss.srv.conns.Track(ss.conn, false)
	status := ss.server.proxy.Serve(sp, ss.srv.tunnels)
	ss.sent += sp.Sent
	ss.received += sp.Received
	ss.upstreamName, ss.usent, ss.urecv = sp.Upstream, sp.UpstreamSent, sp.UpstreamRecv
	return status
}

func (ss *session) countConn() uint64 { return ss.srv.connID() }

// appendProxyHeader appends the PROXY protocol v1 line nginx sends for
// the session (ngx_proxy_protocol_write): the client's address and the
// address it connected to.
func (ss *session) appendProxyHeader(dst []byte) []byte {
	src, dstAddr := ss.ci.RemoteAddr, ss.ci.ServerAddress()
	fam := "TCP4 "
	if net.ParseIP(src).To4() == nil {
		fam = "TCP6 "
	}
	if src == "unix:" || src == "" {
		return append(dst, "PROXY UNKNOWN\r\n"...)
	}
	dst = append(dst, "PROXY "...)
	dst = append(dst, fam...)
	dst = append(dst, src...)
	dst = append(dst, ' ')
	dst = append(dst, dstAddr...)
	dst = append(dst, ' ')
	dst = ss.ci.AppendRemotePort(dst)
	dst = append(dst, ' ')
	dst = ss.ci.AppendServerPort(dst)
	return append(dst, "\r\n"...)
}

// finish is the log phase: the access log lines, then the limits end.
func (ss *session) finish(status int) {
	ss.st.Status = status
	ss.st.BytesSent = ss.sent
	if ss.srv.log.TakesDebug(ss.server.errorLogs) {
		ss.note("debug", "stream session finalized: "+strconv.Itoa(status))
	}
	ss.writeAccessLogs()
	ss.releaseLimits()
}
