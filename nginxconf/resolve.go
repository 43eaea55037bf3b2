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
	addrs, err := net.LookupHost(host)
	ok := err == nil && len(addrs) > 0
	if p.hosts == nil {
		p.hosts = map[string]bool{}
	}
	p.hosts[host] = ok
	return ok
}

// upstreamServerHost resolves the address of an upstream's "server" line;
// nginx names the address as written: host not found in upstream
// "backend:8080". Malformed addresses are left to the full check.
func (p *parser) upstreamServerHost(d *Directive) *Error {
	if len(d.Args) == 0 {
		return nil
	}
	a := d.Args[0]
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
	if host == "" || strings.ContainsAny(host, "/?$ ") {
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
