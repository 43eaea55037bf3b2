package mail

import (
	"encoding/base64"
	"errors"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/upstream/resolver"
)

// SMTP (ngx_mail_smtp_module, ngx_mail_smtp_handler.c and the SMTP part
// of ngx_mail_parse.c).

// SMTP commands.
const (
	smtpHelo = iota + 1
	smtpEhlo
	smtpAuth
	smtpQuit
	smtpNoop
	smtpMail
	smtpRset
	smtpRcpt
	smtpVrfy
	smtpExpn
	smtpHelp
	smtpStartTLS
)

// SMTP states (s.mailState): the auth side's, then the backend login's.
const (
	smtpStart = iota
	smtpAuthLoginUsername
	smtpAuthLoginPassword
	smtpAuthPlainState
	smtpAuthCramMD5
	smtpAuthExternal
	smtpHeloState
	smtpHeloXclient
	smtpHeloAuth
	smtpHeloFrom
	smtpXclient
	smtpXclientFrom
	smtpXclientHelo
	smtpXclientAuth
	smtpFrom
	smtpTo
)

func init() {
	*smtpProto = protocol{
		name:          "smtp",
		internalError: []byte("451 4.3.2 Internal server error\r\n"),
		certError:     []byte("421 4.7.1 SSL certificate error\r\n"),
		noCert:        []byte("421 4.7.1 No required SSL certificate\r\n"),
		compile:       smtpCompile,
		greet:         smtpGreet,
		parse:         smtpParse,
		authState:     smtpAuthState,
		errorReply:    func(s *session, msg string) []byte { return []byte("535 5.7.0 " + msg + "\r\n") },
		login:         smtpLoginLine,
		replyOK:       smtpReplyOK,
	}
	protocols["smtp"] = smtpProto
}

var smtpNames = []struct {
	bit  uint
	name string
}{{authPlain, "PLAIN"}, {authLogin, "LOGIN"}, {authAPOP, ""}, {authCramMD5, "CRAM-MD5"}, {authExternal, "EXTERNAL"}}

func smtpCompile(sv *server, main, srv *nginxconf.Directive) {
	sv.clientBuffer = os.Getpagesize()
	if d := lookup(main, srv, "smtp_client_buffer"); d != nil && len(d.Args) > 0 {
		if n, ok := nginxconf.ParseSize(d.Args[0]); ok {
			sv.clientBuffer = int(n)
		}
	}
	if d := lookup(main, srv, "smtp_greeting_delay"); d != nil && len(d.Args) > 0 {
		if ms, ok := nginxconf.ParseTime(d.Args[0], false); ok {
			sv.greetingDelay = time.Duration(ms) * time.Millisecond
		}
	}
	m := authMethodsOf(main, srv, "smtp_auth", authPlain|authLogin)
	sv.authMethods = m
	sv.greeting = []byte("220 " + sv.serverName + " ESMTP ready\r\n")
	sv.heloReply = []byte("250 " + sv.serverName + "\r\n")
	lines := []string{sv.serverName}
	lines = append(lines, capabilitiesOf(main, srv, "smtp_capabilities")...)
	auth := ""
	for _, n := range smtpNames {
		if m&n.bit != 0 {
			auth += " " + n.name
		}
	}
	if m&(authPlain|authLogin|authAPOP|authCramMD5|authExternal) != 0 {
		lines = append(lines, "AUTH"+auth)
	}
	sv.capability = smtpLines(lines)
	sv.starttlsCapability = smtpLines(append(lines, "STARTTLS"))
	if m&(authPlain|authLogin|authAPOP|authCramMD5|authExternal) != 0 {
		lines = lines[:len(lines)-1]
	}
	sv.starttlsOnlyCapability = smtpLines(append(lines, "STARTTLS"))
}

// smtpLines is a multiline 250 reply.
func smtpLines(lines []string) []byte {
	var b strings.Builder
	for i, l := range lines {
		sep := "-"
		if i == len(lines)-1 {
			sep = " "
		}
		b.WriteString("250" + sep + l + "\r\n")
	}
	return []byte(b.String())
}

