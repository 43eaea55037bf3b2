package rewrite

import (
	"net/netip"
	"strconv"
	"time"

	"github.com/gonginx/gonginx/rewrite/auth"
	"github.com/gonginx/gonginx/rewrite/http1"
)

// The getters builtinGetters (vars.go) is made of: connection values,
// headers, cookies, arguments and the request's composite values.

func connStat(f func(st *ConnStats) int64) Getter {
	return func(s *State, dst []byte) []byte {
		if s.Stats == nil {
			return dst
		}
		return strconv.AppendInt(dst, f(s.Stats), 10)
	}
}

func conn(f func(ci *http1.ConnInfo) string) Getter {
	return func(s *State, dst []byte) []byte {
		if s.Req.Conn == nil {
			return dst
		}
		return append(dst, f(s.Req.Conn)...)
	}
}

// remotePort is $remote_port: the client's port, made into text here.
func remotePort(s *State, dst []byte) []byte {
	if s.Req.Conn == nil {
		return dst
	}
	return s.Req.Conn.AppendRemotePort(dst)
}

// serverPort is $server_port: the local port, made into text here.
func serverPort(s *State, dst []byte) []byte {
	if s.Req.Conn == nil {
		return dst
	}
	return s.Req.Conn.AppendServerPort(dst)
}

// proxied reads what a PROXY protocol header carried: not found without
// one, found (even empty: a port of 0) with one, as nginx's variables.
func proxied(f func(ci *http1.ConnInfo) string) Getter {
	return func(s *State, dst []byte) []byte {
		if s.Req.Conn == nil || !s.Req.Conn.Proxied {
			return dst
		}
		v := f(s.Req.Conn)
		s.FoundEmpty = v == ""
		return append(dst, v...)
	}
}

func binaryRemoteAddr(s *State, dst []byte) []byte {
	if s.Req.Conn == nil {
		return dst
	}
	a, err := netip.ParseAddr(s.Req.Conn.RemoteAddr)
	if err != nil {
		return dst
	}
	if a.Is4() || a.Is4In6() {
		b := a.Unmap().As4()
		return append(dst, b[:]...)
	}
	b := a.As16()
	return append(dst, b[:]...)
}

func emptyPrefix(s *State, name string, dst []byte) []byte { return dst }

// headerNameIs reports whether a raw header name matches a variable suffix
// as nginx compares them: letters case-insensitively, '-' as '_'.
func headerNameIs(h []byte, name string) bool {
	if len(h) != len(name) {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if c >= 'A' && c <= 'Z' {
			c |= 0x20
		} else if c == '-' {
			c = '_'
		}
		if c != name[i] {
			return false
		}
	}
	return true
}

// httpHeaderVar is $http_<name>: the first header line with that name
// (nginx 1.22 does not join repeated lines except Cookie and
// X-Forwarded-For).
func httpHeaderVar(s *State, name string, dst []byte) []byte {
	for i := range s.Req.Headers {
		if headerNameIs(s.Req.Headers[i].Name, name) {
			return append(dst, s.Req.Headers[i].Value...)
		}
	}
	return dst
}

func joinHeaders(s *State, name, sep string, dst []byte) []byte {
	first := true
	for i := range s.Req.Headers {
		if headerNameIs(s.Req.Headers[i].Name, name) {
			if !first {
				dst = append(dst, sep...)
			}
			dst = append(dst, s.Req.Headers[i].Value...)
			first = false
		}
	}
	return dst
}

// cookieVar is $cookie_<name>, parsed as ngx_http_parse_multi_header_lines
// does: names compared case-insensitively, the first match across all
// Cookie lines wins, the value runs to the next ';'.
func cookieVar(s *State, name string, dst []byte) []byte {
	for i := range s.Req.Headers {
		if !headerNameIs(s.Req.Headers[i].Name, "cookie") {
			continue
		}
		if v, ok := findCookie(s.Req.Headers[i].Value, name); ok {
			return append(dst, v...)
		}
	}
	return dst
}

