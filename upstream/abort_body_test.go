package upstream

import (
	"bytes"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// stallingBackend answers each connection's request (whatever its
// protocol) at once with part of a response, then sends nothing until
// told (rest), and reports how the proxy ended the connection.
type stallingBackend struct {
	ln     net.Listener
	first  []byte
	rest   chan []byte
	closed chan error
}

func newStallingBackend(t *testing.T, first string) *stallingBackend {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &stallingBackend{ln: ln, first: []byte(first), rest: make(chan []byte, 1), closed: make(chan error, 4)}
	t.Cleanup(func() { ln.Close() })
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

func (b *stallingBackend) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second)) // failsafe only
	buf := make([]byte, 4096)
	if _, err := c.Read(buf); err != nil { // the request (its first bytes suffice)
		b.closed <- err
		return
	}
	c.Write(b.first)
	go func() {
		if rest, ok := <-b.rest; ok {
			c.Write(rest)
		}
	}()
	for { // the rest of the request, then the proxy's close
		if _, err := c.Read(buf); err != nil {
			b.closed <- err
			return
		}
	}
}

// TestClientAbortWhileBody: a client that hangs up while the body is
// relayed and the backend sends nothing more makes the proxy close the
// backend at once and end with 499, whatever the backend's protocol and
// buffering, as nginx's read event handler stays
// ngx_http_upstream_check_broken_connection until the request ends; its
// info line says what the relay was doing. proxy_ignore_client_abort
// on relays the rest to a client that only half-closed.
func TestClientAbortWhileBody(t *testing.T) {
	const httpHead = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"
	const cgiHead = "Status: 200 OK\r\nContent-Length: 100\r\n\r\n"
	const part = "0123456789"
	// A buffered proxy passes on only whole buffers (heldBody): its body
	// is longer than the first one, of which the client gets all.
	const longHead = "HTTP/1.1 200 OK\r\nContent-Length: 5090\r\n\r\n"
	long := strings.Repeat(part, 500)
	firstBuf := long[:os.Getpagesize()-len(longHead)]
	const longCGIHead = "Status: 200 OK\r\nContent-Length: 5090\r\n\r\n"
	gone := func(action string) []string {
		return []string{"[info] epoll_wait() reported that client prematurely closed connection, " +
			"so upstream connection is closed too while " + action + ", upstream: "}
	}
	for _, tc := range []struct {
		name, location, first string
		passed                string // of first's body, what reaches the client; "": all
		ignore                bool
		wantLog               []string
	}{
		{name: "proxy", location: "proxy_pass http://%s;", first: longHead + long, passed: firstBuf, wantLog: gone("reading upstream")},
		{name: "proxy unbuffered", location: "proxy_buffering off; proxy_pass http://%s;", first: httpHead + part,
			wantLog: gone("sending to client")},
		{name: "proxy unbuffered, no body with the head", location: "proxy_buffering off; proxy_pass http://%s;",
			first: httpHead, wantLog: gone("reading upstream")},
		{name: "fastcgi", location: "fastcgi_pass %s;", first: string(stdoutRecord(longCGIHead + long)),
			passed: long[:os.Getpagesize()-8-len(longCGIHead)], wantLog: gone("reading upstream")},
		{name: "scgi", location: "scgi_pass %s;", first: longCGIHead + long,
			passed: long[:os.Getpagesize()-len(longCGIHead)], wantLog: gone("reading upstream")},
		{name: "uwsgi", location: "uwsgi_pass %s;", first: longCGIHead + long,
			passed: long[:os.Getpagesize()-len(longCGIHead)], wantLog: gone("reading upstream")},
		{name: "ignore client abort", location: "proxy_ignore_client_abort on; proxy_pass http://%s;",
			first: longHead + long, passed: firstBuf, ignore: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newStallingBackend(t, tc.first)
			ps := newProxyServer(t, "", strings.Replace(tc.location, "%s", b.ln.Addr().String(), 1), "/")
			ps.served = make(chan int, 4)
			lines := &logLines{}
			ps.log = lines
			c, err := net.Dial("tcp", ps.ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second)) // failsafe only
			c.Write([]byte("GET /x HTTP/1.1\r\nHost: h\r\n\r\n"))
			// The head (and the part of the body sent) reach the client:
			// the relay waits on the backend.
			var got []byte
			buf := make([]byte, 4096)
			wantPart := "\r\n\r\n"
			if tc.passed != "" {
				wantPart += tc.passed
			} else if !strings.HasSuffix(tc.first, "\r\n\r\n") {
				wantPart += part
			}
			for !bytes.HasSuffix(got, []byte(wantPart)) {
				n, err := c.Read(buf)
				if err != nil {
					t.Fatalf("response so far %q: %v", got, err)
				}
				got = append(got, buf[:n]...)
			}
			if tc.ignore {
				c.(*net.TCPConn).CloseWrite()
				b.rest <- []byte(strings.Repeat("x", 90))
				for !bytes.HasSuffix(got, []byte(strings.Repeat("x", 90))) {
					n, err := c.Read(buf)
					if err != nil {
						t.Fatalf("response so far %q: %v", got, err)
					}
					got = append(got, buf[:n]...)
				}
				if diff := cmp.Diff(0, waitFor(t, ps.served, "Serve status")); diff != "" {
					t.Errorf("status (-want +got):\n%s", diff)
				}
				return
			}
			c.Close()
			if err := waitFor(t, b.closed, "backend close"); !isEOF(err) {
				t.Errorf("backend read %v, want EOF (the proxy's close)", err)
			}
			if diff := cmp.Diff(499, waitFor(t, ps.served, "Serve status")); diff != "" {
				t.Errorf("status (-want +got):\n%s", diff)
			}
			var log []string
			for _, l := range lines.lines() {
				log = append(log, l[:strings.Index(l, "upstream: ")+len("upstream: ")])
			}
			if diff := cmp.Diff(tc.wantLog, log); diff != "" {
				t.Errorf("log (-want +got):\n%s", diff)
			}
		})
	}
}

// stdoutRecord frames data as one FCGI_STDOUT record of request 1.
func stdoutRecord(data string) []byte {
	pad := (8 - len(data)%8) % 8
	b := []byte{1, 6, 0, 1, byte(len(data) >> 8), byte(len(data)), byte(pad), 0}
	b = append(b, data...)
	return append(b, make([]byte, pad)...)
}

func isEOF(err error) bool { return err == io.EOF }
