package location

import (
	"bytes"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/rewrite/http1"
)

// maxURIChanges is nginx's NGX_HTTP_MAX_URI_CHANGES: rewrite "last" cycles
// and internal redirects share this budget per request.
const maxURIChanges = 10

// Proxy is a compiled proxy_pass handler (upstream.Proxy). Serve answers
// the request on c and returns 0 when it wrote a response (or tunnelled
// an upgrade), or a status (502, 504, ...) for the caller to render as
// nginx does; err explains a failure.
type Proxy interface {
	Serve(c *http1.Conn, st *rewrite.State, locPrefix string) (int, error)
}

// exchange is the per-connection request state: reused for every request
// on the connection so the request path allocates nothing in steady state.
type exchange struct {
	rt   *Router
	srv  *VirtualServer
	addr *Addr
	c    *http1.Conn
	req  *http1.Request
	st   rewrite.State
	log  *Logger

	resp     http1.Response
	headers  [4]http1.Header
	path     []byte // filesystem path scratch
	tmp      []byte // evaluated values scratch
	uriBuf   []byte // URI of an internal redirect
	argsBuf  []byte
	etag     []byte
	crange   []byte
	locBuf   []byte
	fileBuf  []byte
	cpath    []byte // NUL-terminated path for openat
	ranges   []byteRange
	boundary []byte
	partHead []byte
	ctype    []byte

	toHTTPS       bool   // plain HTTP arrived on a TLS socket: every request gets 497
	expectDone    bool   // Expect: 100-continue was handled
	emptyLocation bool   // "return 3xx" without a URL
	redirLoc      []byte // Location of a redirect being answered
	rangeUnsat    bool   // a 416 carries "Content-Range: bytes */size"

	uriChanges int
	connID     uint64 // nginx's "*N" connection number in error lines
	errStatus  int    // error_page status override (nginx's r->err_status)
	inErrPage  bool   // an error_page redirect happened (nginx's r->error_page)
	status     int    // status sent, for the access log
	sent       int64
	loc        *Location
}

// exchanges pools per-connection state with its grown buffers.
var exchanges = sync.Pool{New: func() any { return new(exchange) }}

func newExchange(rt *Router, c *http1.Conn, log *Logger) *exchange {
	x := exchanges.Get().(*exchange)
	x.c, x.log, x.toHTTPS = c, log, false
	x.rebind(rt)
	return x
}

// release returns x to the pool; nothing of the connection stays reachable.
func (x *exchange) release() {
	x.c, x.req, x.srv, x.addr, x.loc, x.rt = nil, nil, nil, nil, nil, nil
	x.st.Reset(nil)
	x.redirLoc = nil
	x.resp = http1.Response{}
	exchanges.Put(x)
}

// serve runs one request through nginx's phases and writes the response.
func (x *exchange) serve(addr *Addr, req *http1.Request) {
	x.req, x.addr = req, addr
	x.st.Reset(req)
	x.st.Start = time.Now()
	x.uriChanges = maxURIChanges + 1
	x.errStatus, x.inErrPage, x.status, x.sent, x.loc = 0, false, 0, 0, nil
	x.redirLoc, x.rangeUnsat, x.expectDone, x.emptyLocation = nil, false, false, false
	host := req.Host
	if len(host) == 0 && req.Conn != nil && req.Conn.SNI != "" {
		host = []byte(req.Conn.SNI)
	}
	// A server_name regex leaves its captures ($1, named ones) to the
	// request, as nginx does.
	x.srv = addr.selectServer(host, &x.st)
	x.st.ServerName = x.srv.Name
	x.resp.ServerTokensOff = !x.srv.root.conf.serverTokens
	if x.toHTTPS {
		x.special(497)
		x.c.Finish()
		return
	}
	if rc := x.serverPhase(); rc != 0 {
		x.special(rc)
	}
	x.c.Finish()
}

// serverPhase runs the server rewrite program and then the location
// phases; it returns a status to answer with, or 0 when a response was
// written.
func (x *exchange) serverPhase() int {
	if p := x.srv.prog; p != nil {
		act := p.Run(&x.st)
		switch act.Kind {
		case rewrite.Return, rewrite.Redirect:
			return x.returnAction(act, x.srv.root)
		}
	}
	return x.findPhase()
}

