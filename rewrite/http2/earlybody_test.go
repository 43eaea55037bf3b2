package http2

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// slowFirst holds stream 1's handler until release is closed, having
// announced no wait (as a handler busy before it reads its body), then
// serves as echo, as other streams'.
type slowFirst struct{ release chan struct{} }

func (h slowFirst) ServeStream(s *Stream) {
	if s.ID() == 1 {
		<-h.release
	}
	echo{}.ServeStream(s)
}

// A stream's DATA that comes before its handler asks for the body does
// not hold the connection's other streams up: it waits in the stream
// (nginx's preread buffer) while the reader goes on. The reader waited
// for the handler, so a GET on the same connection waited with it.
func TestEarlyBodyDoesNotStallOthers(t *testing.T) {
	old := bodyWantedWait
	bodyWantedWait = time.Hour // past the client's deadline: a reader that waits fails the test
	t.Cleanup(func() { bodyWantedWait = old })
	h := slowFirst{release: make(chan struct{})}
	released := false
	release := func() {
		if !released {
			released = true
			close(h.release)
		}
	}
	addr := serveWith(t, Config{IdleTimeout: time.Minute, PrereadSize: 65536}, h)
	t.Cleanup(release) // before the server's end, which waits for the handler
	c := dialRaw(t, addr)
	c.headers(1, false, ":method", "POST", ":scheme", "http", ":path", "/slow", ":authority", "x", "content-length", "10")
	c.fr.WriteData(1, true, []byte("0123456789"))
	c.headers(3, true, ":method", "GET", ":scheme", "http", ":path", "/fast", ":authority", "x")
	if diff := cmp.Diff("status 200", c.result(3)); diff != "" {
		t.Fatalf("stream 3 while stream 1's handler works (-want +got):\n%s", diff)
	}
	release()
	if diff := cmp.Diff("status 200", c.result(1)); diff != "" {
		t.Fatalf("stream 1 (-want +got):\n%s", diff)
	}
}
