package upstream

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/rewrite/http1"
)

// This file is SCGI as a protocol on the upstream machinery, as
// ngx_http_scgi_module sits on ngx_http_upstream.c: the request is a
// netstring of NUL-separated name/value pairs (CONTENT_LENGTH first,
// then scgi_param, then the client's headers as HTTP_*) followed by the
// body as it is; the response is an HTTP status line or a CGI head
// ("Status:", "Location:", as FastCGI's) and a body that ends with the
// connection. Everything else is the proxy's.

// scgi is the protocol part of an scgi_pass or a uwsgi_pass location:
// uwsgi differs from SCGI only in how the request's pairs are framed.
type scgi struct {
	name        string // "scgi" or "uwsgi": the directives' prefix
	params      []fcgiParam
	hideHeaders []string // as fastcgi's: HTTP_* params replace headers
	// paramsCache and hideCache: for a request whose response may be
	// cached (nginx's params_cache).
	paramsCache []fcgiParam
	hideCache   []string
	uwsgi       bool
	// modifier1 and modifier2 (uwsgi_modifier1/2) frame a uwsgi packet.
	modifier1, modifier2 byte
	// extra is uwsgi_string: bytes after the pairs, counted in the
	// packet's length (a custom packet for the backend).
	extra string
}

// CompileSCGIPass compiles a location's scgi_pass with the scgi_*
// settings of blocks, outermost first.
func CompileSCGIPass(pass *nginxconf.Directive, blocks [][]*nginxconf.Directive, groups *Groups, c *rewrite.Compiler) (*Proxy, error) {
	return compileSCGI(pass, blocks, groups, c, &scgi{name: "scgi"})
}

// CompileUWSGIPass compiles a location's uwsgi_pass with the uwsgi_*
// settings of blocks, outermost first, as ngx_http_uwsgi_module.
func CompileUWSGIPass(pass *nginxconf.Directive, blocks [][]*nginxconf.Directive, groups *Groups, c *rewrite.Compiler) (*Proxy, error) {
	sc := &scgi{name: "uwsgi", uwsgi: true}
	for _, m := range []struct {
		name string
		dst  *byte
	}{{"uwsgi_modifier1", &sc.modifier1}, {"uwsgi_modifier2", &sc.modifier2}} {
		if d := last(blocks, m.name); d != nil {
			v, err := strconv.ParseUint(d.Args[0], 10, 64)
			if err != nil {
				return nil, confErr(d, `invalid number "%s" in "%s" directive`, d.Args[0], d.Name)
			}
			*m.dst = byte(v) // nginx keeps the low byte
		}
	}
	if d := last(blocks, "uwsgi_string"); d != nil {
		sc.extra = d.Args[0]
	}
	return compileSCGI(pass, blocks, groups, c, sc)
}

func compileSCGI(pass *nginxconf.Directive, blocks [][]*nginxconf.Directive, groups *Groups, c *rewrite.Compiler, sc *scgi) (*Proxy, error) {
	if pass == nil || len(pass.Args) != 1 || len(blocks) == 0 {
		return nil, nil
	}
	if groups == nil {
		groups = NewGroups()
	}
	p := &Proxy{groups: groups, passHeaders: true, passBody: true, Tunnels: groups.Tunnels,
		ConnectTimeout: 60 * time.Second, ReadTimeout: 60 * time.Second, SendTimeout: 60 * time.Second,
		maxBody: 1 << 20, proto: sc, scheme: sc.name, version11: true}
	if err := p.compileFastCGIURL(pass, c); err != nil {
		return nil, err
	}
	if sc.uwsgi && (p.scheme == "suwsgi" || p.urlValue != nil) {
		// As ngx_http_uwsgi_merge_loc_conf: suwsgi:// (or an address
		// with variables, which may name it) makes the upstream SSL
		// context of the uwsgi_ssl_* settings.
		bt, err := compileTLS("uwsgi", blocks, groups.ConfPrefix, c)
		if err != nil {
			return nil, err
		}
		bt.prepare(p.group, p.proxyHost)
		p.tls = bt
	}
	if err := groups.compileResolver(p, blocks); err != nil {
		return nil, err
	}
	if err := p.compileUpstreamConf(blocks, c); err != nil {
		return nil, err
	}
	p.tunnelBufs = tunnelPool(os.Getpagesize())
	// scgi_buffer_size (uwsgi_): the buffer the head is read into, whose
	// rest is a buffered body's first (heldBody), and an unbuffered
	// relay's read.
	p.bufSize = os.Getpagesize()
	if d := last(blocks, sc.name+"_buffer_size"); d != nil {
		if n, ok := nginxconf.ParseOffset(d.Args[0]); ok && n > 0 && n <= 1<<30 {
			p.bufSize = int(n)
		}
	}
	var err error
	if sc.params, sc.hideHeaders, err = compileCGIParams(sc.name+"_param", blocks, c); err != nil {
		return nil, err
	}
	if err := p.compileCache(blocks, c); err != nil {
		return nil, err
	}
	if p.cache != nil {
		if sc.paramsCache, sc.hideCache, err = cacheParams(sc.params, sc.hideHeaders, c); err != nil {
			return nil, err
		}
	}
	if sc.uwsgi {
		// ngx_http_uwsgi_hide_headers: a uwsgi backend's Status passes.
		p.compileHeaders(blocks, fcgiDefaultHide[1:])
	} else {
		// ngx_http_scgi_hide_headers are FastCGI's.
		p.compileHeaders(blocks, fcgiDefaultHide)
	}
	if err := p.compileRequestBody(blocks, c); err != nil {
		return nil, err
	}
	return p, nil
}

