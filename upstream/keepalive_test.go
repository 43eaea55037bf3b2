package upstream

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// pipeConn is one end of a net.Pipe whose Close is recorded.
type pipeConn struct {
	net.Conn
	closed *bool
}

func (p pipeConn) Close() error { *p.closed = true; return p.Conn.Close() }

func newPipeConn(t *testing.T) (pipeConn, *bool) {
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	closed := new(bool)
	return pipeConn{a, closed}, closed
}

// The pool's rules, with the clock given: keepalive_requests and
// keepalive_time decide whether a connection is kept, keepalive_timeout
// how long it may stay idle, "keepalive N" how many stay.
func TestKeepalivePool(t *testing.T) {
	now := time.Now()
	newGroup := func() *Group {
		return &Group{Servers: []*Server{{}}, Keepalive: 2, KeepaliveTimeout: time.Minute,
			KeepaliveRequests: 3, KeepaliveTime: time.Hour}
	}
	tests := []struct {
		name     string
		life     connLife
		getAfter time.Duration
		kept     bool // put in the pool
		reused   bool // and returned by getIdle after getAfter
	}{
		{"fresh", connLife{expires: now.Add(time.Hour), requests: 1}, time.Second, true, true},
		{"keepalive_requests reached", connLife{expires: now.Add(time.Hour), requests: 3}, 0, false, false},
		// nginx closes past keepalive_time, not at it.
		{"keepalive_time reached", connLife{expires: now, requests: 1}, time.Second, true, true},
		{"keepalive_time passed", connLife{expires: now.Add(-time.Second), requests: 1}, 0, false, false},
		{"idle past keepalive_timeout", connLife{expires: now.Add(time.Hour), requests: 1}, time.Minute, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGroup()
			defer g.closeIdle(false)
			c, closed := newPipeConn(t)
			g.putIdle(c, 0, &tt.life, now)
			if got := len(g.idle) == 1; got != tt.kept {
				t.Fatalf("kept = %v, want %v", got, tt.kept)
			}
			if *closed == tt.kept {
				t.Errorf("closed = %v", *closed)
			}
			nc, life := getIdleOf(g, 0, now.Add(tt.getAfter))
			if got := nc != nil; got != tt.reused {
				t.Fatalf("reused = %v, want %v", got, tt.reused)
			}
			if tt.reused && life != tt.life {
				t.Errorf("life = %+v, want %+v", life, tt.life)
			}
			if tt.kept && !tt.reused && !*closed {
				t.Error("an expired idle connection was not closed")
			}
		})
	}

	// "keepalive 2": a third idle connection closes the least recently used.
	g := newGroup()
	defer g.closeIdle(false)
	var closed []*bool
	for i := 0; i < 3; i++ {
		c, cl := newPipeConn(t)
		closed = append(closed, cl)
		g.putIdle(c, 0, &connLife{expires: now.Add(time.Hour)}, now.Add(time.Duration(i)*time.Second))
	}
	if diff := cmp.Diff([]bool{true, false, false}, []bool{*closed[0], *closed[1], *closed[2]}); diff != "" {
		t.Errorf("closed (-want +got):\n%s", diff)
	}
}

