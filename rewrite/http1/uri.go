package http1

// NormalizeURI decodes and normalizes a request path exactly as nginx's
// ngx_http_parse_complex_uri: %XX escapes are decoded (a decoded '/', '.'
// or '?' then acts as the real byte would, except that %3F never starts
// the arguments and %25/%23 never start an escape or a fragment), "." and
// ".." segments are resolved, repeated slashes merged when mergeSlashes,
// and everything from an unescaped '#' is dropped. raw is the request
// target from its first byte (a '/', or '?' for "http://host?args") to its
// end, arguments included. The result is appended to dst.
//
// args is the part after the first unescaped '?' (up to a '#'), hasArgs
// whether there was one; plus reports a '+' in the path (also from %2B).
// ok is false where nginx answers 400: a bad escape, %00, or ".." above
// the root.
func NormalizeURI(dst, raw []byte, emptyPath, mergeSlashes bool) (uri, args []byte, hasArgs, plus, ok bool) {
	const (
		sUsual = iota
		sSlash
		sDot
		sDotDot
		sQuoted
		sQuotedSecond
	)
	base := len(dst)
	u := dst
	if emptyPath {
		u = append(u, '/')
	}
	state, quotedState := sUsual, sUsual
	var decoded byte
	p := 0
	next := func() (byte, bool) {
		if p >= len(raw) {
			p++
			return 0, false
		}
		c := raw[p]
		p++
		return c, true
	}
	// parentDir drops the last segment before the "/.." just written: u
	// ends with "/..", and the result ends with '/'.
	parentDir := func() bool {
		i := len(u) - 4
		for {
			if i < base {
				return false
			}
			if u[i] == '/' {
				u = u[:i+1]
				return true
			}
			i--
		}
	}
	ch, more := next()
	for more {
		switch state {
		case sUsual:
			if isUsual(ch) {
				u = append(u, ch)
				ch, more = next()
				continue
			}
			switch ch {
			case '/':
				state = sSlash
				u = append(u, ch)
			case '%':
				quotedState, state = state, sQuoted
			case '?':
				return argsFrom(u[base:], raw[p:], plus)
			case '#':
				return u[base:], nil, false, plus, true
			case '+':
				plus = true
				u = append(u, ch)
			default:
				u = append(u, ch)
			}
			ch, more = next()
		case sSlash:
			if isUsual(ch) {
				state = sUsual
				u = append(u, ch)
				ch, more = next()
				continue
			}
			switch ch {
			case '/':
				if !mergeSlashes {
					u = append(u, ch)
				}
			case '.':
				state = sDot
				u = append(u, ch)
			case '%':
				quotedState, state = state, sQuoted
			case '?':
				return argsFrom(u[base:], raw[p:], plus)
			case '#':
				return u[base:], nil, false, plus, true
			case '+':
				plus = true
				state = sUsual
				u = append(u, ch)
			default:
				state = sUsual
				u = append(u, ch)
			}
			ch, more = next()
		case sDot:
			if isUsual(ch) {
				state = sUsual
				u = append(u, ch)
				ch, more = next()
				continue
			}
			switch ch {
			case '/':
				state = sSlash
				u = u[:len(u)-1]
			case '.':
				state = sDotDot
				u = append(u, ch)
			case '%':
				quotedState, state = state, sQuoted
			case '?':
				u = u[:len(u)-1]
				return argsFrom(u[base:], raw[p:], plus)
			case '#':
				u = u[:len(u)-1]
				return u[base:], nil, false, plus, true
			case '+':
				plus = true
				state = sUsual
				u = append(u, ch)
			default:
				state = sUsual
				u = append(u, ch)
			}
			ch, more = next()
		case sDotDot:
			if isUsual(ch) {
				state = sUsual
				u = append(u, ch)
				ch, more = next()
				continue
			}
			switch ch {
			case '/', '?', '#':
				if !parentDir() {
					return u[base:base], nil, false, plus, false
				}
				if ch == '?' {
					return argsFrom(u[base:], raw[p:], plus)
				}
				if ch == '#' {
					return u[base:], nil, false, plus, true
				}
				state = sSlash
			case '%':
				quotedState, state = state, sQuoted
			case '+':
				plus = true
				state = sUsual
				u = append(u, ch)
			default:
				state = sUsual
				u = append(u, ch)
			}
			ch, more = next()
		case sQuoted:
			if ch >= '0' && ch <= '9' {
				decoded = ch - '0'
			} else if c := ch | 0x20; c >= 'a' && c <= 'f' {
				decoded = c - 'a' + 10
			} else {
				return u[base:base], nil, false, plus, false
			}
			state = sQuotedSecond
			ch, more = next()
		case sQuotedSecond:
			if ch >= '0' && ch <= '9' {
				ch = decoded<<4 + (ch - '0')
				if ch == '%' || ch == '#' {
					state = sUsual
					u = append(u, ch)
					ch, more = next()
					continue
				}
				if ch == 0 {
					return u[base:base], nil, false, plus, false
				}
				state = quotedState
				continue
			}
			if c := ch | 0x20; c >= 'a' && c <= 'f' {
				ch = decoded<<4 + (c - 'a' + 10)
				if ch == '?' {
					state = sUsual
					u = append(u, ch)
					ch, more = next()
					continue
				}
				if ch == '+' {
					plus = true
				}
				state = quotedState
				continue
			}
			return u[base:base], nil, false, plus, false
		}
	}
	switch state {
	case sQuoted, sQuotedSecond:
		return u[base:base], nil, false, plus, false
	case sDot:
		u = u[:len(u)-1]
	case sDotDot:
		if !parentDir() {
			return u[base:base], nil, false, plus, false
		}
	}
	return u[base:], nil, false, plus, true
}