func (sc *scgi) prefix() string { return sc.name }

// cgiHead: an SCGI or uwsgi backend answers with a CGI head (or an HTTP
// status line).
func (*scgi) finalize(*exchange) {}

func (*scgi) cgiHead() bool { return true }

func (*scgi) resolve(p *Proxy, s *rewrite.State, x *exchange, t *target) (int, error) {
	return p.resolveAddress(s, x, t)
}

func (sc *scgi) createRequest(p *Proxy, r *http1.Request, s *rewrite.State, t *target, x *exchange, l bodyLens) error {
	var err error
	if x.req, err = sc.appendHead(x.req[:0], r, s, x, p.passHeaders, l.content); err != nil {
		return err
	}
	if len(x.pending) > 0 {
		x.req = append(x.req, x.pending...)
	}
	return nil
}

// sendRequest: the body follows the head as it is, a chunked one
// dechunked.
func (*scgi) sendRequest(p *Proxy, c http1.Stream, nc net.Conn, x *exchange, bodyLen int64) (int, error, ftMask) {
	return p.sendPlain(c, nc, x, bodyLen, false)
}

func (*scgi) readHead(p *Proxy, nc net.Conn, x *exchange, s *rewrite.State) headRead {
	n, hl, status, err, ft := p.readHeadSCGI(nc, x)
	return headRead{n: n, headLen: hl, counted: hl, status: status, err: err, ft: ft}
}

func (*scgi) buildResponse(p *Proxy, c http1.Stream, s *rewrite.State, x *exchange) (*http1.Response, framing, error) {
	return p.buildResponse(c, s, x)
}

func (*scgi) relayBody(p *Proxy, c http1.Stream, nc net.Conn, x *exchange, s *rewrite.State, buffered []byte, f framing) (bool, error) {
	if f.noBody {
		return cgiNoBody(x), nil
	}
	x.action = actionBody
	return p.relayBody(c, nc, x, s, buffered, f.length, false)
}

// keepConn: an SCGI response ends with the connection: none is kept.
func (*scgi) keepConn(*exchange, framing, bool, bool) bool { return false }

// appendHead writes the netstring of the request's headers, as
// ngx_http_scgi_create_request: its length is known only once the pairs
// are written, so they go after room for the longest length and are
// moved back to close up the gap.
func (sc *scgi) appendHead(b []byte, r *http1.Request, s *rewrite.State, x *exchange, passHeaders bool, bodyLen int64) ([]byte, error) {
	if sc.uwsgi {
		return sc.createUWSGI(b, r, s, x, passHeaders)
	}
	const room = 20 // the digits of any length, and ':'
	start := len(b)
	b = append(b, make([]byte, room)...)
	pairs := len(b)
	b = append(b, "CONTENT_LENGTH\x00"...)
	switch {
	case bodyLen >= 0 && !x.streamChunked:
		b = strconv.AppendInt(b, bodyLen, 10)
	default:
		// A chunked body passed on as it arrives: nginx counts what it
		// has at hand.
		b = strconv.AppendInt(b, int64(len(x.pending)), 10)
	}
	b = append(b, 0)
	params, hideHeaders := sc.paramsFor(x)
	for i := range params {
		pm := &params[i]
		var vb []byte
		if pm.value != nil {
			x.fval = pm.value.Eval(s, x.fval[:0])
			vb = x.fval
		}
		if pm.skipEmpty && len(pm.static)+len(vb) == 0 {
			continue
		}
		b = append(b, pm.key...)
		b = append(b, 0)
		b = append(b, pm.static...)
		b = append(b, vb...)
		b = append(b, 0)
	}
	if passHeaders {
	headers:
		for _, h := range r.Headers {
			for _, hide := range hideHeaders {
				if headerParamEqual(h.Name, hide) {
					continue headers
				}
			}
			b = append(b, "HTTP_"...)
			for _, c := range h.Name {
				if 'a' <= c && c <= 'z' {
					c -= 'a' - 'A'
				} else if c == '-' {
					c = '_'
				}
				b = append(b, c)
			}
			b = append(b, 0)
			b = append(b, h.Value...)
			b = append(b, 0)
		}
	}
	n := len(b) - pairs
	var digits [room]byte
	d := strconv.AppendInt(digits[:0], int64(n), 10)
	d = append(d, ':')
	at := pairs - len(d)
	copy(b[at:], d)
	b = append(b[:start], b[at:]...)
	return append(b, ','), nil
}

