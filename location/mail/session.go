package mail

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"net"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/gonginx/gonginx/rewrite/http1"
)

// Results of a command parser and of the auth steps, as nginx's
// NGX_OK / NGX_AGAIN / NGX_MAIL_PARSE_INVALID_COMMAND / NGX_DONE.
const (
	rcOK = iota
	rcAgain
	rcInvalid
	rcDone     // credentials complete: ask auth_http
	rcImapNext // an IMAP literal's "+ OK" is due
	rcClosed   // the connection is gone (logged)
	rcError    // internal server error
)

// The auth methods the auth_http request names (s.authMethod).
const (
	methodPlain = iota
	methodLogin
	methodLoginUsername
	methodAPOP
	methodCramMD5
	methodExternal
	methodNone
)

var methodNames = [...]string{"plain", "plain", "plain", "apop", "cram-md5", "external", "none"}

// session is one client connection, run by one goroutine.
type session struct {
	srv  *Server
	sock *socket
	sv   *server
	nc   net.Conn
	id   uint64
	addr string // the client's address, without the port
	port string
	// proxied is the client's PROXY header (nil: none).
	proxied *http1.ConnInfo

	// buf is the client's command buffer (fixed size, as nginx's; reset
	// to its start only when all of it has been used).
	buf       []byte
	pos, last int
	// The parser's state, kept across reads.
	state              int
	cmdStart, argStart int
	args               [][]byte
	command            int
	quoted, backslash  bool
	noSyncLiteral      bool
	literalLen         int
	tag                []byte

	mailState    int
	out          []byte
	quit         bool
	errors       int
	action       string
	login        []byte
	passwd       []byte // nil: none known
	salt         []byte // "<...>\r\n" when the protocol greets with one
	authMethod   int
	loginAttempt int
	authWait     bool
	upstreamName string

	// SMTP's HELO/EHLO argument, MAIL FROM and RCPT TO lines, and the
	// client's host name.
	smtpHelo, smtpFrom, smtpTo []byte
	host                       []byte
	esmtp                      bool
	// tls is the client's TLS connection (nil: plain); startTLS: a
	// STARTTLS was answered, the handshake follows; usingStartTLS: it
	// was done.
	tls *tls.Conn
	// events is the client's socket under tls, or nil (relay).
	events                  *writeEvents
	startTLS, usingStartTLS bool
	certVerify              string // Auth-SSL-Verify
	timedOut                atomic.Bool
}

var errTimedOut = errors.New("timed out")

func (s *session) run() {
	defer s.nc.Close()
	s.note("info", "client "+s.nc.RemoteAddr().String()+" connected to "+s.sock.text)
	s.action = "sending client greeting line"
	s.buf = make([]byte, s.sv.clientBuffer)
	s.authMethod = methodPlain
	if s.sock.listen.ProxyProtocol && !s.readProxyHeader() {
		return
	}
	if s.sock.listen.SSL || s.sv.sslOn {
		s.action = "SSL handshaking"
		if !s.handshake() {
			return
		}
		if !s.verifyCert() {
			s.send()
			return
		}
		s.action = "sending client greeting line"
	}
	if !s.sv.proto.greet(s) {
		return
	}
	if s.srv.log.TakesDebug(s.sv.errorLogs) {
		// The debug log (--with-debug) has the session's start.
		s.logf("debug", "mail session of "+s.sock.text+" started, "+s.sv.proto.name, "")
	}
	s.action = "in auth state"
	for {
		if len(s.out) > 0 {
			if !s.send() {
				return
			}
		}
		if s.quit {
			return
		}
		if s.startTLS {
			s.startTLS, s.usingStartTLS = false, true
			s.action = "in starttls state"
			if !s.handshake() {
				return
			}
			if !s.verifyCert() {
				s.send()
				return
			}
			s.mailState = 0
			s.action = "in auth state"
		}
		rc := s.readCommand()
		if rc == rcClosed {
			return
		}
		if s.srv.log.TakesDebug(s.sv.errorLogs) {
			s.logf("debug", s.sv.proto.name+" auth state", "")
		}
		switch rc = s.sv.proto.authState(s, rc); rc {
		case rcDone:
			if !s.authenticate() {
				return
			}
		case rcError:
			s.internalError()
		case rcClosed:
			return
		}
	}
}

// readCommand parses the next command, reading more of it as needed
// (ngx_mail_read_command).
func (s *session) readCommand() int {
	for {
		rc := s.sv.proto.parse(s)
		if rc != rcAgain {
			if rc == rcInvalid {
				s.errors++
				if s.errors >= s.sv.maxErrors {
					s.logf("info", "client sent too many invalid commands", "")
					s.quit = true
				}
			}
			return rc
		}
		if s.last == len(s.buf) {
			s.logf("info", "client sent too long command \""+string(s.buf[:s.last])+"\"", "")
			s.quit = true
			return rcInvalid
		}
		s.nc.SetReadDeadline(time.Now().Add(s.sv.timeout))
		n, err := s.nc.Read(s.buf[s.last:])
		s.last += n
		if n > 0 {
			continue
		}
		if isTimeout(err) {
			s.logf("info", "client timed out", " (110: Connection timed out)")
		}
		return rcClosed
	}
}

