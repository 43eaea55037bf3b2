package upstream

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/rewrite/http1"
	"github.com/gonginx/gonginx/rewrite/http1/freelist"
	"github.com/gonginx/gonginx/upstream/poller"
)

// exchange is the per-request scratch of a proxied request, pooled so the
// steady state allocates nothing.
type exchange struct {
	scheme string // of the target tried, for UpstreamLogName
	// uriStart, uriEnd: where x.req's request line has the URI (HTTP).
	uriStart, uriEnd int
	// disabled: the try's failure took its server out (max_fails).
	disabled  bool
	rel       tryRelease // the try's state for releaseTry
	dropBody  bool       // endServe drops the body file serveWith took
	keep      bool       // endServe leaves it in the State (rewrite.State.Kept)
	buffering bool       // this response's proxy_buffering (X-Accel-Buffering)
	// upgrade: the request asks to switch protocols (a connection that
	// switches is not kept: dialBackend).
	upgrade bool
	// bodyStreams: the client's body is passed on as it comes (nginx's
	// request_body_no_buffering, left set while the body is not whole).
	bodyStreams bool
	// mayDefer: the request's last write may be left to the response's
	// first read (deferSend): nothing that must follow the send comes
	// before that read but the client's watch, which the read arms
	// (armWatch, bound once as armWatchFn, with the watch's arguments in
	// armRaw, armOwner, armUpgrade and its result in armed). The watch
	// holds armCloser for the backend: a close it asks for while armWatch
	// runs (hooking) is left to the exchange (closeLater), as the read
	// that runs armWatch holds the socket, whose Close would wait for it.
	mayDefer   bool
	armUpgrade bool
	armRaw     syscall.RawConn
	armOwner   net.Conn
	armed      *clientWatch
	armWatchFn func() bool
	armCloser  hookCloser
	hooking    atomic.Bool
	closeLater atomic.Bool
	pend       sendPend // the deferred send (x.life.pend)
	req        []byte   // the request head sent to the backend
	rbuf       []byte   // the backend's response head, then body bytes
	// rbufBox is the pool's box rbuf came in (takeRbuf), which carries
	// it back (spareRbuf) with no allocation of a new one.
	rbufBox *[]byte
	body    []byte // the client body, read before the backend is contacted
	// bodyFile holds what of the body did not fit in body; bodyBuffered
	// says the body was read in full (so a retry can send it again).
	bodyFile *os.File
	// bodyFileShared: the State owns bodyFile (KeepBodyFile) and
	// removes it when the request ends.
	bodyFileShared bool
	keepBodyFile   bool // client_body_in_file_only on
	bodyBuffered   bool
	// bodyOpen: an HTTP/2 stream said "content-length: 0" and has not
	// ended; unbuffered, FastCGI's last FCGI_STDIN waits for its end.
	bodyOpen   bool
	vecArr     [2][]byte // head and body for one writev
	vec        net.Buffers
	joined     []byte // vec in one buffer, for a TLS backend (writeVec)
	head       http1.ResponseHead
	resp       http1.Response
	hdrs       []http1.Header
	sendBody   []byte // the body from memory: the client's or proxy_set_body's
	setBodyBuf []byte
	method     []byte // the method sent (proxy_method or the client's)
	methodBuf  []byte
	headOnly   bool // HEAD was sent: the response has no body
	// headFull: the head ended at the end of nginx's head buffer, nothing
	// read past it (takeHeadFull).
	headFull bool
	// streamChunked: the client's chunked body is passed on as it
	// arrives (proxy_request_buffering off, HTTP/1.1).
	streamChunked bool
	action        string // what the try is doing, for the error log
	unw           unwatchedTry
	// bodyWatch is the client's watch while a body is relayed (HTTP/1):
	// a backend read that fails after it fired is the client's hang-up,
	// on which nginx passes on nothing it holds (watchedGone).
	bodyWatch *clientWatch
	// reset logs an HTTP/2 client's reset of a stream not watched.
	reset    streamReset
	pending  []byte // body at hand when streaming starts, sent with the head
	overrun  bool   // the backend sent more than its framing said
	tunneled bool   // the try became a tunnel (no response body counted)
	// connectWaited: the try's new connection took time to make (its
	// connect waited, or a TLS handshake followed): its send reads the
	// clock again.
	connectWaited bool
	// spareSock is the Sock of a backend connection given to a tunnel,
	// emptied, for the exchange's next connection (http1.SockFrom): an
	// upgrade's exchange goes back to the pool, and a Sock of the pool's
	// per connection cost a Get and a Put (~180 instructions).
	spareSock *http1.Sock
	// spareConn is the last try's backend socket, closed, for the
	// exchange's next dial (poller.Conn.Recycle): no Conn allocated per
	// connection not kept.
	spareConn *poller.Conn
	detached  bool // and the tunnel's end ends the try and the request (detachTunnel)
	// Per try, for the $upstream_* variables: bytes written and read,
	// the response head's length and when it was read.
	sent, recvd int64
	headLen     int
	tryStart    time.Time
	// readFrom: the clock as the request went out whole, for the read
	// timeout readHead arms first (zero: it reads the clock).
	readFrom    time.Time
	tryEnd      time.Time     // when exchange returned
	tryAddr     string        // the server of the try under way
	connectTime time.Duration // its connect time
	headerTime  time.Duration
	locBuf      []byte // a rewritten Location
	refreshBuf  []byte // a rewritten Refresh
	patBuf      []byte // an evaluated proxy_redirect pattern
	urlBuf      []byte // an evaluated proxy_pass URL
	cookieBuf   []byte // rewritten Set-Cookie values, one after another
	cookieAttrs []cookieAttr
	chunk       http1.ChunkedParser
	pipe        pipeBufs // the buffered relay's hold (heldBody, heldParse): its lists kept across exchanges

	locPrefix string
	life      connLife  // of the backend connection in use
	tgt       target    // where the request goes
	pick      pickState // the balancer's, over the request's tries
	rate      pipeRate  // *_limit_rate on the body being read
	// proxy_bind's address for the request (localName "": none).
	local     netip.AddrPort
	localName string
	localBuf  []byte
	store     storeStream // proxy_store's file and the client
	storeBuf  []byte

	grpc *grpcStream // gRPC's stream (grpc_conn.go), made once per pooled exchange

	// memcached's (memcached.go): the value's length, its gzip flag, a
	// miss ("END").
	mcLength       int64
	mcGzip, mcMiss bool

	// FastCGI's scratch (fcgi_wire.go): an evaluated param, the
	// decoder, the CGI head and what of the body came with it, one
	// framed record.
	fval     []byte
	fdec     fcgiDecoder
	fhead    []byte
	fpending []byte
	fended   bool // FCGI_END_REQUEST arrived and nothing followed it
	fhdr     [8]byte
	ftail    [16]byte
	fout     []byte // the body pieces of one read, written at once
	fvec     [3][]byte

	spool    spool           // the buffers and temporary file of a slow client (tempfile.go)
	cr       *cacheReq       // the request's cache state (cache.go); nil: no cache
	rangeHdr [1]http1.Header // a cached response's Accept-Ranges or Content-Range
}

