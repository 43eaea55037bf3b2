package difftest

// The mail module side by side: nginx and gonginx run the same mail{}
// config (master and worker, as root) with an auth_http server and a
// POP3 backend of the test's own; what each client reads, the requests
// the auth server gets, the lines the backend gets and the session lines
// of the error log are compared.

import (
	"bufio"
	"crypto/md5"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const mailConf = `load_module /usr/lib/nginx/modules/ngx_mail_module.so;
daemon off;
error_log DIR/error.log info;
pid DIR/nginx.pid;
events {}
mail {
    auth_http  127.0.0.1:AUTHPORT/auth;
    auth_http_header X-Test "mail test";
    proxy_pass_error_message on;
    server_name mail.example;
    server {
        listen     127.0.0.1:PORT;
        protocol   pop3;
        pop3_auth  plain apop cram-md5 external;
        max_errors 3;
    }
    server {
        listen     127.0.0.1:PLAINPORT;
        protocol   pop3;
        pop3_capabilities "TOP" "UIDL" "PIPELINING";
        proxy_pass_error_message off;
    }
    server {
        listen     127.0.0.1:IMAPPORT;
        protocol   imap;
        imap_auth  plain login cram-md5;
        imap_capabilities IMAP4rev1 "SASL-IR";
        imap_client_buffer 64;
    }
    server {
        listen     127.0.0.1:SMTPPORT;
        protocol   smtp;
        smtp_auth  login plain cram-md5 none;
        smtp_capabilities SIZE "8BITMIME";
    }
    server {
        listen     127.0.0.1:SMTP2PORT;
        protocol   smtp;
        xclient    off;
        proxy_smtp_auth on;
        smtp_greeting_delay 100ms;
    }
    server {
        listen     127.0.0.1:TLSPORT;
        protocol   imap;
        starttls   only;
        ssl_certificate DIR/cert.pem;
        ssl_certificate_key DIR/key.pem;
    }
    server {
        listen     127.0.0.1:STLSPORT;
        protocol   pop3;
        starttls   on;
        ssl_certificate DIR/cert.pem;
        ssl_certificate_key DIR/key.pem;
    }
    server {
        listen     127.0.0.1:PPPORT proxy_protocol;
        protocol   smtp;
        proxy_protocol on;
        set_real_ip_from 127.0.0.1;
    }
    server {
        listen     127.0.0.1:SSLPORT ssl;
        protocol   imap;
        ssl_certificate DIR/cert.pem;
        ssl_certificate_key DIR/key.pem;
        ssl_verify_client optional_no_ca;
        auth_http_pass_client_cert on;
    }
}
`

// mailFakes are the auth_http server and the POP3 backend; they record
// what arrives.
type mailFakes struct {
	mu      sync.Mutex
	auth    []string
	backend []string
	lns     []net.Listener
	// open counts the connections accepted whose handler has not
	// returned (recorded its "closed").
	open atomic.Int32
}

var mailPorts = regexp.MustCompile(` \d+ \d+$`)

var mailSalt = regexp.MustCompile(`<\d+\.\d+@mail\.example>`)

func (f *mailFakes) record(to *[]string, s string) {
	f.mu.Lock()
	*to = append(*to, s)
	f.mu.Unlock()
}

func (f *mailFakes) listen(t *testing.T, serve func(net.Conn)) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.lns = append(f.lns, ln)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			f.open.Add(1)
			go func() {
				defer f.open.Add(-1)
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				serve(c)
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// authServer answers by Auth-User: "good" and "apop" may log in (the
// password for APOP comes from here), "bad" may not, "noserver" gets an
// answer without a server, "reject" is sent to the backend with a
// password it refuses.
func (f *mailFakes) authServer(t *testing.T, backendPort, imapPort, smtpPort int) int {
	return f.listen(t, func(c net.Conn) {
		r := bufio.NewReader(c)
		var req []string
		user, pass, imap, smtp := "", "", false, false
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				return
			}
			l = strings.TrimRight(l, "\r\n")
			if l == "" {
				break
			}
			if v, ok := strings.CutPrefix(l, "Auth-User: "); ok {
				user = v
			}
			if l == "Auth-Protocol: imap" {
				imap = true
			}
			if l == "Auth-Protocol: smtp" {
				smtp = true
			}
			if v, ok := strings.CutPrefix(l, "Auth-Pass: "); ok {
				pass = v
			}
			// The APOP digest of the random salt is checked, not shown.
			if v, ok := strings.CutPrefix(l, "Auth-Salt: "); ok && pass == apopDigest(v) {
				req[len(req)-1] = "Auth-Pass: <digest of the salt and secret>"
			}
			req = append(req, mailSalt.ReplaceAllString(l, "<SALT>"))
		}
		f.record(&f.auth, strings.Join(req, " | "))
		head := "HTTP/1.0 200 OK\r\n"
		port := strconv.Itoa(backendPort)
		if imap {
			port = strconv.Itoa(imapPort)
		}
		if smtp {
			port = strconv.Itoa(smtpPort)
			if user == "" {
				user = "good" // auth none: MAIL FROM and RCPT TO
			}
		}
		switch user {
		case "good", "apop", "ext":
			head += "Auth-Status: OK\r\nAuth-Server: 127.0.0.1\r\nAuth-Port: " + port + "\r\nAuth-Pass: secret\r\n"
		case "reject":
			head += "Auth-Status: OK\r\nAuth-Server: 127.0.0.1\r\nAuth-Port: " + port + "\r\nAuth-Pass: wrong\r\n"
		case "smtpcode":
			head += "Auth-Status: Temporary failure\r\nAuth-Error-Code: 451 4.3.0\r\n"
		case "noserver":
			head += "Auth-Status: OK\r\nAuth-Pass: secret\r\n"
		case "badport":
			head += "Auth-Status: OK\r\nAuth-Server: 127.0.0.1\r\nAuth-Port: 0x10\r\nAuth-Pass: secret\r\n"
		default:
			head += "Auth-Status: Invalid login or password  \r\n"
		}
		c.Write([]byte(head + "\r\n"))
	})
}

