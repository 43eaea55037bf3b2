package location

import (
	"bytes"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gonginx/gonginx/nginxconf"
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

	resp       http1.Response
	headers    [4]http1.Header
	rangeHdr   [1]http1.Header // Accept-Ranges or Content-Range (Response.RangeHeaders)
	hdrs       headerScratch   // add_header and expires output (headers.go)
	path       []byte          // filesystem path scratch
	tmp        []byte          // evaluated values scratch
	uriBuf     []byte          // URI of an internal redirect
	argsBuf    []byte
	etag       []byte
	crange     []byte
	locBuf     []byte
	keptLoc    []byte // Location kept across an error_page redirect
	charsetBuf []byte // charset $name evaluated
	aliasURI   []byte // try_files' new URI under a prefix alias
	fileBuf    []byte
	cpath      []byte // NUL-terminated path for openat
	fromBuf    []byte // disable_symlinks from= evaluated
	ranges     []byteRange
	boundary   []byte
	partHead   []byte
	ctype      []byte

	toHTTPS       bool   // plain HTTP arrived on a TLS socket: every request gets 497
	expectDone    bool   // Expect: 100-continue was handled
	emptyLocation bool   // "return 3xx" without a URL
	redirLoc      []byte // Location of a redirect being answered
	rangeUnsat    bool   // a 416 carries "Content-Range: bytes */size"

	// curConf is the configuration the request runs under now (server,
	// location or "if" block): file tests, $document_root and
	// $request_filename read it.
	curConf *locConf
	// addURIToAlias: try_files found a file in a regex location with
	// alias, so the URI is appended to the alias (r->add_uri_to_alias).
	addURIToAlias bool

	uriChanges int
	connID     uint64    // nginx's "*N" connection number in error lines
	connStart  time.Time // accept time ($connection_time, keepalive_time)
	stats      *rewrite.ConnStats
	errStatus  int  // error_page status override (nginx's r->err_status)
	inErrPage  bool // an error_page redirect happened (nginx's r->error_page)
	status     int  // status sent, for the access log
	sent       int64
	loc        *Location
}

// exchanges pools per-connection state with its grown buffers.
var exchanges = sync.Pool{New: func() any { return new(exchange) }}

func newExchange(rt *Router, c *http1.Conn, log *Logger) *exchange {
	x := exchanges.Get().(*exchange)
	x.c, x.log, x.toHTTPS = c, log, false
	c.Filter = x
	x.st.Files = x
	x.rebind(rt)
	return x
}

// release returns x to the pool; nothing of the connection stays reachable.
func (x *exchange) release() {
	if x.c != nil && x.c.Filter == x {
		x.c.Filter = nil
	}
	x.c, x.req, x.srv, x.addr, x.loc, x.rt, x.curConf = nil, nil, nil, nil, nil, nil, nil
	x.st.Reset(nil)
	x.redirLoc = nil
	x.resp = http1.Response{}
	exchanges.Put(x)
}

