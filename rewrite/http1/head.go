package http1

import "math/bits"

// Limits are the per-server settings that shape parsing; the zero value
// means nginx's defaults (see DefaultLimits).
type Limits struct {
	ClientHeaderBufferSize int  // client_header_buffer_size (1k)
	LargeHeaderBufferSize  int  // large_client_header_buffers size (8k)
	LargeHeaderBuffers     int  // large_client_header_buffers number (4)
	MaxHeaders             int  // max_headers (1000; Debian's nginx 1.22 backports it)
	UnderscoresInHeaders   bool // underscores_in_headers (off)
	KeepInvalidHeaders     bool // ignore_invalid_headers off
	NoMergeSlashes         bool // merge_slashes off

	// ForHost, when set, gives the limits of the server the request's host
	// selects: nginx switches to that server's configuration as soon as the
	// request line or the Host header names it, and reads the large
	// buffers, max_headers, underscores_in_headers and
	// ignore_invalid_headers of the lines after from there. nil: keep these.
	ForHost func(host []byte) *Limits
	// MaxHeadAll is the largest head any server ForHost can select allows
	// (it sizes the read buffer); 0 when ForHost is nil.
	MaxHeadAll int
}

// DefaultLimits are nginx's defaults.
var DefaultLimits = Limits{ClientHeaderBufferSize: 1024, LargeHeaderBufferSize: 8192, LargeHeaderBuffers: 4, MaxHeaders: 1000}

func (l *Limits) withDefaults() Limits {
	v := *l
	if v.ClientHeaderBufferSize <= 0 {
		v.ClientHeaderBufferSize = DefaultLimits.ClientHeaderBufferSize
	}
	if v.LargeHeaderBufferSize <= 0 {
		v.LargeHeaderBufferSize = DefaultLimits.LargeHeaderBufferSize
	}
	if v.LargeHeaderBuffers <= 0 {
		v.LargeHeaderBuffers = DefaultLimits.LargeHeaderBuffers
	}
	if v.MaxHeaders <= 0 {
		v.MaxHeaders = DefaultLimits.MaxHeaders
	}
	return v
}

// maxHead is the most head bytes the limits allow.
func (l *Limits) maxHead() int {
	return max(l.ClientHeaderBufferSize+l.LargeHeaderBufferSize*l.LargeHeaderBuffers, l.MaxHeadAll)
}

// switchHost moves the parse to the limits of the server host selects
// (ngx_http_set_virtual_server), keeping the buffers counted so far. The
// limits are copied into r, which outlives the parse without allocating.
// Its first test is inlined at the callers (the rest is switchHostRun): the
// common case costs a test, not a call.
func switchHost(lim *Limits, sizer *headSizer, host []byte, r *Request) *Limits {
	if lim.ForHost == nil {
		return lim
	}
	return switchHostRun(lim, sizer, host, r)
}

// switchHostRun is switchHost past its first test.
func switchHostRun(lim *Limits, sizer *headSizer, host []byte, r *Request) *Limits {
	if lim.ForHost == nil {
		return lim
	}
	l := lim.ForHost(host)
	if l == nil {
		return lim
	}
	r.hostLimits = l.withDefaults()
	sizer.lim = &r.hostLimits
	return &r.hostLimits
}

// headSizer replays nginx's header buffer allocation: lines fill the
// client_header_buffer_size buffer; a line that does not fit moves to a
// fresh large buffer (of which there are LargeHeaderBuffers); a line that
// does not fit in one large buffer is too long.
type headSizer struct {
	lim        *Limits
	pos, size  int
	largeCount int
	// room is, for a header line found too long, how many of its bytes
	// nginx's buffer held when it gave up: what its log shows of it.
	room int
}

// add accounts for a complete line of n bytes (terminator included).
func (s *headSizer) add(n int, requestLine bool) *Error {
	if s.pos+n <= s.size {
		s.pos += n
		return nil
	}
	if n > s.lim.LargeHeaderBufferSize || s.largeCount == s.lim.LargeHeaderBuffers {
		return s.tooLarge(requestLine)
	}
	s.largeCount++
	s.size = s.lim.LargeHeaderBufferSize
	s.pos = n
	return nil
}

