package server

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/gonginx/gonginx/upstream"
)

// TestClosedAtOnceLeavesNoWatch: a connection that proxied and then
// ends with a response nginx sends nothing for (499: the client hung up
// while the backend was awaited; 444) leaves no abort-watch record
// behind. Those close the client's socket at once, before the exchange
// is released, and the release looked the watch up by the socket's
// descriptor, which a closing socket no longer has: each such
// connection's record (with its socket) stayed in the watcher for good.
func TestClosedAtOnceLeavesNoWatch(t *testing.T) {
	bl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer bl.Close()
	stalled := make(chan struct{}, 4)
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
						stalled <- struct{}{}
						io.Copy(io.Discard, br) // until the proxy closes it
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
		server { listen 127.0.0.1:PORT;
			location / { proxy_pass http://b; proxy_http_version 1.1; proxy_set_header Connection ""; }
			location = /444 { return 444; } }`)
	before := upstream.WatchedClients()
	hangUp := func(k *kaClient) {
		t.Helper()
		io.WriteString(k.c, "GET /stall HTTP/1.1\r\nHost: t\r\n\r\n")
		<-stalled
		k.c.Close()
	}
	// A first request's client hangs up (499).
	hangUp(dialKA(t, ts.addr))
	// A kept connection's second request's (499).
	k := dialKA(t, ts.addr)
	if got := k.get(t, "/"); got != "ok" {
		t.Fatalf("proxied: %q", got)
	}
	hangUp(k)
	// A kept connection whose proxied requests come at once (it keeps
	// its record between them, not parking), then answered 444.
	k = dialKA(t, ts.addr)
	for range 2 {
		if got := k.get(t, "/"); got != "ok" {
			t.Fatalf("proxied: %q", got)
		}
	}
	io.WriteString(k.c, "GET /444 HTTP/1.1\r\nHost: t\r\n\r\n")
	if _, err := k.br.ReadByte(); err != io.EOF {
		t.Fatalf("444: %v, want the connection closed", err)
	}
	if !waitFor(func() bool { return ts.srv.idleState().Parked == 0 && upstream.WatchedClients() == before }) {
		t.Errorf("%d watch records left by three connections ended, want %d", upstream.WatchedClients(), before)
	}
}