// responseHeadSize is proxy_buffer_size's default: one page, as nginx's
// on x86-64 (headLimit's when a protocol has no *_buffer_size).
const responseHeadSize = 4 << 10
const bodyBufSize = 32 << 10

var exchangePool = freelist.New[exchange](128)

// takeExchange is a spare exchange of exchangePool's, or a new one.
func takeExchange() *exchange {
	if x := exchangePool.Get(); x != nil {
		return x
	}
	x := &exchange{req: make([]byte, 0, 1024)}
	x.armWatchFn = x.armWatch
	x.armCloser.x = x
	return x
}

// armWatch watches the client once the deferred request is sent, as
// exchangeTry would right after its send; true: a client gone already
// asked for the backend's close (no read then).
func (x *exchange) armWatch() bool {
	x.hooking.Store(true)
	x.armed = watchClient(x.armRaw, x.armOwner, &x.armCloser, x.armUpgrade)
	x.hooking.Store(false)
	return x.closeLater.Load()
}

// hookCloser is the backend as the client's watch of a deferred send
// holds it: its Close while armWatch runs is recorded (closeLater) for
// the exchange to make once the read has returned.
type hookCloser struct {
	net.Conn
	x *exchange
}

func (h *hookCloser) Close() error {
	if h.x.hooking.Load() {
		h.x.closeLater.Store(true)
		return nil
	}
	return h.Conn.Close()
}

