package nginxconf

import (
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// This file resolves upstream host names when nginx does, so that -t
// reports "host not found in upstream" before or after other errors as
// nginx does: a "server" of an upstream{} block while the block is read
// (ngx_http_upstream_server), the hosts of proxy_pass and the other *_pass
// directives once the http block is read (ngx_http_upstream_init_main_conf,
// before any server{} is merged, so before certificates are loaded).

// lookupHost reports whether host resolves; answers are kept for the
// rest of the load, as one host is often named many times.
func (p *parser) lookupHost(host string) bool {
	if ok, seen := p.hosts[host]; seen {
		return ok
	}
	addrs, err := LookupHost(host)
	ok := err == nil && len(addrs) > 0
	if p.hosts == nil {
		p.hosts = map[string]bool{}
	}
	p.hosts[host] = ok
	return ok
}

// upstreamServerHost resolves the address of an upstream's "server" line;
// nginx names the address as written: host not found in upstream
// "backend:8080". A malformed address is ngx_parse_url's error, also
// reported as the line is read, before any later line's warning.
func (p *parser) upstreamServerHost(d *Directive) *Error {
	if len(d.Args) == 0 {
		return nil
	}
	a := d.Args[0]
	if _, msg := parseUpstreamURL(a, false); msg != "" {
		return d.errorf("%s in upstream %q", msg, a)
	}
	host, ok := inetHost(a)
	if !ok || p.lookupHost(host) {
		return nil
	}
	return d.errorf("host not found in upstream %q", a)
}

// inetHost returns the host name of "host[:port]" when it is a name to
// resolve (not an address, not a unix socket, a valid port if any).
func inetHost(a string) (string, bool) {
	if a == "" || strings.HasPrefix(a, "unix:") || strings.HasPrefix(a, "[") {
		return "", false
	}
	host := a
	if i := strings.LastIndexByte(a, ':'); i >= 0 {
		n, err := strconv.Atoi(a[i+1:])
		if err != nil || n < 1 || n > 65535 {
			return "", false
		}
		host = a[:i]
	}
	if host == "" || strings.ContainsAny(host, "/? ") {
		return "", false
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return "", false
	}
	if _, ok := inetAddr(host); ok {
		return "", false
	}
	return host, true
}

// proxyPassHost returns the host proxy_pass names, when it names one to
// resolve (no variables, not an upstream{} block, not a unix socket).
func proxyPassHost(v string, ups map[string]bool) (string, bool) {
	if strings.Contains(v, "$") {
		return "", false
	}
	low := strings.ToLower(v)
	switch {
	case strings.HasPrefix(low, "http://"):
		v = v[len("http://"):]
	case strings.HasPrefix(low, "https://"):
		v = v[len("https://"):]
	default:
		return "", false
	}
	if i := strings.IndexAny(v, "/?"); i >= 0 {
		v = v[:i]
	}
	host, ok := inetHost(v)
	if !ok {
		return "", false
	}
	if ups[strings.ToLower(host)] {
		return "", false
	}
	return host, true
}

// LookupIP resolves a host of the config as nginx does: ngx_inet_addr's
// four decimal octets (an empty one is 0: "127..0.1"), then getaddrinfo,
// whose numeric forms are inet_aton's ("1.5" is 1.0.0.5, "0x7f.1" and
// "2130706433" are 127.0.0.1), then a DNS or hosts lookup.
func LookupIP(host string) ([]net.IP, error) {
	if v, ok := inetAddr(host); ok {
		return []net.IP{net.IPv4(byte(v>>24), byte(v>>16), byte(v>>8), byte(v))}, nil
	}
	if ip, ok := inetAton(host); ok {
		return []net.IP{ip}, nil
	}
	return net.LookupIP(host)
}

// LookupHost is LookupIP with the addresses as text.
func LookupHost(host string) ([]string, error) {
	ips, err := LookupIP(host)
	out := make([]string, len(ips))
	for i, ip := range ips {
		out[i] = ip.String()
	}
	return out, err
}

// inetAton is glibc's inet_aton_exact, getaddrinfo's numeric IPv4 form:
// one to four parts, each decimal, 0-led octal or 0x-led hex; the last
// part fills the bytes left.
func inetAton(s string) (net.IP, bool) {
	var parts []uint64
	i := 0
	for {
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			return nil, false
		}
		base, val, digits := uint64(10), uint64(0), true
		if s[i] == '0' {
			base = 8
			i++
			if i < len(s) && (s[i] == 'x' || s[i] == 'X') {
				base, digits = 16, false // "0x" alone is no number
				i++
			}
		}
		for ; i < len(s); i++ {
			c := s[i]
			var d uint64
			switch {
			case c >= '0' && c <= '9':
				d = uint64(c - '0')
				if base == 8 && d > 7 {
					return nil, false
				}
			case base == 16 && c >= 'a' && c <= 'f':
				d = uint64(c-'a') + 10
			case base == 16 && c >= 'A' && c <= 'F':
				d = uint64(c-'A') + 10
			default:
				goto end
			}
			if val = val*base + d; val > 0xffffffff {
				return nil, false
			}
			digits = true
		}
	end:
		if !digits {
			return nil, false
		}
		if i < len(s) && s[i] == '.' {
			if len(parts) > 2 || val > 0xff {
				return nil, false
			}
			parts = append(parts, val)
			i++
			continue
		}
		if i != len(s) {
			return nil, false
		}
		if val > uint64(0xffffffff)>>(8*len(parts)) {
			return nil, false
		}
		addr := val
		for k, p := range parts {
			addr |= p << (8 * (3 - k))
		}
		return net.IPv4(byte(addr>>24), byte(addr>>16), byte(addr>>8), byte(addr)), true
	}
}
