package http1

import (
	"errors"
	"io"
	"strconv"
	"time"
)

// bodyReader frames a request body: Content-Length, chunked
// (ngx_http_parse_chunked's grammar: hex size, optional ";ext", CRLF or LF,
// data, CRLF, "0", trailers ignored), or none.
type bodyReader struct {
	c       *Conn
	chunked bool
	chunkFraming
	done bool
	err  error
	// read counts the body's bytes taken from the connection so far,
	// chunk framing included ($request_length counts them as nginx does).
	read int64
	// limit is client_max_body_size for a chunked body (0: none), checked
	// against declared, the sizes before it, once a chunk's first data
	// byte is at hand (ngx_http_request_body_chunked_filter, when
	// ngx_http_parse_chunked returns NGX_OK): a body relayed as it comes
	// is held to it as a buffered one is. sized: the chunk whose data
	// begins is still to be checked.
	limit, declared int64
	sized           bool
	// atHand: reads return only what is already buffered, never waiting
	// for the client (0, nil when nothing is).
	atHand bool
	// eof: a framed stream's body of unknown length, read until the
	// stream's net.Conn says io.EOF.
	eof bool
	// asked: a handler read the body (nginx's r->request_body exists).
	asked bool
}

const (
	chStart = iota
	chSize
	chExtension
	chSizeAlmostDone
	chData
	chAfterData
	chAfterDataAlmostDone
	chTrailer
	chTrailerAlmostDone
	chTrailerHeader
	chTrailerHeaderAlmostDone
)

func (b *bodyReader) start(r *Request) {
	*b = bodyReader{c: b.c}
	switch {
	case r.Chunked:
		b.chunked = true
	case r.ContentLength > 0:
		b.remaining = r.ContentLength
	default:
		b.done = true
	}
}

// Body returns the current request's body. Reads return io.EOF at its
// end; a malformed chunked body yields an *Error with Status 400.
func (c *Conn) Body() io.Reader { return &c.body }

// ReadBodyAtHand reads body bytes already received (decoded, for a
// chunked body) without waiting for more: 0, nil when none are at hand.
func (c *Conn) ReadBodyAtHand(p []byte) (int, error) {
	if c.wire != nil {
		return c.body.readFramedAtHand(p)
	}
	c.body.atHand = true
	n, err := c.body.Read(p)
	c.body.atHand = false
	return n, err
}

// SetBodyLimit holds the rest of a chunked body to client_max_body_size
// n (0: no limit): a chunk whose size line would take it past n is a 413.
// A framed stream's wire is told too: its reader stops taking the body
// at the frame that goes past n, as nginx's stops at its buffer's.
func (c *Conn) SetBodyLimit(n int64) {
	c.body.limit = n
	if w, ok := c.wire.(interface{ SetBodyLimit(int64) }); ok {
		w.SetBodyLimit(n)
	}
}

// BodyDone reports whether the body has been read to its end.
func (c *Conn) BodyDone() bool { return c.body.done }

// UnreadInput reports whether the client may still be sending: bytes past
// the current request are buffered (a rejected or pipelined request), or
// its body was not read to the end. These are nginx's reasons for a
// lingering close.
func (c *Conn) UnreadInput() bool { return c.rend > c.rpos || !c.body.done }