// partial checks an incomplete line of n bytes: nginx fails as soon as it
// would need a buffer it cannot have.
func (s *headSizer) partial(n int, requestLine bool) *Error {
	if s.pos+n < s.size {
		return nil
	}
	if n >= s.lim.LargeHeaderBufferSize || s.largeCount == s.lim.LargeHeaderBuffers {
		return s.tooLarge(requestLine)
	}
	return nil
}

// tooLarge is the error for a line that does not fit. nginx's
// ngx_http_alloc_large_header_buffer gives up on a header line when no
// buffer is left (the line starts in the current one and fills it) or
// when the line filled a whole large buffer it was moved to.
func (s *headSizer) tooLarge(requestLine bool) *Error {
	if requestLine {
		return errURITooLong
	}
	if s.largeCount == s.lim.LargeHeaderBuffers {
		s.room = s.size - s.pos
	} else {
		s.room = s.lim.LargeHeaderBufferSize
	}
	return errHeaderTooLarge
}

// uniqueHeaders may appear once; a second one is a 400 (nginx's
// ngx_http_process_unique_header_line and friends, checked on 1.22).
var uniqueHeaders = [...]string{"content-length", "transfer-encoding", "if-modified-since",
	"if-unmodified-since", "if-match", "if-none-match", "authorization", "if-range",
	"content-range", "expect"}

// uniqueByLen[n] has bit i set when uniqueHeaders[i] is n bytes long: a
// name is compared only with those of its length (most headers have
// none; the loop over all ten cost ~15 instructions a name each).
var uniqueByLen = func() (t [32]uint16) {
	for i, u := range uniqueHeaders {
		t[len(u)] |= 1 << i
	}
	return t
}()

// parseHead parses the request line and headers at the start of b into r.
// It returns the head length, or 0 (and nil) when more bytes are needed.
func parseHead(b []byte, r *Request, lim *Limits) (int, *Error) {
	// The normalized URI and host are appended to r.scratch; reserving
	// room for both up front keeps every slice into it valid.
	if cap(r.scratch) < len(b)+1 {
		r.scratch = make([]byte, 0, 2*len(b)+64)
	}
	sizer := headSizer{lim: lim, size: lim.ClientHeaderBufferSize}
	n, lim, err := takeRequestLine(b, r, lim, &sizer)
	if err != nil || n == 0 {
		return 0, err
	}
	if r.ProtoMajor == 0 {
		r.Head = b[:n]
		return n, nil
	}

	var facts headFacts
	connType := 0 // 1 close, 2 keep-alive
	pos := n
	for {
		var h headerLine
		m, err := parseHeaderLine(b[pos:], lim.UnderscoresInHeaders, false, &h)
		if err != nil {
			return 0, err
		}
		if m == 0 {
			if e := sizer.partial(len(b)-pos, false); e != nil {
				r.LongLineRoom = sizer.room
				return 0, e
			}
			return 0, nil
		}
		if e := sizer.add(m, false); e != nil {
			r.LongLineRoom = sizer.room
			return 0, e
		}
		line := b[pos : pos+m]
		pos += m
		r.Parsed = pos
		if h.end {
			break
		}
		if h.invalid && !lim.KeepInvalidHeaders {
			// nginx drops it, logging "client sent invalid header line".
			r.Dropped = append(r.Dropped, DroppedHeader{At: pos - m, Headers: len(r.Headers)})
			continue
		}
		if len(r.Headers) >= lim.MaxHeaders {
			return 0, errTooManyHeaders
		}
		name, value := line[:h.nameEnd], line[h.valueStart:h.valueEnd]
		if h.valueEnd < h.valueStart {
			value = line[h.valueStart:h.valueStart]
		}
		r.Headers = append(r.Headers, Header{Name: name, Value: value})
		r.nameLens |= lenBit(len(name))
		r.nameLensOf = len(r.Headers)
		switch {
		case equalFoldBytes(name, "host"):
			var err *Error
			if lim, err = takeHostHeader(r, value, lim, &sizer); err != nil {
				return 0, err
			}
			continue
		case equalFoldBytes(name, "connection"):
			if containsFold(value, "close") {
				connType = 1
			} else if containsFold(value, "keep-alive") {
				connType = 2
			}
			continue
		case equalFoldBytes(name, "upgrade"):
			r.Upgrade = true
			continue
		}
		if len(name) >= len(uniqueByLen) {
			continue
		}
		for m := uniqueByLen[len(name)]; m != 0; m &= m - 1 {
			i := bits.TrailingZeros16(m)
			if equalFoldSameLen(name, uniqueHeaders[i]) {
				if err := facts.unique(i, value); err != nil {
					return 0, err
				}
				break
			}
		}
	}
	r.Head = b[:pos]
	if err := processHead(r, &facts, connType); err != nil {
		return 0, err
	}
	return pos, nil
}

