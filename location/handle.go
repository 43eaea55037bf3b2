package location

import (
	"errors"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/gonginx/gonginx/location/filter"
	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/rewrite/http1"
	"github.com/gonginx/gonginx/rewrite/http1/freelist"
	"github.com/gonginx/gonginx/upstream"
)

// maxURIChanges is nginx's NGX_HTTP_MAX_URI_CHANGES: rewrite "last" cycles
// and internal redirects share this budget per request.
const maxURIChanges = 10

// Proxy is a compiled proxy_pass handler (upstream.Proxy). Serve answers
// the request on c and returns 0 when it wrote a response (or tunnelled
// an upgrade), or a status (502, 504, ...) for the caller to render as
// nginx does; err explains a failure.
type Proxy interface {
	Serve(c http1.Stream, st *rewrite.State, locPrefix string) (int, error)
}

// exchange is the per-connection request state: reused for every request
// on the connection so the request path allocates nothing in steady state.
type exchange struct {
	// reqState is zeroed as each request starts (startRequest).
	reqState

	rt   *Router
	srv  *VirtualServer
	addr *Addr
	c    http1.Stream
	req  *http1.Request
	st   rewrite.State
	log  *Logger
	// streamHost: an HTTP/2 stream's Host before its header block's
	// fault, for the fault's log line (BadStreamRequest).
	streamHost []byte
	// sendFailLogged: the client's failed write has its info line.
	sendFailLogged bool
	// parkedConf: where the last request of a connection woken from
	// its park ended (lastConfOrNil), until its next request.
	parkedConf *locConf

	resp     http1.Response
	headers  [4]http1.Header
	rangeHdr [1]http1.Header // Accept-Ranges or Content-Range (Response.RangeHeaders)
	// rangeBody and rangeFull: the range filter's link and the whole
	// body's length, for a proxied response (rangefilter.go).
	rangeFull int64
	// sliceOut is the output of the slice subrequests made for
	// reqState.slice (slice.go), bound once per pooled exchange.
	sliceOut func([]byte) error
	hdrs     headerScratch // add_header and expires output (headers.go)
	chain    filter.Chain  // the body filters of the response (bodyfilters.go)
	// rare is the memory of the filters few requests run (ssi,
	// sub_filter), made the first time a pooled exchange runs one:
	// embedded, it made every request's exchange 2.5 KB larger.
	rare     *rareFilters
	gzip     gzipState // gzip, gunzip, gzip_static (gzip.go)
	mods     modState  // state of realip, referer, secure_link, userid (realipphase.go)
	logGz    []byte    // an access log line gzipped (access_log gzip)
	postpone filter.Postpone
	// Bound once per pooled exchange (a method value allocates):
	// subrequests' output into postpone, addition's subrequest.
	postponeOut func([]byte) error
	ssiHost     ssiHost
	runningSub  *exchange // the subrequest x runs in place now (subrequest.go)
	// beside: x runs in a goroutine of its own, beside its parent's (or
	// below such a subrequest); besideRuns are the subrequests x started
	// so, besideWG counts those still running (subrequest.go).
	beside        bool
	besideRuns    []*besideSub
	besideStarted int // besideRuns before it were started (runPosted)
	besideWG      sync.WaitGroup
	subBody       bool // a subrequest has its parent's read body (a mirror's, an include's)
	// mainMu guards, in a main request's exchange, what its subrequests
	// running beside it change there: queued mirrors and updates, the
	// limits' and userid's once-per-request state.
	mainMu sync.Mutex
	// tree ends a main request's subrequests' backends when the client
	// is gone; subWatch is a subrequest's watch on it (treeabort.go).
	tree        treeAbort
	subWatch    subWatch
	subStub     [][]byte // the ssi stub of the subrequest x makes next
	ssiType     []byte   // the Content-Type of the response x's ssi filters
	ssiIncludes int      // includes made for x's document and its subrequests'
	headLength  int64    // Content-Length of the head x's body filters saw
	additionRun func([]byte)
	path        []byte // filesystem path scratch
	tmp         []byte // evaluated values scratch
	uriBuf      []byte // URI of an internal redirect
	argsBuf     []byte
	etag        []byte
	weakETag    []byte // the ETag a length-changing filter made weak
	crange      []byte
	locBuf      []byte
	keptLoc     []byte // Location kept across an error_page redirect
	// ifRangeTag is the ETag add_header sets, as the range filter sees it.
	ifRangeTag []byte
	// wwwAuth is the backend's WWW-Authenticate kept for the error page
	// of an intercepted 401 (ngx_http_upstream_intercept_errors).
	wwwAuth []byte
	// kept: what X-Accel-Redirects carry over to the response (accel.go).
	kept accelKept
	auth authScratch // the access phase's memory (access.go)
	// inAccel: an X-Accel-Redirect is being followed, so errors are
	// logged as nginx's upstream module logs them.
	inAccel bool
	// upstreamName is what a proxy error names after ", upstream:".
	upstreamName string
	charsetBuf   []byte // charset $name evaluated
	proxied      bool   // the head being written is a proxied response's
	ctLower      []byte
	sourceBuf    []byte // source_charset $name evaluated
	// outCharset is the charset the main response named, which its
	// subrequests' bodies are recoded to.
	outCharset []byte
	fileBuf    []byte
	cpath      []byte // NUL-terminated path for openat
	ctype      []byte

	toHTTPS  bool                       // plain HTTP arrived on a TLS socket: every request gets 497
	order    Ordered                    // the connection's first request's place among others (nil once passed)
	hostAddr *Addr                      // the address whose servers forHost picks from
	hostSt   *rewrite.State             // limitsForHost's scratch, made at its first use
	forHost  func([]byte) *http1.Limits // limitsForHost, bound once per exchange
	rateFn   func()                     // decideRate, likewise (http1.Conn.DecideRate)

	// curConf is the configuration the request runs under now (server,
	// location or "if" block): file tests, $document_root and
	// $request_filename read it.
	curConf *locConf

	uriChanges int
	connID     uint64    // nginx's "*N" connection number in error lines
	debugConn  bool      // a debug_connection client: every line to every error log
	connStart  time.Time // accept time ($connection_time, keepalive_time)
	stats      *rewrite.ConnStats

	// parent is the request a subrequest runs for (nil for the main
	// one), depth how deep it nests (subrequest.go).
	parent *exchange
	depth  int

	// The mirror subrequests queued for after the response (mirror.go).
	mirrors    []pendingMirror
	mirrorArgs []byte
}