func (b *bodyReader) Read(p []byte) (int, error) {
	b.asked = true
	if b.err != nil {
		return 0, b.err
	}
	if b.done {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	c := b.c
	if c.hijacked {
		return 0, ErrHijacked
	}
	for {
		if !b.chunked || b.state == chData {
			if b.remaining == 0 {
				if !b.chunked && c.wire != nil {
					return b.framedEnd()
				}
				if !b.chunked {
					b.done = true
					return 0, io.EOF
				}
				b.state = chAfterData
				continue
			}
			want := int64(len(p))
			if want > b.remaining {
				want = b.remaining
			}
			var n int
			if b.sized && c.rpos < c.rend {
				if err := b.checkSize(); err != nil {
					b.err = err
					return 0, err
				}
			}
			if c.rpos < c.rend {
				n = copy(p[:want], (*c.rb)[c.rpos:c.rend])
				c.rpos += n
			} else if b.atHand {
				return 0, nil
			} else {
				// Large reads go straight into p.
				if c.ReadTimeout > 0 {
					c.nc.SetReadDeadline(time.Now().Add(c.ReadTimeout))
				}
				var err error
				n, err = ReadVia(c.sockIO(), c.nc, p[:want])
				if n == 0 && err == io.EOF && b.eof {
					b.done = true
					return 0, io.EOF
				}
				if n == 0 && err != nil {
					err = bodyReadError(err)
					b.err = err
					return 0, err
				}
				if b.sized {
					if err := b.checkSize(); err != nil {
						b.err = err
						return 0, err
					}
				}
			}
			b.remaining -= int64(n)
			b.read += int64(n)
			if !b.chunked && b.remaining == 0 && c.wire == nil {
				b.done = true
			}
			if c.wire != nil {
				if err := b.framedLimit(n); err != nil {
					return 0, err
				}
			}
			return n, nil
		}
		// Chunk framing: parse buffered bytes, reading more as needed.
		if c.rpos == c.rend {
			if b.atHand {
				return 0, nil
			}
			if _, err := c.fill(); err != nil {
				b.err = err
				return 0, err
			}
		}
		if err := b.parseFraming(); err != nil {
			b.err = err
			return 0, err
		}
		if b.done {
			return 0, io.EOF
		}
	}
}

// readFramedAtHand is ReadBodyAtHand on a framed stream: what the
// stream holds, within the body's length.
func (b *bodyReader) readFramedAtHand(p []byte) (int, error) {
	b.asked = true
	if b.err != nil {
		return 0, b.err
	}
	if b.done {
		return 0, io.EOF
	}
	if int64(len(p)) > b.remaining {
		p = p[:b.remaining]
	}
	n, err := b.c.wire.ReadAtHand(p)
	b.remaining -= int64(n)
	b.read += int64(n)
	if n > 0 {
		if err := b.framedLimit(n); err != nil {
			return 0, err
		}
		return n, nil
	}
	if err == io.EOF {
		if b.eof || b.remaining == 0 {
			b.done = true
			return 0, io.EOF
		}
		b.err = errPrematureBodyEOF
		return 0, b.err
	}
	if err != nil {
		b.err = bodyReadError(err)
		return 0, b.err
	}
	return 0, nil
}

// framedEnd waits, the body's length read, for the stream's end: nginx
// takes a framed body as complete only then, and data past the length
// (or an end before it) is the client's error.
func (b *bodyReader) framedEnd() (int, error) {
	c := b.c
	if c.ReadTimeout > 0 {
		c.nc.SetReadDeadline(time.Now().Add(c.ReadTimeout))
	}
	_, err := c.nc.Read(nil)
	if err == io.EOF {
		b.done = true
		return 0, io.EOF
	}
	if err == nil {
		err = errInvalidRequest
	}
	var he *Error
	if !errors.As(err, &he) {
		err = bodyReadError(err)
	}
	b.err = err
	return 0, err
}

// parseFraming consumes framing bytes from the buffer until chunk data
// starts, the body ends, or the buffer is empty.
func (b *bodyReader) parseFraming() error {
	c := b.c
	buf := *c.rb
	for c.rpos < c.rend {
		ch := buf[c.rpos]
		c.rpos++
		b.read++
		end, err := b.step(ch)
		if err != nil {
			return err
		}
		if end {
			b.done = true
			return nil
		}
		if b.state == chData {
			b.sized = true
			if c.rpos < c.rend {
				return b.checkSize()
			}
			return nil
		}
	}
	return nil
}

// framedLimit holds a framed stream's body of no declared length (HTTP/2
// without content-length) to the limit as its data arrives
// (ngx_http_v2_filter_request_body).
func (b *bodyReader) framedLimit(n int) error {
	if !b.eof {
		return nil
	}
	b.declared += int64(n)
	if b.limit > 0 && b.declared > b.limit {
		b.err = &Error{Status: 413, Msg: "client intended to send too large chunked body: " + strconv.FormatInt(b.declared, 10) + " bytes"}
		return b.err
	}
	return nil
}

// checkSize holds the chunk whose data begins to the limit.
func (b *bodyReader) checkSize() error {
	b.sized = false
	if b.limit > 0 && b.limit-b.declared < b.remaining {
		return &Error{Status: 413, Msg: "client intended to send too large chunked body: " +
			strconv.FormatInt(b.declared, 10) + "+" + strconv.FormatInt(b.remaining, 10) + " bytes"}
	}
	b.declared += b.remaining
	return nil
}

// BodyErr is what failed the request body's reading or discarding so
// far (a bad chunk, a timeout, the client's close), or nil.
func (c *Conn) BodyErr() error { return c.body.err }

// DiscardBuffered drops the body bytes that arrived with the head, as
// ngx_http_discard_request_body does before a response that does not read
// the body: a chunked body whose buffered framing is invalid is an *Error
// (400). What is still to come is discarded after the response.
func (c *Conn) DiscardBuffered() error {
	b := &c.body
	if c.hijacked || c.rb == nil || c.headEnd == 0 {
		return nil // no request head: nothing of a body to discard
	}
	if b.err != nil {
		if b.asked {
			// The handler read the body and it failed: nginx's
			// r->request_body exists, so discarding is a no-op (an
			// error_page's "return" answers, not a second error).
			return nil
		}
		return b.err
	}
	// Discarded bytes are not the request's: nginx's discard filter
	// leaves $request_length as the head made it, nor does it hold them
	// to client_max_body_size.
	b.limit = 0
	read := b.read
	defer func() { b.read = read }()
	for !b.done && c.rpos < c.rend {
		if !b.chunked || b.state == chData {
			if b.remaining == 0 {
				if !b.chunked {
					b.done = true
					break
				}
				b.state = chAfterData
				continue
			}
			n := min(int64(c.rend-c.rpos), b.remaining)
			c.rpos += int(n)
			b.remaining -= n
			b.read += n
			if !b.chunked && b.remaining == 0 {
				b.done = true
			}
			continue
		}
		if err := b.parseFraming(); err != nil {
			b.err = err
			return err
		}
	}
	return nil
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c|0x20 >= 'a' && c|0x20 <= 'f':
		return c | 0x20 - 'a' + 10, true
	}
	return 0, false
}

// discardBody drops what is left of the previous request's body so the
// next request can be read (nginx's ngx_http_discard_request_body).
func (c *Conn) discardBody() error {
	if c.body.err != nil {
		return c.body.err
	}
	c.body.limit = 0 // nginx's discard filter holds no size
	for !c.body.done {
		if !c.body.chunked && c.body.remaining > 0 {
			// Skip buffered bytes, then read into the buffer's tail.
			avail := int64(c.rend - c.rpos)
			if avail > c.body.remaining {
				avail = c.body.remaining
			}
			c.rpos += int(avail)
			c.body.remaining -= avail
			if c.body.remaining == 0 {
				c.body.done = true
				break
			}
			if _, err := c.fill(); err != nil {
				return err
			}
			continue
		}
		var scratch [512]byte
		if _, err := c.body.Read(scratch[:]); err != nil && err != io.EOF {
			return err
		}
	}
	return nil
}
