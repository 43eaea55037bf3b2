package http2

import (
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"github.com/gonginx/gonginx/rewrite/http1"
	"golang.org/x/net/http2"
)

// flood writes a response far larger than the socket's buffers and
// reports how its writing ended.
type flood struct{ done chan error }

func (f flood) ServeStream(s *Stream) {
	hc := s.Conn()
	if _, perr := s.Start(); perr != nil || s.Malformed() {
		return
	}
	hc.WriteTimeout = 200 * time.Millisecond // the request's send_timeout
	hc.WriteHeader(&http1.Response{Status: 200, ContentLength: -1, LastModified: -1})
	chunk := make([]byte, 64<<10)
	var err error
	for i := 0; i < 4096 && err == nil; i++ {
		_, err = hc.Write(chunk)
	}
	f.done <- err
}

// A client that opens its windows and reads nothing is cut by the
// request's send_timeout once the socket takes no more: a write that
// waits arms the deadline (it is no longer set for every flush). The
// connection ends then, as nginx finalizes one whose send timed out, and
// the request sees no timeout of its own (nginx logs none): it was kept
// until keepalive_timeout, the request logging "client timed out".
func TestSendTimeoutEndsConnection(t *testing.T) {
	h := flood{done: make(chan error, 1)}
	c := dialRaw(t, serveWith(t, Config{IdleTimeout: time.Minute}, h))
	c.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: maxWindow})
	c.fr.WriteWindowUpdate(0, maxWindow-defaultWindow)
	c.headers(1, true, ":method", "GET", ":scheme", "http", ":path", "/", ":authority", "x")
	select {
	case err := <-h.done:
		if err == nil {
			t.Fatal("256 MB written to a client that reads nothing")
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("the request's write failed with %v: a timeout it would log", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the response's writer still waits")
	}
	// What the socket holds, then the connection's end (the client's
	// deadline, 10 s, is far inside keepalive_timeout).
	if _, err := io.Copy(io.Discard, c.nc); err != nil {
		t.Errorf("reading to the connection's end: %v", err)
	}
}
