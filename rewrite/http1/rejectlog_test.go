package http1

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// What a rejected or trimmed head keeps for nginx's info lines: the header
// lines ignore_invalid_headers dropped, whether the refusal came in the
// request line, and how much of a too long header line nginx's buffer held.
func TestHeadForTheLog(t *testing.T) {
	small := Limits{ClientHeaderBufferSize: 100, LargeHeaderBufferSize: 600, LargeHeaderBuffers: 2, MaxHeaders: 100}
	tests := []struct {
		name       string
		head       string
		lim        Limits
		wantErr    *Error
		dropped    []DroppedHeader
		inLine     bool
		longRoomOf int
	}{
		{name: "dropped lines", head: "GET / HTTP/1.1\r\nX{A}: 1\r\nHost: a\r\nX.B: 2\r\n\r\n",
			dropped: []DroppedHeader{{At: 16, Headers: 0}, {At: 34, Headers: 1}}},
		{name: "bad URI in the line", head: "GET /../x HTTP/1.1\r\nHost: a\r\n\r\n", wantErr: errInvalidRequest, inLine: true},
		{name: "HTTP/0.9 POST", head: "POST /x\r\n", wantErr: errInvalid09Method, inLine: true},
		{name: "bad header", head: "GET / HTTP/1.1\r\nX A: 1\r\n\r\n", wantErr: errInvalidHeader},
		// The line moves to a fresh large buffer and fills it.
		{name: "line over a large buffer", head: "GET / HTTP/1.1\r\nX-L: " + strings.Repeat("l", 700) + "\r\n\r\n", lim: small,
			wantErr: errHeaderTooLarge, longRoomOf: 600},
		// No buffer is left: the line starts 519 bytes into the last one.
		{name: "buffers used up", head: "GET / HTTP/1.1\r\n" + strings.Repeat("X-M: "+strings.Repeat("m", 512)+"\r\n", 3) + "\r\n", lim: small,
			wantErr: errHeaderTooLarge, longRoomOf: 600 - 519},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Request
			r.reset(nil)
			lim := tt.lim.withDefaults()
			_, err := parseHead([]byte(tt.head), &r, &lim)
			if err != tt.wantErr {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if d := cmp.Diff(tt.dropped, r.Dropped); d != "" {
				t.Errorf("Dropped (-want +got):\n%s", d)
			}
			if err != nil && r.InRequestLine() != tt.inLine {
				t.Errorf("InRequestLine %v, want %v", r.InRequestLine(), tt.inLine)
			}
			if r.LongLineRoom != tt.longRoomOf {
				t.Errorf("LongLineRoom %d, want %d", r.LongLineRoom, tt.longRoomOf)
			}
		})
	}
}
