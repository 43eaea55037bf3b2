package upstream

import (
	"math/bits"
	"net"
	"strconv"
	"strings"
	"sync"

	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/rewrite/http1"
)

// appendRequest writes the request head for the backend as
// ngx_http_proxy_create_request does: the request line, the
// proxy_set_header lines (configured ones in order, then the defaults not
// overridden; empty values are not sent), then the client's header lines
// in order with their names as sent, minus every name proxy_set_header
// and the defaults cover. bodyLen is $proxy_internal_body_length (-1:
// no Content-Length); chunked sends "Transfer-Encoding: chunked".
func (p *Proxy) appendRequest(b []byte, r *http1.Request, s *rewrite.State, t *target, x *exchange, bodyLen int64, chunked bool, headers []setHeader, idx *headerIndex) []byte {
	b = http1.AppendBytes(b, x.method)
	b = http1.AppendString(b, " ")
	x.uriStart = len(b) // where the URI is, for error lines (sentURI)
	b = p.appendURI(b, r, s, t, x.locPrefix)
	x.uriEnd = len(b)
	if p.version11 {
		b = http1.AppendString(b, " HTTP/1.1\r\n")
	} else {
		b = http1.AppendString(b, " HTTP/1.0\r\n")
	}
	for i := range headers {
		h := &headers[i]
		switch {
		case h.kind == hdrStatic && len(h.static) == 0,
			h.kind == hdrInternalLen && bodyLen < 0,
			h.kind == hdrInternalChunk && !chunked:
			// Known empty before it is written (nginx's defaults that
			// keep a client header out: Connection, TE, Keep-Alive...).
			continue
		}
		if h.whole != "" {
			b = http1.AppendString(b, h.whole)
			continue
		}
		start := len(b)
		if h.line != "" {
			b = http1.AppendString(b, h.line)
		} else {
			b = http1.AppendString(b, h.name)
			b = http1.AppendString(b, ": ")
		}
		valStart := len(b)
		switch h.kind {
		case hdrStatic:
			b = http1.AppendString(b, h.static)
		case hdrComplex:
			b = h.value.Eval(s, b)
		case hdrProxyHost:
			b = http1.AppendString(b, t.proxyHost)
		case hdrInternalLen:
			if bodyLen >= 0 {
				b = strconv.AppendInt(b, bodyLen, 10)
			}
		case hdrInternalChunk:
			// $proxy_internal_chunked: a body passed on as it arrives.
			if chunked {
				b = append(b, "chunked"...)
			}
		}
		if len(b) == valStart {
			b = b[:start] // an empty value: the header is not sent
			continue
		}
		b = http1.AppendString(b, "\r\n")
	}
	if p.passHeaders {
		for _, h := range r.Headers {
			if headerIn(headers, idx, h.Name) {
				continue
			}
			b = appendHeaderLine(b, h.Name, h.Value)
		}
	}
	return http1.AppendString(b, "\r\n")
}

// appendHeaderLine appends "name: value\r\n" in place when b has room
// (a kept exchange's buffer has): two moves, where four appends were
// four calls (~60 instructions each with their moves).
func appendHeaderLine(b, name, value []byte) []byte {
	n := len(b)
	end := n + len(name) + len(value) + 4
	if end > cap(b) {
		b = http1.AppendBytes(b, name)
		b = http1.AppendString(b, ": ")
		b = http1.AppendBytes(b, value)
		return http1.AppendString(b, "\r\n")
	}
	b = b[:end]
	m := n + copy(b[n:], name)
	b[m], b[m+1] = ':', ' '
	m += 2 + copy(b[m+2:], value)
	b[m], b[m+1] = '\r', '\n'
	return b
}

// lined sets hs's lines (setHeader.line) and, where the value is known
// now, whole ones: host is $proxy_host of every request ("": it is
// not).
func lined(hs []setHeader, host string) {
	for i := range hs {
		h := &hs[i]
		h.line = h.name + ": "
		switch {
		case h.kind == hdrStatic && h.static != "":
			h.whole = h.line + h.static + "\r\n"
		case h.kind == hdrProxyHost && host != "":
			h.whole = h.line + host + "\r\n"
		}
	}
}

// staticHost is $proxy_host when every request's is the same (a
// proxy_pass without variables: resolve's target), else "".
func (p *Proxy) staticHost() string {
	if p.urlValue != nil {
		return ""
	}
	return p.proxyHost
}

// headerIndex finds a client header's name among a proxy's set headers
// by its length first, as http1 finds unique headers: the bits of
// [n] are the indexes of the headers whose name is n bytes long (the
// last: that long and longer). A name was compared with each of ~10
// set headers (~8 instructions each), where most lengths have none or
// one.
type headerIndex [64]uint64

// indexHeaders indexes hs; nil when there are more than 64.
func indexHeaders(hs []setHeader) *headerIndex {
	if len(hs) > 64 {
		return nil
	}
	var x headerIndex
	for i := range hs {
		x[min(len(hs[i].lower), len(x)-1)] |= 1 << i
	}
	return &x
}

// headerIn reports whether name is one of hs's, case aside; idx is
// hs's index, or nil.
func headerIn(hs []setHeader, idx *headerIndex, name []byte) bool {
	if idx == nil {
		for i := range hs {
			if http1.EqualFold(name, hs[i].lower) {
				return true
			}
		}
		return false
	}
	for m := idx[min(len(name), len(idx)-1)]; m != 0; m &= m - 1 {
		// The name as configured first: clients send Host, Connection
		// and Upgrade as nginx's defaults and configurations spell them,
		// and a string compare is inlined, where the case-blind one is
		// three calls (~90 instructions a match). A name of the same
		// length whose first byte differs, case aside, is none of them
		// (Sec-WebSocket-Key beside Transfer-Encoding).
		h := &hs[bits.TrailingZeros64(m)]
		if string(name) == h.name {
			return true
		}
		if len(name) > 0 && len(h.lower) > 0 && (name[0]^h.lower[0])&^0x20 == 0 && http1.EqualFold(name, h.lower) {
			return true
		}
	}
	return false
}