// pop3Backend greets, checks USER and PASS, then answers every line.
func (f *mailFakes) pop3Backend(t *testing.T) int {
	return f.listen(t, func(c net.Conn) {
		c.Write([]byte("+OK backend ready\r\n"))
		r := bufio.NewReader(c)
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				f.record(&f.backend, "closed")
				return
			}
			l = strings.TrimRight(l, "\r\n")
			f.record(&f.backend, l)
			switch {
			case strings.HasPrefix(l, "USER "):
				c.Write([]byte("+OK user\r\n"))
			case l == "PASS secret":
				c.Write([]byte("+OK logged in\r\n"))
			case strings.HasPrefix(l, "PASS "):
				c.Write([]byte("-ERR [AUTH] backend says no\r\n"))
			case l == "QUIT":
				c.Write([]byte("+OK bye\r\n"))
				return
			default:
				c.Write([]byte("+OK got " + l + "\r\n"))
			}
		}
	})
}

// imapBackend takes nginx's LOGIN with literals, then answers every
// tagged line.
func (f *mailFakes) imapBackend(t *testing.T) int {
	return f.listen(t, func(c net.Conn) {
		c.Write([]byte("* OK backend ready\r\n"))
		r := bufio.NewReader(c)
		tag, step := "", 0
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				f.record(&f.backend, "imap closed")
				return
			}
			l = strings.TrimRight(l, "\r\n")
			f.record(&f.backend, "imap "+l)
			switch step {
			case 0, 1:
				if step == 0 {
					tag, _, _ = strings.Cut(l, " ")
				}
				c.Write([]byte("+ go ahead\r\n"))
				step++
				continue
			case 2:
				step++
				if l != "secret" {
					c.Write([]byte(tag + " NO [AUTHENTICATIONFAILED] backend says no\r\n"))
					continue
				}
				c.Write([]byte(tag + " OK LOGIN done\r\n"))
				continue
			}
			tg, cmd, _ := strings.Cut(l, " ")
			if strings.EqualFold(cmd, "LOGOUT") {
				c.Write([]byte("* BYE\r\n" + tg + " OK bye\r\n"))
				return
			}
			c.Write([]byte(tg + " OK got " + cmd + "\r\n"))
		}
	})
}

