package rewrite

// argsEscape marks the bytes nginx's ngx_escape_uri escapes with
// NGX_ESCAPE_ARGS: " ", "#", "%", "&", "+", ";", "?", controls and 0x7f-0xff.
var argsEscape = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	for c := 0x7f; c < 0x100; c++ {
		t[c] = true
	}
	for _, c := range " #%&+;?" {
		t[c] = true
	}
	return t
}()

func appendEscapeArgs(dst, src []byte) []byte {
	const hex = "0123456789ABCDEF"
	for _, c := range src {
		if argsEscape[c] {
			dst = append(dst, '%', hex[c>>4], hex[c&15])
		} else {
			dst = append(dst, c)
		}
	}
	return dst
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c|0x20 >= 'a' && c|0x20 <= 'f':
		return c | 0x20 - 'a' + 10, true
	}
	return 0, false
}

// unescapeRedirect rewrites b in place as ngx_unescape_uri with
// NGX_UNESCAPE_REDIRECT does to a rewrite redirect target: up to the first
// '?', "%XX" is decoded when the byte is printable ASCII above '%', kept
// as written otherwise; a decoded '?' (from a hex-letter escape) and a
// literal '?' end the decoding and the rest is kept verbatim.
func unescapeRedirect(b []byte) []byte {
	d := 0
	s := 0
	for s < len(b) {
		c := b[s]
		if c == '?' {
			break
		}
		if c != '%' {
			b[d] = c
			d++
			s++
			continue
		}
		// "%" then two characters.
		if s+1 >= len(b) {
			s++ // a trailing '%' is dropped, as nginx's state machine does
			continue
		}
		hi, ok := unhex(b[s+1])
		if !ok {
			b[d] = b[s+1] // the invalid quoted character is kept, '%' dropped
			d++
			s += 2
			continue
		}
		if s+2 >= len(b) {
			s += 2
			continue
		}
		c2 := b[s+2]
		lo, ok := unhex(c2)
		if !ok {
			s += 3 // both dropped
			continue
		}
		ch := hi<<4 | lo
		if ch == '?' && !(c2 >= '0' && c2 <= '9') {
			b[d] = ch
			d++
			s += 3
			return append(b[:d], b[s:]...)
		}
		if ch > '%' && ch < 0x7f {
			b[d] = ch
			d++
		} else {
			b[d], b[d+1], b[d+2] = '%', b[s+1], c2
			d += 3
		}
		s += 3
	}
	return append(b[:d], b[s:]...)
}

// AppendEscapeHTML is ngx_escape_html: <, >, & and " as entities (ssi's
// echo encoding=entity, autoindex's names).
func AppendEscapeHTML(dst, s []byte) []byte {
	for _, c := range s {
		switch c {
		case '<':
			dst = append(dst, "&lt;"...)
		case '>':
			dst = append(dst, "&gt;"...)
		case '&':
			dst = append(dst, "&amp;"...)
		case '"':
			dst = append(dst, "&quot;"...)
		default:
			dst = append(dst, c)
		}
	}
	return dst
}
