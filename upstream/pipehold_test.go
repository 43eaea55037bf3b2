package upstream

import (
	"net"
	"testing"

	"github.com/gonginx/gonginx/rewrite/http1"
	"github.com/google/go-cmp/cmp"
)

// Whole buffers only: the first ends proxy_buffer_size less the head into
// the body, the next each one of proxy_buffers later.
func TestHeldBodyPassable(t *testing.T) {
	tests := []struct {
		name                string
		bufSize, head, unit int
		passed              int64
		held                int
		want                int
	}{
		{"a part of the first", 4096, 66, 4096, 0, 10, 0},
		{"the first just full", 4096, 66, 4096, 0, 4030, 4030},
		{"the first and a part", 4096, 66, 4096, 0, 5000, 4030},
		{"two whole", 4096, 66, 4096, 0, 9000, 8126},
		{"after the first, a part", 4096, 66, 4096, 4030, 970, 0},
		{"after the first, one more", 4096, 66, 4096, 4030, 4100, 4096},
		{"8k then 2k buffers", 8192, 68, 2048, 0, 11000, 8124 + 2048},
		{"off the boundaries (passed all once)", 4096, 66, 4096, 5000, 100, 0},
		{"a head as long as the buffer", 4096, 4096, 4096, 0, 5000, 4096},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h heldBody
			h.holdFor(holdConf{bufSize: tt.bufSize, start: tt.head, temp: &tempConf{buffers: 8 * tt.unit, unit: tt.unit}})
			if tt.passed > 0 {
				h.passable(int(tt.passed))
				h.pass(int(tt.passed))
			}
			if diff := cmp.Diff(tt.want, h.passable(tt.held)); diff != "" {
				t.Errorf("passable (-want +got):\n%s", diff)
			}
		})
	}
}

// A short head waits under the cache's and the store's tees as on the
// connection itself (the tee's relay must not flush it at once), and
// postpone_output's value decides what is short.
func TestHeadPostponedUnderTees(t *testing.T) {
	client, server := net.Pipe()
	defer client.Close()
	go client.Write([]byte("GET / HTTP/1.1\r\nHost: h\r\n\r\n"))
	c := http1.NewConn(server, &http1.ConnInfo{})
	defer c.Close()
	if _, err := c.ReadRequest(); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteHeader(&http1.Response{Status: 200, ContentLength: 10, LastModified: -1}); err != nil {
		t.Fatal(err)
	}
	streams := map[string]http1.Stream{"conn": c, "cache tee": &teeStream{Stream: c}, "store tee": &storeStream{Stream: c}}
	got := map[string][]bool{}
	for _, postpone := range []int32{1460, 0} {
		c.SetPostponeOutput(postpone)
		for name, s := range streams {
			got[name] = append(got[name], headPostponed(s))
		}
	}
	want := map[string][]bool{"conn": {true, false}, "cache tee": {true, false}, "store tee": {true, false}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("headPostponed at postpone_output 1460, 0 (-want +got):\n%s", diff)
	}
}

// A head that fills the pool's 32k buffer gets one of *_buffer_size when
// that is larger, its bytes kept.
func TestGrowHead(t *testing.T) {
	type result struct {
		Limit int
		OK    bool
		Len   int
		Kept  string
	}
	for _, tc := range []struct {
		bufSize int
		want    result
	}{
		{bufSize: 64 << 10, want: result{Limit: 64 << 10, OK: true, Len: 64 << 10, Kept: "head"}},
		{bufSize: 32 << 10, want: result{Limit: 32 << 10, Len: 32 << 10, Kept: "head"}},
		{bufSize: 16 << 10, want: result{Limit: 32 << 10, Len: 32 << 10, Kept: "head"}},
	} {
		p := &Proxy{bufSize: tc.bufSize}
		x := &exchange{}
		x.takeRbuf()
		copy(x.rbuf, "head")
		var got result
		got.Limit, got.OK = p.growHead(x, len(x.rbuf))
		got.Len, got.Kept = len(x.rbuf), string(x.rbuf[:4])
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("proxy_buffer_size %d (-want +got):\n%s", tc.bufSize, d)
		}
	}
}

// After its first buffers are sent, a body is read into the head's buffer
// again (whole) and the others in nginx's order: the numbers are nginx
// 1.22's $body_bytes_sent for a backend that sent the body's phases apart
// (difftest TestServeProxyBufferReuse).
func TestHeldBodyReusesBuffers(t *testing.T) {
	tests := []struct {
		name                            string
		bufSize, num, unit, busy, start int
		cacheable                       bool
		phases                          []int
		want                            int64
	}{
		{"the head's buffer read into again", 8192, 8, 2048, 12288, 68, false, []int{11000, 3000, 5000}, 12220},
		{"sent apart: the head's buffer after the next", 8192, 8, 2048, 8192, 68, false, []int{11000, 3000, 5000}, 16316},
		{"a head's buffer smaller", 2048, 4, 8192, 0, 68, false, []int{3000, 9000, 2000}, 12220},
		{"all buffers taken within a read", 4096, 3, 2048, 4096, 68, false, []int{30000, 3000, 9000}, 38844},
		{"to a temporary file: at the list's end (a 67-byte key)", 8192, 8, 2048, 8192, 68 + cacheHeaderStartFor(make([]byte, 67)), true, []int{11000, 3000, 5000}, 11810},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h heldBody
			h.holdFor(holdConf{bufSize: tt.bufSize, start: tt.start, cacheable: tt.cacheable,
				temp: &tempConf{buffers: tt.num * tt.unit, unit: tt.unit, busy: tt.busy}})
			held := 0
			for _, n := range tt.phases {
				held += n
				k := h.passable(held)
				h.pass(k)
				held -= k
			}
			if diff := cmp.Diff(tt.want, h.passed); diff != "" {
				t.Errorf("passed (-want +got):\n%s", diff)
			}
		})
	}
}

// A held body past x.rbuf moves to a larger one with the head before it
// where it was (proxy_store reads the head's fields after the body).
func TestGrowHeld(t *testing.T) {
	x := &exchange{rbuf: make([]byte, bodyBufSize)}
	copy(x.rbuf, "HEAD")
	buf := x.rbuf[4:]
	copy(buf, "held")
	got := x.growHeld(buf, 4)
	if diff := cmp.Diff("HEADheld", string(x.rbuf[:8])); diff != "" {
		t.Errorf("x.rbuf (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff("held", string(got[:4])); diff != "" {
		t.Errorf("buf (-want +got):\n%s", diff)
	}
	if len(got) != 2*len(buf) || len(x.rbuf) != 4+len(got) {
		t.Errorf("buf %d bytes in x.rbuf %d, want %d in %d", len(got), len(x.rbuf), 2*len(buf), 4+2*len(buf))
	}
}
