package upstream

import (
	"hash/crc32"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gonginx/gonginx/rewrite"
)

func TestSmoothWeightedRoundRobin(t *testing.T) {
	// nginx's documented sequence for weights 5, 1, 1.
	gs, err := CompileGroups(parseConf(t, "upstream u { server 127.0.0.1:1 weight=5; server 127.0.0.2:1; server 127.0.0.3:1; server 127.0.0.4:1 backup; server 127.0.0.5:1 down; }"))
	if err != nil {
		t.Fatal(err)
	}
	g := gs.Lookup("u")
	now := time.Now()
	var got []string
	for i := 0; i < 7; i++ {
		s := g.pick(nil, 0, now)
		got = append(got, g.Servers[s].Addr[:9])
		g.done(s, false, now)
	}
	want := []string{"127.0.0.1", "127.0.0.1", "127.0.0.2", "127.0.0.1", "127.0.0.3", "127.0.0.1", "127.0.0.1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sequence (-want +got):\n%s", diff)
	}
	// Servers in a failure window are skipped; with all primaries out the
	// backup serves.
	for i := 0; i < 3; i++ {
		g.done(g.pick(nil, 1<<uint(i), now), false, now) // keep conns balanced
	}
	for i := 0; i < 3; i++ {
		g.Servers[i].conns++
		g.done(i, true, now)
	}
	if s := g.pick(nil, 0, now); s < 0 || !g.Servers[s].Backup {
		t.Errorf("with primaries failed picked %d", s)
	} else {
		g.done(s, false, now)
	}
	// After fail_timeout they are back.
	if s := g.pick(nil, 0, now.Add(11*time.Second)); s < 0 || g.Servers[s].Backup {
		t.Errorf("after fail_timeout picked %d", s)
	}
}