// done ends a command: its arguments are dropped and the buffer starts
// over when all of it has been used.
func (s *session) resetArgs() {
	s.args = s.args[:0]
	if s.pos == s.last {
		s.pos, s.last = 0, 0
	}
	if s.state != 0 {
		s.argStart = s.pos
	}
}

// send writes s.out to the client (ngx_mail_send).
func (s *session) send() bool {
	s.nc.SetWriteDeadline(time.Now().Add(s.sv.timeout))
	_, err := s.nc.Write(s.out)
	s.out = nil
	if err != nil {
		if isTimeout(err) {
			s.logf("info", "client timed out", " (110: Connection timed out)")
		}
		return false
	}
	return true
}

// internalError answers with the protocol's internal server error and
// ends the session after it is sent.
func (s *session) internalError() {
	s.out = s.sv.proto.internalError
	s.quit = true
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded)
}

// logf writes an error line with the session's context, as
// ngx_mail_log_error: " while ACTION, client: ADDR, server: LISTEN,
// login: "LOGIN", upstream: PEER". errText follows msg (" (110: ...)").
func (s *session) logf(level, msg, errText string) {
	b := make([]byte, 0, 160+len(msg))
	b = append(b, '*')
	b = strconv.AppendUint(b, s.id, 10)
	b = append(b, ' ')
	b = append(b, msg...)
	b = append(b, errText...)
	if s.action != "" {
		b = append(b, " while "...)
		b = append(b, s.action...)
	}
	b = append(b, ", client: "...)
	b = append(b, s.addr...)
	if s.usingStartTLS {
		b = append(b, " using starttls"...)
	}
	b = append(b, ", server: "...)
	b = append(b, s.sock.text...)
	if len(s.login) > 0 {
		b = append(b, ", login: \""...)
		b = append(b, s.login...)
		b = append(b, '"')
		if s.upstreamName != "" {
			b = append(b, ", upstream: "...)
			b = append(b, s.upstreamName...)
		}
	}
	s.srv.log.LogTo(s.sv.errorLogs, level, string(b))
}

// note writes a line without the context.
func (s *session) note(level, msg string) {
	s.srv.log.LogTo(s.sv.errorLogs, level, "*"+strconv.FormatUint(s.id, 10)+" "+msg)
}

// makeSalt makes the APOP / CRAM-MD5 challenge, "<random.time@server>\r\n"
// (ngx_mail_salt).
func (s *session) makeSalt() {
	var r [8]byte
	rand.Read(r[:])
	n := binary.LittleEndian.Uint64(r[:]) & 0x7fffffff
	b := append([]byte("<"), strconv.FormatUint(n, 10)...)
	b = append(b, '.')
	b = strconv.AppendInt(b, time.Now().Unix(), 10)
	b = append(b, '@')
	b = append(b, s.sv.serverName...)
	s.salt = append(b, ">\r\n"...)
}

// decodeBase64 decodes as ngx_decode_base64: the text up to the first
// byte outside the alphabet ("=" included), which must not leave a lone
// sextet.
func decodeBase64(src []byte) ([]byte, bool) {
	n := 0
	for n < len(src) && isBase64(src[n]) {
		n++
	}
	if n%4 == 1 {
		return nil, false
	}
	out := make([]byte, base64.RawStdEncoding.DecodedLen(n))
	m, err := base64.RawStdEncoding.Decode(out, src[:n])
	if err != nil {
		return nil, false
	}
	return out[:m], true
}

func isBase64(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/'
}

// authPlain reads AUTH PLAIN's "authzid\0login\0password" from args[n].
func (s *session) authPlain(n int) int {
	plain, ok := decodeBase64(s.args[n])
	if !ok {
		s.logf("info", "client sent invalid base64 encoding in AUTH PLAIN command", "")
		return rcInvalid
	}
	p := 0
	for p < len(plain) {
		p++
		if plain[p-1] == 0 {
			break
		}
	}
	if p == len(plain) {
		s.logf("info", "client sent invalid login in AUTH PLAIN command", "")
		return rcInvalid
	}
	start := p
	for p < len(plain) && plain[p] != 0 {
		p++
	}
	if p == len(plain) {
		s.logf("info", "client sent invalid password in AUTH PLAIN command", "")
		return rcInvalid
	}
	s.login = plain[start:p]
	s.passwd = plain[p+1:]
	return rcDone
}

func (s *session) authLoginUsername(n int) int {
	login, ok := decodeBase64(s.args[n])
	if !ok {
		s.logf("info", "client sent invalid base64 encoding in AUTH LOGIN command", "")
		return rcInvalid
	}
	s.login = login
	return rcOK
}

