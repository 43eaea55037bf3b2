package http2

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestHeadCache: a head coded through the cache is the same bytes as
// coded afresh, the first time and again, whatever was kept before.
func TestHeadCache(t *testing.T) {
	long := "X-Long: " + strings.Repeat("v", headCacheLine) + "\r\n"
	heads := []string{
		"Server: gonginx\r\nDate: Sun, 06 Dec 2026 21:55:40 GMT\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n",
		"Server: gonginx\r\nDate: Sun, 06 Dec 2026 21:55:41 GMT\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n",
		"grpc-status: 0\r\ngrpc-message: \r\n",
		"Content-Length: 100\r\nContent-Length: 101\r\nno colon\r\nX-A:\t a\r\n",
		long + "Server: gonginx\r\n" + long,
		"Server: gonginx\r\n\r\nX-After-Empty: 1\r\n",
		"X-Unended: 1",
		"X-Lone-CR: a\rb\r\nX-Lone-LF: a\nb\r\n",
		"Server: gonginx\r\nDate: Sun, 06 Dec 2026 21:55:40 GMT\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n",
	}
	hc := newHeadCache()
	for round := 0; round < 3; round++ {
		for _, h := range heads {
			// The same text with none, some and all of its lines
			// nginx's own fields, each coded otherwise.
			for _, own := range []int{0, strings.Index(h, "\r\n") + 2, len(h)} {
				var name []byte
				want := appendHeaderLinesRef([]byte{0x88}, []byte(h), own, &name)
				got := hc.appendLines([]byte{0x88}, []byte(h), own, &name)
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("round %d, %q, own %d (-fresh +cached):\n%s", round, h, own, diff)
				}
			}
		}
	}
	var name []byte
	if diff := cmp.Diff(appendHeaderLines(nil, []byte(heads[0]), 20, &name), (*headCache)(nil).appendLines(nil, []byte(heads[0]), 20, &name)); diff != "" {
		t.Errorf("no cache (-fresh +got):\n%s", diff)
	}
}

// FuzzHeadCache: heads coded one after another through one cache are the
// bytes each codes to afresh (by appendHeaderLinesRef, the loop that
// scanned for CRLF and the colon a byte at a time).
func FuzzHeadCache(f *testing.F) {
	f.Add("Server: a\r\nDate: b\r\n", "Server: a\r\nDate: c\r\n")
	f.Add("A: b\r", "a:b\r\n\r\nc: d")
	f.Fuzz(func(t *testing.T, a, b string) {
		hc := newHeadCache()
		for i, h := range []string{a, b, a, b, a, b} {
			var name []byte
			own := i / 2 * len(h) / 2 // none, half, all
			want := appendHeaderLinesRef(nil, []byte(h), own, &name)
			got := hc.appendLines(nil, []byte(h), own, &name)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("%q (-fresh +cached):\n%s", h, diff)
			}
		}
	})
}

// appendHeaderLinesRef is appendHeaderLines before it scanned with
// bytes.IndexByte: the reference its cache and it are fuzzed against.
// The lines starting in the first own bytes are nginx's own fields.
func appendHeaderLinesRef(b []byte, lines []byte, own int, name *[]byte) []byte {
	for at := len(lines); len(lines) > 0; {
		isOwn := at-len(lines) < own
		end := 0
		for end+1 < len(lines) && !(lines[end] == '\r' && lines[end+1] == '\n') {
			end++
		}
		line := lines[:end]
		if end+2 <= len(lines) {
			lines = lines[end+2:]
		} else {
			lines = nil
		}
		if len(line) == 0 {
			break
		}
		colon := 0
		for colon < len(line) && line[colon] != ':' {
			colon++
		}
		if colon == len(line) {
			continue
		}
		value := line[colon+1:]
		for len(value) > 0 && (value[0] == ' ' || value[0] == '\t') {
			value = value[1:]
		}
		if first := ownFieldByte(line[:colon]); isOwn && first != 0 {
			b = append(b, first)
			if first == 0x5c { // content-length: its digits raw
				b = append(appendInt(b, 7, 0, uint64(len(value))), value...)
			} else {
				b = appendString(b, value)
			}
			continue
		}
		n := (*name)[:0]
		for _, ch := range line[:colon] {
			if ch >= 'A' && ch <= 'Z' {
				ch += 'a' - 'A'
			}
			n = append(n, ch)
		}
		*name = n
		b = append(b, 0x00)
		b = appendString(b, n)
		b = appendString(b, value)
	}
	return b
}
