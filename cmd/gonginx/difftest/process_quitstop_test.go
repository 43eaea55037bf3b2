package difftest

// A fast stop cutting a graceful one short, side by side: SIGQUIT, then
// SIGTERM while connections are still open. nginx's worker alerts of
// each client and backend connection left open ("*N open socket #fd left
// in connection slot", ngx_worker_process_exit) and then "aborting"; the
// idle ones (a kept-alive client, an idle kept-alive backend) were closed
// by the SIGQUIT (ngx_close_idle_connections) and are not named.

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const quitStopConf = `load_module /usr/lib/nginx/modules/ngx_stream_module.so;
daemon off;
worker_processes 1;
error_log DIR/error.log info;
pid DIR/nginx.pid;
events {}
http {
    access_log off;
    upstream kept { server 127.0.0.1:BACKEND; keepalive 4; }
    server {
        listen 127.0.0.1:PORT;
        location / {
            proxy_pass http://127.0.0.1:BACKEND;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $http_connection;
        }
        location /kept/ {
            proxy_pass http://kept;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
        location = /static { return 200 static; }
    }
}
stream {
    server {
        listen 127.0.0.1:STREAMPORT;
        proxy_pass 127.0.0.1:BACKEND;
    }
}
`

// TestProcessQuitThenStop opens, one after the other (so their numbers
// are the same under both): a connection that sent nothing, one with half
// a request, a kept-alive one, a request its backend does not answer, a
// WebSocket tunnel, a request to a kept-alive backend (the client closes,
// the backend connection stays idle) and a stream session; then quits,
// then stops. The worker's alerts are compared in order, the descriptors
// and slots left out (gonginx's process opens other descriptors, and
// counts its slots without placing them).
func TestProcessQuitThenStop(t *testing.T) {
	requireRoot(t)
	got := map[string][]string{}
	for _, im := range procImpls(t) {
		got[im.name] = quitStopRun(t, im)
	}
	if diff := cmp.Diff(got["nginx"], got["gonginx"]); diff != "" {
		t.Errorf("(-nginx +gonginx):\n%s", diff)
	}
	if len(got["nginx"]) < 3 {
		t.Errorf("nginx logged no open sockets: %q", got["nginx"])
	}
}

// quitStopBackend answers what it is asked on each connection: a
// WebSocket upgrade gets its 101, /kept/ gets a kept-alive 200, a stream
// session its first bytes back, anything else nothing; each connection
// it accepted is reported on accepted once its request arrived.
func quitStopBackend(t *testing.T) (port int, accepted chan string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted = make(chan string, 16)
	// The backend's connections stay open until the test ends.
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go func() {
				c.SetReadDeadline(time.Now().Add(30 * time.Second))
				br := bufio.NewReader(c)
				line, err := br.ReadString('\n')
				if err != nil {
					return
				}
				if !strings.HasPrefix(line, "GET ") {
					c.Write([]byte(line))
					accepted <- "stream"
					return
				}
				head := line
				for line != "\r\n" && err == nil {
					line, err = br.ReadString('\n')
					head += line
				}
				switch {
				case strings.Contains(head, "Upgrade: websocket"):
					c.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"))
				case strings.HasPrefix(head, "GET /kept/"):
					c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nkept"))
				}
				accepted <- strings.Fields(head)[1]
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port, accepted
}

func quitStopRun(t *testing.T, im procImpl) []string {
	t.Helper()
	dir := procDir(t)
	port, streamPort := freeTCPPort(t), freeTCPPort(t)
	backend, accepted := quitStopBackend(t)
	conf := strings.ReplaceAll(quitStopConf, "BACKEND", strconv.Itoa(backend))
	conf = strings.ReplaceAll(conf, "STREAMPORT", strconv.Itoa(streamPort))
	m := startMaster(t, im, dir, conf, port)
	// startMaster's probe was *1: wait until its end is logged, so that
	// the numbers below follow it under both.
	waitUntil(t, im.name+" probe logged", func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		return strings.Contains(string(b), "while waiting for request")
	})
	dial := func(p int) net.Conn {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(p), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(time.Now().Add(30 * time.Second))
		return c
	}
	// read reads from c until it holds want.
	read := func(c net.Conn, want string) {
		var got []byte
		buf := make([]byte, 512)
		for !strings.Contains(string(got), want) {
			n, err := c.Read(buf)
			if err != nil {
				t.Fatalf("%s: reading for %q: got %q, %v", im.name, want, got, err)
			}
			got = append(got, buf[:n]...)
		}
	}
	backendGot := func(want string) {
		select {
		case got := <-accepted:
			if got != want {
				t.Fatalf("%s: the backend got %q, want %q", im.name, got, want)
			}
		case <-time.After(15 * time.Second):
			t.Fatalf("%s: the backend got no %q", im.name, want)
		}
	}
	// Connections are numbered as they are accepted, in order; a
	// backend's as it is connected to: each request reaches its backend
	// before the next connection is opened.
	dial(port)                                                     // *2: sends nothing
	fmt.Fprintf(dial(port), "GET /static HTTP/1.1\r\nHost: x\r\n") // *3: half a request
	ka := dial(port)                                               // *4: kept alive, closed by the quit
	fmt.Fprintf(ka, "GET /static HTTP/1.1\r\nHost: x\r\n\r\n")
	read(ka, "static")
	fmt.Fprintf(dial(port), "GET /wait HTTP/1.1\r\nHost: x\r\n\r\n") // *5, its backend's *6
	backendGot("/wait")
	ws := dial(port) // *7, its backend's *8
	fmt.Fprintf(ws, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
	backendGot("/ws")
	read(ws, "101 Switching")
	kept := dial(port) // *9, closes; its backend's *10 stays idle, closed by the quit
	fmt.Fprintf(kept, "GET /kept/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	backendGot("/kept/")
	read(kept, "kept")
	st := dial(streamPort) // *11, its backend's *12
	fmt.Fprintf(st, "hello\n")
	backendGot("stream")
	read(st, "hello")

	errorLog := filepath.Join(dir, "error.log")
	syscall.Kill(m.pid(), syscall.SIGQUIT)
	waitUntil(t, im.name+" worker shutting down", func() bool {
		b, _ := os.ReadFile(errorLog)
		return strings.Contains(string(b), "gracefully shutting down")
	})
	// The kept-alive client is closed by the quit: once it is, the
	// worker is done with its idle connections.
	ka.SetReadDeadline(time.Now().Add(15 * time.Second))
	if n, err := ka.Read(make([]byte, 1)); err == nil {
		t.Fatalf("%s: the kept-alive client read %d bytes after the quit", im.name, n)
	}
	syscall.Kill(m.pid(), syscall.SIGTERM)
	select {
	case <-m.exited:
	case <-time.After(20 * time.Second):
		t.Fatalf("%s did not exit on SIGTERM", im.name)
	}
	b, err := os.ReadFile(errorLog)
	if err != nil {
		t.Fatal(err)
	}
	keep := regexp.MustCompile(`^\[alert\]|^\[notice\] exit(ing)?$`)
	fd := regexp.MustCompile(`#\d+ left in connection \d+$`)
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, "#"+strconv.Itoa(m.pid())+":") { // the master's
			continue
		}
		if l = logPrefix.ReplaceAllString(l, "$1 "); keep.MatchString(l) {
			out = append(out, fd.ReplaceAllString(l, "#FD left in connection SLOT"))
		}
	}
	return out
}