// takeHostHeader takes a Host header's value into r: the limits the
// lines after it are read under, which its server's may be.
// ngx_http_process_host validates the header even when the request line
// named the host (which then wins).
func takeHostHeader(r *Request, value []byte, lim *Limits, sizer *headSizer) (*Limits, *Error) {
	if r.HostHeader {
		return lim, errDuplicateHost
	}
	r.HostHeader = true
	host, ok := ValidateHost(r.scratch, value)
	if !ok {
		return lim, errInvalidHost
	}
	if r.Host == nil {
		r.scratch = r.scratch[:len(r.scratch)+len(host)]
		r.Host = host
		lim = switchHost(lim, sizer, host, r)
	}
	return lim, nil
}

// takeRequestLine parses the request line at b's start into r: its
// length, and the limits the lines after it are read under (an
// absolute URI's host may select another server's). 0 with a nil error:
// more bytes are needed.
func takeRequestLine(b []byte, r *Request, lim *Limits, sizer *headSizer) (int, *Limits, *Error) {
	var rl requestLine
	start, n, err := parseRequestLine(b, &rl)
	if err != nil {
		r.ProtoStarted = rl.protoStart >= 0
		if rl.methodEnd > start {
			// nginx knows the method once its token ended: a HEAD
			// rejected later in the line gets no body.
			r.MethodCode = methodCode(b[start:rl.methodEnd])
		}
		return 0, lim, err
	}
	if n == 0 {
		return 0, lim, sizer.partial(len(b), true)
	}
	if e := sizer.add(n, true); e != nil {
		return 0, lim, e
	}
	r.Parsed = n
	r.Method = b[start:rl.methodEnd]
	r.MethodCode = methodCode(r.Method)
	if rl.uriEnd < 0 {
		rl.uriEnd = rl.uriStart
	}
	r.RawURI = b[rl.uriStart:rl.uriEnd]
	if rl.schemaStart >= 0 {
		r.Target = b[rl.schemaStart:max(rl.uriEnd, rl.hostOnlyEnd)]
	}
	if rl.protoStart >= 0 {
		r.Proto = b[rl.protoStart:rl.protoEnd]
		r.ProtoMajor, r.ProtoMinor = rl.major, rl.minor
	} else {
		r.ProtoMajor, r.ProtoMinor = 0, 9
		if r.MethodCode != MethodGET {
			r.lineRejected = true
			return 0, lim, errInvalid09Method
		}
	}
	if e := processURI(b, &rl, r, !lim.NoMergeSlashes); e != nil {
		r.lineRejected = true
		return 0, lim, e
	}
	if rl.hostStart >= 0 {
		host, ok := ValidateHost(r.scratch, b[rl.hostStart:rl.hostEnd])
		if !ok {
			r.lineRejected = true
			return 0, lim, errInvalidHostLine
		}
		r.scratch = r.scratch[:len(r.scratch)+len(host)]
		r.Host = host
		lim = switchHost(lim, sizer, host, r)
	}
	return n, lim, nil
}

// headFacts is what a request head's parser keeps of the headers that
// may come once (uniqueHeaders) for processHead.
type headFacts struct {
	seen                            uint16 // bit i: uniqueHeaders[i] seen
	contentLength, transferEncoding []byte
	hasCL, hasTE                    bool
}

// unique takes uniqueHeaders[i]'s value; a second one is refused.
func (f *headFacts) unique(i int, value []byte) *Error {
	if f.seen&(1<<i) != 0 {
		return errDuplicateHeader
	}
	f.seen |= 1 << i
	switch i {
	case 0:
		f.contentLength, f.hasCL = value, true
	case 1:
		f.transferEncoding, f.hasTE = value, true
	}
	return nil
}