func TestUpstreamKeepaliveAndFailover(t *testing.T) {
	be := newBackend(t, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln.Addr().String()
	ln.Close()
	// The dead server is tried first half the time; nginx's
	// proxy_next_upstream error moves on to the live one.
	ps := newProxyServer(t, "upstream b { server "+dead+"; server "+be.addr()+"; keepalive 4; }",
		`proxy_http_version 1.1; proxy_set_header Connection ""; proxy_pass http://b;`, "/")
	c, err := net.Dial("tcp", ps.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := 0; i < 5; i++ {
		got := roundTripOn(t, c, "GET /k HTTP/1.1\r\nHost: a\r\n\r\n")
		if !strings.HasPrefix(got, "HTTP/1.1 200 OK\r\n") {
			t.Fatalf("request %d: %q", i, got)
		}
	}
	if n := len(be.requests()); n != 5 {
		t.Errorf("backend saw %d requests", n)
	}
	be.mu.Lock()
	conns := be.conns
	be.mu.Unlock()
	if conns != 1 {
		t.Errorf("backend saw %d connections; keepalive should reuse one", conns)
	}
	if got := be.requests()[0]; got != "GET /k HTTP/1.1\r\nHost: b\r\n\r\n" {
		t.Errorf("request to a named upstream: %q", got)
	}
}

// A kept-alive connection the backend closed meanwhile is retried on a
// fresh one, even with a single server.
func TestStaleKeepaliveConnection(t *testing.T) {
	be := newBackend(t, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	be.close = true // closes after each response without saying so
	ps := newProxyServer(t, "upstream b { server "+be.addr()+"; keepalive 4; }",
		`proxy_http_version 1.1; proxy_set_header Connection ""; proxy_pass http://b;`, "/")
	c, err := net.Dial("tcp", ps.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := 0; i < 3; i++ {
		if got := roundTripOn(t, c, "GET /s HTTP/1.1\r\nHost: a\r\n\r\n"); !strings.HasPrefix(got, "HTTP/1.1 200 OK\r\n") {
			t.Fatalf("request %d: %q", i, got)
		}
	}
}

// A group of one server is never taken out of service by failures
// (nginx's peers->single), while in a larger group max_fails applies.
func TestSinglePeerNeverFails(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name    string
		conf    string
		wantErr bool // the first server unavailable after max_fails failures
	}{
		{"single", "upstream u { server 127.0.0.1:1 max_fails=1; }", false},
		{"single max_fails=3", "upstream u { server 127.0.0.1:1 max_fails=3; }", false},
		{"two", "upstream u { server 127.0.0.1:1 max_fails=1; server 127.0.0.2:1; }", true},
		{"one with backup", "upstream u { server 127.0.0.1:1 max_fails=1; server 127.0.0.2:1 backup; }", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gs, err := CompileGroups(parseConf(t, tt.conf))
			if err != nil {
				t.Fatal(err)
			}
			g := gs.Lookup("u")
			for i := 0; i < 3; i++ {
				g.Servers[0].conns++
				g.done(0, true, now)
			}
			got := !g.available(0, 0, now)
			if diff := cmp.Diff(tt.wantErr, got); diff != "" {
				t.Errorf("server 0 out of service (-want +got):\n%s", diff)
			}
		})
	}
}

// A proxy_pass to one address keeps serving after the backend failed:
// nginx never answers "no live upstreams" for a single peer.
func TestSinglePeerServesAfterFailures(t *testing.T) {
	hangup := newBackend(t, "") // answers nothing, closes after the request
	hangup.close = true
	psDead := newProxyServer(t, "", "proxy_pass http://"+hangup.addr()+";", "/")
	for i := 0; i < 3; i++ {
		if got := roundTrip(t, psDead.ln.Addr().String(), "GET /h HTTP/1.0\r\n\r\n"); !strings.HasPrefix(got, "HTTP/1.1 502") {
			t.Fatalf("hang-up %d: %q", i, got)
		}
	}
	// The server is picked every time: the backend sees each request.
	if n := len(hangup.requests()); n != 3 {
		t.Errorf("hang-up backend saw %d requests, want 3", n)
	}
}

// least_conn breaks ties between the least loaded servers by weighted
// round robin, as ngx_http_upstream_get_least_conn_peer (nginx-tests
// upstream_least_conn.t: sequential requests alternate).
func TestLeastConnTies(t *testing.T) {
	tests := []struct {
		name, servers string
		busy          []int // servers holding one connection during the picks
		want          []int
	}{
		{"equal weights alternate", "server 127.0.0.1:1; server 127.0.0.1:2;", nil, []int{0, 1, 0, 1}},
		{"weights", "server 127.0.0.1:1 weight=2; server 127.0.0.1:2;", nil, []int{0, 1, 0, 0, 1, 0}},
		{"the least loaded wins", "server 127.0.0.1:1; server 127.0.0.1:2; server 127.0.0.1:3;", []int{0}, []int{1, 2, 1, 2}},
		{"backup only when no primary", "server 127.0.0.1:1 down; server 127.0.0.1:2 backup; server 127.0.0.1:3 backup;", nil, []int{1, 2, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gs, err := CompileGroups(parseConf(t, "upstream u { least_conn; "+tt.servers+" }"))
			if err != nil {
				t.Fatal(err)
			}
			g := gs.Lookup("u")
			now := time.Now()
			for _, i := range tt.busy {
				g.Servers[i].conns++
			}
			var got []int
			for range tt.want {
				i := g.pick(nil, 0, now)
				got = append(got, i)
				if i >= 0 {
					g.done(i, false, now)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("picks (-want +got):\n%s", diff)
			}
		})
	}
}

// Groups made for proxy_pass URLs without variables are found again by
// host (without case) and port for URLs with variables.
func TestLookupImplicit(t *testing.T) {
	gs := NewGroups()
	g, err := gs.implicitGroup("LocalHost:8081", "80")
	if err != nil {
		t.Fatal(err)
	}
	g80, err := gs.implicitGroup("127.0.0.1", "80")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		host, port string
		want       *Group
	}{
		{"localhost", "8081", g},
		{"LOCALHOST", "8081", g},
		{"localhost", "80", nil},
		{"127.0.0.1", "80", g80},
		{"127.0.0.1", "8081", nil},
	}
	for _, tt := range tests {
		if got := gs.lookupImplicit(tt.host, tt.port); got != tt.want {
			t.Errorf("lookupImplicit(%q, %q) = %v, want %v", tt.host, tt.port, got, tt.want)
		}
	}
}

// Every balancer passes over servers that are down or hold max_conns
// connections, and with none left answers -1 (nginx's NGX_BUSY).
func TestPickersKeepMaxConns(t *testing.T) {
	for _, method := range []string{"", "least_conn;", "ip_hash;", "hash key;", "hash key consistent;", "random;", "random two least_conn;"} {
		t.Run(method, func(t *testing.T) {
			gs, err := CompileGroups(parseConf(t, "upstream u { "+method+
				" server 127.0.0.1:1 max_conns=1; server 127.0.0.2:1 max_conns=2; server 127.0.0.3:1 down; }"))
			if err != nil {
				t.Fatal(err)
			}
			g := gs.Lookup("u")
			now := time.Now()
			var got []int
			for range 4 {
				got = append(got, g.pick(&rewrite.State{}, 0, now))
			}
			slices.Sort(got)
			if diff := cmp.Diff([]int{-1, 0, 1, 1}, got); diff != "" {
				t.Errorf("picks (-want +got):\n%s", diff)
			}
		})
	}
}

// The consistent hash's ring: 160 points per weight of each primary
// server, sorted, each point the crc32 of "host\0port" and the point
// before it.
func TestConsistentHashRing(t *testing.T) {
	gs, err := CompileGroups(parseConf(t, "upstream u { hash $arg_a consistent; server 127.0.0.1:8081; server 127.0.0.1:8083 weight=2; }"))
	if err != nil {
		t.Fatal(err)
	}
	h := gs.Lookup("u").Picker.(*chashPicker)
	if len(h.points) != 480 {
		t.Errorf("%d points, want 480", len(h.points))
	}
	if !slices.IsSortedFunc(h.points, func(a, b chashPoint) int { return cmp2(a.hash, b.hash) }) {
		t.Error("points not sorted")
	}
	first := crc32.ChecksumIEEE([]byte("127.0.0.1\x008081\x00\x00\x00\x00"))
	if !slices.ContainsFunc(h.points, func(p chashPoint) bool { return p.hash == first && p.name == 0 }) {
		t.Errorf("no point %#x for the first server", first)
	}
	for _, tt := range []struct{ name, want string }{
		{"127.0.0.1:8081", "127.0.0.1\x008081"},
		{"example.com", "example.com\x00"},
		{"UNIX:/tmp/a:80", "/tmp/a:80\x00"},
		{"[::1]:80", "[::1]\x0080"},
	} {
		if got := string(chashBase(tt.name)); got != tt.want {
			t.Errorf("chashBase(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func cmp2(a, b uint32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// max_fails and fail_timeout as ngx_http_upstream_free_round_robin_peer
// counts them, in whole seconds: failures add up until a success after
// the server was checked again; fail_timeout runs from the last failure.
func TestFailureAccounting(t *testing.T) {
	gs, err := CompileGroups(parseConf(t, "upstream u { server 127.0.0.1:1 max_fails=2 fail_timeout=10s weight=4; server 127.0.0.2:1; }"))
	if err != nil {
		t.Fatal(err)
	}
	g := gs.Lookup("u")
	t0 := time.Unix(1000, 0)
	at := func(sec float64) time.Time { return t0.Add(time.Duration(sec * float64(time.Second))) }
	fail := func(sec float64) {
		g.Servers[0].conns++
		g.done(0, true, at(sec))
	}
	fail(0)
	fail(5.5)
	var got []bool
	for _, sec := range []float64{6, 15.9, 16} {
		got = append(got, g.available(0, 0, at(sec)))
	}
	if diff := cmp.Diff([]bool{false, false, true}, got); diff != "" {
		t.Errorf("available at 6s, 15.9s, 16s (-want +got):\n%s", diff)
	}
	if s := g.Servers[0]; s.effectiveWeight != 0 {
		t.Errorf("effective weight %d after two failures, want 0", s.effectiveWeight)
	}
	// Picked again after fail_timeout, it is checked; a success clears
	// its failures. Its weight recovers by one with each pick.
	var picks []int
	for range 6 {
		i := g.pick(nil, 0, at(16))
		picks = append(picks, i)
		g.done(i, false, at(16))
	}
	if g.Servers[0].fails != 0 {
		t.Errorf("fails %d after a success, want 0", g.Servers[0].fails)
	}
	if diff := cmp.Diff([]int{1, 0, 1, 0, 0, 0}, picks); diff != "" {
		t.Errorf("picks while the weight recovers (-want +got):\n%s", diff)
	}
}

// A stream session marks its server live once connected, while the
// session still runs (ngx_stream_upstream_notify_round_robin_peer): a
// server back after fail_timeout takes every new session at once, not
// the backup, even while the first one is open.
func TestConnectedMarksLive(t *testing.T) {
	gs, err := CompileGroups(parseConf(t, "upstream u { server 127.0.0.1:1 fail_timeout=1s; server 127.0.0.2:1 backup; }"))
	if err != nil {
		t.Fatal(err)
	}
	g := gs.Lookup("u")
	t0 := time.Unix(1000, 0)
	g.Servers[0].conns++
	g.done(0, true, t0)
	later := t0.Add(2 * time.Second)
	var picks []int
	for range 3 {
		i := g.pick(nil, 0, later)
		picks = append(picks, i)
		g.connected(i) // sessions stay open
	}
	if diff := cmp.Diff([]int{0, 0, 0}, picks); diff != "" {
		t.Errorf("picks of open sessions after fail_timeout (-want +got):\n%s", diff)
	}
}

// done reports the failure that takes a server out of service (nginx's
// "upstream server temporarily disabled"): the max_fails-th, not a
// single server's.
func TestDoneReportsDisabled(t *testing.T) {
	gs, err := CompileGroups(parseConf(t, "upstream u { server 127.0.0.1:1 max_fails=2; server 127.0.0.2:1; } upstream one { server 127.0.0.3:1; }"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1000, 0)
	var got []bool
	for _, name := range []string{"u", "u", "one"} {
		g := gs.Lookup(name)
		g.Servers[0].conns++
		got = append(got, g.done(0, true, now))
	}
	if diff := cmp.Diff([]bool{false, true, false}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestServerDisabledLine: the failure that takes a server out (max_fails
// reached) is followed by nginx's warning, with the try's action and
// upstream; a server that stays in gets none.
func TestServerDisabledLine(t *testing.T) {
	be := newBackend(t, heldResponse)
	addr := be.ln.Addr().String()
	ps := newProxyServer(t, "upstream u { server 127.0.0.1:1 max_fails=1; server 127.0.0.1:2 max_fails=2; server "+addr+"; }",
		"proxy_pass http://u;", "/")
	lines := &logLines{}
	ps.log = lines
	roundTrip(t, ps.ln.Addr().String(), "GET /a HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
	want := []string{
		"[error] connect() failed (111: Connection refused) while connecting to upstream, upstream: http://127.0.0.1:1/a",
		"[warn] upstream server temporarily disabled while connecting to upstream, upstream: http://127.0.0.1:1/a",
		"[error] connect() failed (111: Connection refused) while connecting to upstream, upstream: http://127.0.0.1:2/a",
	}
	if diff := cmp.Diff(want, lines.lines()); diff != "" {
		t.Errorf("error lines (-want +got):\n%s", diff)
	}
}

// A tcp server's address is parsed with the configuration (connects take
// it as it is); a unix socket or a name has none, and is dialed by Addr.
func TestServerAddrPort(t *testing.T) {
	gs, err := CompileGroups(parseConf(t, "upstream u { server 127.0.0.1:8081; server [::1]:8082; server unix:/tmp/u.sock; }"))
	if err != nil {
		t.Fatal(err)
	}
	gs2 := NewGroups()
	implicit, err := gs2.implicitGroup("127.0.0.3:8083", "80")
	if err != nil {
		t.Fatal(err)
	}
	resolved := resolvedGroup("example.test", []netip.Addr{netip.MustParseAddr("192.0.2.1")}, "8084", "80")
	var got []string
	for _, g := range []*Group{gs.Lookup("u"), implicit, resolved} {
		for _, s := range g.Servers {
			got = append(got, s.Addr+" "+s.addrPort.String())
		}
	}
	want := []string{
		"127.0.0.1:8081 127.0.0.1:8081",
		"[::1]:8082 [::1]:8082",
		"/tmp/u.sock invalid AddrPort",
		"127.0.0.3:8083 127.0.0.3:8083",
		"192.0.2.1:8084 192.0.2.1:8084",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("servers' addresses (-want +got):\n%s", diff)
	}
}
