package upstream

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/upstream/resolver"
)

// StreamProxy is a stream server's proxy_pass with its proxy_* settings,
// as ngx_stream_proxy_module: it connects to a server of the group
// (trying the next one on a failed connect), sends the PROXY protocol
// header when asked, starts TLS with proxy_ssl, and then copies bytes both
// ways through the tunnel the HTTP upgrade uses.
type StreamProxy struct {
	groups *Groups
	group  *Group           // a static proxy_pass
	host   string           // its host as written (for proxy_ssl_name)
	value  *rewrite.Complex // proxy_pass with variables

	ConnectTimeout time.Duration // proxy_connect_timeout (60s)
	Timeout        time.Duration // proxy_timeout (10m)
	// ProxyProtocol: proxy_protocol on, a v1 header goes first.
	ProxyProtocol bool
	next          bool             // proxy_next_upstream (on)
	nextTries     int              // proxy_next_upstream_tries (0: no limit)
	nextTimeout   time.Duration    // proxy_next_upstream_timeout (0: none)
	uploadRate    *rewrite.Complex // proxy_upload_rate, bytes per second (nil: none)
	downloadRate  *rewrite.Complex // proxy_download_rate
	halfClose     bool             // proxy_half_close
	// Responses (proxy_responses) and Requests (proxy_requests) end a
	// UDP session: -1 and 0 when not set.
	Responses, Requests int
	bind                *rewrite.Complex // proxy_bind (nil: none)
	transparent         bool
	keepalive           bool // proxy_socket_keepalive
	tls                 *backendTLS
	bufs                *sync.Pool // proxy_buffer_size buffers
	resolver            *resolver.Resolver
	resolverTimeout     time.Duration
}

// StreamSession is one client connection handed to the proxy, with what
// the proxy tells back for the log.
type StreamSession struct {
	Client net.Conn
	State  *rewrite.State
	// Preread is what the preread phase already read from the client;
	// it goes to the server first.
	Preread []byte
	// ProxyHeader appends the PROXY protocol v1 header for the session.
	ProxyHeader func(dst []byte) []byte
	// Log writes one error line ("msg while action") with the session's
	// context and then the proxy's own part (", upstream: ..., bytes
	// from/to ..."), as nginx's log handlers chain. Note writes one
	// without any (nginx clears its log handler for those).
	Log  func(level, msg, proxyContext string)
	Note func(level, msg string)
	// CountConn draws a connection number for each backend connection,
	// as nginx's ngx_event_connect_peer does.
	CountConn func() uint64
	// Ending, when set, runs once (on any goroutine) just before the
	// client can see the session's end: the tunnel's close, or the UDP
	// answer that completes it. nginx ends a session in that one event,
	// its limit_conn counts freed with it, so the client's next session
	// never finds this one still counted.
	Ending func()
	// UDP: the session is a datagram one ("udp " in its log lines).
	UDP bool
	// Received and Sent count the client's bytes (nginx's s->received
	// and c->sent); Preread is already in Received.
	Received, Sent int64
	// Upstream is the server of the last try ("" when none was chosen).
	Upstream                   string
	UpstreamSent, UpstreamRecv int64
}

func (ss *StreamSession) logContext(upstream string, usent, urecv int64) string {
	b := make([]byte, 0, 128)
	if upstream != "" {
		b = append(b, ", upstream: \""...)
		b = append(b, upstream...)
		b = append(b, '"')
	}
	b = append(b, ", bytes from/to client:"...)
	b = strconv.AppendInt(b, ss.Received, 10)
	b = append(b, '/')
	b = strconv.AppendInt(b, ss.Sent, 10)
	b = append(b, ", bytes from/to upstream:"...)
	b = strconv.AppendInt(b, urecv, 10)
	b = append(b, '/')
	b = strconv.AppendInt(b, usent, 10)
	return string(b)
}

