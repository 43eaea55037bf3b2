package upstream

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"syscall"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite"
)

// proxy_bind (fastcgi_bind, scgi_bind, uwsgi_bind): the local address
// of connections to the backend, as ngx_http_upstream_bind_set_slot and
// ngx_http_upstream_set_local: an address (a port too) or a value with
// variables evaluated once per request (empty: no bind; not an address:
// logged, no bind). A bind that fails ends the request with 500, logged
// at "crit". "transparent" (IP_TRANSPARENT) is refused at start.

// localAddr is a compiled proxy_bind.
type localAddr struct {
	addr  netip.AddrPort // without variables
	value *rewrite.Complex
	name  string
}

func (p *Proxy) compileBind(blocks [][]*nginxconf.Directive, c *rewrite.Compiler) error {
	d := last(blocks, p.name("_bind"))
	if d == nil || len(d.Args) == 1 && d.Args[0] == "off" {
		return nil
	}
	// "transparent" is refused before serving (nginxconf's policy); -t
	// accepts it as nginx -t does.
	if len(d.Args) > 1 && d.Args[1] != "transparent" {
		return confErr(d, `invalid parameter "%s"`, d.Args[1])
	}
	v, err := c.Complex(d.Args[0])
	if err != nil {
		return rewrite.At(err, d)
	}
	la := &localAddr{name: d.Args[0]}
	if v.HasVariables() {
		la.value = v
	} else if la.addr, err = parseAddrPort(d.Args[0]); err != nil {
		return confErr(d, `invalid address "%s"`, d.Args[0])
	}
	p.bind = la
	return nil
}

// parseAddrPort reads an address as ngx_parse_addr_port: an IP address
// alone, or with ":port" (1-65535), an IPv6 one then in brackets.
func parseAddrPort(s string) (netip.AddrPort, error) {
	if a, ok := parseIP(s); ok {
		return netip.AddrPortFrom(a, 0), nil
	}
	host, port, ok := "", "", false
	if len(s) > 0 && s[0] == '[' {
		if end := strings.IndexByte(s, ']'); end > 0 && end+1 < len(s) && s[end+1] == ':' {
			host, port, ok = s[1:end], s[end+2:], true
		}
	} else if i := strings.IndexByte(s, ':'); i >= 0 {
		host, port, ok = s[:i], s[i+1:], true
	}
	n, err := strconv.Atoi(port)
	if !ok || err != nil || n < 1 || n > 65535 || port[0] == '+' || port[0] == '-' {
		return netip.AddrPort{}, fmt.Errorf("invalid address")
	}
	a, ok := parseIP(host)
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("invalid address")
	}
	return netip.AddrPortFrom(a, uint16(n)), nil
}

func parseIP(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	return a, err == nil && a.Zone() == ""
}

// setLocal evaluates proxy_bind for the request into x.local.
// Its first test is inlined at the callers (the rest is setLocalRun): the
// common case costs a test, not a call.
func (p *Proxy) setLocal(s *rewrite.State, x *exchange) {
	if p.bind == nil {
		x.local, x.localName = netip.AddrPort{}, ""
		return
	}
	p.setLocalRun(s, x)
}

// setLocalRun is setLocal past its first test.
func (p *Proxy) setLocalRun(s *rewrite.State, x *exchange) {
	x.local, x.localName = netip.AddrPort{}, ""
	la := p.bind
	if la == nil {
		return
	}
	if la.value == nil {
		x.local, x.localName = la.addr, la.name
		return
	}
	x.localBuf = la.value.Eval(s, x.localBuf[:0])
	if len(x.localBuf) == 0 {
		return
	}
	ap, err := parseAddrPort(string(x.localBuf))
	if err != nil {
		if s.TryLog != nil {
			s.TryLog.LogTryError(fmt.Errorf(`invalid local address "%s"`, x.localBuf))
		}
		return
	}
	x.local, x.localName = ap, string(x.localBuf)
}

// bindError is a bind(2) of proxy_bind's address that failed: nginx ends
// the request with 500 and logs it at "crit".
type bindError struct {
	name string
	err  error
}

func (e *bindError) Error() string {
	return fmt.Sprintf("bind(%s) failed (%s) while connecting to upstream", e.name, nginxconf.ErrnoText(e.err))
}

func (e *bindError) LogLevel() string { return "crit" }

// fatalConnect reports a connect failure that ends the request with 500
// instead of moving on to the next server.
func fatalConnect(err error) bool {
	switch err.(type) {
	case serverError, *bindError, *slotsError:
		return true
	}
	return false
}

// bindControl binds the socket to x.local before it connects, as
// ngx_event_connect_peer: with port 0, IP_BIND_ADDRESS_NO_PORT leaves
// the port to connect().
func bindControl(x *exchange) func(network, address string, rc syscall.RawConn) error {
	local, name := x.local, x.localName
	return func(network, address string, rc syscall.RawConn) error {
		var berr error
		err := rc.Control(func(fd uintptr) {
			var sa syscall.Sockaddr
			if a := local.Addr(); a.Is4() {
				sa = &syscall.SockaddrInet4{Port: int(local.Port()), Addr: a.As4()}
			} else {
				sa = &syscall.SockaddrInet6{Port: int(local.Port()), Addr: a.As16()}
			}
			if local.Port() == 0 {
				bindAddressNoPort(fd)
			}
			berr = syscall.Bind(int(fd), sa)
		})
		if err != nil {
			return err
		}
		if berr != nil {
			return &bindError{name: name, err: berr}
		}
		return nil
	}
}

// dialer is the dialer of a connection to srv for x: bound to x.local
// when proxy_bind gives one. Its Timeout is unset: dialWithin bounds the
// connect.
func (p *Proxy) dialer(x *exchange, network string) (net.Dialer, error) {
	// No SO_KEEPALIVE: nginx leaves it off (proxy_socket_keepalive
	// off), and Go's default would cost four setsockopt calls per
	// connection.
	d := net.Dialer{KeepAlive: -1}
	if x.localName == "" {
		return d, nil
	}
	if network == "unix" {
		// An IP address for a unix socket: bind(2) refuses it.
		return d, &bindError{name: x.localName, err: syscall.EINVAL}
	}
	d.Control = bindControl(x)
	return d, nil
}
