package http1

import (
	"net"
	"time"
)

// Wire is a framed protocol carrying one request and its response on a
// Conn: an HTTP/2 stream (package rewrite/http2). The Conn keeps
// everything that does not depend on the protocol (the request's
// parsing, the header filter, the body filters, $sent_http_*,
// limit_rate, send_timeout); the Wire takes the finished head, and body
// bytes go to the Conn's net.Conn, the stream's DATA side.
type Wire interface {
	// WriteHead sends the head: lines are the header lines WriteHeader
	// wrote ("Name: value\r\n" each, after the status line, through the
	// empty line) without HTTP/1's connection framing, the first own
	// bytes nginx's header filter's own fields (Server, Date,
	// Content-Type, Content-Length, Last-Modified, Location, Vary), the
	// rest Response.Headers; end: the response has no body. It returns
	// the bytes it put on the wire.
	WriteHead(status int, lines []byte, own int, end bool) (int, error)
	// FlushHead sends a head WriteHead holds: it goes with the body's
	// first bytes, or at the latest when the Conn is flushed (FlushOut,
	// before a proxy waits on its backend), as HTTP/1's head waits in
	// the write buffer.
	FlushHead() error
	// End ends the response: last is the body's last bytes (the frame
	// that carries the end), trailers "Name: value\r\n" lines or nil.
	// It returns the bytes it put on the wire.
	End(last, trailers []byte) (int, error)
	// ReadAtHand copies body bytes already received, without waiting:
	// 0 when none are; io.EOF once the body ended.
	ReadAtHand(p []byte) (int, error)
}

// Waits tells the Conn's wire that the handler waits now on something
// other than the request's body (limit_req's delay, auth_delay, an
// auth_request subrequest), where nginx's handler returns to its event
// loop: a framed stream's body past its window is then refused at once,
// as nginx's window is not open. Nothing for an HTTP/1 connection.
func (c *Conn) Waits() {
	if w, ok := c.wire.(interface{ HandlerWaits() }); ok {
		w.HandlerWaits()
	}
}

// RelaysBody tells the Conn's wire that the handler passes the body on
// as it comes, through a buffer of size bytes (proxy_request_buffering
// off: nginx's request_body_no_buffering with client_body_buffer_size),
// before it reads any: a framed stream's window then follows what was
// passed on, where a body read whole has it wide open. Nothing for an
// HTTP/1 connection.
func (c *Conn) RelaysBody(size int64) {
	if w, ok := c.wire.(interface{ RelaysBody(int64) }); ok {
		w.RelaysBody(size)
	}
}

// NewFramedConn wraps one stream of a framed protocol: nc reads the
// request body (io.EOF at its end) and writes body bytes; w takes the
// head and the end. The request comes from StartFramed.
func NewFramedConn(nc net.Conn, info *ConnInfo, w Wire) *Conn {
	c := NewConn(nc, info)
	c.wire = w
	return c
}

// ResetFramedConn readies a Released framed Conn for another stream,
// keeping the memory its request and sent head grew.
func (c *Conn) ResetFramedConn(nc net.Conn, info *ConnInfo, w Wire) {
	headers, scratch := c.req.Headers[:0], c.req.scratch[:0]
	own, buf := c.sentHead.own[:0], c.sentHead.buf[:0]
	clear(own[:cap(own)])
	sr, sw, ss := c.spareRead, c.spareWrite, c.spareSock
	// Cleared in place, then set: a literal with fields was built beside
	// and copied over (~400 instructions a stream for 1.5 KB).
	*c = Conn{}
	c.nc, c.Info, c.Limits, c.wire, c.spareRead, c.spareWrite = nc, info, DefaultLimits, w, sr, sw
	c.spareSock = ss
	c.body.c = c
	c.req.Headers, c.req.scratch = headers, scratch
	c.sentHead.own, c.sentHead.buf = own, buf
}

// Framed reports whether the Conn is a framed protocol's stream.
func (c *Conn) Framed() bool { return c.wire != nil }

var proto20 = []byte("HTTP/2.0")

