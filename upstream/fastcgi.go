package upstream

import (
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/rewrite/http1"
)

// This file is FastCGI as a protocol on the upstream machinery, as
// ngx_http_fastcgi_module sits on ngx_http_upstream.c: fastcgi_pass
// compiles into a Proxy whose fcgi part encodes the request
// (FCGI_BEGIN_REQUEST, FCGI_PARAMS, FCGI_STDIN: createRequest) and
// decodes the response (FCGI_STDOUT into a CGI head and a body,
// FCGI_STDERR into the error log: fcgi_wire.go). Groups, balancing,
// retries, timeouts, keepalive, buffering, header hiding and the
// $upstream_* variables are the proxy's.

// fastcgi is the protocol part of a fastcgi_pass location.
type fastcgi struct {
	params []fcgiParam
	// hideHeaders are the client headers HTTP_* params replace, lower
	// case with '-' as '_' (nginx's params->hash).
	hideHeaders []string
	// paramsCache and hideCache are params and hideHeaders for a request
	// whose response may be cached (nginx's params_cache).
	paramsCache []fcgiParam
	hideCache   []string
	keepAlive   bool // fastcgi_keep_conn
	// catchStderr (fastcgi_catch_stderr): stderr text before the head
	// that makes the response an invalid header.
	catchStderr []string
}

type fcgiParam struct {
	key       string
	value     *rewrite.Complex // nil: static
	static    string
	skipEmpty bool // if_not_empty
	// pair is the FastCGI pair's start, made once (fcgiPairs): the
	// name's length, a byte for the value's, the name.
	pair []byte
}

// fcgiPairs makes each param's pair start.
func fcgiPairs(params []fcgiParam) {
	for i := range params {
		pm := &params[i]
		pm.pair = append(append(appendParamLen(nil, len(pm.key)), 0), pm.key...)
	}
}

// fcgiDefaultHide are ngx_http_fastcgi_hide_headers: a FastCGI backend's
// Date and Server pass, unlike a proxied one's.
var fcgiDefaultHide = []string{"status", "x-accel-expires", "x-accel-redirect", "x-accel-limit-rate",
	"x-accel-buffering", "x-accel-charset"}

// name is the directive of this protocol with the given suffix
// ("_next_upstream": proxy_next_upstream or fastcgi_next_upstream).
func (p *Proxy) name(suffix string) string { return p.proto.prefix() + suffix }

func (*fastcgi) prefix() string { return "fastcgi" }

// cgiHead: FastCGI answers with a CGI head.
func (*fastcgi) finalize(*exchange) {}

func (*fastcgi) cgiHead() bool { return true }

func (*fastcgi) resolve(p *Proxy, s *rewrite.State, x *exchange, t *target) (int, error) {
	return p.resolveAddress(s, x, t)
}

func (f *fastcgi) createRequest(p *Proxy, r *http1.Request, s *rewrite.State, t *target, x *exchange, l bodyLens) error {
	return f.fcgiRequest(p, r, s, x, l.body)
}

func (f *fastcgi) sendRequest(p *Proxy, c http1.Stream, nc net.Conn, x *exchange, bodyLen int64) (int, error, ftMask) {
	return p.sendFastCGI(c, nc, x, bodyLen)
}

func (f *fastcgi) readHead(p *Proxy, nc net.Conn, x *exchange, s *rewrite.State) headRead {
	n, pos, status, err, ft := f.readHeadFastCGI(p, nc, x, s)
	// $upstream_response_length counts what follows the head's last
	// line, record bytes included, as nginx's pipe does.
	return headRead{n: n, headLen: pos, counted: int(x.recvd) - (n - pos) - len(x.fpending),
		status: status, err: err, ft: ft}
}

func (*fastcgi) buildResponse(p *Proxy, c http1.Stream, s *rewrite.State, x *exchange) (*http1.Response, framing, error) {
	return p.buildResponse(c, s, x)
}

func (f *fastcgi) relayBody(p *Proxy, c http1.Stream, nc net.Conn, x *exchange, s *rewrite.State, buffered []byte, fr framing) (bool, error) {
	if fr.noBody {
		return cgiNoBody(x), nil
	}
	x.action = actionBody
	complete, err := f.relayFastCGI(p, c, nc, x, s, buffered, fr.length)
	x.spoolFailed(err)
	return complete, err
}