// createUWSGI writes a uwsgi packet, as ngx_http_uwsgi_create_request:
// modifier1, the pairs' length (16 bits, little-endian), modifier2, then
// each name and value after its 16-bit length; the params, then the
// client's headers as HTTP_*.
func (sc *scgi) createUWSGI(b []byte, r *http1.Request, s *rewrite.State, x *exchange, passHeaders bool) ([]byte, error) {
	start := len(b)
	b = append(b, sc.modifier1, 0, 0, sc.modifier2)
	appendLen := func(b []byte, n int) []byte { return append(b, byte(n), byte(n>>8)) }
	params, hideHeaders := sc.paramsFor(x)
	for i := range params {
		pm := &params[i]
		var vb []byte
		if pm.value != nil {
			x.fval = pm.value.Eval(s, x.fval[:0])
			vb = x.fval
		}
		n := len(pm.static) + len(vb)
		if pm.skipEmpty && n == 0 {
			continue
		}
		b = appendLen(b, len(pm.key))
		b = append(b, pm.key...)
		b = appendLen(b, n)
		b = append(b, pm.static...)
		b = append(b, vb...)
	}
	if passHeaders {
	headers:
		for _, h := range r.Headers {
			for _, hide := range hideHeaders {
				if headerParamEqual(h.Name, hide) {
					continue headers
				}
			}
			b = appendLen(b, 5+len(h.Name))
			b = append(b, "HTTP_"...)
			for _, c := range h.Name {
				if 'a' <= c && c <= 'z' {
					c -= 'a' - 'A'
				} else if c == '-' {
					c = '_'
				}
				b = append(b, c)
			}
			b = appendLen(b, len(h.Value))
			b = append(b, h.Value...)
		}
	}
	b = append(b, sc.extra...)
	n := len(b) - start - 4
	if n > 65535 {
		return b, &alertError{fmt.Sprintf("uwsgi request is too big: %d", n)}
	}
	b[start+1], b[start+2] = byte(n), byte(n>>8)
	return b, nil
}

// readHeadSCGI reads the response head into x.rbuf, as
// ngx_http_scgi_process_status_line and _process_header: an HTTP status
// line and headers, or a CGI head whose "Status" (else "Location": 302,
// else 200) gives the status.
func (p *Proxy) readHeadSCGI(nc net.Conn, x *exchange) (n, headLen int, status int, err error, ft ftMask) {
	limit := p.headLimit(x)
	x.headFull = false
	for {
		if p.ReadTimeout > 0 {
			nc.SetReadDeadline(time.Now().Add(p.ReadTimeout))
		}
		m, rerr := nc.Read(x.rbuf[n:limit])
		n += m
		x.recvd += int64(m)
		if m > 0 {
			hl, perr := parseSCGIHead(x.rbuf[:n], &x.head)
			if perr != nil {
				return n, 0, 502, perr, ftInvalidHeader
			}
			if hl > 0 {
				x.headFull = hl == n && n == p.headRoom(x)
				return n, hl, 0, nil, 0
			}
			if n == limit {
				var ok bool
				if limit, ok = p.growHead(x, n); !ok {
					return n, 0, 502, ErrTooBigHeader, ftInvalidHeader
				}
			}
		}
		if rerr != nil {
			if isTimeout(rerr) {
				return n, 0, 504, errTimedOut, ftTimeout
			}
			return n, 0, 502, ErrPrematureClose, ftError
		}
	}
}

// parseSCGIHead parses a whole response head at the start of b: an HTTP
// status line and headers, or CGI headers whose "Status" (else
// "Location": 302, else 200) gives the status. It returns 0 while the
// head is incomplete.
func parseSCGIHead(b []byte, h *http1.ResponseHead) (int, error) {
	hl, perr := http1.ParseResponseHead(b, h)
	if perr == nil {
		return hl, nil
	}
	if perr != http1.ErrInvalidStatusLine {
		return 0, perr
	}
	h.Major, h.Minor, h.Status, h.StatusLine = 1, 1, 0, nil
	hl, perr = http1.ParseHeaderLines(b, h)
	if perr != nil {
		return 0, perr
	}
	if hl > 0 {
		if err := fcgiStatus(h); err != nil {
			return 0, err
		}
	}
	return hl, nil
}

// paramsFor is the params and hidden headers for x's request: the cache's
// when its response may be cached.
func (sc *scgi) paramsFor(x *exchange) ([]fcgiParam, []string) {
	if x.cr != nil && x.cr.cacheable {
		return sc.paramsCache, sc.hideCache
	}
	return sc.params, sc.hideHeaders
}