// CompileStreamProxy compiles a stream server's proxy_pass (pass) and the
// proxy_* directives of blocks (stream, then server level).
func CompileStreamProxy(pass *nginxconf.Directive, blocks [][]*nginxconf.Directive, groups *Groups, c *rewrite.Compiler) (*StreamProxy, error) {
	p := &StreamProxy{groups: groups, ConnectTimeout: 60 * time.Second, Timeout: 10 * time.Minute, next: true,
		Responses: -1}
	addr := pass.Args[0]
	if strings.Contains(addr, "$") {
		cv, err := c.Complex(addr)
		if err != nil {
			return nil, rewrite.At(err, pass)
		}
		p.value = cv
		if err := groups.compileStreamResolver(p, blocks); err != nil {
			return nil, err
		}
	} else if g := groups.Lookup(addr); g != nil && !strings.Contains(addr, ":") {
		p.group, p.host = g, addr
	} else {
		if !strings.HasPrefix(addr, "unix:") && !hasStreamPort(addr) {
			return nil, confErr(pass, `no port in upstream "%s"`, addr)
		}
		g, err := groups.implicitGroup(addr, "")
		if err != nil {
			return nil, confErr(pass, "%s in upstream \"%s\"", err, addr)
		}
		p.group, p.host = g, addr
	}
	dur := func(name string, dst *time.Duration) error {
		if d := last(blocks, name); d != nil {
			ms, ok := nginxconf.ParseTime(d.Args[0], false)
			if !ok {
				return confErr(d, `"%s" directive invalid value`, d.Name)
			}
			*dst = time.Duration(ms) * time.Millisecond
		}
		return nil
	}
	for name, dst := range map[string]*time.Duration{"proxy_connect_timeout": &p.ConnectTimeout,
		"proxy_timeout": &p.Timeout, "proxy_next_upstream_timeout": &p.nextTimeout} {
		if err := dur(name, dst); err != nil {
			return nil, err
		}
	}
	p.next = flag(blocks, "proxy_next_upstream", true)
	p.ProxyProtocol = flag(blocks, "proxy_protocol", false)
	p.halfClose = flag(blocks, "proxy_half_close", false)
	p.keepalive = flag(blocks, "proxy_socket_keepalive", false)
	intArg := func(name string, dst *int) error {
		if d := last(blocks, name); d != nil {
			n, err := strconv.Atoi(d.Args[0])
			if err != nil || n < 0 {
				return confErr(d, `"%s" directive invalid number`, d.Name)
			}
			*dst = n
		}
		return nil
	}
	if err := intArg("proxy_next_upstream_tries", &p.nextTries); err != nil {
		return nil, err
	}
	if err := intArg("proxy_responses", &p.Responses); err != nil {
		return nil, err
	}
	if err := intArg("proxy_requests", &p.Requests); err != nil {
		return nil, err
	}
	size := func(name string, dst *int64) error {
		if d := last(blocks, name); d != nil {
			n, ok := nginxconf.ParseSize(d.Args[0])
			if !ok {
				return confErr(d, `"%s" directive invalid value`, d.Name)
			}
			*dst = n
		}
		return nil
	}
	bufSize := int64(16384)
	if err := size("proxy_buffer_size", &bufSize); err != nil {
		return nil, err
	}
	// The rates may name variables, read once per session
	// (ngx_stream_set_complex_value_size_slot).
	for name, dst := range map[string]**rewrite.Complex{"proxy_upload_rate": &p.uploadRate, "proxy_download_rate": &p.downloadRate} {
		d := last(blocks, name)
		if d == nil {
			continue
		}
		cv, err := c.Complex(d.Args[0])
		if err != nil {
			return nil, rewrite.At(err, d)
		}
		if v, ok := cv.Static(); ok {
			n, ok := nginxconf.ParseSize(v)
			if !ok {
				return nil, confErr(d, `"%s" directive invalid value`, d.Name)
			}
			if n == 0 {
				continue
			}
		}
		*dst = cv
	}
	p.bufs = tunnelPool(int(max(bufSize, 1)))
	if d := last(blocks, "proxy_bind"); d != nil && d.Args[0] != "off" {
		cv, err := c.Complex(d.Args[0])
		if err != nil {
			return nil, rewrite.At(err, d)
		}
		p.bind = cv
		p.transparent = len(d.Args) > 1 && d.Args[1] == "transparent"
	}
	if flag(blocks, "proxy_ssl", false) {
		bt, err := compileTLS("proxy", blocks, groups.ConfPrefix, c)
		if err != nil {
			return nil, err
		}
		p.tls = bt
		host, _, _ := strings.Cut(p.host, ":")
		bt.prepare(p.group, host)
	}
	return p, nil
}

// hasStreamPort reports whether a stream proxy_pass address names a port
// (stream has no default one).
func hasStreamPort(a string) bool {
	if strings.HasPrefix(a, "[") {
		i := strings.LastIndex(a, "]:")
		return i >= 0
	}
	return strings.Contains(a, ":")
}

