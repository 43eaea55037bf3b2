package server

import (
	"io"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestParkedKeepaliveTimeouts: parked connections under different
// keepalive_timeouts (their last request's location's) each close when
// theirs passes, sending nothing, whatever order they parked in.
func TestParkedKeepaliveTimeouts(t *testing.T) {
	ts := startTest(t, `server { listen 127.0.0.1:PORT;
		location /a { keepalive_timeout 900ms; return 200 "a"; }
		location /b { keepalive_timeout 300ms; return 200 "b"; }
		location /c { keepalive_timeout 600ms; return 200 "c"; } }`)
	paths := []string{"/a", "/b", "/c", "/b", "/a"}
	var clients []*kaClient
	for _, p := range paths {
		k := dialKA(t, ts.addr)
		if got := k.get(t, p); got != p[1:] {
			t.Fatalf("%s: got %q", p, got)
		}
		clients = append(clients, k)
	}
	var got []string
	for i, k := range clients {
		rest, err := io.ReadAll(k.br)
		got = append(got, paths[i]+": "+string(rest))
		if err != nil {
			t.Errorf("%s: %v", paths[i], err)
		}
	}
	sort.Strings(got)
	if diff := cmp.Diff([]string{"/a: ", "/a: ", "/b: ", "/b: ", "/c: "}, got); diff != "" {
		t.Errorf("after keepalive_timeout (-want +got):\n%s", diff)
	}
	if !waitFor(func() bool { return ts.srv.idleState().Conns == 0 }) {
		t.Fatalf("connections kept: %+v", ts.srv.idleState())
	}
}