// findPhase finds the location for the current URI and runs it; "last"
// loops back here.
func (x *exchange) findPhase() int {
	for {
		loc, redirect := x.srv.Match(&x.st, x.req.URI)
		x.loc = loc
		x.st.DocumentRoot = loc.conf.rootStatic
		if redirect {
			return x.slashRedirect()
		}
		if loc.conf.internal && !x.req.Internal {
			return 404
		}
		if x.req.ContentLength > loc.conf.maxBody && loc.conf.maxBody > 0 {
			x.log.Errorf(x, "client intended to send too large body: %d bytes", x.req.ContentLength)
			return 413
		}
		rc, again := x.locationPhase(loc)
		if !again {
			return rc
		}
		x.uriChanges--
		if x.uriChanges == 0 {
			x.log.Errorf(x, "rewrite or internal redirection cycle while processing \"%s\"", x.req.URI)
			return 500
		}
	}
}

// locationPhase runs loc's rewrite program, access checks, try_files and
// content. again=true means the URI changed with "last": find again.
func (x *exchange) locationPhase(loc *Location) (rc int, again bool) {
	conf := loc.conf
	if p := loc.prog; p != nil {
		act := p.Run(&x.st)
		if act.IfBlock >= 0 && act.IfBlock < len(loc.ifConfs) && loc.ifConfs[act.IfBlock] != nil {
			conf = loc.ifConfs[act.IfBlock]
		}
		switch act.Kind {
		case rewrite.Last:
			return 0, true
		case rewrite.Return, rewrite.Redirect:
			return x.returnAction(act, loc), false
		}
	}
	if rc := x.access(conf); rc != 0 {
		return rc, false
	}
	if len(conf.tryFiles) > 0 {
		rc, redirected := x.tryFiles(loc, conf)
		if rc != 0 || redirected {
			return rc, false
		}
	}
	return x.content(loc, conf), false
}

// access applies allow/deny in order (ngx_http_access_module).
func (x *exchange) access(conf *locConf) int {
	if len(conf.access) == 0 || x.req.Conn == nil {
		return 0
	}
	ip := remoteIP(x.req.Conn.RemoteAddr, &x.tmp)
	for _, r := range conf.access {
		switch {
		case r.unix:
			if x.req.Conn.RemoteAddr != "unix:" {
				continue
			}
		case r.net != nil:
			if ip == nil || !r.net.Contains(ip) {
				continue
			}
		}
		if r.deny {
			x.log.Errorf(x, "access forbidden by rule")
			return 403
		}
		return 0
	}
	return 0
}

// internalRedirect changes the URI (and args when uri has '?') and runs
// the request again from the server rewrite phase, as
// ngx_http_internal_redirect does.
func (x *exchange) internalRedirect(uri []byte) int {
	x.uriChanges--
	if x.uriChanges == 0 {
		x.log.Errorf(x, "rewrite or internal redirection cycle while internally redirecting to \"%s\"", uri)
		return 500
	}
	x.uriBuf = append(x.uriBuf[:0], uri...)
	u := x.uriBuf
	if i := bytes.IndexByte(u, '?'); i >= 0 {
		x.argsBuf = append(x.argsBuf[:0], u[i+1:]...)
		x.req.Args, x.req.HasArgs = x.argsBuf, true
		u = u[:i]
	}
	x.req.URI = u
	x.req.Internal = true
	x.st.Captures = x.st.Captures[:0]
	return x.serverPhase()
}

// namedRedirect runs the named location from its rewrite phase.
func (x *exchange) namedRedirect(name []byte) int {
	loc := x.srv.Named(name)
	if loc == nil {
		x.log.Errorf(x, "could not find named location \"%s\"", name)
		return 500
	}
	x.uriChanges--
	if x.uriChanges == 0 {
		return 500
	}
	x.req.Internal = true
	x.loc = loc
	rc, again := x.locationPhase(loc)
	if again {
		return x.findPhase()
	}
	return rc
}

