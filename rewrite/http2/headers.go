package http2

import (
	"bytes"
	"encoding/binary"
	"io"
	"runtime"
	"time"

	"github.com/gonginx/gonginx/rewrite/http1"
	"golang.org/x/net/http2"
)

// headerBlock is the request head being decoded from HEADERS and
// CONTINUATION frames, turned into HTTP/1 form as its fields arrive.
type headerBlock struct {
	st        *Stream // nil: the block is decoded only for the HPACK state
	active    bool    // a block without END_HEADERS is being read
	endStream bool
	limit     int   // header bytes left (nginx's state.header_limit)
	connErr   error // a field broke the connection
	rst       bool  // a field was malformed: the stream is reset
	stop      bool  // the request was answered (400): later fields are ignored

	method, path, scheme []byte
	http1.FieldLines     // header lines, "name: value\r\n"
	cookies              []byte
	cookieN              int  // cookie fields so far: an empty one counts too
	fragments            int  // the block's fragments decoded so far
	dropped              bool // an invalid field was dropped (and logged)

	hf   headersFrame // the HEADERS frame read last (readFrame)
	seen *seenBlock   // the last whole block that decoded clean
}

// seenBlock is a header block, one HEADERS frame of indexed fields
// alone, and what its decoding left in the headerBlock: a client that
// sends the same fields each request (a gRPC client's calls) sends the
// same bytes once its encoder's table holds them, and while the
// decoder's table is the same (gen) they decode to the same fields,
// checked the same way, without a log line; they are taken as they
// were, not decoded and checked again (~3k instructions a gRPC call).
type seenBlock struct {
	key                           []byte
	gen                           uint64
	lines                         http1.FieldLines
	method, path, scheme, cookies []byte
	cookieN, limit                int
}

// seenBlockMax: longer blocks are decoded each time.
const seenBlockMax = 1024

func (s *seenBlock) keep(key []byte, gen uint64, b *headerBlock) {
	s.key, s.gen, s.limit, s.cookieN = append(s.key[:0], key...), gen, b.limit, b.cookieN
	s.lines.Lines = append(s.lines.Lines[:0], b.Lines...)
	s.lines.Fields = append(s.lines.Fields[:0], b.Fields...)
	s.method = append(s.method[:0], b.method...)
	s.path = append(s.path[:0], b.path...)
	s.scheme = append(s.scheme[:0], b.scheme...)
	s.cookies = append(s.cookies[:0], b.cookies...)
}

func (s *seenBlock) replay(b *headerBlock) {
	b.limit, b.cookieN = s.limit, s.cookieN
	b.Lines = append(b.Lines[:0], s.lines.Lines...)
	b.Fields = append(b.Fields[:0], s.lines.Fields...)
	b.method = append(b.method[:0], s.method...)
	b.path = append(b.path[:0], s.path...)
	b.scheme = append(b.scheme[:0], s.scheme...)
	b.cookies = append(b.cookies[:0], s.cookies...)
}

// host is the block's Host so far (:authority or a host field), as
// nginx's log context shows it; nil before one came.
func (b *headerBlock) host() []byte {
	for p := b.Lines; len(p) > 0; {
		line := p
		if i := indexCRLF(p); i >= 0 {
			line, p = p[:i], p[i+2:]
		} else {
			p = nil
		}
		if len(line) >= 6 && string(line[:6]) == "host: " {
			return line[6:]
		}
	}
	return nil
}

// hostCopy keeps a host past the block's buffers (an error's only).
func hostCopy(h []byte) []byte {
	if h == nil {
		return nil
	}
	return append([]byte{}, h...)
}

func indexCRLF(p []byte) int {
	for i := 0; i+1 < len(p); i++ {
		if p[i] == '\r' && p[i+1] == '\n' {
			return i
		}
	}
	return -1
}

// headersFrame is a HEADERS frame as onHeaders reads it: the Framer's
// HeadersFrame's parts, the fragment in the read buffer until the next
// frame is read (readHeaders).
type headersFrame struct {
	http2.FrameHeader
	Priority http2.PriorityParam
	frag     []byte
}

