package nginxconf

import (
	"cmp"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// This file checks the entries of the geo and split_clients blocks as
// their modules' block handlers read them (ngx_http_geo,
// ngx_http_split_clients, and their stream twins): one entry at a time,
// in document order, with nginx's messages and warnings. The entries stay
// raw directives for the packages that compile them.

// rawChecker follows one geo or split_clients block while it is read.
type rawChecker interface {
	// entry checks one "key value;" entry; a returned error with Warn
	// set is recorded and reading goes on.
	entry(d *Directive) []*Error
	// end runs the check made when the block has been read; line is the
	// line of its closing "}".
	end(d *Directive, line int) *Error
}

// newRawChecker returns the checker for a block directive's entries, or
// nil when its entries are not checked here.
func newRawChecker(name string) rawChecker {
	switch name {
	case "geo":
		return &geoCheck{v4: map[[2]uint32]string{}, v6: map[geoNet6]string{}}
	case "split_clients":
		return &splitCheck{}
	case "types":
		return &typesCheck{ext: map[string]string{}}
	}
	return nil
}

// entryErr places an error at the entry's terminator line, where nginx's
// reader stands when the handler runs.
func entryErr(d *Directive, format string, args ...any) *Error {
	return &Error{Msg: sprintf(format, args...), File: d.File, Line: d.EndLine}
}

func entryWarn(d *Directive, format string, args ...any) *Error {
	e := entryErr(d, format, args...)
	e.Warn = true
	return e
}

// checkVarName is the "$name" check of the geo, split_clients and map
// block handlers.
func checkVarName(d *Directive, v string) *Error {
	if !strings.HasPrefix(v, "$") {
		return d.errorf("invalid variable name %q", v)
	}
	return nil
}

// splitCheck follows ngx_http_split_clients: "N%" or "*" entries whose
// total must not pass 100%.
type splitCheck struct {
	percents []int64 // hundredths of a percent; 0 for "*"
}

func (s *splitCheck) entry(d *Directive) []*Error {
	k := d.Name
	if k == "*" {
		s.percents = append(s.percents, 0)
		return nil
	}
	n, ok := int64(0), strings.HasSuffix(k, "%")
	if ok {
		n, ok = parseFixedPoint(k[:len(k)-1], 2)
	}
	if !ok || n == 0 {
		return []*Error{entryErr(d, "invalid percent value %q", k)}
	}
	s.percents = append(s.percents, n)
	return nil
}

func (s *splitCheck) end(d *Directive, line int) *Error {
	var sum int64
	for _, p := range s.percents {
		if p == 0 {
			sum = 10000 // "*" takes the rest
		} else {
			sum += p
		}
		if sum > 10000 {
			return &Error{Msg: "percent total is greater than 100%", File: d.File, Line: line}
		}
	}
	return nil
}

// parseFixedPoint reads a decimal with at most one dot as ngx_atofp does:
// the value scaled by 10^point, further decimals ignored.
func parseFixedPoint(s string, point int) (int64, bool) {
	if s == "" {
		return 0, false
	}
	var v int64
	dot := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '.' {
			if dot {
				return 0, false
			}
			dot = true
			continue
		}
		if c < '0' || c > '9' {
			return 0, false
		}
		if point == 0 {
			continue
		}
		if v > (1<<63-1)/10 {
			return 0, false
		}
		v = v*10 + int64(c-'0')
		if dot {
			point--
		}
	}
	for ; point > 0; point-- {
		if v > (1<<63-1)/10 {
			return 0, false
		}
		v *= 10
	}
	return v, true
}

// geoCheck follows ngx_http_geo: "ranges" mode or CIDR mode, with the
// duplicate and delete warnings nginx's radix tree and range lists give.
type geoCheck struct {
	ranges   bool
	cidrUsed bool // nginx's radix trees exist: "ranges" comes too late
	v4       map[[2]uint32]string
	v6       map[geoNet6]string
	// range mode: per /16 block, the sorted ranges of its low 16 bits.
	rangeDefault *string
	blocks       map[uint32][]geoRange
}