// A cached connection is looked for by the server the balancer picked
// (ngx_http_upstream_get_keepalive_peer): one to another server is not
// taken.
func TestKeepaliveIdleByServer(t *testing.T) {
	now := time.Now()
	g := &Group{Servers: []*Server{{Addr: "a"}, {Addr: "b"}}, Keepalive: 4, KeepaliveTimeout: time.Minute,
		KeepaliveRequests: 100, KeepaliveTime: time.Hour}
	defer g.closeIdle(false)
	c0, _ := newPipeConn(t)
	c1, _ := newPipeConn(t)
	g.putIdle(c0, 0, &connLife{expires: now.Add(time.Hour), requests: 1}, now)
	g.putIdle(c1, 1, &connLife{expires: now.Add(time.Hour), requests: 2}, now)
	got := []bool{}
	nc, life := getIdleOf(g, 0, now)
	got = append(got, nc == c0 && life.requests == 1)
	nc, _ = getIdleOf(g, 0, now)
	got = append(got, nc == nil)
	nc, life = getIdleOf(g, 1, now)
	got = append(got, nc == c1 && life.requests == 2)
	if diff := cmp.Diff([]bool{true, true, true}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// The sweep closes idle connections at keepalive_timeout with no request
// coming: the backend sees its connection closed.
func TestKeepaliveTimeoutSweep(t *testing.T) {
	be := newBackend(t, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	ps := newProxyServer(t, "upstream u { server "+be.addr()+"; keepalive 4; keepalive_timeout 50ms; }",
		`proxy_pass http://u; proxy_http_version 1.1; proxy_set_header Connection "";`, "/")
	ps.served = make(chan int, 1)
	got := roundTrip(t, ps.ln.Addr().String(), "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
	if !strings.HasPrefix(got, "HTTP/1.1 200") {
		t.Fatalf("got %q", got)
	}
	<-ps.served // the backend connection is in the pool
	// Taken and pooled again while the sweep is pending for it: the
	// sweep that fires re-arms for it (no timer update per request).
	got = roundTrip(t, ps.ln.Addr().String(), "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
	if !strings.HasPrefix(got, "HTTP/1.1 200") {
		t.Fatalf("got %q", got)
	}
	<-ps.served
	g := ps.proxy.group
	if !settle(func() bool { g.mu.Lock(); defer g.mu.Unlock(); return len(g.idle) == 0 }) {
		t.Fatal("idle connection still pooled after keepalive_timeout")
	}
	if !settle(func() bool { return be.openConns() == 0 }) {
		t.Errorf("backend still has %d connections open", be.openConns())
	}
}

// keepalive_requests 3: the fourth request opens a new connection.
func TestKeepaliveRequests(t *testing.T) {
	be := newBackend(t, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	ps := newProxyServer(t, "upstream u { server "+be.addr()+"; keepalive 4; keepalive_requests 3; }",
		`proxy_pass http://u; proxy_http_version 1.1; proxy_set_header Connection "";`, "/")
	ps.served = make(chan int, 1)
	for i := 0; i < 5; i++ {
		if got := roundTrip(t, ps.ln.Addr().String(), "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"); !strings.HasPrefix(got, "HTTP/1.1 200") {
			t.Fatalf("request %d: %q", i, got)
		}
		<-ps.served // the backend connection is back in the pool
	}
	if got := be.connCount(); got != 2 {
		t.Errorf("backend connections for 5 requests: %d, want 2", got)
	}
}

// getIdleOf is g.getIdle with its connLife returned.
func getIdleOf(g *Group, server int, now time.Time) (net.Conn, connLife) {
	var life connLife
	g.mu.Lock()
	nc := g.getIdle(server, now, &life)
	g.mu.Unlock()
	return nc, life
}

// A backend whose answer is never there at once (php-fpm's) is probed
// less and less often, down to one read tried at once in probeMost
// requests; a probe that finds the answer spaces them probeEvery again,
// and once late falls under lateWait every read is tried at once.
func TestKeepaliveProbeSpacing(t *testing.T) {
	w := &closeWatch{}
	// run makes n requests on w, each probe finding the answer there
	// (quick) or not; it returns how many probed (were tried at once).
	run := func(n int, quick bool) (probes int) {
		for range n {
			if wait := w.late > lateWait && !w.probeNow(); !wait {
				probes++
				w.tried(!quick)
			}
		}
		return probes
	}
	if got := run(8, false); got != 8 {
		t.Fatalf("a new connection's first 8 reads: %d tried at once, want all (late rises from 0)", got)
	}
	run(200, false)
	if got := run(64*10, false); got > 10 {
		t.Errorf("a backend always late: %d probes in 640 requests, want at most one in %d", got, probeMost)
	}
	// The backend turns quick: the next probe, at most probeMost
	// requests on, finds the answer.
	requests := 0
	for requests < 2*probeMost && run(1, true) == 0 {
		requests++
	}
	if requests >= probeMost {
		t.Fatalf("no probe in %d requests, want one within %d", requests+1, probeMost)
	}
	if w.probeGap != probeEvery {
		t.Errorf("after a probe that found the answer: next in %d, want %d", w.probeGap, probeEvery)
	}
	run(200, true)
	if w.late > lateWait {
		t.Fatalf("late %d after quick answers", w.late)
	}
	if got := run(10, true); got != 10 {
		t.Errorf("a quick backend: %d of 10 reads tried at once, want all", got)
	}
}
