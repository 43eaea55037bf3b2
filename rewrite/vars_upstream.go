package rewrite

import "github.com/gonginx/gonginx/rewrite/http1"

// upstreamHead is a copy of the backend's response head for
// $upstream_http_* and $upstream_cookie_*: the proxy reuses its buffer for
// the body before the access log is written, and nginx keeps the head
// (u->headers_in) for the whole request.
type upstreamHead struct {
	set     bool // a backend answered (nginx's r->upstream with a head)
	headers []http1.Header
	buf     []byte
}

func (u *upstreamHead) reset() {
	u.set = false
	u.headers = u.headers[:0]
	u.buf = u.buf[:0]
}

// SetUpstreamHeaders records the head of the backend's response (the last
// one tried), copying it into memory the State reuses. Under
// UpstreamUnread only the headers read by name after the response
// buffer is reused are copied (readUnread), unless the head has an
// X-Accel-Redirect: its redirect keeps the backend's headers.
func (s *State) SetUpstreamHeaders(hs []http1.Header) {
	u := &s.upstream
	u.reset()
	s.AccelCharset = nil
	u.set = true
	all := !s.UpstreamUnread
	if !all {
		// One pass finds whether anything is to be copied: most heads
		// have none of these.
		some := false
		for i := range hs {
			if readUnread(hs[i].Name) {
				some = true
				if http1.EqualFold(hs[i].Name, "x-accel-redirect") {
					all = true
					break
				}
			}
		}
		if !some {
			return
		}
	}
	// buf grows once, before any header slices it; then one pass copies
	// and slices.
	size, count := 0, 0
	for i := range hs {
		if all || readUnread(hs[i].Name) {
			size += len(hs[i].Name) + len(hs[i].Value)
			count++
		}
	}
	if cap(u.buf) < size {
		u.buf = make([]byte, 0, size+size/2)
	}
	if cap(u.headers) < count {
		u.headers = make([]http1.Header, 0, count+count/2)
	}
	buf, headers := u.buf[:size], u.headers[:count]
	off, j := 0, 0
	for i := range hs {
		if !all && !readUnread(hs[i].Name) {
			continue
		}
		n := off + copy(buf[off:], hs[i].Name)
		v := n + copy(buf[n:], hs[i].Value)
		headers[j] = http1.Header{Name: buf[off:n:n], Value: buf[n:v:v]}
		off = v
		j++
	}
	u.buf, u.headers = buf, headers
}

// readUnread reports whether a backend header is read by name even when
// no variable reads the head: the X-Accel-* ones (accelHeaders; a kept
// X-Accel-Charset outlives the response buffer) and WWW-Authenticate
// (an intercepted 401's, an auth_request's). Inlined, its length test
// passes most names by.
func readUnread(name []byte) bool {
	return uint(len(name)-len("x-accel-charset")) <= uint(len("x-accel-limit-rate")-len("x-accel-charset")) && readUnreadName(name)
}

func readUnreadName(name []byte) bool {
	return http1.EqualFold(name[:len("x-accel-")], "x-accel-") || http1.EqualFold(name, "www-authenticate")
}

// upstreamHeaderVar is $upstream_http_<name>: the first backend header of
// that name, as ngx_http_variable_unknown_header.
func upstreamHeaderVar(s *State, name string, dst []byte) []byte {
	for _, h := range s.upstream.headers {
		if headerNameIs(h.Name, name) {
			s.FoundEmpty = len(h.Value) == 0
			return append(dst, h.Value...)
		}
	}
	// ngx_http_proxy_process_header adds an empty Server and Date to a
	// response without them: found, empty.
	if s.upstream.set && (name == "server" || name == "date") {
		s.FoundEmpty = true
	}
	return dst
}

// sentTrailerVar is $sent_trailer_<name>: the first trailer of that name
// among those already added (nginx evaluates add_trailer values in
// order, so a later one sees the earlier ones).
func sentTrailerVar(s *State, name string, dst []byte) []byte {
	b := s.SentTrailers
	for len(b) > 0 {
		end := 0
		for end+1 < len(b) && !(b[end] == '\r' && b[end+1] == '\n') {
			end++
		}
		line := b[:end]
		if end+2 <= len(b) {
			b = b[end+2:]
		} else {
			b = nil
		}
		for i := 0; i+1 < len(line); i++ {
			if line[i] == ':' && line[i+1] == ' ' {
				if headerNameIs(line[:i], name) {
					return append(dst, line[i+2:]...)
				}
				break
			}
		}
	}
	return dst
}

// upstreamCookieVar is $upstream_cookie_<name>: the value of that cookie
// in the first Set-Cookie line of the backend setting it, as
// ngx_http_parse_set_cookie_lines reads them.
func upstreamCookieVar(s *State, name string, dst []byte) []byte {
	for _, h := range s.upstream.headers {
		if !headerNameIs(h.Name, "set_cookie") {
			continue
		}
		v := h.Value
		if len(name) >= len(v) || !hasPrefixFold(v, name) {
			continue
		}
		i := len(name)
		for i < len(v) && v[i] == ' ' {
			i++
		}
		if i == len(v) || v[i] != '=' {
			continue
		}
		i++
		for i < len(v) && v[i] == ' ' {
			i++
		}
		end := i
		for end < len(v) && v[end] != ';' {
			end++
		}
		return append(dst, v[i:end]...)
	}
	return dst
}

// UpstreamHeaders is the copy of the backend's last response head, in
// its order; it is valid until the next head is recorded.
func (s *State) UpstreamHeaders() []http1.Header { return s.upstream.headers }

// UpstreamHeader returns the first header named name (lower case, '_'
// for '-') of the backend's last response head, or nil.
func (s *State) UpstreamHeader(name string) []byte {
	for _, h := range s.upstream.headers {
		if headerNameIs(h.Name, name) {
			return h.Value
		}
	}
	return nil
}
