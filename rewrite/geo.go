package rewrite

import (
	"net/netip"
	"strings"

	"github.com/gonginx/gonginx/nginxconf"
)

// This file holds the variables of the geo and split_clients blocks:
// like map's, evaluated on first use in a request and cached for it.

// lazyVar computes a block-defined variable on first use.
type lazyVar interface {
	eval(s *State, v *variable, dst []byte) []byte
}

// cacheValue stores a computed value in v's slot for the rest of the
// request (unless volatile) and appends it to dst.
func cacheValue(s *State, v *variable, val []byte, volatile bool, dst []byte) []byte {
	if !volatile {
		growSlots(s, v.slot+1)
		s.Values[v.slot] = append(s.Values[v.slot][:0], val...)
		s.Valid[v.slot] = true
	}
	return append(dst, val...)
}

// geoVar is a "geo" variable (ngx_http_geo_module).
type geoVar struct {
	table  *nginxconf.Geo
	source *variable // nil: the client address
}

// Geo compiles "geo [$source] $variable { ... }" (http context); the
// entries were checked when the configuration was read.
func (c *Compiler) Geo(d *nginxconf.Directive) error {
	g := nginxconf.CompileGeo(d)
	gv := &geoVar{table: g}
	if g.Source != "" {
		gv.source = c.lookup(g.Source[1:])
	}
	v, err := c.newSlot(g.Var[1:])
	if err != nil {
		return At(err, d)
	}
	v.mapping = gv
	return nil
}

func (g *geoVar) eval(s *State, v *variable, dst []byte) []byte {
	var a netip.Addr
	if g.source == nil {
		if s.Req != nil && s.Req.Conn != nil {
			a, _ = netip.ParseAddr(s.Req.Conn.RemoteAddr)
		}
	} else {
		// The source is computed in dst's tail, then dropped (see
		// "Scratch memory" in the package doc).
		start := len(dst)
		dst = g.source.eval(s, dst)
		// ngx_parse_addr: an address alone, no port.
		a, _ = netip.ParseAddr(string(dst[start:]))
		dst = dst[:start]
	}
	if len(g.table.Proxies) > 0 && a.IsValid() && s.Req != nil {
		start := len(dst)
		dst = joinHeaders(s, "x_forwarded_for", ", ", dst)
		if xff := dst[start:]; len(xff) > 0 {
			a = forwardedAddr(a, xff, g.table.Proxies, g.table.ProxyRecursive)
		}
		dst = dst[:start]
	}
	val := g.table.Find(a)
	if !g.table.Volatile {
		growSlots(s, v.slot+1)
		s.Values[v.slot] = append(s.Values[v.slot][:0], val...)
		s.Valid[v.slot] = true
	}
	return append(dst, val...)
}

// forwardedAddr follows ngx_http_get_forwarded_addr: when a is a trusted
// proxy, the last address of X-Forwarded-For replaces it, and with
// recursion the walk goes on leftwards while the address is trusted.
func forwardedAddr(a netip.Addr, xff []byte, proxies []netip.Prefix, recursive bool) netip.Addr {
	for {
		if !trusted(a, proxies) {
			return a
		}
		end := len(xff)
		for end > 0 && (xff[end-1] == ' ' || xff[end-1] == ',') {
			end--
		}
		start := end
		for start > 0 && xff[start-1] != ' ' && xff[start-1] != ',' {
			start--
		}
		next := parseAddrPort(xff[start:end])
		if !next.IsValid() {
			return a
		}
		a = next
		if !recursive || start == 0 {
			return a
		}
		xff = xff[:start]
	}
}

func trusted(a netip.Addr, proxies []netip.Prefix) bool {
	for _, p := range proxies {
		if p.Contains(a.Unmap()) || p.Contains(a) {
			return true
		}
	}
	return false
}

// splitVar is a "split_clients" variable: the MurmurHash2 of the source
// string picks a value by cumulative percentages.
type splitVar struct {
	source *Complex
	bounds []uint32 // cumulative, scaled to 2^32; 0 for "*"
	values [][]byte
}