// keepConn: a FastCGI connection is kept (fastcgi_keep_conn) only after
// FCGI_END_REQUEST with nothing after it.
func (*fastcgi) keepConn(x *exchange, _ framing, complete, dropped bool) bool {
	return !dropped && complete && x.fended
}

// cgiNoBody ends a head-only CGI response: nginx reads no FastCGI or
// SCGI body and closes the connection (ngx_http_upstream_send_response,
// header_only).
func cgiNoBody(x *exchange) bool {
	x.headLen = int(x.recvd)
	return true
}

// CompileFastCGIPass compiles a location's fastcgi_pass (which may come
// from the location an "if" block is in) with the fastcgi_* settings of
// blocks, outermost first.
func CompileFastCGIPass(pass *nginxconf.Directive, blocks [][]*nginxconf.Directive, groups *Groups, c *rewrite.Compiler) (*Proxy, error) {
	if pass == nil || len(pass.Args) != 1 || len(blocks) == 0 {
		return nil, nil
	}
	if groups == nil {
		groups = NewGroups()
	}
	f := &fastcgi{}
	p := &Proxy{groups: groups, passHeaders: true, passBody: true, Tunnels: groups.Tunnels,
		ConnectTimeout: 60 * time.Second, ReadTimeout: 60 * time.Second, SendTimeout: 60 * time.Second,
		maxBody: 1 << 20, proto: f, scheme: "fastcgi", version11: true}
	if err := p.compileFastCGIURL(pass, c); err != nil {
		return nil, err
	}
	if err := groups.compileResolver(p, blocks); err != nil {
		return nil, err
	}
	if err := p.compileUpstreamConf(blocks, c); err != nil {
		return nil, err
	}
	f.keepAlive = flag(blocks, "fastcgi_keep_conn", false)
	p.tunnelBufs = tunnelPool(os.Getpagesize())
	// fastcgi_buffer_size: the buffer the head is read into, whose rest
	// is the body's first (heldBody).
	p.bufSize = os.Getpagesize()
	if d := last(blocks, "fastcgi_buffer_size"); d != nil {
		if n, ok := nginxconf.ParseOffset(d.Args[0]); ok && n > 0 && n <= 1<<30 {
			p.bufSize = int(n)
		}
	}
	for _, d := range innermost(blocks, "fastcgi_catch_stderr") {
		f.catchStderr = append(f.catchStderr, d.Args[0])
	}
	var err error
	if f.params, f.hideHeaders, err = compileCGIParams("fastcgi_param", blocks, c); err != nil {
		return nil, err
	}
	if err := p.compileCache(blocks, c); err != nil {
		return nil, err
	}
	if p.cache != nil {
		if f.paramsCache, f.hideCache, err = cacheParams(f.params, f.hideHeaders, c); err != nil {
			return nil, err
		}
	}
	fcgiPairs(f.params)
	fcgiPairs(f.paramsCache)
	p.compileHeaders(blocks, fcgiDefaultHide)
	if err := p.compileRequestBody(blocks, c); err != nil {
		return nil, err
	}
	return p, nil
}

// compileCGIParams reads fastcgi_param or scgi_param as
// ngx_http_fastcgi_init_params and ngx_http_scgi_init_params: the
// innermost level with any replaces all inherited ones; an HTTP_* param
// keeps the client's header of that name out (hide), and one with an
// empty value is not sent at all.
func compileCGIParams(name string, blocks [][]*nginxconf.Directive, c *rewrite.Compiler) (params []fcgiParam, hide []string, err error) {
	for _, d := range innermost(blocks, name) {
		if len(d.Args) < 2 {
			continue
		}
		key, val := d.Args[0], d.Args[1]
		if len(d.Args) == 3 {
			if d.Args[2] != "if_not_empty" {
				return nil, nil, confErr(d, `invalid parameter "%s"`, d.Args[2])
			}
		}
		if len(key) > len("HTTP_") && strings.HasPrefix(key, "HTTP_") {
			hide = append(hide, strings.ToLower(key[5:]))
			if val == "" {
				continue
			}
		}
		pm := fcgiParam{key: key, skipEmpty: len(d.Args) == 3}
		cv, err := c.Complex(val)
		if err != nil {
			return nil, nil, rewrite.At(err, d)
		}
		if v, ok := cv.Static(); ok {
			pm.static = v
		} else {
			pm.value = cv
		}
		params = append(params, pm)
	}
	return params, hide, nil
}