// deferSend leaves b, the request's last bytes, to the response's first
// read (connLife.sendRead), when the exchange allows it and the
// connection is a kept socket of package net's (watched: runtime-polled,
// reused): that read's callback writes them, so the read's readiness is
// reset before the answer can come, and the read can wait first. It
// reports whether it did; b counts as sent (a failure takes back what
// was not).
func (x *exchange) deferSend(b []byte) bool {
	if !x.mayDefer || x.life.sock == nil || x.life.watch == nil || len(b) == 0 {
		return false
	}
	x.pend = sendPend{out: b}
	if x.armRaw != nil {
		x.pend.after = x.armWatchFn
	}
	x.life.pend = &x.pend
	x.sent += int64(len(b))
	return true
}

// spareRbufs holds response buffers: a new exchange takes one, and one
// that became a tunnel gives its own back for the others.
var spareRbufs = sync.Pool{New: func() any { b := make([]byte, bodyBufSize); return &b }}

// takeRbuf gives x a response buffer of the pool's.
func (x *exchange) takeRbuf() {
	x.rbufBox = spareRbufs.Get().(*[]byte)
	x.rbuf = *x.rbufBox
}

// spareRbuf gives x's response buffer back for the rest of a tunnel.
func (x *exchange) spareRbuf() {
	bp := x.rbufBox
	if len(x.rbuf) > bodyBufSize {
		// growHead's, for this exchange only.
		x.rbuf = nil
		return
	}
	if bp == nil {
		bp = new([]byte)
	}
	*bp = x.rbuf
	x.rbuf, x.rbufBox = nil, nil
	spareRbufs.Put(bp)
}

// Errors a Serve may return with its status.
var (
	ErrNoLiveUpstreams  = errors.New("no live upstreams")
	ErrPrematureClose   = errors.New("upstream prematurely closed connection")
	ErrTooBigHeader     = errors.New("upstream sent too big header")
	ErrNoResolver       = errors.New("no resolver defined to resolve")
	errInvalidLength    = errors.New(`upstream sent invalid "Content-Length" header`)
	errUnknownTE        = errors.New(`upstream sent unknown "Transfer-Encoding"`)
	errInvalidChunked   = errors.New("upstream sent invalid chunked response")
	errLengthAndChunked = errors.New(`upstream sent "Content-Length" and "Transfer-Encoding" headers at the same time`)
)

// target is where one request goes.
// ErrExplained ends a request traced by gonginx explain where it would
// reach its backend.
var ErrExplained = errors.New("not sent to the backend: gonginx explain")

type target struct {
	group     *Group
	scheme    string
	proxyHost string
	proxyPort string
	uri       []byte // the URI part of an evaluated URL (nil: none)
	hasURI    bool
}

// serveUpstream proxies the current request of c (Serve puts the cache
// in front of it; cr is its state, nil without a cache).
//
// It returns status > 0 when nothing has been written to the client: the
// caller answers with that status (502 Bad Gateway, 504 Gateway
// Time-out, 400 or 413 for a bad request body, 500) and its error page.
// status == 0 means the response was written (or the connection was
// upgraded and the tunnel has ended); err then reports a failure midway,
// after which the caller must close the connection (c.KeepAlive() is
// false). After an upgrade, c.Hijacked() is true: the caller only calls
// c.Release(). locPrefix is the matched location's prefix (nginx's
// clcf->name), used when proxy_pass has a URI part and by proxy_redirect
// default. s must hold the request (s.Req == c.Request()); Serve sets
// s.ProxyHost, s.ProxyPort and s.UpstreamAddr.
func (p *Proxy) serveUpstream(c http1.Stream, s *rewrite.State, locPrefix string, cr *cacheReq) (status int, err error) {
	// The connection's last exchange, kept in its State (rewrite.State.Kept:
	// taken while in use, so a request nested in this one takes another).
	var x *exchange
	if s != nil {
		x, _ = s.Kept.(*exchange)
	}
	if x != nil {
		s.Kept = nil
	} else {
		x = takeExchange()
	}
	// An upgrade's tunnel may outlive the request by hours (its
	// connection's State with it): the exchange goes back to the pool.
	x.keep = s != nil && !c.Request().Upgrade
	x.cr = cr
	// One defer and one return: the compiler inlines it at the return
	// (serveWith's many returns would make each of its defers a runtime
	// call, ~100 instructions each per request).
	defer endServe(x, s)
	return p.serveWith(c, s, locPrefix, x)
}

