package upstream

import (
	"bytes"
	"errors"
	"io"
	"net"
	"time"

	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/rewrite/http1"
)

// This file is FastCGI on the wire: the request's records sent, the
// response's records read into a CGI head and a body.

var (
	errFCGIUnexpectedEnd = errors.New("upstream sent unexpected FastCGI record: 3")
	errFCGIPrematureReq  = errors.New("upstream prematurely closed FastCGI request")
)

// fcgiBodyLater reports whether the client body goes out after the
// request head (streamed, or from a temporary file) rather than framed
// into x.req.
func fcgiBodyLater(x *exchange, bodyLen int64) bool {
	return bodyLen > 0 && (x.bodyFile != nil || !x.bodyBuffered) || x.streamChunked || x.bodyOpen
}

// fcgiRequest builds x.req: the params, then the body when it is in
// memory, and the empty FCGI_STDIN that ends it unless the body follows.
func (f *fastcgi) fcgiRequest(p *Proxy, r *http1.Request, s *rewrite.State, x *exchange, bodyLen int64) error {
	var err error
	x.req, err = f.appendParams(x.req[:0], r, s, x, p.passHeaders)
	if err != nil {
		return err
	}
	if bodyLen > 0 && x.bodyBuffered && x.bodyFile == nil {
		x.req = appendStdin(x.req, x.sendBody)
	}
	if len(x.pending) > 0 {
		x.req = appendStdin(x.req, x.pending)
	}
	if !fcgiBodyLater(x, bodyLen) {
		x.req = appendRecordHeader(x.req, fcgiStdin, 0)
	}
	return nil
}

// sendFastCGI sends x.req, then a body that was not framed into it (a
// temporary file, or the client's as it arrives) as FCGI_STDIN records
// and the empty one that ends it.
func (p *Proxy) sendFastCGI(c http1.Stream, nc net.Conn, x *exchange, bodyLen int64) (int, error, ftMask) {
	later := fcgiBodyLater(x, bodyLen)
	if later && x.bodyFile == nil && !x.streamChunked {
		// What of an unbuffered body came with the head goes out with
		// the params, as nginx sends its preread buffer.
		k, err := readAtHand(c, x.rbuf[:fcgiBodyRecord])
		if err != nil {
			return bodyStatus(err), err, 0
		}
		x.req = appendStdin(x.req, x.rbuf[:k])
		if c.BodyDone() {
			x.req = appendRecordHeader(x.req, fcgiStdin, 0)
			later = false
		}
	}
	if !later && x.deferSend(x.req) {
		return 0, nil, 0
	}
	n, err := x.life.write(nc, x.req)
	x.sent += int64(n)
	if err != nil {
		return sendFailure(err)
	}
	if !later {
		return 0, nil, 0
	}
	var src io.Reader = c.Body()
	if x.bodyFile != nil {
		if _, err := x.bodyFile.Seek(0, io.SeekStart); err != nil {
			return 500, err, 0
		}
		src = x.bodyFile
	}
	buf := x.rbuf[:fcgiBodyRecord]
	for {
		k, rerr := src.Read(buf)
		if rerr == nil && x.bodyFile == nil {
			// What else is at hand goes in the same record, as nginx
			// sends the buffers it has read.
			m, err := readAtHand(c, buf[k:])
			k += m
			if err != nil {
				rerr = err
			} else if c.BodyDone() {
				rerr = io.EOF
			}
		}
		if rerr != nil && rerr != io.EOF {
			var he *http1.Error
			if errors.As(rerr, &he) {
				return he.Status, rerr, 0
			}
			if x.bodyFile != nil {
				return 500, rerr, 0
			}
			return bodyStatus(rerr), rerr, 0
		}
		if k > 0 || rerr == io.EOF {
			if err := p.writeRecord(nc, x, buf[:k], rerr == io.EOF); err != nil {
				return sendFailure(err)
			}
		}
		if rerr == io.EOF {
			return 0, nil, 0
		}
	}
}

// writeRecord sends data as one FCGI_STDIN record (none when empty),
// followed by the empty one that ends the body when last, under
// fastcgi_send_timeout.
func (p *Proxy) writeRecord(nc net.Conn, x *exchange, data []byte, last bool) error {
	x.life.setWrite(nc, time.Now(), p.SendTimeout)
	var head []byte
	tail := x.ftail[:0]
	if len(data) > 0 {
		head = appendRecordHeader(x.fhdr[:0], fcgiStdin, len(data))
		tail = append(tail, fcgiZeros[:fcgiPadding(len(data))]...)
	}
	if last {
		tail = appendRecordHeader(tail, fcgiStdin, 0)
	}
	x.fvec = [3][]byte{head, data, tail}
	n, err := writeBuffers(nc, x.fvec[:])
	x.sent += n
	return err
}

