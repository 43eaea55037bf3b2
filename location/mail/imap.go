package mail

import (
	"bytes"
	"os"
	"strconv"
	"strings"

	"github.com/gonginx/gonginx/nginxconf"
)

// IMAP (ngx_mail_imap_module, ngx_mail_imap_handler.c and the IMAP part
// of ngx_mail_parse.c).

// IMAP commands.
const (
	imapLogin = iota + 1
	imapLogout
	imapCapability
	imapNoop
	imapStartTLS
	imapAuthenticate
)

// IMAP auth states (s.mailState); the backend login uses the first four.
const (
	imapStart = iota
	imapAuthLoginUsername
	imapAuthLoginPassword
	imapAuthPlain
	imapAuthCramMD5
	imapAuthExternal
	imapLoginState
	imapUser
	imapPasswd
)

var imapProto = &protocol{
	name:          "imap",
	internalError: []byte("* BAD internal server error\r\n"),
	certError:     []byte("* BYE SSL certificate error\r\n"),
	noCert:        []byte("* BYE No required SSL certificate\r\n"),
	compile:       imapCompile,
	greet: func(s *session) bool {
		s.out = []byte("* OK IMAP4 ready\r\n")
		return true
	},
	parse:     imapParse,
	authState: imapAuthState,
	errorReply: func(s *session, msg string) []byte {
		return []byte(string(s.tag) + "NO " + msg + "\r\n")
	},
	login:   imapLoginLine,
	replyOK: imapReplyOK,
}

var imapNames = []struct {
	bit  uint
	name string
}{{authPlain, "AUTH=PLAIN"}, {authLogin, "AUTH=LOGIN"}, {authAPOP, ""}, {authCramMD5, "AUTH=CRAM-MD5"}, {authExternal, "AUTH=EXTERNAL"}}

func imapCompile(sv *server, main, srv *nginxconf.Directive) {
	sv.clientBuffer = os.Getpagesize()
	if d := lookup(main, srv, "imap_client_buffer"); d != nil && len(d.Args) > 0 {
		if n, ok := nginxconf.ParseSize(d.Args[0]); ok {
			sv.clientBuffer = int(n)
		}
	}
	m := authMethodsOf(main, srv, "imap_auth", authPlain)
	sv.authMethods = m
	caps := capabilitiesOf(main, srv, "imap_capabilities")
	if caps == nil {
		caps = []string{"IMAP4", "IMAP4rev1", "UIDPLUS"}
	}
	var b strings.Builder
	b.WriteString("* CAPABILITY")
	for _, c := range caps {
		b.WriteString(" " + c)
	}
	sv.starttlsOnlyCapability = []byte(b.String() + " STARTTLS LOGINDISABLED\r\n")
	for _, n := range imapNames {
		if m&n.bit != 0 {
			b.WriteString(" " + n.name)
		}
	}
	sv.starttlsCapability = []byte(b.String() + " STARTTLS\r\n")
	b.WriteString("\r\n")
	sv.capability = []byte(b.String())
}

func imapAuthState(s *session, rc int) int {
	tag := true
	var text []byte
	s.out = []byte("OK completed\r\n")
	switch rc {
	case rcOK:
		switch s.mailState {
		case imapStart:
			switch s.command {
			case imapLogin:
				if s.starttlsOnly() || len(s.args) != 2 || len(s.args[0]) == 0 {
					rc = rcInvalid
					break
				}
				s.login, s.passwd = clone(s.args[0]), clone(s.args[1])
				rc = rcDone
			case imapAuthenticate:
				rc = imapAuthenticateCmd(s)
				tag = rc != rcOK
			case imapCapability:
				text = s.sv.capability
				if s.tls == nil && s.sv.starttls == starttlsOn {
					text = s.sv.starttlsCapability
				} else if s.tls == nil && s.sv.starttls == starttlsOnly {
					text = s.sv.starttlsOnlyCapability
				}
			case imapStartTLS:
				rc = s.startTLSCmd()
			case imapLogout:
				s.quit = true
				text = []byte("* BYE\r\n")
			case imapNoop:
			default:
				rc = rcInvalid
			}
		case imapAuthLoginUsername:
			rc = s.authLoginUsername(0)
			tag = false
			s.out = []byte("+ UGFzc3dvcmQ6\r\n")
			s.mailState = imapAuthLoginPassword
		case imapAuthLoginPassword:
			rc = s.authLoginPassword()
		case imapAuthPlain:
			rc = s.authPlain(0)
		case imapAuthCramMD5:
			rc = s.authCramMD5()
		case imapAuthExternal:
			rc = s.authExternal(0)
		}
	case rcImapNext:
		tag = false
		s.out = []byte("+ OK\r\n")
	}
	switch rc {
	case rcDone, rcError:
		return rc
	case rcInvalid:
		s.state = 0
		s.out = []byte("BAD invalid command\r\n")
		s.mailState = imapStart
	}
	if tag {
		if len(s.tag) == 0 {
			s.tag = []byte("* ")
		}
		line := make([]byte, 0, len(text)+len(s.tag)+len(s.out))
		line = append(append(append(line, text...), s.tag...), s.out...)
		s.out = line
	}
	if rc != rcImapNext {
		s.args = s.args[:0]
		if s.state != 0 {
			// The tag is kept for the AUTHENTICATE exchange.
			s.argStart = s.pos
		} else {
			if s.pos == s.last {
				s.pos, s.last = 0, 0
			}
			s.tag = nil
		}
	}
	return rc
}

// imapAuthStates are IMAP's states after AUTHENTICATE's first line.
var imapAuthStates = authStates{imapAuthLoginUsername, imapAuthLoginPassword, imapAuthPlain, imapAuthCramMD5, imapAuthExternal}

func imapAuthenticateCmd(s *session) int { return s.authStart("+ ", &imapAuthStates) }

func imapLoginLine(s *session) []byte {
	switch s.mailState {
	case imapStart:
		s.action = "sending LOGIN command to upstream"
		s.mailState = imapLoginState
		return []byte(string(s.tag) + "LOGIN {" + strconv.Itoa(len(s.login)) + "}\r\n")
	case imapLoginState:
		s.action = "sending user name to upstream"
		s.mailState = imapUser
		return []byte(string(s.login) + " {" + strconv.Itoa(len(s.passwd)) + "}\r\n")
	case imapUser:
		s.action = "sending password to upstream"
		s.mailState = imapPasswd
		return append(clone(s.passwd), '\r', '\n')
	}
	return nil
}

func imapReplyOK(s *session, p []byte) (int, int) {
	switch s.mailState {
	case imapStart:
		if bytes.HasPrefix(p, []byte("* OK")) {
			return rcOK, 0
		}
	case imapLoginState, imapUser:
		if p[0] == '+' {
			return rcOK, 0
		}
	case imapPasswd:
		if rest, ok := bytes.CutPrefix(p, s.tag); ok {
			if bytes.HasPrefix(rest, []byte("OK")) {
				return rcOK, 0
			}
			return rcInvalid, len(s.tag)
		}
	}
	return rcInvalid, 0
}