// geoNet6 is a parsed network; an IPv4 one (is4) keeps its address in
// the first four bytes.
type geoNet6 struct {
	addr [16]byte
	bits int
	is4  bool
}

type geoRange struct {
	start, end uint32 // low 16 bits
	value      string
}

func (g *geoCheck) entry(d *Directive) []*Error {
	if len(d.Args) == 0 {
		switch d.Name {
		case "ranges":
			if g.cidrUsed {
				return []*Error{entryErr(d, `the "ranges" directive must be the first directive inside "geo" block`)}
			}
			g.ranges = true
			return nil
		case "proxy_recursive":
			return nil // no "volatile" in 1.22's geo (map has it)
		}
	}
	if len(d.Args) != 1 {
		return []*Error{entryErr(d, "invalid number of the geo parameters")}
	}
	key, val := d.Name, d.Args[0]
	if key == "include" {
		return nil // spliced in by the parser
	}
	if key == "proxy" {
		_, errs := geoCIDR(d, val)
		return errs
	}
	if g.ranges {
		return g.rangeEntry(d, key, val)
	}
	return g.cidrEntry(d, key, val)
}

func (g *geoCheck) end(*Directive, int) *Error { return nil }

// geoCIDR parses a network as ngx_http_geo_cidr_value does.
func geoCIDR(d *Directive, net string) (*geoNet6, []*Error) {
	if net == "255.255.255.255" {
		return &geoNet6{addr: v4Key(0xffffffff), bits: 32, is4: true}, nil
	}
	n, low, ok := parseCIDR(net)
	if !ok {
		return nil, []*Error{entryErr(d, "invalid network %q", net)}
	}
	if low {
		return &n, []*Error{entryWarn(d, "low address bits of %s are meaningless", net)}
	}
	return &n, nil
}

// v4Key stores an IPv4 address in the first four bytes of an address.
func v4Key(a uint32) [16]byte {
	var b [16]byte
	b[0], b[1], b[2], b[3] = byte(a>>24), byte(a>>16), byte(a>>8), byte(a)
	return b
}

func (n geoNet6) v4() uint32 {
	return uint32(n.addr[0])<<24 | uint32(n.addr[1])<<16 | uint32(n.addr[2])<<8 | uint32(n.addr[3])
}

// parseCIDR is ngx_ptocidr: an address with an optional "/bits"; low
// reports host bits set under the mask (nginx clears them and warns).
func parseCIDR(s string) (n geoNet6, low, ok bool) {
	addrText, maskText, hasMask := strings.Cut(s, "/")
	if a, ok4 := inetAddr(addrText); ok4 {
		n.is4 = true
		n.addr = v4Key(a)
		n.bits = 32
	} else if a, ok6 := inet6Addr(addrText); ok6 {
		n.addr = a
		n.bits = 128
	} else {
		return n, false, false
	}
	if !hasMask {
		return n, false, true
	}
	shift, okN := atoi(maskText)
	if !okN {
		return n, false, false
	}
	if n.is4 {
		if shift > 32 {
			return n, false, false
		}
		a := n.v4()
		var mask uint32
		if shift > 0 {
			mask = 0xffffffff << (32 - shift)
		}
		n.addr = v4Key(a & mask)
		n.bits = shift
		return n, a&mask != a, true
	}
	if shift > 128 {
		return n, false, false
	}
	for i := range 16 {
		keep := min(max(shift-8*i, 0), 8)
		m := byte(0xff << (8 - keep))
		if keep == 0 {
			m = 0
		}
		if n.addr[i]&^m != 0 {
			low = true
			n.addr[i] &= m
		}
	}
	n.bits = shift
	return n, low, true
}

// inetAddr is ngx_inet_addr: four decimal octets (an empty octet counts as
// 0); 255.255.255.255 is its error value, so it is refused too.
func inetAddr(s string) (uint32, bool) {
	var addr, octet uint32
	dots := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			octet = octet*10 + uint32(c-'0')
			if octet > 255 {
				return 0, false
			}
		case c == '.':
			addr = addr<<8 + octet
			octet = 0
			dots++
		default:
			return 0, false
		}
	}
	if dots != 3 {
		return 0, false
	}
	addr = addr<<8 + octet
	return addr, addr != 0xffffffff
}