// readHeadFastCGI reads records until FCGI_STDOUT has given a whole CGI
// head, as ngx_http_fastcgi_process_header: FCGI_STDERR is logged,
// "Status" gives the status ("Location" alone 302, else 200). It returns
// the bytes read into x.rbuf and where the undecoded rest starts; the
// body bytes the head's records carried are x.fpending.
func (f *fastcgi) readHeadFastCGI(p *Proxy, nc net.Conn, x *exchange, s *rewrite.State) (n, pos int, status int, err error, ft ftMask) {
	x.fdec.reset()
	x.fhead, x.fpending, x.fended = x.fhead[:0], nil, false
	x.head = http1.ResponseHead{Major: 1, Minor: 1, Headers: x.head.Headers[:0]}
	// nginx parses the head's records in place in its buffer: what fills
	// it is the raw bytes read (records' headers and padding, stderr),
	// not the head's decoded bytes.
	room, raw, stdout := p.headRoom(x), 0, false
	x.headFull = false
	for {
		for pos < n {
			piece, data, used, derr := x.fdec.next(x.rbuf[pos:n])
			pos += used
			if derr != nil {
				return n, pos, 502, derr, ftInvalidHeader
			}
			switch piece {
			case pieceNone:
				continue
			case pieceEnd:
				return n, pos, 502, errFCGIUnexpectedEnd, ftInvalidHeader
			case pieceStdoutEnd:
				return n, pos, 502, errFCGIPrematureStdout, ftInvalidHeader
			case pieceStderr:
				if !stdout && pos == n {
					// A large stderr before any stdout: nginx reads on
					// from its buffer's start.
					raw = 0
				}
				p.logStderr(s, x, data, actionHeader)
				for _, pat := range f.catchStderr {
					if bytes.Contains(trimStderr(data), []byte(pat)) {
						// nginx logs only the stderr line.
						return n, pos, 502, nil, ftInvalidHeader
					}
				}
				continue
			}
			stdout = true
			x.fhead = append(x.fhead, data...)
			hl, perr := http1.ParseHeaderLines(x.fhead, &x.head)
			if perr != nil {
				return n, pos, 502, perr, ftInvalidHeader
			}
			if hl > 0 {
				x.fpending = x.fhead[hl:]
				x.headFull = raw == room && pos == n && len(x.fpending) == 0
				if err := fcgiStatus(&x.head); err != nil {
					return n, pos, 502, err, ftInvalidHeader
				}
				return n, pos, 0, nil, 0
			}
		}
		if raw >= room {
			return n, pos, 502, ErrTooBigHeader, ftInvalidHeader
		}
		// All of rbuf was decoded: read on from its start.
		n, pos = 0, 0
		now := x.readFrom
		if x.readFrom = (time.Time{}); now.IsZero() {
			now = time.Now()
		}
		x.life.setRead(nc, now, p.ReadTimeout)
		m, rerr := x.life.read(nc, x.rbuf[:min(room-raw, len(x.rbuf))])
		n += m
		raw += m
		x.recvd += int64(m)
		if m == 0 && rerr != nil {
			if isTimeout(rerr) {
				return n, pos, 504, errTimedOut, ftTimeout
			}
			return n, pos, 502, ErrPrematureClose, ftError
		}
	}
}

// fcgiStatus sets the head's status from its "Status" line, as nginx:
// its first three bytes are the code and the whole value the status line.
func fcgiStatus(h *http1.ResponseHead) error {
	var status, location []byte
	hasStatus, hasLocation := false, false
	for i := range h.Headers {
		hd := &h.Headers[i]
		// The length first: most names are neither, and a call each
		// for two comparisons cost ~50 instructions per header.
		switch len(hd.Name) {
		case len("status"):
			if http1.EqualFold(hd.Name, "status") {
				status, hasStatus = hd.Value, true
			}
		case len("location"):
			if http1.EqualFold(hd.Name, "location") {
				location, hasLocation = hd.Value, true
			}
		}
	}
	_ = location
	switch {
	case hasStatus:
		code, ok := atoi(status[:min(3, len(status))])
		if !ok || len(status) < 3 {
			return errors.New(`upstream sent invalid status "` + string(status) + `"`)
		}
		h.Status, h.StatusLine = int(code), status
	case hasLocation:
		h.Status, h.StatusLine = 302, statusLine302
	default:
		h.Status, h.StatusLine = 200, statusLine200
	}
	return nil
}

