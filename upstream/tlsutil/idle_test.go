package tlsutil

import (
	"crypto/tls"
	"io"
	"net"
	"testing"
)

// tlsPair is a handshaken client and server over loopback TCP.
func tlsPair(t *testing.T) (client, server *tls.Conn) {
	t.Helper()
	cert, err := tls.LoadX509KeyPair("../../examples/article/cert.pem", "../../examples/article/key.pem")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan *tls.Conn, 1)
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			done <- nil
			return
		}
		s := tls.Server(nc, &tls.Config{Certificates: []tls.Certificate{cert}, MaxVersion: tls.VersionTLS12})
		if s.Handshake() != nil {
			s.Close()
			s = nil
		}
		done <- s
	}()
	client, err = tls.Dial("tcp", ln.Addr().String(), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	if server = <-done; server == nil {
		t.Fatal("server handshake failed")
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

func readN(t *testing.T, c *tls.Conn, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestReleaseBuffers(t *testing.T) {
	client, server := tlsPair(t)
	io.WriteString(client, "GET / HTTP/1.1\r\n\r\n")
	if got := readN(t, server, 18); got != "GET / HTTP/1.1\r\n\r\n" {
		t.Fatalf("read %q", got)
	}
	raw, hand := BufferCaps(server)
	if raw <= 0 || hand <= 0 {
		t.Fatalf("before: rawInput cap %d, hand cap %d: want both grown", raw, hand)
	}
	if !ReleaseBuffers(server) {
		t.Fatal("ReleaseBuffers: fields not found")
	}
	if raw, hand := BufferCaps(server); raw != 0 || hand != 0 {
		t.Errorf("after: rawInput cap %d, hand cap %d: want 0", raw, hand)
	}
	// The connection reads and writes on as before.
	io.WriteString(client, "next")
	if got := readN(t, server, 4); got != "next" {
		t.Errorf("read after release %q", got)
	}
	io.WriteString(server, "answer")
	if got := readN(t, client, 6); got != "answer" {
		t.Errorf("client read %q", got)
	}
}

// A record read in part keeps its buffer: its rest is read after.
func TestReleaseBuffersKeepsUnread(t *testing.T) {
	client, server := tlsPair(t)
	io.WriteString(client, "hello")
	io.WriteString(client, "world")
	if got := readN(t, server, 2); got != "he" {
		t.Fatalf("read %q", got)
	}
	ReleaseBuffers(server)
	if raw, _ := BufferCaps(server); raw == 0 {
		t.Error("a buffer with unread bytes was released")
	}
	if got := readN(t, server, 8); got != "lloworld" {
		t.Errorf("read %q after release, want %q", got, "lloworld")
	}
}

// A connection being read is left alone.
func TestReleaseBuffersWhileReading(t *testing.T) {
	client, server := tlsPair(t)
	got := make(chan string)
	go func() {
		b := make([]byte, 3)
		n, _ := server.Read(b)
		got <- string(b[:n])
	}()
	// The reader holds the input's lock while it waits: ReleaseBuffers
	// may not take it (false) or may run before the reader did.
	ReleaseBuffers(server)
	io.WriteString(client, "abc")
	if s := <-got; s != "abc" {
		t.Errorf("read %q", s)
	}
}