func inet6Addr(s string) ([16]byte, bool) {
	if s == "" || strings.ContainsAny(s, "%") {
		return [16]byte{}, false
	}
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is6() {
		return [16]byte{}, false
	}
	return a.As16(), true
}

// atoi is ngx_atoi: decimal digits only.
func atoi(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || strings.ContainsAny(s, "+-") {
		return 0, false
	}
	return n, true
}

func (g *geoCheck) cidrEntry(d *Directive, key, val string) []*Error {
	g.cidrUsed = true
	if key == "default" {
		a := g.add(d, geoNet6{is4: true}, key, val)
		b := g.add(d, geoNet6{}, key, val)
		return append(a, b...)
	}
	net, del := key, false
	if key == "delete" {
		net, del = val, true
	}
	n, errs := geoCIDR(d, net)
	if n == nil {
		return errs
	}
	if del {
		if !g.remove(*n) {
			errs = append(errs, entryWarn(d, "no network %q to delete", net))
		}
		return errs
	}
	return append(errs, g.add(d, *n, net, val)...)
}

func (g *geoCheck) add(d *Directive, n geoNet6, net, val string) []*Error {
	if n.is4 {
		k := [2]uint32{n.v4(), uint32(n.bits)}
		if _, dup := g.v4[k]; dup {
			old := g.find4(n.v4())
			g.v4[k] = val
			return []*Error{entryWarn(d, "duplicate network %q, value: %q, old value: %q", net, val, old)}
		}
		g.v4[k] = val
		return nil
	}
	if _, dup := g.v6[n]; dup {
		old := g.find6(n.addr)
		g.v6[n] = val
		return []*Error{entryWarn(d, "duplicate network %q, value: %q, old value: %q", net, val, old)}
	}
	g.v6[n] = val
	return nil
}

func (g *geoCheck) remove(n geoNet6) bool {
	if n.is4 {
		k := [2]uint32{n.v4(), uint32(n.bits)}
		if _, ok := g.v4[k]; !ok {
			return false
		}
		delete(g.v4, k)
		return true
	}
	if _, ok := g.v6[n]; !ok {
		return false
	}
	delete(g.v6, n)
	return true
}

// find4 is the radix tree's lookup: the value of the longest network
// holding a.
func (g *geoCheck) find4(a uint32) string {
	best, bestBits := "", -1
	for k, v := range g.v4 {
		var mask uint32
		if k[1] > 0 {
			mask = 0xffffffff << (32 - k[1])
		}
		if a&mask == k[0] && int(k[1]) > bestBits {
			best, bestBits = v, int(k[1])
		}
	}
	return best
}

func (g *geoCheck) find6(a [16]byte) string {
	best, bestBits := "", -1
	for k, v := range g.v6 {
		if k.bits > bestBits && prefixMatch(a, k.addr, k.bits) {
			best, bestBits = v, k.bits
		}
	}
	return best
}

func prefixMatch(a, p [16]byte, bits int) bool {
	for i := range 16 {
		keep := min(max(bits-8*i, 0), 8)
		if keep == 0 {
			return true
		}
		m := byte(0xff << (8 - keep))
		if a[i]&m != p[i] {
			return false
		}
	}
	return true
}

func (g *geoCheck) rangeEntry(d *Directive, key, val string) []*Error {
	if key == "default" {
		var errs []*Error
		if g.rangeDefault != nil {
			errs = append(errs, entryWarn(d, "duplicate default geo range value: %q, old value: %q", val, *g.rangeDefault))
		}
		g.rangeDefault = &val
		return errs
	}
	net, del := key, false
	if key == "delete" {
		net, del = val, true
	}
	startText, endText, ok := strings.Cut(net, "-")
	start, ok1 := inetAddr(startText)
	end, ok2 := inetAddr(endText)
	if !ok || !ok1 || !ok2 || start > end {
		return []*Error{entryErr(d, "invalid range %q", net)}
	}
	if g.blocks == nil {
		g.blocks = map[uint32][]geoRange{}
	}
	if del {
		if g.deleteRange(start, end) {
			return []*Error{entryWarn(d, "no address range %q to delete", net)}
		}
		return nil
	}
	return g.addRange(d, net, val, start, end)
}

