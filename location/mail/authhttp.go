package mail

import (
	"bytes"
	"errors"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gonginx/gonginx/location"
)

// The auth_http client (ngx_mail_auth_http_module.c): a GET with the
// client's credentials in headers; the answer's Auth-* headers say
// where to proxy, or what to tell the client.

// authReply is what the auth server answered.
type authReply struct {
	status  []byte // Auth-Status unless OK or WAIT
	wait    bool
	server  []byte
	port    []byte
	errCode []byte
	user    []byte
	pass    []byte
	hasUser bool
	hasPass bool
	sleep   int64
}

// authRequest builds the request (ngx_mail_auth_http_create_request).
func (s *session) authRequest() []byte {
	a := &s.sv.auth
	var b bytes.Buffer
	b.WriteString("GET " + a.uri + " HTTP/1.0\r\nHost: " + a.hostHeader + "\r\n")
	b.WriteString("Auth-Method: " + methodNames[s.authMethod] + "\r\n")
	b.WriteString("Auth-User: ")
	b.Write(escapeAuth(s.login))
	b.WriteString("\r\nAuth-Pass: ")
	b.Write(escapeAuth(s.passwd))
	b.WriteString("\r\n")
	if s.authMethod != methodPlain && len(s.salt) > 0 {
		b.WriteString("Auth-Salt: ")
		b.Write(s.salt)
		// The backend password must come from the auth server.
		s.passwd = nil
	}
	b.WriteString("Auth-Protocol: " + s.sv.proto.name + "\r\n")
	b.WriteString("Auth-Login-Attempt: " + strconv.Itoa(s.loginAttempt) + "\r\n")
	b.WriteString("Client-IP: " + s.addr + "\r\n")
	if len(s.host) > 0 {
		b.WriteString("Client-Host: ")
		b.Write(s.host)
		b.WriteString("\r\n")
	}
	if pp := s.proxied; pp != nil {
		b.WriteString("Proxy-Protocol-Addr: " + pp.Proxy.Addr + "\r\n")
		b.WriteString("Proxy-Protocol-Port: " + orZero(pp.Proxy.Port) + "\r\n")
		b.WriteString("Proxy-Protocol-Server-Addr: " + pp.Proxy.ServerAddr + "\r\n")
		b.WriteString("Proxy-Protocol-Server-Port: " + orZero(pp.Proxy.ServerPort) + "\r\n")
	}
	if s.authMethod == methodNone {
		// HELO, MAIL FROM and RCPT TO hold no CRLF: not escaped.
		for _, h := range []struct {
			k string
			v []byte
		}{{"Auth-SMTP-Helo: ", s.smtpHelo}, {"Auth-SMTP-From: ", s.smtpFrom}, {"Auth-SMTP-To: ", s.smtpTo}} {
			b.WriteString(h.k)
			b.Write(h.v)
			b.WriteString("\r\n")
		}
	}
	if s.tls != nil {
		st := s.tls.ConnectionState()
		b.WriteString("Auth-SSL: on\r\n")
		b.WriteString("Auth-SSL-Protocol: " + tlsProtocolName(st.Version) + "\r\n")
		if name := location.OpenSSLCipherName(st.CipherSuite); name != "" {
			b.WriteString("Auth-SSL-Cipher: " + name + "\r\n")
		}
		b.Write(s.appendCertHeaders(nil))
	}
	b.Write(a.headers)
	b.WriteString("\r\n")
	return b.Bytes()
}

func orZero(port string) string {
	if port == "" {
		return "0"
	}
	return port
}

// escapeAuth escapes as NGX_ESCAPE_MAIL_AUTH: controls, space and "%".
func escapeAuth(v []byte) []byte {
	const hex = "0123456789ABCDEF"
	var out []byte
	for i, c := range v {
		if c < 0x20 || c == ' ' || c == '%' {
			if out == nil {
				out = append(make([]byte, 0, len(v)+8), v[:i]...)
			}
			out = append(out, '%', hex[c>>4], hex[c&15])
		} else if out != nil {
			out = append(out, c)
		}
	}
	if out == nil {
		return v
	}
	return out
}

// errAuthLogged: the failure was logged; the client gets an internal
// server error.
var errAuthLogged = errors.New("auth http failed")

// askAuth sends the request and reads the reply.
func (s *session) askAuth() (*authReply, error) {
	a := &s.sv.auth
	s.action = "in http auth state"
	req := s.authRequest()
	deadline := time.Now().Add(a.timeout)
	// The connection takes a number, as nginx's ngx_event_connect_peer.
	s.srv.connID()
	d := net.Dialer{Deadline: deadline}
	c, err := d.Dial(a.network, a.addr)
	if err != nil {
		if isTimeout(err) {
			s.logf("error", "auth http server "+a.name+" timed out", " (110: Connection timed out)")
		} else {
			s.logf("error", "connect() failed"+errnoText(err), "")
		}
		return nil, errAuthLogged
	}
	defer c.Close()
	c.SetDeadline(deadline)
	if _, err := c.Write(req); err != nil {
		if isTimeout(err) {
			s.logf("error", "auth http server "+a.name+" timed out", " (110: Connection timed out)")
		}
		return nil, errAuthLogged
	}
	buf := make([]byte, 1024)
	n := 0
	p := authParser{}
	for {
		if n == len(buf) {
			return nil, errAuthLogged
		}
		m, err := c.Read(buf[n:])
		if m > 0 {
			n += m
			rc := p.feed(buf[:n])
			switch rc {
			case rcOK:
				return &p.reply, nil
			case rcAgain:
				continue
			case rcInvalid:
				s.logf("error", "auth http server "+a.name+" sent invalid response", "")
				return nil, errAuthLogged
			default:
				s.logf("error", "auth http server "+a.name+" sent invalid header in response", "")
				return nil, errAuthLogged
			}
		}
		if err != nil {
			if isTimeout(err) {
				s.logf("error", "auth http server "+a.name+" timed out", " (110: Connection timed out)")
			}
			return nil, errAuthLogged
		}
	}
}