// StartFramed parses head, a request head in HTTP/1 form that the framed
// protocol built from its fields ("METHOD URI HTTP/1.1", header lines,
// the empty line), as the request of this Conn: the same validation and
// meaning as an HTTP/1 head (Host, Content-Length, the URI), under the
// Conn's Limits for what the framed protocol does not bound itself.
// body: the request has a body whose length the head may not say (it
// ends with the stream); length unknown then makes it a chunked-like
// request (nginx's r->headers_in.chunked for HTTP/2), read to io.EOF.
func (c *Conn) StartFramed(head []byte, body bool) (*Request, *Error) {
	return c.startFramed(head, nil, body)
}

// startFramed is StartFramed; with split, StartFramedHead (head is
// split.Text).
func (c *Conn) startFramed(head []byte, split *FramedHead, body bool) (*Request, *Error) {
	if c.rb == nil || len(*c.rb) < len(head) {
		if c.rb != nil && !c.large {
			smallReadPool.Put(c.rb)
		}
		if len(head) <= smallReadSize {
			c.rb, c.large = c.spareRead, false
			c.spareRead = nil
			if c.rb == nil {
				c.rb = smallReadPool.Get().(*[]byte)
			}
		} else {
			b := make([]byte, len(head))
			c.rb, c.large = &b, true
		}
	}
	n := copy(*c.rb, head)
	c.rpos, c.rend, c.headEnd = n, n, 0
	c.ResetFramed()
	lim := c.Limits.withDefaults()
	// The framed protocol bounds fields itself (HTTP/2's header list):
	// the head's buffers always fit.
	lim.ClientHeaderBufferSize, lim.LargeHeaderBufferSize = n+1, n+1
	lim.ForHost, lim.MaxHeadAll = nil, 0
	var m int
	var perr *Error
	if split != nil {
		m, perr = parseFramedHead((*c.rb)[:n], split, &c.req, &lim)
	} else {
		m, perr = parseHead((*c.rb)[:n], &c.req, &lim)
	}
	r := &c.req
	r.Proto, r.ProtoMajor, r.ProtoMinor = proto20, 2, 0
	if perr == nil && m != n {
		perr = errInvalidRequest
	}
	if perr != nil {
		switch perr {
		case errNoHost, errBadLength, errTE10, errUnknownTE, errTEAndLength, errConnect, errTrace:
			// ngx_http_process_request_header's, after nginx built the
			// request line.
		default:
			// Rejected while the fields were taken: nginx has no
			// request line yet ($request is empty).
			r.Method = nil
		}
		return nil, perr
	}
	c.headEnd = m
	r.KeepAlive, r.Upgrade = false, false
	if body && r.ContentLength < 0 && !r.Chunked {
		r.Chunked = true
	}
	// A stream ended with its head keeps the chunked of a
	// "transfer-encoding: chunked" field: nginx reads the body, none, and
	// tells a backend "Content-Length: 0" ($content_length 0).
	c.body.start(r)
	if body && r.ContentLength == 0 {
		c.body.done = false // the stream's end is still to come
	}
	if !body {
		c.body.done = true
	}
	c.body.eof = body && r.Chunked
	c.body.chunked = false
	if c.body.eof {
		c.body.remaining = 1<<63 - 1
	}
	c.headAt = time.Now()
	c.limit.start = c.headAt.Unix()
	return r, nil
}

// ResetFramed starts the Conn's request afresh as an HTTP/2.0 one with
// nothing parsed: a stream answered before its head could be parsed.
func (c *Conn) ResetFramed() {
	c.req.reset(c.Info)
	c.req.Proto, c.req.ProtoMajor, c.req.ProtoMinor = proto20, 2, 0
	c.out = respState{}
	c.sentHead.reset()
	c.limit = rateLimit{}
	c.body.start(&c.req)
}

// SetRequestLength sets the head's share of $request_length (HTTP/2
// counts its HEADERS payload, not the HTTP/1 form).
func (c *Conn) SetRequestLength(n int) { c.reqLen = n }

