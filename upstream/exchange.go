package upstream

import (
	"net"
	"time"

	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/rewrite/http1"
	"github.com/gonginx/gonginx/upstream/poller"
)

// exchange sends the request on nc and relays the response. ft is set
// when the try failed before anything reached the client, in a way
// proxy_next_upstream can name: an error, a timeout, an invalid header,
// or a status in allow (then status is the backend's).
func (p *Proxy) exchange(c http1.Stream, s *rewrite.State, x *exchange, nc net.Conn, g *Group, server int, bodyLen int64, reused bool, allow ftMask) (status int, err error, ft ftMask) {
	x.rel = tryRelease{failed: true}
	// One defer and one return, so the compiler inlines it at the return:
	// the try's many returns would make it a runtime call per request.
	defer func() {
		p.releaseTry(x, nc, g, server, reused, ft)
		// The try is over: no watch, Sock or relay holds the socket.
		if pc := x.rel.recycle; pc != nil {
			x.rel.recycle = nil
			if pc.Recycle() {
				x.spareConn = pc
			}
		}
	}()
	status, err, ft = p.exchangeTry(c, s, x, nc, g, server, bodyLen, reused, allow)
	x.endStreamReset()
	if x.unw.listed && x.unw.end() && err != nil {
		// A stop's worker_shutdown_timeout closed the backend.
		x.rel.failed = false
		status, err, ft = 499, ErrTerminated, 0
	}
	return status, err, ft
}

