package http1

// ParseUnsafeURI checks a URI a backend or a page names for an internal
// redirect (X-Accel-Redirect), as ngx_http_parse_unsafe_uri does: the
// arguments start at the first '?'; a URI with a "%" is unescaped
// (into buf, which it returns grown) and checked again. It is unsafe
// when it is empty, starts with '?' or "..", holds a NUL, or has a "/.."
// segment; uri is then what nginx logs ("unsafe URI ... was detected").
// Unlike a request's URI nothing is normalized: "." and "//" stay.
func ParseUnsafeURI(v, buf []byte) (uri, args []byte, hasArgs, ok bool, scratch []byte) {
	if len(v) == 0 || v[0] == '?' || startsDotDot(v) {
		return v, nil, false, false, buf
	}
	uri = v
	quoted := false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '%':
			quoted = true
		case c == '?':
			uri, args, hasArgs = v[:i], v[i+1:], true
			i = len(v)
		case c == 0:
			return v, nil, false, false, buf
		case c == '/' && dotDotSegment(v[i+1:]):
			return v, nil, false, false, buf
		}
	}
	if !quoted {
		return uri, args, hasArgs, true, buf
	}
	buf = unescapePlain(buf[:0], uri)
	uri = buf
	if startsDotDot(uri) {
		return uri, nil, false, false, buf
	}
	for i, c := range uri {
		if c == 0 || c == '/' && dotDotSegment(uri[i+1:]) {
			return uri, nil, false, false, buf
		}
	}
	return uri, args, hasArgs, true, buf
}

// startsDotDot: ".." alone or followed by '/'.
func startsDotDot(b []byte) bool {
	return len(b) > 1 && b[0] == '.' && b[1] == '.' && (len(b) == 2 || b[2] == '/')
}

// dotDotSegment reports whether what follows a '/' is ".." ending the
// URI or followed by another '/'.
func dotDotSegment(rest []byte) bool {
	return len(rest) >= 2 && rest[0] == '.' && rest[1] == '.' && (len(rest) == 2 || rest[2] == '/')
}

// unescapePlain is ngx_unescape_uri with type 0: every "%XX" decoded
// ('?' and '%00' too); an invalid first digit keeps that character and
// drops the '%', an invalid second one drops both digits.
func unescapePlain(dst, src []byte) []byte {
	state := 0
	var hi byte
	for _, c := range src {
		switch state {
		case 0:
			if c == '%' {
				state = 1
				continue
			}
			dst = append(dst, c)
		case 1:
			if v, ok := hexDigit(c); ok {
				hi, state = v, 2
				continue
			}
			state = 0
			dst = append(dst, c)
		case 2:
			state = 0
			if v, ok := hexDigit(c); ok {
				dst = append(dst, hi<<4|v)
			}
		}
	}
	return dst
}
