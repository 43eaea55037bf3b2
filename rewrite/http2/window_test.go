package http2

import (
	"strconv"
	"testing"
	"time"

	"github.com/gonginx/gonginx/rewrite/http1"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/http2"
)

// relay reads the body as a proxy with proxy_request_buffering off does
// (RelaysBody, 16k at a time), then answers.
type relay struct{}

func (relay) ServeStream(s *Stream) {
	hc := s.Conn()
	if _, perr := s.Start(); perr != nil || s.Malformed() {
		return
	}
	hc.RelaysBody(16 << 10)
	buf := make([]byte, 16<<10)
	for {
		if _, err := hc.Body().Read(buf); err != nil {
			break
		}
	}
	hc.WriteHeader(&http1.Response{Status: 200, ContentLength: 0, LastModified: -1})
	hc.Finish()
}

// sendBody sends n body bytes on stream 1 as the windows let it (the
// server's SETTINGS read first) and returns the stream's WINDOW_UPDATE
// increments read until the response's HEADERS.
func sendBody(t *testing.T, c *rawClient, n int) []uint32 {
	t.Helper()
	conn, stream := int64(65535), int64(-1)
	var got []uint32
	data := make([]byte, 16384)
	read := func() bool { // false at the response
		f, err := c.fr.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if v, ok := f.Value(http2.SettingInitialWindowSize); ok && !f.IsAck() {
				stream = int64(v)
			}
		case *http2.WindowUpdateFrame:
			if f.StreamID == 0 {
				conn += int64(f.Increment)
			} else {
				stream += int64(f.Increment)
				got = append(got, f.Increment)
			}
		case *http2.MetaHeadersFrame:
			return false
		case *http2.RSTStreamFrame, *http2.GoAwayFrame:
			t.Fatalf("got %v", f)
		}
		return true
	}
	for stream < 0 {
		read()
	}
	for sent := 0; sent < n; {
		k := int(min(conn, stream, int64(len(data)), int64(n-sent)))
		if k <= 0 {
			if !read() {
				t.Fatalf("answered at %d of %d", sent, n)
			}
			continue
		}
		conn, stream, sent = conn-int64(k), stream-int64(k), sent+k
		c.fr.WriteData(1, sent == n, data[:k])
	}
	for read() {
	}
	return got
}

// A body the handler reads whole has its window opened to 2^31-1 when it
// asks for it, once (ngx_http_v2_read_request_body's no_flow_control):
// gonginx opened 256 KB and gave it back a quarter at a time.
func TestBodyReadWholeWindow(t *testing.T) {
	addr := serve(t, Config{IdleTimeout: time.Minute, PrereadSize: 65536})
	c := dialRaw(t, addr)
	c.headers(1, false, ":method", "POST", ":scheme", "http", ":path", "/", ":authority", "x", "content-length", "1000000")
	if diff := cmp.Diff([]uint32{maxWindow - 65536}, sendBody(t, c, 1000000)); diff != "" {
		t.Errorf("stream WINDOW_UPDATEs (-want +got):\n%s", diff)
	}
}

// A body sent with its head still gets the window: nginx's handler asked
// for the body before the DATA was read.
func TestBodyWithHeadWindow(t *testing.T) {
	addr := serve(t, Config{IdleTimeout: time.Minute, PrereadSize: 65536})
	c := dialRaw(t, addr)
	c.headers(1, false, ":method", "POST", ":scheme", "http", ":path", "/", ":authority", "x", "content-length", "10")
	c.fr.WriteData(1, true, make([]byte, 10))
	if diff := cmp.Diff([]uint32{maxWindow - 65536}, sendBody(t, c, 0)); diff != "" {
		t.Errorf("stream WINDOW_UPDATEs (-want +got):\n%s", diff)
	}
}

// A relayed body's window is its buffer's (http2_body_preread_size at
// least), given back as the handler passed all it held on: never more
// than the buffer in all.
func TestBodyRelayedWindow(t *testing.T) {
	addr := serveWith(t, Config{IdleTimeout: time.Minute, PrereadSize: 65536}, relay{})
	c := dialRaw(t, addr)
	const n = 300000
	c.headers(1, false, ":method", "POST", ":scheme", "http", ":path", "/", ":authority", "x", "content-length", strconv.Itoa(n))
	got := sendBody(t, c, n)
	var sum uint32
	for _, inc := range got {
		if inc > 65536 {
			t.Errorf("increment %d past the relay's buffer (65536)", inc)
		}
		sum += inc
	}
	if sum < n-65536 {
		t.Errorf("increments %v: %d in all, want %d at least", got, sum, n-65536)
	}
}
