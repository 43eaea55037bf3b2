package location

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gonginx/gonginx/nginxconf"
)

// ParseStreamListen parses a "listen" of a stream server as
// ngx_stream_core_listen: the address has no default port; udp, ssl,
// proxy_protocol and the socket options (their errors were reported by
// -t's checks, which ran first).
func ParseStreamListen(d *nginxconf.Directive) ([]*Listen, error) {
	if len(d.Args) == 0 {
		return nil, fmt.Errorf("invalid number of arguments in \"listen\" directive")
	}
	base, err := parseListenAddr(d.Args[0], 0)
	if err != nil {
		return nil, err
	}
	l := Listen{File: d.File, Line: endLine(d), Backlog: -1, FastOpen: -1, IPv6Only: true}
	for _, a := range d.Args[1:] {
		switch {
		case a == "udp":
			l.UDP = true
		case a == "bind":
			l.Bind = true
		case a == "ssl":
			l.SSL = true
		case a == "proxy_protocol":
			l.ProxyProtocol = true
		case a == "reuseport":
			l.ReusePort, l.Bind = true, true
		case strings.HasPrefix(a, "backlog="):
			n, err := strconv.Atoi(a[8:])
			if err != nil || n == 0 {
				return nil, fmt.Errorf("invalid backlog \"%s\"", a)
			}
			l.Backlog, l.Bind = n, true
		case strings.HasPrefix(a, "rcvbuf="), strings.HasPrefix(a, "sndbuf="):
			n, ok := nginxconf.ParseOffset(a[7:])
			if !ok {
				return nil, fmt.Errorf("invalid %s \"%s\"", a[:6], a)
			}
			if a[0] == 'r' {
				l.RcvBuf = int(n)
			} else {
				l.SndBuf = int(n)
			}
			l.Bind = true
		case strings.HasPrefix(a, "fastopen="):
			n, err := strconv.Atoi(a[9:])
			if err != nil || n < 0 {
				return nil, fmt.Errorf("invalid fastopen \"%s\"", a)
			}
			l.FastOpen, l.Bind = n, true
		case strings.HasPrefix(a, "ipv6only=o"):
			l.IPv6Only, l.Bind = a[10:] == "n", true
		case strings.HasPrefix(a, "so_keepalive="):
			v := a[13:]
			if v != "on" && v != "off" {
				var ok bool
				if l.KeepIdle, l.KeepIntvl, l.KeepCnt, ok = parseKeepaliveTriple(v); !ok {
					return nil, fmt.Errorf("invalid so_keepalive value: \"%s\"", v)
				}
			}
			l.SoKeepalive, l.Bind = v, true
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

// IsWildcard reports whether the address is INADDR_ANY or in6addr_any.
func (l *Listen) IsWildcard() bool { return l.wildcard() }

// Key names the socket among a configuration's: its address text, with
// " udp" for a datagram socket (a TCP and a UDP socket share a port).
func (l *Listen) Key() string {
	if l.UDP {
		return l.Addr + " udp"
	}
	return l.Addr
}
