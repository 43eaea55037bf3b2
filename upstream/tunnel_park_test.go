//go:build linux

package upstream

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// goroutinesIn counts the goroutines whose stack holds fn.
func goroutinesIn(fn string) int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, fn) {
			n++
		}
	}
	return n
}

// TestTunnelIdleParked: an idle tunnel holds no goroutine of its own, no
// pipe and no descriptor beyond its two sockets; only the connection's
// goroutine waits for its end (to count and log it). Bytes arriving on
// either side wake a copy, which ends once they are through.
func TestTunnelIdleParked(t *testing.T) {
	addr, _ := wsBackend(t)
	ps := newProxyServer(t, "", `proxy_http_version 1.1; proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection "upgrade"; proxy_read_timeout 1h; proxy_pass http://`+addr+`;`, "/")
	const tunnels = 3
	ports := []int{portOf(t, ps.ln.Addr().String()), portOf(t, addr)}
	baseSockets, basePipes := socketsOn(ports...), splicePipes()
	var conns []net.Conn
	for i := 0; i < tunnels; i++ {
		c, err := net.Dial("tcp", ps.ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: foo\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		head := "HTTP/1.1 101 Switching Protocols\r\nServer: gonginx/0.1.0\r\nDate: D\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\nSERVERFIRST"
		readN(t, c, len(normalizeBack(head)))
		io.WriteString(c, "ping")
		if got := readN(t, c, 4); got != "ping" {
			t.Fatalf("echo %q", got)
		}
		conns = append(conns, c)
	}
	idle := func() bool {
		return goroutinesIn("upstream.(*direction)") == 0 && goroutinesIn("upstream.(*tunnel).pump") == tunnels
	}
	if !settle(idle) {
		t.Errorf("goroutines copying: %d, waiting in pump: %d; want 0 and %d",
			goroutinesIn("upstream.(*direction)"), goroutinesIn("upstream.(*tunnel).pump"), tunnels)
	}
	// Per tunnel: the proxy's two sockets, and this test's client and
	// backend ends; no pipe more (Go's own splice pipes, which other
	// tests' io.Copy left, may close meanwhile: fewer is no news).
	got := []int{socketsOn(ports...) - baseSockets, max(0, splicePipes()-basePipes)}
	if diff := cmp.Diff([]int{4 * tunnels, 0}, got); diff != "" {
		t.Errorf("sockets and pipes held by %d idle tunnels (-want +got):\n%s", tunnels, diff)
	}
	// Each parked tunnel still relays, both ways, and parks again.
	for _, c := range conns {
		// A deadline of its own: the dials' ran out while a loaded
		// machine was settling (the write then failed unseen).
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(c, "again"); err != nil {
			t.Fatalf("write after parking: %v", err)
		}
		if got := readN(t, c, 5); got != "again" {
			t.Errorf("echo after parking %q", got)
		}
	}
	if !settle(idle) {
		t.Errorf("after traffic: goroutines copying %d, want 0", goroutinesIn("upstream.(*direction)"))
	}
}

// echoBackend echoes each connection until EOF.
func echoBackend(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				// Not io.Copy: it would splice through Go's pipes.
				io.CopyBuffer(struct{ io.Writer }{c}, struct{ io.Reader }{c}, make([]byte, 32<<10))
				c.Close()
			}()
		}
	}()
	return ln.Addr().String()
}