// smtpGreet sends the greeting, after smtp_greeting_delay when set: a
// client that talks first is turned away.
func smtpGreet(s *session) bool {
	s.host = []byte(s.clientName())
	if s.sv.greetingDelay > 0 {
		s.action = "in delay pipelining state"
		s.nc.SetReadDeadline(time.Now().Add(s.sv.greetingDelay))
		n, err := s.nc.Read(s.buf)
		if n > 0 {
			s.last = n
			s.logRejected("client was rejected before greeting: \"%s\"")
			s.pos, s.last = 0, 0
			s.out = []byte("503 5.5.0 Improper use of SMTP command pipelining\r\n")
			s.quit = true
			return true
		}
		if !isTimeout(err) {
			return false
		}
	}
	s.out = s.sv.greeting
	return true
}

// logRejected logs the client's buffer, its CR and LF made "_" (in the
// buffer itself, as nginx does when the log takes info lines).
func (s *session) logRejected(format string) {
	if !s.srv.log.Takes(s.sv.errorLogs, "info") {
		return
	}
	for i := 0; i < s.last; i++ {
		if s.buf[i] == '\r' || s.buf[i] == '\n' {
			s.buf[i] = '_'
		}
	}
	s.logf("info", strings.Replace(format, "%s", string(s.buf[:s.last]), 1), "")
}

func smtpAuthState(s *session, rc int) int {
	s.out = []byte("250 2.0.0 OK\r\n")
	if rc == rcOK {
		switch s.mailState {
		case smtpStart:
			switch s.command {
			case smtpHelo, smtpEhlo:
				rc = smtpHeloCmd(s)
			case smtpAuth:
				rc = smtpAuthCmd(s)
			case smtpQuit:
				s.quit = true
				s.out = []byte("221 2.0.0 Bye\r\n")
			case smtpMail:
				rc = smtpMailCmd(s)
			case smtpRcpt:
				rc = smtpRcptCmd(s)
			case smtpRset:
				s.smtpFrom, s.smtpTo = nil, nil
			case smtpStartTLS:
				rc = s.startTLSCmd()
				if rc == rcOK {
					// RFC 3207: what the client said before is forgotten.
					s.smtpHelo, s.smtpFrom, s.smtpTo = nil, nil, nil
				}
				s.out = []byte("220 2.0.0 Start TLS\r\n")
			case smtpNoop:
			default:
				rc = rcInvalid
			}
		case smtpAuthLoginUsername:
			rc = s.authLoginUsername(0)
			s.out = []byte("334 UGFzc3dvcmQ6\r\n")
			s.mailState = smtpAuthLoginPassword
		case smtpAuthLoginPassword:
			rc = s.authLoginPassword()
		case smtpAuthPlainState:
			rc = s.authPlain(0)
		case smtpAuthCramMD5:
			rc = s.authCramMD5()
		case smtpAuthExternal:
			rc = s.authExternal(0)
		}
	}
	switch rc {
	case rcInvalid:
		s.mailState = smtpStart
		s.state = 0
		s.out = []byte("500 5.5.1 Invalid command\r\n")
		fallthrough
	case rcOK:
		s.resetArgs()
	}
	return rc
}

func smtpHeloCmd(s *session) int {
	if len(s.args) != 1 {
		s.out = []byte("501 5.5.4 Invalid argument\r\n")
		s.state = 0
		return rcOK
	}
	s.smtpHelo = clone(s.args[0])
	s.smtpFrom, s.smtpTo = nil, nil
	if s.command == smtpHelo {
		s.out = s.sv.heloReply
	} else {
		s.esmtp = true
		s.out = s.sv.capability
		if s.tls == nil && s.sv.starttls == starttlsOn {
			s.out = s.sv.starttlsCapability
		} else if s.tls == nil && s.sv.starttls == starttlsOnly {
			s.out = s.sv.starttlsOnlyCapability
		}
	}
	return rcOK
}