// returnAction answers a rewrite-module "return" or redirect.
func (x *exchange) returnAction(act rewrite.Action, loc *Location) int {
	code := act.Code
	switch {
	case act.Kind == rewrite.Redirect || isRedirect(code):
		x.redirLoc = act.Text
		// "return 301;" without a URL: nginx still sends "Location: ".
		x.emptyLocation = len(act.Text) == 0
		return code
	case code == 444:
		return 444
	case act.HasText || (code < 400 && code != 204):
		return x.sendText(code, act.Text, loc.conf)
	}
	return code
}

func isRedirect(code int) bool {
	return code == 301 || code == 302 || code == 303 || code == 307 || code == 308
}

// sendText is ngx_http_send_response for "return code text".
func (x *exchange) sendText(code int, text []byte, conf *locConf) int {
	x.expectContinue()
	r := x.newResp(code, conf)
	r.ContentType = conf.defaultTypeBytes
	x.setCharset(r, conf)
	r.ContentLength = int64(len(text))
	x.writeHeader(r)
	if x.req.MethodCode != http1.MethodHEAD {
		x.write(text)
	}
	return 0
}

func (x *exchange) newResp(code int, conf *locConf) *http1.Response {
	x.resp = http1.Response{Status: code, ContentLength: -1, LastModified: -1, Headers: x.headers[:0],
		ServerTokensOff: !conf.serverTokens, RelativeLocation: !conf.absRedirect, NoPortInRedirect: !conf.portInRedir,
		KeepAliveTimeout: conf.keepaliveHeader, Close: conf.keepalive == 0}
	if x.emptyLocation && len(x.redirLoc) == 0 {
		x.resp.Headers = append(x.resp.Headers, http1.Header{Name: hdrLocation})
	}
	if len(x.redirLoc) > 0 {
		// nginx writes a Location it made absolute before Connection, and
		// any other one (absolute already, or absolute_redirect off) in the
		// header list after it.
		if x.redirLoc[0] == '/' && conf.absRedirect {
			x.resp.Location = x.redirLoc
		} else {
			x.resp.Headers = append(x.resp.Headers, http1.Header{Name: hdrLocation, Value: x.redirLoc})
		}
	}
	if conf.nameInRedir {
		x.resp.RedirectHost = x.srv.nameBytes
	}
	if x.errStatus != 0 && code < 300 {
		x.resp.Status = x.errStatus
	}
	return &x.resp
}

func (x *exchange) setCharset(r *http1.Response, conf *locConf) {
	// ngx_http_charset_filter leaves 301 and 302 alone.
	if r.Status == 301 || r.Status == 302 {
		return
	}
	if conf.charset != "" && conf.charsetTypes[string(r.ContentType)] {
		r.Charset = conf.charsetBytes
	}
}

func (x *exchange) writeHeader(r *http1.Response) {
	x.status = r.Status
	x.c.WriteHeader(r)
}

func (x *exchange) write(b []byte) {
	n, _ := x.c.Write(b)
	x.sent += int64(n)
}

// slashRedirect answers nginx's 301 to the URI with "/" added (and the
// args): for "/prefix" when "/prefix/" is proxied, and for a directory
// served without the trailing slash.
func (x *exchange) slashRedirect() int {
	b := append(x.locBuf[:0], x.req.URI...)
	b = append(b, '/')
	if x.req.HasArgs && len(x.req.Args) > 0 {
		b = append(b, '?')
		b = append(b, x.req.Args...)
	}
	x.locBuf = b
	x.redirLoc = b
	return 301
}

// special answers a status as ngx_http_special_response_handler: an
// error_page if one is configured, else nginx's built-in page.
func (x *exchange) special(code int) {
	if code == 444 || code == 499 {
		// 499: the client hung up while the backend was awaited
		// (ngx_http_terminate_request): nothing is sent.
		x.c.NetConn().Close()
		x.status = code
		return
	}
	if x.c.HeaderWritten() {
		return
	}
	// ngx_http_special_response_handler: the new error replaces any
	// status an earlier error_page chose.
	x.errStatus = 0
	conf := x.srv.root.conf
	if x.loc != nil {
		conf = x.loc.conf
	}
	if ep := conf.errorPages[code]; ep != nil && (!x.inErrPage || conf.recursiveEP) {
		if x.errorPage(code, ep, conf) {
			return
		}
	}
	x.defaultPage(code, conf)
}

