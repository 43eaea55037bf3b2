package http2

import (
	"net"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/http2"

	"github.com/gonginx/gonginx/rewrite/http1"
)

// resetLogger is a handler whose stream has its reset logged as it is
// read (LogResetWith), as a proxy not watching its client does; it
// reports the line logged, then what TakeReset still gives.
type resetLogger struct {
	ready chan struct{}
	lines chan [2]string
}

func (h resetLogger) ServeStream(s *Stream) {
	logged := make(chan string, 1)
	s.LogResetWith(func(line string) { logged <- line })
	close(h.ready)
	var line string
	select {
	case line = <-logged:
	case <-time.After(5 * time.Second):
	}
	s.LogResetWith(nil)
	h.lines <- [2]string{line, s.TakeReset()}
}

// The client's RST_STREAM is logged as the frame is read, once: nginx's
// ngx_http_v2_state_rst_stream logs it there whatever the request does.
func TestLogResetWith(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	h := resetLogger{ready: make(chan struct{}), lines: make(chan [2]string, 1)}
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		NewConn(nc, NewConfig(Config{IdleTimeout: time.Minute}), &http1.ConnInfo{HTTP2: http1.H2C}, h, nil).Serve()
	}()
	c := dialRaw(t, ln.Addr().String())
	c.fr.WriteSettingsAck()
	c.headers(1, true, ":method", "GET", ":scheme", "http", ":path", "/", ":authority", "x")
	<-h.ready
	c.fr.WriteRSTStream(1, http2.ErrCodeCancel)
	if diff := cmp.Diff([2]string{"client canceled stream 1", ""}, <-h.lines); diff != "" {
		t.Errorf("reset lines (-want +got):\n%s", diff)
	}
}
