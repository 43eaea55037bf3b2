package http2

import (
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/gonginx/gonginx/rewrite/http1"
	"golang.org/x/net/http2"
)

// cutter writes more than the client's window lets go and, once the
// write waits for the window, has another goroutine cut the response,
// as a proxied response's temporary file failing does.
type cutter struct{ done chan error }

func (h cutter) ServeStream(s *Stream) {
	hc := s.Conn()
	if _, perr := s.Start(); perr != nil || s.Malformed() {
		return
	}
	hc.WriteTimeout = time.Minute // the request's send_timeout
	hc.WriteHeader(&http1.Response{Status: 200, ContentLength: -1, LastModified: -1})
	go func() {
		awaitSendWait(s)
		s.CutSend()
	}()
	chunk := make([]byte, 64<<10)
	var err error
	for i := 0; i < 16 && err == nil; i++ {
		_, err = hc.Write(chunk)
		if err == nil {
			err = hc.FlushOut()
		}
	}
	h.done <- err
}

// awaitSendWait returns once s's writer waits for the client's window.
func awaitSendWait(s *Stream) {
	for {
		s.c.mu.Lock()
		waits := s.waiting&waitSend != 0
		s.c.mu.Unlock()
		if waits {
			return
		}
		runtime.Gosched()
	}
}

// A response cut while its writer waits for the client's window: the
// write returns at once, not at send_timeout (a write deadline set then
// woke no one), and fails as a cut, not as a timeout; the stream is
// reset with INTERNAL_ERROR behind the window's DATA, as nginx resets a
// stream whose request ended with NGX_ERROR.
func TestCutSendWakesWriter(t *testing.T) {
	h := cutter{done: make(chan error, 1)}
	c := dialRaw(t, serveWith(t, Config{IdleTimeout: time.Minute}, h))
	c.headers(1, true, ":method", "GET", ":scheme", "http", ":path", "/", ":authority", "x")
	data, end := 0, ""
	for end == "" {
		f, err := c.fr.ReadFrame()
		if err != nil {
			end = "error " + err.Error()
			break
		}
		switch f := f.(type) {
		case *http2.DataFrame:
			data += len(f.Data())
		case *http2.RSTStreamFrame:
			end = "reset " + f.ErrCode.String()
		case *http2.GoAwayFrame:
			end = "goaway " + f.ErrCode.String()
		}
	}
	if got, want := fmt.Sprintf("%d bytes, %s", data, end), "65535 bytes, reset INTERNAL_ERROR"; got != want {
		t.Errorf("client saw %s, want %s", got, want)
	}
	if err := <-h.done; !errors.Is(err, errSendCut) {
		t.Errorf("the cut write returned %v, want %v", err, errSendCut)
	}
}