// errorPage follows one error_page; it returns false when the page could
// not be used and the built-in one must be sent.
func (x *exchange) errorPage(code int, ep *errorPage, conf *locConf) bool {
	x.inErrPage = true
	uri := ep.uri
	if ep.value != nil {
		x.tmp = ep.value.Eval(&x.st, x.tmp[:0])
		uri = x.tmp
	}
	status := code
	if ep.code > 0 {
		status = ep.code
	}
	if len(uri) > 0 && uri[0] == '/' || len(uri) > 0 && uri[0] == '@' {
		if ep.code >= 0 {
			x.errStatus = status
		}
		if x.req.MethodCode != http1.MethodHEAD {
			x.req.MethodCode = http1.MethodGET
		}
		x.redirLoc = nil
		var rc int
		if uri[0] == '@' {
			rc = x.namedRedirect(uri)
		} else {
			u := append(x.uriBuf[:0], uri...)
			rc = x.internalRedirect(u)
		}
		if rc != 0 {
			x.special(rc)
		}
		return true
	}
	// An absolute URL: a redirect (302 unless =301/302/303/307/308).
	if !isRedirect(ep.code) {
		status = 302
	}
	x.locBuf = append(x.locBuf[:0], uri...)
	x.redirLoc = x.locBuf
	x.errStatus = 0
	x.defaultPage(status, conf)
	return true
}

func (x *exchange) defaultPage(code int, conf *locConf) {
	body, _ := DefaultPage(code, conf.serverTokens)
	r := x.newResp(code, conf)
	r.Status = code
	switch code {
	case 400, 413, 414, 495, 496, 497, 500, 501:
		r.Close = true
	}
	if code == 494 {
		r.Close = false
	}
	if code == 416 && x.rangeUnsat {
		r.Headers = append(r.Headers, http1.Header{Name: hdrContentRange, Value: x.crange})
	}
	if body != nil {
		r.ContentType = textHTML
		x.setCharset(r, conf)
		r.ContentLength = int64(len(body))
	} else if code != 204 && code >= 200 {
		r.ContentLength = 0
	}
	x.writeHeader(r)
	// nginx's header filter stops before it marks a HEAD header-only
	// when the request is HTTP/0.9, so a rejected "HEAD /" gets the page.
	if body != nil && (x.req.MethodCode != http1.MethodHEAD || x.req.HTTP09()) {
		x.write(body)
	}
}

var textHTML = []byte("text/html")

// tryFiles is ngx_http_try_files_handler: the first argument naming an
// existing file (or directory, for a trailing "/") sets the URI and
// content goes on in this location; otherwise the last argument is an
// internal redirect, a named location or "=code".
func (x *exchange) tryFiles(loc *Location, conf *locConf) (rc int, redirected bool) {
	n := len(conf.tryFiles)
	for i := 0; i < n-1; i++ {
		x.tmp = conf.tryFiles[i].Eval(&x.st, x.tmp[:0])
		name := x.tmp
		// nginx decides "directory wanted" from the written argument
		// ("$uri/"), not from its value: "$uri" for "/" wants a file.
		testDir := conf.tryFilesDir[i]
		path := x.mapPath(loc, conf, name, testDir)
		var fi fileStat
		if e := statPath(&x.cpath, path, &fi); e != 0 {
			if !notFoundErrno(e) {
				x.log.Errorf(x, "stat() \"%s\" failed (%s)", path, errnoText(e))
			}
			continue
		}
		if fi.isDir != testDir {
			continue
		}
		if conf.aliasValue == nil {
			x.uriBuf = append(x.uriBuf[:0], name...)
			x.req.URI = x.uriBuf
		}
		return 0, false
	}
	x.tmp = conf.tryFiles[n-1].Eval(&x.st, x.tmp[:0])
	last := x.tmp
	switch {
	case len(last) > 1 && last[0] == '=':
		code, err := strconv.Atoi(string(last[1:]))
		if err != nil {
			return 500, true
		}
		return code, true
	case len(last) > 0 && last[0] == '@':
		x.uriBuf = append(x.uriBuf[:0], last...)
		return x.namedRedirect(x.uriBuf), true
	}
	return x.internalRedirect(last), true
}

