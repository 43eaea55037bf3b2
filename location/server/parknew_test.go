package server

import (
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/upstream"
	"github.com/google/go-cmp/cmp"
)

// TestNewConnectionParksAtAccept: a plain HTTP/1 connection is parked on
// the poller from its accept until its first bytes arrive, nothing of it
// started (no goroutine, no Conn, no exchange, no configuration held), as
// nginx leaves a new connection to its read event; its requests are
// served under the configuration current when they come, as every
// connection's.
func TestNewConnectionParksAtAccept(t *testing.T) {
	ts := startTest(t, `client_header_timeout 30s; server { listen 127.0.0.1:PORT; location / { return 200 "old $connection_requests"; } }`)
	goroutines := func() int { return runtime.NumGoroutine() - upstream.Lingering() }
	base := goroutines()
	const n = 20
	var clients []*kaClient
	for i := 0; i < n; i++ {
		clients = append(clients, dialKA(t, ts.addr))
	}
	if !waitFor(func() bool { return ts.srv.idleState().Parked == n }) {
		t.Fatalf("not parked: %+v", ts.srv.idleState())
	}
	if diff := cmp.Diff(idleState{Conns: n, Parked: n, Unstarted: n}, ts.srv.idleState()); diff != "" {
		t.Errorf("connections before their first bytes (-want +got):\n%s", diff)
	}
	waitFor(func() bool { return goroutines() <= base })
	if d := goroutines() - base; d > 0 {
		t.Errorf("%d goroutines for %d connections with nothing sent", d, n)
	}
	conf := filepath.Join(ts.dir, "nginx.conf")
	body := strings.Replace(string(must(os.ReadFile(conf))), `"old`, `"new`, 1)
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := nginxconf.Load(conf, nginxconf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.srv.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	if got := ts.srv.routerCount(); got != 1 {
		t.Errorf("%d configurations in use after the reload, want 1", got)
	}
	for i, k := range clients {
		for r := 1; r <= 2; r++ {
			if got, want := k.get(t, "/"), "new "+strconv.Itoa(r); got != want {
				t.Fatalf("client %d: got %q, want %q", i, got, want)
			}
		}
	}
}

// TestCloseEndsUnstarted: an immediate stop closes the connections
// parked since their accept at once (client_header_timeout does not hold
// it).
func TestCloseEndsUnstarted(t *testing.T) {
	ts := startTest(t, `client_header_timeout 60s; server { listen 127.0.0.1:PORT; location / { return 200 "ok"; } }`)
	k := dialKA(t, ts.addr)
	if !waitFor(func() bool { return ts.srv.idleState().Unstarted == 1 }) {
		t.Fatalf("not parked: %+v", ts.srv.idleState())
	}
	done := make(chan struct{})
	go func() { ts.srv.Close(); close(done) }()
	if rest, err := io.ReadAll(k.br); err != nil || len(rest) != 0 {
		t.Errorf("at Close: %q, %v", rest, err)
	}
	select {
	case <-done:
	case <-time.After(20 * time.Second): // a bound: Close waits for its connections
		t.Fatal("Close still waits for the connection")
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestFreshReadsPastGrace: a connection woken from its accept's park by
// its request reads it even when the grace ran out before the read
// began (idleGrace 1ns here; 100 ms from the wake to the read on a
// loaded machine): the wake took the socket's one report of those bytes
// (edge-triggered), so a read refused by the grace's deadline parked the
// connection with its request unread until client_header_timeout.
func TestFreshReadsPastGrace(t *testing.T) {
	g := idleGrace
	t.Cleanup(func() { idleGrace = g }) // after the server's Close
	idleGrace = time.Nanosecond
	ts := startTest(t, `client_header_timeout 60s; server { listen 127.0.0.1:PORT; location / { return 200 "ok $connection_requests"; } }`)
	for i := 0; i < 5; i++ {
		k := dialKA(t, ts.addr)
		if !waitFor(func() bool { return ts.srv.idleState().Unstarted == 1 }) {
			t.Fatalf("connection %d not parked at accept: %+v", i, ts.srv.idleState())
		}
		for r := 1; r <= 2; r++ {
			if got, want := k.get(t, "/"), "ok "+strconv.Itoa(r); got != want {
				t.Fatalf("connection %d: got %q, want %q", i, got, want)
			}
		}
		k.c.Close()
		waitFor(func() bool { return ts.srv.idleState().Conns == 0 })
	}
}
