package server

import (
	"bufio"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gonginx/gonginx/nginxconf"
)

// keepAliveBackend answers every request with a kept-alive 200 and counts
// its open connections.
type keepAliveBackend struct {
	ln   net.Listener
	mu   sync.Mutex
	open int
	wg   sync.WaitGroup
}

func newKeepAliveBackend(t *testing.T) *keepAliveBackend {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &keepAliveBackend{ln: ln}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b.mu.Lock()
			b.open++
			b.mu.Unlock()
			b.wg.Add(1)
			go func() {
				defer b.wg.Done()
				defer func() { c.Close(); b.mu.Lock(); b.open--; b.mu.Unlock() }()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				br := bufio.NewReader(c)
				for {
					for {
						line, err := br.ReadString('\n')
						if err != nil {
							return
						}
						if line == "\r\n" {
							break
						}
					}
					io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
				}
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); b.wg.Wait() })
	return b
}

func (b *keepAliveBackend) conns() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.open
}

func (s *Server) routerCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.routers)
}

// settle waits (bounded) until f holds.
func settle(f func() bool) bool {
	for i := 0; i < 300 && !f(); i++ {
		time.Sleep(10 * time.Millisecond)
	}
	return f()
}

// A reload drops the old configuration once the last connection bound to
// it has moved on, and closes its idle keep-alive backend connections at
// once (nginx's old workers close theirs as they exit).
func TestReloadReleasesOldConfig(t *testing.T) {
	be := newKeepAliveBackend(t)
	conf := `upstream b { server ` + be.ln.Addr().String() + `; keepalive 4; }
server { listen 127.0.0.1:PORT; location / { proxy_pass http://b; proxy_http_version 1.1; proxy_set_header Connection ""; } }`
	ts := startTest(t, conf)
	c, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	request := func() {
		t.Helper()
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			if line == "\r\n" {
				break
			}
		}
		if body := make([]byte, 2); func() bool { _, err := io.ReadFull(br, body); return err != nil }() {
			t.Fatal("short body")
		}
	}
	request()
	if got := be.conns(); got != 1 {
		t.Fatalf("backend connections after a kept-alive request: %d, want 1", got)
	}

	port := ts.addr[strings.LastIndexByte(ts.addr, ':')+1:]
	path := filepath.Join(ts.dir, "nginx.conf")
	if err := os.WriteFile(path, []byte("events {}\nhttp {\naccess_log off;\n"+strings.ReplaceAll(conf, "PORT", port)+"\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := nginxconf.Load(path, nginxconf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.srv.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	if !settle(func() bool { return be.conns() == 0 }) {
		t.Errorf("the old configuration's idle backend connection is still open")
	}
	if got := ts.srv.routerCount(); got != 2 {
		t.Errorf("routers with a connection still on the old one: %d, want 2", got)
	}
	request() // the connection moves to the new configuration
	if got := ts.srv.routerCount(); got != 1 {
		t.Errorf("routers once no connection uses the old one: %d, want 1", got)
	}
	if got := be.conns(); got != 1 {
		t.Errorf("backend connections after a request under the new configuration: %d, want 1", got)
	}
	c.Close()
	for i := 0; i < 3; i++ {
		if err := ts.srv.Reload(cfg); err != nil {
			t.Fatal(err)
		}
	}
	// The closed connection's goroutine may still be ending.
	if !settle(func() bool { return ts.srv.routerCount() == 1 }) {
		t.Errorf("routers after reloads once the connection ended: %d, want 1", ts.srv.routerCount())
	}
	if !settle(func() bool { return be.conns() == 0 }) {
		t.Errorf("backend connections of replaced configurations: %d, want 0", be.conns())
	}
}

// A stop closes the idle keep-alive backend connections too.
func TestCloseClosesIdleBackends(t *testing.T) {
	be := newKeepAliveBackend(t)
	ts := startTest(t, `upstream b { server `+be.ln.Addr().String()+`; keepalive 4; }
server { listen 127.0.0.1:PORT; location / { proxy_pass http://b; proxy_http_version 1.1; proxy_set_header Connection ""; } }`)
	if got := ts.roundTrip(t, get("/")); !strings.HasPrefix(got, "HTTP/1.1 200") {
		t.Fatalf("got %q", got)
	}
	if !settle(func() bool { return be.conns() == 1 }) {
		t.Fatalf("backend connections: %d, want 1 kept alive", be.conns())
	}
	ts.srv.Close()
	if !settle(func() bool { return be.conns() == 0 }) {
		t.Errorf("backend connections after Close: %d, want 0", be.conns())
	}
}
