package http2

// A stream's request body: DATA frames taken by the connection's reader,
// the flow-control windows nginx opens for them, and the handler's reads.

import (
	"io"
	"os"
	"strconv"
	"time"

	"github.com/gonginx/gonginx/rewrite/http1"
	"golang.org/x/net/http2"
)

// errBodyTooLarge is logged at info, as ngx_http_v2_filter_request_body
// logs it.
var errBodyTooLarge = infoError{&http1.Error{Status: 400, Msg: "client intended to send body data larger than declared"}}

// infoError is an *http1.Error nginx logs at info.
type infoError struct{ he *http1.Error }

func (e infoError) Error() string    { return e.he.Msg }
func (e infoError) Unwrap() error    { return e.he }
func (e infoError) LogLevel() string { return "info" }

func (c *Conn) onData(f *http2.DataFrame) error {
	size := int64(f.Length)
	if err := c.countData(size); err != nil {
		return err
	}
	c.payloadBytes += int64(len(f.Data()))
	// DATA of a stream not known (idle or closed) is skipped once the
	// connection's window counted it, as ngx_http_v2_state_data does.
	c.receive(f.StreamID, f.Data(), size, f.StreamEnded())
	return nil
}

// countData counts a DATA frame of size against the connection's
// window, which is topped up as nginx's.
func (c *Conn) countData(size int64) error {
	if size > c.recvWindow {
		c.logInfo("client violated connection flow control: received DATA frame length " + num(size) + ", available window " + num(c.recvWindow))
		return http2.ConnectionError(http2.ErrCodeFlowControl)
	}
	c.recvWindow -= size
	if c.recvWindow < maxWindow/4 {
		c.wmu.Lock()
		c.framer().WriteWindowUpdate(0, uint32(maxWindow-c.recvWindow))
		err := c.flushLocked()
		c.wmu.Unlock()
		if err != nil {
			return err
		}
		c.recvWindow = maxWindow
	}
	return nil
}

// onLargeData reads a DATA frame larger than the read buffer in pieces,
// each handed to its stream as it comes, as nginx reads one
// (ngx_http_v2_state_read_data keeps a partial frame's state): the
// framer would read it whole into a buffer of its size, kept for the
// connection's life, and a stream reading its body whole would take it
// whole past bodyHoldMax (16 MB a frame, SETTINGS_MAX_FRAME_SIZE being
// nginx's 2^24-1). The first piece counts the frame's size against the
// windows, the last carries END_STREAM.
func (c *Conn) onLargeData(fh http2.FrameHeader) error {
	size := int64(fh.Length)
	if err := c.countData(size); err != nil {
		return err
	}
	n, pad := int(fh.Length), 0
	if fh.Flags.Has(http2.FlagDataPadded) {
		p, _ := c.br.Peek(1) // readFrame waited for it
		pad = int(p[0])
		n -= 1 + pad
		c.br.skip(1)
	}
	end := fh.Flags.Has(http2.FlagDataEndStream)
	for first := true; first || n > 0; first = false {
		k := min(n, c.br.Size())
		if err := c.peek(k, false, false); err != nil {
			return err
		}
		p, _ := c.br.Peek(k)
		c.payloadBytes += int64(k)
		w := int64(0)
		if first {
			w = size
		}
		c.receive(fh.StreamID, p, w, end && k == n)
		c.br.skip(k)
		n -= k
	}
	for pad > 0 {
		k := min(pad, c.br.Size())
		if err := c.peek(k, false, false); err != nil {
			return err
		}
		c.br.skip(k)
		pad -= k
	}
	return nil
}