// reqState is the part of an exchange each request starts with zeroed:
// startRequest clears it as one block, where ~25 stores spread over the
// exchange touched ~10 instruction-cache lines and as many data lines.
type reqState struct {
	errStatus int  // error_page status override (nginx's r->err_status)
	inErrPage bool // an error_page redirect happened (nginx's r->error_page)
	status    int  // status sent, for the access log
	sent      int64
	loc       *Location
	// addURIToAlias: try_files found a file in a regex location with
	// alias, so the URI is appended to the alias (r->add_uri_to_alias).
	addURIToAlias bool
	expectDone    bool   // Expect: 100-continue was handled
	bodyDropped   bool   // discardBody ran: the body is not the request's
	discardFailed bool   // discarding met a bad chunk, logged once
	emptyLocation bool   // "return 3xx" without a URL
	redirLoc      []byte // Location of a redirect being answered
	rangeUnsat    bool   // a 416 carries "Content-Range: bytes */size"
	unsatType     []byte // a static 416's file type, which the headers filter saw first
	rangedFile    bool   // a file's 206: $status is 200 above the range filter
	timedOutBody  bool   // client_body_timeout passed (nginx's c->timedout)
	terminated    bool   // a stop's worker_shutdown_timeout ended it (499: status 0)
	rangeOffset   int64  // where the body starts in the whole (a slice's start)
	// slice is the request's slicing (slice.go), the main request's or,
	// in a slice subrequest, shared with it (a main request's is in
	// rareFilters); nextSubSlice is passed to the subrequest made next.
	slice, nextSubSlice *sliceCtx
	// imgPassed: the image filter of this level lets the next response
	// pass (the 415 it asked for; nginx's module context left set).
	imgPassed  *locConf
	imgHolding bool // the image filter held a head of this request
	// partType is the file's own type in a multipart/byteranges response
	// (the charset filter's view of it).
	partType   []byte
	bodyPrefix []byte  // sent before the file (flv's header); see copyFile
	fileBase   int64   // the file offset the body after bodyPrefix starts at
	mp4Empty   []int64 // a cut movie's empty buffers (mp4.go)
	// fileEnd, when set, is where the file's part of the body ends
	// (a cut movie's data), whatever the length announced.
	fileEnd   int64
	sendingAs string // the mp4 or flv handler sends the file: "while sending mp4 to client"
}