// smtpAuthStates are SMTP's states after AUTH's first line.
var smtpAuthStates = authStates{smtpAuthLoginUsername, smtpAuthLoginPassword, smtpAuthPlainState, smtpAuthCramMD5, smtpAuthExternal}

func smtpAuthCmd(s *session) int {
	if len(s.args) == 0 {
		s.out = []byte("501 5.5.4 Invalid argument\r\n")
		s.state = 0
		return rcOK
	}
	return s.authStart("334 ", &smtpAuthStates)
}

// smtpCommandLine is the command from its name to the end of its last
// argument.
func (s *session) smtpCommandLine() []byte {
	last := s.args[len(s.args)-1]
	end := cap(s.buf[:0]) - cap(last) + len(last)
	return clone(s.buf[s.cmdStart:end])
}

func smtpMailCmd(s *session) int {
	if s.sv.authMethods&authNone == 0 {
		s.logRejected("client was rejected: \"%s\"")
		s.out = []byte("530 5.7.1 Authentication required\r\n")
		return rcOK
	}
	if len(s.smtpFrom) > 0 {
		s.out = []byte("503 5.5.1 Bad sequence of commands\r\n")
		return rcOK
	}
	if len(s.args) == 0 {
		s.out = []byte("501 5.5.4 Invalid argument\r\n")
		return rcOK
	}
	s.smtpFrom = s.smtpCommandLine()
	return rcOK
}

func smtpRcptCmd(s *session) int {
	if len(s.smtpFrom) == 0 {
		s.out = []byte("503 5.5.1 Bad sequence of commands\r\n")
		return rcOK
	}
	if len(s.args) == 0 {
		s.out = []byte("501 5.5.4 Invalid argument\r\n")
		return rcOK
	}
	s.smtpTo = s.smtpCommandLine()
	s.authMethod = methodNone
	return rcDone
}

// smtpLoginLine is the next line to the backend: HELO/EHLO, XCLIENT,
// the client's HELO, AUTH PLAIN, MAIL FROM, RCPT TO; nil when done.
func smtpLoginLine(s *session) []byte {
	sv := s.sv
	next := func(none, auth, plain int) {
		switch {
		case s.authMethod == methodNone:
			s.mailState = none
		case sv.smtpAuth:
			s.mailState = auth
		default:
			s.mailState = plain
		}
	}
	switch s.mailState {
	case smtpStart:
		s.action = "sending HELO/EHLO to upstream"
		verb := "HELO "
		if s.esmtp || sv.xclient {
			verb = "EHLO "
		}
		if sv.xclient {
			s.mailState = smtpHeloXclient
		} else {
			next(smtpHeloFrom, smtpHeloAuth, smtpHeloState)
		}
		return []byte(verb + sv.serverName + "\r\n")
	case smtpHeloXclient:
		s.action = "sending XCLIENT to upstream"
		line := "XCLIENT ADDR="
		if strings.Contains(s.addr, ":") {
			line += "IPV6:"
		}
		line += s.addr
		if len(s.login) > 0 && !sv.smtpAuth {
			line += " LOGIN=" + string(s.login)
		}
		line += " NAME=" + string(s.host) + "\r\n"
		if len(s.smtpHelo) > 0 {
			s.mailState = smtpXclientHelo
		} else {
			next(smtpXclientFrom, smtpXclientAuth, smtpXclient)
		}
		return []byte(line)
	case smtpXclientHelo:
		s.action = "sending client HELO/EHLO to upstream"
		verb := "HELO "
		if s.esmtp {
			verb = "EHLO "
		}
		next(smtpHeloFrom, smtpHeloAuth, smtpHeloState)
		return []byte(verb + string(s.smtpHelo) + "\r\n")
	case smtpHeloAuth, smtpXclientAuth:
		s.action = "sending AUTH to upstream"
		if s.passwd == nil {
			s.logf("error", "no password available", "")
			s.out = s.sv.proto.internalError
			return nil
		}
		plain := append(append(append([]byte{0}, s.login...), 0), s.passwd...)
		s.mailState = smtpAuthPlainState
		return []byte("AUTH PLAIN " + base64.StdEncoding.EncodeToString(plain) + "\r\n")
	case smtpHeloFrom, smtpXclientFrom:
		s.action = "sending MAIL FROM to upstream"
		s.mailState = smtpFrom
		return append(clone(s.smtpFrom), '\r', '\n')
	case smtpFrom:
		s.action = "sending RCPT TO to upstream"
		s.mailState = smtpTo
		return append(clone(s.smtpTo), '\r', '\n')
	}
	return nil
}