func findCookie(h []byte, name string) ([]byte, bool) {
	p := 0
	for p < len(h) {
		if hasPrefixFold(h[p:], name) {
			q := p + len(name)
			for q < len(h) && h[q] == ' ' {
				q++
			}
			if q < len(h) && h[q] == '=' {
				q++
				for q < len(h) && h[q] == ' ' {
					q++
				}
				start := q
				for q < len(h) && h[q] != ';' {
					q++
				}
				return h[start:q], true
			}
		}
		for p < len(h) {
			c := h[p]
			p++
			if c == ';' || c == ',' {
				break
			}
		}
		for p < len(h) && h[p] == ' ' {
			p++
		}
	}
	return nil, false
}

func hasPrefixFold(b []byte, prefix string) bool {
	if len(b) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		if lower(b[i]) != lower(prefix[i]) {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c | 0x20
	}
	return c
}

// argVar is $arg_<name>, found as ngx_http_arg does: case-insensitive
// name at the start of the args or after '&', followed by '='; the raw
// (still escaped) value up to the next '&'.
func argVar(s *State, name string, dst []byte) []byte {
	if v, ok := FindArg(s.Req.Args, name); ok {
		s.FoundEmpty = len(v) == 0 // "?name=": found, empty
		return append(dst, v...)
	}
	return dst
}

// FindArg returns the value of the first argument called name in args.
func FindArg(args []byte, name string) ([]byte, bool) {
	for p := 0; p+len(name) < len(args); p++ {
		if !hasPrefixFold(args[p:], name) {
			continue
		}
		if (p == 0 || args[p-1] == '&') && args[p+len(name)] == '=' {
			start := p + len(name) + 1
			end := start
			for end < len(args) && args[end] != '&' {
				end++
			}
			return args[start:end], true
		}
	}
	return nil, false
}

// appendMillis appends d as nginx prints times: seconds with three
// decimals ("0.004").
func appendMillis(dst []byte, d time.Duration) []byte {
	ms := d.Milliseconds()
	if ms < 0 {
		ms = 0
	}
	dst = strconv.AppendInt(dst, ms/1000, 10)
	ms %= 1000
	return append(dst, '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
}

// appendRequest appends $request: method, URI as sent, and protocol
// (absent for HTTP/0.9).
func appendRequest(s *State, dst []byte) []byte {
	r := s.Req
	if len(s.RequestLine) > 0 {
		return append(dst, s.RequestLine...)
	}
	if r == nil || r.ProtoMajor == 2 && len(r.Method) == 0 {
		return dst // an HTTP/2 stream refused before it had a request line
	}
	dst = append(dst, r.Method...)
	dst = append(dst, ' ')
	dst = append(dst, r.RequestTarget()...)
	if len(r.Proto) > 0 {
		dst = append(dst, ' ')
		dst = append(dst, r.Proto...)
	}
	return dst
}

// appendRemoteUser appends $remote_user: the user of a Basic Authorization
// header, which nginx decodes with or without auth_basic; nothing when the
// header is missing or not valid Basic credentials.
func appendRemoteUser(s *State, dst []byte) []byte {
	if s.Req == nil {
		return dst
	}
	for i := range s.Req.Headers {
		if headerNameIs(s.Req.Headers[i].Name, "authorization") {
			user, _, ok := auth.Credentials(dst, s.Req.Headers[i].Value)
			if !ok {
				return dst
			}
			// user sits at dst's end, in dst's room or a new array.
			return append(dst, user...)
		}
	}
	return dst
}

// appendDocumentRoot is $document_root: the running location's root or
// alias, evaluated when it has variables.
func appendDocumentRoot(s *State, dst []byte) []byte {
	if s.Files != nil {
		return s.Files.AppendDocumentRoot(dst)
	}
	return append(dst, s.DocumentRoot...)
}