// TestTunnelSpliceLarge moves more than many buffers each way between
// plain sockets (read by splice once a buffer comes back full), with
// small messages before and after, and counts every byte. No pipe is
// kept per tunnel: the few a burst borrowed wait in a bounded list.
func TestTunnelSpliceLarge(t *testing.T) {
	client, proxyClient := tcpPair(t)
	up, err := net.Dial("tcp", echoBackend(t))
	if err != nil {
		t.Fatal(err)
	}
	tn := &tunnel{client: proxyClient, upstream: up, idle: 5 * time.Second, bufs: tunnelPool(4096)}
	done := make(chan error, 1)
	go func() { done <- tn.run(nil, nil) }()
	client.SetDeadline(time.Now().Add(10 * time.Second))
	big := bytes.Repeat([]byte("0123456789abcdefghijklmnopqrstu\n"), 3<<20/32)
	var want bytes.Buffer
	for _, msg := range [][]byte{[]byte("hi"), big, []byte("small"), big, []byte("end")} {
		want.Write(msg)
	}
	go func() {
		for _, msg := range [][]byte{[]byte("hi"), big, []byte("small"), big, []byte("end")} {
			client.Write(msg)
		}
	}()
	// The client's EOF would end the tunnel at once (nginx's): all of the
	// echo is read first.
	got := make([]byte, want.Len())
	if n, err := io.ReadFull(client, got); err != nil {
		t.Fatalf("echoed %d bytes of %d: %v", n, want.Len(), err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("echoed bytes differ")
	}
	client.Close()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
	n := int64(want.Len())
	if diff := cmp.Diff([2]int64{n, n}, [2]int64{tn.toUpstream, tn.toClient}); diff != "" {
		t.Errorf("bytes to upstream, to client (-want +got):\n%s", diff)
	}
	if p := splicePipes(); p > 2*maxFreePipes {
		t.Errorf("%d pipe descriptors open, want at most %d", p, 2*maxFreePipes)
	}
}

// TestTunnelParkedIdleTimeout: a parked tunnel with no traffic ends after
// the idle limit as a read that timed out (proxy_read_timeout,
// proxy_timeout), counted from the last byte either way.
func TestTunnelParkedIdleTimeout(t *testing.T) {
	client, proxyClient := tcpPair(t)
	up, err := net.Dial("tcp", echoBackend(t))
	if err != nil {
		t.Fatal(err)
	}
	// Traffic every 250 ms for 1.5 s keeps a 1 s limit from ending it
	// (750 ms of slack per gap for a loaded machine), then silence does.
	tn := &tunnel{client: proxyClient, upstream: up, idle: time.Second, bufs: tunnelPool(4096)}
	done := make(chan error, 1)
	go func() { done <- tn.run(nil, nil) }()
	client.SetDeadline(time.Now().Add(10 * time.Second))
	for i := 0; i < 6; i++ {
		time.Sleep(250 * time.Millisecond)
		client.Write([]byte("x"))
		readN(t, client, 1)
	}
	select {
	case err := <-done:
		if !isTimeout(err) {
			t.Errorf("run: %v, want a timeout", err)
		}
	case <-time.After(8 * time.Second):
		t.Fatal("idle tunnel did not end")
	}
	if rest, err := io.ReadAll(client); err != nil || len(rest) != 0 {
		t.Errorf("after the idle end: %q %v", rest, err)
	}
}

// TestTunnelBackpressure: a client that does not read while the backend
// sends makes the poller goroutine's write come back short (or
// EAGAIN); what it could not write goes first once the client reads,
// in order, and every byte is counted.
func TestTunnelBackpressure(t *testing.T) {
	client, proxyClient := tcpPair(t)
	proxyUp, backend := tcpPair(t)
	// Socket buffers toward the client far smaller than the stream fill
	// at once. Not smaller than loopback's 64 KiB segments: a receive
	// window below one stalls loopback TCP itself (4 KiB ones at once;
	// 16 KiB ones on a loaded machine, 1 run in ~5: 32 KiB in the
	// proxy's send queue, the client's empty, for seconds).
	client.SetReadBuffer(256 << 10)
	proxyClient.SetWriteBuffer(64 << 10)
	tn := &tunnel{client: proxyClient, upstream: proxyUp, idle: 5 * time.Second, bufs: tunnelPool(4096)}
	done := make(chan error, 1)
	go func() { done <- tn.run(nil, nil) }()
	var want bytes.Buffer
	for i := 0; want.Len() < 1<<20; i++ {
		fmt.Fprintf(&want, "message %07d of a stream in small writes\n", i)
	}
	go func() {
		b := want.Bytes()
		for len(b) > 0 {
			n := min(len(b), 1000)
			if _, err := backend.Write(b[:n]); err != nil {
				return
			}
			b = b[n:]
			time.Sleep(50 * time.Microsecond) // a burst each: short reads
		}
	}()
	time.Sleep(300 * time.Millisecond) // the socket buffers fill
	client.SetDeadline(time.Now().Add(10 * time.Second))
	got := make([]byte, want.Len())
	if n, err := io.ReadFull(client, got); err != nil {
		t.Fatalf("read %d of %d: %v", n, want.Len(), err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		i := 0
		for i < len(got) && got[i] == want.Bytes()[i] {
			i++
		}
		t.Fatalf("bytes differ from offset %d", i)
	}
	backend.Close()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
	if got := tn.toClient; got != int64(want.Len()) {
		t.Errorf("counted %d bytes to the client, want %d", got, want.Len())
	}
}

// tlsPair is tcpPair with TLS on top: the client's end and the server's
// (the proxy's client connection), handshaken.
func tlsPair(t *testing.T) (client, server *tls.Conn, split *atomic.Bool) {
	t.Helper()
	cert, err := tls.LoadX509KeyPair("../examples/article/cert.pem", "../examples/article/key.pem")
	if err != nil {
		t.Fatal(err)
	}
	a, b := tcpPair(t)
	sc := &splitConn{Conn: a}
	client = tls.Client(sc, &tls.Config{InsecureSkipVerify: true})
	server = tls.Server(b, &tls.Config{Certificates: []tls.Certificate{cert}})
	errc := make(chan error, 1)
	go func() { errc <- server.Handshake() }()
	if err := client.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	return client, server, &sc.split
}

// splitConn, once split is set, writes each record in two pieces with a
// pause between: the reader finds half a record in the socket.
type splitConn struct {
	net.Conn
	split atomic.Bool
}

func (c *splitConn) Write(b []byte) (int, error) {
	if !c.split.Load() || len(b) < 2 {
		return c.Conn.Write(b)
	}
	n, err := c.Conn.Write(b[:len(b)/2])
	if err != nil {
		return n, err
	}
	time.Sleep(20 * time.Millisecond)
	m, err := c.Conn.Write(b[len(b)/2:])
	return n + m, err
}

// TestTunnelTLSParked: a tunnel whose client side is TLS (wss) parks
// both directions as a plain one does: the TLS source waits on its
// socket with no goroutine, and is read through TLS when bytes come,
// records whole or in pieces, small messages and large ones; bytes TLS
// decrypted before the tunnel started go through at once.
func TestTunnelTLSParked(t *testing.T) {
	client, proxyClient, split := tlsPair(t)
	up, err := net.Dial("tcp", echoBackend(t))
	if err != nil {
		t.Fatal(err)
	}
	// Two records the proxy's TLS reads together: the first is taken
	// before the tunnel, the second waits decrypted in TLS.
	client.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(client, "early1")
	io.WriteString(client, "early2")
	first := make([]byte, 6)
	if _, err := io.ReadFull(proxyClient, first); err != nil || string(first) != "early1" {
		t.Fatalf("first record %q %v", first, err)
	}
	tn := &tunnel{client: proxyClient, upstream: up, idle: 10 * time.Second, bufs: tunnelPool(4096)}
	done := make(chan error, 1)
	go func() { done <- tn.run(nil, nil) }()
	if got := readN(t, client, 6); got != "early2" {
		t.Fatalf("early bytes: %q", got)
	}
	idle := func() bool { return goroutinesIn("upstream.(*direction)") == 0 }
	if !settle(idle) {
		t.Fatalf("idle TLS tunnel: %d goroutines copying, want 0", goroutinesIn("upstream.(*direction)"))
	}
	big := bytes.Repeat([]byte("0123456789abcdefghijklmnopqrstu\n"), 1<<20/32)
	var want bytes.Buffer
	msgs := [][]byte{[]byte("hi"), big, []byte("small"), big, []byte("end")}
	for _, msg := range msgs {
		want.Write(msg)
	}
	go func() {
		for _, msg := range msgs {
			client.Write(msg)
		}
	}()
	got := make([]byte, want.Len())
	if n, err := io.ReadFull(client, got); err != nil {
		t.Fatalf("echoed %d bytes of %d: %v", n, want.Len(), err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("echoed bytes differ")
	}
	if !settle(idle) {
		t.Errorf("after traffic: %d goroutines copying, want 0", goroutinesIn("upstream.(*direction)"))
	}
	// A record that arrives in pieces: the read waits for its rest.
	split.Store(true)
	io.WriteString(client, "after")
	if got := readN(t, client, 5); got != "after" {
		t.Errorf("echo of a split record %q", got)
	}
	if !settle(idle) {
		t.Errorf("after a split record: %d goroutines copying, want 0", goroutinesIn("upstream.(*direction)"))
	}
	client.Close()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
	n := int64(want.Len() + len("early2") + len("after"))
	if diff := cmp.Diff([2]int64{n, n}, [2]int64{tn.toUpstream, tn.toClient}); diff != "" {
		t.Errorf("bytes to upstream, to client (-want +got):\n%s", diff)
	}
}

// TestTunnelTLSUpstream: a tunnel whose backend side is TLS (the stream
// module's proxy_ssl) parks it too: the backend's answer that came
// with its close_notify reaches the client.
func TestTunnelTLSUpstream(t *testing.T) {
	cert, err := tls.LoadX509KeyPair("../examples/article/cert.pem", "../examples/article/key.pem")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		hc := &holdConn{Conn: nc}
		c := tls.Server(hc, &tls.Config{Certificates: []tls.Certificate{cert}})
		b := make([]byte, 4)
		io.ReadFull(c, b)
		// The answer and the close_notify in one segment: the proxy's
		// TLS read returns the bytes with the end.
		hc.hold = true
		c.Write([]byte("answer to " + string(b)))
		c.Close()
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	// TLS 1.2: its close_notify is seen in the read of the answer.
	up := tls.Client(nc, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12})
	if err := up.Handshake(); err != nil {
		t.Fatal(err)
	}
	client, proxyClient := tcpPair(t)
	tn := &tunnel{client: proxyClient, upstream: up, idle: 10 * time.Second, bufs: tunnelPool(4096)}
	done := make(chan error, 1)
	go func() { done <- tn.run(nil, nil) }()
	client.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(client, "ping")
	got, err := io.ReadAll(client)
	runErr := <-done
	if string(got) != "answer to ping" || err != nil || runErr != nil {
		t.Errorf("client got %q, %v; run: %v", got, err, runErr)
	}
}

// holdConn, once hold is set, keeps what is written until Close, which
// sends it in one write.
type holdConn struct {
	net.Conn
	hold bool
	held []byte
}

func (c *holdConn) Write(b []byte) (int, error) {
	if !c.hold {
		return c.Conn.Write(b)
	}
	c.held = append(c.held, b...)
	return len(b), nil
}

func (c *holdConn) Close() error {
	c.Conn.SetWriteDeadline(time.Time{}) // TLS's close_notify set it to now
	c.Conn.Write(c.held)
	return c.Conn.Close()
}

// BenchmarkTunnelEcho: a 64-byte message through a parked tunnel to
// the backend and its echo back (the bench's ws-echo row, one
// connection): the poller's goroutine relays both ways.
func BenchmarkTunnelEcho(b *testing.B) {
	client, proxyClient := tcpPair(b)
	proxyUp, backend := tcpPair(b)
	tn := &tunnel{client: proxyClient, upstream: proxyUp, idle: time.Minute, bufs: tunnelPool(4096)}
	done := make(chan error, 1)
	go func() { done <- tn.run(nil, nil) }()
	msg := bytes.Repeat([]byte("m"), 64)
	buf := make([]byte, 64)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := client.Write(msg); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(backend, buf); err != nil {
			b.Fatal(err)
		}
		if _, err := backend.Write(buf); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(client, buf); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	client.Close()
	<-done
}

// TestTunnelIdleTimerReused: a tunnel that ends before its idle limit
// leaves the process's heap of limits (tunnelIdle), whose timer may be
// armed for it still; the next tunnel still ends at its own limit, and
// the first's limit (an hour) never ends it.
func TestTunnelIdleTimerReused(t *testing.T) {
	for i, idle := range []time.Duration{time.Hour, 300 * time.Millisecond} {
		client, proxyClient := tcpPair(t)
		up, err := net.Dial("tcp", echoBackend(t))
		if err != nil {
			t.Fatal(err)
		}
		tn := &tunnel{client: proxyClient, upstream: up, idle: idle, bufs: tunnelPool(4096)}
		done := make(chan error, 1)
		go func() { done <- tn.run(nil, nil) }()
		client.SetDeadline(time.Now().Add(10 * time.Second))
		client.Write([]byte("x"))
		readN(t, client, 1)
		if i == 0 {
			client.Close() // ends it long before its limit
		}
		select {
		case err := <-done:
			if got, want := isTimeout(err), i == 1; got != want {
				t.Errorf("tunnel %d (idle %v) ended with %v; timed out: %v, want %v", i, idle, err, got, want)
			}
		case <-time.After(8 * time.Second):
			t.Fatalf("tunnel %d (idle %v) did not end", i, idle)
		}
		tn.mu.Lock()
		if tn.idleOn {
			t.Errorf("tunnel %d kept its idle limit after its end", i)
		}
		tn.mu.Unlock()
		if tunnelIdle.Remove(tn) {
			t.Errorf("tunnel %d is in the idle heap after its end", i)
		}
	}
}
