package mail

import (
	"bytes"
	"io"
	"net"
	"time"

	"github.com/gonginx/gonginx/nginxconf"
)

// protocol is what differs between POP3, IMAP and SMTP.
type protocol struct {
	name          string // Auth-Protocol
	internalError []byte
	// certError and noCert end a session whose client certificate
	// ssl_verify_client refuses.
	certError, noCert []byte
	clientBuffer      int
	compile           func(sv *server, main, srv *nginxconf.Directive)
	// greet sets the greeting (false: the session is over).
	greet func(s *session) bool
	// parse parses one command from the client's buffer.
	parse func(s *session) int
	// authState acts on one command (or parse failure) in the auth state.
	authState func(s *session, rc int) int
	// errorReply is the line an auth_http failure message makes.
	errorReply func(s *session, msg string) []byte
	// login is the next line logging in to the backend, after a good
	// reply in s.mailState; nil when logged in.
	login func(s *session) []byte
	// replyOK checks a complete backend reply: rcOK, rcAgain (more
	// lines are due) or rcInvalid, with how much of it the invalid
	// reply's log line leaves out (a tag matched).
	replyOK func(s *session, p []byte) (int, int)
}

var protocols = map[string]*protocol{"pop3": pop3Proto, "imap": imapProto}

var smtpProto = &protocol{} // replaced by smtp.go's when SMTP is served

func pop3Login(s *session) []byte {
	switch s.mailState {
	case pop3Start:
		s.action = "sending user name to upstream"
		s.mailState = pop3UserState
		return append(append([]byte("USER "), s.login...), '\r', '\n')
	case pop3UserState:
		s.action = "sending password to upstream"
		s.mailState = pop3Passwd
		return append(append([]byte("PASS "), s.passwd...), '\r', '\n')
	}
	return nil
}

func pop3ReplyOK(s *session, p []byte) (int, int) {
	if bytes.HasPrefix(p, []byte("+OK")) {
		return rcOK, 0
	}
	return rcInvalid, 0
}

// proxy connects to the backend at addr, logs in as the client and then
// relays (ngx_mail_proxy_module.c).
func (s *session) proxy(addr string) {
	s.action = "connecting to upstream"
	deadline := time.Now().Add(s.sv.timeout)
	number := s.srv.connID() // as the auth_http connection's
	d := net.Dialer{Deadline: deadline}
	up, err := d.Dial("tcp", addr)
	if err == nil {
		s.srv.slots.OpenedConn(up, number)
	}
	if err != nil {
		if isTimeout(err) {
			s.logf("info", "upstream timed out", " (110: Connection timed out)")
		} else {
			s.logf("error", "connect() failed"+errnoText(err), "")
		}
		s.internalError()
		s.send()
		return
	}
	defer up.Close()
	s.srv.conns.Track(up, true)
	defer s.srv.conns.Track(up, false)
	up.SetDeadline(deadline)
	if s.sv.proxyProtocol {
		s.action = "sending PROXY protocol header to upstream"
		if _, err := up.Write(s.proxyHeader()); err != nil {
			s.internalError()
			s.send()
			return
		}
	}
	b := make([]byte, s.sv.proxyBuffer)
	n := 0
	s.out = nil
	s.mailState = 0
	for {
		rc := s.readReply(up, b, &n)
		if rc == rcAgain {
			continue
		}
		if rc != rcOK {
			// ngx_mail_proxy_upstream_error
			if len(s.out) == 0 {
				s.out = s.sv.proto.internalError
			}
			s.send()
			return
		}
		line := s.sv.proto.login(s)
		if line == nil && len(s.out) > 0 {
			// The login cannot go on (logged): the client gets s.out.
			s.send()
			return
		}
		if line == nil {
			break
		}
		if _, err := up.Write(line); err != nil {
			s.internalError()
			s.send()
			return
		}
		n = 0
	}
	up.SetDeadline(time.Time{})
	s.action = ""
	s.logf("info", "client logged in", "")
	pending := b[:n]
	if s.sv.proto == smtpProto && s.authMethod != methodNone {
		// The client's AUTH succeeded; the backend's replies were ours.
		pending = []byte("235 2.0.0 OK\r\n")
	}
	s.relay(up, pending)
}

// readReply reads the backend's reply into b[:*n] until it ends with
// CRLF and checks it (ngx_mail_proxy_read_response).
func (s *session) readReply(up net.Conn, b []byte, n *int) int {
	s.action = "reading response from upstream"
	m, err := up.Read(b[*n:])
	*n += m
	if m == 0 {
		if isTimeout(err) {
			s.logf("info", "upstream timed out", " (110: Connection timed out)")
			s.out = s.sv.proto.internalError
		}
		return rcError
	}
	p := b[:*n]
	if len(p) < 4 {
		return rcAgain
	}
	if !bytes.HasSuffix(p, []byte("\r\n")) {
		if *n == len(b) {
			s.logf("error", "upstream sent too long response line: \""+string(p[:len(p)-1])+"\"", "")
			return rcError
		}
		return rcAgain
	}
	rc, skip := s.sv.proto.replyOK(s, p)
	switch rc {
	case rcOK:
		return rcOK
	case rcAgain:
		return rcAgain
	}
	text := string(p[skip : len(p)-2])
	if !s.sv.passErrorMessage {
		s.logf("error", "upstream sent invalid response: \""+text+"\"", "")
		return rcError
	}
	s.logf("info", "upstream sent invalid response: \""+text+"\"", "")
	s.out = clone(p)
	s.quit = true
	return rcError
}

// relay copies both ways until one side has closed and what it sent is
// delivered (ngx_mail_proxy_handler). pending is the backend's last
// login reply, which the client gets first.
func (s *session) relay(up net.Conn, pending []byte) {
	// proxy_timeout is the client's: re-armed on each of its events, a
	// read (below) or its socket writable again after a write waited
	// (writeEvents), never by the backend's.
	toClient := s.nc
	ev := s.events
	if s.tls == nil {
		if ev = newWriteEvents(s.nc); ev != nil {
			toClient = ev
		}
	}
	if ev != nil {
		ev.writable = func() { s.nc.SetReadDeadline(time.Now().Add(s.sv.proxyTimeout)) }
	}
	done := make(chan struct{}, 2)
	go func() {
		defer func() { done <- struct{}{} }()
		if len(pending) > 0 {
			if _, err := toClient.Write(pending); err != nil {
				return
			}
		}
		// Through the buffer, nginx's: the client's writes are ours.
		io.CopyBuffer(toClient, struct{ io.Reader }{up}, make([]byte, len(s.buf)+s.sv.proxyBuffer))
	}()
	go func() {
		defer func() { done <- struct{}{} }()
		if s.pos < s.last {
			if _, err := up.Write(s.buf[s.pos:s.last]); err != nil {
				return
			}
		}
		buf := s.buf
		for {
			s.nc.SetReadDeadline(time.Now().Add(s.sv.proxyTimeout))
			m, err := s.nc.Read(buf)
			if m > 0 {
				if _, werr := up.Write(buf[:m]); werr != nil {
					return
				}
			}
			if err != nil {
				if isTimeout(err) {
					s.action = "proxying"
					s.logf("info", "client timed out", " (110: Connection timed out)")
					s.timedOut.Store(true)
				}
				return
			}
		}
	}()
	<-done
	if !s.timedOut.Load() {
		s.logf("info", "proxied session done", "")
	}
	up.Close()
	s.nc.Close()
	<-done
}