// receive takes a DATA frame's payload (reader goroutine); size is what it
// counts against the windows (padding too).
func (c *Conn) receive(id uint32, data []byte, size int64, end bool) bool {
	c.mu.Lock()
	s := c.streams[id]
	if s == nil {
		c.mu.Unlock()
		return false
	}
	if s.err != nil || s.endSent {
		// A stream whose response's end went out is closed in nginx
		// (its request finalized with it): DATA for it is skipped, where
		// our handler may still be logging.
		c.mu.Unlock()
		return true
	}
	if s.inClosed || s.earlyEnd {
		// nginx's handler ran as the HEADERS came: a response it
		// finished then closed the stream, and this frame is skipped.
		if s = c.awaitRunLocked(s); s != nil {
			s.releaseEarlyLocked()
		}
		if s == nil || s.err != nil || s.endSent {
			c.mu.Unlock()
			return s != nil
		}
		c.mu.Unlock()
		c.logInfo("client sent DATA frame for half-closed stream " + num(int64(id)))
		c.resetStream(id, http2.ErrCodeStreamClosed)
		return true
	}
	if !s.reading && !s.settled && !s.outClosed {
		// nginx runs a request's handler as its HEADERS arrive, so one
		// that reads the body has opened the stream's window before the
		// next frame is parsed (ngx_http_v2_read_request_body). Here the
		// handler runs beside the reader: a frame within the preread
		// window waits in the stream for it to ask for the body, or
		// answer, or wait on something else (holdEarlyLocked), and the
		// reader goes on. One past that window, which the client could
		// send only if nginx's handler had opened it, has the reader
		// wait a moment for the handler.
		if size <= s.recvWindow-s.earlySize {
			c.holdEarlyLocked(s, data, size, end)
			c.mu.Unlock()
			return true
		}
		s.waiting |= waitBody
		c.mu.Unlock()
		waitFor(s.bodyWanted, time.Now().Add(bodyWantedWait), nil)
		c.mu.Lock()
		s.waiting &^= waitBody // only this goroutine sets it
		if s = c.streams[id]; s == nil {
			c.mu.Unlock()
			return false
		}
		if s.err != nil || s.endSent {
			c.mu.Unlock()
			return true
		}
	}
	s.releaseEarlyLocked() // those held go first
	if size > s.recvWindow {
		avail := s.recvWindow
		c.mu.Unlock()
		c.logInfo("client violated flow control for stream " + num(int64(id)) + ": received DATA frame length " + num(size) + ", available window " + num(avail))
		c.resetStream(id, http2.ErrCodeFlowControl)
		return true
	}
	if s.noFlow && len(s.buf)-s.rpos+len(data) > bodyHoldMax {
		if s = c.holdLocked(s, len(data)); s == nil {
			c.mu.Unlock()
			return false
		}
	}
	grant := s.takeFrameLocked(data, size, end)
	c.mu.Unlock()
	if grant > 0 {
		c.sendWindowUpdate(id, grant)
	}
	return true
}

// takeFrameLocked counts a DATA frame within the stream's window into
// its body (c.mu held). It returns the WINDOW_UPDATE increment to send.
func (s *Stream) takeFrameLocked(data []byte, size int64, end bool) (grant uint32) {
	s.recvWindow -= size
	if s.noFlow && s.recvWindow < maxWindow/4 {
		// ngx_http_v2_state_data tops a body read whole up as it comes.
		grant, s.recvWindow = uint32(maxWindow-s.recvWindow), maxWindow
	}
	if s.bodyErr != nil {
		// nginx's skip_data: the request ended with the body's error,
		// what follows is dropped, its END_STREAM too (the stream is
		// reset with NO_ERROR as it closes).
		return grant
	}
	s.received += int64(len(data))
	if s.declared >= 0 && s.received > s.declared {
		s.bodyErr = errBodyTooLarge
	} else if s.declared < 0 && s.limit > 0 && s.received > s.limit {
		s.bodyErr = &http1.Error{Status: 413, Msg: "client intended to send too large chunked body: " + num(s.received) + " bytes"}
	}
	if len(data) > 0 {
		if s.rpos > 0 && s.rpos == len(s.buf) {
			s.buf, s.rpos = s.buf[:0], 0
		}
		if s.buf == nil {
			s.buf = make([]byte, 0, max(len(data), 16<<10))
		}
		if len(s.buf)+len(data) > cap(s.buf) && s.rpos > 0 {
			n := copy(s.buf, s.buf[s.rpos:])
			s.buf, s.rpos = s.buf[:n], 0
		}
		s.buf = append(s.buf, data...)
	}
	if end {
		s.inClosed = true
	}
	s.wakeLocked(waitRead, s.readWake)
	return grant
}