// compileFastCGIURL reads fastcgi_pass's (or scgi_pass's) address: host:port, unix:path,
// an upstream{} name, or a value with variables evaluated per request.
func (p *Proxy) compileFastCGIURL(d *nginxconf.Directive, c *rewrite.Compiler) error {
	addr := d.Args[0]
	if strings.Contains(addr, "$") {
		cv, err := c.Complex(addr)
		if err != nil {
			return rewrite.At(err, d)
		}
		if !cv.HasVariables() && !cv.HasCaptures() {
			addr, _ = cv.Static()
		} else {
			p.urlValue = cv
			return nil
		}
	}
	if sc, ok := p.proto.(*scgi); ok && sc.uwsgi {
		var ssl bool
		if addr, ssl = trimUWSGIScheme(addr); ssl {
			p.scheme = "suwsgi" // uwsgi over TLS, uwsgi_ssl_*
		}
	}
	if _, ok := p.proto.(*grpcProto); ok {
		var ssl bool
		if addr, ssl = trimGRPCScheme(addr); ssl {
			p.scheme = "grpcs"
		}
	}
	p.passURL = addr
	if strings.HasPrefix(addr, "unix:") {
		g, err := p.groups.implicitGroup(addr, "")
		if err != nil {
			return confErr(d, `%s in upstream "%s"`, err.Error(), addr)
		}
		p.group, p.proxyHost = g, "localhost"
		return nil
	}
	if g := p.groups.Lookup(addr); g != nil {
		p.group, p.proxyHost = g, addr
		return nil
	}
	g, err := p.groups.implicitGroup(addr, "")
	if err != nil {
		return confErr(d, `%s in upstream "%s"`, err.Error(), addr)
	}
	p.group, p.proxyHost = g, addr
	return nil
}

// resolveAddress finds the group of a fastcgi_pass (scgi_pass, ...) with variables, as
// ngx_http_fastcgi_eval and ngx_http_upstream_init_request: an
// upstream{} name, a unix: socket, or an address (a name needs a
// resolver).
func (p *Proxy) resolveAddress(s *rewrite.State, x *exchange, t *target) (int, error) {
	x.urlBuf = p.urlValue.Eval(s, x.urlBuf[:0])
	key := internString(x.urlBuf)
	t.scheme = p.scheme
	if sc, ok := p.proto.(*scgi); ok && sc.uwsgi {
		var ssl bool
		if key, ssl = trimUWSGIScheme(key); ssl {
			t.scheme = "suwsgi"
		}
	}
	if _, ok := p.proto.(*grpcProto); ok {
		var ssl bool
		if key, ssl = trimGRPCScheme(key); ssl {
			t.scheme = "grpcs"
		}
	}
	t.proxyHost = key
	if key == "" {
		return 500, fmt.Errorf("no host in upstream \"%s\"", key)
	}
	if strings.HasPrefix(key, "unix:") {
		if g := p.groups.lookupDynamic(key, ""); g != nil {
			t.group = g
			return 0, nil
		}
		return 500, fmt.Errorf("no path in the unix domain socket in upstream \"%s\"", key)
	}
	if !strings.Contains(key, ":") {
		if g := p.groups.Lookup(key); g != nil {
			t.group = g
			return 0, nil
		}
	}
	name, port, err := splitHostPort(key, "")
	if err != nil || port == "" {
		if err == nil {
			err = fmt.Errorf("no port")
		}
		return 500, fmt.Errorf("%s in upstream \"%s\"", err, key)
	}
	if g := p.groups.lookupImplicit(name, port); g != nil {
		t.group = g
		return 0, nil
	}
	g := p.groups.lookupDynamic(key, "")
	if g == nil && p.resolver != nil {
		addrs, err := p.resolver.Resolve(name, p.resolverTimeout)
		if err != nil {
			return 502, err
		}
		g = resolvedGroup(key, addrs, port, "")
	}
	if g == nil {
		return 502, fmt.Errorf("%w %s", ErrNoResolver, name)
	}
	t.group = g
	return 0, nil
}