// mapPath is ngx_http_map_uri_to_path: root + uri, or alias + the part of
// uri after the location prefix (a regex location's alias is the whole
// path).
func (x *exchange) mapPath(loc *Location, conf *locConf, uri []byte, dirTest bool) []byte {
	p := x.path[:0]
	if conf.aliasValue != nil {
		p = conf.aliasValue.Eval(&x.st, p)
		if loc.mod == modRegex || loc.mod == modRegexCI {
			x.path = p
			return p
		}
		if len(uri) >= len(conf.aliasLoc) {
			uri = uri[len(conf.aliasLoc):]
		}
	} else if conf.rootValue != nil {
		p = conf.rootValue.Eval(&x.st, p)
	} else {
		p = append(p, conf.rootStatic...)
	}
	p = append(p, uri...)
	x.path = p
	return p
}

// expectContinue answers "Expect: 100-continue" as ngx_http_test_expect
// does when the body is about to be read or discarded.
func (x *exchange) expectContinue() {
	r := x.req
	if x.expectDone || r.ProtoMajor != 1 || r.ProtoMinor < 1 {
		return
	}
	x.expectDone = true
	if v := r.HeaderValue("Expect"); v != nil && equalFold(v, "100-continue") && !x.c.HeaderWritten() {
		x.c.NetConn().Write(continueLine)
	}
}

var continueLine = []byte("HTTP/1.1 100 Continue\r\n\r\n")

func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// content is nginx's content phase: the proxy, or index and static files.
func (x *exchange) content(loc *Location, conf *locConf) int {
	x.expectContinue()
	if conf.proxy != nil {
		rc, err := conf.proxy.Serve(x.c, &x.st, loc.Name)
		// nginx logs a client's hang-up (499) at "info", below the
		// default error_log level.
		if err != nil && rc != 499 {
			x.log.Errorf(x, "%v", err)
		}
		if rc == 0 {
			x.status = x.st.Status
			if x.status == 0 {
				x.status = 200
			}
		}
		return rc
	}
	uri := x.req.URI
	if len(uri) > 0 && uri[len(uri)-1] == '/' {
		return x.index(loc, conf)
	}
	return x.static(loc, conf)
}

// index is ngx_http_index_handler followed by the core content phase's
// 403 for a directory without an index file.
func (x *exchange) index(loc *Location, conf *locConf) int {
	m := x.req.MethodCode
	if m != http1.MethodGET && m != http1.MethodHEAD && m != http1.MethodPOST {
		return 405
	}
	for i, ix := range conf.index {
		x.tmp = ix.Eval(&x.st, x.tmp[:0])
		name := x.tmp
		if len(name) > 0 && name[0] == '/' {
			if i == len(conf.index)-1 {
				return x.internalRedirect(name)
			}
		}
		buf := append(x.uriBuf[:0], x.req.URI...)
		buf = append(buf, name...)
		x.uriBuf = buf
		path := x.mapPath(loc, conf, buf, false)
		var fi fileStat
		if e := statPath(&x.cpath, path, &fi); e != 0 {
			if !notFoundErrno(e) {
				x.log.Errorf(x, "open() \"%s\" failed (%s)", path, errnoText(e))
				if e == syscall.EACCES {
					return 403
				}
				return 500
			}
			continue
		}
		return x.internalRedirect(x.uriBuf)
	}
	dir := x.mapPath(loc, conf, x.req.URI, true)
	var fi fileStat
	if e := statPath(&x.cpath, dir, &fi); e != 0 || !fi.isDir {
		if conf.logNotFound {
			x.log.Errorf(x, "\"%s\" is not found (2: No such file or directory)", dir)
		}
		return 404
	}
	x.log.Errorf(x, "directory index of \"%s\" is forbidden", dir)
	return 403
}