// appendURI writes the request target as ngx_http_proxy_create_request:
//   - proxy_pass with variables and a URI part: the evaluated URI as is,
//     without the client's arguments;
//   - no URI part and the URI unchanged (a named location keeps it):
//     the client's target as sent;
//   - otherwise the normalized URI, escaped when the client's had %XX
//     escapes or the URI was changed (rewrite, internal redirect), plus
//     "?args"; a URI part replaces the matched location's prefix, unless
//     a "rewrite ... break" changed the URI in this location (then the
//     URI part is dropped and the whole URI sent).
func (p *Proxy) appendURI(b []byte, r *http1.Request, s *rewrite.State, t *target, locPrefix string) []byte {
	if t.uri != nil {
		return append(b, t.uri...)
	}
	if !t.hasURI && !r.RawStale {
		return append(b, r.RawURI...)
	}
	uri := r.URI
	if t.hasURI && !s.LocationChanged {
		b = append(b, p.uriPart...)
		if len(locPrefix) <= len(uri) {
			uri = uri[len(locPrefix):]
		}
	}
	if r.QuotedURI || r.Internal {
		b = appendEscapeURI(b, uri)
	} else {
		b = append(b, uri...)
	}
	if len(r.Args) > 0 {
		b = append(b, '?')
		b = append(b, r.Args...)
	}
	return b
}

// escapeURI is ngx_escape_uri's NGX_ESCAPE_URI table: controls, space,
// '"', '#', '%', '<', '>', '?', '\\', '^', '`', '{', '|', '}', DEL and
// bytes >= 0x80.
var escapeURI = [8]uint32{0xffffffff, 0xd000002d, 0x50000000, 0xb8000001,
	0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}

func appendEscapeURI(b, s []byte) []byte {
	const hex = "0123456789ABCDEF"
	for _, c := range s {
		if escapeURI[c>>5]&(1<<(c&0x1f)) != 0 {
			b = append(b, '%', hex[c>>4], hex[c&0xf])
		} else {
			b = append(b, c)
		}
	}
	return b
}

// internString returns a string for b, reusing an earlier one with the
// same bytes: proxy_pass URLs with variables usually evaluate to a few
// hosts, and $proxy_host must be a string.
func internString(b []byte) string {
	internMu.RLock()
	s, ok := interned[string(b)] // no allocation for a map index by string(b)
	internMu.RUnlock()
	if ok {
		return s
	}
	s = string(b)
	internMu.Lock()
	if len(interned) < 4096 {
		interned[s] = s
	}
	internMu.Unlock()
	return s
}

var (
	internMu sync.RWMutex
	interned = map[string]string{}
)

// lookupImplicit finds the group a proxy_pass without variables made for
// host and port (host compared without case).
func (gs *Groups) lookupImplicit(host, port string) *Group {
	if len(gs.byHostPort) == 0 || len(host)+len(port) >= 255 {
		return nil
	}
	var kb [256]byte
	k := kb[:0]
	for i := 0; i < len(host); i++ {
		c := host[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		k = append(k, c)
	}
	k = append(k, ':')
	k = append(k, port...)
	return gs.byHostPort[string(k)] // no allocation for a map index by string(k)
}

// lookupDynamic returns the group for a host evaluated at run time: only
// literal IP addresses work without a resolver, as in nginx without
// "resolver".
func (gs *Groups) lookupDynamic(host, defPort string) *Group {
	gs.dynMu.Lock()
	defer gs.dynMu.Unlock()
	if g := gs.dynamic[host]; g != nil {
		return g
	}
	if path, ok := strings.CutPrefix(host, "unix:"); ok {
		if path == "" {
			return nil
		}
		g := &Group{Name: host, Implicit: true, Picker: roundRobin{},
			Servers: []*Server{{Network: "unix", Addr: path, Name: host, Weight: 1, effectiveWeight: 1, MaxFails: 1,
				FailTimeout: defaultFailTimeout}}}
		g.proxyHost, g.retired = "localhost", gs.retired.Load()
		gs.addDynamic(host, g)
		return g
	}
	h, port := host, defPort
	if hh, pp, err := net.SplitHostPort(host); err == nil {
		h, port = hh, pp
	}
	if net.ParseIP(h) == nil {
		return nil
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return nil
	}
	addr := net.JoinHostPort(h, port)
	g := &Group{Name: host, Implicit: true, Picker: roundRobin{},
		Servers: []*Server{{Network: "tcp", Addr: addr, addrPort: tcpAddrPort("tcp", addr), Name: addr, Weight: 1, effectiveWeight: 1, MaxFails: 1,
			FailTimeout: defaultFailTimeout}}}
	g.proxyHost, g.proxyPort = hostHeader(host, defPort)
	g.retired = gs.retired.Load()
	gs.addDynamic(host, g)
	return g
}

// addDynamic remembers a group made at run time (gs.dynMu held), up to a
// bound.
func (gs *Groups) addDynamic(host string, g *Group) {
	if gs.dynamic == nil {
		gs.dynamic = map[string]*Group{}
	}
	if len(gs.dynamic) < 4096 {
		gs.dynamic[host] = g
	}
}
