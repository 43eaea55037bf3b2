package location

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/gonginx/gonginx/nginxconf"
)

// Listen is one parsed "listen" directive, as ngx_http_core_listen reads it.
type Listen struct {
	Network string // "tcp4", "tcp6" or "unix"
	IP      net.IP // nil for unix
	Port    int
	Path    string // unix socket path
	Addr    string // nginx's address text: "0.0.0.0:80", "[::]:80", "unix:/p"

	DefaultServer bool
	SSL           bool
	HTTP2         bool
	ProxyProtocol bool
	Deferred      bool
	ReusePort     bool
	Bind          bool // bound to its own socket (set by most socket options)
	Set           bool // socket options were given (nginx's lsopt.set)
	IPv6Only      bool
	Backlog       int
	RcvBuf        int
	SndBuf        int
	FastOpen      int    // -1: not set
	SoKeepalive   string // "on", "off", a triple or "" (not set)
	// KeepIdle, KeepIntvl (seconds) and KeepCnt are so_keepalive's
	// triple (0: the system's).
	KeepIdle, KeepIntvl, KeepCnt int
	// UDP: a stream "listen ... udp" (a datagram socket).
	UDP bool

	File string
	Line int
}

// wildcard reports whether the address is INADDR_ANY or in6addr_any.
func (l *Listen) wildcard() bool {
	return l.Network != "unix" && l.IP.IsUnspecified()
}

// defaultListen is what nginx uses for a server without "listen":
// *:80 when run as root, *:8000 otherwise.
func defaultListen(root bool, file string, line int) *Listen {
	port := 8000
	if root {
		port = 80
	}
	return &Listen{Network: "tcp4", IP: net.IPv4zero.To4(), Port: port,
		Addr: "0.0.0.0:" + strconv.Itoa(port), IPv6Only: true, Backlog: -1, FastOpen: -1, File: file, Line: line}
}

// parseListen parses the arguments of one listen directive. Errors are
// worded as nginx's (the caller adds " in file:line").
func parseListen(d *nginxconf.Directive) ([]*Listen, error) {
	if len(d.Args) == 0 {
		return nil, fmt.Errorf("invalid number of arguments in \"listen\" directive")
	}
	base, err := parseListenAddr(d.Args[0], 80)
	if err != nil {
		return nil, err
	}
	l := *base[0]
	l.File, l.Line = d.File, endLine(d)
	l.Backlog, l.FastOpen = -1, -1
	l.IPv6Only = true
	for _, a := range d.Args[1:] {
		switch {
		case a == "default_server" || a == "default":
			l.DefaultServer = true
		case a == "bind":
			l.Set, l.Bind = true, true
		case a == "ssl":
			l.SSL = true
		case a == "http2":
			l.HTTP2 = true
		case a == "proxy_protocol":
			l.ProxyProtocol = true
		case a == "deferred":
			l.Deferred, l.Set, l.Bind = true, true, true
		case a == "reuseport":
			l.ReusePort, l.Set, l.Bind = true, true, true
		case strings.HasPrefix(a, "backlog="):
			n, err := strconv.Atoi(a[8:])
			if err != nil || n == 0 || strings.HasPrefix(a[8:], "+") {
				return nil, fmt.Errorf("invalid backlog \"%s\"", a)
			}
			l.Backlog, l.Set, l.Bind = n, true, true
		case strings.HasPrefix(a, "rcvbuf="):
			n, ok := nginxconf.ParseOffset(a[7:])
			if !ok {
				return nil, fmt.Errorf("invalid rcvbuf \"%s\"", a)
			}
			l.RcvBuf, l.Set, l.Bind = int(n), true, true
		case strings.HasPrefix(a, "sndbuf="):
			n, ok := nginxconf.ParseOffset(a[7:])
			if !ok {
				return nil, fmt.Errorf("invalid sndbuf \"%s\"", a)
			}
			l.SndBuf, l.Set, l.Bind = int(n), true, true
		case strings.HasPrefix(a, "fastopen="):
			n, err := strconv.Atoi(a[9:])
			if err != nil || n < 0 {
				return nil, fmt.Errorf("invalid fastopen \"%s\"", a)
			}
			l.FastOpen, l.Set, l.Bind = n, true, true
		case strings.HasPrefix(a, "accept_filter="):
			// nginx logs this at [emerg] on Linux and goes on.
		case strings.HasPrefix(a, "ipv6only=o") && (a[10:] == "n" || a[10:] == "ff"):
			l.IPv6Only = a[10:] == "n"
			l.Set, l.Bind = true, true
		case strings.HasPrefix(a, "so_keepalive="):
			v := a[13:]
			if v != "on" && v != "off" {
				var ok bool
				if l.KeepIdle, l.KeepIntvl, l.KeepCnt, ok = parseKeepaliveTriple(v); !ok {
					return nil, fmt.Errorf("invalid so_keepalive value: \"%s\"", v)
				}
			}
			l.SoKeepalive, l.Set, l.Bind = v, true, true
		default:
			return nil, fmt.Errorf("invalid parameter \"%s\"", a)
		}
	}
	out := make([]*Listen, len(base))
	for i, b := range base {
		c := l
		c.Network, c.IP, c.Port, c.Path, c.Addr = b.Network, b.IP, b.Port, b.Path, b.Addr
		out[i] = &c
	}
	return out, nil
}