// exchanges keeps per-connection state with its grown buffers.
var exchanges = freelist.New[exchange](256)

// takeExchange is a spare exchange of exchanges', or a new one.
func takeExchange() *exchange {
	if x := exchanges.Get(); x != nil {
		return x
	}
	return new(exchange)
}

func newExchange(rt *Router, c *http1.Conn, log *Logger) *exchange {
	x := takeExchange()
	if x.forHost == nil {
		x.forHost = x.limitsForHost // a method value allocates: once per pooled exchange
	}
	if x.rateFn == nil {
		x.rateFn = x.decideRate // likewise
	}
	x.c, x.log, x.toHTTPS = c, log, false
	c.Filter, c.DecideRate = x, x.rateFn
	x.st.Files = x
	x.st.TryLog = x
	x.rebind(rt)
	return x
}

// sinceConnStart is the connection's age at the request's head, as
// nginx's keepalive_time compares its cached clock (no clock read).
func (x *exchange) sinceConnStart() time.Duration {
	at := x.c.HeadAt()
	if at.IsZero() {
		at = time.Now()
	}
	return at.Sub(x.connStart)
}

// release returns x to the pool; nothing of the connection stays reachable.
func (x *exchange) release() {
	x.endLimitConn() // a request that never reached its end
	x.c, x.req, x.srv, x.addr, x.loc, x.rt, x.curConf = nil, nil, nil, nil, nil, nil, nil
	x.hostAddr, x.parent, x.depth, x.order, x.debugConn, x.beside = nil, nil, 0, nil, false, false
	x.st.Reset(nil)
	x.st.Trace = nil
	x.redirLoc, x.parkedConf = nil, nil
	x.resp = http1.Response{}
	x.kept.reset() // a subrequest's exchange starts from the pool
	exchanges.Put(x)
}

// serve runs one request through nginx's phases and writes the response.
func (x *exchange) serve(addr *Addr, req *http1.Request) {
	x.req, x.addr = req, addr
	x.sendFailLogged = false
	x.st.Reset(req)
	// $request_length reads the head's length during the request too
	// (nginx counts it as it parses); the log line updates it.
	x.st.RequestLength = x.c.RequestLength()
	x.startState()
	x.startRequest()
	x.tree.reset()
	defer x.gzipEnd()
	host := req.Host
	if len(host) == 0 && req.Conn != nil {
		if sni := req.Conn.SNI(); sni != "" {
			host = []byte(sni)
		}
	}
	// A server_name regex leaves its captures ($1, named ones) to the
	// request, as nginx does.
	x.srv = addr.selectServer(host, &x.st)
	x.st.ServerName = x.srv.Name
	if len(req.Dropped) > 0 {
		x.logDroppedHeaders(req)
	}
	if x.st.RegexFailed != "" {
		// ngx_http_set_virtual_server: a server_name regex at its match
		// limit closes the request in the default server, logged with
		// 500 and nothing sent, while it read the Host header.
		x.log.Logf(x, "alert", "%s while reading client request headers", x.st.RegexFailed)
		x.st.RegexFailed = ""
		x.c.NetConn().Close()
		x.status = 500
		x.c.Finish()
		return
	}
	if x.debugWanted() {
		x.debugRequest()
	}
	if x.st.Trace != nil {
		x.traceServer(addr, host)
	}
	x.resp.ServerTokensOff = !x.srv.root.conf.serverTokens
	if x.toHTTPS {
		x.special(497)
		x.c.Finish()
		return
	}
	if rc := x.checkClientCert(host); rc != 0 {
		x.special(rc)
		x.c.Finish()
		return
	}
	x.applyRealip(x.srv.root.conf) // the post-read phase
	if rc := x.serverPhase(); rc != 0 {
		x.special(rc)
	}
	x.c.Finish()
	if x.imageFilterEnd() {
		x.c.Finish()
	}
	x.joinBeside(true)
	if x.tree.clientGone() {
		// ngx_http_terminate_request: a request that sent nothing yet
		// is logged with the subrequest's 499.
		if sent, _ := x.c.BytesSent(); sent == 0 || x.status == 0 {
			x.status = 499
		}
	}
	x.runMirrors()
	x.runPostAction()
}