// static is ngx_http_static_handler plus the not-modified and range
// filters.
func (x *exchange) static(loc *Location, conf *locConf) int {
	m := x.req.MethodCode
	if m != http1.MethodGET && m != http1.MethodHEAD && m != http1.MethodPOST {
		return 405
	}
	path := x.mapPath(loc, conf, x.req.URI, false)
	fd, e := openPath(&x.cpath, path, false)
	if e != 0 {
		switch {
		case notFoundErrno(e):
			if conf.logNotFound {
				x.log.Errorf(x, "open() \"%s\" failed (%s)", path, errnoText(e))
			}
			return 404
		case e == syscall.EACCES:
			x.log.Errorf(x, "open() \"%s\" failed (%s)", path, errnoText(e))
			return 403
		}
		x.log.Errorf(x, "open() \"%s\" failed (%s)", path, errnoText(e))
		return 500
	}
	defer syscall.Close(fd)
	var fi fileStat
	if e := fstat(fd, &fi); e != 0 {
		return 500
	}
	if fi.isDir {
		return x.slashRedirect()
	}
	if !fi.regular {
		x.log.Errorf(x, "\"%s\" is not a regular file", path)
		return 404
	}
	if m == http1.MethodPOST {
		return 405
	}
	size, mtime := fi.size, fi.mtime
	r := x.newResp(200, conf)
	r.ContentType = x.contentType(conf)
	x.setCharset(r, conf)
	r.ContentLength = size
	r.LastModified = mtime
	if conf.etag {
		x.etag = appendETag(x.etag[:0], mtime, size)
		r.Headers = append(r.Headers, http1.Header{Name: hdrETag, Value: x.etag})
	}
	if x.errStatus == 0 {
		if x.notModified(conf, mtime) {
			r.Status, r.ContentType, r.Charset, r.ContentLength = 304, nil, nil, -1
			x.writeHeader(r)
			return 0
		}
	}
	start, n := int64(0), size
	multipart := false
	if x.errStatus == 0 || x.errStatus == 200 {
		r.Headers = append(r.Headers, http1.Header{Name: hdrAcceptRanges, Value: valBytes})
		if rs := x.req.HeaderValue("Range"); rs != nil && x.ifRange(mtime) {
			var code int
			x.ranges, code = parseRanges(rs, size, x.ranges[:0])
			switch {
			case code == 416:
				x.crange = strconv.AppendInt(append(x.crange[:0], "bytes */"...), size, 10)
				x.rangeUnsat = true
				return 416
			case code == 206 && len(x.ranges) == 1:
				rg := x.ranges[0]
				start, n = rg.start, rg.end-rg.start
				r.Status, r.ContentLength = 206, n
				r.Headers = r.Headers[:len(r.Headers)-1]
				x.crange = appendContentRange(x.crange[:0], rg.start, n, size)
				r.Headers = append(r.Headers, http1.Header{Name: hdrContentRange, Value: x.crange})
			case code == 206:
				multipart = true
				x.multipartHead(r, size)
			}
		}
	}
	x.writeHeader(r)
	if m == http1.MethodHEAD {
		return 0
	}
	if multipart {
		x.writeMultipart(fd, size)
		return 0
	}
	x.copyFile(fd, start, n)
	return 0
}

// byteRange is [start, end) of a file.
type byteRange struct{ start, end int64 }

