package mail

import (
	"net"
	"strconv"
	"time"
)

// authenticate asks auth_http about the credentials the client sent
// and acts on the answer (ngx_mail_auth, the auth_http handlers): it
// proxies the session, or sets the reply the client gets. false: the
// session is over.
func (s *session) authenticate() bool {
	s.args = s.args[:0]
	if s.pos == s.last {
		s.pos, s.last = 0, 0
	}
	s.state = 0
	s.out = nil
	s.loginAttempt++
	for {
		r, err := s.askAuth()
		if err != nil {
			s.internalError()
			return true
		}
		if r.hasUser {
			s.login = r.user
		}
		if r.hasPass {
			s.passwd = r.pass
		}
		if r.status != nil {
			s.logf("info", "client login failed: \""+string(r.status)+"\"", "")
			s.out = s.sv.proto.errorReply(s, string(r.status))
			if s.sv.proto == smtpProto {
				code := r.errCode
				if code == nil {
					code = []byte("535 5.7.0")
				}
				s.out = []byte(string(code) + " " + string(r.status) + "\r\n")
			}
			if r.sleep == 0 {
				s.quit = true
				return true
			}
			if !s.sleep(r.sleep) {
				return false
			}
			s.mailState = 0
			s.authMethod = methodPlain
			s.action = "in auth state"
			return true
		}
		if r.wait {
			if r.sleep > 0 && !s.sleep(r.sleep) {
				return false
			}
			continue
		}
		a := &s.sv.auth
		if len(r.server) == 0 || len(r.port) == 0 {
			s.logf("error", "auth http server "+a.name+" did not send server or port", "")
			s.internalError()
			return true
		}
		if s.passwd == nil && s.sv.proto != smtpProto {
			s.logf("error", "auth http server "+a.name+" did not send password", "")
			s.internalError()
			return true
		}
		ip := net.ParseIP(string(r.server))
		if ip == nil {
			s.logf("error", "auth http server "+a.name+" sent invalid server address:\""+string(r.server)+"\"", "")
			s.internalError()
			return true
		}
		port, err := strconv.Atoi(string(r.port))
		if err != nil || port < 1 || port > 65535 || r.port[0] == '+' || r.port[0] == '-' {
			s.logf("error", "auth http server "+a.name+" sent invalid server port:\""+string(r.port)+"\"", "")
			s.internalError()
			return true
		}
		s.upstreamName = string(r.server) + ":" + string(r.port)
		s.proxy(net.JoinHostPort(ip.String(), strconv.Itoa(port)))
		return false
	}
}

// sleep waits secs seconds (Auth-Wait), reading nothing from the client;
// false when the server closes meanwhile.
func (s *session) sleep(secs int64) bool {
	t := time.NewTimer(time.Duration(secs) * time.Second)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.srv.done:
		return false
	}
}