// parseKeepaliveTriple reads so_keepalive's "[idle]:[intvl]:[cnt]"
// (times in seconds), as ngx_http_core_listen: one part at least is
// non-zero.
func parseKeepaliveTriple(v string) (idle, intvl, cnt int, ok bool) {
	parts := strings.SplitN(v, ":", 3)
	var n [3]int64
	for i, p := range parts {
		if p == "" {
			continue
		}
		if i < 2 {
			n[i], ok = nginxconf.ParseTime(p, true)
		} else {
			n[i], ok = nginxconf.ParseNumber(p)
		}
		if !ok {
			return 0, 0, 0, false
		}
	}
	if n[0] == 0 && n[1] == 0 && n[2] == 0 {
		return 0, 0, 0, false
	}
	return int(n[0]), int(n[1]), int(n[2]), true
}

// parseListenAddr parses the address argument as ngx_parse_url does for
// listen (default port defPort: http's 80, stream's and mail's 0, a bare
// number is a port on the wildcard, a port range "8000-8009" gives one
// address per port).
func parseListenAddr(s string, defPort int) ([]*Listen, error) {
	bad := func(what string) error {
		return fmt.Errorf("%s in \"%s\" of the \"listen\" directive", what, s)
	}
	if len(s) >= 5 && strings.EqualFold(s[:5], "unix:") {
		p := s[5:]
		if p == "" {
			return nil, bad("no path in the unix domain socket")
		}
		return []*Listen{{Network: "unix", Path: p, Addr: "unix:" + p}}, nil
	}
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return nil, bad("invalid host")
		}
		host, rest := s[1:end], s[end+1:]
		first, last := defPort, defPort
		if rest != "" {
			if rest[0] != ':' {
				return nil, bad("invalid host")
			}
			var msg string
			if first, last, msg = parsePortRange(rest[1:]); msg != "" {
				return nil, bad(msg)
			}
		}
		ip := net.ParseIP(host)
		if ip == nil || ip.To4() != nil && !strings.Contains(host, ":") {
			return nil, bad("invalid IPv6 address")
		}
		return inetListens([]net.IP{ip}, first, last), nil
	}
	// ngx_parse_inet_url: a listen address has no URI part.
	if strings.ContainsAny(s, "/?") {
		return nil, bad("invalid host")
	}
	host, portText, hasPort := strings.Cut(s, ":")
	first, last := defPort, defPort
	if hasPort {
		var msg string
		if first, last, msg = parsePortRange(portText); msg != "" {
			return nil, bad(msg)
		}
	} else if f, l, msg, isPort := bareListenPort(s); isPort {
		if msg != "" {
			return nil, bad(msg)
		}
		return inetListens([]net.IP{net.IPv4zero}, f, l), nil
	}
	if host == "" {
		return nil, bad("no host")
	}
	if host == "*" {
		return inetListens([]net.IP{net.IPv4zero}, first, last), nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.To4() != nil {
		return inetListens([]net.IP{ip}, first, last), nil
	}
	ips, err := nginxconf.LookupIP(host)
	if err != nil || len(ips) == 0 {
		return nil, bad("host not found")
	}
	return inetListens(ips, first, last), nil
}