// appendParams writes FCGI_BEGIN_REQUEST and the FCGI_PARAMS records
// (the params, then the client's headers as HTTP_* unless a param
// replaces them), as ngx_http_fastcgi_create_request, all params in one
// record of at most 65535 bytes.
func (f *fastcgi) appendParams(b []byte, r *http1.Request, s *rewrite.State, x *exchange, passHeaders bool) ([]byte, error) {
	b = appendBeginRequest(b, f.keepAlive)
	hdrAt := len(b)
	b = appendRecordHeader(b, fcgiParams, 0)
	start := len(b)
	params, hideHeaders := f.params, f.hideHeaders
	if x.cr != nil && x.cr.cacheable {
		params, hideHeaders = f.paramsCache, f.hideCache
	}
	for i := range params {
		pm := &params[i]
		// The value is made in place after its name, a byte kept for
		// its length; a value past 127 bytes takes four and moves up.
		at := len(b)
		b = append(b, pm.pair...)
		lenAt, valAt := len(b)-len(pm.key)-1, len(b)
		if pm.value != nil {
			b = pm.value.Eval(s, b)
		} else {
			b = append(b, pm.static...)
		}
		n := len(b) - valAt
		switch {
		case pm.skipEmpty && n == 0:
			b = b[:at]
		case n > 127:
			b = append(b, 0, 0, 0)
			copy(b[lenAt+4:], b[lenAt+1:len(b)-3])
			b[lenAt], b[lenAt+1], b[lenAt+2], b[lenAt+3] = byte(n>>24)|0x80, byte(n>>16), byte(n>>8), byte(n)
		default:
			b[lenAt] = byte(n)
		}
	}
	if passHeaders {
	headers:
		for i := range r.Headers {
			h := &r.Headers[i]
			for _, hide := range hideHeaders {
				if headerParamEqual(h.Name, hide) {
					continue headers
				}
			}
			b = appendParamLen(b, 5+len(h.Name))
			b = appendParamLen(b, len(h.Value))
			b = append(b, "HTTP_"...)
			at := len(b)
			b = append(b, h.Name...)
			paramName(b[at:])
			b = append(b, h.Value...)
		}
	}
	n := len(b) - start
	if n > fcgiMaxRecord {
		return b, &alertError{fmt.Sprintf("fastcgi request record is too big: %d", n)}
	}
	b[hdrAt+4], b[hdrAt+5], b[hdrAt+6] = byte(n>>8), byte(n), byte(fcgiPadding(n))
	b = append(b, fcgiZeros[:fcgiPadding(n)]...)
	return appendRecordHeader(b, fcgiParams, 0), nil
}

// paramName makes a client header's name, copied, its HTTP_* param's
// in place: upper case, '_' for '-' (a copy and a pass, where a byte
// appended at a time took a length check each).
func paramName(n []byte) {
	for i, c := range n {
		if 'a' <= c && c <= 'z' {
			n[i] = c - ('a' - 'A')
		} else if c == '-' {
			n[i] = '_'
		}
	}
}

// headerParamEqual compares a client header's name with an HTTP_*
// param's (lower case, '_' for '-').
func headerParamEqual(name []byte, param string) bool {
	if len(name) != len(param) {
		return false
	}
	for i, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		} else if c == '-' {
			c = '_'
		}
		if c != param[i] {
			return false
		}
	}
	return true
}

// alertError is logged at "alert", as nginx logs an internal failure.
type alertError struct{ msg string }

func (e *alertError) Error() string    { return e.msg }
func (e *alertError) LogLevel() string { return "alert" }

// trimUWSGIScheme drops a uwsgi_pass address's "uwsgi://" as nginx does;
// ssl reports "suwsgi://".
func trimUWSGIScheme(addr string) (string, bool) {
	switch {
	case len(addr) > 8 && strings.EqualFold(addr[:8], "uwsgi://"):
		return addr[8:], false
	case len(addr) > 9 && strings.EqualFold(addr[:9], "suwsgi://"):
		return addr[9:], true
	}
	return addr, false
}