// smtpBackend greets, takes EHLO/HELO, XCLIENT, AUTH, MAIL, RCPT and
// answers every other line; "wrong" as AUTH PLAIN's password is refused.
func (f *mailFakes) smtpBackend(t *testing.T) int {
	return f.listen(t, func(c net.Conn) {
		c.Write([]byte("220 backend ESMTP\r\n"))
		r := bufio.NewReader(c)
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				f.record(&f.backend, "smtp closed")
				return
			}
			l = strings.TrimRight(l, "\r\n")
			f.record(&f.backend, "smtp "+l)
			verb, _, _ := strings.Cut(strings.ToUpper(l), " ")
			switch verb {
			case "PROXY":
				// The header nginx sends first: no reply.
				f.mu.Lock()
				f.backend[len(f.backend)-1] = "smtp " + mailPorts.ReplaceAllString(l, " PORT PORT")
				f.mu.Unlock()
			case "EHLO":
				c.Write([]byte("250-backend\r\n250-XCLIENT ADDR LOGIN NAME\r\n250 AUTH PLAIN\r\n"))
			case "HELO":
				c.Write([]byte("250 backend\r\n"))
			case "XCLIENT":
				c.Write([]byte("220 backend ESMTP again\r\n"))
			case "AUTH":
				if strings.HasSuffix(l, b64("\x00reject\x00wrong")) {
					c.Write([]byte("535 5.7.8 backend says no\r\n"))
					continue
				}
				c.Write([]byte("235 2.7.0 backend ok\r\n"))
			case "QUIT":
				c.Write([]byte("221 bye\r\n"))
				return
			default:
				c.Write([]byte("250 got " + verb + "\r\n"))
			}
		}
	})
}

func (f *mailFakes) close() {
	for _, ln := range f.lns {
		ln.Close()
	}
}

// pop3Client runs a conversation: each step is a line to send (or
// several, pipelined) and how many replies to read; multi-line replies
// end with ".". It returns what it read, the salt replaced.
type pop3Step struct {
	send    string
	replies int
}

func pop3Talk(t *testing.T, port int, steps []pop3Step, useTLS bool) []string {
	t.Helper()
	var c net.Conn
	var err error
	if useTLS {
		c, err = tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", "127.0.0.1:"+strconv.Itoa(port),
			&tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12})
	} else {
		c, err = net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 5*time.Second)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	var out []string
	salt := ""
	readReply := func() bool {
		l, err := r.ReadString('\n')
		if err != nil {
			out = append(out, "closed")
			return false
		}
		if m := mailSalt.FindString(l); m != "" {
			salt = m
		}
		l = strings.TrimRight(l, "\r\n")
		// A CRAM-MD5 challenge is the salt in base64.
		for _, prefix := range []string{"+ ", "334 "} {
			if v, ok := strings.CutPrefix(l, prefix); ok {
				if d, err := base64.StdEncoding.DecodeString(v); err == nil && mailSalt.Match(d) {
					l = prefix + "<SALT in base64>"
				}
			}
		}
		out = append(out, mailSalt.ReplaceAllString(l, "<SALT>"))
		// l is trimmed: the multi-line replies were taken for one line
		// each, and a conversation went on before nginx had answered it
		// (its backend session ran after the client left, interleaved
		// with the next one's).
		multi := l == "+OK Capability list follows" || l == "+OK methods supported:"
		for multi {
			l, err = r.ReadString('\n')
			if err != nil {
				out = append(out, "closed")
				return false
			}
			out = append(out, "  "+strings.TrimRight(l, "\r\n"))
			multi = l != ".\r\n"
		}
		return true
	}
	if !readReply() {
		return out
	}
	for _, st := range steps {
		line := strings.ReplaceAll(st.send, "DIGEST", apopDigest(salt))
		if st.send != "" {
			out = append(out, "> "+st.send)
			if _, err := c.Write([]byte(line)); err != nil {
				out = append(out, "write failed")
				return out
			}
		}
		for i := 0; i < st.replies; i++ {
			if !readReply() {
				return out
			}
		}
	}
	return out
}

// smtpEarly sends a line before the greeting and reads what comes.
func smtpEarly(t *testing.T, port int, line string) []string {
	t.Helper()
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	c.Write([]byte(line))
	r := bufio.NewReader(c)
	out := []string{"> " + line}
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			return append(out, "closed")
		}
		out = append(out, strings.TrimRight(l, "\r\n"))
	}
}

