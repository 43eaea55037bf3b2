package http1

import (
	"bytes"
	"io"
	"testing"
)

// FuzzReadRequest: any bytes, any read sizes: no panic, no hang, and a
// parsed request's slices stay inside what was sent.
func FuzzReadRequest(f *testing.F) {
	for _, tc := range requestCases {
		f.Add([]byte(tc.raw), uint8(0))
	}
	f.Add([]byte("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;x\r\nhello\r\n0\r\n\r\n"), uint8(3))
	f.Fuzz(func(t *testing.T, raw []byte, step uint8) {
		fc := &fakeConn{in: append([]byte(nil), raw...), step: int(step)}
		c := NewConn(fc, &ConnInfo{})
		defer c.Close()
		for i := 0; i < 4; i++ {
			r, err := c.ReadRequest()
			if err != nil {
				return
			}
			if len(r.URI) == 0 && !r.HTTP09() {
				t.Fatalf("empty URI for %q", raw)
			}
			if r.URI[0] != '/' {
				t.Fatalf("URI %q does not start with '/' for %q", r.URI, raw)
			}
			if bytes.Contains(r.URI, []byte("/../")) || bytes.HasSuffix(r.URI, []byte("/..")) {
				t.Fatalf("URI %q keeps a dot-dot segment", r.URI)
			}
			io.Copy(io.Discard, c.Body())
		}
	})
}

// FuzzNormalizeURI: no panic, output never longer than input plus the
// leading '/', and normalizing a result with no '%', '?' or '#' again
// changes nothing (idempotent).
func FuzzNormalizeURI(f *testing.F) {
	for _, s := range []string{"/a/%2e%2E/b%2Fc/./d//e/..", "/a%3fb?x", "/a#b", "/%00", "/..", "/a/../../b",
		"/a/b%2F..%2f", "/a/%2e%2e%3F?q", "//a//b/", "/a%25b%23c+d", "/x/%C3%A9"} {
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, raw []byte, emptyPath bool) {
		// The request-line parser only hands over targets that start
		// with '/', or with '?' for "http://host?args".
		if emptyPath {
			raw = append([]byte("?"), raw...)
		} else if len(raw) == 0 || raw[0] != '/' {
			raw = append([]byte("/"), raw...)
		}
		uri, _, _, _, ok := NormalizeURI(nil, raw, emptyPath, true)
		if !ok {
			return
		}
		if len(uri) > len(raw)+1 {
			t.Fatalf("NormalizeURI(%q) = %q: longer than its input", raw, uri)
		}
		if len(uri) > 0 && uri[0] == '/' && !bytes.ContainsAny(uri, "%?#") {
			again, _, _, _, ok2 := NormalizeURI(nil, uri, false, true)
			if !ok2 || !bytes.Equal(again, uri) {
				t.Fatalf("not idempotent: %q -> %q -> %q (%v)", raw, uri, again, ok2)
			}
		}
	})
}

// FuzzDiscardBuffered: dropping the body bytes that came with the head (as nginx does before
// a response that does not read the body) and then reading the rest reaches the same verdict
// on the body's framing as reading all of it, and leaves the next request the same.
func FuzzDiscardBuffered(f *testing.F) {
	f.Add([]byte("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;x\r\nhello\r\n0\r\n\r\nGET /n HTTP/1.1\r\nHost: a\r\n\r\n"), uint8(0))
	f.Add([]byte("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nSEE-THIS\r\n0\r\n\r\n"), uint8(7))
	f.Add([]byte("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET /n HTTP/1.1\r\nHost: a\r\n\r\n"), uint8(2))
	f.Fuzz(func(t *testing.T, raw []byte, step uint8) {
		run := func(discard bool) string {
			c := NewConn(&fakeConn{in: append([]byte(nil), raw...), step: int(step)}, &ConnInfo{})
			defer c.Close()
			var out []byte
			for i := 0; i < 3; i++ {
				r, err := c.ReadRequest()
				if err != nil {
					return string(out) + "end"
				}
				out = append(out, r.Method...)
				out = append(out, r.URI...)
				if discard {
					if err := c.DiscardBuffered(); err != nil {
						return string(out) + " body error"
					}
				}
				if _, err := io.Copy(io.Discard, c.Body()); err != nil {
					return string(out) + " body error"
				}
				out = append(out, ';')
			}
			return string(out)
		}
		if a, b := run(false), run(true); a != b {
			t.Fatalf("read %q, discard then read %q, for %q", a, b, raw)
		}
	})
}
