package http1

import (
	"bytes"
	"encoding/binary"
	"math/bits"
)

// headerLine is one parsed header line: offsets into the buffer.
type headerLine struct {
	nameEnd              int
	valueStart, valueEnd int
	invalid              bool // nginx's r->invalid_header: the name had bytes it does not hash
	skip                 bool // an IIS-style repeated status line, ignored
	end                  bool // the empty line that ends the head
}

// parseHeaderLine parses one header line starting at b[0], as
// ngx_http_parse_header_line. n == 0 with nil error: need more bytes.
// upstream enables nginx's tolerance for IIS's duplicate status lines.
//
// nginx's states (start, name, space before value, value, space after
// value, almost done, ignore line, header almost done) are the steps
// below, each a loop of its own: a state machine that dispatched on its
// state for every byte cost ~15 instructions a byte.
func parseHeaderLine(b []byte, underscores, upstream bool, h *headerLine) (n int, err *Error) {
	*h = headerLine{}
	if len(b) == 0 {
		return 0, nil
	}
	switch ch := b[0]; {
	case ch == '\r': // the empty line: header almost done
		if len(b) < 2 {
			return 0, nil
		}
		if b[1] != '\n' {
			return 0, errInvalidHeader
		}
		h.end = true
		return 2, nil
	case ch == '\n':
		h.end = true
		return 1, nil
	case lowcase[ch] != 0:
	case ch == '_':
		h.invalid = !underscores
	case ch <= 0x20 || ch == 0x7f || ch == ':':
		return 0, errInvalidHeader
	default:
		h.invalid = true
	}
	// The name.
	for p := 1; p < len(b); p++ {
		ch := b[p]
		if lowcase[ch] != 0 {
			continue
		}
		switch ch {
		case '_':
			if !underscores {
				h.invalid = true
			}
			continue
		case ':':
			h.nameEnd = p
			return headerValue(b, p+1, h)
		case '\r':
			h.nameEnd, h.valueStart, h.valueEnd = p, p, p
			return headerLineEnd(b, p+1)
		case '\n':
			h.nameEnd, h.valueStart, h.valueEnd = p, p, p
			return p + 1, nil
		}
		if ch == '/' && upstream && p == 4 && string(b[:4]) == "HTTP" {
			// A repeated status line (IIS): ignored to its end.
			i := bytes.IndexByte(b[p+1:], '\n')
			if i < 0 {
				return 0, nil
			}
			p += 1 + i
			h.skip = true
			h.nameEnd, h.valueStart, h.valueEnd = p, p, p
			return p + 1, nil
		}
		if ch <= 0x20 || ch == 0x7f {
			return 0, errInvalidHeader
		}
		h.invalid = true
	}
	return 0, nil
}

// headerValue parses a header line from the byte after its colon at p:
// the spaces before the value, the value (spaces inside it kept,
// trailing ones not; tabs are never spaces there), the line's end.
func headerValue(b []byte, p int, h *headerLine) (int, *Error) {
spaces:
	for ; p < len(b); p++ {
		switch b[p] {
		case ' ': // a tab is the value's, as nginx's "space before value" has it
		case '\r':
			h.valueStart, h.valueEnd = p, p
			return headerLineEnd(b, p+1)
		case '\n':
			h.valueStart, h.valueEnd = p, p
			return p + 1, nil
		case 0:
			return 0, errInvalidHeader
		default:
			break spaces
		}
	}
	if p == len(b) {
		return 0, nil
	}
	h.valueStart = p
	// The value runs to its line's end (CR, LF, or a NUL nginx rejects),
	// found eight bytes at a time; the spaces before that end are not
	// the value's (nginx's value state leaves them to "space after
	// value"), its spaces inside are.
	q := p + 1
	for ; q+8 <= len(b); q += 8 {
		if k := firstLineEnd(binary.LittleEndian.Uint64(b[q:])); k < 8 {
			q += k
			return valueEnd(b, p, q, h)
		}
	}
	for ; q < len(b); q++ {
		if c := b[q]; c == '\r' || c == '\n' || c == 0 {
			return valueEnd(b, p, q, h)
		}
	}
	return 0, nil
}

// valueEnd ends a value that starts at b[start], not a space, at the
// CR, LF or NUL at b[q].
func valueEnd(b []byte, start, q int, h *headerLine) (int, *Error) {
	end := q
	for end > start && b[end-1] == ' ' { // a trailing tab stays, as in nginx
		end--
	}
	h.valueEnd = end
	switch b[q] {
	case '\r':
		return headerLineEnd(b, q+1)
	case '\n':
		return q + 1, nil
	}
	return 0, errInvalidHeader
}

// headerLineEnd is nginx's "almost done": after a CR, more CRs and then
// the LF.
func headerLineEnd(b []byte, p int) (int, *Error) {
	for ; p < len(b); p++ {
		switch b[p] {
		case '\n':
			return p + 1, nil
		case '\r':
		default:
			return 0, errInvalidHeader
		}
	}
	return 0, nil
}

// firstLineEnd is the index of x's first byte (little-endian) that is
// CR, LF or NUL; 8: none. Each of the three is found as a zero byte of x
// or of x with CR or LF's bits flipped: a zero's borrow sets its top bit
// and only runs upward from it, so each word's lowest bit set is exact
// (Bit Twiddling Hacks' haszero), and the lowest of the three too.
func firstLineEnd(x uint64) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	cr, lf := x^(ones*'\r'), x^(ones*'\n')
	z := (x-ones)&^x | (cr-ones)&^cr | (lf-ones)&^lf
	return bits.TrailingZeros64(z&highs) >> 3
}
