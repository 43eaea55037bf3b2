package server

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gonginx/gonginx/location"
	"github.com/gonginx/gonginx/upstream"
	"github.com/google/go-cmp/cmp"
)

// kaClient is a keep-alive client connection.
type kaClient struct {
	c  net.Conn
	br *bufio.Reader
}

func dialKA(t *testing.T, addr string) *kaClient {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	return &kaClient{c: c, br: bufio.NewReader(c)}
}

// response reads one response: its status line, its Connection header
// and its body (by Content-Length).
func (k *kaClient) response(t *testing.T) (status, connection, body string) {
	t.Helper()
	n := 0
	for i := 0; ; i++ {
		line, err := k.br.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the head: %v (%q)", err, line)
		}
		line = strings.TrimRight(line, "\r\n")
		switch {
		case i == 0:
			status = line
		case line == "":
			b := make([]byte, n)
			if _, err := io.ReadFull(k.br, b); err != nil {
				t.Fatal(err)
			}
			return status, connection, string(b)
		case strings.HasPrefix(line, "Content-Length: "):
			n, _ = strconv.Atoi(line[len("Content-Length: "):])
		case strings.HasPrefix(line, "Connection: "):
			connection = line[len("Connection: "):]
		}
	}
}

func (k *kaClient) get(t *testing.T, path string) string {
	t.Helper()
	io.WriteString(k.c, "GET "+path+" HTTP/1.1\r\nHost: t\r\n\r\n")
	_, _, body := k.response(t)
	return body
}