// startRequest clears what one request leaves in the exchange, for a main
// request and a subrequest alike (both take exchanges from the pool).
func (x *exchange) startRequest() {
	x.uriChanges = maxURIChanges + 1
	x.reqState = reqState{}
	x.wwwAuth = x.wwwAuth[:0]
	x.auth.sending, x.auth.wwwMore = false, x.auth.wwwMore[:0]
	x.curConf = nil
	x.kept.reset()
	x.gzip.reset()
	x.mods.reset()
}

// regexFailed logs, at alert, a regex that hit its match limit in what
// just ran (ngx_http_regex_exec's line), and reports it: nginx answers
// 500.
func (x *exchange) regexFailed() bool { return x.st.RegexFailed != "" && x.logRegexFailed() }

// logRegexFailed is regexFailed's log: apart, so that regexFailed's test
// is inlined (three calls per request).
//
//go:noinline
func (x *exchange) logRegexFailed() bool {
	x.log.Logf(x, "alert", "%s", x.st.RegexFailed)
	x.st.RegexFailed = ""
	return true
}

// LogRegexFailed logs a match limit that did not end the request (a
// map's), as ngx_http_regex_exec does.
func (x *exchange) LogRegexFailed(msg string) { x.log.Logf(x, "alert", "%s", msg) }