// forBlocks calls f for each /16 block of start-end with the low bits of
// the part inside it.
func forBlocks(start, end uint32, f func(h, s, e uint32) bool) {
	for n := uint64(start); n <= uint64(end); n = (n + 0x10000) &^ 0xffff {
		h := uint32(n >> 16)
		s, e := uint32(0), uint32(0xffff)
		if n == uint64(start) {
			s = uint32(n) & 0xffff
		}
		if uint64(n)|0xffff > uint64(end) {
			e = end & 0xffff
		}
		if !f(h, s, e) {
			return
		}
	}
}

// addRange follows ngx_http_geo_add_range: a new range may split, cut
// or replace one range of a block, but not straddle one.
func (g *geoCheck) addRange(d *Directive, net, val string, start, end uint32) []*Error {
	var errs []*Error
	forBlocks(start, end, func(h, s, e uint32) bool {
		r := g.blocks[h]
		for i := len(r) - 1; i >= 0; i-- {
			switch {
			case e < r[i].start:
				continue
			case s > r[i].end:
				r = insertRange(r, i+1, geoRange{s, e, val})
			case s == r[i].start && e == r[i].end:
				errs = append(errs, entryWarn(d, "duplicate range %q, value: %q, old value: %q", net, val, r[i].value))
				r[i].value = val
			case s > r[i].start && e < r[i].end:
				tail := geoRange{e + 1, r[i].end, r[i].value}
				r[i].end = s - 1
				r = insertRange(r, i+1, geoRange{s, e, val})
				r = insertRange(r, i+2, tail)
			case s == r[i].start && e < r[i].end:
				r[i].start = e + 1
				r = insertRange(r, i, geoRange{s, e, val})
			case s > r[i].start && e == r[i].end:
				r[i].end = s - 1
				r = insertRange(r, i+1, geoRange{s, e, val})
			default:
				os, oe := r[i].start, r[i].end
				errs = append(errs, entryErr(d, "range %q overlaps \"%d.%d.%d.%d-%d.%d.%d.%d\"", net,
					h>>8, h&0xff, os>>8, os&0xff, h>>8, h&0xff, oe>>8, oe&0xff))
				return false
			}
			g.blocks[h] = r
			return true
		}
		g.blocks[h] = insertRange(r, 0, geoRange{s, e, val})
		return true
	})
	return errs
}

func insertRange(r []geoRange, i int, x geoRange) []geoRange {
	r = append(r, geoRange{})
	copy(r[i+1:], r[i:])
	r[i] = x
	return r
}

// deleteRange follows ngx_http_geo_delete_range: each block's part must
// be one whole range; it reports whether some part was missing.
func (g *geoCheck) deleteRange(start, end uint32) bool {
	warn := false
	forBlocks(start, end, func(h, s, e uint32) bool {
		r := g.blocks[h]
		found := false
		for i := range r {
			if r[i].start == s && r[i].end == e {
				g.blocks[h] = append(r[:i], r[i+1:]...)
				found = true
				break
			}
		}
		if !found {
			warn = true
		}
		return true
	})
	return warn
}

// Geo is a geo block compiled into lookup tables, for the package that
// evaluates the variable. Entries were checked when the block was read.
type Geo struct {
	Source         string // "$var" whose value is the address, or "" for the client address
	Var            string // "$name" the block defines
	Proxies        []netip.Prefix
	ProxyRecursive bool
	Volatile       bool
	ranges         bool
	// CIDR mode: one map per prefix length, longest first.
	lens4 []int
	nets4 []map[uint32]string
	lens6 []int
	nets6 []map[[16]byte]string
	// ranges mode.
	spans []geoSpan
	def   string
}

