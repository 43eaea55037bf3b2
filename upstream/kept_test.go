package upstream

import (
	"net"
	"strings"
	"testing"

	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/rewrite/http1"
)

// A connection's State keeps the proxy's exchange from one request to
// the next (rewrite.State.Kept): the same record each time, none while
// a request uses it, none for an upgrade (its tunnel may last hours).
func TestExchangeKeptInState(t *testing.T) {
	be := newBackend(t, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	ps := newProxyServer(t, "upstream b { server "+be.addr()+"; keepalive 8; }",
		`proxy_http_version 1.1; proxy_set_header Connection ""; proxy_pass http://b;`, "/")
	ps.kept = make(chan any, 8)
	c, err := net.Dial("tcp", ps.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var kept []any
	for i := 0; i < 3; i++ {
		if got := roundTripOn(t, c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); !strings.HasSuffix(got, "ok") {
			t.Fatalf("request %d: %q", i, got)
		}
		kept = append(kept, <-ps.kept)
	}
	if _, ok := kept[0].(*exchange); !ok || kept[1] != kept[0] || kept[2] != kept[0] {
		t.Errorf("kept across requests: %p %p %p, want one *exchange", kept[0], kept[1], kept[2])
	}
	got := roundTrip(t, ps.ln.Addr().String(), "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n")
	if !strings.HasSuffix(got, "ok") {
		t.Fatalf("upgrade request: %q", got)
	}
	if k := <-ps.kept; k != nil {
		t.Errorf("an upgrade request's State keeps %T, want none", k)
	}
}

// countRelease counts its Release calls.
type countRelease struct{ n int }

func (c *countRelease) Release() { c.n++ }

// Reset(nil), the connection's end or park, gives the kept record back;
// a reset for the connection's next request keeps it.
func TestStateResetReleasesKept(t *testing.T) {
	var s rewrite.State
	k := &countRelease{}
	s.Kept = k
	s.Reset(&http1.Request{})
	if k.n != 0 || s.Kept != k {
		t.Errorf("after Reset(request): %d releases, Kept %v; want 0, kept", k.n, s.Kept)
	}
	s.Reset(nil)
	if k.n != 1 || s.Kept != nil {
		t.Errorf("after Reset(nil): %d releases, Kept %v; want 1, nil", k.n, s.Kept)
	}
}

// An upgrade request answered with no 101 leaves its connection, dialed
// for it, kept alive as any other (its keepalive_time end is made then,
// not at the connect): the next request reuses it.
func TestUpgradeNotSwitchedKept(t *testing.T) {
	be := newBackend(t, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	ps := newProxyServer(t, "upstream b { server "+be.addr()+"; keepalive 8; }",
		`proxy_http_version 1.1; proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection $http_connection; proxy_pass http://b;`, "/")
	c, err := net.Dial("tcp", ps.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := roundTripOn(t, c, "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n"); !strings.HasSuffix(got, "ok") {
		t.Fatalf("upgrade request: %q", got)
	}
	if got := roundTripOn(t, c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); !strings.HasSuffix(got, "ok") {
		t.Fatalf("next request: %q", got)
	}
	be.mu.Lock()
	conns := be.conns
	be.mu.Unlock()
	if conns != 1 {
		t.Errorf("backend connections: %d, want 1 (the upgrade's kept)", conns)
	}
}