// writeFramedHead hands the head WriteHeader wrote at b[start:] to the
// wire, as the header lines after its status line (those before b[own:]
// nginx's own fields). A response of length 0 ends with its head, as
// nginx's HEADERS frame with END_STREAM.
func (c *Conn) writeFramedHead(status int, b []byte, start, own int, contentLength int64) error {
	st := &c.out
	if contentLength == 0 && !st.trailers {
		st.headerOnly = true
	}
	head := b[start:]
	for i := 0; i+1 < len(head); i++ {
		if head[i] == '\r' && head[i+1] == '\n' {
			head = head[i+2:]
			break
		}
	}
	*c.wb = b[:start]
	if c.werr != nil {
		return c.werr
	}
	n, err := c.wire.WriteHead(status, head, own-(len(b)-len(head)), st.headerOnly)
	if st.end > 0 {
		st.end += int64(n) - st.headerSize // the frames', not HTTP/1's
	}
	st.headerSize = int64(n)
	st.sent += int64(n)
	if err != nil {
		st.aborted, c.werr = true, err
		return err
	}
	return nil
}

// EndWithLength makes the write that completes the response's
// Content-Length end it: a framed stream sends its end with that DATA,
// as nginx's static file buffer carries last_buf (no empty DATA frame
// after it). Nothing for HTTP/1, nor for a response with trailers or
// without a length.
func (c *Conn) EndWithLength() {
	c.out.endWithLength = c.wire != nil && c.out.end > 0 && !c.out.trailers && !c.out.headerOnly && c.sink == nil
}

// EndAlone sends what a framed stream's write buffer holds when it is
// postpone_output or more, so that the end follows in a DATA frame of its
// own: nginx's event pipe passes the body it read to its write filter,
// which sends that much at once, and the upstream's finalization sends
// last_buf alone. Less waits and goes with the end, as the write filter
// holds it. Nothing for HTTP/1.
func (c *Conn) EndAlone() error {
	if c.wire == nil || c.wb == nil || len(*c.wb) < int(c.postpone)+postponeOutput {
		return nil
	}
	return c.FlushOut()
}

// endFramedWith is writeRaw's last write under EndWithLength: p and the
// stream's end.
func (c *Conn) endFramedWith(p []byte) error {
	c.out.ended = true
	n, err := c.wire.End(p, nil)
	c.out.sent += int64(n)
	if err != nil {
		c.out.aborted, c.werr = true, err
	}
	return err
}

// finishFramed is Finish's end on a framed stream: what is buffered goes
// out with the stream's end, then the trailers the filter has.
func (c *Conn) finishFramed() error {
	if c.out.headerOnly || !c.out.wroteHeader || c.out.aborted || c.out.ended || c.werr != nil {
		return c.werr
	}
	c.out.ended = true
	var last, trailers []byte
	if c.wb != nil {
		last = *c.wb
	}
	if tf, ok := c.Filter.(TrailerFilter); ok && c.out.trailers {
		// Made after the body's last bytes in the write buffer, not in
		// a new slice per response: End takes both before it returns.
		b := tf.AppendTrailers(last)
		last, trailers = b[:len(last)], b[len(last):]
		if c.wb != nil {
			*c.wb = last
		}
	}
	n, err := c.wire.End(last, trailers)
	c.out.sent += int64(n)
	if c.wb != nil {
		*c.wb = (*c.wb)[:0]
	}
	if err != nil {
		c.out.aborted, c.werr = true, err
	}
	return err
}

// Ended reports whether the framed stream's response ended (Finish sent
// its end, or the head said there is no body).
func (c *Conn) Ended() bool {
	return c.out.ended || c.out.wroteHeader && c.out.headerOnly && !c.out.aborted
}

// SetChunkSize is Stream's: a framed stream's wire may bound its frames.
func (c *Conn) SetChunkSize(n int) {
	if cs, ok := c.wire.(interface{ SetChunkSize(int) }); ok {
		cs.SetChunkSize(n)
	}
}

// keepFramedBuffers keeps a framed Conn's small read buffer and its write
// buffer for its next stream, out of the Conn's state (rb and wb nil, as
// after any Release).
func (c *Conn) keepFramedBuffers() {
	if c.rb != nil && !c.large && c.spareRead == nil {
		c.spareRead, c.rb = c.rb, nil
		c.rpos, c.rend, c.headEnd = 0, 0, 0
	}
	if c.wb != nil && c.spareWrite == nil {
		*c.wb = (*c.wb)[:0]
		c.spareWrite, c.wb = c.wb, nil
	}
}

// writeBuf is a write buffer: the one the last stream left, or the pool's.
func (c *Conn) writeBuf() *[]byte {
	if b := c.spareWrite; b != nil {
		c.spareWrite = nil
		return b
	}
	return writePool.Get().(*[]byte)
}
