package http1

import "bytes"

// ResponseHead is a backend's status line and headers as received, for
// the proxy. Slices alias the buffer given to ParseResponseHead.
type ResponseHead struct {
	Major, Minor int
	Status       int
	StatusLine   []byte // "301 Moved": from the code to the end of the line
	Headers      []Header
}

var (
	// ErrInvalidStatusLine: the backend did not start with "HTTP/x.y NNN";
	// nginx then passes its bytes on as an HTTP/0.9 response.
	ErrInvalidStatusLine = &Error{502, "upstream sent no valid HTTP/1.0 header"}
	// ErrInvalidUpstreamHeader: a malformed header line (nginx: 502).
	ErrInvalidUpstreamHeader = &Error{502, "upstream sent invalid header"}
)

// ParseResponseHead parses a response head at the start of b, as
// ngx_http_parse_status_line and ngx_http_parse_header_line (with
// underscores allowed and IIS's repeated status lines skipped). It
// returns the head's length, or 0 when more bytes are needed.
func ParseResponseHead(b []byte, h *ResponseHead) (int, *Error) {
	h.Headers = h.Headers[:0]
	h.Status, h.Major, h.Minor = 0, 0, 0
	var start, p int
	if len(b) >= 13 && string(b[:7]) == "HTTP/1." && isDigit(b[7]) && b[8] == ' ' &&
		isDigit(b[9]) && isDigit(b[10]) && isDigit(b[11]) {
		// The usual "HTTP/1.x NNN", taken at once as statusStart takes
		// it (its loops cost ~230 instructions).
		switch b[12] {
		case ' ', '.', '\r', '\n':
		default:
			return 0, ErrInvalidStatusLine
		}
		h.Major, h.Minor = 1, int(b[7]-'0')
		h.Status = int(b[9]-'0')*100 + int(b[10]-'0')*10 + int(b[11]-'0')
		start, p = 9, 12
	} else {
		var err *Error
		if start, p, err = statusStart(b, h); p == 0 {
			return 0, err
		}
	}
	end, next := statusLineEnd(b, p)
	if next == 0 {
		return 0, nil
	}
	h.StatusLine = b[start:end]
	return parseUpstreamHeaders(b, next, h)
}

// statusLineEnd finds the end of the status line whose rest starts at
// b[p]: end, where the line shown ends (its first CR before the LF, or
// the LF), and next, the byte after the LF; next 0: no LF yet. Found
// with IndexByte: a loop over the reason phrase cost ~14 instructions a
// byte ("101 Switching Protocols").
func statusLineEnd(b []byte, p int) (end, next int) {
	lf := bytes.IndexByte(b[p:], '\n')
	if lf < 0 {
		return 0, 0
	}
	end = p + lf
	if cr := bytes.IndexByte(b[p:end], '\r'); cr >= 0 {
		end = p + cr
	}
	return end, p + lf + 1
}

// statusStart parses a status line up to its code and the byte after
// it, as ngx_http_parse_status_line: the code's start and the index of
// that byte; p == 0 when more bytes are needed or on err.
func statusStart(b []byte, h *ResponseHead) (start, p int, err *Error) {
	const prefix = "HTTP/"
	for ; p < len(prefix); p++ {
		if p >= len(b) {
			return 0, 0, nil
		}
		if b[p] != prefix[p] {
			return 0, 0, ErrInvalidStatusLine
		}
	}
	// major
	if p >= len(b) {
		return 0, 0, nil
	}
	if b[p] < '1' || b[p] > '9' {
		return 0, 0, ErrInvalidStatusLine
	}
	for ; p < len(b) && b[p] != '.'; p++ {
		if b[p] < '0' || b[p] > '9' || h.Major > 99 {
			return 0, 0, ErrInvalidStatusLine
		}
		h.Major = h.Major*10 + int(b[p]-'0')
	}
	p++
	if p >= len(b) {
		return 0, 0, nil
	}
	if b[p] < '0' || b[p] > '9' {
		return 0, 0, ErrInvalidStatusLine
	}
	for ; p < len(b) && b[p] != ' '; p++ {
		if b[p] < '0' || b[p] > '9' || h.Minor > 99 {
			return 0, 0, ErrInvalidStatusLine
		}
		h.Minor = h.Minor*10 + int(b[p]-'0')
	}
	for p < len(b) && b[p] == ' ' {
		p++
	}
	start = p
	count := 0
	for ; p < len(b) && count < 3; p++ {
		if b[p] < '0' || b[p] > '9' {
			return 0, 0, ErrInvalidStatusLine
		}
		h.Status = h.Status*10 + int(b[p]-'0')
		count++
	}
	if p >= len(b) {
		return 0, 0, nil
	}
	switch b[p] {
	case ' ', '.', '\r', '\n':
	default:
		return 0, 0, ErrInvalidStatusLine
	}
	return start, p, nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// ParseHeaderLines parses header lines up to the empty line at the start
// of b into h.Headers, as ngx_http_parse_header_line does for a CGI
// response (FastCGI's head has no status line). It returns the head's
// length, or 0 when more bytes are needed.
func ParseHeaderLines(b []byte, h *ResponseHead) (int, *Error) {
	h.Headers = h.Headers[:0]
	return parseUpstreamHeaders(b, 0, h)
}

func parseUpstreamHeaders(b []byte, p int, h *ResponseHead) (int, *Error) {
	for {
		var hl headerLine
		m, err := parseHeaderLine(b[p:], true, true, &hl)
		if err != nil {
			return 0, ErrInvalidUpstreamHeader
		}
		if m == 0 {
			return 0, nil
		}
		line := b[p : p+m]
		p += m
		if hl.end {
			return p, nil
		}
		if hl.skip {
			continue // a skipped "HTTP/1.1 ..." line
		}
		value := line[hl.valueStart:hl.valueStart]
		if hl.valueEnd > hl.valueStart {
			value = line[hl.valueStart:hl.valueEnd]
		}
		h.Headers = append(h.Headers, Header{Name: line[:hl.nameEnd], Value: value})
	}
}

// ParseOffset parses a Content-Length value as nginx's ngx_atoof.
func ParseOffset(b []byte) (int64, bool) { return parseOffset(b) }

// EqualFold reports whether b equals the ASCII string s ignoring case.
func EqualFold(b []byte, s string) bool { return equalFoldBytes(b, s) }

// ContainsFold reports whether b contains s (lower-case ASCII) ignoring case.
func ContainsFold(b []byte, s string) bool { return containsFold(b, s) }