// argsFrom finishes NormalizeURI after an unescaped '?': the arguments run
// to the first '#', or to the end.
func argsFrom(uri, rest []byte, plus bool) ([]byte, []byte, bool, bool, bool) {
	for i, c := range rest {
		if c == '#' {
			return uri, rest[:i], true, plus, true
		}
	}
	return uri, rest, true, plus, true
}

// ValidateHost checks and normalizes a host as ngx_http_validate_host: it
// strips the port and one trailing dot and lower-cases; ok is false for an
// empty host, "..", '/', or control bytes. The normalized host is appended
// to dst; the returned slice is that appended part.
func ValidateHost(dst, host []byte) (out []byte, ok bool) {
	const (
		sUsual = iota
		sLiteral
		sRest
	)
	dotPos := len(host)
	hostLen := len(host)
	state := sUsual
	for i, ch := range host {
		if !hostSpecial[ch] {
			continue // the usual: letters, digits, '-'
		}
		switch ch {
		case '.':
			if dotPos == i-1 {
				return nil, false
			}
			dotPos = i
		case ':':
			if state == sUsual {
				hostLen = i
				state = sRest
			}
		case '[':
			if i == 0 {
				state = sLiteral
			}
		case ']':
			if state == sLiteral {
				hostLen = i + 1
				state = sRest
			}
		case '/':
			return nil, false
		default:
			if ch <= 0x20 || ch == 0x7f {
				return nil, false
			}
		}
	}
	if dotPos == hostLen-1 {
		hostLen--
	}
	if hostLen <= 0 {
		return nil, false
	}
	start := len(dst)
	return AppendLower(dst, host[:hostLen])[start:], true
}

// hostSpecial marks the bytes ValidateHost's loop looks at: '.', ':',
// '[', ']', '/', and the control bytes, space and DEL it rejects.
var hostSpecial = func() (t [256]bool) {
	for c := 0; c <= 0x20; c++ {
		t[c] = true
	}
	for _, c := range []byte{'.', ':', '[', ']', '/', 0x7f} {
		t[c] = true
	}
	return t
}()
