package mail

import (
	"strings"

	"github.com/gonginx/gonginx/nginxconf"
)

// POP3 (ngx_mail_pop3_module, ngx_mail_pop3_handler.c and the POP3 part
// of ngx_mail_parse.c).

// POP3 commands.
const (
	pop3User = iota + 1
	pop3Pass
	pop3APOP
	pop3Quit
	pop3Capa
	pop3Auth
	pop3Noop
	pop3STLS
)

// POP3 auth states (s.mailState).
const (
	pop3Start = iota
	pop3UserState
	pop3Passwd
	pop3AuthLoginUsername
	pop3AuthLoginPassword
	pop3AuthPlain
	pop3AuthCramMD5
	pop3AuthExternal
)

var pop3Proto = &protocol{
	name:          "pop3",
	internalError: []byte("-ERR internal server error\r\n"),
	certError:     []byte("-ERR SSL certificate error\r\n"),
	noCert:        []byte("-ERR No required SSL certificate\r\n"),
	clientBuffer:  128,
	compile:       pop3Compile,
	greet:         pop3Greet,
	parse:         pop3Parse,
	authState:     pop3AuthState,
	errorReply:    func(s *session, msg string) []byte { return []byte("-ERR " + msg + "\r\n") },
	login:         pop3Login,
	replyOK:       pop3ReplyOK,
}

// pop3Names are the SASL names of the auth bits plain, login, apop,
// cram-md5 and external, in nginx's order ("" for one SASL lacks).
var pop3Names = []struct {
	bit  uint
	name string
}{{authPlain, "PLAIN"}, {authLogin, "LOGIN"}, {authAPOP, ""}, {authCramMD5, "CRAM-MD5"}, {authExternal, "EXTERNAL"}}

func pop3Compile(sv *server, main, srv *nginxconf.Directive) {
	sv.clientBuffer = 128
	m := authMethodsOf(main, srv, "pop3_auth", authPlain)
	if m&authPlain != 0 {
		m |= authLogin
	}
	sv.authMethods = m
	caps := capabilitiesOf(main, srv, "pop3_capabilities")
	if caps == nil {
		caps = []string{"TOP", "USER", "UIDL"}
	}
	var b strings.Builder
	b.WriteString("+OK Capability list follows\r\n")
	for _, c := range caps {
		b.WriteString(c + "\r\n")
	}
	b.WriteString("SASL")
	for _, n := range pop3Names {
		if n.name != "" && m&n.bit != 0 {
			b.WriteString(" " + n.name)
		}
	}
	b.WriteString("\r\n.\r\n")
	sv.capability = []byte(b.String())
	c := sv.capability
	sv.starttlsCapability = append(c[:len(c)-3:len(c)-3], "STLS\r\n.\r\n"...)
	b.Reset()
	b.WriteString("+OK Capability list follows\r\n")
	for _, c := range caps {
		if !strings.EqualFold(c, "USER") {
			b.WriteString(c + "\r\n")
		}
	}
	b.WriteString("STLS\r\n.\r\n")
	sv.starttlsOnlyCapability = []byte(b.String())
	b.Reset()
	b.WriteString("+OK methods supported:\r\n")
	for _, n := range pop3Names {
		if n.name != "" && m&n.bit != 0 {
			b.WriteString(n.name + "\r\n")
		}
	}
	b.WriteString(".\r\n")
	sv.authCapability = []byte(b.String())
}

func pop3Greet(s *session) bool {
	if s.sv.authMethods&(authAPOP|authCramMD5) != 0 {
		s.makeSalt()
		s.out = append([]byte("+OK POP3 ready "), s.salt...)
	} else {
		s.out = []byte("+OK POP3 ready\r\n")
	}
	return true
}