// earlyFrame is a DATA frame held in Stream.early.
type earlyFrame struct {
	n    int   // payload bytes
	size int64 // counted against the window
	end  bool
}

// holdEarlyLocked holds a DATA frame within the stream's preread window
// until the handler asks for the body, answers, waits on something else
// or the stream ends (bodyEventLocked), or for bodyWantedWait at most:
// then it counts as one that came after (c.mu held).
func (c *Conn) holdEarlyLocked(s *Stream, data []byte, size int64, end bool) {
	if len(data) == 0 && size == 0 && !end {
		return // counts for nothing
	}
	if len(s.earlyFrames) == 0 {
		s.earlyUntil = time.Now().Add(bodyWantedWait)
		c.armEarlyLocked(s.earlyUntil)
	}
	s.early = append(s.early, data...)
	s.earlyFrames = append(s.earlyFrames, earlyFrame{n: len(data), size: size, end: end})
	s.earlySize += size
	s.earlyEnd = s.earlyEnd || end
}

// releaseEarlyLocked counts the frames held in the stream's body, in the
// order they came, or drops them with a stream that ended (c.mu held). A
// body read whole gets its windows' increments in s.grant.
func (s *Stream) releaseEarlyLocked() {
	if len(s.earlyFrames) == 0 {
		return
	}
	frames, p := s.earlyFrames, s.early
	s.earlyFrames, s.early, s.earlySize, s.earlyEnd = frames[:0], p[:0], 0, false
	if s.err != nil || s.endSent {
		return
	}
	for _, f := range frames {
		s.grant += s.takeFrameLocked(p[:f.n], f.size, f.end)
		p = p[f.n:]
	}
}

// bodyEventLocked tells the stream's early frames, and a frame that
// waits, that the handler asked for the body, answered, waits on
// something else, or that the stream ended (c.mu held).
func (s *Stream) bodyEventLocked() {
	s.releaseEarlyLocked()
	s.wakeLocked(waitBody, s.bodyWanted)
}

// armEarlyLocked has releaseLate run by at (c.mu held). One timer serves
// the connection: its run arms it again for what is left.
func (c *Conn) armEarlyLocked(at time.Time) {
	switch {
	case c.earlyTimer == nil:
		c.earlyTimer = time.AfterFunc(time.Until(at), c.releaseLate)
	case c.earlyAt.IsZero():
		c.earlyTimer.Reset(time.Until(at))
	default:
		return // armed sooner
	}
	c.earlyAt = at
}

// releaseLate counts in the early frames whose handler has not asked for
// them within bodyWantedWait: it waits on something it did not announce,
// as nginx's handler waits in its event loop with the frames in its
// preread buffer.
func (c *Conn) releaseLate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	var next time.Time
	for _, st := range c.live {
		switch {
		case len(st.earlyFrames) == 0:
		case !now.Before(st.earlyUntil):
			st.releaseEarlyLocked()
		case next.IsZero() || st.earlyUntil.Before(next):
			next = st.earlyUntil
		}
	}
	c.earlyAt = next
	if !next.IsZero() {
		c.earlyTimer.Reset(next.Sub(now))
	}
}

// awaitRunLocked waits, before a frame that breaks the rules on s is
// answered, for s's handler to get as far as nginx's ran before it read
// the frame: to the response's end sent, or to a wait (for the body,
// for window, on something else), at most bodyWantedWait (c.mu held,
// released while waiting). It returns the stream, nil once it is gone.
// Only frames in error wait: a handler still busy costs them a delay.
func (c *Conn) awaitRunLocked(s *Stream) *Stream {
	return c.waitWantedLocked(s, bodyWantedWait, func(s *Stream) bool {
		return s.endSent || s.err != nil || s.reading || s.waits || s.waiting&waitSend != 0
	})
}