func apopDigest(salt string) string {
	sum := md5.Sum([]byte(salt + "secret"))
	return hex.EncodeToString(sum[:])
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestServeMail(t *testing.T) {
	requireRoot(t)
	if _, err := os.Stat("/usr/lib/nginx/modules/ngx_mail_module.so"); err != nil {
		t.Fatal("nginx's mail module is needed (Debian's nginx package installs it):", err)
	}
	keep := regexp.MustCompile(`\] \*\d+ (client .* connected|client login failed|client logged in|proxied session done|upstream sent|auth http server|client sent|client timed out)`)
	ports := regexp.MustCompile(`127\.0\.0\.1:\d+`)
	conversations := []struct {
		name  string
		plain bool
		steps []pop3Step
		imap  bool
		smtp  int
	}{
		{"capabilities", false, []pop3Step{{"CAPA\r\n", 1}, {"AUTH\r\n", 1}, {"NOOP\r\n", 1}, {"QUIT\r\n", 2}}, false, 0},
		{"user pass", false, []pop3Step{{"USER good\r\n", 1}, {"CAPA\r\n", 1}, {"PASS secret\r\n", 1}, {"STAT\r\n", 1}, {"QUIT\r\n", 2}}, false, 0},
		{"apop", false, []pop3Step{{"APOP apop DIGEST\r\n", 1}, {"LIST\r\n", 1}, {"QUIT\r\n", 2}}, false, 0},
		{"auth plain", false, []pop3Step{{"AUTH PLAIN " + b64("\x00good\x00secret") + "\r\n", 1}, {"QUIT\r\n", 2}}, false, 0},
		{"auth plain next line", false, []pop3Step{{"AUTH PLAIN\r\n", 1}, {b64("authz\x00good\x00secret") + "\r\n", 1}, {"QUIT\r\n", 2}}, false, 0},
		{"auth login", false, []pop3Step{{"AUTH LOGIN\r\n", 1}, {b64("good") + "\r\n", 1}, {b64("secret") + "\r\n", 1}, {"QUIT\r\n", 2}}, false, 0},
		{"auth login with user", false, []pop3Step{{"AUTH LOGIN " + b64("good") + "\r\n", 1}, {b64("secret") + "\r\n", 1}, {"QUIT\r\n", 2}}, false, 0},
		{"auth external", false, []pop3Step{{"AUTH EXTERNAL " + b64("ext") + "\r\n", 1}, {"QUIT\r\n", 2}}, false, 0},
		{"auth cram-md5 bad hash", false, []pop3Step{{"AUTH CRAM-MD5\r\n", 1}, {b64("good short") + "\r\n", 1}, {"QUIT\r\n", 2}}, false, 0},
		{"auth bad base64", false, []pop3Step{{"AUTH PLAIN a\r\n", 1}, {"AUTH PLAIN " + b64("nonul") + "\r\n", 1}, {"QUIT\r\n", 2}}, false, 0},
		{"login failed", false, []pop3Step{{"USER bad\r\n", 1}, {"PASS x y\r\n", 2}}, false, 0},
		{"backend refuses", false, []pop3Step{{"USER reject\r\n", 1}, {"PASS secret\r\n", 2}}, false, 0},
		{"no server", false, []pop3Step{{"USER noserver\r\n", 1}, {"PASS secret\r\n", 2}}, false, 0},
		{"bad port", false, []pop3Step{{"USER badport\r\n", 1}, {"PASS secret\r\n", 2}}, false, 0},
		{"invalid commands", false, []pop3Step{{"FOO\r\n", 1}, {"USER\r\n", 1}, {"APOP x\r\n", 1}, {"BAR\r\n", 1}, {"BAZ\r\n", 2}}, false, 0},
		{"pipelined", false, []pop3Step{{"USER good\r\nPASS secret\r\nSTAT\r\nQUIT\r\n", 5}}, false, 0},
		{"plain server", true, []pop3Step{{"CAPA\r\n", 1}, {"APOP good 0123\r\n", 1}, {"AUTH CRAM-MD5\r\n", 1}, {"QUIT\r\n", 2}}, false, 0},
		{"plain server backend refuses", true, []pop3Step{{"USER reject\r\n", 1}, {"PASS secret\r\n", 2}}, false, 0},
		{"imap capability", false, []pop3Step{{"a1 CAPABILITY\r\n", 2}, {"a2 NOOP\r\n", 1}, {"a3 LOGOUT\r\n", 3}}, true, 0},
		{"imap login", false, []pop3Step{{"a1 LOGIN good secret\r\n", 1}, {"a2 SELECT INBOX\r\n", 1}, {"a3 LOGOUT\r\n", 3}}, true, 0},
		{"imap quoted", false, []pop3Step{{"a1 LOGIN \"go\\od\" \"secret\"\r\n", 1}, {"a3 LOGOUT\r\n", 3}}, true, 0},
		{"imap literal", false, []pop3Step{{"a1 LOGIN {4}\r\n", 1}, {"good {6}\r\n", 1}, {"secret\r\n", 1}, {"a2 LOGOUT\r\n", 3}}, true, 0},
		{"imap nonsync literal", false, []pop3Step{{"a1 LOGIN {4+}\r\ngood \"secret\"\r\n", 1}, {"a2 LOGOUT\r\n", 3}}, true, 0},
		{"imap authenticate plain", false, []pop3Step{{"a1 AUTHENTICATE PLAIN\r\n", 1}, {b64("\x00good\x00secret") + "\r\n", 1}, {"a2 LOGOUT\r\n", 3}}, true, 0},
		{"imap authenticate login", false, []pop3Step{{"a1 AUTHENTICATE LOGIN " + b64("good") + "\r\n", 1}, {b64("secret") + "\r\n", 1}, {"a2 LOGOUT\r\n", 3}}, true, 0},
		{"imap cram-md5 bad", false, []pop3Step{{"a1 AUTHENTICATE CRAM-MD5\r\n", 1}, {b64("x y") + "\r\n", 1}, {"a2 AUTHENTICATE EXTERNAL\r\n", 1}, {"a3 LOGOUT\r\n", 2}}, true, 0},
		{"imap login failed", false, []pop3Step{{"x.1 LOGIN bad pass\r\n", 2}}, true, 0},
		{"imap backend refuses", false, []pop3Step{{"a1 LOGIN reject secret\r\n", 2}}, true, 0},
		{"imap invalid", false, []pop3Step{{"a1 FOO\r\n", 1}, {"\r\n", 1}, {"a2 LOGIN x\r\n", 1}, {"bad*tag NOOP\r\n", 1}, {"a3 FOO\r\n", 1}, {"a4 BAR\r\n", 2}}, true, 0},
		{"imap too long", false, []pop3Step{{"a1 LOGIN " + strings.Repeat("x", 80) + "\r\n", 2}}, true, 0},
		{"imap invalid nonsync literal", false, []pop3Step{{"a1 FOO {3+}\r\n", 2}}, true, 0},
		{"smtp ehlo auth plain", false, []pop3Step{{"EHLO client.example\r\n", 4}, {"AUTH PLAIN " + b64("\x00good\x00secret") + "\r\n", 1}, {"MAIL FROM:<a@b>\r\n", 1}, {"QUIT\r\n", 2}}, false, 1},
		{"smtp helo auth login", false, []pop3Step{{"HELO client.example\r\n", 1}, {"AUTH LOGIN\r\n", 1}, {b64("good") + "\r\n", 1}, {b64("secret") + "\r\n", 1}, {"QUIT\r\n", 2}}, false, 1},
		{"smtp auth none", false, []pop3Step{{"EHLO c\r\n", 4}, {"RCPT TO:<x@y>\r\n", 1}, {"MAIL FROM:<a@b> SIZE=100\r\n", 1}, {"MAIL FROM:<c@d>\r\n", 1}, {"RCPT TO:<x@y>\r\n", 1}, {"DATA\r\n", 1}, {"QUIT\r\n", 2}}, false, 1},
		{"smtp errors", false, []pop3Step{{"HELO\r\n", 1}, {"AUTH\r\n", 1}, {"VRFY x\r\n", 1}, {"FOO\r\n", 1}, {"AUTH CRAM-MD5\r\n", 1}, {b64("x y") + "\r\n", 1}, {"RSET\r\n", 1}, {"NOOP\r\n", 1}, {"QUIT\r\n", 2}}, false, 1},
		{"smtp login failed", false, []pop3Step{{"AUTH PLAIN " + b64("\x00bad\x00x") + "\r\n", 2}}, false, 1},
		{"smtp error code", false, []pop3Step{{"AUTH PLAIN " + b64("\x00smtpcode\x00x") + "\r\n", 2}}, false, 1},
		{"smtp no xclient, backend auth", false, []pop3Step{{"EHLO c\r\n", 2}, {"AUTH PLAIN " + b64("\x00good\x00secret") + "\r\n", 1}, {"QUIT\r\n", 2}}, false, 2},
		{"smtp backend refuses auth", false, []pop3Step{{"AUTH PLAIN " + b64("\x00reject\x00secret") + "\r\n", 2}}, false, 2},
		{"smtp rejected", false, []pop3Step{{"MAIL FROM:<a@b>\r\n", 1}, {"QUIT\r\n", 2}}, false, 2},
		{"smtp before greeting", false, []pop3Step{{"EHLO early\r\n", 2}}, false, 3},
		{"imap starttls only", false, []pop3Step{{"a1 CAPABILITY\r\n", 2}, {"a2 LOGIN good secret\r\n", 1}, {"a3 AUTHENTICATE PLAIN\r\n", 1}, {"a4 LOGOUT\r\n", 3}}, true, 4},
		{"smtp proxy protocol", false, []pop3Step{{"PROXY TCP4 192.0.2.1 192.0.2.2 123 5678\r\nEHLO pp.example\r\nAUTH PLAIN " + b64("\x00good\x00secret") + "\r\nQUIT\r\n", 0}}, false, 6},
		{"imap over tls", false, []pop3Step{{"a1 LOGIN good secret\r\n", 1}, {"a2 LOGOUT\r\n", 3}}, true, 7},
		{"pop3 starttls on", false, []pop3Step{{"CAPA\r\n", 1}, {"USER good\r\n", 1}, {"CAPA\r\n", 1}, {"QUIT\r\n", 2}}, false, 5},
	}
	type outcome struct {
		Client, Auth, Backend, Errors []string
	}
	got := map[string]outcome{}
	for _, im := range procImpls(t) {
		f := &mailFakes{}
		authPort := f.authServer(t, f.pop3Backend(t), f.imapBackend(t), f.smtpBackend(t))
		dir := procDir(t)
		plainPort, imapPort, smtpPort, smtp2Port := freeTCPPort(t), freeTCPPort(t), freeTCPPort(t), freeTCPPort(t)
		tlsPort, stlsPort, ppPort, sslPort := freeTCPPort(t), freeTCPPort(t), freeTCPPort(t), freeTCPPort(t)
		for _, name := range []string{"cert.pem", "key.pem"} {
			b, err := os.ReadFile(filepath.Join(serveAssets(t), name))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		conf := strings.NewReplacer("SSLPORT", strconv.Itoa(sslPort), "PPPORT", strconv.Itoa(ppPort), "STLSPORT", strconv.Itoa(stlsPort), "TLSPORT", strconv.Itoa(tlsPort), "AUTHPORT", strconv.Itoa(authPort), "PLAINPORT", strconv.Itoa(plainPort),
			"IMAPPORT", strconv.Itoa(imapPort), "SMTP2PORT", strconv.Itoa(smtp2Port), "SMTPPORT", strconv.Itoa(smtpPort)).Replace(mailConf)
		port := freeTCPPort(t)
		m := startMaster(t, im, dir, conf, port)
		var o outcome
		for _, cv := range conversations {
			p := port
			if cv.plain {
				p = plainPort
			}
			if cv.imap {
				p = imapPort
			}
			switch cv.smtp {
			case 1:
				p = smtpPort
			case 2, 3:
				p = smtp2Port
			}
			switch cv.smtp {
			case 4:
				p = tlsPort
			case 5:
				p = stlsPort
			case 6:
				p = ppPort
			case 7:
				p = sslPort
			}
			if cv.smtp == 3 || cv.smtp == 6 {
				// Talks before the delayed greeting.
				for _, l := range smtpEarly(t, p, cv.steps[0].send) {
					o.Client = append(o.Client, cv.name+": "+l)
				}
				continue
			}
			for _, l := range pop3Talk(t, p, cv.steps, cv.smtp == 7) {
				o.Client = append(o.Client, cv.name+": "+l)
			}
			// The backend's "closed" is recorded once the session is,
			// before the next conversation's lines: a loaded machine
			// took more than any fixed pause.
			waitUntil(t, im.name+": "+cv.name+": backend connections closed", func() bool { return f.open.Load() == 0 })
		}
		m.quit()
		f.close()
		f.mu.Lock()
		o.Auth, o.Backend = f.auth, f.backend
		f.mu.Unlock()
		for i, a := range o.Auth {
			o.Auth[i] = strings.ReplaceAll(a, strconv.Itoa(authPort), "AUTHPORT")
		}
		for _, l := range logLines(t, filepath.Join(dir, "error.log"), keep, dir) {
			o.Errors = append(o.Errors, ports.ReplaceAllString(l, "127.0.0.1:P"))
		}
		got[im.name] = o
	}
	if diff := cmp.Diff(got["nginx"], got["gonginx"]); diff != "" {
		t.Errorf("mail (-nginx +gonginx):\n%s", diff)
	}
}
