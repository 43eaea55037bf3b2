package upstream

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/rewrite/http1"
	"github.com/gonginx/gonginx/upstream/poller"
	"github.com/gonginx/gonginx/upstream/resolver"
)

// Where a try goes and its connection: the group or the evaluated URL,
// resolved names, then an idle kept connection or a new one.

// resolve finds where the request goes: the compiled group, or for a
// URL with variables, the evaluated one.
func (p *Proxy) resolve(s *rewrite.State, x *exchange, t *target) (int, error) {
	if p.urlValue == nil {
		*t = target{group: p.group, scheme: p.scheme, proxyHost: p.proxyHost, proxyPort: p.proxyPort,
			hasURI: p.hasURIPart}
		return 0, nil
	}
	return p.proto.resolve(p, s, x, t)
}

// resolveURL finds the target of a proxy_pass URL with variables.
func (p *Proxy) resolveURL(s *rewrite.State, x *exchange, t *target) (int, error) {
	x.urlBuf = p.urlValue.Eval(s, x.urlBuf[:0])
	u := x.urlBuf
	switch {
	case len(u) >= 7 && http1.EqualFold(u[:7], "http://"):
		t.scheme, u = "http", u[7:]
	case len(u) >= 8 && http1.EqualFold(u[:8], "https://"):
		t.scheme, u = "https", u[8:]
	default:
		return 500, fmt.Errorf("invalid URL prefix in \"%s\"", x.urlBuf)
	}
	host := u
	if len(u) >= 5 && string(u[:5]) == "unix:" {
		// unix:/path[:/uri], as ngx_parse_unix_domain_url.
		if i := bytes.IndexByte(u[5:], ':'); i >= 0 {
			host, t.uri, t.hasURI = u[:5+i], u[5+i+1:], true
		}
	} else if i := bytes.IndexAny(u, "/?"); i >= 0 {
		host, t.uri, t.hasURI = u[:i], u[i:], true
	}
	if len(t.uri) > 0 && t.uri[0] == '?' {
		// ngx_http_proxy_eval: a URI part of arguments only is given
		// its "/" ("http://app$suffix" with $suffix "?a=b").
		t.uri = append([]byte{'/'}, t.uri...)
	}
	if len(host) == 0 {
		return 500, fmt.Errorf("no host in \"%s\"", x.urlBuf)
	}
	defPort := "80"
	if t.scheme == "https" {
		defPort = "443"
	}
	// As ngx_http_upstream_init_request: an upstream{} block when no
	// port is given, else an upstream proxy_pass made for that host and
	// port, else an IP address; a name needs a resolver.
	key := internString(host)
	if bytes.IndexByte(host, ':') < 0 {
		if g := p.groups.Lookup(key); g != nil {
			t.group, t.proxyHost, t.proxyPort = g, key, defPort
			return 0, nil
		}
	}
	if strings.HasPrefix(key, "unix:") {
		if g := p.groups.lookupDynamic(key, defPort); g != nil {
			t.group, t.proxyHost, t.proxyPort = g, "localhost", ""
			return 0, nil
		}
		return 502, fmt.Errorf("no path in the unix domain socket in upstream \"%s\"", key)
	}
	name, port, err := splitHostPort(key, defPort)
	if err != nil {
		return 502, fmt.Errorf("%s in upstream \"%s\"", err, key)
	}
	if g := p.groups.lookupImplicit(name, port); g != nil {
		t.group = g
		t.proxyHost, t.proxyPort = hostHeader(key, defPort)
		return 0, nil
	}
	g := p.groups.lookupDynamic(key, defPort)
	if g == nil && p.resolver != nil {
		addrs, err := p.resolver.Resolve(name, p.resolverTimeout)
		if errors.Is(err, resolver.ErrStopped) {
			// The server is stopping: the client's connection goes
			// with it, and nginx logs nothing.
			return 499, ErrClientClosed
		}
		if err != nil {
			return 502, err
		}
		g = resolvedGroup(key, addrs, port, defPort)
	}
	if g == nil {
		return 502, fmt.Errorf("%w %s", ErrNoResolver, name)
	}
	t.group = g
	t.proxyHost, t.proxyPort = g.proxyHost, g.proxyPort
	return 0, nil
}

// idleLife is life when a kept connection may be used, else nil
// (pickNext's lookup of one).
func idleLife(useIdle bool, life *connLife) *connLife {
	if useIdle {
		return life
	}
	return nil
}

