package upstream

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// holdingBackend accepts one connection, reads request heads and answers
// each only when told to (answer); closed gets the read error once the
// proxy closed the connection.
type holdingBackend struct {
	ln     net.Listener
	answer chan string
	heads  chan struct{}
	closed chan error
}

func newHoldingBackend(t *testing.T) *holdingBackend {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &holdingBackend{ln: ln, answer: make(chan string), heads: make(chan struct{}, 4), closed: make(chan error, 4)}
	t.Cleanup(func() { ln.Close(); close(b.answer) })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go b.serve(c)
		}
	}()
	return b
}

// serve reads one request, answers it when told, and reports how the
// proxy ended the connection.
func (b *holdingBackend) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil {
		b.closed <- err
		return
	}
	req.Body.Close()
	b.heads <- struct{}{}
	go func() {
		select {
		case resp, ok := <-b.answer:
			if ok {
				c.Write([]byte(resp))
			}
		case <-time.After(10 * time.Second): // failsafe only
		}
	}()
	_, err = br.ReadByte()
	b.closed <- err
}

func waitFor[T any](t *testing.T, ch chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second): // failsafe only
		t.Fatalf("no %s", what)
		var zero T
		return zero
	}
}

const heldResponse = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

// TestClientAbort: a client that hangs up (close or shutdown of its write
// side) while the backend holds the answer makes the proxy close the
// backend connection at once and end with 499, as nginx's
// ngx_http_upstream_check_broken_connection; proxy_ignore_client_abort on
// waits for the answer.
func TestClientAbort(t *testing.T) {
	for _, tc := range []struct {
		name      string
		ignore    bool
		halfClose bool
		pipelined bool // a second request before the half-close
	}{
		{name: "close"},
		{name: "shutdown write", halfClose: true},
		// nginx 1.22 on Linux sees EPOLLRDHUP and aborts all the same.
		{name: "pipelined then shutdown write", halfClose: true, pipelined: true},
		{name: "ignore client abort", ignore: true, halfClose: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newHoldingBackend(t)
			loc := "proxy_pass http://" + b.ln.Addr().String() + ";"
			if tc.ignore {
				loc = "proxy_ignore_client_abort on; " + loc
			}
			ps := newProxyServer(t, "", loc, "/")
			ps.served = make(chan int, 4)
			c, err := net.Dial("tcp", ps.ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.Write([]byte("GET /x HTTP/1.1\r\nHost: h\r\n\r\n"))
			waitFor(t, b.heads, "request at the backend")
			if tc.pipelined {
				c.Write([]byte("GET /y HTTP/1.1\r\nHost: h\r\n\r\n"))
			}
			if tc.halfClose {
				c.(*net.TCPConn).CloseWrite()
			} else {
				c.Close()
			}
			if tc.ignore {
				b.answer <- heldResponse
				if diff := cmp.Diff(0, waitFor(t, ps.served, "Serve status")); diff != "" {
					t.Errorf("status (-want +got):\n%s", diff)
				}
				c.SetReadDeadline(time.Now().Add(10 * time.Second))
				got, _ := io.ReadAll(c)
				if !strings.HasSuffix(string(got), "\r\n\r\nok") {
					t.Errorf("response %q, want the backend's", got)
				}
				return
			}
			if diff := cmp.Diff(io.EOF, waitFor(t, b.closed, "backend close"), cmp.Comparer(func(a, b error) bool { return a == b })); diff != "" {
				t.Errorf("backend read (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(499, waitFor(t, ps.served, "Serve status")); diff != "" {
				t.Errorf("status (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPipelinedIsNoAbort: bytes from the client while the backend is
// awaited (a pipelined request) are not a hang-up.
func TestPipelinedIsNoAbort(t *testing.T) {
	b := newHoldingBackend(t)
	ps := newProxyServer(t, "", "proxy_http_version 1.1; proxy_pass http://"+b.ln.Addr().String()+";", "/")
	c, err := net.Dial("tcp", ps.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("GET /a HTTP/1.1\r\nHost: h\r\n\r\n"))
	waitFor(t, b.heads, "first request at the backend")
	c.Write([]byte("GET /b HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"))
	b.answer <- heldResponse
	waitFor(t, b.heads, "second request at the backend")
	b.answer <- heldResponse
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, _ := io.ReadAll(c)
	if diff := cmp.Diff(2, strings.Count(string(got), "HTTP/1.1 200 OK")); diff != "" {
		t.Errorf("responses (-want +got):\n%s\n%q", diff, got)
	}
}

// SettleAborts tells a request that a gone client's request is still
// ending (its hang-up handled by the caller if the watcher had not yet),
// and nothing once that request stopped watching.
func TestSettleAborts(t *testing.T) {
	pair := func() (net.Conn, net.Conn) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close(); s.Close() })
		return c, s
	}
	client, server := pair()
	backendNear, backendFar := pair()
	raw, err := server.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	if SettleAborts() {
		t.Fatal("an abort pending before any watch")
	}
	w := watchClient(raw, server, backendNear, false)
	if w == nil {
		t.Fatal("no watch")
	}
	client.Close()
	ending := false
	for i := 0; i < 200 && !ending; i++ { // until the FIN has arrived
		ending = SettleAborts()
		if !ending {
			time.Sleep(5 * time.Millisecond)
		}
	}
	// The backend connection was closed: its far end reads EOF.
	backendFar.SetReadDeadline(time.Now().Add(10 * time.Second)) // failsafe only
	_, rerr := backendFar.Read(make([]byte, 1))
	aborted := w.stop()
	got := []any{ending, rerr == io.EOF, aborted, SettleAborts()}
	if diff := cmp.Diff([]any{true, true, true, false}, got); diff != "" {
		t.Errorf("ending, backend closed, aborted, ending after stop (-want +got):\n%s", diff)
	}
}
