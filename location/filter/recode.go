package filter

import "strconv"

// The charset filter's recoding (ngx_http_charset_filter_module's body
// filter): one-byte charset to one-byte charset, one-byte to utf-8 and
// utf-8 to one-byte, through one direction of a charset_map.

// Recoder is one direction of a charset_map; one of its tables is set.
type Recoder struct {
	Bytes    *[256]byte       // one-byte charset to one-byte charset
	ToUTF8   *[256][]byte     // one-byte charset to utf-8
	FromUTF8 *[256]*[256]byte // utf-8 (code points below 0x10000) to one-byte; 0: none
}

// Grows reports whether the body changes length (a recode to or from
// utf-8), so it goes without Content-Length and ranges.
func (r *Recoder) Grows() bool { return r.Bytes == nil }

// Recode is the charset link of one response, reused response after
// response (Reset).
type Recode struct {
	next   Link
	r      *Recoder
	saved  []byte // an incomplete UTF-8 sequence carried to the next write
	joined []byte
	out    []byte
}

// Reset readies l for a response recoded through r.
func (l *Recode) Reset(r *Recoder) {
	l.r = r
	l.saved = l.saved[:0]
}

// SetNext is Link's.
func (l *Recode) SetNext(next Link) { l.next = next }

// Body is Link's. An incomplete UTF-8 sequence at the end of the body is
// dropped, as nginx drops it.
func (l *Recode) Body(p []byte, flush, last bool) error {
	out := l.out[:0]
	switch r := l.r; {
	case len(p) == 0:
	case r.Bytes != nil:
		for _, c := range p {
			out = append(out, r.Bytes[c])
		}
	case r.ToUTF8 != nil:
		for _, c := range p {
			out = append(out, r.ToUTF8[c]...)
		}
	default:
		out = l.fromUTF8(out, p)
	}
	l.out = out
	return l.next.Body(out, flush, last)
}

// fromUTF8 recodes b as ngx_http_charset_recode_from_utf8: a code point
// with no byte in the map becomes "&#N;", an invalid sequence '?'.
func (l *Recode) fromUTF8(out, b []byte) []byte {
	if len(l.saved) > 0 {
		l.joined = append(append(l.joined[:0], l.saved...), b...)
		b = l.joined
		l.saved = l.saved[:0]
	}
	table := l.r.FromUTF8
	for i := 0; i < len(b); {
		if b[i] < 0x80 {
			out = append(out, b[i])
			i++
			continue
		}
		n, used := UTF8Decode(b[i:])
		switch {
		case n == 0xfffffffe:
			l.saved = append(l.saved[:0], b[i:]...)
			return out
		case n < 0x10000:
			if p := table[n>>8]; p != nil && p[n&0xff] != 0 {
				out = append(out, p[n&0xff])
			} else {
				out = appendEntity(out, n)
			}
		case n > 0x10ffff:
			out = append(out, '?')
		default:
			out = appendEntity(out, n)
		}
		i += used
	}
	return out
}

func appendEntity(b []byte, n uint32) []byte {
	b = append(b, "&#"...)
	b = strconv.AppendUint(b, uint64(n), 10)
	return append(b, ';')
}

// UTF8Decode is ngx_utf8_decode: the code point at the start of b and the
// bytes it takes; 0xfffffffe when b ends inside the sequence, 0xffffffff
// for an invalid one (a continuation byte below 0x80 is taken with it).
func UTF8Decode(b []byte) (n uint32, used int) {
	u := uint32(b[0])
	var valid uint32
	var k int
	switch {
	case u >= 0xf0:
		u, valid, k = u&0x07, 0xffff, 3
	case u >= 0xe0:
		u, valid, k = u&0x0f, 0x7ff, 2
	case u >= 0xc2:
		u, valid, k = u&0x1f, 0x7f, 1
	default:
		return 0xffffffff, 1
	}
	if len(b)-1 < k {
		return 0xfffffffe, 0
	}
	i := 1
	for ; k > 0; k-- {
		c := uint32(b[i])
		i++
		if c < 0x80 {
			return 0xffffffff, i
		}
		u = u<<6 | c&0x3f
	}
	if u > valid {
		return u, i
	}
	return 0xffffffff, i
}