var (
	statusLine302 = []byte("302 Moved Temporarily")
	statusLine200 = []byte("200 OK")
)

// logStderr logs what a FastCGI backend wrote to its stderr, as nginx:
// one line per piece read, without trailing newlines, dots and spaces.
func (p *Proxy) logStderr(s *rewrite.State, x *exchange, msg []byte, action string) {
	if s == nil || s.TryLog == nil {
		return
	}
	s.TryLog.LogTryError(&tryError{msg: `FastCGI sent in stderr: "` + string(trimStderr(msg)) + `"`,
		action: action, upstream: logName("fastcgi", x, x.tryAddr)})
}

// relayFastCGI passes FCGI_STDOUT on to the client until the response
// ends, as nginx's input filters: buffered without fastcgi_keep_conn,
// nginx's event pipe only looks at what it read when its buffers fill or
// the backend closes, so the response ends with the connection (what
// follows the empty FCGI_STDOUT or FCGI_END_REQUEST is dropped);
// otherwise it ends at FCGI_END_REQUEST (a connection that ends before
// is a failure with fastcgi_keep_conn). Bytes past a Content-Length are
// dropped. raw is what was read but not decoded yet.
func (f *fastcgi) relayFastCGI(p *Proxy, c http1.Stream, nc net.Conn, x *exchange, s *rewrite.State, raw []byte, rest int64) (bool, error) {
	x.overrun = false
	o := fcgiOut{w: p.bodyOut(c, s, x), x: x, rest: rest}
	x.fout = x.fout[:0]
	x.beginRate(p, len(raw))
	var complete bool
	var err error
	if f.keepAlive && (rest < 0 || int64(len(x.fpending)) >= rest) && x.fdec.endsWith(raw) {
		// The whole response came with its head (php-fpm's answer of
		// a few KiB does): the body read, then FCGI_END_REQUEST and
		// nothing after it, what relayRecords' loop would decode to,
		// its holds and reads not needed.
		o.deliver(x.fpending)
		x.fended, complete = true, true
	} else {
		// The last flush follows the relay's return, not in a defer:
		// the relay's many returns would make it a runtime call per
		// request.
		complete, err = f.relayRecords(p, c, nc, x, s, raw, &o)
	}
	switch {
	case err == nil:
		err = o.flush()
	case upstreamSideFCGI(err):
		// nginx's pipe passes on what it read before the backend
		// failed (p->upstream_error), then ends the response without
		// its last buffer: the client gets the bytes and a close.
		o.flush()
	}
	return complete, err
}

// fcgiOut is where relayFastCGI's FCGI_STDOUT goes: x.fout, then the
// body's writer.
type fcgiOut struct {
	w      bodyWriter
	x      *exchange
	rest   int64 // what the Content-Length leaves (-1: none)
	closed bool  // the response ended: what follows is dropped
}

// deliver adds b to what goes out next: the pieces of one read go out
// as one write (one chunk), as nginx's pipe passes on the buffers it
// filled. Bytes past the Content-Length are dropped.
func (o *fcgiOut) deliver(b []byte) {
	if o.closed || len(b) == 0 {
		return
	}
	if o.rest >= 0 {
		if int64(len(b)) > o.rest {
			o.x.overrun = true
			b = b[:o.rest]
		}
		o.rest -= int64(len(b))
	}
	o.x.fout = append(o.x.fout, b...)
}

// flush writes what was delivered.
func (o *fcgiOut) flush() error {
	x := o.x
	if len(x.fout) == 0 {
		return nil
	}
	err := o.w.write(x.fout)
	x.fout = x.fout[:0]
	return err
}