// serve runs one request through nginx's phases and writes the response.
func (x *exchange) serve(addr *Addr, req *http1.Request) {
	x.req, x.addr = req, addr
	x.st.Reset(req)
	x.startState()
	x.uriChanges = maxURIChanges + 1
	x.errStatus, x.inErrPage, x.status, x.sent, x.loc = 0, false, 0, 0, nil
	x.redirLoc, x.rangeUnsat, x.expectDone, x.emptyLocation = nil, false, false, false
	x.addURIToAlias, x.curConf = false, nil
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
		x.curConf = x.srv.root.conf
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
		x.loc, x.curConf = loc, loc.conf
		x.st.LocationChanged = false
		x.updateKeepalive(loc.conf)
		x.st.DocumentRoot = loc.conf.rootStatic
		if loc.conf.internal && !x.req.Internal {
			return 404
		}
		if x.req.ContentLength > loc.conf.maxBody && loc.conf.maxBody > 0 {
			x.log.Errorf(x, "client intended to send too large body: %d bytes", x.req.ContentLength)
			return 413
		}
		// ngx_http_core_find_config_phase: after the internal and body
		// size checks.
		if redirect {
			return x.autoRedirect(loc)
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
	x.addURIToAlias = false
	if p := loc.prog; p != nil {
		x.curConf = conf
		act := p.Run(&x.st)
		if act.IfBlock >= 0 && act.IfBlock < len(loc.ifConfs) && loc.ifConfs[act.IfBlock] != nil {
			conf = loc.ifConfs[act.IfBlock]
			x.curConf = conf
			x.updateKeepalive(conf)
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

// startState fills the State fields that hold for the whole request.
func (x *exchange) startState() {
	s := &x.st
	s.Start = time.Now()
	s.Conn, s.ConnStart, s.Stats = x.c, x.connStart, x.stats
	s.Connection, s.ConnectionRequests, s.Pipelined = x.connID, x.c.Requests, x.c.Pipelined()
	if x.c.DecideRate == nil {
		x.c.DecideRate = x.decideRate // once per connection
	}
}

// decideRate sets the response's limit_rate and limit_rate_after from the
// configuration in force when its first bytes go out, as nginx's write
// filter evaluates them (unless "set $limit_rate" already did).
func (x *exchange) decideRate() {
	conf := x.curConf
	if conf == nil && x.srv != nil {
		conf = x.srv.root.conf
	}
	if conf == nil || conf.limitRate == nil {
		return
	}
	x.tmp = conf.limitRate.Eval(&x.st, x.tmp[:0])
	rate, _ := nginxconf.ParseSize(string(x.tmp))
	x.c.SetLimitRate(rate, false)
	if rate > 0 && conf.limitRateAfter != nil {
		x.tmp = conf.limitRateAfter.Eval(&x.st, x.tmp[:0])
		after, _ := nginxconf.ParseSize(string(x.tmp))
		x.c.SetLimitRateAfter(after)
	}
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
	x.loc, x.curConf = loc, loc.conf
	x.updateKeepalive(loc.conf)
	rc, again := x.locationPhase(loc)
	if again {
		return x.findPhase()
	}
	return rc
}

// updateKeepalive is the keepalive part of ngx_http_update_location_config,
// run for each location a request enters: a location can only turn
// keepalive off (keepalive_timeout 0, keepalive_requests, keepalive_time,
// keepalive_disable), and the last one's Keep-Alive header is sent.
func (x *exchange) updateKeepalive(conf *locConf) {
	x.c.KeepAliveHeader = conf.keepaliveHeader
	r := x.req
	if !r.KeepAlive {
		return
	}
	switch {
	case conf.keepalive == 0,
		x.c.Requests >= conf.keepaliveReqs,
		time.Since(x.connStart) > conf.keepaliveTime:
		r.KeepAlive = false
	case conf.keepaliveOff != 0:
		msie6, safari := browser(r.HeaderValue("User-Agent"))
		if msie6 && r.MethodCode == http1.MethodPOST && conf.keepaliveOff&kaMSIE6 != 0 ||
			safari && conf.keepaliveOff&kaSafari != 0 {
			r.KeepAlive = false
		}
	}
}

// browser tells MSIE 4-6 (without SV1) and Safari on Mac OS X from a
// User-Agent, as ngx_http_process_user_agent does (Opera is neither).
func browser(ua []byte) (msie6, safari bool) {
	if len(ua) == 0 {
		return false, false
	}
	msie := false
	if i := bytes.Index(ua, []byte("MSIE ")); i >= 0 && i+7 < len(ua) {
		msie = true
		if ua[i+6] == '.' {
			switch ua[i+5] {
			case '4', '5':
				msie6 = true
			case '6':
				msie6 = !bytes.Contains(ua[i+8:], []byte("SV1"))
			}
		}
	}
	if bytes.Contains(ua, []byte("Opera")) {
		return false, false
	}
	if !msie && !bytes.Contains(ua, []byte("Gecko/")) && !bytes.Contains(ua, []byte("Chrome/")) {
		safari = bytes.Contains(ua, []byte("Safari/")) && bytes.Contains(ua, []byte("Mac OS X"))
	}
	return msie6, safari
}

// returnAction answers a rewrite-module "return" or redirect.
func (x *exchange) returnAction(act rewrite.Action, loc *Location) int {
	code := act.Code
	if act.Kind == rewrite.Return && (code < 400 || act.HasText) {
		// ngx_http_script_return_code answers these through
		// ngx_http_send_response, which discards the body (a 100 for
		// Expect); the others, and a rewrite's redirect, are special
		// responses, which do not.
		x.expectContinue()
	}
	switch {
	case act.Kind == rewrite.Redirect || isRedirect(code):
		x.redirLoc = act.Text
		// "return 301;" without a URL: nginx still sends "Location: ".
		x.emptyLocation = len(act.Text) == 0
		return code
	case code == 444:
		return 444
	case act.HasText || code < 400:
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
	if r.Status == 204 {
		// The header filter sends a 204 with neither type nor length.
		x.writeHeader(r)
		return 0
	}
	// ngx_http_set_content_type: the type of the URI's extension.
	r.ContentType = x.contentType(conf)
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
		KeepAliveTimeout: conf.keepaliveHeader}
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
	if conf.charset == "" || len(r.ContentType) == 0 || !conf.charsetAny && !conf.charsetTypes[string(r.ContentType)] {
		return
	}
	if conf.charsetVar != nil {
		x.charsetBuf = conf.charsetVar.Eval(&x.st, x.charsetBuf[:0])
		r.Charset = nil
		if len(x.charsetBuf) > 0 {
			r.Charset = x.charsetBuf
		}
		return
	}
	r.Charset = conf.charsetBytes
}

func (x *exchange) writeHeader(r *http1.Response) {
	x.status = r.Status
	x.c.WriteHeader(r)
}

func (x *exchange) write(b []byte) {
	n, _ := x.c.Write(b)
	x.sent += int64(n)
}

// autoRedirect answers nginx's 301 for "/prefix" when the location
// "/prefix/" proxies: to the location's name escaped as NGX_ESCAPE_URI
// (and the args), as ngx_http_core_find_config_phase does.
func (x *exchange) autoRedirect(loc *Location) int {
	b := append(x.locBuf[:0], loc.escapedName...)
	return x.redirectWithArgs(b)
}

// dirRedirect answers the static module's 301 for a directory asked
// without its trailing slash: the URI escaped as ngx_escape_uri's
// NGX_ESCAPE_URI ("/dir sp" → "/dir%20sp/"), then the args.
func (x *exchange) dirRedirect() int {
	b := appendEscapeURI(x.locBuf[:0], x.req.URI)
	b = append(b, '/')
	return x.redirectWithArgs(b)
}

func (x *exchange) redirectWithArgs(b []byte) int {
	if x.req.HasArgs && len(x.req.Args) > 0 {
		b = append(b, '?')
		b = append(b, x.req.Args...)
	}
	x.locBuf = b
	x.redirLoc = b
	return 301
}

// uriEscape is ngx_escape_uri's NGX_ESCAPE_URI table: controls, space,
// '"', '#', '%', '<', '>', '?', '\\', '^', '`', '{', '|', '}' and bytes
// from 0x7f.
var uriEscape = [8]uint32{0xffffffff, 0xd000002d, 0x50000000, 0xb8000001,
	0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}

func appendEscapeURI(b, s []byte) []byte {
	const hex = "0123456789ABCDEF"
	for _, c := range s {
		if uriEscape[c>>5]&(1<<(c&0x1f)) != 0 {
			b = append(b, '%', hex[c>>4], hex[c&0xf])
			continue
		}
		b = append(b, c)
	}
	return b
}

// special answers a status as ngx_http_special_response_handler: an
// error_page if one is configured, else nginx's built-in page.
func (x *exchange) special(code int) {
	if code == 444 || code == 499 || code == 408 {
		// 499: the client hung up while the backend was awaited; 408: a
		// timeout, or "return 408" (ngx_http_finalize_request terminates
		// the request for both): nothing is sent.
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
	x.expectDone = true
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
		// A Location already set (return 301 URL, a directory's
		// redirect) stays on whatever the page's URI answers, as the
		// internal redirect keeps r->headers_out; copied, as the
		// rewrite programs about to run reuse their buffers.
		if len(x.redirLoc) > 0 {
			x.keptLoc = append(x.keptLoc[:0], x.redirLoc...)
			x.redirLoc = x.keptLoc
		}
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
		x.rangeNotSatisfiable(r, x.conf())
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
// existing file (or directory, for an argument written with a trailing
// "/") sets the URI and content goes on in this location; otherwise the
// last argument is an internal redirect, a named location or "=code".
func (x *exchange) tryFiles(loc *Location, conf *locConf) (rc int, redirected bool) {
	n := len(conf.tryFiles)
	for i := 0; i < n-1; i++ {
		x.tmp = conf.tryFiles[i].Eval(&x.st, x.tmp[:0])
		name := x.tmp
		// nginx decides "directory wanted" from the written argument
		// ("$uri/", its slash dropped at load), not from its value.
		testDir := conf.tryFilesDir[i]
		path, rel := x.tryPath(conf, name)
		var fi fileStat
		if e, failed := testFile(&x.cpath, path, x.openRule(conf, path), &fi); e != 0 {
			if !notFoundErrno(e) {
				x.log.Logf(x, "crit", "%s \"%s\" failed (%s)", failed, path, errnoText(e))
			}
			continue
		}
		if fi.isDir != testDir {
			continue
		}
		switch {
		case conf.aliasValue == nil:
			x.uriBuf = append(x.uriBuf[:0], rel...)
		case conf.aliasRegex:
			if testDir {
				return 0, false
			}
			x.uriBuf = append(x.uriBuf[:0], rel...)
			x.addURIToAlias = true
		default:
			// The location's prefix of the URI, then what follows the
			// alias in the path.
			u := append(x.aliasURI[:0], x.req.URI[:min(len(conf.aliasLoc), len(x.req.URI))]...)
			x.aliasURI = append(u, rel...)
			x.uriBuf = append(x.uriBuf[:0], x.aliasURI...)
		}
		x.req.URI = x.uriBuf
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

// tryPath builds the path a try_files argument names, as the try_files
// handler does over ngx_http_map_uri_to_path: root + name; for alias in a
// prefix location, the alias + name without the location's prefix when
// name starts with it; for alias in a regex location, the alias + name.
// rel is the part of path after the root or alias.
func (x *exchange) tryPath(conf *locConf, name []byte) (path, rel []byte) {
	p := x.appendRoot(x.path[:0], conf)
	if conf.aliasValue != nil && !conf.aliasRegex {
		if k := len(conf.aliasLoc); len(name) >= k && len(x.req.URI) >= k && string(name[:k]) == string(x.req.URI[:k]) {
			name = name[k:]
		}
	}
	root := len(p)
	p = append(p, name...)
	x.path = p
	return p, p[root:]
}

// mapPath is ngx_http_map_uri_to_path into x.path.
func (x *exchange) mapPath(loc *Location, conf *locConf, uri []byte, dirTest bool) []byte {
	x.path = x.appendPath(x.path[:0], conf, uri)
	return x.path
}

// appendPath is ngx_http_map_uri_to_path: root + uri, or alias + the part
// of uri after the location prefix (a regex location's alias is the whole
// path, unless try_files found a file under it).
func (x *exchange) appendPath(p []byte, conf *locConf, uri []byte) []byte {
	p = x.appendRoot(p, conf)
	if conf.aliasValue != nil {
		if conf.aliasRegex {
			if x.addURIToAlias {
				p = append(p, uri...)
			}
			return p
		}
		if len(uri) >= len(conf.aliasLoc) {
			uri = uri[len(conf.aliasLoc):]
		}
	}
	return append(p, uri...)
}

// appendRoot appends the root or alias of conf (nginx's clcf->root).
func (x *exchange) appendRoot(p []byte, conf *locConf) []byte {
	switch {
	case conf.aliasValue != nil:
		return conf.aliasValue.Eval(&x.st, p)
	case conf.rootValue != nil:
		return conf.rootValue.Eval(&x.st, p)
	}
	return append(p, conf.rootStatic...)
}

func (x *exchange) conf() *locConf {
	if x.curConf != nil {
		return x.curConf
	}
	return x.srv.root.conf
}

// AppendDocumentRoot is $document_root (rewrite.Files).
func (x *exchange) AppendDocumentRoot(dst []byte) []byte {
	if x.srv == nil {
		return dst
	}
	return x.appendRoot(dst, x.conf())
}

// AppendRequestFilename is $request_filename (rewrite.Files).
func (x *exchange) AppendRequestFilename(dst []byte) []byte {
	if x.srv == nil || x.req == nil {
		return dst
	}
	return x.appendPath(dst, x.conf(), x.req.URI)
}

// openRule is ngx_http_set_disable_symlinks: the location's mode, and
// with "from=" the leading part of path that is opened as is (when path
// is that part exactly, symlinks are not checked at all).
func (x *exchange) openRule(conf *locConf, path []byte) openRule {
	r := openRule{mode: conf.symlinks}
	if conf.symlinksFrom == nil {
		return r
	}
	x.fromBuf = conf.symlinksFrom.Eval(&x.st, x.fromBuf[:0])
	from := x.fromBuf
	if len(from) == 0 || len(from) > len(path) || string(path[:len(from)]) != string(from) {
		return r
	}
	switch {
	case len(from) == len(path):
		r.mode = symlinksOff
	case path[len(from)] == '/':
		r.from = len(from)
	case from[len(from)-1] == '/':
		r.from = len(from) - 1
	}
	return r
}

// TestFile answers an "if" file test (rewrite.Files) as
// ngx_http_script_file_code: under the running location's
// disable_symlinks, logging unexpected failures at "crit".
func (x *exchange) TestFile(path []byte) (rewrite.FileInfo, bool) {
	conf := x.conf()
	var fi fileStat
	e, failed := testFile(&x.cpath, path, x.openRule(conf, path), &fi)
	if e != 0 {
		if !notFoundErrno(e) {
			x.log.Logf(x, "crit", "%s \"%s\" failed (%s)", failed, path, errnoText(e))
		}
		return rewrite.FileInfo{}, false
	}
	return rewrite.FileInfo{Regular: fi.regular, Dir: fi.isDir, Exec: fi.exec}, true
}

// expectContinue answers "Expect: 100-continue" as ngx_http_test_expect
// does when the body is about to be read or discarded: by the proxy, the
// static module about to send a file, and ngx_http_send_response ("return"
// with a text or a code below 400). Error responses mark it tested
// without sending (ngx_http_special_response_handler).
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
	if conf.proxy != nil {
		// ngx_http_read_client_request_body tests Expect first, with a
		// body or without.
		x.expectContinue()
		x.c.ReadTimeout = conf.bodyTimeout
		x.st.ErrStatus = x.errStatus
		rc, err := conf.proxy.Serve(x.c, &x.st, loc.Name)
		// nginx logs a client's hang-up (499) at "info", below the
		// default error_log level.
		if err != nil && rc != 499 && rc != 408 {
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
	dirTested := false
	for _, ix := range conf.index {
		x.tmp = ix.Eval(&x.st, x.tmp[:0])
		name := x.tmp
		if len(name) > 0 && name[0] == '/' {
			return x.internalRedirect(name)
		}
		buf := append(x.uriBuf[:0], x.req.URI...)
		buf = append(buf, name...)
		x.uriBuf = buf
		path := x.mapPath(loc, conf, buf, false)
		var fi fileStat
		e, failed := testFile(&x.cpath, path, x.openRule(conf, path), &fi)
		if e == 0 {
			return x.internalRedirect(x.uriBuf)
		}
		switch e {
		case syscall.EMLINK, syscall.ELOOP:
			return 403
		case syscall.ENOTDIR, syscall.ENAMETOOLONG, syscall.EACCES:
			return x.indexError(conf, path, e)
		}
		if !dirTested {
			if rc := x.indexTestDir(conf, path[:len(path)-len(name)], path); rc != 0 {
				return rc
			}
			dirTested = true
		}
		if e == syscall.ENOENT {
			continue
		}
		x.log.Logf(x, "crit", "%s \"%s\" failed (%s)", failed, path, errnoText(e))
		return 500
	}
	dir := x.mapPath(loc, conf, x.req.URI, true)
	x.log.Errorf(x, "directory index of \"%s\" is forbidden", dir)
	return 403
}

// indexTestDir is ngx_http_index_test_dir: after an index file was not
// found, the directory itself must exist (404 when it does not). dir ends
// with the "/" before the index name; full is the index file's path,
// which nginx names in the "not found" line.
func (x *exchange) indexTestDir(conf *locConf, dir, full []byte) int {
	if len(dir) > 1 && dir[len(dir)-1] == '/' {
		dir = dir[:len(dir)-1]
	}
	var fi fileStat
	e, failed := testFile(&x.cpath, dir, x.openRule(conf, dir), &fi)
	switch {
	case e == syscall.EMLINK || e == syscall.ELOOP:
		return 403
	case e == syscall.ENOENT:
		return x.indexError(conf, full, e)
	case e == syscall.EACCES:
		return 0
	case e != 0:
		x.log.Logf(x, "crit", "%s \"%s\" failed (%s)", failed, dir, errnoText(e))
		return 500
	case !fi.isDir:
		x.log.Logf(x, "alert", "\"%s\" is not a directory", dir)
		return 500
	}
	return 0
}

// indexError is ngx_http_index_error.
func (x *exchange) indexError(conf *locConf, path []byte, e syscall.Errno) int {
	if e == syscall.EACCES {
		x.log.Errorf(x, "\"%s\" is forbidden (%s)", path, errnoText(e))
		return 403
	}
	if conf.logNotFound {
		x.log.Errorf(x, "\"%s\" is not found (%s)", path, errnoText(e))
	}
	return 404
}

// static is ngx_http_static_handler plus the not-modified and range
// filters.
func (x *exchange) static(loc *Location, conf *locConf) int {
	m := x.req.MethodCode
	if m != http1.MethodGET && m != http1.MethodHEAD && m != http1.MethodPOST {
		return 405
	}
	path := x.mapPath(loc, conf, x.req.URI, false)
	fd, e, failed := openFile(&x.cpath, path, x.openRule(conf, path), oRead)
	if e != 0 {
		rc, level := 500, "crit"
		switch e {
		case syscall.ENOENT, syscall.ENOTDIR, syscall.ENAMETOOLONG:
			rc, level = 404, "error"
		case syscall.EACCES, syscall.EMLINK, syscall.ELOOP:
			rc, level = 403, "error"
		}
		if rc != 404 || conf.logNotFound {
			x.log.Logf(x, level, "%s \"%s\" failed (%s)", failed, path, errnoText(e))
		}
		return rc
	}
	defer syscall.Close(fd)
	var fi fileStat
	if e := fstat(fd, &fi); e != 0 {
		return 500
	}
	if fi.isDir {
		return x.dirRedirect()
	}
	if !fi.regular {
		x.log.Logf(x, "crit", "\"%s\" is not a regular file", path)
		return 404
	}
	if m == http1.MethodPOST {
		return 405
	}
	// The static module discards the body (and so answers Expect) only
	// here, about to send the file: a 404 or 405 before gets no 100.
	x.expectContinue()
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
		if x.preconditionFailed(conf, mtime) {
			return 412
		}
		if x.notModified(conf, mtime) {
			r.Status, r.ContentType, r.Charset, r.ContentLength = 304, nil, nil, -1
			x.writeHeader(r)
			return 0
		}
	}
	start, n := int64(0), size
	multipart := false
	if x.errStatus == 0 || x.errStatus == 200 {
		x.rangeHdr[0] = http1.Header{Name: hdrAcceptRanges, Value: valBytes}
		r.RangeHeaders = x.rangeHdr[:1]
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
				x.crange = appendContentRange(x.crange[:0], rg.start, n, size)
				x.rangeHdr[0] = http1.Header{Name: hdrContentRange, Value: x.crange}
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
	r.RangeHeaders = nil // no Accept-Ranges
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
	if inm != nil && !etagListMatch(inm, x.sentETag(conf), true) {
		return false
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

// etagListMatch is ngx_http_test_if_match: etag (nil: none sent) against
// an If-Match (weak false) or If-None-Match (weak true) list. "*" alone
// matches, even without an etag; a weak compare drops "W/" on both sides;
// an item must be the etag followed by spaces or tabs up to a comma or
// the end.
func etagListMatch(list, etag []byte, weak bool) bool {
	if len(list) == 1 && list[0] == '*' {
		return true
	}
	if etag == nil {
		return false
	}
	if weak && len(etag) > 2 && etag[0] == 'W' && etag[1] == '/' {
		etag = etag[2:]
	}
	i, end := 0, len(list)
	for i < end {
		if weak && end-i > 2 && list[i] == 'W' && list[i+1] == '/' {
			i += 2
		}
		if len(etag) > end-i {
			return false
		}
		if string(list[i:i+len(etag)]) == string(etag) {
			j := i + len(etag)
			for j < end && (list[j] == ' ' || list[j] == '\t') {
				j++
			}
			if j == end || list[j] == ',' {
				return true
			}
		}
		for i < end && list[i] != ',' {
			i++
		}
		for i < end && (list[i] == ' ' || list[i] == '\t' || list[i] == ',') {
			i++
		}
	}
	return false
}

// sentETag is the ETag of the response, nil with etag off.
func (x *exchange) sentETag(conf *locConf) []byte {
	if !conf.etag {
		return nil
	}
	return x.etag
}

// preconditionFailed is the not-modified filter's If-Unmodified-Since and
// If-Match tests (412 when either fails), before If-Modified-Since.
func (x *exchange) preconditionFailed(conf *locConf, mtime int64) bool {
	if v := x.req.HeaderValue("If-Unmodified-Since"); v != nil {
		t, ok := parseHTTPTime(v)
		if !ok || t < mtime {
			return true
		}
	}
	if v := x.req.HeaderValue("If-Match"); v != nil && !etagListMatch(v, x.sentETag(conf), false) {
		return true
	}
	return false
}