// exchangeTry is exchange's try, releaseTry aside.
func (p *Proxy) exchangeTry(c http1.Stream, s *rewrite.State, x *exchange, nc net.Conn, g *Group, server int, bodyLen int64, reused bool, allow ftMask) (status int, err error, ft ftMask) {
	r := c.Request()
	x.life.requests++

	// Send the head and the body.
	x.action = actionSend
	// A kept-alive connection was at hand at once, and a connect that
	// did not wait (a backend on loopback) took no time to speak of:
	// nginx sends at the time its loop cached for the connect.
	sendAt := x.tryStart
	if !reused && x.connectWaited {
		sendAt = poller.Now()
	}
	x.life.setWrite(nc, sendAt, p.SendTimeout)
	// The client is watched (nginx's check_broken_connection) unless
	// proxy_ignore_client_abort is on. A new connection is watched from
	// before the request is sent: nginx connects, then handles the
	// client's hang-up its event reported, and sends nothing. A kept-alive
	// connection is written at once (nginx sends before it handles the
	// event), and a body read from the client as it is sent is no time to
	// watch (nginx watches once the body is read).
	var watch *clientWatch
	var sw streamWatch
	watching := !p.ignoreClientAbort && p.store == nil
	if !watching {
		if raw, _ := c.Socket(); raw != nil {
			x.unw.begin(raw, nc) // a stop still ends it
		} else {
			x.beginStreamReset(c, s)
		}
	}
	if watching && !reused && (x.bodyBuffered || bodyLen <= 0) && !x.streamChunked {
		if raw, owner := c.Socket(); raw != nil {
			watch = watchClient(raw, owner, nc, r.Upgrade)
			if watch != nil && watch.gone() {
				watch.stop()
				x.rel.failed = false
				status, err := p.clientGone(s, x, watch, nil, actionConnect)
				return status, err, 0
			}
		}
	}
	x.readFrom = time.Time{}
	if bodyLen <= 0 && !x.streamChunked {
		// The head goes out in one write: nginx arms the read timer at
		// the time its loop cached for the send.
		x.readFrom = sendAt
	}
	// The watch that follows the send is armed by a deferred send's read
	// (deferSend), which a watch of another kind, or a subrequest's page
	// waiting for the send (passCacheOrder), rules out.
	x.mayDefer = s == nil || s.CacheOrder == nil
	switch p.proto.(type) {
	case *httpProto, *fastcgi: // their heads are read through x.life.read
	default:
		x.mayDefer = false
	}
	if x.mayDefer && watching && watch == nil {
		if raw, owner := c.Socket(); raw != nil {
			x.armRaw, x.armOwner, x.armCloser.Conn, x.armUpgrade = raw, owner, nc, r.Upgrade
		} else {
			x.mayDefer = false
		}
	}
	status, err, ft = p.proto.sendRequest(p, c, nc, x, bodyLen)
	x.mayDefer = false
	deferred := x.life.pend != nil
	if !deferred {
		x.armRaw, x.armOwner, x.armCloser.Conn = nil, nil, nil
	}
	if status != 0 {
		if watch != nil && watch.stop() {
			x.rel.failed = false
			status, err := p.clientGone(s, x, watch, nil, actionSend)
			return status, err, 0
		}
		return status, err, ft
	}

	// The request is sent: a subrequest run beside its page waits for
	// the answer, and the page's next one starts (nginx's event loop).
	if s != nil {
		passCacheOrder(s)
	}
	// Read the response head, watching the client meanwhile.
	if watching && watch == nil && !deferred {
		if raw, owner := c.Socket(); raw != nil {
			watch = watchClient(raw, owner, nc, r.Upgrade)
		} else if sw, _ = c.NetConn().(streamWatch); sw != nil {
			sw.WatchAbort(nc)
		}
		if watch == nil && sw == nil {
			// Another request of the connection is watched (an ssi
			// include beside this one): this one ends with the tree
			// of requests it belongs to.
			if t, ok := c.(subWatcher); ok {
				if sw = t.SubWatch(); sw != nil {
					sw.WatchAbort(nc)
				}
			}
		}
	}
	x.action = actionHeader
	hr := p.proto.readHead(p, nc, x, s)
	if deferred {
		watch = x.armed
		// The watch keeps armCloser while the head is awaited (its
		// Close now closes at once): only the arguments go.
		x.armed, x.armRaw, x.armOwner = nil, nil, nil
		if x.closeLater.Load() && x.closeLater.Swap(false) { // set only while armWatch ran
			nc.Close() // as the watch asked while the send's read ran
		}
		x.life.pend = nil // (readHead's first read took it)
		err, unsent := x.pend.err, x.pend.unsent
		x.pend = sendPend{}
		if err != nil {
			// The deferred send failed: the send's failure, as
			// sendRequest's would have been (no watch was armed).
			x.sent -= int64(unsent)
			x.action = actionSend
			return sendFailure(err)
		}
	}
	n, headLen, status, err, ft := hr.n, hr.headLen, hr.status, hr.err, hr.ft
	if watch != nil && watch.stop() || sw != nil && sw.StopWatch() {
		// Not the backend's failure; nginx logs 499 and closes both.
		x.rel.failed = false
		// nginx's action is still the send's until the backend's first
		// bytes are read.
		action := actionSend
		if x.recvd > 0 {
			action = actionHeader
		}
		status, err := p.clientGone(s, x, watch, sw, action)
		return status, err, 0
	}
	var headAt time.Time // when the head was read: the response's Date
	if status == 0 {
		headAt = poller.Now()
		x.headLen, x.headerTime = hr.counted, headAt.Sub(x.tryStart)
	}
	if hr.http09 {
		// nginx passes such a response on as HTTP/0.9: the bytes
		// as they are, no header, then close.
		x.rel.failed = false
		if s != nil {
			s.Status = 200 // nginx logs such responses as 200 (HTTP/0.9)
		}
		return 0, p.relayHTTP09(c, nc, x, x.rbuf[:n], x.rbuf[n:]), 0
	}
	if status != 0 {
		return status, err, ft
	}
	if s != nil {
		s.UpstreamStatus = x.head.Status
		s.SetUpstreamHeaders(x.head.Headers)
		p.accelHeaders(c, s, x)
	}
	if allow&ftHTTPAny != 0 && allow&statusFT(x.head.Status) != 0 {
		ft := statusFT(x.head.Status)
		// proxy_next_upstream http_NNN: this answer is dropped and the
		// next server tried; 403 and 404 do not count as failures.
		x.rel.failed = peerFailed(ft)
		return x.head.Status, nil, ft
	}
	if x.cr != nil {
		if st := p.cacheTestNext(x); st != 0 {
			// The cache file answers (stale, or revalidated by a 304).
			x.rel.failed = false
			return st, nil, 0
		}
	}
	// Build the client response from the backend's head (an invalid
	// length is the backend's error whatever its status).
	resp, f, perr := p.proto.buildResponse(p, c, s, x)
	if perr != nil {
		return 502, perr, ftInvalidHeader
	}
	f.noBody = x.headOnly || x.head.Status == 204 || x.head.Status == 304 ||
		(x.head.Status >= 100 && x.head.Status < 200)
	// When the body is dropped (an intercepted error, an
	// X-Accel-Redirect), the protocol says whether the connection can
	// still be kept.
	keepBodiless := g.Keepalive > 0 && p.proto.keepConn(x, f, false, true)
	x.rel.failed = false
	if p.intercepts(x.head.Status) {
		// proxy_intercept_errors: the location's error_page answers.
		x.rel.keep = keepBodiless
		if x.cr != nil {
			p.cacheError(x)
		}
		return x.head.Status, nil, 0
	}
	if s != nil && p.accelRedirect(x.head.Headers) {
		// X-Accel-Redirect, after proxy_next_upstream and
		// proxy_intercept_errors had their say: location redirects
		// (ngx_http_upstream_process_headers).
		s.AccelRedirect = true
		x.rel.keep = keepBodiless
		return 0, nil, 0
	}
	buffered := x.rbuf[headLen:n]
	if s != nil {
		s.Status = x.head.Status
		s.UpstreamStatus = x.head.Status
	}

	if x.head.Status == 101 && r.Upgrade && !p.proto.cgiHead() {
		return p.upgraded(c, s, x, nc, g, server, resp, buffered, headAt)
	}

	x.beginTry(s)
	// A response still cacheable after its head, or proxy_force_ranges,
	// gets ranges from the range filter, which owns Accept-Ranges
	// (ngx_http_upstream_copy_allow_ranges).
	resp.NotModifiable = false
	if x.cr != nil || p.forceRanges {
		p.cacheRanges(r, s, x, resp, f)
	}
	if !headAt.IsZero() {
		// An HTTP/1 client's Conn asked by its type (one compare), not by
		// the interface (an itab lookup, ~95 instructions).
		if hc, ok := c.(*http1.Conn); ok {
			hc.SetEventTime(headAt)
		} else if ec, ok := c.(eventTimer); ok {
			ec.SetEventTime(headAt)
		}
	}
	if err := c.WriteHeader(resp); err != nil {
		if err == http1.ErrRefused {
			return resp.Refuse, nil, 0 // nothing written: the location answers
		}
		if se, ok := c.NetConn().(interface{ Ended() bool }); ok && se.Ended() {
			// An HTTP/2 stream that ended (its client's reset or its
			// connection's end, which ignore_client_abort let the try
			// outlive): nginx's header filter fails on the stream's
			// error and the request ends, the backend's status logged,
			// nothing in the error log (ngx_http_upstream_send_response).
			return 0, nil, 0
		}
		return 0, err, 0
	}
	if x.cr != nil && x.cr.w.Active() {
		// The body goes to the cache file as it is relayed.
		x.cr.tee = teeStream{Stream: c, w: &x.cr.w}
		c = &x.cr.tee
	}
	c = p.beginStore(c, x)
	// The client stays watched while the body is awaited: nginx's read
	// event handler is check_broken_connection until the request ends.
	// Not a response being cached: nginx reads it whole for the cache
	// (u->cacheable) whatever the client does.
	bodyWatch := (watch != nil || sw != nil) && !(x.cr != nil && x.cr.w.Active())
	// A body that came whole with the head is relayed with no backend
	// read: a client's hang-up has no backend to close meanwhile (nginx
	// finalizes the upstream in the event that read it, before its
	// check_broken_connection can run), so the watch stays stopped.
	rewatch := bodyWatch && !(watch != nil && isProxyHTTP(p.proto) && !f.chunked &&
		(f.noBody || f.length >= 0 && int64(len(buffered)) >= f.length))
	if rewatch {
		if watch != nil {
			watch.rearm(nc)
		} else {
			sw.WatchAbort(nc)
		}
	}
	recvdBefore := x.recvd
	if rewatch {
		x.bodyWatch = watch
	} else if !bodyWatch {
		x.beginStreamReset(c, s) // a response being cached
		x.streamResetBody(len(buffered))
	}
	complete, err := p.proto.relayBody(p, c, nc, x, s, buffered, f)
	x.bodyWatch = nil
	// gone: the watch closed nc (not to be kept, whatever the relay did).
	gone := rewatch && (watch != nil && watch.stop() || sw != nil && sw.StopWatch())
	if gone && err != nil {
		status, err := p.relayGone(c, s, x, watch, sw, len(buffered), recvdBefore)
		return status, err, 0
	}
	if !bodyWatch {
		// A stream not watched (proxy_ignore_client_abort, a response
		// being cached) that the client reset: nginx's line, before the
		// try's own error.
		p.logStreamReset(s, x, c.NetConn(), clientGoneAction(x, len(buffered), x.recvd > recvdBefore))
	}
	if x.spool.on || x.store.Stream != nil {
		err = p.relayEnd(x, s, nc, g, server, reused, ft, f, resp, complete, gone, err)
	}
	if err != nil {
		return 0, err, 0
	}
	// The try ends with its body, before the last bytes go out to the
	// client (ngx_http_upstream_finalize_request): one clock read for
	// $upstream_response_time, the balancer and the pool.
	if !x.rel.ended {
		x.rel.ended = true
		if isProxyHTTP(p.proto) && !headAt.IsZero() && !f.chunked && (f.noBody || f.length >= 0 && int64(len(buffered)) >= f.length) {
			// The body came with the head, in the event nginx's cached
			// clock stamps both by ($upstream_response_time is its
			// header time then): no clock read.
			x.tryEnd = headAt
		} else {
			x.tryEnd = poller.Now()
		}
	}
	x.bodyDone(s)
	x.cacheBodyEnd(true) // no error: the body came whole (or ended with the connection)
	if e, ok := c.(interface{ EndAlone() error }); ok && x.buffering && !x.spool.on {
		// nginx's event pipe passed the body on, and its finalization
		// sends the end alone.
		if err := e.EndAlone(); err != nil {
			return 0, err, 0
		}
	}
	if err := c.Finish(); err != nil {
		return 0, err, 0
	}
	if !x.rel.released {
		x.rel.keep = !gone && g.Keepalive > 0 && p.proto.keepConn(x, f, complete, false)
	}
	return 0, nil, 0
}

