package http2

import (
	"runtime"
	"testing"
	"time"

	"github.com/gonginx/gonginx/rewrite/http1"
	"golang.org/x/net/http2"
)

// ender ends its response with End, the stream's window shut, and
// reports what End returned.
type ender struct {
	waiting chan *Stream
	done    chan error
}

func (h ender) ServeStream(s *Stream) {
	hc := s.Conn()
	if _, perr := s.Start(); perr != nil || s.Malformed() {
		return
	}
	hc.WriteTimeout = time.Minute
	hc.WriteHeader(&http1.Response{Status: 200, ContentLength: -1, LastModified: -1})
	h.waiting <- s
	_, err := s.End(make([]byte, 100), nil)
	h.done <- err
}

// A response whose end went out (here from the connection's reader, on
// the client's WINDOW_UPDATE) has ended well even when the client then
// closes before End looked: nginx finalizes the request once its last
// frame is queued. End returned "client closed the connection", which
// the proxy logged as an error for a response the client had whole.
func TestEndSentThenClientCloses(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1)) // the reader runs on to the close before End wakes
	h := ender{waiting: make(chan *Stream, 1), done: make(chan error, 1)}
	c := dialRaw(t, serveWith(t, Config{IdleTimeout: time.Minute}, h))
	c.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0})
	c.headers(1, true, ":method", "GET", ":scheme", "http", ":path", "/", ":authority", "x")
	s := <-h.waiting
	awaitSendWait(s)
	c.fr.WriteWindowUpdate(1, 100)
	c.nc.Close()
	if err := <-h.done; err != nil {
		t.Errorf("End after its end was sent returned %v, want nil", err)
	}
}
