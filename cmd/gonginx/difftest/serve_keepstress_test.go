package difftest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// TestServeKeepaliveStress: keepStressClients keep-alive clients at once,
// each keepStressRequests requests alternating between fastcgi_pass
// (fastcgi_keep_conn, a keepalive pool) to php-fpm and proxy_pass
// (keepalive) to a backend, two workers, keepalive_requests 3 and a
// short keepalive_timeout, some requests after a pause long enough for
// the connection to park, while other clients hang up on slow scripts
// (499s, whose backend connections close): every request gets its own
// response (the body names it), and a connection closes only after a
// response that said Connection: close (the keepalive_requests-th). A
// connection closed with no response, as a bench run once saw, fails
// it. Both servers.
func TestServeKeepaliveStress(t *testing.T) {
	t.Parallel()
	// Each client's kept FastCGI connection holds a child (a slow
	// script's until it ends), and each worker's pool up to 4 more idle
	// ones: enough children that no connection waits in php-fpm's
	// backlog.
	fpm := startPHPFPMChildren(t, keepStressClients+2*keepStressAborters+2*4)
	bl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	bs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := "proxied " + r.URL.Query().Get("n") + "\n"
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		io.WriteString(w, b)
	})}
	go bs.Serve(bl)
	defer bs.Close()
	c := harness.Case{Config: `upstream fpm { server ` + fpm + `; keepalive 4; }
upstream be { server 127.0.0.1:{{BACKEND_PORT}}; keepalive 4; }
server {
    listen 127.0.0.1:{{PORT}};
    keepalive_requests 3;
    keepalive_timeout 2s;
    root html;
    location / {
        proxy_pass http://be;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
    }
    location ~ \.php$ {
        fastcgi_pass fpm;
        fastcgi_keep_conn on;
        fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
        fastcgi_param QUERY_STRING $query_string;
        fastcgi_param REQUEST_METHOD $request_method;
    }
}
`, Content: map[string]string{
		"html/hello.php": "<?php $b = 'hello ' . ($_GET['n'] ?? '') . \"\\n\"; header('Content-Length: ' . strlen($b)); echo $b;\n",
		"html/slow.php":  "<?php usleep(50000); echo \"slow\\n\";\n",
	}}
	for _, im := range []harness.Impl{serveNginx(t), serveUnderTest(t)} {
		im.NginxEvents, im.NginxGlobal = "events { worker_connections 1024; }", "worker_processes 2;"
		srv, err := harness.Start(c, im, serveAssets(t), bl.Addr().(*net.TCPAddr).Port)
		if err != nil {
			t.Fatal(err)
		}
		addr := "127.0.0.1:" + strconv.Itoa(srv.Port)
		var mu sync.Mutex
		var failures []string
		var wg sync.WaitGroup
		for i := range keepStressClients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := keepStressClient(addr, i); err != nil {
					mu.Lock()
					failures = append(failures, err.Error())
					mu.Unlock()
				}
			}()
		}
		for range keepStressAborters {
			wg.Add(1)
			go func() {
				defer wg.Done()
				keepStressAborter(addr)
			}()
		}
		wg.Wait()
		out := srv.Stop()
		for _, f := range failures {
			t.Errorf("%s: %s", im.Name, f)
		}
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, "[alert]") || strings.Contains(line, "[crit]") || strings.Contains(line, "[emerg]") ||
				strings.Contains(line, "panic") || strings.Contains(line, "exited") {
				t.Errorf("%s logged: %s", im.Name, line)
			}
		}
	}
}

const (
	keepStressClients  = 16
	keepStressRequests = 40
	keepStressAborters = 2
)

// keepStressAborter sends requests for a slow script (or proxied, every
// other one) and hangs up before the answer, 20 times.
func keepStressAborter(addr string) {
	for n := range 20 {
		c, err := net.DialTimeout("tcp", addr, 10*time.Second)
		if err != nil {
			return
		}
		path := "/slow.php"
		if n%2 == 1 {
			// A kept connection's second request: proxied first.
			io.WriteString(c, "GET /p?n=a HTTP/1.1\r\nHost: localhost\r\n\r\n")
			c.SetReadDeadline(time.Now().Add(30 * time.Second))
			keepStressResponse(bufio.NewReader(c))
		}
		io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: localhost\r\n\r\n")
		time.Sleep(10 * time.Millisecond)
		c.Close()
	}
}

// keepStressClient makes keepStressRequests requests on keep-alive
// connections, a new one after each Connection: close; every 8th
// request comes after a pause past the server's idle grace (a parked
// connection's wake-up), well within keepalive_timeout.
func keepStressClient(addr string, id int) error {
	var c net.Conn
	var br *bufio.Reader
	onConn := 0
	defer func() {
		if c != nil {
			c.Close()
		}
	}()
	for n := range keepStressRequests {
		if c == nil {
			var err error
			if c, err = net.DialTimeout("tcp", addr, 10*time.Second); err != nil {
				return err
			}
			br, onConn = bufio.NewReader(c), 0
		} else if n%8 == 7 {
			time.Sleep(150 * time.Millisecond)
		}
		tag := fmt.Sprintf("%d-%d", id, n)
		path, want := "/p?n="+tag, "proxied "+tag+"\n"
		if n%2 == 0 {
			path, want = "/hello.php?n="+tag, "hello "+tag+"\n"
		}
		c.SetDeadline(time.Now().Add(30 * time.Second))
		if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: localhost\r\n\r\n"); err != nil {
			return fmt.Errorf("request %d (%d on its connection): %v", n, onConn+1, err)
		}
		onConn++
		status, closing, body, err := keepStressResponse(br)
		if err != nil {
			return fmt.Errorf("request %d %s (%d on its connection): %v", n, path, onConn, err)
		}
		if status != "HTTP/1.1 200 OK" || body != want {
			return fmt.Errorf("request %d %s: %q %q, want 200 %q", n, path, status, body, want)
		}
		if closing {
			c.Close()
			c = nil
		}
	}
	return nil
}

// keepStressResponse reads a response with a Content-Length.
func keepStressResponse(br *bufio.Reader) (status string, closing bool, body string, err error) {
	status, err = br.ReadString('\n')
	if err != nil {
		return "", false, "", fmt.Errorf("no response (%q): %w", status, err)
	}
	length := -1
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return "", false, "", err
		}
		if line == "\r\n" {
			break
		}
		name, value, _ := strings.Cut(strings.TrimRight(line, "\r\n"), ":")
		value = strings.TrimSpace(value)
		switch strings.ToLower(name) {
		case "content-length":
			length, _ = strconv.Atoi(value)
		case "connection":
			closing = strings.EqualFold(value, "close")
		}
	}
	if length < 0 {
		return "", false, "", fmt.Errorf("%s with no Content-Length", strings.TrimSpace(status))
	}
	b := make([]byte, length)
	if _, err := io.ReadFull(br, b); err != nil {
		return "", false, "", err
	}
	return strings.TrimSpace(status), closing, string(b), nil
}