// watchedGone reports that the client's watch saw it hang up (and closed
// the backend) while the body was relayed.
func (x *exchange) watchedGone() bool { return x.bodyWatch != nil && x.bodyWatch.gone() }

// clientGoneAction is what nginx's log says the request was doing when
// the client's hang-up ended its body's relay: its event pipe (buffered)
// is "reading upstream" between its runs; its unbuffered relay is
// "sending to client" from passing on what came with the head until the
// backend's next read event, "reading upstream" after it.
func clientGoneAction(x *exchange, preread int, readSince bool) string {
	if !x.buffering && preread > 0 && !readSince {
		return actionToClient
	}
	return actionBody
}

// eventTimer is a client stream that takes the time of the event its
// response answers (http1.Conn's SetEventTime).
type eventTimer interface{ SetEventTime(time.Time) }

// readHead reads the backend's response head into x.rbuf: n bytes read,
// the head's length, or http09 for a response without a status line.
func (p *Proxy) readHead(nc net.Conn, x *exchange) (n, headLen int, http09 bool, status int, err error, ft ftMask) {
	limit := p.headLimit(x)
	x.headFull = false
	for {
		now := x.readFrom
		if x.readFrom = (time.Time{}); now.IsZero() {
			now = poller.Now()
		}
		x.life.setRead(nc, now, p.ReadTimeout)
		m, rerr := x.life.read(nc, x.rbuf[n:limit])
		n += m
		x.recvd += int64(m)
		if m > 0 {
			hl, perr := http1.ParseResponseHead(x.rbuf[:n], &x.head)
			if perr == http1.ErrInvalidStatusLine {
				return n, 0, true, 0, nil, 0
			}
			if perr != nil {
				return n, 0, false, 502, perr, ftInvalidHeader
			}
			if hl > 0 {
				x.headFull = hl == n && n == p.headRoom(x)
				return n, hl, false, 0, nil, 0
			}
			if n == limit {
				var ok bool
				if limit, ok = p.growHead(x, n); !ok {
					return n, 0, false, 502, ErrTooBigHeader, ftInvalidHeader
				}
			}
		}
		if rerr != nil {
			if isTimeout(rerr) {
				return n, 0, false, 504, errTimedOut, ftTimeout
			}
			return n, 0, false, 502, ErrPrematureClose, ftError
		}
	}
}

// sendFailure is a failed send to the backend: a timeout (504) or an
// error (502), either of which proxy_next_upstream may name.
func sendFailure(err error) (int, error, ftMask) {
	if isTimeout(err) {
		return 504, err, ftTimeout
	}
	return 502, err, ftError
}
