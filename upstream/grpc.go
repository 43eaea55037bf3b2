package upstream

import (
	"net"
	"os"
	"strings"
	"time"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/rewrite/http1"
)

// This file is gRPC as a protocol on the upstream machinery, as
// ngx_http_grpc_module: the request goes out as one HTTP/2 stream on a
// backend connection of our own (grpc_conn.go: the preface, HEADERS and
// CONTINUATION frames encoded with HPACK, the body as DATA frames under
// flow control: with the HEADERS in one write when all of it is at hand,
// else sent as it arrives while the response is read), the
// response head, body and trailers come back as frames. A connection
// carries one stream at a time and is kept alive (keepalive in the
// upstream{} block) with its HTTP/2 state. Groups, tries, timeouts,
// header hiding, intercepted errors and $upstream_* are the machinery's.

// grpcProto is the protocol part of a grpc_pass location.
type grpcProto struct {
	// hostSet: grpc_set_header Host was given, so no :authority is sent
	// (nginx's host_set).
	hostSet bool
	// setLens has bit n set when a header set (grpc_set_header and the
	// defaults) has a name n bytes long (63: that long or longer): a
	// client's header of another length is none of them, compared with
	// none.
	setLens uint64
}

// nameLenBit is a name length's bit in grpcProto.setLens.
func nameLenBit(n int) uint64 { return 1 << min(n, 63) }

// grpcDefaultHeaders are ngx_http_grpc_headers: set after the configured
// ones unless overridden; the empty ones keep the client's out.
var grpcDefaultHeaders = []setHeader{
	{name: "Content-Length"}, // $content_length, compiled in CompileGRPCPass
	{name: "TE", kind: hdrGRPCTrailers},
	{name: "Host"},
	{name: "Connection"},
	{name: "Transfer-Encoding"},
	{name: "Keep-Alive"},
	{name: "Expect"},
	{name: "Upgrade"},
}

// grpcDefaultHide are ngx_http_grpc_hide_headers.
var grpcDefaultHide = []string{"date", "server", "x-accel-expires", "x-accel-redirect",
	"x-accel-limit-rate", "x-accel-buffering", "x-accel-charset"}

// CompileGRPCPass compiles a location's grpc_pass (which may come from
// the location an "if" block is in) with the grpc_* settings of blocks,
// outermost first.
func CompileGRPCPass(pass *nginxconf.Directive, blocks [][]*nginxconf.Directive, groups *Groups, c *rewrite.Compiler) (*Proxy, error) {
	if pass == nil || len(pass.Args) != 1 || len(blocks) == 0 {
		return nil, nil
	}
	if groups == nil {
		groups = NewGroups()
	}
	gp := &grpcProto{}
	p := &Proxy{groups: groups, passHeaders: true, passBody: true, Tunnels: groups.Tunnels,
		ConnectTimeout: 60 * time.Second, ReadTimeout: 60 * time.Second, SendTimeout: 60 * time.Second,
		maxBody: 1 << 20, proto: gp, scheme: "grpc", version11: true}
	if err := p.compileFastCGIURL(pass, c); err != nil {
		return nil, err
	}
	if err := groups.compileResolver(p, blocks); err != nil {
		return nil, err
	}
	if err := p.compileUpstreamConf(blocks, c); err != nil {
		return nil, err
	}
	// nginx's hard-coded settings of the module: the body is passed on as
	// it arrives, the response unbuffered.
	p.passHeaders, p.passBody, p.requestBuffering, p.buffering = true, true, false, false
	if p.scheme == "grpcs" || p.urlValue != nil {
		// As ngx_http_grpc_merge_loc_conf: a grpcs:// pass, or one with
		// variables, gets the grpc_ssl_* context (ALPN "h2").
		bt, err := compileTLS("grpc", blocks, groups.ConfPrefix, c)
		if err != nil {
			return nil, err
		}
		bt.base.NextProtos = []string{"h2"}
		bt.prepare(p.group, p.proxyHost)
		p.tls = bt
	}
	p.tunnelBufs = tunnelPool(os.Getpagesize())
	// grpc_buffer_size: the buffer the head's frames are read into.
	p.bufSize = os.Getpagesize()
	if d := last(blocks, "grpc_buffer_size"); d != nil {
		if n, ok := nginxconf.ParseOffset(d.Args[0]); ok && n > 0 && n <= 1<<30 {
			p.bufSize = int(n)
		}
	}
	for _, d := range innermost(blocks, "grpc_set_header") {
		if len(d.Args) != 2 {
			continue
		}
		h, err := compileSetHeader(c, d)
		if err != nil {
			return nil, err
		}
		if h.lower == "host" {
			gp.hostSet = true
		}
		p.headers = append(p.headers, h)
	}
	for _, def := range grpcDefaultHeaders {
		if !headerSet(p.headers, def.name) {
			def.lower = strings.ToLower(def.name)
			if def.lower == "content-length" {
				cv, err := c.Complex("$content_length")
				if err != nil {
					return nil, err
				}
				def.kind, def.value = hdrComplex, cv
			}
			p.headers = append(p.headers, def)
		}
	}
	for i := range p.headers {
		gp.setLens |= nameLenBit(len(p.headers[i].lower))
	}
	p.compileHeaders(blocks, grpcDefaultHide)
	if err := p.compileRequestBody(blocks, c); err != nil {
		return nil, err
	}
	return p, nil
}