func (s *session) authLoginPassword() int {
	passwd, ok := decodeBase64(s.args[0])
	if !ok {
		s.logf("info", "client sent invalid base64 encoding in AUTH LOGIN command", "")
		return rcInvalid
	}
	s.passwd = passwd
	return rcDone
}

// cramMD5Salt sets the challenge line: prefix, the salt in base64, CRLF.
func (s *session) cramMD5Salt(prefix string) {
	salt := s.salt[:len(s.salt)-2]
	b := append([]byte(prefix), base64.StdEncoding.EncodeToString(salt)...)
	s.out = append(b, "\r\n"...)
}

func (s *session) authCramMD5() int {
	v, ok := decodeBase64(s.args[0])
	if !ok {
		s.logf("info", "client sent invalid base64 encoding in AUTH CRAM-MD5 command", "")
		return rcInvalid
	}
	s.login, s.passwd = v, nil
	for i, c := range v {
		if c == ' ' {
			s.login, s.passwd = v[:i], v[i+1:]
			break
		}
	}
	if len(s.passwd) != 32 {
		s.logf("info", "client sent invalid CRAM-MD5 hash in AUTH CRAM-MD5 command", "")
		return rcInvalid
	}
	s.authMethod = methodCramMD5
	return rcDone
}

func (s *session) authExternal(n int) int {
	v, ok := decodeBase64(s.args[n])
	if !ok {
		s.logf("info", "client sent invalid base64 encoding in AUTH EXTERNAL command", "")
		return rcInvalid
	}
	s.login = v
	s.authMethod = methodExternal
	return rcDone
}

// The results of authParse, beyond rcInvalid and an auth step's own.
const (
	authLoginStart = 100 + iota
	authLoginWithUsername
	authPlainStart
	authCramMD5Start
	authExternalStart
)

// authStates are a protocol's states after AUTH's (IMAP's AUTHENTICATE)
// first line, by mechanism.
type authStates struct{ loginUsername, loginPassword, plain, cramMD5, external int }

// authStart answers AUTH's first line (the callers of
// ngx_mail_auth_parse): a mechanism's first prompt behind the
// protocol's continuation (prefix: "+ " or "334 "), and its next state.
func (s *session) authStart(prefix string, st *authStates) int {
	rc := s.authParse()
	switch rc {
	case authLoginStart:
		s.out = []byte(prefix + "VXNlcm5hbWU6\r\n") // "Username:"
		s.mailState = st.loginUsername
		return rcOK
	case authLoginWithUsername:
		s.out = []byte(prefix + "UGFzc3dvcmQ6\r\n") // "Password:"
		s.mailState = st.loginPassword
		return s.authLoginUsername(1)
	case authPlainStart:
		s.out = []byte(prefix + "\r\n")
		s.mailState = st.plain
		return rcOK
	case authCramMD5Start:
		if s.sv.authMethods&authCramMD5 == 0 {
			return rcInvalid
		}
		if s.salt == nil { // POP3 made it at the greeting
			s.makeSalt()
		}
		s.cramMD5Salt(prefix)
		s.mailState = st.cramMD5
		return rcOK
	case authExternalStart:
		if s.sv.authMethods&authExternal == 0 {
			return rcInvalid
		}
		s.out = []byte(prefix + "VXNlcm5hbWU6\r\n")
		s.mailState = st.external
		return rcOK
	}
	return rc
}

// starttlsOnly: the client must STARTTLS before it logs in.
func (s *session) starttlsOnly() bool {
	return s.tls == nil && s.sv.starttls == starttlsOnly
}

// startTLSCmd answers STLS / STARTTLS: when offered, the buffer's rest
// is dropped and the handshake follows the reply.
func (s *session) startTLSCmd() int {
	if s.tls == nil && s.sv.starttls != starttlsOff {
		s.pos, s.last = 0, 0
		s.startTLS = true
		return rcOK
	}
	return rcInvalid
}

// authParse reads AUTH's mechanism (ngx_mail_auth_parse).
func (s *session) authParse() int {
	if s.starttlsOnly() {
		return rcInvalid
	}
	if len(s.args) == 0 {
		return rcInvalid
	}
	mech := string(s.args[0])
	switch {
	case len(mech) == 5 && eqFold(mech, "LOGIN"):
		switch len(s.args) {
		case 1:
			return authLoginStart
		case 2:
			return authLoginWithUsername
		}
	case len(mech) == 5 && eqFold(mech, "PLAIN"):
		switch len(s.args) {
		case 1:
			return authPlainStart
		case 2:
			return s.authPlain(1)
		}
	case len(mech) == 8 && eqFold(mech, "CRAM-MD5"):
		if len(s.args) == 1 {
			return authCramMD5Start
		}
	case len(mech) == 8 && eqFold(mech, "EXTERNAL"):
		switch len(s.args) {
		case 1:
			return authExternalStart
		case 2:
			return s.authExternal(1)
		}
	}
	return rcInvalid
}

func eqFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if upper(a[i]) != upper(b[i]) {
			return false
		}
	}
	return true
}

func upper(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}
