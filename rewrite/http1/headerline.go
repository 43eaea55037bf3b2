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
// trailing ones not), the line's end.
func headerValue(b []byte, p int, h *headerLine) (int, *Error) {
spaces:
	for ; p < len(b); p++ {
		switch b[p] {
		case ' ', '\t':
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
	// in: the last byte was part of the value (nginx's value state), not
	// a space after it; valueEnd is set where a run of the value ends.
	in := true
	for p++; p < len(b); p++ {
		if p+8 <= len(b) {
			// Eight bytes at a time: the value's ordinary bytes are
			// skipped to the first space or control byte (long values,
			// user agents and cookies, take a step per word).
			k := firstCtlOrSpace(binary.LittleEndian.Uint64(b[p:]))
			if k > 0 {
				in = true
				p += k
			}
			if k == 8 {
				p--
				continue
			}
		} else if b[p] > ' ' {
			in = true
			continue
		}
		switch b[p] {
		case ' ', '\t':
			if in {
				h.valueEnd, in = p, false
			}
		case '\r':
			if in {
				h.valueEnd = p
			}
			return headerLineEnd(b, p+1)
		case '\n':
			if in {
				h.valueEnd = p
			}
			return p + 1, nil
		case 0:
			return 0, errInvalidHeader
		default:
			in = true
		}
	}
	return 0, nil
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

// firstCtlOrSpace is the index of x's first byte (little-endian) below
// 0x21, a space or a control byte such as CR, LF, tab or NUL; 8: none.
// The subtraction's borrow sets the top bit of every byte below 0x21, ^x
// clears it for bytes of 0x80 or more, and a borrow only runs upward from
// such a byte: the lowest bit set is exact (Bit Twiddling Hacks' hasless).
func firstCtlOrSpace(x uint64) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	return bits.TrailingZeros64((x-ones*0x21)&^x&highs) >> 3
}
