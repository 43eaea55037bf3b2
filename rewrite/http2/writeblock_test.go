package http2

import (
	"bufio"
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/http2"
)

// TestWriteBlockFrames: a header block goes out as the framer wrote it,
// HEADERS then CONTINUATION frames of at most the client's frame size,
// END_STREAM on the first, END_HEADERS on the last.
func TestWriteBlockFrames(t *testing.T) {
	tests := []struct {
		n, max int
		end    bool
	}{
		{10, 16384, true}, {10, 16384, false}, {0, 16384, true}, {16384, 16384, false},
		{40000, 16384, true}, {32768, 16384, false}, {5, 2, true},
	}
	for _, tt := range tests {
		block := make([]byte, tt.n)
		for i := range block {
			block[i] = byte(i * 7)
		}
		var want bytes.Buffer
		fr := http2.NewFramer(&want, nil)
		rest, first := block, true
		for first || len(rest) > 0 {
			frag := rest[:min(len(rest), tt.max)]
			rest = rest[len(frag):]
			if first {
				fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: frag, EndStream: tt.end, EndHeaders: len(rest) == 0})
				first = false
			} else {
				fr.WriteContinuation(3, len(rest) == 0, frag)
			}
		}
		var got bytes.Buffer
		c := &Conn{maxFrame: tt.max}
		c.bw = bufio.NewWriter(&got)
		n, err := c.writeBlock(3, block, tt.end)
		c.bw.Flush()
		if err != nil || n != want.Len() {
			t.Errorf("%d bytes, frames of %d: writeBlock %d, %v; want %d bytes", tt.n, tt.max, n, err, want.Len())
		}
		if diff := cmp.Diff(want.Bytes(), got.Bytes()); diff != "" {
			t.Errorf("%d bytes, frames of %d, end %v (-framer +writeBlock):\n%s", tt.n, tt.max, tt.end, diff)
		}
	}
}