// relayRecords is relayFastCGI's loop: it decodes and passes on the
// records until the response ends, o.flush left to its caller.
func (f *fastcgi) relayRecords(p *Proxy, c http1.Stream, nc net.Conn, x *exchange, s *rewrite.State, raw []byte, o *fcgiOut) (complete bool, err error) {
	o.deliver(x.fpending)
	keepConn := f.keepAlive
	untilEOF := x.buffering && !keepConn
	// Buffered without fastcgi_keep_conn, nginx's pipe decodes (and logs
	// stderr of) a buffer only once it is full, or at the backend's
	// close (heldBody): held counts the raw bytes since the body's start
	// not passed on, x.fpending's (decoded, in x.fout) included; the
	// undecoded rest waits in x.rbuf.
	var hold heldBody
	held := 0
	if untilEOF && p.bufSize > 0 {
		hold.holdFor(p.holdConf(x, x.headLen))
		held = len(x.fout)
	}
	// Buffered with fastcgi_keep_conn, nginx's pipe parses a buffer when
	// it is full or holds what the record parser needs (heldParse):
	// all is decoded at once here, and x.fout keeps what may not go yet.
	var keepHold heldParse
	keepLater := false
	if x.buffering && keepConn && p.bufSize > 0 {
		if x.headLen+len(x.fpending)+len(raw) < p.bufSize {
			// What was read stays short of the head's buffer's end:
			// the buffer is not full when it is decoded, so nothing
			// is held before the first read, and a response that ends
			// in it (most) needs no model of nginx's buffers at all.
			keepLater = true
		} else {
			keepHold.holdFor(p.holdConf(x, x.headLen), 8)
			keepHold.filled(len(x.fpending), len(x.fout), x.fdec.need())
		}
	}
	var ending bool // the backend closed or failed: all is decoded, then endErr
	var endErr error
	for {
		lim := len(raw)
		passed, keepOut := false, false // keepOut: x.fout holds bytes not to pass yet
		if hold.on {
			k := hold.passable(held + len(raw))
			switch {
			case k == 0 && len(raw) == len(x.rbuf):
				// nginx's buffers hold more than ours: room for it,
				// the undecoded bytes (carry, in the old buffer, not
				// pooled again) moved to its start below.
				x.rbuf, x.rbufBox = make([]byte, max(2*len(x.rbuf), bodyBufSize+1)), nil
			case k > 0 && len(raw) < len(x.rbuf) && fcgiPipe(nc, x) && inputReady(x.life.fd):
				k = 0 // nginx's pipe reads what is at hand before it passes on
			}
			switch {
			case k == 0:
				lim, keepOut = 0, true
			case k < held:
				// Only a part of x.fpending's bytes (1:1 with its raw).
				if err := o.w.write(x.fout[:k]); err != nil {
					return false, err
				}
				x.fout = x.fout[:copy(x.fout, x.fout[k:])]
				held -= k
				hold.pass(k)
				lim, passed, keepOut = 0, true, true
			default:
				lim = k - held
				hold.pass(k)
				held, passed = 0, true
			}
		}
		dec, carry := raw[:lim], raw[lim:]
		held += len(carry)
		filled := 0 // keepHold: raw bytes decoded but not yet counted
		for len(dec) > 0 {
			if filled > 0 {
				keepHold.filled(filled, len(x.fout), x.fdec.need())
			}
			in := dec
			if keepHold.on {
				in = dec[:keepHold.fits(len(dec))]
			}
			piece, data, used, derr := x.fdec.next(in)
			dec, filled = dec[used:], used
			if derr != nil {
				if o.closed {
					return true, nil // nginx ignores data after close
				}
				return false, derr
			}
			switch piece {
			case pieceStdout:
				o.deliver(data)
			case pieceStderr:
				// nginx's unbuffered relay runs under the header's action.
				action := actionBody
				if !x.buffering {
					action = actionHeader
				}
				p.logStderr(s, x, data, action)
			case pieceStdoutEnd:
				if o.closed {
					continue
				}
				if o.rest > 0 && x.buffering {
					return false, errFCGIPrematureStdout
				}
				o.closed = untilEOF
			case pieceEnd:
				if o.closed {
					continue
				}
				if o.rest > 0 {
					if !x.buffering {
						// nginx's unbuffered filter logs it under the
						// head's action (ngx_http_fastcgi_non_buffered_filter).
						x.action = actionHeader
					}
					return false, errFCGIPrematureReq
				}
				if untilEOF {
					o.closed = true
					continue
				}
				if !keepConn {
					return true, nil
				}
				// The connection is kept only when the record's padding
				// and nothing else follows.
				pad := x.fdec.paddingLeft()
				if len(dec) > pad {
					return true, nil
				}
				pad -= len(dec)
				for pad > 0 {
					m, rerr := p.readFCGI(nc, x)
					if m > pad || rerr != nil && m == 0 {
						return true, nil
					}
					pad -= m
				}
				x.fended = true
				return true, nil
			}
		}
		if keepLater {
			// The response goes on past what was read first: its
			// bytes, all in the head's buffer, are counted at once, as
			// they would have been one by one (no buffer filled).
			keepLater = false
			keepHold.holdFor(p.holdConf(x, x.headLen), 8)
			keepHold.filled(len(x.fpending)+len(raw), len(x.fout), x.fdec.need())
		} else if filled > 0 {
			keepHold.filled(filled, len(x.fout), x.fdec.need())
		}
		if ending {
			return endErr == nil, endErr
		}
		if keepHold.on && (len(x.fout) > 0 || keepHold.raw() > 0) {
			// A buffer of a record's header or padding only is parsed
			// too: what the parser needs next changes.
			k := 0
			if len(raw) == len(x.rbuf) || !fcgiPipe(nc, x) || !inputReady(x.life.fd) {
				keepHold.atRest(len(x.fout), x.fdec.need())
				k = keepHold.ready
				if k == 0 && len(raw) == len(x.rbuf) {
					k = len(x.fout) // buffers larger than ours
				}
			} // else nginx's pipe reads what is at hand before it passes on
			keepHold.passed(k)
			keepHold.sent()
			passed, keepOut = k > 0, k < len(x.fout) // all of x.fout: flushOut below
			if passed && keepOut {
				if err := o.w.write(x.fout[:k]); err != nil {
					return false, err
				}
				x.fout = x.fout[:copy(x.fout, x.fout[k:])]
			}
		}
		if keepOut {
			// What was decoded waits with the part of a buffer.
		} else if err := o.flush(); err != nil {
			return false, err
		}
		var ferr error
		switch {
		case (hold.on || keepHold.on) && !passed && !x.spool.on && headPostponed(c):
			// Nothing new went out: a short head waits (postpone_output).
		case x.buffering:
			ferr = o.w.flushOut() // the spool's feeder flushes its own
		default:
			ferr = c.Flush()
		}
		if ferr != nil {
			return false, ferr
		}
		off := copy(x.rbuf, carry)
		m, rerr := p.readFCGIAt(nc, x, off)
		raw = x.rbuf[:off+m]
		held -= off // counted again with raw
		if m == 0 && rerr != nil {
			if hold.on && !isTimeout(rerr) && !x.watchedGone() {
				// nginx's pipe passes on what it holds at the close
				// or error of its backend.
				hold.on, ending = false, true
				if rerr != io.EOF {
					endErr = fcgiReadError(rerr)
				}
				continue
			}
			if hold.on || keepHold.on && (isTimeout(rerr) || x.watchedGone()) {
				x.fout = x.fout[:0] // a timed-out pipe is not run again; a gone client gets nothing
			}
			if rerr == io.EOF && !keepConn {
				return true, nil
			}
			return false, fcgiReadError(rerr)
		}
	}
}