// connect picks a server and returns a connection to it: a kept-alive one
// when the group has any, else a new one, its TLS handshake done for an
// https URL. server < 0: none is left; err: the connection to server
// failed, as nginx logs it.
func (p *Proxy) connect(t *target, s *rewrite.State, x *exchange, useIdle bool, now time.Time) (nc net.Conn, server int, reused bool, err error) {
	g := t.group
	server, idle := g.pickNext(s, &x.pick, now, idleLife(useIdle, &x.life))
	if server < 0 {
		return nil, -1, false, nil
	}
	// As the keepalive module: the balancer chooses the server, then a
	// connection to it kept alive is used if there is one (pickNext's).
	if useIdle {
		if nc := idle; nc != nil {
			if !lazyDeadlines(p.proto) {
				x.life.dl.Clear(nc) // the proxy's, when it pooled it
			}
			return nc, server, true, nil
		}
	}
	srv := g.Servers[server]
	// ngx_event_connect_peer takes a connection for the socket: none
	// free ends the request with 500.
	slots := p.groups.Slots
	if !slots.Take() {
		g.done(server, false, now)
		return nil, server, false, &slotsError{msg: slots.NotEnough()}
	}
	// The connection takes a number before it connects (a socket() that
	// fails takes one here, none in nginx).
	number := slots.Number()
	d, err := p.dialer(x, srv.Network)
	x.connectWaited = true
	if err == nil {
		if g.Keepalive == 0 || x.upgrade {
			nc, x.connectWaited, err = dialBackend(&d, srv, now, p.ConnectTimeout, &x.spareConn, p.noDelay(t, x))
		} else {
			nc, err = dialWithin(&d, srv.Network, srv.Addr, now, p.ConnectTimeout)
		}
	}
	if err != nil {
		slots.Release()
		var be *bindError
		if errors.As(err, &be) {
			g.done(server, false, now)
			return nil, server, false, be
		}
		if outOfFiles(err) {
			// socket() failed: nginx's NGX_ERROR, 500, not the server's fault.
			g.done(server, false, now)
			return nil, server, false, &slotsError{msg: "socket() failed (" + nginxconf.ErrnoText(err) + ")"}
		}
		x.disabled = g.done(server, true, now)
		return nil, server, false, fmt.Errorf("connect() to %s failed: %w", srv.Addr, err)
	}
	if (t.scheme == "https" || t.scheme == "suwsgi" || t.scheme == "grpcs") && p.tls != nil {
		// The handshake is part of connecting, bounded by
		// proxy_connect_timeout; a failure (a certificate that does not
		// verify too) counts as the server's error and moves on to the
		// next one, as ngx_http_upstream_ssl_handshake.
		name := p.tls.sslName(s, t.proxyHost, x.urlBuf[len(x.urlBuf):])
		tc, err := p.tls.client(nc, g, name, s)
		if err != nil {
			nc.Close()
			slots.Release()
			g.done(server, false, now)
			return nil, server, false, err
		}
		if err := p.tls.handshake(tc, name, p.ConnectTimeout); err != nil {
			tc.Close()
			slots.Release()
			x.disabled = g.done(server, true, now)
			return nil, server, false, err
		}
		nc, x.connectWaited = tc, true
	}
	// gRPC's connections are wrapped: asked by the protocol's type, as
	// an interface's assertion looks the type up until its call site's
	// cache is built (location's updateKeepalive's comment).
	if gp, ok := p.proto.(*grpcProto); ok {
		nc = gp.wrapConn(nc)
	}
	// An upgrade's connection becomes a tunnel, not kept: its
	// keepalive_time end (a Time.Add, ~75 instructions) is made only if
	// its answer is no 101 and it is kept after all (releaseTry).
	var expires time.Time
	if !x.upgrade {
		expires = now.Add(g.KeepaliveTime)
	}
	x.life = connLife{expires: expires, fd: -1, slots: slots, sock: http1.SockFrom(nc, &x.spareSock)}
	if pc, ok := nc.(*poller.Conn); ok {
		// The server's own socket: its descriptor without the Sock's
		// RawConn callback (~70 instructions per connection).
		x.life.fd = pc.FD()
	} else if x.life.sock != nil {
		x.life.fd = x.life.sock.FD()
	} else {
		x.life.fd = connFD(nc)
	}
	slots.Opened(x.life.fd, number)
	return nc, server, false, nil
}

// noDelay reports whether a backend connection of the server's own (a
// dial without TCP_NODELAY, as nginx's) gets it, where nginx calls
// ngx_tcp_nodelay on u->peer.connection: a TLS handshake whose session
// may be reused (ngx_http_upstream_ssl_init_connection), an upgrade
// (ngx_http_upstream_upgrade; set here before its 101: the request is
// one write either way), a body streamed to it
// (ngx_http_upstream_send_request_body without buffering). gRPC's
// too: its frames (preface, SETTINGS, the ACKs) are writes of their own,
// which Nagle would hold for the backend's ACK.
func (p *Proxy) noDelay(t *target, x *exchange) bool {
	if x.upgrade || x.bodyStreams {
		return true
	}
	if (t.scheme == "https" || t.scheme == "suwsgi" || t.scheme == "grpcs") && p.tls != nil && p.tls.reuse {
		return true
	}
	_, grpc := p.proto.(*grpcProto)
	return grpc
}

// isTimeout reports whether err is (or wraps) a net.Error that timed
// out, as errors.As(err, &ne) && ne.Timeout(). errors.As's target
// escapes to the heap, an allocation per call, and every response that
// ends at its backend's close (fastcgi_keep_conn off: the read's io.EOF)
// asks once: the chain is walked here instead, errors.As's way (depth
// first, an As method asked), the target made only for an As method.
func isTimeout(err error) bool {
	ne, ok := netError(err)
	return ok && ne.Timeout()
}

// netError is the first net.Error in err's chain, as errors.As finds it.
func netError(err error) (net.Error, bool) {
	if err == io.EOF {
		// A backend's close (php-close: every response's end): io.EOF
		// wraps nothing and has no As, and the type tests below on its
		// type missed the runtime's caches on most calls (getitab,
		// ~100 instructions).
		return nil, false
	}
	for err != nil {
		if ne, ok := err.(net.Error); ok {
			return ne, true
		}
		if as, ok := err.(interface{ As(any) bool }); ok {
			var ne net.Error
			if as.As(&ne) {
				return ne, true
			}
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if ne, ok := netError(e); ok {
					return ne, true
				}
			}
			return nil, false
		default:
			return nil, false
		}
	}
	return nil, false
}
