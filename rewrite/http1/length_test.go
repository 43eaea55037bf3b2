package http1

import (
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// $request_length, $request's target and the request count, as nginx
// keeps them (checked against nginx 1.22.1's access log): a chunked
// body's framing counts, a rejected head counts the lines parsed whole
// before the one that failed, and the rejected request is a request of
// the connection.
func TestRequestLengthAndTarget(t *testing.T) {
	tests := []struct {
		name, raw string
		want      struct {
			Length   int64
			Target   string
			Requests int
		}
	}{
		{"plain", "GET /a?b HTTP/1.1\r\nHost: x\r\n\r\n", want(30, "/a?b", 1)},
		{"absolute target", "GET http://h.example/a?b HTTP/1.1\r\nHost: x\r\n\r\n", want(46, "http://h.example/a?b", 1)},
		{"absolute without path", "GET http://h.example HTTP/1.1\r\nHost: x\r\n\r\n", want(42, "http://h.example", 1)},
		{"chunked body framing", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", want(56+15, "/", 1)},
		{"length body", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", want(47+5, "/", 1)},
		{"duplicate host", "GET /ret HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", want(37, "", 1)},
		{"invalid request line", "GET /\x01 HTTP/1.1\r\nHost: a\r\n\r\n", want(0, "", 1)},
		{"no host", "GET / HTTP/1.1\r\nX: y\r\n\r\n", want(24, "", 1)},
		{"closed mid-head", "GET /ret HTTP/1.1\r\nHost: a\r\n", want(28, "", 1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := NewConn(&fakeConn{in: []byte(tc.raw)}, &ConnInfo{})
			defer c.Close()
			r, err := c.ReadRequest()
			var got struct {
				Length   int64
				Target   string
				Requests int
			}
			if err == nil {
				io.Copy(io.Discard, c.Body())
				got.Target = string(r.RequestTarget())
			}
			got.Length, got.Requests = c.RequestLength(), c.ConnRequests()
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func want(length int64, target string, requests int) struct {
	Length   int64
	Target   string
	Requests int
} {
	return struct {
		Length   int64
		Target   string
		Requests int
	}{length, target, requests}
}
