package http1

import "testing"

// FuzzParseRequestLine checks parseRequestLine's fast paths (a method's
// letters, a URI's usual bytes and "HTTP/1.x" taken in a loop of their
// own) against the byte-at-a-time state machine they shortcut.
func FuzzParseRequestLine(f *testing.F) {
	for _, s := range []string{"GET /small HTTP/1.1\r\n", "GET /a/b?x=1 HTTP/1.0\n", "GET / HTTP/1.10\r\n",
		"POST http://h:80/x HTTP/1.1  \r\n", "GET /a%20b#c HTTP/1.1 \n", "GET /x HTTP/1.1\rX", "GET /x\r\n",
		"M-_X /+.. HTTP/1.9\r\n", "GET /x HTTP/1.", "GET /x HTTP/1.1"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var got, want requestLine
		gs, gn, gerr := parseRequestLine(b, &got)
		ws, wn, werr := parseRequestLineRef(b, &want)
		if gs != ws || gn != wn || gerr != werr {
			t.Fatalf("%q: got %d %d %v, want %d %d %v", b, gs, gn, gerr, ws, wn, werr)
		}
		if gn > 0 && got != want {
			t.Fatalf("%q: got %+v, want %+v", b, got, want)
		}
	})
}

// parseRequestLineRef is parseRequestLine as it was, every byte through
// the state switch.
func parseRequestLineRef(b []byte, rl *requestLine) (start, n int, err *Error) {
	*rl = requestLine{argsStart: -1, schemaStart: -1, hostStart: -1, hostEnd: -1, protoStart: -1, uriEnd: -1}
	state := rlStart
	start = 0
	for p := 0; p < len(b); p++ {
		ch := b[p]
		switch state {
		case rlStart:
			start = p
			if ch == '\r' || ch == '\n' {
				continue
			}
			if (ch < 'A' || ch > 'Z') && ch != '_' && ch != '-' {
				return start, 0, errInvalidMethod
			}
			state = rlMethod
		case rlMethod:
			if ch == ' ' {
				rl.methodEnd = p
				state = rlSpacesBeforeURI
				continue
			}
			if (ch < 'A' || ch > 'Z') && ch != '_' && ch != '-' {
				return start, 0, errInvalidMethod
			}
		case rlSpacesBeforeURI:
			if ch == '/' {
				rl.uriStart = p
				state = rlAfterSlashInURI
				continue
			}
			if c := ch | 0x20; c >= 'a' && c <= 'z' {
				rl.schemaStart = p
				state = rlSchema
				continue
			}
			if ch != ' ' {
				return start, 0, errInvalidRequest
			}
		case rlSchema:
			if c := ch | 0x20; c >= 'a' && c <= 'z' {
				continue
			}
			if (ch >= '0' && ch <= '9') || ch == '+' || ch == '-' || ch == '.' {
				continue
			}
			if ch != ':' {
				return start, 0, errInvalidRequest
			}
			rl.schemaEnd = p
			state = rlSchemaSlash
		case rlSchemaSlash:
			if ch != '/' {
				return start, 0, errInvalidRequest
			}
			state = rlSchemaSlashSlash
		case rlSchemaSlashSlash:
			if ch != '/' {
				return start, 0, errInvalidRequest
			}
			state = rlHostStart
		case rlHostStart, rlHost, rlHostEnd:
			if state == rlHostStart {
				rl.hostStart = p
				if ch == '[' {
					state = rlHostIPLiteral
					continue
				}
				state = rlHost
			}
			if state == rlHost {
				if c := ch | 0x20; c >= 'a' && c <= 'z' {
					continue
				}
				if (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' {
					continue
				}
			}
			if ch == ':' {
				state = rlPort
				continue
			}
			rl.hostEnd = p
			if e := afterHost(b, p, rl, &state); e != nil {
				return start, 0, e
			}
		case rlHostIPLiteral:
			if ch >= '0' && ch <= '9' {
				continue
			}
			if c := ch | 0x20; c >= 'a' && c <= 'z' {
				continue
			}
			switch ch {
			case ':', '-', '.', '_', '~', '!', '$', '&', '\'', '(', ')', '*', '+', ',', ';', '=':
			case ']':
				state = rlHostEnd
			default:
				return start, 0, errInvalidRequest
			}
		case rlPort:
			if ch >= '0' && ch <= '9' {
				continue
			}
			rl.hostEnd = p
			if e := afterHost(b, p, rl, &state); e != nil {
				return start, 0, e
			}
		case rlAfterSlashInURI:
			if isUsual(ch) {
				state = rlCheckURI
				continue
			}
			switch ch {
			case ' ':
				rl.uriEnd = p
				state = rlHTTP09
			case '\r':
				rl.uriEnd = p
				rl.minor = 9
				state = rlAlmostDone
			case '\n':
				rl.uriEnd = p
				rl.minor = 9
				return start, p + 1, nil
			case '.', '/', '#':
				rl.complexURI = true
				state = rlURI
			case '%':
				rl.quotedURI = true
				state = rlURI
			case '?':
				rl.argsStart = p + 1
				state = rlURI
			case '+':
				rl.plusInURI = true
			default:
				if ch < 0x20 || ch == 0x7f {
					return start, 0, errInvalidRequest
				}
				state = rlCheckURI
			}
		case rlCheckURI:
			if isUsual(ch) {
				continue
			}
			switch ch {
			case '/':
				state = rlAfterSlashInURI
			case '.':
			case ' ':
				rl.uriEnd = p
				state = rlHTTP09
			case '\r':
				rl.uriEnd = p
				rl.minor = 9
				state = rlAlmostDone
			case '\n':
				rl.uriEnd = p
				rl.minor = 9
				return start, p + 1, nil
			case '%':
				rl.quotedURI = true
				state = rlURI
			case '?':
				rl.argsStart = p + 1
				state = rlURI
			case '#':
				rl.complexURI = true
				state = rlURI
			case '+':
				rl.plusInURI = true
			default:
				if ch < 0x20 || ch == 0x7f {
					return start, 0, errInvalidRequest
				}
			}
		case rlURI:
			if isUsual(ch) {
				continue
			}
			switch ch {
			case ' ':
				rl.uriEnd = p
				state = rlHTTP09
			case '\r':
				rl.uriEnd = p
				rl.minor = 9
				state = rlAlmostDone
			case '\n':
				rl.uriEnd = p
				rl.minor = 9
				return start, p + 1, nil
			case '#':
				rl.complexURI = true
			default:
				if ch < 0x20 || ch == 0x7f {
					return start, 0, errInvalidRequest
				}
			}
		case rlHTTP09:
			switch ch {
			case ' ':
			case '\r':
				rl.minor = 9
				state = rlAlmostDone
			case '\n':
				rl.minor = 9
				return start, p + 1, nil
			case 'H':
				rl.protoStart = p
				state = rlHTTPH
			default:
				return start, 0, errInvalidRequest
			}
		case rlHTTPH, rlHTTPHT, rlHTTPHTT, rlHTTPHTTP:
			want := "TTP/"[state-rlHTTPH]
			if ch != want {
				return start, 0, errInvalidRequest
			}
			state++
		case rlFirstMajorDigit:
			if ch < '1' || ch > '9' {
				return start, 0, errInvalidRequest
			}
			rl.major = int(ch - '0')
			if rl.major > 1 {
				return start, 0, errInvalidVersion
			}
			state = rlMajorDigit
		case rlMajorDigit:
			if ch == '.' {
				state = rlFirstMinorDigit
				continue
			}
			if ch < '0' || ch > '9' {
				return start, 0, errInvalidRequest
			}
			rl.major = rl.major*10 + int(ch-'0')
			if rl.major > 1 {
				return start, 0, errInvalidVersion
			}
		case rlFirstMinorDigit:
			if ch < '0' || ch > '9' {
				return start, 0, errInvalidRequest
			}
			rl.minor = int(ch - '0')
			state = rlMinorDigit
		case rlMinorDigit:
			switch {
			case ch == '\r':
				rl.protoEnd = p
				state = rlAlmostDone
			case ch == '\n':
				rl.protoEnd = p
				return start, p + 1, nil
			case ch == ' ':
				rl.protoEnd = p
				state = rlSpacesAfterDigit
			case ch < '0' || ch > '9':
				return start, 0, errInvalidRequest
			case rl.minor > 99:
				return start, 0, errInvalidRequest
			default:
				rl.minor = rl.minor*10 + int(ch-'0')
			}
		case rlSpacesAfterDigit:
			switch ch {
			case ' ':
			case '\r':
				state = rlAlmostDone
			case '\n':
				return start, p + 1, nil
			default:
				return start, 0, errInvalidRequest
			}
		case rlAlmostDone:
			if ch != '\n' {
				return start, 0, errInvalidRequest
			}
			return start, p + 1, nil
		}
	}
	return start, 0, nil
}