// waitFor polls cond (bounded): goroutines end and wake-ups come
// asynchronously.
func waitFor(cond func() bool) bool {
	for i := 0; i < 500; i++ {
		if cond() {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return cond()
}

// idleState is what the server holds for its connections: how many are
// parked, and the parked ones' http1.Conns, buffers and exchanges. It takes each
// parked connection off the poller to look (a keepalive_timeout firing
// meanwhile is lost: the tests' are long) and parks it again.
type idleState struct {
	Conns, Parked, HTTPConns, Buffers, Exchanges int
	// Socks counts the parked TLS connections whose socket I/O holds an
	// http1.Sock.
	Socks int
	// H2Idle counts the HTTP/2 connections with no stream, H2Buffers
	// what buffers they hold.
	H2Idle, H2Buffers int
	// H2Parked counts the HTTP/2 connections parked on the poller.
	H2Parked int
	// Unstarted counts the connections parked since their accept,
	// nothing of them run (parkNew).
	Unstarted int
}

func (s *Server) idleState() idleState {
	s.mu.Lock()
	defer s.mu.Unlock()
	var st idleState
	for sc := s.conns; sc != nil; sc = sc.next {
		st.Conns++
		if h2 := sc.h2(); h2 != nil {
			if h2.Idle() {
				st.H2Idle++
				st.H2Buffers += h2.HeldBuffers()
			}
			if sc.h1.waker.Parked() {
				st.H2Parked++
			}
			continue
		}
		if !sc.h1.waker.Unpark() {
			continue
		}
		st.Parked++
		if sc.h1.has(h1Fresh) {
			st.Unstarted++
		}
		if c := sc.h1.x.HTTP1(); c != nil {
			st.HTTPConns++
			st.Buffers += c.HeldBuffers()
		}
		if sc.h1.x.Bound() {
			st.Exchanges++
		}
		if sc.h1.tconn != nil && location.TLSSockHeld(sc.h1.tconn) {
			st.Socks++
		}
		if !sc.h1.waker.Park() {
			go sc.resumer().Resume() // input came meanwhile
		}
	}
	return st
}

// TestIdleConnectionsPark: a keep-alive connection waiting for its next
// request holds no goroutine, no http1.Conn, no buffer and no exchange
// (it is parked on the poller), and serves its next requests, pipelined
// ones too.
func TestIdleConnectionsPark(t *testing.T) {
	ts := startTest(t, `server { listen 127.0.0.1:PORT; location / { return 200 "ok $connection_requests"; } }`)
	first := dialKA(t, ts.addr)
	if got := first.get(t, "/"); got != "ok 1" {
		t.Fatalf("first: %q", got)
	}
	parked := func(n int) func() bool {
		return func() bool { return ts.srv.idleState().Parked == n }
	}
	if !waitFor(parked(1)) {
		t.Fatalf("not parked: %+v", ts.srv.idleState())
	}
	// Goroutines that wait for the next connection or wake-up (a few for
	// the process, none per connection) do not count.
	goroutines := func() int { return runtime.NumGoroutine() - upstream.Lingering() }
	base := goroutines()
	const n = 20
	var clients []*kaClient
	for i := 0; i < n; i++ {
		k := dialKA(t, ts.addr)
		if got := k.get(t, "/"); got != "ok 1" {
			t.Fatalf("client %d: %q", i, got)
		}
		clients = append(clients, k)
	}
	if !waitFor(parked(n + 1)) {
		t.Fatalf("not all parked: %+v", ts.srv.idleState())
	}
	waitFor(func() bool { return goroutines() <= base })
	if d := goroutines() - base; d > 0 {
		t.Errorf("%d goroutines for %d idle connections", d, n)
	}
	if diff := cmp.Diff(idleState{Conns: n + 1, Parked: n + 1}, ts.srv.idleState()); diff != "" {
		t.Errorf("idle connections (-want +got):\n%s", diff)
	}
	// Woken by their next request; and again.
	for i, k := range clients {
		for r := 2; r <= 3; r++ {
			if got, want := k.get(t, "/"), "ok "+strconv.Itoa(r); got != want {
				t.Fatalf("client %d: got %q, want %q", i, got, want)
			}
		}
	}
	// Pipelined requests are read from the buffer, then it parks again.
	io.WriteString(first.c, "GET /a HTTP/1.1\r\nHost: t\r\n\r\nGET /b HTTP/1.1\r\nHost: t\r\n\r\n")
	var got []string
	for i := 0; i < 2; i++ {
		_, _, body := first.response(t)
		got = append(got, body)
	}
	if diff := cmp.Diff([]string{"ok 2", "ok 3"}, got); diff != "" {
		t.Errorf("pipelined (-want +got):\n%s", diff)
	}
	if !waitFor(parked(n + 1)) {
		t.Fatalf("not parked again: %+v", ts.srv.idleState())
	}
	// A client that closes ends its parked connection.
	clients[0].c.Close()
	if !waitFor(func() bool { return ts.srv.idleState().Conns == n }) {
		t.Fatalf("closed client's connection kept: %+v", ts.srv.idleState())
	}
}

// TestParkedKeepaliveTimeout: keepalive_timeout closes a parked
// connection, sending nothing.
func TestParkedKeepaliveTimeout(t *testing.T) {
	ts := startTest(t, `keepalive_timeout 1s; server { listen 127.0.0.1:PORT; location / { return 200 "ok"; } }`)
	k := dialKA(t, ts.addr)
	if got := k.get(t, "/"); got != "ok" {
		t.Fatalf("got %q", got)
	}
	rest, err := io.ReadAll(k.br)
	if err != nil || len(rest) != 0 {
		t.Fatalf("after keepalive_timeout: %q, %v", rest, err)
	}
	if !waitFor(func() bool { return ts.srv.idleState().Conns == 0 }) {
		t.Fatalf("connection kept: %+v", ts.srv.idleState())
	}
}

// TestShutdownParked: a graceful stop closes parked connections at once
// and answers a request it finds in flight with "Connection: close", as
// nginx's header filter does while exiting.
func TestShutdownParked(t *testing.T) {
	ts := startTest(t, `server { listen 127.0.0.1:PORT; location / { return 200 "ok"; } }`)
	idle := dialKA(t, ts.addr)
	idle.get(t, "/")
	busy := dialKA(t, ts.addr)
	busy.get(t, "/")
	if !waitFor(func() bool { return ts.srv.idleState().Parked == 2 }) {
		t.Fatalf("not parked: %+v", ts.srv.idleState())
	}
	io.WriteString(busy.c, "GET / HTTP/1.1\r\nHost: t\r\n")
	if !waitFor(func() bool { return ts.srv.counters.Stats.Reading.Load() == 1 }) {
		t.Fatalf("not reading: %+v", ts.srv.idleState())
	}
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- ts.srv.Shutdown(ctx)
	}()
	if rest, err := io.ReadAll(idle.br); err != nil || len(rest) != 0 {
		t.Fatalf("parked connection at shutdown: %q, %v", rest, err)
	}
	io.WriteString(busy.c, "\r\n")
	if status, conn, body := busy.response(t); status != "HTTP/1.1 200 OK" || conn != "close" || body != "ok" {
		t.Errorf("in flight at shutdown: %q, Connection: %q, %q", status, conn, body)
	}
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

// TestIdleTLSParks: a TLS keep-alive connection parks too; a request
// that TLS decrypted along with the previous one is served without
// waiting for the poller.
func TestIdleTLSParks(t *testing.T) {
	dir, err := filepath.Abs("../../examples/article")
	if err != nil {
		t.Fatal(err)
	}
	ts := startTest(t, `server { listen 127.0.0.1:PORT ssl; ssl_certificate `+dir+`/cert.pem; ssl_certificate_key `+dir+`/key.pem;
		location / { return 200 "ok $connection_requests"; } }`)
	c, err := tls.Dial("tcp", ts.addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	k := &kaClient{c: c, br: bufio.NewReader(c)}
	var got []string
	for r := 0; r < 2; r++ {
		got = append(got, k.get(t, "/"))
		if !waitFor(func() bool { return ts.srv.idleState().Parked == 1 }) {
			t.Fatalf("not parked: %+v", ts.srv.idleState())
		}
		// Parked, it holds no Sock for its socket's reads and writes.
		if diff := cmp.Diff(idleState{Conns: 1, Parked: 1}, ts.srv.idleState()); diff != "" {
			t.Errorf("parked TLS connection (-want +got):\n%s", diff)
		}
	}
	// Two requests in two records sent together: the second is read
	// from the socket with the first, and waits in TLS's buffer (not the
	// socket) while the first is answered.
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: t\r\n\r\n")
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: t\r\n\r\n")
	for i := 0; i < 2; i++ {
		_, _, body := k.response(t)
		got = append(got, body)
	}
	if diff := cmp.Diff([]string{"ok 1", "ok 2", "ok 3", "ok 4"}, got); diff != "" {
		t.Errorf("responses (-want +got):\n%s", diff)
	}
	if !waitFor(func() bool { return ts.srv.idleState().Parked == 1 }) {
		t.Fatalf("not parked again: %+v", ts.srv.idleState())
	}
}

// splitWriter writes each Write's first split bytes, waits pause, then
// the rest: a TLS record that arrives in two parts.
type splitWriter struct {
	net.Conn
	split int
	pause time.Duration
}

func (w *splitWriter) Write(b []byte) (int, error) {
	if len(b) <= w.split {
		return w.Conn.Write(b)
	}
	n, err := w.Conn.Write(b[:w.split])
	if err != nil {
		return n, err
	}
	time.Sleep(w.pause)
	m, err := w.Conn.Write(b[w.split:])
	return n + m, err
}

// TestParkedTLSSplitRecord: a parked TLS connection woken by a record's
// first bytes reads them at once and waits for the rest under
// client_header_timeout: its request is served when the rest comes, and
// the connection is closed, unanswered, when it does not.
func TestParkedTLSSplitRecord(t *testing.T) {
	dir, err := filepath.Abs("../../examples/article")
	if err != nil {
		t.Fatal(err)
	}
	ts := startTest(t, `server { listen 127.0.0.1:PORT ssl; ssl_certificate `+dir+`/cert.pem; ssl_certificate_key `+dir+`/key.pem;
		client_header_timeout 1s; location / { return 200 "ok $connection_requests"; } }`)
	raw, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	sw := &splitWriter{Conn: raw}
	c := tls.Client(sw, &tls.Config{InsecureSkipVerify: true})
	c.SetDeadline(time.Now().Add(20 * time.Second))
	k := &kaClient{c: c, br: bufio.NewReader(c)}
	var got []string
	got = append(got, k.get(t, "/"))
	sw.split = 3 // within the next record's header
	for _, pause := range []time.Duration{0, 300 * time.Millisecond} {
		if !waitFor(func() bool { return ts.srv.idleState().Parked == 1 }) {
			t.Fatalf("not parked: %+v", ts.srv.idleState())
		}
		sw.pause = pause
		got = append(got, k.get(t, "/"))
	}
	if diff := cmp.Diff([]string{"ok 1", "ok 2", "ok 3"}, got); diff != "" {
		t.Errorf("responses (-want +got):\n%s", diff)
	}
	// A record's first bytes and nothing more: closed once
	// client_header_timeout passes, with no response.
	if !waitFor(func() bool { return ts.srv.idleState().Parked == 1 }) {
		t.Fatalf("not parked: %+v", ts.srv.idleState())
	}
	raw.Write([]byte{0x17, 0x03, 0x03})
	start := time.Now()
	raw.SetReadDeadline(start.Add(5 * time.Second))
	n, err := raw.Read(make([]byte, 100))
	if n != 0 || err == nil || isTimeout(err) {
		t.Errorf("after a partial record: read %d bytes, %v; want the connection closed", n, err)
	}
	if took := time.Since(start); took < 500*time.Millisecond {
		t.Errorf("closed after %v, before client_header_timeout", took)
	}
}

// graceEarned reports whether the server's one connection, parked,
// earned the grace for its next wait.
func (s *Server) graceEarned(t *testing.T) bool {
	t.Helper()
	var earned, found bool
	ok := waitFor(func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		for sc := s.conns; sc != nil; sc = sc.next {
			if !sc.h1.waker.Unpark() {
				return false
			}
			earned, found = sc.h1.has(h1GraceEarned), true
			if !sc.h1.waker.Park() {
				go sc.resumer().Resume() // input came meanwhile
			}
		}
		return found
	})
	if !ok {
		t.Fatalf("not parked: %+v", s.idleState())
	}
	return earned
}

// TestIdleGraceEarned: a connection waits for its next request with its
// goroutine (idleGrace) only once a request came within the grace of the
// response before it; after its first request, or a request that came
// later, it parks as soon as nothing is at hand.
func TestIdleGraceEarned(t *testing.T) {
	ts := startTest(t, `server { listen 127.0.0.1:PORT; location / { return 200 "ok $connection_requests"; } }`)
	k := dialKA(t, ts.addr)
	var got []string
	var earned []bool
	got = append(got, k.get(t, "/"))
	earned = append(earned, ts.srv.graceEarned(t))
	// The second of two pipelined requests comes at once.
	io.WriteString(k.c, "GET / HTTP/1.1\r\nHost: t\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\n\r\n")
	for i := 0; i < 2; i++ {
		_, _, body := k.response(t)
		got = append(got, body)
	}
	earned = append(earned, ts.srv.graceEarned(t))
	time.Sleep(idleGrace + 50*time.Millisecond)
	got = append(got, k.get(t, "/"))
	earned = append(earned, ts.srv.graceEarned(t))
	if diff := cmp.Diff([]string{"ok 1", "ok 2", "ok 3", "ok 4"}, got); diff != "" {
		t.Errorf("responses (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]bool{false, true, false}, earned); diff != "" {
		t.Errorf("grace earned after requests 1, 3, 4 (-want +got):\n%s", diff)
	}
}

// TestFirstRequestParks: a connection with no request yet (a browser's
// preconnect) parks once the grace passed, as a keep-alive one, and
// serves its request when it comes; client_header_timeout, from accept,
// closes it when none comes, sending nothing; a graceful stop lets it
// send its request, as nginx's connection waiting for one is not idle.
func TestFirstRequestParks(t *testing.T) {
	// The timeout runs from accept; the connections that must outlive it
	// (dialed, seen parked, then sent their request) get 3 s for that on a
	// loaded machine.
	ts := startTest(t, `client_header_timeout 3s; server { listen 127.0.0.1:PORT; location / { return 200 "ok $connection_requests"; } }`)
	pre := dialKA(t, ts.addr)
	if !waitFor(func() bool { return ts.srv.idleState().Parked == 1 }) {
		t.Fatalf("not parked: %+v", ts.srv.idleState())
	}
	if diff := cmp.Diff(idleState{Conns: 1, Parked: 1, Unstarted: 1}, ts.srv.idleState()); diff != "" {
		t.Errorf("connection before its first request (-want +got):\n%s", diff)
	}
	if got := pre.get(t, "/"); got != "ok 1" {
		t.Errorf("first request after the park: %q", got)
	}
	// One that sends nothing is closed by client_header_timeout.
	silent := dialKA(t, ts.addr)
	if rest, err := io.ReadAll(silent.br); err != nil || len(rest) != 0 {
		t.Errorf("after client_header_timeout: %q, %v", rest, err)
	}
	// A graceful stop: the parked keep-alive connection closes at once,
	// the one waiting for its first request is served.
	late := dialKA(t, ts.addr)
	if !waitFor(func() bool { return ts.srv.idleState().Parked == 2 }) {
		t.Fatalf("not parked: %+v", ts.srv.idleState())
	}
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- ts.srv.Shutdown(ctx)
	}()
	if rest, err := io.ReadAll(pre.br); err != nil || len(rest) != 0 {
		t.Fatalf("parked keep-alive connection at shutdown: %q, %v", rest, err)
	}
	io.WriteString(late.c, "GET / HTTP/1.1\r\nHost: t\r\n\r\n")
	if status, conn, body := late.response(t); status != "HTTP/1.1 200 OK" || conn != "close" || body != "ok 1" {
		t.Errorf("first request during a graceful stop: %q, Connection: %q, %q", status, conn, body)
	}
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

// TestParkedHoldsNoWatch: a keep-alive connection whose request was
// proxied holds no abort-watch record once parked, and its next proxied
// request is watched again: the client's hang-up while the backend
// stalls closes the backend connection (nginx's client abort).
func TestParkedHoldsNoWatch(t *testing.T) {
	bl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer bl.Close()
	stalled := make(chan net.Conn, 1)
	backendClosed := make(chan struct{})
	go func() {
		for {
			c, err := bl.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						return
					}
					if strings.HasPrefix(line, "GET /stall") {
						stalled <- c
						io.Copy(io.Discard, br) // until the proxy closes it
						close(backendClosed)
						return
					}
					if line == "\r\n" {
						io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
					}
				}
			}()
		}
	}()
	ts := startTest(t, `upstream b { server `+bl.Addr().String()+`; keepalive 4; }
		server { listen 127.0.0.1:PORT; location / { proxy_pass http://b; proxy_http_version 1.1; proxy_set_header Connection ""; } }`)
	k := dialKA(t, ts.addr)
	if got := k.get(t, "/"); got != "ok" {
		t.Fatalf("first: %q", got)
	}
	if !waitFor(func() bool { return ts.srv.idleState().Parked == 1 }) {
		t.Fatalf("not parked: %+v", ts.srv.idleState())
	}
	if n := upstream.WatchedClients(); n != 0 {
		t.Errorf("%d watch records with the connection parked", n)
	}
	io.WriteString(k.c, "GET /stall HTTP/1.1\r\nHost: t\r\n\r\n")
	select {
	case <-stalled:
	case <-time.After(10 * time.Second):
		t.Fatal("the stalled request did not reach the backend")
	}
	k.c.Close()
	select {
	case <-backendClosed:
	case <-time.After(10 * time.Second):
		t.Fatal("the backend connection stayed open after the client hung up")
	}
}