// parseRanges reads a Range header as ngx_http_range_parse does: 206
// with the ranges, 416, or 0 when the header is to be ignored (the whole
// file is sent: ranges adding up to more than the file, or "0-" of an
// empty one).
func parseRanges(v []byte, size int64, dst []byteRange) ([]byteRange, int) {
	if len(v) < 6 || !equalFold(v[:6], "bytes=") {
		return dst, 0
	}
	p := v[6:]
	i := 0
	at := func() byte {
		if i < len(p) {
			return p[i]
		}
		return 0
	}
	skipSpaces := func() {
		for at() == ' ' {
			i++
		}
	}
	const cutoff = int64(1)<<62 - 1
	number := func() (int64, bool) {
		var n int64
		for c := at(); c >= '0' && c <= '9'; c = at() {
			if n >= cutoff/10 {
				return 0, false
			}
			n = n*10 + int64(c-'0')
			i++
		}
		return n, true
	}
	var total int64
	for {
		var start, end int64
		suffix := false
		skipSpaces()
		if at() != '-' {
			if c := at(); c < '0' || c > '9' {
				return dst, 416
			}
			var ok bool
			if start, ok = number(); !ok {
				return dst, 416
			}
			skipSpaces()
			if at() != '-' {
				return dst, 416
			}
			i++
			skipSpaces()
			if c := at(); c == ',' || c == 0 {
				end = size
				goto found
			}
		} else {
			suffix = true
			i++
		}
		if c := at(); c < '0' || c > '9' {
			return dst, 416
		}
		{
			var ok bool
			if end, ok = number(); !ok {
				return dst, 416
			}
		}
		skipSpaces()
		if c := at(); c != ',' && c != 0 {
			return dst, 416
		}
		if suffix {
			if end < size {
				start = size - end
			} else {
				start = 0
			}
			end = size - 1
		}
		if end >= size {
			end = size
		} else {
			end++
		}
	found:
		if start < end {
			dst = append(dst, byteRange{start, end})
			total += end - start
		} else if start == 0 {
			return dst[:0], 0
		}
		if at() != ',' {
			break
		}
		i++
	}
	if len(dst) == 0 {
		return dst, 416
	}
	if total > size {
		return dst[:0], 0
	}
	return dst, 206
}

// rangeBoundary numbers multipart responses as nginx's
// ngx_next_temp_number does (the first is 1).
var rangeBoundary atomic.Uint64

// multipartHead sets the head of a multipart/byteranges response and
// prepares the per-part header prefix in x.partHead.
func (x *exchange) multipartHead(r *http1.Response, size int64) {
	b := rangeBoundary.Add(1)
	var num [20]byte
	digits := strconv.AppendUint(num[:0], b, 10)
	x.boundary = x.boundary[:0]
	for k := len(digits); k < 20; k++ {
		x.boundary = append(x.boundary, '0')
	}
	x.boundary = append(x.boundary, digits...)
	ph := append(x.partHead[:0], "\r\n--"...)
	ph = append(ph, x.boundary...)
	if len(r.ContentType) > 0 {
		ph = append(ph, "\r\nContent-Type: "...)
		ph = append(ph, r.ContentType...)
		if len(r.Charset) > 0 {
			ph = append(ph, "; charset="...)
			ph = append(ph, r.Charset...)
		}
	}
	ph = append(ph, "\r\nContent-Range: bytes "...)
	x.partHead = ph
	length := int64(0)
	for _, rg := range x.ranges {
		x.crange = appendPartRange(x.crange[:0], rg, size)
		length += int64(len(ph)+len(x.crange)) + rg.end - rg.start
	}
	length += int64(len("\r\n--") + len(x.boundary) + len("--\r\n"))
	ct := append(x.ctype[:0], "multipart/byteranges; boundary="...)
	x.ctype = append(ct, x.boundary...)
	r.Status, r.ContentType, r.Charset, r.ContentLength = 206, x.ctype, nil, length
	r.Headers = r.Headers[:len(r.Headers)-1] // no Accept-Ranges
}

func appendPartRange(b []byte, rg byteRange, size int64) []byte {
	b = strconv.AppendInt(b, rg.start, 10)
	b = append(b, '-')
	b = strconv.AppendInt(b, rg.end-1, 10)
	b = append(b, '/')
	b = strconv.AppendInt(b, size, 10)
	return append(b, "\r\n\r\n"...)
}

func (x *exchange) writeMultipart(fd int, size int64) {
	for _, rg := range x.ranges {
		x.write(x.partHead)
		x.crange = appendPartRange(x.crange[:0], rg, size)
		x.write(x.crange)
		x.copyFile(fd, rg.start, rg.end-rg.start)
	}
	tail := append(x.crange[:0], "\r\n--"...)
	tail = append(tail, x.boundary...)
	x.crange = append(tail, "--\r\n"...)
	x.write(x.crange)
}