// processHead checks the headers taken as a whole, as
// ngx_http_process_request_header: the Host HTTP/1.1 needs, the body's
// framing, the methods refused; connType is Connection's (1 close, 2
// keep-alive, 0 none).
func processHead(r *Request, f *headFacts, connType int) *Error {
	if !r.HostHeader && (r.ProtoMajor > 1 || r.ProtoMinor > 0) {
		return errNoHost
	}
	if f.hasCL {
		v, ok := parseOffset(f.contentLength)
		if !ok {
			return errBadLength
		}
		r.ContentLength = v
	}
	if f.hasTE {
		if r.ProtoMajor == 1 && r.ProtoMinor == 0 {
			return errTE10
		}
		if !equalFoldBytes(f.transferEncoding, "chunked") {
			return errUnknownTE
		}
		if f.hasCL {
			return errTEAndLength
		}
		r.Chunked = true
	}
	if r.MethodCode == MethodCONNECT {
		return errConnect
	}
	if r.MethodCode == MethodTRACE {
		return errTrace
	}
	switch connType {
	case 1:
		r.Close = true
	case 2:
		r.KeepAlive = true
	default:
		r.KeepAlive = r.ProtoMajor == 1 && r.ProtoMinor > 0
	}
	return nil
}

// processURI fills Path, URI, Args and the flags, as
// ngx_http_process_request_uri.
func processURI(b []byte, rl *requestLine, r *Request, mergeSlashes bool) *Error {
	raw := b[rl.uriStart:rl.uriEnd]
	r.QuotedURI, r.PlusInURI, r.ComplexURI = rl.quotedURI, rl.plusInURI, rl.complexURI
	if rl.argsStart >= 0 {
		r.Path = b[rl.uriStart : rl.argsStart-1]
	} else {
		r.Path = raw
	}
	if rl.complexURI || rl.quotedURI || rl.emptyPathInURI {
		if rl.emptyPathInURI {
			r.Path = raw[:0]
		}
		uri, args, hasArgs, plus, ok := NormalizeURI(r.scratch, raw, rl.emptyPathInURI, mergeSlashes)
		if !ok {
			r.URI, r.URIInvalid = raw[:0], true
			return errInvalidRequest
		}
		r.scratch = r.scratch[:len(r.scratch)+len(uri)]
		r.URI = uri
		r.PlusInURI = r.PlusInURI || plus
		// ngx_http_parse_complex_uri sets quoted_uri on any escape in
		// the path, also after a '.' or '/' the request line parser
		// handed over before seeing it.
		r.QuotedURI = r.QuotedURI || pathHasEscape(raw)
		r.Args, r.HasArgs = args, hasArgs
		if hasArgs && args == nil {
			r.Args = raw[len(raw):]
		}
		return nil
	}
	r.URI = r.Path
	if rl.argsStart >= 0 {
		r.Args, r.HasArgs = b[rl.argsStart:rl.uriEnd], true
	}
	return nil
}

// parseOffset is ngx_atoof: decimal digits only, no sign, no overflow.
func parseOffset(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var v int64
	const cutoff = (1<<63 - 1) / 10
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int64(c - '0')
		if v >= cutoff && (v > cutoff || d > (1<<63-1)%10) {
			return 0, false
		}
		v = v*10 + d
	}
	return v, true
}

// containsFold is ngx_strcasestrn: does b contain s (lower-case ASCII),
// ignoring case.
func containsFold(b []byte, s string) bool {
	if len(s) == 0 {
		return true
	}
	// Only an offset whose first byte matches s's, case aside (the bytes
	// differ in 0x20 at most), is compared in full: a compare at every
	// offset cost ~80 instructions each ("close" in "Upgrade": 3).
	c0 := s[0]
	for i := 0; i+len(s) <= len(b); i++ {
		if (b[i]^c0)&^0x20 == 0 && equalFoldSameLen(b[i:i+len(s)], s) {
			return true
		}
	}
	return false
}

// pathHasEscape reports a '%' in the path part of a request target (up to
// the first '?' or '#').
func pathHasEscape(raw []byte) bool {
	for _, c := range raw {
		switch c {
		case '%':
			return true
		case '?', '#':
			return false
		}
	}
	return false
}