// TestIdleTimerReadsInputFirst: a keepalive_timeout that fires when the
// next request is in the socket but the poller's report of it has not
// been taken yet (a loaded machine) serves the request, as nginx handles
// the events epoll_wait returned before the timers that expired.
func TestIdleTimerReadsInputFirst(t *testing.T) {
	ts := startTest(t, `keepalive_timeout 60s; server { listen 127.0.0.1:PORT; location / { return 200 "ok $connection_requests"; } }`)
	k := dialKA(t, ts.addr)
	if got := k.get(t, "/"); got != "ok 1" {
		t.Fatalf("got %q", got)
	}
	if !waitFor(func() bool { return ts.srv.idleState().Parked == 1 }) {
		t.Fatalf("not parked: %+v", ts.srv.idleState())
	}
	// What idleTimers.fire (poller.Deadlines) does for a deadline that passed, with the
	// request sent in between: the poller's report finds the connection
	// taken (Unpark), as when the timer's goroutine ran first.
	ts.srv.mu.Lock()
	sc := ts.srv.conns
	ts.srv.mu.Unlock()
	ts.srv.idleTimers.Remove(sc)
	if !sc.h1.waker.Unpark() {
		t.Fatal("parked connection not taken")
	}
	io.WriteString(k.c, "GET / HTTP/1.1\r\nHost: t\r\n\r\n")
	time.Sleep(50 * time.Millisecond) // the request is in the socket
	ts.srv.endIdle(sc)
	if _, _, body := k.response(t); body != "ok 2" {
		t.Errorf("request at hand when keepalive_timeout fired: %q", body)
	}
}
