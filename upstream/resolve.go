package upstream

import (
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/upstream/resolver"
)

const defaultResolverTimeout = 30 * time.Second

// compileResolver reads the resolver and resolver_timeout that apply to a
// location. One Resolver (and so one cache) serves every location that
// inherits the same resolver directive, as nginx creates one per level.
func (gs *Groups) compileResolver(p *Proxy, blocks [][]*nginxconf.Directive) error {
	p.resolverTimeout = defaultResolverTimeout
	if d := last(blocks, "resolver_timeout"); d != nil {
		if ms, ok := nginxconf.ParseTime(d.Args[0], false); ok {
			p.resolverTimeout = time.Duration(ms) * time.Millisecond
		}
	}
	d := last(blocks, "resolver")
	if d == nil {
		return nil
	}
	if r := gs.resolvers[d]; r != nil {
		p.resolver = r
		return nil
	}
	var cfg resolver.Config
	for _, a := range d.Args {
		switch {
		case strings.HasPrefix(a, "valid="):
			sec, ok := nginxconf.ParseTime(a[6:], true)
			if !ok {
				return confErr(d, "invalid parameter: %s", a)
			}
			cfg.Valid = time.Duration(sec) * time.Second
		case strings.HasPrefix(a, "ipv6="):
			if a[5:] != "on" && a[5:] != "off" {
				return confErr(d, "invalid parameter: %s", a)
			}
			cfg.NoIPv6 = a[5:] == "off"
		default:
			addrs, err := resolverAddrs(a)
			if err != nil {
				return confErr(d, "%s in resolver \"%s\"", err, a)
			}
			cfg.Servers = append(cfg.Servers, addrs...)
		}
	}
	if gs.resolvers == nil {
		gs.resolvers = map[*nginxconf.Directive]*resolver.Resolver{}
	}
	cfg.Number = func() { gs.Slots.Number() } // Slots are set after compiling
	p.resolver = resolver.New(cfg)
	gs.resolvers[d] = p.resolver
	return nil
}

// resolverAddrs reads a name server as ngx_parse_url with port 53 by
// default; a name is looked up now, as nginx does at load.
func resolverAddrs(a string) ([]netip.AddrPort, error) {
	host, port := a, "53"
	if h, p, err := net.SplitHostPort(a); err == nil {
		host, port = h, p
	} else if strings.HasPrefix(a, "[") && strings.HasSuffix(a, "]") {
		host = a[1 : len(a)-1]
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return nil, errString("invalid port")
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.AddrPort{netip.AddrPortFrom(ip.Unmap(), uint16(n))}, nil
	}
	ips, err := net.LookupIP(host)
	if err != nil || len(ips) == 0 {
		return nil, errString("host not found")
	}
	var out []netip.AddrPort
	for _, ip := range ips {
		if addr, ok := netip.AddrFromSlice(ip); ok {
			out = append(out, netip.AddrPortFrom(addr.Unmap(), uint16(n)))
		}
	}
	return out, nil
}

type errString string

func (e errString) Error() string { return string(e) }

// resolvedGroup is the group of a name the resolver answered: one server
// per address, round robin, as ngx_http_upstream_create_round_robin_peer
// makes for the request.
func resolvedGroup(host string, addrs []netip.Addr, port, defPort string) *Group {
	g := &Group{Name: host, Implicit: true, Picker: roundRobin{}}
	for _, ip := range addrs {
		addr := net.JoinHostPort(ip.String(), port)
		g.Servers = append(g.Servers, &Server{Network: "tcp", Addr: addr, addrPort: tcpAddrPort("tcp", addr), Name: addr, Weight: 1,
			effectiveWeight: 1, MaxFails: 1, FailTimeout: defaultFailTimeout})
	}
	g.proxyHost, g.proxyPort = hostHeader(host, defPort)
	return g
}

// StopResolvers ends the lookups in flight of every resolver of the
// config, for a server that stops now.
func (gs *Groups) StopResolvers() {
	for _, r := range gs.resolvers {
		r.Stop()
	}
}

// ResolverFor is the resolver and resolver_timeout that apply to blocks
// (outermost first), nil when none is set: the one the locations with
// the same resolver directive share, for ssl_ocsp's responders.
func (gs *Groups) ResolverFor(blocks [][]*nginxconf.Directive) (*resolver.Resolver, time.Duration, error) {
	p := &Proxy{}
	err := gs.compileResolver(p, blocks)
	return p.resolver, p.resolverTimeout, err
}