type geoSpan struct {
	start, end uint32
	value      string
}

// CompileGeo replays a geo block's entries (d.Block, includes spliced in)
// as nginx builds its radix trees or range lists.
func CompileGeo(d *Directive) *Geo {
	g := &Geo{Var: d.Args[len(d.Args)-1]}
	if len(d.Args) == 2 {
		g.Source = d.Args[0]
	}
	c := newRawChecker("geo").(*geoCheck)
	for _, e := range d.Block {
		if e.Name == "#" {
			continue
		}
		switch {
		case len(e.Args) == 0 && e.Name == "proxy_recursive":
			g.ProxyRecursive = true
		case len(e.Args) == 0 && e.Name == "volatile":
			g.Volatile = true
		case len(e.Args) == 1 && e.Name == "proxy":
			if n, _ := geoCIDR(e, e.Args[0]); n != nil {
				g.Proxies = append(g.Proxies, n.prefix())
			}
		}
		c.entry(e)
	}
	g.ranges = c.ranges
	if c.ranges {
		if c.rangeDefault != nil {
			g.def = *c.rangeDefault
		}
		for h, rs := range c.blocks {
			for _, r := range rs {
				g.spans = append(g.spans, geoSpan{h<<16 | r.start, h<<16 | r.end, r.value})
			}
		}
		slices.SortFunc(g.spans, func(a, b geoSpan) int { return cmp.Compare(a.start, b.start) })
		return g
	}
	byLen4 := map[int]map[uint32]string{}
	for k, v := range c.v4 {
		l := int(k[1])
		if byLen4[l] == nil {
			byLen4[l] = map[uint32]string{}
		}
		byLen4[l][k[0]] = v
	}
	for l := 32; l >= 0; l-- {
		if m := byLen4[l]; m != nil {
			g.lens4, g.nets4 = append(g.lens4, l), append(g.nets4, m)
		}
	}
	byLen6 := map[int]map[[16]byte]string{}
	for k, v := range c.v6 {
		if byLen6[k.bits] == nil {
			byLen6[k.bits] = map[[16]byte]string{}
		}
		byLen6[k.bits][k.addr] = v
	}
	for l := 128; l >= 0; l-- {
		if m := byLen6[l]; m != nil {
			g.lens6, g.nets6 = append(g.lens6, l), append(g.nets6, m)
		}
	}
	return g
}

func (n geoNet6) prefix() netip.Prefix {
	if n.is4 {
		return netip.PrefixFrom(netip.AddrFrom4([4]byte(n.addr[:4])), n.bits)
	}
	return netip.PrefixFrom(netip.AddrFrom16(n.addr), n.bits)
}

// Find returns the value for address a; an invalid a (an unparsable
// source, a unix socket) looks up 255.255.255.255 as nginx does.
func (g *Geo) Find(a netip.Addr) string {
	a4, is4 := uint32(0xffffffff), true
	switch {
	case !a.IsValid():
	case a.Is4() || a.Is4In6():
		b := a.Unmap().As4()
		a4 = uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	default:
		is4 = false
	}
	if g.ranges {
		if !is4 {
			a4 = 0xffffffff
		}
		i, _ := slices.BinarySearchFunc(g.spans, a4, func(s geoSpan, t uint32) int { return cmp.Compare(s.start, t+1) })
		if i > 0 && g.spans[i-1].end >= a4 {
			return g.spans[i-1].value
		}
		return g.def
	}
	if is4 {
		for i, l := range g.lens4 {
			var mask uint32
			if l > 0 {
				mask = 0xffffffff << (32 - l)
			}
			if v, ok := g.nets4[i][a4&mask]; ok {
				return v
			}
		}
		return ""
	}
	b := a.As16()
	for i, l := range g.lens6 {
		k := b
		for j := range 16 {
			keep := min(max(l-8*j, 0), 8)
			k[j] &= byte(0xff << (8 - keep))
			if keep == 0 {
				k[j] = 0
			}
		}
		if v, ok := g.nets6[i][k]; ok {
			return v
		}
	}
	return ""
}
