package difftest

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// mail proxy_timeout is the client's, as nginx's: re-armed on each event
// of the client's connection (ngx_mail_proxy_handler), its bytes read
// and its socket writable again after a write had to wait, never the
// backend's. A client that takes a long answer slowly (a small socket
// buffer, a read every 30 ms, 3 s in all) outlasts proxy_timeout 1s; one
// that sends nothing while the backend's lines come and its socket never
// fills times out after it. The same over TLS.
func TestServeMailProxyTimeout(t *testing.T) {
	requireRoot(t)
	if _, err := os.Stat("/usr/lib/nginx/modules/ngx_mail_module.so"); err != nil {
		t.Fatal("nginx's mail module is needed (Debian's nginx package installs it):", err)
	}
	const conf = `load_module /usr/lib/nginx/modules/ngx_mail_module.so;
daemon off;
error_log DIR/error.log info;
pid DIR/nginx.pid;
events {}
mail {
    auth_http 127.0.0.1:AUTHPORT/auth;
    server {
        listen 127.0.0.1:PORT sndbuf=16k;
        protocol pop3;
        proxy_timeout 1s;
    }
    server {
        listen 127.0.0.1:TLSPORT ssl sndbuf=16k;
        protocol pop3;
        proxy_timeout 1s;
        ssl_certificate DIR/cert.pem;
        ssl_certificate_key DIR/key.pem;
    }
}
`
	keep := regexp.MustCompile(`\] \*\d+ (client logged in|proxied session done|client timed out)`)
	type outcome struct{ Client, Backend, Errors []string }
	got := map[string]outcome{}
	for _, im := range procImpls(t) {
		f := &mailFakes{}
		backendPort := f.listen(t, func(c net.Conn) { timeoutBackend(f, c) })
		authPort := f.listen(t, func(c net.Conn) {
			r := bufio.NewReader(c)
			for {
				if l, err := r.ReadString('\n'); err != nil || l == "\r\n" {
					break
				}
			}
			io.WriteString(c, "HTTP/1.0 200 OK\r\nAuth-Status: OK\r\nAuth-Server: 127.0.0.1\r\nAuth-Port: "+
				strconv.Itoa(backendPort)+"\r\nAuth-Pass: secret\r\n\r\n")
		})
		dir := procDir(t)
		for _, name := range []string{"cert.pem", "key.pem"} {
			b, err := os.ReadFile(filepath.Join(serveAssets(t), name))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		port, tlsPort := freeTCPPort(t), freeTCPPort(t)
		m := startMaster(t, im, dir, strings.NewReplacer("AUTHPORT", strconv.Itoa(authPort), "TLSPORT", strconv.Itoa(tlsPort)).Replace(conf), port)
		var o outcome
		for _, run := range []struct {
			cmd    string
			useTLS bool
		}{{"BIG", false}, {"PUSH", false}, {"BIG", true}, {"PUSH", true}} {
			p, name := port, run.cmd
			if run.useTLS {
				p, name = tlsPort, run.cmd+" over TLS"
			}
			o.Client = append(o.Client, name+": "+timeoutClient(t, p, run.cmd, run.useTLS))
			// The backend's "closed" is recorded once the session is.
			time.Sleep(100 * time.Millisecond)
		}
		m.quit()
		f.close()
		f.mu.Lock()
		o.Backend = f.backend
		f.mu.Unlock()
		o.Errors = logLines(t, dir+"/error.log", keep, dir)
		for i, l := range o.Errors {
			o.Errors[i], _, _ = strings.Cut(l, ", client:")
		}
		got[im.name] = o
	}
	if diff := cmp.Diff(got["nginx"], got["gonginx"]); diff != "" {
		t.Errorf("mail proxy_timeout (-nginx +gonginx):\n%s", diff)
	}
}

// timeoutBackend logs in anyone; BIG answers 400 kB at once, PUSH a line
// every 300 ms for 2.4 s, each ending with ".".
func timeoutBackend(f *mailFakes, c net.Conn) {
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
		switch l {
		case "BIG":
			c.Write([]byte(strings.Repeat(strings.Repeat("x", 98)+"\r\n", 4000) + ".\r\n"))
		case "PUSH":
			for i := 0; i < 8; i++ {
				if _, err := fmt.Fprintf(c, "+push %d\r\n", i); err != nil {
					break
				}
				time.Sleep(300 * time.Millisecond)
			}
			c.Write([]byte(".\r\n"))
		default:
			c.Write([]byte("+OK\r\n"))
		}
	}
}

// timeoutClient logs in with a small socket buffer, sends cmd and reads
// its answer 4 kB every 30 ms: "whole" when the "." came, else how it
// ended.
func timeoutClient(t *testing.T, port int, cmd string, useTLS bool) string {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, Control: func(_, _ string, rc syscall.RawConn) error {
		rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 8192) })
		return nil
	}}
	var c net.Conn
	var err error
	if useTLS {
		c, err = tls.DialWithDialer(&d, "tcp", "127.0.0.1:"+strconv.Itoa(port), &tls.Config{InsecureSkipVerify: true})
	} else {
		c, err = d.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
	}
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(15 * time.Second)) // failsafe only
	r := bufio.NewReaderSize(c, 4096)
	for _, l := range []string{"", "USER u\r\n", "PASS p\r\n", cmd + "\r\n"} {
		if l != "" {
			io.WriteString(c, l)
		}
		if l == cmd+"\r\n" {
			break
		}
		if reply, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(reply, "+OK") {
			return fmt.Sprintf("login: %q %v", reply, err)
		}
	}
	var tail []byte
	buf := make([]byte, 4096)
	for {
		time.Sleep(30 * time.Millisecond)
		n, err := r.Read(buf)
		tail = append(tail, buf[:n]...)
		if len(tail) > 5 {
			tail = tail[len(tail)-5:]
		}
		if string(tail) == "\r\n.\r\n" {
			return "whole"
		}
		if err != nil {
			return "cut: " + err.Error()
		}
	}
}
