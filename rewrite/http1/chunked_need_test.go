package http1

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Need is ngx_http_parse_chunked's length after the bytes seen so far.
func TestChunkedParserNeed(t *testing.T) {
	tests := []struct {
		fed  string
		want int64
	}{
		{"", 3},
		{"1", 1 + 1 + 4},
		{"10\r", 1 + 16 + 4},
		{"5;ext", 1 + 5 + 4},
		{"10\r\n", 16 + 4},
		{"10\r\n12345", 11 + 4},
		{"5\r\n12345", 4},
		{"5\r\n12345\r", 4},
		{"5\r\n12345\r\n", 3},
		{"0", 2},
		{"0;x", 2},
		{"0\r\n", 1},
		{"0\r\nX-A: 1", 2},
		{"0\r\nX-A: 1\r\n", 1},
	}
	for _, tt := range tests {
		var p ChunkedParser
		for b := []byte(tt.fed); len(b) > 0; {
			_, n, err := p.Decode(b)
			if err != nil {
				t.Fatalf("%q: %v", tt.fed, err)
			}
			b = b[n:]
		}
		if diff := cmp.Diff(tt.want, p.Need()); diff != "" {
			t.Errorf("Need after %q (-want +got):\n%s", tt.fed, diff)
		}
	}
}