func (gs *Groups) compileStreamResolver(p *StreamProxy, blocks [][]*nginxconf.Directive) error {
	var hp Proxy
	if err := gs.compileResolver(&hp, blocks); err != nil {
		return err
	}
	p.resolver, p.resolverTimeout = hp.resolver, hp.resolverTimeout
	return nil
}

// errStreamStopped: the server stops while a name is looked up.
var errStreamStopped = errors.New("resolver stopped")

// target finds the group of a session: the static one, or the one the
// evaluated proxy_pass names (an upstream block, an address, or a name
// the resolver answers), as ngx_stream_proxy_eval.
func (p *StreamProxy) target(ss *StreamSession) (*Group, string, error) {
	if p.value == nil {
		return p.group, p.host, nil
	}
	v := string(p.value.Eval(ss.State, nil))
	if g := p.groups.Lookup(v); g != nil && !strings.Contains(v, ":") {
		return g, v, nil
	}
	if strings.HasPrefix(v, "unix:") {
		if g := p.groups.lookupDynamic(v, ""); g != nil {
			return g, v, nil
		}
		return nil, v, fmt.Errorf("no path in the unix domain socket in upstream \"%s\"", v)
	}
	if !hasStreamPort(v) {
		return nil, v, fmt.Errorf("no port in upstream \"%s\"", v)
	}
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		return nil, v, fmt.Errorf("invalid port in upstream \"%s\"", v)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return resolvedGroup(v, []netip.Addr{ip}, port, ""), v, nil
	}
	if g := p.groups.lookupImplicit(host, port); g != nil {
		return g, v, nil
	}
	if p.resolver == nil {
		return nil, v, fmt.Errorf("no resolver defined to resolve %s", host)
	}
	addrs, err := p.resolver.Resolve(host, p.resolverTimeout)
	if errors.Is(err, resolver.ErrStopped) {
		return nil, v, errStreamStopped
	}
	if err != nil {
		return nil, v, fmt.Errorf("%s could not be resolved (%v)", host, err)
	}
	return resolvedGroup(v, addrs, port, ""), v, nil
}

// Serve proxies the session and returns its status (200, or 502 when no
// server could be reached, 500 on an internal error). It records the
// tries in the state ($upstream_addr and friends).
func (p *StreamProxy) Serve(ss *StreamSession, tunnels *Tunnels) int {
	g, host, err := p.target(ss)
	if err != nil {
		// ngx_stream_proxy_handler: a target that cannot be made is 500.
		if err != errStreamStopped {
			ss.Log("error", err.Error()+" while connecting to upstream", ss.logContext("", 0, 0))
		}
		return 500
	}
	start := time.Now()
	var ps pickState
	tries := g.tries(p.nextTries)
	for {
		now := time.Now()
		server, _ := g.pickNext(ss.State, &ps, now, nil)
		if server < 0 {
			// The balancer names the group itself ($upstream_addr too).
			ss.State.AddUpstream(rewrite.UpstreamTry{Addr: g.Name, ConnectTime: -1, HeaderTime: -1})
			ss.Log("error", "no live upstreams while connecting to upstream", ss.logContext(g.Name, 0, 0))
			return 502
		}
		ps.tried |= 1 << uint(server)
		srv := g.Servers[server]
		ss.Upstream = srv.Name
		tryStart := time.Now()
		if st, ok := p.takeSlot(ss, g, server); !ok {
			return st
		}
		var number uint64
		if ss.CountConn != nil {
			number = ss.CountConn()
		}
		nc, err := p.dial(ss, srv)
		if err == nil {
			p.groups.Slots.OpenedConn(nc, number)
			ct := time.Since(tryStart)
			nc, err = p.handshakeUpstream(ss, nc, g, host)
			if err == nil {
				return p.relay(ss, nc, g, server, tunnels, tryStart, ct)
			}
		}
		p.groups.Slots.Release()
		disabled := g.done(server, true, time.Now())
		ss.State.AddUpstream(rewrite.UpstreamTry{Addr: srv.Name, Time: time.Since(tryStart), ConnectTime: -1, HeaderTime: -1})
		level := "error"
		var le interface{ LogLevel() string }
		if errors.As(err, &le) {
			level = le.LogLevel()
		}
		ss.Log(level, err.Error(), ss.logContext(srv.Name, 0, 0))
		if disabled {
			ss.Log("warn", "upstream server temporarily disabled while connecting to upstream", ss.logContext(srv.Name, 0, 0))
		}
		tries--
		if tries <= 0 || !p.next || p.nextTimeout > 0 && time.Since(start) >= p.nextTimeout {
			return 502
		}
	}
}

