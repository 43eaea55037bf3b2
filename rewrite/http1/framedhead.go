package http1

import "math/bits"

// FramedHead is a request head a framed protocol built in HTTP/1 form
// (HTTP/2's fields), with where its header lines' parts lie: the
// protocol split the fields already, so StartFramedHead takes them as
// they are instead of parsing the lines again. Text is as StartFramed
// takes it ("METHOD URI HTTP/1.1\r\n", the header lines, "\r\n"); the
// lines' names are lower case (HTTP/2 resets a stream whose are not)
// and hold no control, space or ':' byte, their values no NUL, CR or LF.
type FramedHead struct {
	Text []byte
	// LineEnd is where the request line ends (after its "\r\n"): the
	// offsets in Fields count from there.
	LineEnd int
	Fields  []FieldAt
	// Underscores is the underscores_in_headers the fields' Invalid was
	// judged under.
	Underscores bool
}

// FieldAt is one header line of a FramedHead, its offsets from the
// first header line: the line starts where the one before ended, its
// name ends at NameEnd, its value (as the framed protocol sent it,
// spaces around it included) is [ValueStart, ValueEnd), and the line
// ends after its "\r\n" at LineEnd.
type FieldAt struct {
	NameEnd, ValueStart, ValueEnd, LineEnd int32
	// Invalid: the name has a byte nginx does not hash ('_' without
	// underscores_in_headers), r->invalid_header.
	Invalid bool
}

// FieldLines are a FramedHead's header lines being written, with their
// FieldAt.
type FieldLines struct {
	Lines  []byte
	Fields []FieldAt
}

// Add appends the line "name: value\r\n" and its FieldAt.
func (f *FieldLines) Add(name, value []byte, invalid bool) {
	l := append(f.Lines, name...)
	nameEnd := len(l)
	l = append(l, ':', ' ')
	vs := len(l)
	l = append(l, value...)
	ve := len(l)
	l = append(l, '\r', '\n')
	f.Lines = l
	// The value as sent, spaces around it included: nginx's HTTP/2 trims
	// nothing (ngx_http_v2_state_process_header), so " 5" is no
	// Content-Length and " a" reaches a backend as sent. An empty value
	// sits where the line's end is.
	if vs == ve {
		vs, ve = len(l)-2, len(l)-2
	}
	f.Fields = append(f.Fields, FieldAt{NameEnd: int32(nameEnd), ValueStart: int32(vs), ValueEnd: int32(ve),
		LineEnd: int32(len(l)), Invalid: invalid})
}

// StartFramedHead is StartFramed of a head whose fields the framed
// protocol split: the same request, limits and errors as StartFramed of
// h.Text, without parsing the header lines again.
func (c *Conn) StartFramedHead(h *FramedHead, body bool) (*Request, *Error) {
	return c.startFramed(h.Text, h, body)
}

// parseFramedHead is parseHead of a FramedHead's text (whose buffers
// always fit: the framed protocol bounds its fields), its request line
// parsed, its header lines taken from h.Fields. As parseHead, it sets
// Parsed to the end of each line it takes before it judges the line.
func parseFramedHead(b []byte, h *FramedHead, r *Request, lim *Limits) (int, *Error) {
	if cap(r.scratch) < len(b)+1 {
		r.scratch = make([]byte, 0, 2*len(b)+64)
	}
	sizer := headSizer{lim: lim, size: lim.ClientHeaderBufferSize}
	n, lim, err := takeRequestLine(b[:h.LineEnd], r, lim, &sizer)
	if err != nil || n != h.LineEnd || r.ProtoMajor == 0 {
		if err == nil {
			err = errInvalidRequest
		}
		return 0, err
	}
	var facts headFacts
	connType := 0 // 1 close, 2 keep-alive
	lines := b[n:]
	pos := 0
	for i := range h.Fields {
		f := &h.Fields[i]
		name := lines[pos:f.NameEnd]
		pos = int(f.LineEnd)
		r.Parsed = n + pos
		invalid := f.Invalid
		if h.Underscores != lim.UnderscoresInHeaders {
			invalid = invalidName(name, lim.UnderscoresInHeaders)
		}
		if invalid && !lim.KeepInvalidHeaders {
			continue // nginx logs "client sent invalid header line" and drops it
		}
		if len(r.Headers) >= lim.MaxHeaders {
			return 0, errTooManyHeaders
		}
		value := lines[f.ValueStart:f.ValueEnd]
		r.Headers = append(r.Headers, Header{Name: name, Value: value})
		r.nameLens |= lenBit(len(name))
		r.nameLensOf = len(r.Headers)
		// The names are lower case: parseHead's comparisons, ignoring
		// case, are these.
		switch string(name) {
		case "host":
			var err *Error
			if lim, err = takeHostHeader(r, value, lim, &sizer); err != nil {
				return 0, err
			}
			continue
		case "connection":
			if containsFold(value, "close") {
				connType = 1
			} else if containsFold(value, "keep-alive") {
				connType = 2
			}
			continue
		case "upgrade":
			r.Upgrade = true
			continue
		}
		if len(name) >= len(uniqueByLen) {
			continue
		}
		for m := uniqueByLen[len(name)]; m != 0; m &= m - 1 {
			i := bits.TrailingZeros16(m)
			if string(name) == uniqueHeaders[i] {
				if err := facts.unique(i, value); err != nil {
					return 0, err
				}
				break
			}
		}
	}
	pos = n + pos + 2 // the empty line
	if pos != len(b) {
		return 0, errInvalidRequest
	}
	r.Parsed = pos
	r.Head = b[:pos]
	if err := processHead(r, &facts, connType); err != nil {
		return 0, err
	}
	return pos, nil
}

// invalidName is parseHeaderLine's r->invalid_header of a lower-case
// name with no control, space or ':' byte.
func invalidName(name []byte, underscores bool) bool {
	for _, ch := range name {
		if lowcase[ch] == 0 && (ch != '_' || !underscores) {
			return true
		}
	}
	return false
}