// endServe ends serveUpstream: the request's place in the cache order is
// passed if no request was sent, and x goes back to the pool without the
// client's stream or cache request.
func endServe(x *exchange, s *rewrite.State) {
	if x.dropBody {
		// serveWith's, at its return: flagged, not deferred, since a
		// defer there costs a runtime call at each of its returns.
		x.dropBody = false
		x.dropBodyFile()
	}
	passCacheOrder(s)
	if len(x.rbuf) > bodyBufSize {
		x.rbuf = nil // growHead's: the next exchange takes the pool's
	}
	x.cr, x.headFull = nil, false
	x.store = storeStream{}
	if x.keep && s.Kept == nil {
		s.Kept = x
		return
	}
	exchangePool.Put(x)
}

// Release is rewrite.State's Kept: the connection gives x back.
func (x *exchange) Release() { exchangePool.Put(x) }

// serveWith is serveUpstream with its pooled exchange x.
func (p *Proxy) serveWith(c http1.Stream, s *rewrite.State, locPrefix string, x *exchange) (status int, err error) {
	cr := x.cr
	if x.rbuf == nil {
		x.takeRbuf()
	}
	x.locPrefix = locPrefix
	r := c.Request()
	if p.getHeadOnly && r.MethodCode != http1.MethodGET && r.MethodCode != http1.MethodHEAD {
		return 405, nil
	}

	// The target lives in the pooled exchange: the protocol's methods
	// take it through an interface, which a stack variable would escape.
	x.tgt = target{}
	t := &x.tgt
	if status, err := p.resolve(s, x, t); status != 0 {
		return status, err
	}
	s.ProxyHost, s.ProxyPort = t.proxyHost, t.proxyPort

	// nginx reads the whole client body before it contacts the backend
	// (proxy_request_buffering on: ngx_http_read_client_request_body,
	// then ngx_http_upstream_init), so a client that hangs up mid-body
	// never reaches the backend. A chunked body is always read in full and
	// sent with a Content-Length.
	bodyLen := r.ContentLength
	if r.NoBody {
		bodyLen = 0
	}
	x.bodyBuffered = false
	// proxy_request_buffering off with HTTP/1.1: a chunked body goes on
	// to the backend as it arrives, chunked again (nginx's
	// request_body_no_buffering).
	// An earlier pass (before an X-Accel-Redirect or an error_page) read
	// the whole body: nginx sends r->request_body again.
	reuseBody := (s.RequestBodyWhole || s.BodyFile() != nil) && c.BodyDone()
	x.streamChunked, x.pending = false, nil
	if reuseBody || r.Chunked || r.ContentLength > 0 && !r.NoBody {
		var status int
		var err error
		if bodyLen, status, err = p.clientBody(c, s, x, r, reuseBody, bodyLen); err != nil {
			return status, err
		}
	}
	// nginx reads an HTTP/2 body to the stream's end whatever its
	// Content-Length says (ngx_http_v2_read_request_body).
	x.bodyOpen = bodyLen == 0 && !x.bodyBuffered && !p.requestBuffering && p.passBody && p.setBody == nil &&
		!c.BodyDone()
	if bodyLen > 0 && !x.bodyBuffered {
		// Unbuffered (proxy_request_buffering off): nginx's buffers hold
		// what arrived with the head, up to client_body_buffer_size more,
		// and that is $request_body.
		b := c.Buffered()
		n := min(int64(len(b)), bodyLen, c.Preread()+p.bodyBufferSize)
		s.SetRequestBody(b[:n])
	}
	x.sendBody = x.body
	// hdrLen is $proxy_internal_body_length: the client's length (none
	// for a request without a body) or proxy_set_body's. nginx takes it
	// from the request's headers whether or not a body is sent
	// (proxy_pass_request_body off, an auth_request subrequest): the
	// backend is told of a body it does not get.
	hdrLen := int64(-1)
	switch {
	case r.NoBody:
		hdrLen = r.ContentLength
	case r.ContentLength >= 0 || r.Chunked:
		hdrLen = bodyLen
	}
	// SCGI's CONTENT_LENGTH counts the body read even when it is not
	// passed on (nginx sums the request's buffers before dropping them).
	contentLen := bodyLen
	if !p.passBody {
		bodyLen = -1
	}
	if p.setBody != nil {
		// proxy_set_body replaces the client's body, read all the same.
		x.dropBodyFile()
		x.setBodyBuf = p.setBody.Eval(s, x.setBodyBuf[:0])
		x.sendBody = x.setBodyBuf
		bodyLen, hdrLen, x.bodyBuffered = int64(len(x.sendBody)), int64(len(x.sendBody)), true
	}
	if cr != nil {
		if done, status, err := p.cacheOpen(c, s, x, t); done {
			return status, err
		}
	}
	x.method = r.MethodName()
	if p.method != nil {
		x.methodBuf = p.method.Eval(s, x.methodBuf[:0])
		x.method = x.methodBuf
	}
	if cr != nil && cr.convHead {
		x.method = methodGET // proxy_cache_convert_head
	}
	// A HEAD sent to the backend gets no body back, whatever the
	// client asked (nginx's ctx->head).
	x.headOnly = len(x.method) == 4 && http1.EqualFold(x.method, "head")
	if x.streamChunked {
		hdrLen = -1
	}
	if err := p.proto.createRequest(p, r, s, t, x, bodyLens{body: bodyLen, header: hdrLen, content: contentLen}); err != nil {
		return 500, err
	}
	if s.Trace != nil {
		// gonginx explain: what the backend would receive; nothing is sent.
		s.Trace("upstream", t.scheme+"://"+t.group.Name+" would receive:\n"+string(x.req))
		return 502, ErrExplained
	}

	start := poller.Now()
	s.StartUpstreamPass()
	tries := t.group.tries(p.nextTries)
	nonIdempotent := r.MethodCode == http1.MethodPOST || r.MethodCode == http1.MethodLOCK ||
		r.MethodCode == http1.MethodPATCH
	bodyAtHand := (x.bodyBuffered || bodyLen <= 0) && !x.streamChunked
	x.bodyStreams = !bodyAtHand || x.bodyOpen
	x.pick.reset()
	p.setLocal(s, x)
	x.upgrade = r.Upgrade
	useIdle := true
	// The clock is read as few times as a try needs (nginx reads it once
	// per turn of its event loop): the first try starts when the pass does.
	now, again := start, false
	for {
		if again {
			now = poller.Now()
		}
		again = true
		x.disabled = false
		nc, server, reused, err := p.connect(t, s, x, useIdle, now)
		if server < 0 {
			return p.noLiveUpstreams(s, t, x, cr)
		}
		addr := t.group.Servers[server].Addr
		if t.group.Servers[server].Network == "unix" {
			addr = t.group.Servers[server].Name // "unix:/path", as nginx names it
		}
		s.UpstreamAddr, s.UpstreamStatus = addr, 0
		// Error lines name it for the rest of the request (nginx's
		// r->upstream stays, with its peer's name).
		s.UpstreamName.Set(t.scheme, addr, x.sentURI(t.scheme))
		x.sent, x.recvd, x.headLen, x.tryStart, x.headerTime, x.tunneled = 0, 0, 0, now, -1, false
		x.rate = pipeRate{}
		var ft ftMask
		sent := false
		if err != nil {
			if status, ft, err = p.connectFailed(s, t, x, err, addr, now); status == 500 {
				return status, err
			}
		} else {
			sent = true
			// A kept-alive connection is at hand, or a connect did not
			// wait (a backend on loopback): nginx's clock has not moved
			// since the try began (0.000 in $upstream_connect_time).
			connectTime := time.Duration(0)
			if !reused && x.connectWaited {
				connectTime = time.Since(now)
			}
			x.tryAddr, x.connectTime, x.scheme = addr, connectTime, t.scheme
			allow := p.nextAllowed(tries, start, nonIdempotent, bodyAtHand)
			status, err, ft = p.exchange(c, s, x, nc, t.group, server, bodyLen, reused, allow)
			if x.detached {
				// A tunnel runs on: its end counts the try.
				x.detached = false
				return 0, nil
			}
			err = p.wrapTry(err, x.action, t, x, addr)
			upStatus := s.UpstreamStatus // the backend's status when its head arrived
			if upStatus == 0 && status != 499 {
				upStatus = status // a hang-up is logged as "-", as nginx
			}
			var bodyRead int64
			// Only a body relayed counts (nginx's pipe read_length): not
			// an intercepted answer's nor one proxy_next_upstream passed.
			if x.headerTime >= 0 && !x.tunneled && c.HeaderWritten() {
				bodyRead = x.recvd - int64(x.headLen)
			}
			s.AddUpstream(rewrite.UpstreamTry{Addr: addr, Status: upStatus, Time: x.tryEnd.Sub(now),
				ConnectTime: connectTime, HeaderTime: x.headerTime,
				ResponseLength: bodyRead, BytesReceived: x.recvd, BytesSent: x.sent})
			if err != nil && status == 0 && c.HeaderWritten() && !c.Hijacked() {
				bodyCut(c, err)
			}
		}
		if cr != nil {
			cr.lastFT = ft
		}
		if x.disabled {
			action := actionConnect
			if sent {
				action = x.action
			}
			err = p.thenDisabled(s, err, action, t, x, addr)
		}
		if ft == 0 || c.HeaderWritten() || c.Hijacked() {
			return status, err
		}
		if se, ok := c.NetConn().(interface{ Ended() bool }); ok && se.Ended() {
			// An HTTP/2 stream that ended meanwhile (its client's reset
			// or its connection's end, which ignore_client_abort let the
			// try outlive): no next try, 499 (ngx_http_upstream_next's
			// c->error), the try's error logged.
			if err != nil && s != nil && s.TryLog != nil {
				s.TryLog.LogTryError(err)
			}
			return 499, ErrClientClosed
		}
		if reused && ft == ftError {
			// A kept-alive connection the backend had closed: nginx gives
			// the try back and the same server gets a fresh connection,
			// under the same proxy_next_upstream rules (a POST already
			// sent is not repeated without non_idempotent).
			if p.nextAllowed(tries+1, start, nonIdempotent, bodyAtHand)&ft == 0 {
				return status, err
			}
			if err != nil && s.TryLog != nil {
				s.TryLog.LogTryError(err)
			}
			useIdle = false
			continue
		}
		x.pick.tried |= 1 << uint(server)
		if p.nextAllowed(tries, start, sent && nonIdempotent, bodyAtHand)&ft == 0 {
			return status, err
		}
		if err != nil && s.TryLog != nil {
			// nginx logs each failed try as it moves on (a server that
			// could not be connected to, a certificate that does not
			// verify, a backend that hung up); the caller logs the last.
			s.TryLog.LogTryError(err)
		}
		tries--
	}
}

