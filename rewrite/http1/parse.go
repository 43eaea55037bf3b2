package http1

// The request-line and header-line parsers follow nginx's
// ngx_http_parse_request_line and ngx_http_parse_header_line state by
// state, so that what nginx rejects we reject and what it accepts (odd
// spacing, bare LF, unknown upper-case methods, absolute URIs) we accept.
// They run over the whole buffered head each time more bytes arrive; a
// head is at most a few KiB, and most arrive in one read.

// usual marks the path bytes that need no special handling (nginx's
// "usual" bitmap): everything except controls, space, '#', '%', '/', '.',
// '?', '\\' ... exactly as nginx lists them.
var usual = [8]uint32{
	0x00000000,
	0x7fff37d6, // ?>=< ;:98 7654 3210  /.-, +*)( '&%$ #"!
	0xffffffff, // _^]\ [ZYX WVUT SRQP  ONML KJIH GFED CBA@
	0x7fffffff, //  ~}| {zyx wvut srqp  onml kjih gfed cba`
	0xffffffff,
	0xffffffff,
	0xffffffff,
	0xffffffff,
}

func isUsual(c byte) bool { return usual[c>>5]&(1<<(c&0x1f)) != 0 }

// Method codes, as nginx's r->method; MethodOther is any other upper-case
// token (nginx accepts it and lets the handlers answer 405).
const (
	MethodOther = iota
	MethodGET
	MethodHEAD
	MethodPOST
	MethodPUT
	MethodDELETE
	MethodMKCOL
	MethodCOPY
	MethodMOVE
	MethodOPTIONS
	MethodPROPFIND
	MethodPROPPATCH
	MethodLOCK
	MethodUNLOCK
	MethodPATCH
	MethodTRACE
	MethodCONNECT
)

var methodNames = [...]string{"", "GET", "HEAD", "POST", "PUT", "DELETE", "MKCOL", "COPY", "MOVE",
	"OPTIONS", "PROPFIND", "PROPPATCH", "LOCK", "UNLOCK", "PATCH", "TRACE", "CONNECT"}

func methodCode(m []byte) int {
	for i := 1; i < len(methodNames); i++ {
		if string(m) == methodNames[i] {
			return i
		}
	}
	return MethodOther
}

// requestLine holds the offsets ngx_http_parse_request_line records.
type requestLine struct {
	methodEnd          int
	uriStart, uriEnd   int
	argsStart          int // -1 when none
	hostStart, hostEnd int // -1 when no absolute URI
	schemaEnd          int
	schemaStart        int // -1 when no absolute URI
	hostOnlyEnd        int // an absolute URI without a path: where it ends
	protoStart         int // -1 for HTTP/0.9
	protoEnd           int
	major, minor       int
	complexURI         bool
	quotedURI          bool
	plusInURI          bool
	emptyPathInURI     bool
}

const (
	rlStart = iota
	rlMethod
	rlSpacesBeforeURI
	rlSchema
	rlSchemaSlash
	rlSchemaSlashSlash
	rlHostStart
	rlHost
	rlHostEnd
	rlHostIPLiteral
	rlPort
	rlAfterSlashInURI
	rlCheckURI
	rlURI
	rlHTTP09
	rlHTTPH
	rlHTTPHT
	rlHTTPHTT
	rlHTTPHTTP
	rlFirstMajorDigit
	rlMajorDigit
	rlFirstMinorDigit
	rlMinorDigit
	rlSpacesAfterDigit
	rlAlmostDone
)

// parseRequestLine parses b from its start. It returns the number of bytes
// of the line (through its LF) and skip, the number of leading empty lines
// nginx ignores; n == 0 with a nil error means more bytes are needed.
func parseRequestLine(b []byte, rl *requestLine) (start, n int, err *Error) {
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
			for p+1 < len(b) && b[p+1]-'A' < 26 {
				p++ // the rest of the method's letters, without the switch
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
				for p+1 < len(b) && isUsual(b[p+1]) {
					p++ // the usual bytes that follow, without the switch
				}
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
				for p+1 < len(b) && isUsual(b[p+1]) {
					p++
				}
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
				if p+9 <= len(b) && string(b[p:p+7]) == "HTTP/1." && b[p+7]-'0' < 10 {
					// "HTTP/1.x" and what ends it, as the states
					// below take it a byte at a time.
					rl.major, rl.minor = 1, int(b[p+7]-'0')
					switch b[p+8] {
					case '\r':
						rl.protoEnd, state, p = p+8, rlAlmostDone, p+8
					case '\n':
						rl.protoEnd = p + 8
						return start, p + 9, nil
					case ' ':
						rl.protoEnd, state, p = p+8, rlSpacesAfterDigit, p+8
					}
				}
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

// afterHost handles the byte that ended the host (or port) of an
// absolute URI.
func afterHost(b []byte, p int, rl *requestLine, state *int) *Error {
	switch b[p] {
	case '/':
		rl.uriStart = p
		*state = rlAfterSlashInURI
	case '?':
		rl.uriStart = p
		rl.argsStart = p + 1
		rl.emptyPathInURI = true
		*state = rlURI
	case ' ':
		// nginx points the URI at the '/' after "scheme:" so that the
		// request target is "/".
		rl.uriStart = rl.schemaEnd + 1
		rl.uriEnd = rl.schemaEnd + 2
		rl.hostOnlyEnd = p
		*state = rlHTTP09
	default:
		return errInvalidRequest
	}
	return nil
}

// lowcase maps header-name bytes nginx hashes: letters to lower case,
// digits and '-' to themselves, everything else to 0.
var lowcase = func() (t [256]byte) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = byte(c)
		t[c-'a'+'A'] = byte(c)
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = byte(c)
	}
	t['-'] = '-'
	return t
}()
