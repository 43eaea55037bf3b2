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
	"github.com/google/go-cmp/cmp"
)

// syncBuffer is an error log the test reads while the server writes.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startReturningX starts a server on a free loopback port whose one
// location returns "x", with its error log at level into the returned
// buffer; events and httpConf go in those blocks, listenParams after the
// listen's address; wrap, when not nil, wraps the listener Start is given.
func startReturningX(t *testing.T, level, events, httpConf, listenParams string, wrap func(net.Listener) net.Listener) (*Server, string, *syncBuffer) {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	dir := t.TempDir()
	conf := "error_log " + dir + "/error.log " + level + ";\nevents { " + events + " }\nhttp {\naccess_log off;\n" + httpConf +
		"server { listen " + addr + listenParams + "; location / { return 200 \"x\"; } }\n}\n"
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := nginxconf.Load(path, nginxconf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var served net.Listener = ln
	if wrap != nil {
		served = wrap(ln)
	}
	log := &syncBuffer{}
	srv, err := Start(cfg, StartOptions{ErrorLog: log, Listeners: map[string]net.Listener{addr: served}})
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	return srv, addr, log
}

// TestDrainReusable: with worker_connections 4 (the listener takes one),
// a fourth client makes the server close the client that became idle
// first, as ngx_drain_connections; a client that sent its request is not
// reusable; every slot is given back when the clients are gone.
func TestDrainReusable(t *testing.T) {
	srv, addr, log := startReturningX(t, "warn", "worker_connections 4;", "", "", nil)
	defer srv.Close()
	dial := func() net.Conn {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		t.Cleanup(func() { c.Close() })
		return c
	}
	status := func(c net.Conn, req string) string {
		if req != "" {
			io.WriteString(c, req)
		}
		l, err := bufio.NewReader(c).ReadString('\n')
		if err != nil && l == "" {
			return "closed"
		}
		return strings.TrimSpace(l)
	}
	waitUsed := func(n int) {
		for i := 0; srv.slots.Used() != n; i++ {
			if i == 1000 {
				t.Fatalf("slots used %d, want %d", srv.slots.Used(), n)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	const get = "GET / HTTP/1.0\r\n\r\n"
	a, b, c := dial(), dial(), dial() // idle: reusable in this order
	waitUsed(4)
	d := dial()
	waitUsed(4)
	var got []string
	got = append(got, "a "+status(a, ""), "d "+status(d, get), "b "+status(b, get))
	waitUsed(2) // the listener and c
	e, f := dial(), dial()
	waitUsed(4)
	// c is the oldest reusable now.
	got = append(got, "g "+status(dial(), get), "c "+status(c, ""), "e "+status(e, get), "f "+status(f, get))
	waitUsed(1)
	want := []string{"a closed", "d HTTP/1.1 200 OK", "b HTTP/1.1 200 OK",
		"g HTTP/1.1 200 OK", "c closed", "e HTTP/1.1 200 OK", "f HTTP/1.1 200 OK"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if !strings.Contains(log.String(), "[warn] ") || !strings.Contains(log.String(), "4 worker_connections are not enough, reusing connections") {
		t.Errorf("error log:\n%s", log.String())
	}
}
