package upstream

import (
	"errors"
	"io"
	"net"
	"time"

	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/rewrite/http1"
	"github.com/gonginx/gonginx/upstream/poller"
)

// This file holds the backend's response on its way to the client: the
// head filtered into the client's, the body relayed.

// relayHTTP09 copies a response without a valid status line as it is,
// then closes the client connection (nginx answers it as HTTP/0.9).
func (p *Proxy) relayHTTP09(c http1.Stream, nc net.Conn, x *exchange, first, buf []byte) error {
	client, _ := c.Hijack()
	defer client.Close()
	if _, err := client.Write(first); err != nil {
		return err
	}
	for {
		if p.ReadTimeout > 0 {
			nc.SetReadDeadline(time.Now().Add(p.ReadTimeout))
		}
		n, err := nc.Read(buf)
		x.recvd += int64(n)
		if n > 0 {
			if _, werr := client.Write(buf[:n]); werr != nil {
				return werr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// relayBody streams the backend's body to the client. complete reports
// that the body ended where its framing said (so the backend connection
// may be kept). A buffered response longer than the *_buffers goes
// through x.spool: when the client is slow, to a temporary file. A
// response read whole, or cut by the backend, leaves the spool's feeder
// running: the caller ends it once the backend connection is let go.
func (p *Proxy) relayBody(c http1.Stream, nc net.Conn, x *exchange, s *rewrite.State, buffered []byte, length int64, chunked bool) (complete bool, err error) {
	if !chunked && length > 0 && int64(len(buffered)) >= length {
		complete, err = p.relayWhole(c, x, s, buffered, length)
	} else {
		complete, err = p.relayBodyTo(c, nc, x, s, buffered, length, chunked)
	}
	x.spoolFailed(err)
	return complete, err
}

// relayWhole relays a body that came whole with the head: the one write
// relayBodyTo makes of it, without setting up the pipe's holds and
// buffers for reads that will not come (~250 instructions and ~30 cache
// lines of a small proxied response). (Not in relayBodyTo: default.pgo
// names its call sites by their lines.)
func (p *Proxy) relayWhole(c http1.Stream, x *exchange, s *rewrite.State, buffered []byte, length int64) (bool, error) {
	x.chunk = http1.ChunkedParser{}
	out := p.bodyOut(c, s, x)
	// More than the length: "upstream sent more data than specified in
	// Content-Length", cut, and the connection not kept.
	x.overrun = int64(len(buffered)) > length
	x.beginRate(p, len(buffered))
	return true, out.write(buffered[:length])
}

func (p *Proxy) relayBodyTo(c http1.Stream, nc net.Conn, x *exchange, s *rewrite.State, buffered []byte, length int64, chunked bool) (complete bool, err error) {
	x.chunk = http1.ChunkedParser{}
	remaining := length
	out := p.bodyOut(c, s, x)
	write := out.write
	// The body's data is gathered at the start of buf and written at
	// once: one chunk to an HTTP/1.1 client for what nginx passes in one
	// chain. Each read's data lies at or after where it moves to. Until
	// the first write buf starts where the body read with the head does
	// (the head stays whole for what reads it after the body: proxy_store's
	// Last-Modified); then it is all of x.rbuf.
	buf := x.rbuf
	var hold heldBody
	var holdChunks heldParse
	if off := len(x.rbuf) - cap(buffered); cap(buffered) > 0 && off >= 0 && &x.rbuf[:off+1][off] == &buffered[:1][0] {
		buf = x.rbuf[off:]
		// The head took off bytes of nginx's first buffer, after what a
		// cache keeps room for there.
		hc := p.holdConf(x, cacheHeaderStart(x)+off)
		switch {
		case !x.buffering || p.bufSize <= 0:
		case chunked: // the proxy's chunked filter
			holdChunks.holdFor(hc, 3)
		default: // proxy, SCGI, uwsgi: nginx's copy filter
			hold.holdFor(hc)
		}
	}
	held := 0
	flushDue := false // hold: whole buffers were passed on since the last flush
	// gather takes in b, read into buf; it reports whether the body ended.
	gather := func(b []byte) (bool, error) {
		got := buf[:held]
		done := false
		switch {
		case chunked:
			for len(b) > 0 && !x.chunk.Done {
				// Held, b goes in pieces as it fills nginx's buffers.
				piece := b
				if holdChunks.on {
					piece = b[:holdChunks.fits(len(b))]
				}
				k := len(piece)
				for len(piece) > 0 && !x.chunk.Done {
					data, consumed, err := x.chunk.Decode(piece)
					if err != nil {
						return false, errInvalidChunked // nothing of this read is sent
					}
					got = append(got, data...)
					piece = piece[consumed:]
				}
				k -= len(piece)
				b = b[k:]
				if holdChunks.on {
					holdChunks.filled(k, len(got), x.chunk.Need())
				}
			}
			if x.chunk.Done && len(b) > 0 {
				x.overrun = true // "upstream sent data after final chunk"
			}
			done = x.chunk.Done
		case length >= 0:
			if int64(len(b)) > remaining {
				// "upstream sent more data than specified in
				// Content-Length": cut, and the connection not kept.
				x.overrun = true
				b = b[:remaining]
			}
			remaining -= int64(len(b))
			got = append(got, b...)
			done = remaining == 0
		default:
			got = append(got, b...)
		}
		held = len(got)
		return done, nil
	}
	// send writes what is gathered.
	send := func() error {
		if held == 0 {
			return nil
		}
		err := write(buf[:held])
		held = 0
		return err
	}
	x.overrun = false
	if length == 0 {
		x.overrun = len(buffered) > 0
		return true, nil
	}
	x.beginRate(p, len(buffered))
	// nginx's event pipe (buffered) reads on while the backend has more at
	// hand and its buffers have room, then passes all it read at once; its
	// unbuffered relay passes each read of proxy_buffer_size on. A TLS
	// backend is not peeked at: its socket's bytes need not be data.
	pipe := x.buffering && x.life.fd > 0 && unwrapped(nc)
	readSize := len(x.rbuf)
	if !x.buffering && p.bufSize > 0 && p.bufSize < readSize {
		readSize = p.bufSize
	}
	if len(buffered) > 0 {
		done, err := gather(buffered)
		if err != nil {
			return false, err
		}
		if done {
			return true, send()
		}
	}
	for {
		// A buffer of framing only is parsed too: what the parser needs
		// next changes.
		if (held > 0 || holdChunks.raw() > 0) && (!pipe || held == len(buf) || !inputReady(x.life.fd)) {
			// Our buffer full with more maybe at hand is no stop of
			// nginx's pipe: what is passed now, its buffers are not
			// free until the stop (they were not sent yet).
			atRest := !pipe || held < len(buf)
			if hold.on {
				k := hold.passable(held)
				if k == 0 && held == len(buf) {
					// nginx's buffers hold more than ours: room for it.
					buf = x.growHeld(buf, held)
					readSize = len(x.rbuf)
				}
				if k > 0 {
					if err := write(buf[:k]); err != nil {
						return false, err
					}
					held = copy(buf, buf[k:held])
					hold.passed += int64(k)
					flushDue = true
				}
				if atRest {
					hold.sent()
				}
			} else if holdChunks.on {
				holdChunks.atRest(held, x.chunk.Need())
				k := holdChunks.ready
				if k == 0 && held == len(buf) {
					buf = x.growHeld(buf, held)
					readSize = len(x.rbuf)
				}
				if k > 0 {
					if err := write(buf[:k]); err != nil {
						return false, err
					}
					held = copy(buf, buf[k:held])
					holdChunks.passed(k)
					flushDue = true
				}
				if atRest {
					holdChunks.sent()
				}
			} else if err := send(); err != nil {
				return false, err
			}
		}
		if held == 0 {
			buf = x.rbuf
		}
		holding := hold.on || holdChunks.on
		if holding && !flushDue && !x.spool.on && headPostponed(c) {
			// Nothing new to go out: a short head waits for the body's
			// first buffer, as nginx's write filter holds it
			// (postpone_output) while the event pipe holds the body. (A
			// spool's feeder owns the client once it runs.)
		} else if held == 0 || flushDue || holding {
			flushDue = false
			// Before waiting on the backend, what is made goes out.
			// Unbuffered, the body filters give up what they hold too
			// (gzip's sync flush, sub_filter's unmatched tail), as
			// nginx's unbuffered relay flags its buffers; buffered, they
			// keep it, as nginx's event pipe does.
			var err error
			if x.spool.on {
				// The feeder sends what is queued, and flushes.
			} else if x.buffering {
				err = c.FlushOut()
			} else {
				err = c.Flush()
			}
			if err != nil {
				return false, err
			}
		}
		x.life.setRead(nc, poller.Now(), p.ReadTimeout)
		var n int
		var rerr error
		if x.takeHeadFull() {
			rerr = io.EOF
		} else {
			n, rerr = x.life.read(nc, x.rate.limit(buf[held:max(held, min(readSize, len(buf)))]))
		}
		x.recvd += int64(n)
		if x.rate.rate != 0 {
			x.rate.after(time.Now(), n)
		}
		if n > 0 {
			done, err := gather(buf[held : held+n])
			if err != nil {
				return false, err
			}
			if done {
				return true, send()
			}
		}
		if rerr == io.EOF && !chunked && length < 0 {
			return false, send() // the body ends with the connection
		}
		if rerr != nil {
			if (hold.on || holdChunks.on) && (isTimeout(rerr) || x.watchedGone()) {
				// nginx's timed-out pipe is not run again: a part of a
				// buffer is never passed on; nor after the client hung up.
				held = 0
			}
			if err := send(); err != nil {
				return false, err
			}
			switch {
			case rerr == io.EOF:
				return false, ErrPrematureClose
			case isTimeout(rerr):
				return false, errTimedOut
			}
			return false, &recvError{rerr}
		}
	}
}

// growHeld gives a held body (held bytes at buf's start, buf the end of
// x.rbuf) twice buf's room in a larger x.rbuf, the head before it kept
// where it was. The old buffer is not pooled again: the head's fields
// may still point into it (spareRbuf drops the large one in its turn).
func (x *exchange) growHeld(buf []byte, held int) []byte {
	off := len(x.rbuf) - len(buf)
	b := make([]byte, max(off+2*len(buf), bodyBufSize+1)) // not pooled
	copy(b, x.rbuf[:off+held])
	x.rbuf, x.rbufBox = b, nil
	return b[off:]
}

// buildResponse turns the backend's head into the client's, filtering
// headers as nginx's proxy module and upstream do.
func (p *Proxy) buildResponse(c http1.Stream, s *rewrite.State, x *exchange) (*http1.Response, framing, error) {
	resp, length, chunked, upstreamClose, err := p.headToResponse(c, s, x)
	return resp, framing{length: length, chunked: chunked, upstreamClose: upstreamClose}, err
}

func (p *Proxy) headToResponse(c http1.Stream, s *rewrite.State, x *exchange) (resp *http1.Response, length int64, chunked, upstreamClose bool, err error) {
	h := &x.head
	resp = &x.resp
	// Zeroed in place, then set (Request.reset's comment: a literal
	// assigned whole is built aside and copied in).
	*resp = http1.Response{}
	resp.Status, resp.StatusLine, resp.ContentLength, resp.LastModified = h.Status, h.StatusLine, -1, -1
	resp.ServerTokensOff, resp.RelativeLocation, resp.NoPortInRedirect = p.serverTokensOff, p.relativeRedir, p.noPortInRedir
	resp.NoServer, resp.NoDate = p.passedNoServer, p.passedNoDate
	x.hdrs = x.hdrs[:0]
	x.cookieBuf = x.cookieBuf[:0]
	length = -1
	hasLength := false
	upstreamClose = h.Major == 1 && h.Minor == 0
	for _, hd := range h.Headers {
		name := hd.Name
		kind := headKindOf(name)
		switch kind {
		case hkContentLength:
			v, ok := http1.ParseOffset(hd.Value)
			if !ok && p.proto.cgiHead() {
				// nginx's upstream takes ngx_atoof's -1: no length.
				length, hasLength = -1, false
				continue
			}
			if !ok {
				return nil, 0, false, false, errInvalidLength
			}
			length, hasLength = v, true
			continue
		case hkContentType:
			resp.ContentType = hd.Value
			continue
		case hkTransferEncoding:
			if p.proto.cgiHead() {
				continue // dropped; a CGI body is not chunked
			}
			if !http1.EqualFold(hd.Value, "chunked") {
				return nil, 0, false, false, errUnknownTE
			}
			chunked = true
			continue
		case hkConnection:
			if http1.ContainsFold(hd.Value, "close") {
				upstreamClose = true
			}
			continue
		case hkKeepAlive:
			continue
		case hkLocation:
			if len(p.redirects) > 0 {
				if loc, ok := p.rewriteRedirect(s, x, &x.locBuf, hd.Value, 0); ok {
					// nginx's HTTP/1 header filter writes a Location in its
					// own place (before Connection) only to make a relative
					// one absolute, any other stays among the backend's
					// headers; its HTTP/2 filter writes a rewritten one
					// (r->headers_out.location) in its place always.
					if len(loc) > 0 && loc[0] == '/' && !p.relativeRedir || c.ConnInfo() != nil && c.ConnInfo().HTTP2 != 0 {
						resp.Location = loc
						continue
					}
					hd.Value = loc
				}
			}
		case hkRefresh:
			if len(p.redirects) > 0 {
				if at := refreshURL(hd.Value); at >= 0 {
					if v, ok := p.rewriteRedirect(s, x, &x.refreshBuf, hd.Value, at); ok {
						hd.Value = v
					}
				}
			}
		}
		if kind == hkDate && p.hideDate || kind != hkDate && p.hidden(name) {
			continue
		}
		switch kind {
		case hkSetCookie:
			if p.hasCookieRules() {
				if v, ok := p.rewriteCookie(s, x, hd.Value); ok {
					hd.Value = v
				}
			}
		case hkServer:
			resp.NoServer = true
		case hkDate:
			resp.NoDate = true
		}
		x.hdrs = append(x.hdrs, hd)
	}
	if chunked && hasLength {
		return nil, 0, false, false, errLengthAndChunked
	}
	if chunked {
		length = -1
	}
	if h.Status == 101 {
		length = -1
	}
	// nginx keeps a backend's Content-Length on HEAD, 204 and 304 too.
	resp.ContentLength = length
	if s.ErrStatus != 0 {
		// An error_page's status replaces the backend's (ngx_http_send_header).
		resp.Status, resp.StatusLine = s.ErrStatus, nil
	}
	// The charset filter (location's) decides resp.Charset, as for any
	// response.
	resp.Headers = x.hdrs
	return resp, length, chunked, upstreamClose, nil
}

// hidden reports whether a backend header is dropped (proxy_hide_header
// and nginx's defaults, minus proxy_pass_header).
func (p *Proxy) hidden(name []byte) bool {
	if p.hideLens&lenBit(len(name)) == 0 {
		return false
	}
	for _, h := range p.passUpstream {
		if http1.EqualFold(name, h) {
			return false
		}
	}
	for _, h := range p.hide {
		if http1.EqualFold(name, h) {
			return true
		}
	}
	return false
}

// warnTempFile logs nginx's warning for a response that went to a
// temporary file, once per response.
func (p *Proxy) warnTempFile(s *rewrite.State, x *exchange, name string) {
	if s != nil && s.TryLog != nil {
		s.TryLog.LogTryError(&levelError{level: "warn", error: &tryError{msg: "an upstream response is buffered to a temporary file " + name,
			action: actionBody, upstream: x.UpstreamLogName()}})
	}
}

// tempErr names the upstream in a temporary file's failure.
func (p *Proxy) tempErr(x *exchange, err error) error {
	if err == nil {
		return nil
	}
	var le *levelError
	if errors.As(err, &le) {
		if te, ok := le.error.(*tryError); ok && te.upstream == "" {
			te.upstream = x.UpstreamLogName()
		}
	}
	return err
}

func isLevelError(err error) bool {
	var le *levelError
	return errors.As(err, &le)
}

// headKind names the backend headers headToResponse treats apart.
type headKind uint8

const (
	hkOther headKind = iota
	hkContentLength
	hkContentType
	hkTransferEncoding
	hkConnection
	hkKeepAlive
	hkLocation
	hkRefresh
	hkSetCookie
	hkServer
	hkDate
)

// headKindOf classifies a header name by its length first, so that a
// name is compared with the one or two it could be, as nginx's hash of
// upstream header handlers finds its handler, not with each in turn.
// The usual spelling is tried first (backends send these names so: a
// compare with a constant is a load or two inlined), then the first
// letter, before the case-blind compare, three calls (~40-110
// instructions a name).
func headKindOf(name []byte) headKind {
	switch len(name) {
	case 4:
		if string(name) == "Date" || name[0]|0x20 == 'd' && http1.EqualFold(name, "date") {
			return hkDate
		}
	case 6:
		if string(name) == "Server" || name[0]|0x20 == 's' && http1.EqualFold(name, "server") {
			return hkServer
		}
	case 7:
		if string(name) == "Refresh" || name[0]|0x20 == 'r' && http1.EqualFold(name, "refresh") {
			return hkRefresh
		}
	case 8:
		if string(name) == "Location" || name[0]|0x20 == 'l' && http1.EqualFold(name, "location") {
			return hkLocation
		}
	case 10:
		if string(name) == "Connection" {
			return hkConnection
		}
		if string(name) == "Set-Cookie" {
			return hkSetCookie
		}
		if string(name) == "Keep-Alive" {
			return hkKeepAlive
		}
		switch name[0] | 0x20 {
		case 'c':
			if http1.EqualFold(name, "connection") {
				return hkConnection
			}
		case 'k':
			if http1.EqualFold(name, "keep-alive") {
				return hkKeepAlive
			}
		case 's':
			if http1.EqualFold(name, "set-cookie") {
				return hkSetCookie
			}
		}
	case 12:
		if string(name) == "Content-Type" || name[0]|0x20 == 'c' && http1.EqualFold(name, "content-type") {
			return hkContentType
		}
	case 14:
		if string(name) == "Content-Length" || name[0]|0x20 == 'c' && http1.EqualFold(name, "content-length") {
			return hkContentLength
		}
	case 17:
		if string(name) == "Transfer-Encoding" || name[0]|0x20 == 't' && http1.EqualFold(name, "transfer-encoding") {
			return hkTransferEncoding
		}
	}
	return hkOther
}
