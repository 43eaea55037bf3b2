package http2

import (
	"bytes"
	"crypto/tls"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/http2"
)

// bodyResult reads frames until stream id ends and says how: its status
// and the body's length, or what else ended it.
func (c *rawClient) bodyResult(id uint32) string {
	status, n := "", 0
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			return "error " + err.Error()
		}
		switch f := f.(type) {
		case *http2.MetaHeadersFrame:
			if f.StreamID == id {
				status = f.PseudoValue("status")
				if f.StreamEnded() {
					return "status " + status + " body 0"
				}
			}
		case *http2.DataFrame:
			if f.StreamID == id {
				n += len(f.Data())
				if f.StreamEnded() {
					return "status " + status + " body " + strconv.Itoa(n)
				}
			}
		case *http2.RSTStreamFrame:
			if f.StreamID == id {
				return "reset " + f.ErrCode.String()
			}
		case *http2.GoAwayFrame:
			return "goaway " + f.ErrCode.String()
		}
	}
}

// The idle deadline a stream's start leaves armed (onHeaders) passes
// while the stream's body comes slowly: between its frames, in the middle
// of one, in the middle of one larger than the read buffer. The stream is
// served whole (nginx has no read timer while streams run), and once it
// ends keepalive_timeout runs again: the idle connection gets its GOAWAY.
func TestIdleDeadlinePassesWhileStreamRuns(t *testing.T) {
	for _, mode := range []string{"h2c", "h2"} {
		t.Run(mode, func(t *testing.T) { testIdleDeadlinePassesWhileStreamRuns(t, mode == "h2") })
	}
}

func testIdleDeadlinePassesWhileStreamRuns(t *testing.T, withTLS bool) {
	const idle = 50 * time.Millisecond
	var tc *tls.Config
	if withTLS {
		cert, err := tls.LoadX509KeyPair("../../examples/article/cert.pem", "../../examples/article/key.pem")
		if err != nil {
			t.Fatal(err)
		}
		tc = &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2"}}
	}
	tests := []struct {
		name string
		size int // the DATA frame's payload
		cut  int // bytes of the frame sent before the pause (0: none of it)
	}{
		{"between frames", 100, 0},
		{"in a frame", 100, 9 + 10},
		{"in a frame larger than the read buffer", bufSize + 4000, 9 + 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, _ := serveOne(t, Config{IdleTimeout: idle, PrereadSize: 65536}, tc)
			var c *rawClient
			if withTLS {
				c = dialRawTLS(t, addr)
			} else {
				c = dialRaw(t, addr)
			}
			get := []string{":method", "GET", ":scheme", "http", ":path", "/", ":authority", "x"}
			c.headers(1, true, get...)
			if diff := cmp.Diff("status 200", c.result(1)); diff != "" {
				t.Fatalf("first stream (-want +got):\n%s", diff)
			}
			// Its end armed keepalive_timeout; the next stream's start
			// leaves it so.
			c.headers(3, false, ":method", "POST", ":scheme", "http", ":path", "/", ":authority", "x",
				"content-length", strconv.Itoa(tt.size))
			var frame bytes.Buffer
			http2.NewFramer(&frame, nil).WriteData(3, true, bytes.Repeat([]byte("b"), tt.size))
			c.nc.Write(frame.Bytes()[:tt.cut])
			time.Sleep(3 * idle)
			c.nc.Write(frame.Bytes()[tt.cut:])
			head := "POST / HTTP/2.0\nhost: x\ncontent-length: " + strconv.Itoa(tt.size) + "\n"
			want := "status 200 body " + strconv.Itoa(len(head)+tt.size)
			if diff := cmp.Diff(want, c.bodyResult(3)); diff != "" {
				t.Errorf("slow stream (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff("goaway NO_ERROR", c.result(5)); diff != "" {
				t.Errorf("idle after it (-want +got):\n%s", diff)
			}
		})
	}
}
