package http2

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/gonginx/gonginx/rewrite/http1"
	"golang.org/x/net/http2"
)

// A connection error with no stream running ends in nginx's lingering
// close (ngx_http_v2_finalize_connection, then
// ngx_http_v2_lingering_close): GOAWAY, the write side shut, and what
// the client still sends read and dropped, so its bytes in flight do not
// turn the close into a reset that can destroy the GOAWAY.
func TestConnectionErrorLingers(t *testing.T) {
	addr := serve(t, Config{IdleTimeout: time.Minute, Linger: true, LingerTime: 5 * time.Second, LingerTimeout: 2 * time.Second})
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	var out bytes.Buffer
	fr := http2.NewFramer(&out, nil)
	fr.AllowIllegalWrites = true
	out.WriteString(ClientPreface)
	fr.WriteSettings()
	fr.WriteWindowUpdate(0, 0)
	// Frames of an unknown type (ignored) behind the error, more than
	// the server reads at once.
	junk := make([]byte, 16000)
	for i := 0; i < 32; i++ {
		fr.WriteRawFrame(0xfe, 0, 0, junk)
	}
	go nc.Write(out.Bytes())
	rfr := http2.NewFramer(nil, nc)
	var got []string
	for {
		f, err := rfr.ReadFrame()
		if err != nil {
			if errors.Is(err, io.EOF) {
				got = append(got, "EOF")
			} else {
				got = append(got, err.Error())
			}
			break
		}
		if ga, ok := f.(*http2.GoAwayFrame); ok {
			got = append(got, "GOAWAY "+ga.ErrCode.String())
		}
	}
	want := []string{"GOAWAY PROTOCOL_ERROR", "EOF"}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("got %q, want %q", got, want)
	}
}

// A DATA frame of megabytes (the client may send up to the 2^24-1 bytes
// nginx's SETTINGS allow) is no flood: nginx counts a body's bytes as it
// reads them, where gonginx counted the frame's whole length first. The
// handler reads the body whole, so the stream's window is open to 2^31-1
// (ngx_http_v2_read_request_body) and the frame is taken.
func TestLargeDataFrameIsNoFlood(t *testing.T) {
	addr := serve(t, Config{IdleTimeout: time.Minute, PrereadSize: 65536})
	c := dialRaw(t, addr)
	c.headers(1, false, ":method", "POST", ":scheme", "http", ":path", "/", ":authority", "x")
	c.fr.WriteRawFrame(http2.FrameData, http2.FlagDataEndStream, 1, make([]byte, 12<<20))
	if got := c.result(1); got != "status 200" {
		t.Errorf("got %q, want %q", got, "status 200")
	}
}

// answeredHold answers, closes ended, then holds its stream until release
// closes: its request still runs (as a handler writing its access log
// does) with the response's end written.
type answeredHold struct{ ended, release chan struct{} }

func (h answeredHold) ServeStream(s *Stream) {
	hc := s.Conn()
	if _, perr := s.Start(); perr != nil || s.Malformed() {
		return
	}
	hc.WriteHeader(&http1.Response{Status: 200, ContentLength: 2, LastModified: -1})
	hc.Write([]byte("ok"))
	hc.Finish()
	close(h.ended)
	<-h.release
}

// Frames for a stream whose response has ended are skipped: nginx closed
// the stream with its request, before the client saw the end, so DATA
// after END_STREAM, a window overflow and a reset of it are "unknown
// http2 stream" there (gonginx answered the first two with RST_STREAM).
func TestFramesAfterResponseEnd(t *testing.T) {
	h := answeredHold{make(chan struct{}), make(chan struct{})}
	defer close(h.release)
	addr := serveWith(t, Config{IdleTimeout: time.Minute}, h)
	c := dialRaw(t, addr)
	c.headers(1, true, ":method", "GET", ":scheme", "http", ":path", "/", ":authority", "x")
	<-h.ended
	// The end waits in the write buffer for the handler's return; the
	// PING's answer takes it out (as another stream's write would).
	c.fr.WritePing(false, [8]byte{})
	var got []string
	for done := false; !done; {
		f, err := c.fr.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		if d, ok := f.(*http2.DataFrame); ok && d.StreamEnded() {
			done = true
		}
	}
	c.fr.AllowIllegalWrites = true
	c.fr.WriteData(1, true, []byte("x"))
	c.fr.WriteWindowUpdate(1, 1<<31-1)
	c.fr.WriteWindowUpdate(1, 1<<31-1)
	c.fr.WriteRSTStream(1, http2.ErrCodeCancel)
	c.fr.WritePing(false, [8]byte{1})
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		switch f := f.(type) {
		case *http2.RSTStreamFrame:
			got = append(got, "RST_STREAM "+f.ErrCode.String())
		case *http2.GoAwayFrame:
			got = append(got, "GOAWAY "+f.ErrCode.String())
		case *http2.PingFrame:
			if f.Data != [8]byte{1} {
				continue // the first PING's answer
			}
			if len(got) > 0 {
				t.Errorf("before the PING's answer: %q, want nothing", got)
			}
			return
		}
	}
}