var (
	hdrETag         = []byte("ETag")
	hdrLocation     = []byte("Location")
	hdrAcceptRanges = []byte("Accept-Ranges")
	hdrContentRange = []byte("Content-Range")
	valBytes        = []byte("bytes")
)

func (x *exchange) copyFile(fd int, off, n int64) {
	if x.fileBuf == nil {
		x.fileBuf = make([]byte, 32<<10)
	}
	for n > 0 {
		chunk := x.fileBuf
		if int64(len(chunk)) > n {
			chunk = chunk[:n]
		}
		m, err := syscall.Pread(fd, chunk, off)
		if m > 0 {
			x.write(chunk[:m])
			n -= int64(m)
			off += int64(m)
		}
		if err != nil || m == 0 {
			return
		}
	}
}

// contentType picks the type by the URI's extension (ngx_http_set_exten:
// after the last '.' of the last path segment), case-insensitively.
func (x *exchange) contentType(conf *locConf) []byte {
	uri := x.req.URI
	ext := []byte(nil)
	for i := len(uri) - 1; i >= 0; i-- {
		if uri[i] == '.' {
			ext = uri[i+1:]
			break
		}
		if uri[i] == '/' {
			break
		}
	}
	if len(ext) > 0 {
		if t, ok := conf.typesBytes[string(ext)]; ok {
			return t
		}
		lower := x.tmp[:0]
		for _, c := range ext {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			lower = append(lower, c)
		}
		x.tmp = lower
		if t, ok := conf.typesBytes[string(lower)]; ok {
			return t
		}
	}
	return conf.defaultTypeBytes
}

func appendETag(b []byte, mtime, size int64) []byte {
	b = append(b, '"')
	b = strconv.AppendInt(b, mtime, 16)
	b = append(b, '-')
	b = strconv.AppendInt(b, size, 16)
	return append(b, '"')
}

func appendContentRange(b []byte, start, n, size int64) []byte {
	b = append(b, "bytes "...)
	b = strconv.AppendInt(b, start, 10)
	b = append(b, '-')
	b = strconv.AppendInt(b, start+n-1, 10)
	b = append(b, '/')
	return strconv.AppendInt(b, size, 10)
}

// notModified is ngx_http_not_modified_filter for a static file.
func (x *exchange) notModified(conf *locConf, mtime int64) bool {
	ims := x.req.HeaderValue("If-Modified-Since")
	inm := x.req.HeaderValue("If-None-Match")
	if ims == nil && inm == nil {
		return false
	}
	if ims != nil {
		if conf.ims == 2 {
			return false
		}
		t, ok := parseHTTPTime(ims)
		if !ok {
			return false
		}
		if t != mtime && (conf.ims == 0 || t < mtime) {
			return false
		}
	}
	if inm != nil {
		if !conf.etag || !etagListMatch(inm, x.etag, true) {
			return false
		}
	}
	return true
}

// ifRange honours If-Range (an ETag or a date) as nginx's range filter.
func (x *exchange) ifRange(mtime int64) bool {
	v := x.req.HeaderValue("If-Range")
	if v == nil {
		return true
	}
	if len(v) > 0 && (v[0] == '"' || bytes.HasPrefix(v, []byte("W/"))) {
		return bytes.Equal(v, x.etag)
	}
	t, ok := parseHTTPTime(v)
	return ok && t == mtime
}

// etagListMatch tests an If-None-Match list against etag (weak compare).
func etagListMatch(list, etag []byte, weak bool) bool {
	if len(bytes.TrimSpace(list)) == 1 && bytes.TrimSpace(list)[0] == '*' {
		return true
	}
	for len(list) > 0 {
		list = bytes.TrimLeft(list, " \t,")
		end := bytes.IndexByte(list, ',')
		item := list
		if end >= 0 {
			item, list = list[:end], list[end+1:]
		} else {
			list = nil
		}
		item = bytes.TrimSpace(item)
		if weak && bytes.HasPrefix(item, []byte("W/")) {
			item = item[2:]
		}
		if bytes.Equal(item, etag) {
			return true
		}
	}
	return false
}