// SplitClients compiles "split_clients string $variable { ... }".
func (c *Compiler) SplitClients(d *nginxconf.Directive) error {
	src, err := c.Complex(d.Args[0])
	if err != nil {
		return At(err, d)
	}
	v, err := c.newSlot(d.Args[1][1:])
	if err != nil {
		return At(err, d)
	}
	sv := &splitVar{source: src}
	var last uint64
	for _, e := range d.Block {
		if e.Name == "#" || len(e.Args) == 0 {
			continue
		}
		var bound uint32
		if e.Name != "*" {
			n, _ := parsePercent(e.Name)
			last += n * 0xffffffff / 10000
			bound = uint32(last)
		}
		sv.bounds = append(sv.bounds, bound)
		sv.values = append(sv.values, []byte(e.Args[0]))
	}
	v.mapping = sv
	return nil
}

// parsePercent reads "12.5%" as hundredths of a percent (ngx_atofp, 2).
func parsePercent(s string) (uint64, bool) {
	if len(s) < 2 || s[len(s)-1] != '%' {
		return 0, false
	}
	var v uint64
	point, dot := 2, false
	for i := 0; i < len(s)-1; i++ {
		switch c := s[i]; {
		case c == '.':
			dot = true
		case c >= '0' && c <= '9':
			if point == 0 {
				continue
			}
			v = v*10 + uint64(c-'0')
			if dot {
				point--
			}
		default:
			return 0, false
		}
	}
	for ; point > 0; point-- {
		v *= 10
	}
	return v, true
}

func (sv *splitVar) eval(s *State, v *variable, dst []byte) []byte {
	start := len(dst)
	dst = sv.source.Eval(s, dst)
	h := murmurHash2(dst[start:])
	dst = dst[:start]
	for i, b := range sv.bounds {
		if h < b || b == 0 {
			return cacheValue(s, v, sv.values[i], false, dst)
		}
	}
	return cacheValue(s, v, nil, false, dst)
}

// murmurHash2 is ngx_murmur_hash2 (MurmurHash2, seed 0).
func murmurHash2(data []byte) uint32 {
	const m = 0x5bd1e995
	h := uint32(len(data))
	for len(data) >= 4 {
		k := uint32(data[0]) | uint32(data[1])<<8 | uint32(data[2])<<16 | uint32(data[3])<<24
		k *= m
		k ^= k >> 24
		k *= m
		h *= m
		h ^= k
		data = data[4:]
	}
	switch len(data) {
	case 3:
		h ^= uint32(data[2]) << 16
		fallthrough
	case 2:
		h ^= uint32(data[1]) << 8
		fallthrough
	case 1:
		h ^= uint32(data[0])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return h
}

// AuthRequestSet compiles "auth_request_set $variable value": the
// variable is defined (nginx adds it as changeable) and the value's
// variables are resolved like any other.
func (c *Compiler) AuthRequestSet(d *nginxconf.Directive) (*Assignment, error) {
	if len(d.Args) != 2 {
		return nil, At(errf(`invalid number of arguments in "auth_request_set" directive`), d)
	}
	name := d.Args[0]
	if !strings.HasPrefix(name, "$") {
		return nil, At(errf(`invalid variable name "`+name+`"`), d)
	}
	v, err := c.newSlot(name[1:])
	if err != nil {
		return nil, At(err, d)
	}
	val, err := c.Complex(d.Args[1])
	if err != nil {
		return nil, At(err, d)
	}
	return &Assignment{v: v, val: val}, nil
}

// Assignment is a compiled auth_request_set: a value evaluated in one
// request (the auth subrequest) stored in a variable of another (its
// parent), through the variable's set handler when it has one ($args).
type Assignment struct {
	v   *variable
	val *Complex
}

// Apply evaluates the value in from and sets the variable in to; scratch
// is reused and returned.
func (a *Assignment) Apply(to, from *State, scratch []byte) []byte {
	scratch = a.val.Eval(from, scratch[:0])
	a.v.store(to, scratch)
	return scratch
}
