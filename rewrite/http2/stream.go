package http2

import (
	"bytes"
	"io"
	"net"
	"strconv"
	"sync"
	"time"
	"unsafe"

	"github.com/gonginx/gonginx/rewrite/http1"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// Stream is one request's stream. To its *http1.Conn (Conn) it is the
// net.Conn of the body (Read gives DATA payloads, Write sends DATA within
// the flow-control windows) and the http1.Wire of the head and the end.
// Fields after c are guarded by c.mu.
type Stream struct {
	c  *Conn
	id uint32
	hc *http1.Conn

	head      http1.FramedHead // the request in HTTP/1 form, its fields split
	perr      *http1.Error
	perrHost  []byte // the Host that came before perr, for its log line
	malformed bool   // reset for a malformed field: nothing to serve
	reqLen    int
	hasBody   bool
	requests  int

	// Receiving.
	buf        []byte // body bytes received and not read: buf[rpos:]
	rpos       int
	recvWindow int64 // what the client may still send
	// The window of a body the handler reads, as ngx_http_v2_read_request_body
	// opens it: noFlow, a body read whole (buffered) has its window opened
	// to 2^31-1 and topped up as DATA comes (nginx's no_flow_control);
	// relayLen > 0, a body passed on as it comes (RelaysBody) has a
	// window of that buffer's size, given back each time the handler
	// took all the stream held. grant is a WINDOW_UPDATE's increment to
	// send once c.mu is released (unlockGrant).
	noFlow   bool
	relayLen int64
	grant    uint32
	answered bool  // a final head was written
	limit    int64 // client_max_body_size for a body of no declared length (SetBodyLimit)
	waits    bool  // HandlerWaits was called
	inClosed bool  // END_STREAM arrived
	declared int64 // Content-Length, once the head is parsed; -1: none
	received int64
	dropped  int64 // body bytes received and dropped with an error
	bodyErr  error
	readWake chan struct{}
	readDL   time.Time
	// waiting has a bit per wait under way (c.mu): a wake-up is sent
	// only to a wait, not left in the channel for nobody (a token sent
	// and drained cost ~350 instructions, three per request).
	waiting uint8
	// reading: the handler asked for the body (its window is the
	// buffer's from then on); bodyWanted tells a DATA frame that waits
	// for it. settled: the handler answered, or waits on something else
	// (HandlerWaits), without asking: such a frame no longer waits.
	reading    bool
	settled    bool
	bodyWanted chan struct{}
	// early holds DATA frames that came before the handler asked for the
	// body, answered or waited on something else, within the stream's
	// preread window (nginx's stream->preread): they count into the body
	// as that happens (releaseEarlyLocked), as if read then, while the
	// connection's reader goes on with other streams' frames.
	early       []byte       // their payloads
	earlyFrames []earlyFrame // their lengths, window sizes and flags
	earlySize   int64        // their window sizes' sum
	earlyEnd    bool         // one had END_STREAM
	earlyUntil  time.Time    // bodyWantedWait after the first: then released
	// readTimer and sendTimer time the waits of the body's reader and of
	// the response's writer (two goroutines at most, one each), kept
	// with the pooled stream: a wait costs no new timer.
	readTimer, sendTimer *time.Timer

	// Sending.
	chunk      int // http2_chunk_size of the request's location
	sendWindow int64
	sendWake   chan struct{}
	writeDL    time.Time
	outClosed  bool   // the response's end is queued (or went, with its head)
	out        []byte // DATA payload queued: out[outPos:] is not sent yet
	outPos     int
	endQueued  bool // END_STREAM follows out
	endSent    bool
	ended      bool   // counted in c.ending (endedLocked)
	holdFlush  bool   // the end is queued: the handler's return flushes it
	trailers   []byte // the closing HEADERS block, encoded
	nameBuf    []byte
	rstSent    bool
	timedOut   bool  // client_body_timeout or send_timeout passed
	cut        bool  // CutSend: the response's writes fail
	cutBytes   int64 // DATA payload CutSend dropped unsent
	// framing is what the response's frames took beyond the head and the
	// DATA payload: 9 bytes a DATA frame, the trailers' HEADERS whole
	// (nginx counts them in $bytes_sent, and out of $body_bytes_sent).
	framing    int64
	err        error     // reset or connection gone: I/O fails with it
	headHeld   bool      // HEADERS wait in c.bw for a flush (c.wmu)
	watch      io.Closer // WatchAbort's backend
	watchFired bool
	// resetCode is the client's RST_STREAM code while resetPending: its
	// info line waits for the request, which logs it in its own context
	// (TakeReset), as nginx logs it on the stream's fake connection.
	resetCode    http2.ErrCode
	resetPending bool
	// resetLog, set, logs the client's RST_STREAM as it is read
	// (LogResetWith) instead of leaving it pending.
	resetLog func(line string)
}

// bodyWantedWait bounds how long DATA that came before the handler asked
// for the body is held for it (holdEarlyLocked), and how long a frame
// past the stream's window waits for it (the reader, and so the
// connection, waits with that one). The handler's answer or its
// announced wait (HandlerWaits: limit_req's delay, auth_delay,
// auth_request) ends the wait at once, as nginx's handler run ends
// there; the bound is for a wait not announced, and outlasts a loaded
// machine's scheduling (50 ms reset 1 in 9 bodies under load 15 on 2
// cores, race detector on).
var bodyWantedWait = time.Second // a test's longer

// bodyHoldMax is how much of a body read whole a stream holds for its
// reader: its window is wide open, as nginx's, so past this the
// connection's reader waits for the handler to take some (nginx writes
// the body to its temporary file before it reads on). bodyHoldWait
// bounds that wait, for a handler that stopped reading without a word.
const (
	bodyHoldMax  = 256 << 10
	bodyHoldWait = time.Minute
)

// streams pools Streams with their framed http1.Conn and the memory they
// grew (the head, the request's fields, the sent head, the body buffer),
// so a connection's steady state allocates little per stream.
var streams = sync.Pool{New: func() any {
	return &Stream{readWake: make(chan struct{}, 1), sendWake: make(chan struct{}, 1), bodyWanted: make(chan struct{}, 1)}
}}

func newStream(c *Conn, id uint32) *Stream {
	s := streams.Get().(*Stream)
	hc, buf, rw, sw, bw := s.hc, s.buf[:0], s.readWake, s.sendWake, s.bodyWanted
	early, ef := s.early[:0], s.earlyFrames[:0]
	head := http1.FramedHead{Text: s.head.Text[:0], Fields: s.head.Fields[:0]}
	out, tr, nb, rt, st := s.out[:0], s.trailers[:0], s.nameBuf[:0], s.readTimer, s.sendTimer
	// Cleared in place, then set (a literal is built beside and copied).
	*s = Stream{}
	s.c, s.id, s.declared, s.hc, s.head, s.buf, s.out, s.trailers, s.nameBuf = c, id, -1, hc, head, buf, out, tr, nb
	s.recvWindow = int64(c.cfg.PrereadSize)
	s.sendWindow, s.chunk, s.readWake, s.sendWake, s.bodyWanted = c.initWindow, c.cfg.ChunkSize, rw, sw, bw
	s.readTimer, s.sendTimer = rt, st
	s.early, s.earlyFrames = early, ef
	select { // a wake-up left from the last stream
	case <-rw:
	default:
	}
	select {
	case <-bw:
	default:
	}
	select {
	case <-sw:
	default:
	}
	if hc != nil {
		hc.ResetFramedConn(s, c.info, s)
	}
	return s
}

// release returns a stream that ended to the pool: no goroutine and no
// map refers to it any more.
func (s *Stream) release() {
	if s.hc != nil {
		s.hc.Release()
	}
	if cap(s.buf) > 64<<10 {
		s.buf = nil // a large body's buffer is not kept
	}
	if cap(s.early) > 64<<10 {
		s.early = nil
	}
	s.c, s.perr, s.err, s.bodyErr = nil, nil, nil, nil
	streams.Put(s)
}

// TakeReset is, once, nginx's info line for the client's RST_STREAM on
// the stream ("client canceled stream 1"), or "" when the client did not
// reset it: the request logs it in its context with what it was doing.
func (s *Stream) TakeReset() string {
	c := s.c
	c.mu.Lock()
	pending, code := s.resetPending, s.resetCode
	s.resetPending = false
	c.mu.Unlock()
	if !pending {
		return ""
	}
	return resetLine(s.id, code)
}

// LogResetWith has f log the client's RST_STREAM line ("client canceled
// stream 1") as the frame is read, from the connection's reader, until
// LogResetWith(nil): nginx logs it there, in the request's context with
// what the request is doing then, while a request not watching its
// client (proxy_ignore_client_abort) goes on. f runs under the
// connection's lock: it must not call the stream. A reset read before
// stays pending (TakeReset).
func (s *Stream) LogResetWith(f func(line string)) {
	c := s.c
	c.mu.Lock()
	s.resetLog = f
	c.mu.Unlock()
}

// resetLine is ngx_http_v2_state_rst_stream's line for code on id.
func resetLine(id uint32, code http2.ErrCode) string {
	switch code {
	case http2.ErrCodeCancel:
		return "client canceled stream " + num(int64(id))
	case http2.ErrCodeRefusedStream:
		return "client refused stream " + num(int64(id))
	case http2.ErrCodeInternal:
		return "client terminated stream " + num(int64(id)) + " due to internal error"
	}
	return "client terminated stream " + num(int64(id)) + " with status " + num(int64(code))
}

// Ended reports whether the stream ended under its request (the
// client's reset, the connection's end): nginx's fake connection's
// c->error.
func (s *Stream) Ended() bool {
	c := s.c
	c.mu.Lock()
	defer c.mu.Unlock()
	return s.err != nil
}

// ID is the stream's identifier.
func (s *Stream) ID() uint32 { return s.id }

// Conn is the stream's request and response as an *http1.Conn.
func (s *Stream) Conn() *http1.Conn {
	if s.hc == nil {
		s.hc = http1.NewFramedConn(s, s.c.info, s)
	}
	return s.hc
}

// Malformed reports a stream reset for a malformed field (nginx logs
// it, with status 0, and serves nothing).
func (s *Stream) Malformed() bool { return s.malformed }

// Start parses the stream's request; an *http1.Error is to be answered
// with its status (a bad pseudo-header, a malformed head).
// ErrHost is the Host field that came before the header block's error
// (nil: none), which nginx's log line of the error shows.
func (s *Stream) ErrHost() []byte { return s.perrHost }

func (s *Stream) Start() (*http1.Request, *http1.Error) {
	hc := s.Conn()
	hc.Requests = s.requests
	hc.SetRequestLength(s.reqLen)
	if s.perr != nil || s.malformed {
		hc.ResetFramed()
		return nil, s.perr
	}
	req, perr := hc.StartFramedHead(&s.head, s.hasBody)
	if perr != nil {
		return nil, perr
	}
	if req.ContentLength > 0 && !s.hasBody {
		return nil, &http1.Error{Status: 400, Msg: "client prematurely closed stream"}
	}
	s.c.mu.Lock()
	s.declared = req.ContentLength
	if s.declared >= 0 && s.received > s.declared {
		s.bodyErr = errBodyTooLarge
	}
	s.c.mu.Unlock()
	return req, nil
}

// The waits of a stream: its body's reader, the reader goroutine's wait
// for the handler to ask for the body, the response's writer.
const (
	waitRead uint8 = 1 << iota
	waitBody
	waitSend
)

// wakeLocked wakes the wait bit stands for, if one is under way (c.mu
// held: a wait sets its bit under it before it waits).
func (s *Stream) wakeLocked(bit uint8, ch chan struct{}) {
	if s.waiting&bit != 0 {
		wake(ch)
	}
}

func wake(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// wakeWriter tells a writer waiting for window that it grew (c.mu held).
func (s *Stream) wakeWriter() { s.wakeLocked(waitSend, s.sendWake) }

// abortLocked ends the stream's I/O with err (c.mu held); byClient: the
// client reset it, so no RST_STREAM answers it.
func (s *Stream) abortLocked(err error, byClient bool) {
	if s.err == nil {
		s.err = err
	}
	if byClient {
		s.rstSent = true
	}
	if s.watch != nil {
		s.watch.Close()
		s.watch, s.watchFired = nil, true
	}
	s.wakeLocked(waitRead, s.readWake)
	s.wakeLocked(waitSend, s.sendWake)
	s.bodyEventLocked()
}

// WatchAbort closes backend if the stream ends (the client's reset, the
// connection's end, worker_shutdown_timeout closing it) before
// StopWatch: nginx's check_broken_connection, which sees an HTTP/2
// stream's fc->error while the proxy awaits the backend's head.
func (s *Stream) WatchAbort(backend io.Closer) {
	c := s.c
	c.mu.Lock()
	defer c.mu.Unlock()
	s.watchFired = false
	// The handler waits for its backend now: nginx's would be back in
	// its event loop (a frame in error waits no longer, awaitRunLocked).
	s.waits = true
	s.bodyEventLocked()
	if s.err != nil {
		backend.Close()
		s.watchFired = true
		return
	}
	s.watch = backend
}

// StopWatch ends WatchAbort's watch and reports whether it fired.
func (s *Stream) StopWatch() bool {
	c := s.c
	c.mu.Lock()
	defer c.mu.Unlock()
	s.watch = nil
	return s.watchFired
}

// waitFor waits for a signal on ch until deadline (none when zero).
// *tp, when tp is not nil, is the waiter's timer, made once and reset
// for each wait (a stopped timer's channel holds nothing stale).
func waitFor(ch chan struct{}, deadline time.Time, tp **time.Timer) bool {
	if deadline.IsZero() {
		<-ch
		return true
	}
	d := time.Until(deadline)
	if d <= 0 {
		return false
	}
	var t *time.Timer
	switch {
	case tp == nil:
		t = time.NewTimer(d)
	case *tp == nil:
		t = time.NewTimer(d)
		*tp = t
	default:
		t = *tp
		t.Reset(d)
	}
	select {
	case <-ch:
		t.Stop()
		return true
	case <-t.C:
		return false
	}
}

// flushStream writes what is buffered under the stream's send_timeout
// (c.wmu held).
func (c *Conn) flushStream(s *Stream) error {
	if c.werr != nil {
		return c.werr
	}
	dl := int64(0)
	if !s.writeDL.IsZero() {
		dl = s.writeDL.UnixNano()
	}
	c.sio.dl.Store(dl)
	s.headHeld = false
	if err := c.flushBuf(); err != nil {
		c.werr = err
		return err
	}
	return nil
}

// HandlerWaits is http1.Conn.Waits's: the handler waits now on
// something else than the body, as nginx's handler leaves the event loop
// to read the next frame there; a DATA frame past the window is reset
// without waiting for it to ask (nginx has not opened the window).
func (s *Stream) HandlerWaits() {
	s.c.mu.Lock()
	s.waits = true
	s.settleLocked()
	s.bodyEventLocked()
	s.c.mu.Unlock()
}

// settleLocked marks the handler's run to its first wait as over (c.mu
// held), waking a DATA frame that waits for it.
func (s *Stream) settleLocked() {
	if !s.settled && !s.reading {
		s.settled = true
		s.bodyEventLocked()
	}
}

// WriteHead is the Wire's: the head as HEADERS (and CONTINUATION)
// frames, coded as nginx codes it (the first own bytes of lines are its
// header filter's own fields).
func (s *Stream) WriteHead(status int, lines []byte, own int, end bool) (int, error) {
	c := s.c
	c.mu.Lock()
	if status >= 200 {
		s.settleLocked() // answered without asking for the body (if it did not)
		s.answered = true
		s.bodyEventLocked() // the reader holding its body waits no more
	}
	err := s.err
	if end && err == nil {
		s.outClosed = true
		c.endedLocked(s)
	}
	c.mu.Unlock()
	if err != nil {
		return 0, err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.frameBuf = c.frameBuf[:0]
	if c.tableUpdate.Load() && c.tableUpdate.CompareAndSwap(true, false) {
		// The client sized its table: nginx's next head says 0 first.
		c.frameBuf = append(c.frameBuf, 0x20)
	}
	c.frameBuf = appendStatus(c.frameBuf, status)
	c.frameBuf = c.headCache().appendLines(c.frameBuf, lines, own, &c.nameBuf)
	n, err := c.writeBlock(s.id, c.frameBuf, end)
	if err == nil && end {
		err = c.flushStream(s)
	} else {
		// A head with a body waits in the connection's buffer: it goes
		// out with the first DATA, the end (runStream flushes), or
		// FlushHead, so a small response is one write, not two.
		s.headHeld = err == nil
	}
	return n, err
}

// FlushHead is the Wire's: the held head goes out now.
func (s *Stream) FlushHead() error {
	c := s.c
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if !s.headHeld {
		return c.werr
	}
	s.headHeld = false
	return c.flushStream(s)
}

// writeBlock sends a header block as HEADERS and CONTINUATION frames of
// the client's frame size (c.wmu held); it returns the bytes sent.
func (c *Conn) writeBlock(id uint32, block []byte, end bool) (int, error) {
	c.mu.Lock()
	max := c.maxFrame
	c.mu.Unlock()
	total := len(block)
	first := true
	frames := 0
	for first || len(block) > 0 {
		n := min(len(block), max)
		frag := block[:n]
		block = block[n:]
		var flags http2.Flags
		if len(block) == 0 {
			flags = http2.FlagHeadersEndHeaders // CONTINUATION's too
		}
		typ := http2.FrameContinuation
		if first {
			typ, first = http2.FrameHeaders, false
			if end {
				flags |= http2.FlagHeadersEndStream
			}
		}
		err := c.writeFrame(typ, flags, id, frag)
		frames++
		if err != nil {
			return 0, err
		}
	}
	return total + 9*frames, nil
}

// appendStatus encodes :status: indexed for the codes HPACK's static
// table has, else a literal with the indexed name.
func appendStatus(b []byte, status int) []byte {
	switch status {
	case 200:
		return append(b, 0x88)
	case 204:
		return append(b, 0x89)
	case 206:
		return append(b, 0x8a)
	case 304:
		return append(b, 0x8b)
	case 400:
		return append(b, 0x8c)
	case 404:
		return append(b, 0x8d)
	case 500:
		return append(b, 0x8e)
	}
	// Literal with incremental indexing, name index 8 (":status"), as
	// nginx's (it never refers to its table after).
	b = append(b, 0x48, 3)
	if status < 100 || status > 999 {
		status = status % 1000
	}
	var d [3]byte
	d[0], d[1], d[2] = byte('0'+status/100), byte('0'+status/10%10), byte('0'+status%10)
	return append(b, d[:]...)
}

// appendHeaderLines encodes "Name: value\r\n" lines as nginx's HTTP/2
// header filter does: the first own bytes of lines are its own fields
// (Server, Date, Content-Type, Content-Length, Last-Modified, Location,
// Vary), each with its static table name; the others are literals
// without indexing, names lower-cased. Strings are Huffman-coded when
// shorter (ngx_http_v2_string_encode), a length never. name is scratch
// for the lower-cased names.
func appendHeaderLines(b []byte, lines []byte, own int, name *[]byte) []byte {
	for len(lines) > 0 {
		line, rest := nextLine(lines)
		isOwn := own > 0
		own -= len(lines) - len(rest)
		lines = rest
		if len(line) == 0 {
			break
		}
		b = appendHeaderLine(b, line, isOwn, name)
	}
	return b
}

// nextLine splits lines at its first CRLF (with none, the last byte is
// dropped, as the CRLF it would be).
func nextLine(lines []byte) (line, rest []byte) {
	end := 0
	for {
		i := bytes.IndexByte(lines[end:], '\r')
		if i < 0 || end+i+1 >= len(lines) {
			end = max(len(lines)-1, 0)
			return lines[:end], nil
		}
		end += i
		if lines[end+1] == '\n' {
			return lines[:end], lines[end+2:]
		}
		end++
	}
}

// appendHeaderLine encodes one "Name: value" line (none without a
// colon); own: one of nginx's own fields.
func appendHeaderLine(b []byte, line []byte, own bool, name *[]byte) []byte {
	colon := bytes.IndexByte(line, ':')
	if colon < 0 {
		return b
	}
	value := line[colon+1:]
	for len(value) > 0 && (value[0] == ' ' || value[0] == '\t') {
		value = value[1:]
	}
	if own {
		if first := ownFieldByte(line[:colon]); first != 0 {
			b = append(b, first)
			if first == ownContentLength {
				// nginx writes the digits raw.
				b = appendInt(b, 7, 0, uint64(len(value)))
				return append(b, value...)
			}
			return appendString(b, value)
		}
	}
	n := http1.AppendLower((*name)[:0], line[:colon])
	*name = n
	b = append(b, 0x00)
	b = appendString(b, n)
	return appendString(b, value)
}

// ownContentLength is content-length's first byte.
const ownContentLength = 0x40 | 28

// ownFieldByte is the first byte nginx codes its own field name with: a
// literal with incremental indexing and the static table's name (0 for
// another name).
func ownFieldByte(name []byte) byte {
	switch string(name) {
	case "Server":
		return 0x40 | 54
	case "Date":
		return 0x40 | 33
	case "Content-Type":
		return 0x40 | 31
	case "Content-Length":
		return ownContentLength
	case "Last-Modified":
		return 0x40 | 44
	case "Location":
		return 0x40 | 46
	case "Vary":
		return 0x40 | 59
	}
	return 0
}

// appendString is an HPACK string literal, Huffman-coded when shorter.
func appendString(b, s []byte) []byte {
	if len(s) == 0 {
		return append(b, 0)
	}
	str := unsafe.String(&s[0], len(s)) // read only, not kept
	if h := hpack.HuffmanEncodeLength(str); h < uint64(len(s)) {
		b = appendInt(b, 7, 0x80, h)
		return hpack.AppendHuffmanString(b, str)
	}
	b = appendInt(b, 7, 0, uint64(len(s)))
	return append(b, s...)
}

// appendInt is HPACK's integer with an n-bit prefix (RFC 7541 5.1).
func appendInt(b []byte, n uint, first byte, v uint64) []byte {
	k := uint64(1)<<n - 1
	if v < k {
		return append(b, first|byte(v))
	}
	b = append(b, first|byte(k))
	v -= k
	for v >= 128 {
		b = append(b, byte(0x80|(v&0x7f)))
		v >>= 7
	}
	return append(b, byte(v))
}

// SetChunkSize sets the location's http2_chunk_size.
func (s *Stream) SetChunkSize(n int) {
	if n > 0 {
		s.c.mu.Lock()
		s.chunk = n
		s.c.mu.Unlock()
	}
}

// The rest of net.Conn: the stream has the connection's addresses and
// its own deadlines.

func (s *Stream) Close() error         { return nil }
func (s *Stream) LocalAddr() net.Addr  { return s.c.nc.LocalAddr() }
func (s *Stream) RemoteAddr() net.Addr { return s.c.nc.RemoteAddr() }
func (s *Stream) SetDeadline(t time.Time) error {
	s.SetReadDeadline(t)
	return s.SetWriteDeadline(t)
}

// SetReadDeadline also wakes a Read waiting under the old deadline, so a
// deadline moved closer (a handler cutting a body read short) is seen.
func (s *Stream) SetReadDeadline(t time.Time) error {
	s.c.mu.Lock()
	s.readDL = t
	waiting := s.waiting&waitRead != 0
	s.c.mu.Unlock()
	if waiting {
		wake(s.readWake)
	}
	return nil
}

func (s *Stream) SetWriteDeadline(t time.Time) error {
	s.c.mu.Lock()
	s.writeDL = t
	s.c.mu.Unlock()
	return nil
}

func (s *Stream) String() string { return "http2 stream " + strconv.FormatUint(uint64(s.id), 10) }