// clientBody is serveWith's step for a request with a body (or one an
// earlier pass read): read, streamed or reused, its length to send
// (bodyLen as serveWith has it when none is read), or a status to end
// with.
func (p *Proxy) clientBody(c http1.Stream, s *rewrite.State, x *exchange, r *http1.Request, reuseBody bool, bodyLen int64) (int64, int, error) {
	x.streamChunked = !reuseBody && r.Chunked && !p.requestBuffering && p.version11 && p.setBody == nil && p.passBody
	x.pending = nil
	if x.streamChunked || !reuseBody && !r.Chunked && r.ContentLength > 0 && !r.NoBody && !p.requestBuffering && p.setBody == nil && p.passBody {
		// Passed on as it comes: an HTTP/2 stream's window follows
		// the relay's buffer, not the wide one of a body read whole.
		if rb, ok := c.(interface{ RelaysBody(int64) }); ok {
			rb.RelaysBody(p.bodyBufferSize)
		}
	}
	// A chunked body relayed as it comes is held to client_max_body_size
	// by its chunks' sizes, as nginx's chunked filter holds it.
	c.SetBodyLimit(p.maxBody)
	if x.streamChunked {
		// A body that arrived whole with the head is sent with its
		// length, as nginx does when nothing is left to read; otherwise
		// what is at hand goes out with the request head. An HTTP/2
		// stream that ended with its head (a "transfer-encoding: chunked"
		// field, no DATA) is done before any read: nginx's in_closed
		// turns request_body_no_buffering off, "Content-Length: 0".
		closed := c.BodyDone()
		if int64(cap(x.body)) < p.bodyBufferSize {
			x.body = make([]byte, 0, p.bodyBufferSize) // grows once per pooled exchange
		}
		n, err := readAtHand(c, x.body[:cap(x.body)])
		if err != nil {
			return 0, bodyStatus(err), err
		}
		x.body = x.body[:n]
		// Not on HTTP/2: nginx passes a stream's body on chunked even
		// when all of it is at hand.
		if c.BodyDone() && (closed || c.ConnInfo() == nil || c.ConnInfo().HTTP2 == 0) {
			x.streamChunked = false
			bodyLen, x.bodyBuffered = int64(n), true
			s.ChunkedLength, s.ChunkedRead = bodyLen, true
			s.SetRequestBody(x.body)
			s.RequestBodyWhole = true
		} else {
			x.pending = x.body
		}
	}
	if reuseBody {
		x.body = x.body[:0]
		if f := s.BodyFile(); f != nil {
			fi, err := f.Stat()
			if err != nil {
				return 0, 500, fmt.Errorf("client body temp file: %w", err)
			}
			x.dropBody = true // endServe drops it
			x.bodyFile, x.bodyFileShared, bodyLen = f, true, fi.Size()
		} else {
			x.body = append(x.body, s.RequestBody...)
			bodyLen = int64(len(x.body))
		}
		x.bodyBuffered = true
	} else if r.Chunked && !x.streamChunked && !x.bodyBuffered || r.ContentLength > 0 && !r.NoBody && (p.requestBuffering || p.setBody != nil) {
		x.dropBody = true
		n, err := p.readBody(c, s, x)
		if err != nil {
			if errors.Is(err, http1.ErrPrematureBody) {
				err = &leveledError{err, "info"}
			}
			return 0, bodyStatus(err), err
		}
		bodyLen, x.bodyBuffered = n, true
		if r.Chunked {
			s.ChunkedLength, s.ChunkedRead = n, true
		}
		if x.bodyFile != nil {
			s.RequestBodyFile = x.bodyFile.Name()
			// The State keeps the file to the end of the request.
			s.KeepBodyFile(x.bodyFile, x.keepBodyFile)
			x.bodyFileShared = true
		} else {
			s.SetRequestBody(x.body)
			s.RequestBodyWhole = true
		}
	}
	return bodyLen, 0, nil
}