func (f *headersFrame) HasPriority() bool           { return f.Flags.Has(http2.FlagHeadersPriority) }
func (f *headersFrame) StreamEnded() bool           { return f.Flags.Has(http2.FlagHeadersEndStream) }
func (f *headersFrame) HeadersEnded() bool          { return f.Flags.Has(http2.FlagHeadersEndHeaders) }
func (f *headersFrame) HeaderBlockFragment() []byte { return f.frag }

// readHeaders takes a HEADERS frame's payload, buffered whole, into
// c.block.hf (FramePayload): the Framer makes a frame value per request
// and copies the payload out of the buffer. The fragment is valid until
// the next frame is read, as the Framer's.
func (c *Conn) readHeaders(fh http2.FrameHeader) error {
	var p []byte
	if n := int(fh.Length); n > 0 {
		var err error
		if p, err = c.br.Peek(n); err != nil {
			return err
		}
		c.br.r += n
	}
	frag, prio, err := FramePayload(fh, p)
	if err != nil {
		return err
	}
	c.block.hf = headersFrame{FrameHeader: fh, Priority: prio, frag: frag}
	return nil
}

// FramePayload is what x/net's Framer's parsers take of a DATA or
// HEADERS frame's payload p: the data or the header block fragment
// (padding and a HEADERS frame's priority taken off), with their errors
// (a frame of stream 0, a missing pad length or priority, padding past
// the payload), for readers that take these frames past the Framer,
// which makes a frame value per frame and copies its payload.
func FramePayload(fh http2.FrameHeader, p []byte) ([]byte, http2.PriorityParam, error) {
	var prio http2.PriorityParam
	if fh.StreamID == 0 {
		return nil, prio, http2.ConnectionError(http2.ErrCodeProtocol)
	}
	headers := fh.Type == http2.FrameHeaders
	pad := 0
	if headers && fh.Flags.Has(http2.FlagHeadersPadded) || !headers && fh.Flags.Has(http2.FlagDataPadded) {
		if len(p) == 0 {
			return nil, prio, io.ErrUnexpectedEOF
		}
		pad, p = int(p[0]), p[1:]
	}
	if headers && fh.Flags.Has(http2.FlagHeadersPriority) {
		if len(p) < 5 {
			return nil, prio, io.ErrUnexpectedEOF
		}
		v := binary.BigEndian.Uint32(p)
		prio.StreamDep = v & 0x7fffffff
		prio.Exclusive = v != prio.StreamDep
		prio.Weight = p[4]
		p = p[5:]
	}
	if pad > len(p) {
		if headers {
			return nil, http2.PriorityParam{}, http2.StreamError{StreamID: fh.StreamID, Code: http2.ErrCodeProtocol}
		}
		return nil, prio, http2.ConnectionError(http2.ErrCodeProtocol)
	}
	return p[:len(p)-pad], prio, nil
}