// parsePortRange reads "80" or "8000-8009" after a host, with
// ngx_parse_inet_url's errors.
func parsePortRange(s string) (first, last int, msg string) {
	if dash := strings.IndexByte(s, '-'); dash >= 0 {
		n, ok := parsePort(s[dash+1:])
		if !ok {
			return 0, 0, "invalid port"
		}
		last, s = n, s[:dash]
	}
	first, ok := parsePort(s)
	if !ok {
		return 0, 0, "invalid port"
	}
	if last == 0 {
		return first, first, ""
	}
	if first > last {
		return 0, 0, "invalid port range"
	}
	return first, last, ""
}

// bareListenPort reads an argument without ":" as a port or port range
// on the wildcard address; isPort is false when it is a host name
// (nginx tries it as a port only when both sides are numbers).
func bareListenPort(s string) (first, last int, msg string, isPort bool) {
	p := s
	if dash := strings.IndexByte(s, '-'); dash >= 0 {
		n, ok := atoiNginx(s[dash+1:])
		if !ok {
			return 0, 0, "", false
		}
		if n < 1 || n > 65535 {
			msg = "invalid port"
		}
		last, p = n, s[:dash]
	}
	n, ok := atoiNginx(p)
	switch {
	case !ok:
		return 0, 0, "", false
	case msg != "":
		return 0, 0, msg, true
	case n < 1 || n > 65535:
		return 0, 0, "invalid port", true
	case last != 0 && n > last:
		return 0, 0, "invalid port range", true
	case last == 0:
		last = n
	}
	return n, last, "", true
}

// atoiNginx is ngx_atoi: decimal digits only, no sign, not empty.
func atoiNginx(s string) (int, bool) {
	if s == "" || len(s) > 18 { // ngx_atoi overflows past int64
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

// inetListens is one address per IP and per port of the range, in
// ngx_inet_add_addr's order.
func inetListens(ips []net.IP, first, last int) []*Listen {
	var out []*Listen
	for _, ip := range ips {
		for port := first; port <= last; port++ {
			out = append(out, inetListen(ip, port))
		}
	}
	return out
}

func inetListen(ip net.IP, port int) *Listen {
	l := &Listen{IP: ip, Port: port}
	if v4 := ip.To4(); v4 != nil {
		l.Network, l.IP = "tcp4", v4
		l.Addr = v4.String() + ":" + strconv.Itoa(port)
	} else {
		l.Network = "tcp6"
		l.Addr = "[" + ip.String() + "]:" + strconv.Itoa(port)
	}
	return l
}

func parsePort(s string) (int, bool) {
	if s == "" || s[0] == '+' || s[0] == '-' {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 {
		return 0, false
	}
	return n, true
}

// parseSeconds reads nginx times ("30", "30s", "1m", "1h30m", "500ms")
// and returns milliseconds.
func parseSeconds(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	var total, n int64
	digits := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= '0' && c <= '9' {
			n = n*10 + int64(c-'0')
			digits = true
			continue
		}
		if !digits {
			return 0, false
		}
		var mul int64
		switch c {
		case 'y':
			mul = 365 * 24 * 3600 * 1000
		case 'M':
			mul = 30 * 24 * 3600 * 1000
		case 'w':
			mul = 7 * 24 * 3600 * 1000
		case 'd':
			mul = 24 * 3600 * 1000
		case 'h':
			mul = 3600 * 1000
		case 'm':
			if i+1 < len(s) && s[i+1] == 's' {
				mul = 1
				i++
			} else {
				mul = 60 * 1000
			}
		case 's':
			mul = 1000
		case ' ':
			continue
		default:
			return 0, false
		}
		total += n * mul
		n, digits = 0, false
	}
	if digits {
		total += n * 1000
	}
	return total, true
}