// takeSlot takes the worker_connections slot of the connection to the
// server just picked. With none free the session ends with 500, the
// server freed as unused, as ngx_event_connect_peer's NGX_ERROR: nginx
// logs its alert before the try is recorded ($upstream_addr is empty).
func (p *StreamProxy) takeSlot(ss *StreamSession, g *Group, server int) (int, bool) {
	slots := p.groups.Slots
	if slots.Take() {
		return 0, true
	}
	ss.Log("alert", slots.NotEnough()+" while connecting to upstream", ss.logContext(g.Servers[server].Name, 0, 0))
	g.done(server, false, time.Now())
	ss.State.AddUpstream(rewrite.UpstreamTry{ConnectTime: -1, HeaderTime: -1})
	return 500, false
}

// dial connects to srv as nginx's ngx_event_connect_peer, with proxy_bind.
func (p *StreamProxy) dial(ss *StreamSession, srv *Server) (net.Conn, error) {
	network := srv.Network
	if ss.UDP {
		network = "udp"
		if srv.Network == "unix" {
			network = "unixgram"
		}
	}
	d := net.Dialer{KeepAlive: -1} // dialWithin bounds the connect
	if p.keepalive {
		// proxy_socket_keepalive: SO_KEEPALIVE with the system's timers.
		d.KeepAliveConfig = net.KeepAliveConfig{Enable: true, Idle: -1, Interval: -1, Count: -1}
		d.KeepAlive = 0
	}
	if p.transparent {
		// proxy_bind ... transparent: a non-local source address.
		d.Control = func(network, address string, c syscall.RawConn) error {
			var serr error
			if err := c.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_IP, syscall.IP_TRANSPARENT, 1)
			}); err != nil {
				return err
			}
			if serr != nil {
				return fmt.Errorf("setsockopt(IP_TRANSPARENT) failed (%s)", nginxconf.ErrnoText(serr))
			}
			return nil
		}
	}
	if p.bind != nil {
		a := string(p.bind.Eval(ss.State, nil))
		if a != "" {
			ip, err := netip.ParseAddr(a)
			if err != nil {
				return nil, fmt.Errorf("invalid local address \"%s\"", a)
			}
			switch network {
			case "tcp":
				d.LocalAddr = &net.TCPAddr{IP: ip.AsSlice()}
			case "udp":
				d.LocalAddr = &net.UDPAddr{IP: ip.AsSlice()}
			}
		}
	}
	nc, err := dialWithin(&d, network, srv.Addr, time.Now(), p.ConnectTimeout)
	if err != nil {
		if isTimeout(err) {
			return nil, errors.New("upstream timed out (110: Connection timed out) while connecting to upstream")
		}
		return nil, fmt.Errorf("connect() failed (%s) while connecting to upstream", errnoText(err))
	}
	return nc, nil
}

// handshakeUpstream sends the PROXY protocol header and makes the TLS
// handshake of proxy_ssl, both part of connecting.
func (p *StreamProxy) handshakeUpstream(ss *StreamSession, nc net.Conn, g *Group, host string) (net.Conn, error) {
	if p.ProxyProtocol && ss.ProxyHeader != nil {
		hdr := ss.ProxyHeader(nil)
		if p.ConnectTimeout > 0 {
			nc.SetWriteDeadline(time.Now().Add(p.ConnectTimeout))
		}
		if _, err := nc.Write(hdr); err != nil {
			nc.Close()
			return nil, fmt.Errorf("send() failed (%s) while connecting to upstream", errnoText(err))
		}
		nc.SetWriteDeadline(time.Time{})
	}
	if p.tls == nil {
		return nc, nil
	}
	h, _, _ := strings.Cut(host, ":")
	name := p.tls.sslName(ss.State, h, nil)
	tc, err := p.tls.client(nc, g, name, ss.State)
	if err != nil {
		nc.Close()
		return nil, err
	}
	if err := p.tls.handshake(tc, name, p.ConnectTimeout); err != nil {
		tc.Close()
		return nil, err
	}
	return tc, nil
}