func pop3AuthState(s *session, rc int) int {
	s.out = []byte("+OK\r\n")
	if rc == rcOK {
		switch s.mailState {
		case pop3Start:
			switch s.command {
			case pop3User:
				rc = pop3UserCmd(s)
			case pop3Capa:
				s.out = pop3Capability(s, true)
			case pop3STLS:
				rc = s.startTLSCmd()
			case pop3APOP:
				rc = pop3APOPCmd(s)
			case pop3Auth:
				rc = pop3AuthCmd(s)
			case pop3Quit:
				s.quit = true
			case pop3Noop:
			default:
				rc = rcInvalid
			}
		case pop3UserState:
			switch s.command {
			case pop3Pass:
				if len(s.args) != 1 {
					rc = rcInvalid
					break
				}
				s.passwd = clone(s.args[0])
				rc = rcDone
			case pop3Capa:
				s.out = pop3Capability(s, false)
			case pop3Quit:
				s.quit = true
			case pop3Noop:
			default:
				rc = rcInvalid
			}
		case pop3AuthLoginUsername:
			rc = s.authLoginUsername(0)
			s.out = []byte("+ UGFzc3dvcmQ6\r\n")
			s.mailState = pop3AuthLoginPassword
		case pop3AuthLoginPassword:
			rc = s.authLoginPassword()
		case pop3AuthPlain:
			rc = s.authPlain(0)
		case pop3AuthCramMD5:
			rc = s.authCramMD5()
		case pop3AuthExternal:
			rc = s.authExternal(0)
		}
	}
	switch rc {
	case rcInvalid:
		s.mailState = pop3Start
		s.state = 0
		s.out = []byte("-ERR invalid command\r\n")
		fallthrough
	case rcOK:
		s.resetArgs()
	}
	return rc
}

func clone(b []byte) []byte { return append([]byte{}, b...) }

// pop3Capability is CAPA's reply: on a plain connection of a server
// with starttls, with STLS (and without USER and SASL for "only").
func pop3Capability(s *session, stls bool) []byte {
	if stls && s.tls == nil {
		switch s.sv.starttls {
		case starttlsOn:
			return s.sv.starttlsCapability
		case starttlsOnly:
			return s.sv.starttlsOnlyCapability
		}
	}
	return s.sv.capability
}

func pop3UserCmd(s *session) int {
	if s.starttlsOnly() || len(s.args) != 1 {
		return rcInvalid
	}
	s.login = clone(s.args[0])
	s.mailState = pop3UserState
	return rcOK
}

func pop3APOPCmd(s *session) int {
	if s.starttlsOnly() || len(s.args) != 2 || s.sv.authMethods&authAPOP == 0 {
		return rcInvalid
	}
	s.login = clone(s.args[0])
	s.passwd = clone(s.args[1])
	s.authMethod = methodAPOP
	return rcDone
}

// pop3AuthStates are POP3's states after AUTH's first line.
var pop3AuthStates = authStates{pop3AuthLoginUsername, pop3AuthLoginPassword, pop3AuthPlain, pop3AuthCramMD5, pop3AuthExternal}

func pop3AuthCmd(s *session) int {
	if s.starttlsOnly() {
		return rcInvalid
	}
	if len(s.args) == 0 {
		s.out = s.sv.authCapability
		s.state = 0
		return rcOK
	}
	return s.authStart("+ ", &pop3AuthStates)
}

var pop3Commands = map[string]int{
	"USER": pop3User, "PASS": pop3Pass, "APOP": pop3APOP, "QUIT": pop3Quit,
	"CAPA": pop3Capa, "AUTH": pop3Auth, "NOOP": pop3Noop, "STLS": pop3STLS,
}

// pop3Grammar is POP3's command line (ngx_mail_pop3_parse_command): a
// user name or password may hold spaces.
var pop3Grammar = lineGrammar{commands: pop3Commands, maxArgs: 2, auth: pop3Auth, spaced: [2]int{pop3User, pop3Pass}}

// pop3Parse parses one command line from the buffer.
func pop3Parse(s *session) int { return s.parseLine(&pop3Grammar) }
