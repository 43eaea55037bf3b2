package http1

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// tcpPair is a loopback connection: the client end and the server end.
func tcpPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// TestIdleDetachNoWait: between requests an idle Conn holds no buffer,
// goes to the pool and back with its connection's counters, and a
// NoWait read answers ErrWouldBlock until a request arrives; IdleGrace
// ends a keepalive wait early with ErrWouldBlock.
func TestIdleDetachNoWait(t *testing.T) {
	client, server := tcpPair(t)
	info := &ConnInfo{}
	c := NewConn(server, info)
	answer := func(c *Conn) {
		t.Helper()
		if err := c.WriteHeader(&Response{Status: 204, ContentLength: -1, LastModified: -1}); err != nil {
			t.Fatal(err)
		}
		if err := c.Finish(); err != nil {
			t.Fatal(err)
		}
	}
	io.WriteString(client, "GET /1 HTTP/1.1\r\nHost: t\r\n\r\n")
	if _, err := c.ReadRequest(); err != nil {
		t.Fatal(err)
	}
	answer(c)
	// keepalive: the grace ends the wait, not the keepalive_timeout.
	c.IdleTimeout, c.IdleGrace = time.Hour, 10*time.Millisecond
	if _, err := c.ReadRequest(); !errors.Is(err, ErrWouldBlock) {
		t.Fatalf("after the grace: %v", err)
	}
	if !c.Idle() || c.HeldBuffers() != 0 {
		t.Fatalf("Idle: buffers %d", c.HeldBuffers())
	}
	var k Kept
	c.Detach(&k)
	c = Attach(&k, server, info)
	c.NoWait = true
	if _, err := c.ReadRequest(); !errors.Is(err, ErrWouldBlock) {
		t.Fatalf("NoWait with nothing sent: %v", err)
	}
	io.WriteString(client, "GET /2 HTTP/1.1\r\nHost: t\r\n\r\nGET /3 HTTP/1.1\r\nHost: t\r\n\r\n")
	var got []string
	for i := 0; i < 2; i++ {
		var r *Request
		var err error
		for j := 0; j < 1000; j++ { // bounded: the bytes are on their way
			if r, err = c.ReadRequest(); !errors.Is(err, ErrWouldBlock) {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(r.URI))
		answer(c)
		if i == 0 && c.Idle() {
			t.Fatal("Idle with a pipelined request buffered")
		}
	}
	if diff := cmp.Diff([]string{"/2", "/3"}, got); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	if c.Requests != 3 {
		t.Errorf("Requests = %d, want 3 (kept across Detach)", c.Requests)
	}
	client.(*net.TCPConn).CloseWrite()
	for j := 0; j < 1000; j++ {
		if _, err := c.ReadRequest(); !errors.Is(err, ErrWouldBlock) {
			if err != io.EOF {
				t.Fatalf("after the client closed: %v", err)
			}
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("the client's close not seen")
}

// TestFreedConnKeepsBuffersAndSock: a freed Conn keeps its small read
// buffer, its write buffer and its Sock (cleared: no socket) for the
// next connection that takes it from the pool, which reads its own
// socket through that Sock, not the last connection's.
func TestFreedConnKeepsBuffersAndSock(t *testing.T) {
	client1, server1 := tcpPair(t)
	info := &ConnInfo{}
	c := NewConn(server1, info)
	io.WriteString(client1, "GET /1 HTTP/1.1\r\nHost: t\r\n\r\n")
	if _, err := c.ReadRequest(); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteHeader(&Response{Status: 204, ContentLength: -1, LastModified: -1}); err != nil {
		t.Fatal(err)
	}
	if err := c.Finish(); err != nil {
		t.Fatal(err)
	}
	sock, rb, wb := c.sock, c.rb, c.wb
	if sock == nil || rb == nil || wb == nil {
		t.Fatalf("served without a Sock or buffers: %p %p %p", sock, rb, wb)
	}
	c.Free()
	// Taken back as NewConn takes one (the last Put is the first Get),
	// so that nothing else gets it while this test uses it as the next
	// connection's.
	for i := 0; i < 8 && connPool.Get() != c; i++ {
	}
	if c.spareSock != sock || c.spareRead != rb || c.spareWrite != wb {
		t.Fatalf("spares %p %p %p, want the Sock and buffers %p %p %p", c.spareSock, c.spareRead, c.spareWrite, sock, rb, wb)
	}
	if sock.rc != nil {
		t.Fatal("the kept Sock still holds the last connection's socket")
	}
	client2, server2 := tcpPair(t)
	c.nc, c.Info, c.Limits = server2, info, DefaultLimits
	io.WriteString(client1, "GET /old HTTP/1.1\r\nHost: t\r\n\r\n")
	io.WriteString(client2, "GET /2 HTTP/1.1\r\nHost: t\r\n\r\n")
	r, err := c.ReadRequest()
	if err != nil {
		t.Fatal(err)
	}
	if string(r.URI) != "/2" {
		t.Fatalf("read %q, want the new connection's /2", r.URI)
	}
	if c.sock != sock || c.rb != rb || c.spareSock != nil || c.spareRead != nil {
		t.Error("the next connection did not take the kept Sock and read buffer")
	}
}

// BenchmarkConnNewFree: a Conn from the pool and back, as each
// connection (and each WebSocket connect) takes one.
func BenchmarkConnNewFree(b *testing.B) {
	fc := &fakeConn{}
	info := &ConnInfo{}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		NewConn(fc, info).Free()
	}
}