// holdLocked waits, for a body read whole, until the handler took
// enough that n more bytes stay within bodyHoldMax, or answered, or the
// stream ended (c.mu held, released while waiting). It returns the
// stream, nil once it is gone.
func (c *Conn) holdLocked(s *Stream, n int) *Stream {
	return c.waitWantedLocked(s, bodyHoldWait, func(s *Stream) bool {
		return len(s.buf) <= s.rpos || len(s.buf)-s.rpos+n <= bodyHoldMax || s.err != nil || s.bodyErr != nil || s.answered
	})
}

// waitWantedLocked waits on s.bodyWanted until done(s), for wait at most
// (c.mu held, released while waiting). It returns the stream, nil once
// it is gone.
func (c *Conn) waitWantedLocked(s *Stream, wait time.Duration, done func(*Stream) bool) *Stream {
	id, deadline := s.id, time.Now().Add(wait)
	for !done(s) {
		s.waiting |= waitBody
		c.mu.Unlock()
		ok := waitFor(s.bodyWanted, deadline, nil)
		c.mu.Lock()
		s.waiting &^= waitBody
		if s = c.streams[id]; s == nil || !ok {
			return s
		}
	}
	return s
}

// Read reads the request body: io.EOF once the client ended the stream.
func (s *Stream) Read(p []byte) (int, error) {
	c := s.c
	c.mu.Lock()
	for {
		if s.bodyErr != nil {
			err := s.bodyErr
			s.dropLocked()
			s.unlockGrant()
			return 0, err
		}
		if s.shortLocked() {
			err := s.endErrLocked()
			s.unlockGrant()
			return 0, err
		}
		if n := s.takeLocked(p); n > 0 {
			s.unlockGrant()
			return n, nil
		}
		if s.err != nil {
			s.unlockGrant()
			return 0, s.err
		}
		if s.inClosed {
			err := s.endErrLocked()
			s.unlockGrant()
			return 0, err
		}
		dl := s.readDL
		s.waiting |= waitRead
		s.unlockGrant()
		ok := waitFor(s.readWake, dl, &s.readTimer)
		c.mu.Lock()
		s.waiting &^= waitRead
		if !ok {
			s.timedOut = true
			c.mu.Unlock()
			return 0, os.ErrDeadlineExceeded
		}
	}
}

// ReadAtHand is the Wire's: body bytes already received.
func (s *Stream) ReadAtHand(p []byte) (n int, err error) {
	s.c.mu.Lock()
	defer s.unlockGrant()
	if s.bodyErr != nil {
		s.dropLocked()
		return 0, s.bodyErr
	}
	if s.shortLocked() {
		return 0, s.endErrLocked()
	}
	if n := s.takeLocked(p); n > 0 {
		return n, nil
	}
	if s.err != nil {
		return 0, s.err
	}
	if s.inClosed {
		return 0, s.endErrLocked()
	}
	return 0, nil
}

// unlockGrant releases c.mu and sends the WINDOW_UPDATE the reading
// granted.
func (s *Stream) unlockGrant() {
	c, g := s.c, s.grant
	s.grant = 0
	c.mu.Unlock()
	if g > 0 {
		c.sendWindowUpdate(s.id, g)
	}
}

// endErrLocked is what reading at the stream's end gives: io.EOF, or a
// 400 when the client ended it short of its Content-Length.
func (s *Stream) endErrLocked() error {
	if s.declared >= 0 && s.received < s.declared {
		return &http1.Error{Status: 400, Msg: "client prematurely closed stream: only " +
			strconv.FormatInt(s.received, 10) + " out of " + strconv.FormatInt(s.declared, 10) +
			" bytes of request body received"}
	}
	return io.EOF
}

