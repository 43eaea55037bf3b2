package server

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gonginx/gonginx/nginxconf"
)

// Connections waiting in the backlog together are numbered in the order
// they are accepted, as ngx_event_accept numbers them: the k-th client
// queued is $connection k, whichever connection's goroutine runs first.
func TestConnNumbersInAcceptOrder(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	const clients = 16
	conns := make([]net.Conn, clients)
	for i := range conns {
		// Queued before the server accepts any: the backlog's order.
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := io.WriteString(c, "GET / HTTP/1.0\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		conns[i] = c
	}
	path := filepath.Join(t.TempDir(), "nginx.conf")
	conf := "events {}\nhttp { access_log off; server { listen " + addr + "; location / { return 200 $connection; } } }\n"
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := nginxconf.Load(path, nginxconf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := Start(cfg, StartOptions{ErrorLog: &syncBuffer{}, Listeners: map[string]net.Listener{addr: ln}})
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	defer srv.Close()
	for i, c := range conns {
		c.SetDeadline(time.Now().Add(10 * time.Second))
		resp, err := io.ReadAll(c)
		if err != nil {
			t.Fatalf("client %d: %v", i+1, err)
		}
		_, body, _ := strings.Cut(string(resp), "\r\n\r\n")
		if want := strconv.Itoa(i + 1); body != want {
			t.Errorf("client %d queued: $connection %q, want %s", i+1, body, want)
		}
	}
}