// relay copies between client and server until the session ends.
func (p *StreamProxy) relay(ss *StreamSession, nc net.Conn, g *Group, server int, tunnels *Tunnels, tryStart time.Time, connectTime time.Duration) int {
	srv := g.Servers[server]
	ss.Note("info", "proxy "+localName(nc)+" connected to "+srv.Name)
	if !ss.UDP {
		g.connected(server)
	}
	t := &tunnel{client: ss.Client, upstream: nc, idle: p.Timeout, bufs: p.bufs,
		upRate: evalSize(p.uploadRate, ss.State), downRate: evalSize(p.downloadRate, ss.State), halfClose: p.halfClose, start: tryStart, firstByte: -1,
		trackFirst: true}
	if _, plain := ss.Client.(*net.TCPConn); plain {
		t.inline = true
	}
	if p.ProxyProtocol && ss.ProxyHeader != nil {
		t.headerSent = int64(len(ss.ProxyHeader(nil)))
	}
	// The server and the connection's slot are released before the
	// client sees the session end, as nginx frees the peer and closes the
	// backend's connection first: the client's next session is balanced
	// without this one.
	var released sync.Once
	release := func() {
		released.Do(func() {
			g.done(server, false, time.Now())
			p.groups.Slots.Release() // the backend's connection
			if ss.Ending != nil {
				ss.Ending()
			}
		})
	}
	t.beforeClose = release
	t.prepare(0)
	tunnels.add(t)
	preread := int64(len(ss.Preread))
	err := t.sendPending(ss.Preread, nil)
	ss.Preread = nil // an idle session holds no buffer
	if err == nil {
		err = t.pump()
	}
	tunnels.remove(t)
	ss.Sent += t.toClient
	ss.Received += t.toUpstream - preread // preread bytes are not counted (nginx's s->received)
	ss.UpstreamSent, ss.UpstreamRecv = t.toUpstream+t.headerSent, t.toClient
	counts := ", bytes from/to client:" + strconv.FormatInt(ss.Received, 10) + "/" + strconv.FormatInt(ss.Sent, 10) +
		", bytes from/to upstream:" + strconv.FormatInt(ss.UpstreamRecv, 10) + "/" + strconv.FormatInt(ss.UpstreamSent, 10)
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		// proxy_timeout: ngx_connection_error at the client's info level.
		ss.Log("info", "connection timed out (110: Connection timed out) while proxying connection", ss.logContext(srv.Name, ss.UpstreamSent, ss.UpstreamRecv))
	case t.endedBy.Load() == endedUpstream:
		if readFailed(err, nc) {
			// The backend's connection failed (a reset): ngx_stream_proxy_process
			// logs the recv() at the upstream's error level first.
			ss.Log("error", "recv() failed ("+errnoText(err)+") while proxying and reading from upstream", ss.logContext(srv.Name, ss.UpstreamSent, ss.UpstreamRecv))
		}
		ss.Note("info", "upstream disconnected"+counts)
	default:
		if readFailed(err, ss.Client) {
			// The client's connection failed: logged at its info level.
			ss.Log("info", "recv() failed ("+errnoText(err)+") while proxying and reading from client", ss.logContext(srv.Name, ss.UpstreamSent, ss.UpstreamRecv))
		}
		ss.Note("info", "client disconnected"+counts)
	}
	release()
	try := rewrite.UpstreamTry{Addr: srv.Name, Time: time.Since(tryStart), ConnectTime: connectTime,
		HeaderTime: t.firstByte, BytesSent: ss.UpstreamSent, BytesReceived: ss.UpstreamRecv}
	ss.State.AddUpstream(try)
	return 200
}

// readFailed reports a read of nc that failed (not its end).
func readFailed(err error, nc net.Conn) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "read" && oe.Source != nil &&
		oe.Source.String() == nc.LocalAddr().String() && !errors.Is(err, net.ErrClosed)
}

func localName(nc net.Conn) string {
	if a := nc.LocalAddr(); a != nil {
		return a.String()
	}
	return ""
}

// errnoText is an error's errno as nginx prints it ("111: Connection
// refused").
func errnoText(err error) string {
	var en syscall.Errno
	if errors.As(err, &en) {
		return nginxconf.ErrnoText(en)
	}
	return err.Error()
}

// CipherSuites is an OpenSSL cipher list as the suites Go offers, for a
// stream server's ssl_ciphers; a list naming suites Go lacks is an error.
func CipherSuites(list string) ([]uint16, error) {
	suites, _, err := opensslCiphers(list)
	return suites, err
}

// evalSize is a size directive's value for the session (0 when unset or
// not a size).
func evalSize(cv *rewrite.Complex, s *rewrite.State) int64 {
	if cv == nil {
		return 0
	}
	v, ok := cv.Static()
	if !ok {
		v = string(cv.Eval(s, nil))
	}
	n, _ := nginxconf.ParseSize(v)
	return n
}