// noLiveUpstreams ends a pass that found no server to try.
func (p *Proxy) noLiveUpstreams(s *rewrite.State, t *target, x *exchange, cr *cacheReq) (int, error) {
	// nginx logs the group's name when no server is left.
	s.UpstreamName.Set(t.scheme, t.group.Name, x.sentURI(t.scheme))
	s.AddUpstreamTry(t.group.Name, 502, 0)
	if cr != nil {
		cr.lastFT = ftError
	}
	return 502, &tryError{msg: ErrNoLiveUpstreams.Error(), cause: ErrNoLiveUpstreams,
		action: actionConnect, upstream: upstreamURL(t, x, t.group.Name)}
}

// connectFailed is a try whose connection failed: its status (500 ends
// the pass), failure type and error.
func (p *Proxy) connectFailed(s *rewrite.State, t *target, x *exchange, err error, addr string, now time.Time) (int, ftMask, error) {
	if fatalConnect(err) {
		s.AddUpstreamTry(addr, 500, time.Since(now))
		return 500, 0, err
	}
	status, ft := 502, ftError
	if isTimeout(err) {
		status, ft = 504, ftTimeout
	}
	s.AddUpstreamTry(addr, status, time.Since(now))
	return status, ft, p.wrapTry(err, actionConnect, t, x, addr)
}

// bodyCut ends a response whose head went out and whose body the backend
// cut or broke.
func bodyCut(c http1.Stream, err error) {
	if errors.Is(err, errInvalidChunked) || errors.Is(err, errDropUnsent) {
		// nginx's pipe aborts before writing what it parsed
		// (ngx_event_pipe returns NGX_ABORT): what was not
		// sent yet never is.
		c.Discard()
		return
	}
	// The head went out and the body was cut: nginx flushes what it
	// has, sends no last chunk and closes.
	c.Abort()
	c.Flush()
}