// shortLocked: the stream ended before its Content-Length; nginx passes
// none of what is left on (c.mu held).
func (s *Stream) shortLocked() bool {
	if s.inClosed && s.declared >= 0 && s.received < s.declared {
		s.dropLocked()
		return true
	}
	return false
}

// dropLocked drops the buffered body with an error: nginx counted it in
// $request_length as it read it.
func (s *Stream) dropLocked() {
	s.dropped += int64(len(s.buf) - s.rpos)
	s.rpos = len(s.buf)
}

// BodyDropped is the Wire's: body bytes dropped with an error.
func (s *Stream) BodyDropped() int64 {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	return s.dropped
}

// takeLocked copies buffered body bytes into p (c.mu held). The first
// take is the handler asking for the body: its window opens.
func (s *Stream) takeLocked(p []byte) int {
	if !s.reading {
		s.reading = true
		s.openWindowLocked()
		s.releaseEarlyLocked() // before the copy: they came first
		defer s.wakeLocked(waitBody, s.bodyWanted)
	}
	n := copy(p, s.buf[s.rpos:])
	s.rpos += n
	if n > 0 {
		s.wakeLocked(waitBody, s.bodyWanted) // the reader may wait for room
	}
	if s.relayLen > 0 && n == 0 && s.rpos == len(s.buf) && !s.inClosed && s.err == nil && s.relayLen > s.recvWindow {
		// ngx_http_v2_read_unbuffered_request_body: all that was held
		// went on, the window is the buffer's again. Given when the
		// handler comes back for more and finds none, not as it takes
		// the last: what came while it passed the rest on is taken
		// first, as nginx takes a read pass's frames before it sends.
		s.grant += uint32(s.relayLen - s.recvWindow)
		s.recvWindow = s.relayLen
	}
	return n
}

// openWindowLocked opens the window of a body the handler asks for, as
// ngx_http_v2_read_request_body does unless the stream ended already:
// to 2^31-1 for a body read whole, to the relay's buffer for one passed
// on as it comes (c.mu held).
func (s *Stream) openWindowLocked() {
	if s.inClosed || s.err != nil {
		return
	}
	if s.relayLen > 0 {
		if d := s.relayLen - int64(s.c.cfg.PrereadSize); d > 0 {
			s.grant += uint32(d)
			s.recvWindow += d
		}
		return
	}
	s.noFlow = true
	if d := maxWindow - s.recvWindow; d > 0 {
		s.grant += uint32(d)
		s.recvWindow = maxWindow
	}
}

// SetBodyLimit is http1.Conn.SetBodyLimit's: a body of no declared
// length that goes past n (0: no limit) is a 413 from the frame that
// took it there, and the frames after it are dropped.
func (s *Stream) SetBodyLimit(n int64) {
	s.c.mu.Lock()
	s.limit = n
	s.c.mu.Unlock()
}

// RelaysBody is http1.Conn.RelaysBody's: the handler passes the body on
// as it comes, through a buffer of size bytes (client_body_buffer_size;
// nginx's request_body_no_buffering). Before the first read only. It
// asks for the body (its window opens) as nginx's proxy handler does
// before it connects, though the first read comes after.
func (s *Stream) RelaysBody(size int64) {
	c := s.c
	c.mu.Lock()
	if s.reading {
		c.mu.Unlock()
		return
	}
	// ngx_http_v2_read_request_body's rb->buf: a declared length that
	// fits takes one byte more, and the buffer holds the preread window
	// at least.
	n := size
	if s.declared >= 0 && s.declared <= size {
		n = s.declared + 1
	}
	s.relayLen = min(max(n, int64(c.cfg.PrereadSize)), maxWindow)
	s.reading = true
	s.openWindowLocked()
	s.bodyEventLocked()
	s.unlockGrant()
}

func (c *Conn) sendWindowUpdate(id uint32, n uint32) {
	c.wmu.Lock()
	c.framer().WriteWindowUpdate(id, n)
	c.flushLocked()
	c.wmu.Unlock()
}