func smtpReplyOK(s *session, p []byte) (int, int) {
	if p[3] == '-' {
		// A multiline reply: wait for its last line.
		m := len(p) - len("\r\n200\r\n")
		for m > 0 && !(p[m] == '\r' && p[m+1] == '\n') {
			m--
		}
		if m <= 0 || p[m+5] == '-' {
			return rcAgain, 0
		}
	}
	code := string(p[:3])
	switch s.mailState {
	case smtpStart:
		if code == "220" {
			return rcOK, 0
		}
	case smtpHeloState, smtpHeloXclient, smtpHeloFrom, smtpHeloAuth, smtpFrom:
		if code == "250" {
			return rcOK, 0
		}
	case smtpXclient, smtpXclientFrom, smtpXclientHelo, smtpXclientAuth:
		if code == "220" || code == "250" {
			return rcOK, 0
		}
	case smtpAuthPlainState:
		if code == "235" {
			return rcOK, 0
		}
	case smtpTo:
		return rcOK, 0
	}
	return rcInvalid, 0
}

var smtpCommands = map[string]int{
	"HELO": smtpHelo, "EHLO": smtpEhlo, "QUIT": smtpQuit, "AUTH": smtpAuth, "NOOP": smtpNoop,
	"MAIL": smtpMail, "RSET": smtpRset, "RCPT": smtpRcpt, "VRFY": smtpVrfy, "EXPN": smtpExpn,
	"HELP": smtpHelp, "STARTTLS": smtpStartTLS,
}

// smtpGrammar is SMTP's command line (ngx_mail_smtp_parse_command).
var smtpGrammar = lineGrammar{commands: smtpCommands, long: 8, maxArgs: 10, auth: smtpAuth}

// smtpParse parses one command line from the buffer.
func smtpParse(s *session) int { return s.parseLine(&smtpGrammar) }

// clientName is the SMTP client's host name (Client-Host, XCLIENT
// NAME=): its address's PTR name when that name resolves back to the
// address; "[UNAVAILABLE]" without a resolver or when the name does not
// exist or match, "[TEMPUNAVAIL]" when the lookup failed otherwise
// (ngx_mail_smtp_resolve_addr_handler, _resolve_name_handler).
func (s *session) clientName() string {
	const unavailable, tempunavail = "[UNAVAILABLE]", "[TEMPUNAVAIL]"
	sv := s.sv
	if sv.resolver == nil {
		return unavailable
	}
	ip, err := netip.ParseAddr(s.addr)
	if err != nil {
		return tempunavail // a unix socket's client
	}
	failed := func(err error, quoted string) string {
		var re *resolver.Error
		if !errors.As(err, &re) {
			return tempunavail
		}
		msg := err.Error()
		if quoted != "" {
			msg = `"` + quoted + `"` + strings.TrimPrefix(msg, re.Name)
		}
		s.logf("error", msg, "")
		if re.Code == 3 { // NXDOMAIN
			return unavailable
		}
		return tempunavail
	}
	s.action = "in resolving client address"
	name, err := sv.resolver.ResolveAddr(ip, sv.resolverTimeout)
	if err != nil {
		return failed(err, "")
	}
	s.action = "in resolving client hostname"
	addrs, err := sv.resolver.Resolve(name, sv.resolverTimeout)
	if err != nil {
		return failed(err, name)
	}
	for _, a := range addrs {
		if a.Unmap() == ip.Unmap() {
			return name
		}
	}
	return unavailable
}