func (c *Conn) onHeaders(f *headersFrame) error {
	id := f.StreamID
	if id%2 == 0 || id <= c.lastID {
		c.logInfo("client sent HEADERS frame with incorrect identifier " + num(int64(id)) + ", the last was " + num(int64(c.lastID)))
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	if f.HasPriority() && f.Priority.StreamDep == id {
		c.logInfo("client sent HEADERS frame for stream " + num(int64(id)) + " with incorrect dependency")
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	c.lastID = id
	b := c.block
	*b = headerBlock{limit: c.cfg.HeaderLimit, endStream: f.StreamEnded(),
		FieldLines: http1.FieldLines{Lines: b.Lines[:0], Fields: b.Fields[:0]}, cookies: b.cookies[:0], method: b.method[:0], path: b.path[:0], scheme: b.scheme[:0],
		seen: b.seen}
	c.mu.Lock()
	goaway, processing := c.goaway, c.processing-c.ending
	c.mu.Unlock()
	b.active = !f.HeadersEnded()
	switch {
	case goaway:
		// nginx skips HEADERS after its GOAWAY.
	case id == c.timedOutID:
		// Reset when its block stalled; decoded for the table only.
	case processing >= c.cfg.MaxConcurrentStreams:
		c.logInfo("concurrent streams exceeded " + num(int64(processing)))
		c.sendRst(id, http2.ErrCodeRefusedStream)
	case !c.settingsAcked && !f.StreamEnded() && c.cfg.PrereadSize < defaultWindow:
		c.logInfo("client sent stream with data before settings were acknowledged")
		c.sendRst(id, http2.ErrCodeRefusedStream)
	default:
		st := newStream(c, id)
		st.reqLen = len(f.HeaderBlockFragment())
		c.mu.Lock()
		if _, known := c.nodes[id]; f.HasPriority() || !known {
			dep, weight, excl := uint32(0), 16, false
			if f.HasPriority() {
				dep, weight, excl = f.Priority.StreamDep, int(f.Priority.Weight)+1, f.Priority.Exclusive
			}
			c.setPriorityLocked(id, dep, weight, excl)
		}
		if c.streams == nil {
			c.streams = make(map[uint32]*Stream)
		}
		c.streams[id] = st
		c.live = append(c.live, st)
		c.processing++
		c.prioLimit += c.cfg.MaxConcurrentStreams
		c.requests++
		st.requests = c.requests
		limitReached := c.cfg.IdleTimeout == 0 || c.requests >= c.cfg.MaxRequests ||
			c.cfg.MaxTime > 0 && time.Since(c.start) > c.cfg.MaxTime
		c.mu.Unlock()
		// The idle deadline stays armed, not cleared here (nginx has no
		// read timer while streams run): the reader waiting under it
		// then sees the next stream's end push it on with no wake
		// (poller's setDeadline), where a cleared one would have it woken
		// each time. Should it pass while streams run, readError and
		// waitRest clear it and read on.
		b.st = st
		if limitReached {
			c.goAway(http2.ErrCodeNo)
		}
	}
	return c.decodeFragment(f.HeaderBlockFragment(), f.HeadersEnded())
}

func (c *Conn) onContinuation(f *http2.ContinuationFrame) error {
	if c.block.st != nil {
		c.block.st.reqLen += len(f.HeaderBlockFragment())
	}
	return c.decodeFragment(f.HeaderBlockFragment(), f.HeadersEnded())
}

func (c *Conn) sendRst(id uint32, code http2.ErrCode) {
	c.wmu.Lock()
	c.framer().WriteRSTStream(id, code)
	c.flushLocked()
	c.wmu.Unlock()
}

// decodeFragment feeds a piece of the header block to the decoder; at
// the block's end the stream starts (or is answered, or reset).
func (c *Conn) decodeFragment(frag []byte, end bool) error {
	b, d := c.block, c.hdec
	b.fragments++
	// A whole block for a stream (the decoding of one for the table
	// alone checks nothing) may be the one seen last.
	whole := end && b.fragments == 1 && b.st != nil && len(d.pend) == 0 && len(frag) <= seenBlockMax
	if whole && b.seen != nil && b.seen.gen == d.gen && bytes.Equal(b.seen.key, frag) {
		b.seen.replay(b)
		whole = false
	} else {
		gen := d.gen
		d.literal = false
		if err := d.Write(frag); err != nil && b.connErr == nil {
			he := err.(*hpackError)
			c.logInfo(he.msg)
			b.connErr = http2.ConnectionError(he.code)
		}
		if b.connErr != nil {
			c.dropBlockStream()
			return b.connErr
		}
		whole = whole && !d.literal && d.gen == gen && !b.rst && !b.stop && !b.dropped && b.st.perr == nil
	}
	if !end {
		return nil
	}
	b.active = false
	if err := d.Close(); err != nil {
		// A field cut by the block's end: nginx's SIZE_ERROR.
		c.logInfo(err.Error())
		c.dropBlockStream()
		return http2.ConnectionError(http2.ErrCodeFrameSize)
	}
	if whole {
		if b.seen == nil {
			b.seen = new(seenBlock)
		}
		b.seen.keep(frag, d.gen, b)
	}
	st := b.st
	b.st = nil
	if st == nil {
		return nil
	}
	if b.rst {
		st.rstSent = true // not yet shared: no lock needed
		c.sendRst(st.id, http2.ErrCodeProtocol)
		st.malformed, st.inClosed, st.outClosed = true, true, true
	}
	st.hasBody = !b.endStream
	st.inClosed = b.endStream
	if st.perr == nil {
		c.buildHead(st)
	}
	c.payloadBytes += int64(st.reqLen)
	c.wg.Add(1)
	if st.malformed {
		// Only logged: at once, before the streams after it.
		c.runStream(st)
	} else {
		startStream(c, st)
	}
	return nil
}

func (c *Conn) dropBlockStream() {
	if st := c.block.st; st != nil {
		c.block.st = nil
		c.dropStream(st)
	}
}

// dropStream forgets a stream whose handler never ran.
func (c *Conn) dropStream(st *Stream) {
	c.mu.Lock()
	c.forgetLocked(st)
	c.processing--
	c.mu.Unlock()
	c.armIdle()
}

// buildHead writes the request in HTTP/1 form: nginx builds its request
// line from :method, :path and " HTTP/2.0" and the Cookie header from the
// cookies joined with "; ", after the other headers; empty cookie fields
// are joined too (ngx_http_v2_construct_cookie_header), "; b=2" from ""
// and "b=2", and a lone empty one is an empty Cookie header.
func (c *Conn) buildHead(st *Stream) {
	b := c.block
	switch {
	case len(b.method) == 0:
		st.perr = &http1.Error{Status: 400, Msg: "client sent no :method header"}
		st.perrHost = hostCopy(b.host())
		return
	case len(b.scheme) == 0:
		st.perr = &http1.Error{Status: 400, Msg: "client sent no :scheme header"}
		st.perrHost = hostCopy(b.host())
		return
	case len(b.path) == 0:
		st.perr = &http1.Error{Status: 400, Msg: "client sent no :path header"}
		st.perrHost = hostCopy(b.host())
		return
	}
	if b.cookieN > 0 {
		b.Add(cookieName, b.cookies, false)
	}
	h := st.head.Text[:0]
	h = append(h, b.method...)
	h = append(h, ' ')
	h = append(h, b.path...)
	h = append(h, " HTTP/1.1\r\n"...)
	st.head.LineEnd = len(h)
	h = append(h, b.Lines...)
	h = append(h, '\r', '\n')
	st.head.Text = h
	st.head.Fields = append(st.head.Fields[:0], b.Fields...)
	st.head.Underscores = c.cfg.UnderscoresInHeaders
}

// emitField is the decoder's: one field of the block, validated as
// ngx_http_v2_state_process_header does.
func (c *Conn) emitField(name, value []byte) {
	b := c.block
	if b.connErr != nil {
		return
	}
	size := len(name) + len(value)
	if size > b.limit {
		c.logInfo("client sent too large header")
		b.connErr = http2.ConnectionError(http2.ErrCodeEnhanceYourCalm)
		return
	}
	b.limit -= size
	if len(name) == 0 {
		c.logInfo("client sent zero header name length")
		b.connErr = http2.ConnectionError(http2.ErrCodeProtocol)
		return
	}
	st := b.st
	if st == nil || b.rst || b.stop {
		return
	}
	invalid := false
	switch c.fieldVerdict(name, value) {
	case fieldBadName:
		c.logStream("client sent invalid header name: \"" + string(name) + "\"")
		b.rst = true
		return
	case fieldBadValue:
		c.logStream("client sent header \"" + string(name) + "\" with invalid value: \"" + string(value) + "\"")
		b.rst = true
		return
	case fieldInvalid:
		invalid = true
	}
	if name[0] == ':' {
		if msg := c.pseudoHeader(name[1:], value); msg != "" {
			// The request's 400 logs it (location), in the stream's context.
			st.perr = &http1.Error{Status: 400, Msg: msg}
			st.perrHost = hostCopy(b.host())
			b.stop = true
		}
		return
	}
	if invalid && c.cfg.IgnoreInvalidHeaders {
		c.logStream("client sent invalid header: \"" + string(name) + "\"")
		b.dropped = true
		return
	}
	if string(name) == "cookie" {
		if b.cookieN > 0 {
			b.cookies = append(b.cookies, "; "...)
		}
		b.cookies = append(b.cookies, value...)
		b.cookieN++
		return
	}
	b.Add(name, value, invalid)
}

var cookieName, hostName = []byte("cookie"), []byte("host")

// fieldVerdict is checkField's verdict on the field the decoder emits,
// taken from its table entry's slot when the entry was checked before
// (the connection's underscores_in_headers does not change), the name's
// check left out when it is the static table's.
func (c *Conn) fieldVerdict(name, value []byte) int {
	d := c.hdec
	if p := d.verdict; p != nil && *p != 0 {
		return int(*p - 1)
	}
	var v int
	switch {
	case !d.staticName:
		v = checkField(name, value, c.cfg.UnderscoresInHeaders)
	case HasLineEnd(value):
		v = fieldBadValue
	default:
		v = fieldOK
	}
	if p := d.verdict; p != nil {
		*p = uint8(v + 1)
	}
	return v
}

// A header name's byte, as ngx_http_v2_state_process_header sees it
// after a leading ':': a lower-case letter, digit or '-' is fine, '_'
// with underscores_in_headers; a control, space, DEL, ':' or upper-case
// letter resets the stream; any other is invalid (ignore_invalid_headers).
const (
	nameInvalid = iota
	nameOK
	nameUnderscore
	nameBad
)

var nameClass = func() (t [256]uint8) {
	for ch := 0; ch < 256; ch++ {
		switch {
		case ch >= 'a' && ch <= 'z' || ch == '-' || ch >= '0' && ch <= '9':
			t[ch] = nameOK
		case ch == '_':
			t[ch] = nameUnderscore
		case ch <= 0x20 || ch == 0x7f || ch == ':' || ch >= 'A' && ch <= 'Z':
			t[ch] = nameBad
		}
	}
	return t
}()

// checkField's verdicts on a field.
const (
	fieldOK       = iota
	fieldInvalid  // a name byte ignore_invalid_headers drops the field for
	fieldBadName  // the stream is reset
	fieldBadValue // the stream is reset
)

// checkField checks a field's name (a leading ':' aside) and value as
// ngx_http_v2_state_process_header does, by table and eight value bytes
// at a time (a byte at a time with three comparisons each was ~20
// instructions a byte, for every field of every request).
func checkField(name, value []byte, underscores bool) int {
	if len(name) > 0 && name[0] == ':' {
		name = name[1:]
	}
	verdict := fieldOK
	for _, ch := range name {
		switch nameClass[ch] {
		case nameOK:
			continue
		case nameUnderscore:
			if underscores {
				continue
			}
		case nameBad:
			return fieldBadName
		}
		verdict = fieldInvalid
	}
	if HasLineEnd(value) {
		return fieldBadValue
	}
	return verdict
}

// HasLineEnd reports whether v holds a NUL, LF or CR, which nginx
// refuses in a value: eight bytes at a time, each of the three found as
// a zero byte of the word or of the word with CR's or LF's bits flipped
// (a zero byte's borrow sets its top bit; a top bit set elsewhere only
// follows a zero below it, so "any" is exact).
func HasLineEnd(v []byte) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for len(v) >= 8 {
		x := binary.LittleEndian.Uint64(v)
		cr, lf := x^(ones*'\r'), x^(ones*'\n')
		if ((x-ones)&^x|(cr-ones)&^cr|(lf-ones)&^lf)&highs != 0 {
			return true
		}
		v = v[8:]
	}
	for _, ch := range v {
		if ch == 0 || ch == '\n' || ch == '\r' {
			return true
		}
	}
	return false
}

// pseudoHeader takes :path, :method, :scheme or :authority; it returns
// nginx's message for one it rejects with 400.
func (c *Conn) pseudoHeader(name, value []byte) string {
	b := c.block
	switch string(name) {
	case "path":
		switch {
		case len(b.path) > 0:
			return "client sent duplicate :path header"
		case len(value) == 0:
			return "client sent empty :path header"
		case !validPath(value):
			return "client sent invalid :path header: \"" + string(value) + "\""
		}
		b.path = append(b.path, value...)
	case "method":
		switch {
		case len(b.method) > 0:
			return "client sent duplicate :method header"
		case len(value) == 0:
			return "client sent empty :method header"
		}
		for i := 0; i < len(value); i++ {
			if ch := value[i]; (ch < 'A' || ch > 'Z') && ch != '_' && ch != '-' {
				return "client sent invalid method: \"" + string(value) + "\""
			}
		}
		b.method = append(b.method, value...)
	case "scheme":
		switch {
		case len(b.scheme) > 0:
			return "client sent duplicate :scheme header"
		case len(value) == 0:
			return "client sent empty :scheme header"
		}
		for i := 0; i < len(value); i++ {
			ch := value[i]
			if l := ch | 0x20; l >= 'a' && l <= 'z' {
				continue
			}
			if (ch >= '0' && ch <= '9' || ch == '+' || ch == '-' || ch == '.') && i > 0 {
				continue
			}
			return "client sent invalid :scheme header: \"" + string(value) + "\""
		}
		b.scheme = append(b.scheme, value...)
	case "authority":
		// The Host header, where the field stood (ngx_http_v2_parse_authority).
		b.Add(hostName, value, false)
	default:
		return "client sent unknown pseudo-header \":" + string(name) + "\""
	}
	return ""
}

// validPath is what ngx_http_parse_uri takes: an absolute path of
// printable characters.
func validPath(p []byte) bool {
	if p[0] != '/' {
		return false
	}
	for _, ch := range p {
		if badPathByte[ch] {
			return false
		}
	}
	return true
}

// badPathByte: a control, space or DEL; '#' is taken, the fragment
// dropped from $uri as an HTTP/1 request line's is (ngx_http_parse_uri
// marks it complex_uri) (a table: three comparisons
// a byte cost ~12 instructions a byte).
var badPathByte = func() (t [256]bool) {
	for ch := 0; ch <= ' '; ch++ {
		t[ch] = true
	}
	t[0x7f] = true
	return t
}()

// streamWorkers run the streams' handlers, each on a goroutine whose
// stack has grown for one before.
var streamWorkers = http1.NewWorkers(func(j streamJob) { j.c.runStream(j.st) })

type streamJob struct {
	c  *Conn
	st *Stream
}

func startStream(c *Conn, st *Stream) { streamWorkers.Go(streamJob{c, st}) }

// flushEnd writes the end that End held back. While other streams of
// the connection run, it first yields to the goroutines that are ready
// to run: streams whose backends answered together then end into the
// connection's buffer together, and the first of them back flushes them
// all in one TLS write, as nginx sends what a pass of its event loop
// queued on a connection at once; the others find nothing to write.
func (c *Conn) flushEnd() {
	c.mu.Lock()
	others := c.processing > 1
	c.mu.Unlock()
	if others {
		runtime.Gosched()
	}
	c.wmu.Lock()
	if c.buffered() > 0 {
		c.flushLocked()
	}
	c.wmu.Unlock()
}

// endedLocked counts st out of http2_max_concurrent_streams once its end
// is in the write buffer: nginx closes a stream in the pass that sends
// its end, before it reads another frame, so a client that opens its
// next stream on reading this one's end is not refused for it (the end
// is flushed, and the stream forgotten, when its handler has returned).
func (c *Conn) endedLocked(st *Stream) {
	if !st.ended {
		st.ended = true
		c.ending++
	}
}

// runStream runs a stream's request in its own goroutine, then ends the
// stream as ngx_http_v2_close_stream: a response that did not end is
// reset with INTERNAL_ERROR, a body the client still sends with NO_ERROR.
func (c *Conn) runStream(st *Stream) {
	defer c.wg.Done()
	c.h.ServeStream(st)
	c.flushEnd()
	c.mu.Lock()
	rst := !st.rstSent && st.err == nil
	code := http2.ErrCodeNo
	if !st.outClosed {
		code = http2.ErrCodeInternal
		if st.timedOut {
			code = http2.ErrCodeProtocol // nginx's fc->timedout
		}
	} else if st.inClosed {
		rst = false
	}
	if rst {
		st.rstSent = true
	}
	st.err = errConnClosed
	c.forgetLocked(st)
	c.processing--
	if st.ended {
		c.ending--
	}
	closeNow := c.processing == 0 && c.goaway
	c.armIdleLocked()
	c.mu.Unlock()
	if rst {
		c.sendRst(st.id, code)
	}
	st.release()
	if closeNow {
		c.endGracefully()
	}
}
