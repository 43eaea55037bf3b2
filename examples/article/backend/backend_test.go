package backend

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

func TestEchoBackend(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- Serve(ln, nil) }()
	defer func() {
		ln.Close()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()

	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)

	// Plain HTTP: the body is what was received.
	io.WriteString(c, "POST /socket/x?y HTTP/1.1\r\nHost: h\r\nx-Odd:  1\r\nContent-Length: 2\r\n\r\nhi")
	head, body := readHTTP(t, br)
	if !strings.HasPrefix(head, "HTTP/1.1 200 OK\r\n") {
		t.Errorf("head = %q", head)
	}
	if want := "POST /socket/x?y HTTP/1.1\nHost: h\nx-Odd:  1\nContent-Length: 2\n\nhi"; body != want {
		t.Errorf("body = %q, want %q", body, want)
	}

	// Same connection (keepalive), now a WebSocket: RFC 6455 1.3's key and accept value.
	io.WriteString(c, "GET /socket/chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	head, _ = readHTTP(t, br)
	if !strings.Contains(head, "101 Switching Protocols") || !strings.Contains(head, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n") {
		t.Fatalf("handshake = %q", head)
	}
	big := bytes.Repeat([]byte("x"), 70000)
	for _, payload := range [][]byte{[]byte("hello"), big} {
		masked := []byte{0x82, 0x80 | 127, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}
		n := len(payload)
		for i := 0; i < 8; i++ {
			masked[2+i] = byte(uint64(n) >> (56 - 8*i))
		}
		for i, b := range payload {
			masked = append(masked, b^[]byte{1, 2, 3, 4}[i%4])
		}
		c.Write(masked)
		op, got, err := readFrame(br)
		if err != nil || op != 0x2 || !bytes.Equal(got, payload) {
			t.Fatalf("echo of %d bytes: op %d, %d bytes, err %v", n, op, len(got), err)
		}
	}
}

// readHTTP reads one response with a Content-Length body (or none, for 101).
func readHTTP(t *testing.T, br *bufio.Reader) (string, string) {
	t.Helper()
	var head strings.Builder
	length := 0
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("read head: %v (%q)", err, head.String())
		}
		head.WriteString(line)
		if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
			for _, ch := range strings.TrimSpace(v) {
				length = length*10 + int(ch-'0')
			}
		}
		if line == "\r\n" {
			break
		}
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(br, body); err != nil {
		t.Fatalf("read body: %v", err)
	}
	return head.String(), string(body)
}

func TestClientAgainstBackend(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- Serve(ln, nil) }()
	defer func() {
		ln.Close()
		<-done
	}()
	c, err := Dial("ws://" + ln.Addr().String() + "/socket/chat?x=1")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, msg := range []string{"hello", "안녕", strings.Repeat("z", 300), strings.Repeat("y", 70000)} {
		if err := c.Send(msg); err != nil {
			t.Fatal(err)
		}
		got, err := c.Receive()
		if err != nil {
			t.Fatal(err)
		}
		if got != msg {
			t.Errorf("echo of %d bytes: got %d bytes", len(msg), len(got))
		}
	}
}