// serverPhase runs the server rewrite program and then the location
// phases; it returns a status to answer with, or 0 when a response was
// written.
func (x *exchange) serverPhase() int {
	if p := x.srv.prog; p != nil {
		x.curConf = x.srv.root.conf
		act := p.Run(&x.st)
		if x.regexFailed() {
			return 500
		}
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
		if x.st.Trace != nil {
			x.st.Trace("uri", "find the location of \""+string(x.req.URI)+"\"")
		}
		loc, redirect := x.srv.Match(&x.st, x.req.URI)
		x.loc, x.curConf = loc, loc.conf
		if x.regexFailed() {
			return 500 // ngx_http_core_find_config_phase: NGX_ERROR
		}
		if x.debugWanted() {
			x.debugLocation(loc)
		}
		if x.st.Trace != nil {
			x.st.Trace("location", "chosen: "+loc.describe())
		}
		x.st.LocationChanged = false
		x.updateKeepalive(loc.conf)
		x.st.DocumentRoot = loc.conf.rootStatic
		x.st.FastCGI = loc.conf.fcgiSplit
		if loc.conf.internal && !x.req.Internal {
			return 404
		}
		if x.req.ContentLength > loc.conf.maxBody && loc.conf.maxBody > 0 {
			x.log.Errorf(x, "client intended to send too large body: %d bytes", x.req.ContentLength)
			// nginx marks Expect tested here: an error_page's answer
			// sends no 100 Continue.
			x.expectDone = true
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
	conf, prog := loc.conf, loc.prog
	if lc := loc.limited(x.req.MethodCode); lc != nil {
		// limit_except: the block's configuration, no rewrite program
		// (ngx_http_update_location_config).
		conf, prog, x.curConf = lc, nil, lc
	}
	x.addURIToAlias = false
	if p := prog; p != nil {
		x.curConf = conf
		act := p.Run(&x.st)
		if x.regexFailed() {
			return 500, false
		}
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
	x.applyRealip(conf) // the preaccess phase
	if rc := x.limitReq(conf); rc != 0 {
		if x.st.Trace != nil {
			x.traceStatus("limit_req", rc)
		}
		return rc, false
	}
	rc = x.limitConn(conf)
	if m := x.mainExchange(); m.order != nil {
		if rc == 0 && m == x && conf.cacheLock && x.req.ContentLength <= 0 && !x.req.Chunked {
			// The place is kept up to proxy_cache_lock: the proxy
			// cache passes it (State.CacheOrder). A request with a
			// body reads it first: it keeps no one waiting meanwhile.
			m.order.WaitEarlier()
			x.st.CacheOrder = m.order
			m.order = nil
		} else {
			m.passOrder()
		}
	}
	if rc != 0 {
		if x.st.Trace != nil {
			x.traceStatus("limit_conn", rc)
		}
		return rc, false
	}
	if !accessOff(conf) {
		if rc := x.access(conf); rc != 0 {
			if x.st.Trace != nil {
				x.traceStatus("access", rc)
			}
			return rc, false
		}
	}
	if len(conf.tryFiles) > 0 {
		rc, redirected := x.tryFiles(loc, conf)
		if rc != 0 || redirected {
			return rc, false
		}
	}
	if rc := x.mirrorPhase(conf); rc != 0 {
		return rc, false
	}
	return x.content(loc, conf), false
}

// startState fills the State fields that hold for the whole request.
func (x *exchange) startState() {
	s := &x.st
	if s.Start = x.c.HeadAt(); s.Start.IsZero() {
		s.Start = time.Now()
	}
	s.Conn, s.ConnStart, s.Stats = x.c, x.connStart, x.stats
	s.Connection, s.ConnectionRequests, s.Pipelined = x.connID, x.c.ConnRequests(), x.c.Pipelined()
}

// decideRate sets the response's limit_rate and limit_rate_after from the
// configuration in force when its first bytes go out, as nginx's write
// filter evaluates them (unless "set $limit_rate" already did).
func (x *exchange) decideRate() {
	conf := x.curConf
	if conf == nil && x.srv != nil {
		conf = x.srv.root.conf
	}
	if conf == nil || conf.limitRate == nil && conf.limitRateAfter == nil {
		return // nothing to decide: not even the stream's rate is asked
	}
	// A rate from "set $limit_rate" or X-Accel-Limit-Rate stays;
	// limit_rate_after applies to it all the same.
	if !x.c.LimitRateSet() && conf.limitRate != nil {
		x.tmp = conf.limitRate.Eval(&x.st, x.tmp[:0])
		rate, _ := nginxconf.ParseSize(string(x.tmp))
		x.c.SetLimitRate(rate, false)
	}
	if x.c.LimitRate() > 0 && conf.limitRateAfter != nil {
		x.tmp = conf.limitRateAfter.Eval(&x.st, x.tmp[:0])
		after, _ := nginxconf.ParseSize(string(x.tmp))
		x.c.SetLimitRateAfter(after)
	}
}

// updateKeepalive is the keepalive part of ngx_http_update_location_config,
// run for each location a request enters: a location can only turn
// keepalive off (keepalive_timeout 0, keepalive_requests, keepalive_time,
// keepalive_disable), and the last one's Keep-Alive header is sent.
func (x *exchange) updateKeepalive(conf *locConf) {
	// send_timeout and postpone_output are the location's
	// (ngx_http_write_filter reads them from the request's location at
	// each write).
	// An HTTP/1 connection is asked by its type: an assertion to an
	// interface looks the type's method set up (getitab, ~100
	// instructions) until its call site's cache is built, which the
	// runtime tries at one miss in ~1000: for the first thousand-odd
	// connections, and at random in a callgrind run's count. Its
	// methods are then called on the type (inlined), not through the
	// Stream interface (a call each).
	var info *http1.ConnInfo
	var requests int
	if hc, ok := x.c.(*http1.Conn); ok {
		hc.SetKeepAliveHeader(conf.keepaliveHeader)
		hc.SetWriteTimeout(conf.sendTimeout)
		hc.SetPostponeOutput(conf.postponeOutput)
		info, requests = hc.ConnInfo(), hc.ConnRequests()
	} else {
		x.c.SetKeepAliveHeader(conf.keepaliveHeader)
		if w, ok := x.c.(interface {
			SetWriteTimeout(time.Duration)
			SetPostponeOutput(int32)
		}); ok {
			w.SetWriteTimeout(conf.sendTimeout)
			w.SetPostponeOutput(conf.postponeOutput)
		}
		info, requests = x.c.ConnInfo(), x.c.ConnRequests()
	}
	if info != nil && info.HTTP2 != 0 {
		x.c.SetChunkSize(conf.h2.chunk)
	}
	r := x.req
	if !r.KeepAlive {
		return
	}
	switch {
	case conf.keepalive == 0,
		requests >= conf.keepaliveReqs,
		x.sinceConnStart() > conf.keepaliveTime:
		r.KeepAlive = false
	case conf.keepaliveOff&kaSafari != 0 || conf.keepaliveOff&kaMSIE6 != 0 && r.MethodCode == http1.MethodPOST:
		// The browser matters only where it can turn keep-alive off:
		// msie6 (the default) for a POST alone. Classified for every
		// request, a GET's User-Agent was looked up and searched for
		// nothing (~270 instructions with a short one, more with a
		// browser's).
		b := browser(r.HeaderValue("User-Agent"))
		if b.msie6 && r.MethodCode == http1.MethodPOST && conf.keepaliveOff&kaMSIE6 != 0 ||
			b.safari && conf.keepaliveOff&kaSafari != 0 {
			r.KeepAlive = false
		}
	}
}

// returnAction answers a rewrite-module "return" or redirect.
func (x *exchange) returnAction(act rewrite.Action, loc *Location) int {
	code := act.Code
	if act.Kind == rewrite.Return && (code < 400 || act.HasText) {
		// ngx_http_script_return_code answers these through
		// ngx_http_send_response, which discards the body (a 100 for
		// Expect); the others, and a rewrite's redirect, are special
		// responses, which do not.
		if rc := x.discardBody(); rc != 0 {
			return rc
		}
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
	if len(x.wwwAuth) > 0 {
		x.resp.Headers = append(x.resp.Headers, http1.Header{Name: hdrWWWAuthenticate, Value: x.wwwAuth})
	}
	if len(x.auth.wwwMore) > 0 {
		x.resp.Headers = append(x.resp.Headers, http1.Header{Name: hdrWWWAuthenticate, Value: x.auth.wwwMore})
	}
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
	// ngx_http_send_header: an error_page's status replaces whatever
	// the page's own handler answers (a special response, which resets
	// it, never gets here with one).
	if x.errStatus != 0 {
		x.resp.Status = x.errStatus
	}
	return &x.resp
}

func (x *exchange) writeHeader(r *http1.Response) {
	x.status = r.Status
	x.c.WriteHeader(r)
}

func (x *exchange) write(b []byte) bool {
	n, err := x.c.Write(b)
	x.sent += int64(n)
	return err == nil
}

var textPlain = []byte("text/plain")

// stubStatus is ngx_http_stub_status_handler: GET and HEAD only, the body
// discarded, the counters as text/plain.
func (x *exchange) stubStatus(conf *locConf) int {
	if x.req.MethodCode != http1.MethodGET && x.req.MethodCode != http1.MethodHEAD {
		return 405
	}
	if x.stats == nil {
		return 500
	}
	x.expectContinue() // ngx_http_discard_request_body tests Expect
	x.tmp = x.stats.AppendStubStatus(x.tmp[:0])
	r := x.newResp(200, conf)
	r.ContentType = textPlain
	r.ContentLength = int64(len(x.tmp))
	x.writeHeader(r)
	if x.req.MethodCode != http1.MethodHEAD {
		x.write(x.tmp)
	}
	return 0
}

// limitsForHost gives the parser the header limits of the server a
// request's host selects (http1.Limits.ForHost).
func (x *exchange) limitsForHost(host []byte) *http1.Limits {
	if x.hostSt == nil {
		x.hostSt = new(rewrite.State)
	}
	srv := x.hostAddr.selectServer(host, x.hostSt)
	return &srv.root.conf.limits
}

// resetIfTimedOut is reset_timedout_connection: a connection closed for a
// timeout (or 444) is closed with SO_LINGER 0, a reset, so its socket
// does not linger in FIN_WAIT (ngx_http_free_request).
func (x *exchange) resetIfTimedOut(conf *locConf) {
	if conf.resetTimedout {
		x.resetOnClose()
	}
}

// resetOnClose sets SO_LINGER 0: the close that follows sends a reset.
func (x *exchange) resetOnClose() {
	if raw, _ := x.c.Socket(); raw != nil {
		raw.Control(func(fd uintptr) {
			syscall.SetsockoptLinger(int(fd), syscall.SOL_SOCKET, syscall.SO_LINGER, &syscall.Linger{Onoff: 1, Linger: 0})
		})
	}
}

// discardBody is ngx_http_discard_request_body where a handler answers
// without reading the body: Expect is answered, and the body bytes at hand
// are dropped; an invalid chunked framing among them is a 400.
func (x *exchange) discardBody() int {
	x.expectContinue()
	x.bodyDropped = true
	err := x.c.DiscardBuffered()
	if err == nil {
		if x.req.Chunked && x.c.BodyDone() {
			// nginx's discard filter sets a chunked body's
			// content_length_n to 0 at its end ($content_length).
			x.st.ChunkedLength, x.st.ChunkedRead = 0, true
		}
		return 0
	}
	// Only now: errors.As's target escapes, an allocation per request.
	var perr *http1.Error
	if errors.As(err, &perr) {
		x.logDiscardFailed(perr)
		return perr.Status
	}
	return 0
}

// discardBuffered is DiscardBuffered where a response is about to go out
// whatever the body holds (a special response): false when the body
// could not be discarded, so the connection is not kept.
func (x *exchange) discardBuffered() bool {
	err := x.c.DiscardBuffered()
	if err == nil {
		return true
	}
	var perr *http1.Error
	if errors.As(err, &perr) {
		x.logDiscardFailed(perr)
	}
	return false
}

// logDiscardFailed logs a bad chunk in a discarded body once, at error,
// as ngx_http_discard_request_body_filter does (its second call finds
// r->request_body made and returns at once).
func (x *exchange) logDiscardFailed(perr *http1.Error) {
	if perr != http1.ErrInvalidChunked || x.discardFailed {
		return
	}
	x.discardFailed = true
	x.log.Errorf(x, "%s", perr.Msg)
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
	// A location's handler is the last of proxy_pass, stub_status and
	// empty_gif written (proxy_pass clears the other two).
	if x.st.Trace != nil {
		x.traceHandler(conf)
	}
	if conf.stubStatus {
		return x.stubStatus(conf)
	}
	if conf.emptyGif {
		return x.emptyGif(conf)
	}
	if conf.proxy != nil {
		// ngx_http_read_client_request_body tests Expect first, with a
		// body or without.
		x.expectContinue()
		x.c.SetReadTimeout(conf.bodyTimeout)
		x.st.ErrStatus = x.errStatus
		if conf.proxyTyped {
			x.st.ContentType = x.contentType(conf)
		}
		x.proxied = true
		rc, err := conf.proxy.Serve(x.c, &x.st, loc.Name)
		x.proxied = false
		if rc == 416 && x.st.UnsatisfiableSize >= 0 {
			// A cached body the Range does not fit (the range filter's 416).
			x.crange = strconv.AppendInt(append(x.crange[:0], "bytes */"...), x.st.UnsatisfiableSize, 10)
			x.rangeUnsat = true
		}
		if rc == 0 && err == nil && x.st.AccelRedirect {
			return x.accelRedirect()
		}
		x.timedOutBody = rc == 408 && errors.Is(err, http1.ErrRequestTimeout)
		x.terminated = rc == 499 && errors.Is(err, upstream.ErrTerminated)
		// nginx logs a client's hang-up (499) at "info", below the
		// default error_log level.
		// A gzip body that does not inflate is logged when the request
		// ends (gzipEnd), as for any response.
		if err != nil && rc != 499 && rc != 408 && !isGunzipError(err) {
			x.logUpstreamError(err)
		}
		if rc == 401 && err == nil {
			// An intercepted 401 keeps the backend's first
			// WWW-Authenticate on whatever its error_page answers.
			x.wwwAuth = append(x.wwwAuth[:0], x.st.UpstreamHeader("www_authenticate")...)
		}
		if rc == 0 {
			x.status = x.st.Status
			if x.status == 0 {
				x.status = 200
			}
		}
		return rc
	}
	if conf.mp4 || conf.flv {
		return x.fileModuleHandler(loc, conf)
	}
	if conf.dav.handles(x.req.MethodCode) {
		return x.dav(loc, conf)
	}
	uri := x.req.URI
	if len(uri) > 0 && uri[len(uri)-1] == '/' {
		return x.directory(loc, conf)
	}
	if conf.gz.static != staticOff {
		if rc, handled := x.gzipStatic(loc, conf); handled {
			return rc
		}
	}
	return x.static(loc, conf)
}