// trimGRPCScheme drops grpc_pass's "grpc://" or "grpcs://" (tls).
func trimGRPCScheme(addr string) (string, bool) {
	switch {
	case len(addr) > 7 && strings.EqualFold(addr[:7], "grpc://"):
		return addr[7:], false
	case len(addr) > 8 && strings.EqualFold(addr[:8], "grpcs://"):
		return addr[8:], true
	}
	return addr, false
}

func (*grpcProto) prefix() string { return "grpc" }
func (*grpcProto) cgiHead() bool  { return false }

func (*grpcProto) resolve(p *Proxy, s *rewrite.State, x *exchange, t *target) (int, error) {
	return p.resolveAddress(s, x, t)
}

// wrapConn makes a new backend connection an HTTP/2 one.
func (*grpcProto) wrapConn(nc net.Conn) net.Conn { return newH2Conn(nc) }

func (*grpcProto) buildResponse(p *Proxy, c http1.Stream, s *rewrite.State, x *exchange) (*http1.Response, framing, error) {
	resp, f, err := p.buildResponse(c, s, x)
	if err != nil {
		return resp, f, err
	}
	f.upstreamClose = false
	if x.grpc.endStream && f.length < 0 {
		// END_STREAM with the head: nginx takes the length as 0.
		f.length, resp.ContentLength = 0, 0
	}
	// The trailers go out in the last chunk (nginx's chunked filter
	// sends headers_out.trailers, so not after a Content-Length), and to
	// an HTTP/2 client as a HEADERS frame after a body of any length
	// (ngx_http_v2_filter_module sends them at the last buffer); a length
	// of 0 ends the stream with the head (a trailers-only response).
	resp.ExpectTrailers = f.length < 0 || f.length > 0 && c.Request().ProtoMajor >= 2
	return resp, f, nil
}

