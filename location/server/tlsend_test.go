package server

import (
	"bufio"
	"crypto/tls"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/gonginx/gonginx/location"
)

// TestTLSEndGivesSockBack: an HTTP/1 TLS connection's socket I/O (its
// http1.Sock) goes back to the pool when the connection ends, as when
// it parks, whether the client closed it after a request or right after
// the handshake (the bench's handshake rows): each held one was
// garbage, 6 objects per connection.
func TestTLSEndGivesSockBack(t *testing.T) {
	ended := make(chan bool, 4)
	tlsEnded = func(tc *tls.Conn) { ended <- location.TLSSockHeld(tc) }
	t.Cleanup(func() { tlsEnded = nil })
	ts := startTest(t, `server { `+h2Listen(t, true)+` location / { return 200 "ok"; } }`)
	for _, mode := range []string{"request", "handshake only"} {
		c, err := tls.Dial("tcp", ts.addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if mode == "request" {
			io.WriteString(c, "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
		c.Close()
		select {
		case held := <-ended:
			if held {
				t.Errorf("%s: the ended connection still holds its Sock", mode)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: the connection did not end", mode)
		}
	}
}