// fcgiPipe reports whether the relay's backend is a socket to look at
// for bytes at hand (asked only where the relay waits: a response read
// at once never does).
func fcgiPipe(nc net.Conn, x *exchange) bool { return x.life.fd > 0 && unwrapped(nc) }

// fcgiReadError is the relay's error for a read of the backend's
// records that failed.
func fcgiReadError(rerr error) error {
	switch {
	case rerr == io.EOF:
		return ErrPrematureClose
	case isTimeout(rerr):
		return errTimedOut
	}
	return &recvError{rerr}
}

// upstreamSideFCGI reports a relay error of the backend's side (a
// record stream that ended short, a close, a timeout, a failed read):
// not a failed write to the client, not an undecodable record (nginx's
// pipe aborts on those without passing on what it read).
func upstreamSideFCGI(err error) bool {
	var re *recvError
	return errors.Is(err, errFCGIPrematureStdout) || errors.Is(err, errFCGIPrematureReq) ||
		errors.Is(err, ErrPrematureClose) || errors.Is(err, errTimedOut) || errors.As(err, &re)
}

// readFCGI reads the next bytes of the response into x.rbuf under
// fastcgi_read_timeout.
func (p *Proxy) readFCGI(nc net.Conn, x *exchange) (int, error) { return p.readFCGIAt(nc, x, 0) }

// readFCGIAt is readFCGI into x.rbuf[off:].
func (p *Proxy) readFCGIAt(nc net.Conn, x *exchange, off int) (int, error) {
	if x.takeHeadFull() {
		return 0, io.EOF
	}
	x.life.setRead(nc, time.Now(), p.ReadTimeout)
	m, err := x.life.read(nc, x.rate.limit(x.rbuf[off:]))
	x.recvd += int64(m)
	if x.rate.rate != 0 {
		x.rate.after(time.Now(), m)
	}
	return m, err
}