// errnoText is " (111: Connection refused)" for a dial error.
func errnoText(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return " (" + strconv.Itoa(int(errno)) + ": " + errnoMessage(errno) + ")"
	}
	return ""
}

// errnoMessage is strerror's text (Go's differs in case).
func errnoMessage(e syscall.Errno) string {
	m := e.Error()
	if m == "" {
		return m
	}
	return strings.ToUpper(m[:1]) + m[1:]
}

// authParser reads the response: a status line that starts with
// "HTTP/" (skipped, else the first line is a header), then headers.
type authParser struct {
	pos         int
	statusState int
	statusDone  bool
	reply       authReply
}

// feed parses buf (all of the response so far) from where it stopped:
// rcOK at the end of the headers, rcAgain for more, rcInvalid for a bad
// status line, rcError for a bad header.
func (p *authParser) feed(buf []byte) int {
	if !p.statusDone {
		for i := p.pos; i < len(buf); i++ {
			ch := buf[i]
			switch st := p.statusState; {
			case st < 5:
				if ch != "HTTP/"[st] {
					// Not a status line: headers from the start.
					p.statusDone, p.pos = true, 0
					return p.headers(buf)
				}
				p.statusState++
			case st == 5:
				if ch == '\r' {
					p.statusState = 6
				} else if ch == '\n' {
					p.statusDone, p.pos = true, i+1
					return p.headers(buf)
				}
			default:
				if ch != '\n' {
					return rcInvalid
				}
				p.statusDone, p.pos = true, i+1
				return p.headers(buf)
			}
		}
		p.pos = len(buf)
		return rcAgain
	}
	return p.headers(buf)
}

// headers parses complete header lines as
// ngx_mail_auth_http_parse_header_line: a name of letters, digits and
// "-", ":", the value without surrounding spaces.
func (p *authParser) headers(buf []byte) int {
	for {
		rest := buf[p.pos:]
		nl := bytes.IndexByte(rest, '\n')
		if nl < 0 {
			// A bad byte already seen fails now, as nginx's scan does.
			if !validPartialHeader(rest) {
				return rcError
			}
			return rcAgain
		}
		line := rest[:nl]
		if cr := bytes.IndexByte(line, '\r'); cr >= 0 && cr != len(line)-1 {
			return rcError
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		p.pos += nl + 1
		if len(line) == 0 {
			return rcOK
		}
		name, value, ok := splitHeader(line)
		if !ok {
			return rcError
		}
		p.header(name, value)
	}
}

func isNameChar(c byte, first bool) bool {
	l := c | 0x20
	return l >= 'a' && l <= 'z' || c >= '0' && c <= '9' || !first && c == '-'
}

func validPartialHeader(b []byte) bool {
	for i, c := range b {
		if c == ':' && i > 0 {
			return true
		}
		if c == '\r' {
			return i == len(b)-1
		}
		if !isNameChar(c, i == 0) {
			return false
		}
	}
	return true
}

// splitHeader splits "Name: value"; a name alone is a header with an
// empty value.
func splitHeader(line []byte) (name, value []byte, ok bool) {
	i := 0
	for ; i < len(line) && line[i] != ':'; i++ {
		if !isNameChar(line[i], i == 0) {
			return nil, nil, false
		}
	}
	if i == 0 {
		return nil, nil, false
	}
	name = line[:i]
	if i == len(line) {
		return name, nil, true
	}
	v := line[i+1:]
	for len(v) > 0 && v[0] == ' ' {
		v = v[1:]
	}
	// The value ends before trailing spaces.
	for len(v) > 0 && v[len(v)-1] == ' ' {
		v = v[:len(v)-1]
	}
	return name, v, true
}

func (p *authParser) header(name, value []byte) {
	r := &p.reply
	switch n := string(name); {
	case strings.EqualFold(n, "Auth-Status"):
		switch string(value) {
		case "OK":
		case "WAIT":
			r.wait = true
		default:
			r.status = clone(value)
		}
	case strings.EqualFold(n, "Auth-Server"):
		r.server = clone(value)
	case strings.EqualFold(n, "Auth-Port"):
		r.port = clone(value)
	case strings.EqualFold(n, "Auth-User"):
		r.user = clone(value)
		r.hasUser = true
	case strings.EqualFold(n, "Auth-Pass"):
		r.pass = clone(value)
		r.hasPass = true
	case strings.EqualFold(n, "Auth-Wait"):
		if v, err := strconv.ParseInt(string(value), 10, 64); err == nil && v >= 0 && value[0] != '+' {
			r.sleep = v
		}
	case strings.EqualFold(n, "Auth-Error-Code"):
		r.errCode = clone(value)
	}
}