// createRequest encodes the request's header block into x.req, as
// ngx_http_grpc_create_request: :method, :scheme, :path, :authority
// (unless grpc_set_header Host), the grpc_set_header ones and the
// client's headers, names in lower case; the frames are made when the
// stream's id is known (sendRequest).
func (gp *grpcProto) createRequest(p *Proxy, r *http1.Request, s *rewrite.State, t *target, x *exchange, l bodyLens) error {
	b := x.req[:0]
	switch r.MethodCode {
	case http1.MethodGET:
		b = append(b, 0x82)
	case http1.MethodPOST:
		b = append(b, 0x83)
	default:
		b = hpackLiteralIndexed(b, 2, x.method)
	}
	if t.scheme == "grpcs" {
		b = append(b, 0x87)
	} else {
		b = append(b, 0x86)
	}
	x.patBuf = p.grpcPath(x.patBuf[:0], r)
	if len(x.patBuf) == 1 && x.patBuf[0] == '/' {
		b = append(b, 0x84)
	} else {
		b = hpackLiteralIndexed(b, 4, x.patBuf)
	}
	if !gp.hostSet {
		b = hpackLiteralIndexed(b, 1, []byte(t.proxyHost))
	}
	for i := range p.headers {
		h := &p.headers[i]
		x.fval = x.fval[:0]
		switch h.kind {
		case hdrStatic:
			if len(h.static) == 0 {
				continue // a header not sent (most of nginx's grpc ones): no copy of nothing
			}
			x.fval = append(x.fval, h.static...)
		case hdrComplex:
			x.fval = h.value.Eval(s, x.fval)
		case hdrGRPCTrailers:
			if te := r.HeaderValue("TE"); te != nil && http1.ContainsFold(te, "trailers") {
				x.fval = append(x.fval, "trailers"...)
			}
		}
		if len(x.fval) == 0 {
			continue
		}
		b = hpackLiteralName(b, h.lower, x.fval)
	}
	if p.passHeaders {
	clientHeaders:
		for _, h := range r.Headers {
			if gp.setLens&nameLenBit(len(h.Name)) == 0 {
				b = hpackLiteralNameBytes(b, h.Name, h.Value)
				continue
			}
			for i := range p.headers {
				if http1.EqualFold(h.Name, p.headers[i].lower) {
					continue clientHeaders
				}
			}
			b = hpackLiteralNameBytes(b, h.Name, h.Value)
		}
	}
	x.req = b
	return nil
}

// grpcPath is :path: the client's target as sent when the URI was not
// changed, else the URI escaped and the arguments.
func (p *Proxy) grpcPath(b []byte, r *http1.Request) []byte {
	if !r.RawStale && !r.QuotedURI {
		return append(b, r.RawURI...)
	}
	b = appendEscapeURI(b, r.URI)
	if len(r.Args) > 0 {
		b = append(b, '?')
		b = append(b, r.Args...)
	}
	return b
}

// hpackLiteralIndexed appends a literal field without indexing whose
// name is the static table's entry idx (RFC 7541 6.2.2).
func hpackLiteralIndexed(b []byte, idx int, value []byte) []byte {
	b = hpackInt(b, 0x00, 4, idx)
	b = hpackInt(b, 0x00, 7, len(value))
	return append(b, value...)
}

// hpackLiteralName appends a literal field without indexing with a new
// name, lower-cased as HTTP/2 wants it.
func hpackLiteralName(b []byte, lowerName string, value []byte) []byte {
	b = append(b, 0x00)
	b = hpackInt(b, 0x00, 7, len(lowerName))
	b = append(b, lowerName...)
	b = hpackInt(b, 0x00, 7, len(value))
	return append(b, value...)
}

func hpackLiteralNameBytes(b []byte, name, value []byte) []byte {
	b = append(b, 0x00)
	b = hpackInt(b, 0x00, 7, len(name))
	b = http1.AppendLower(b, name)
	b = hpackInt(b, 0x00, 7, len(value))
	return append(b, value...)
}

// hpackInt appends n as an HPACK integer with an n-bit prefix (RFC 7541
// 5.1), the first byte's other bits from first.
func hpackInt(b []byte, first byte, prefix uint, n int) []byte {
	max := 1<<prefix - 1
	if n < max {
		return append(b, first|byte(n))
	}
	b = append(b, first|byte(max))
	n -= max
	for n >= 128 {
		b = append(b, byte(n%128+128))
		n /= 128
	}
	return append(b, byte(n))
}
