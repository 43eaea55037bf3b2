package http2

import (
	"strconv"
	"testing"
	"time"

	"github.com/gonginx/gonginx/rewrite/http1"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/http2"
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

// bufWatch reads the body in small reads, as a handler that writes it
// to a file, keeping the largest its stream's buffer grew to.
type bufWatch struct{ most chan int }

func (h bufWatch) ServeStream(s *Stream) {
	hc := s.Conn()
	if _, perr := s.Start(); perr != nil || s.Malformed() {
		return
	}
	buf := make([]byte, 4096)
	most, total := 0, 0
	for {
		n, err := hc.Body().Read(buf)
		total += n
		s.c.mu.Lock()
		most = max(most, cap(s.buf))
		s.c.mu.Unlock()
		if err != nil {
			break
		}
	}
	h.most <- most
	hc.WriteHeader(&http1.Response{Status: 200, ContentLength: 0, LastModified: -1,
		Headers: []http1.Header{{Name: []byte("X-Got"), Value: []byte(strconv.Itoa(total))}}})
	hc.Finish()
}

// A DATA frame of megabytes (SETTINGS_MAX_FRAME_SIZE allows 16 MB) is
// taken in pieces as it comes, as nginx reads one: a body read whole is
// held to bodyHoldMax, not a whole frame. It was appended whole.
func TestLargeDataFrameInPieces(t *testing.T) {
	const n = 4 << 20
	for _, pad := range []uint8{0, 200} {
		t.Run(strconv.Itoa(int(pad)), func(t *testing.T) {
			h := bufWatch{most: make(chan int, 1)}
			c := dialRaw(t, serveWith(t, Config{IdleTimeout: time.Minute, PrereadSize: 65536}, h))
			c.headers(1, false, ":method", "POST", ":scheme", "http", ":path", "/", ":authority", "x", "content-length", strconv.Itoa(n))
			c.fr.WriteDataPadded(1, true, make([]byte, n), make([]byte, pad))
			var got string
			for got == "" {
				f, err := c.fr.ReadFrame()
				if err != nil {
					t.Fatal(err)
				}
				switch f := f.(type) {
				case *http2.MetaHeadersFrame:
					got = f.PseudoValue("status")
					for _, hf := range f.RegularFields() {
						if hf.Name == "x-got" {
							got += " " + hf.Value
						}
					}
				case *http2.RSTStreamFrame, *http2.GoAwayFrame:
					t.Fatalf("got %v", f)
				}
			}
			if diff := cmp.Diff("200 "+strconv.Itoa(n), got); diff != "" {
				t.Errorf("status, body read (-want +got):\n%s", diff)
			}
			if most := <-h.most; most > 2*bodyHoldMax { // append's growth past what it holds
				t.Errorf("the stream's buffer grew to %d, past %d", most, 2*bodyHoldMax)
			}
		})
	}
}
