package upstream

import (
	"testing"

	"github.com/gonginx/gonginx/rewrite/http1"
	"github.com/google/go-cmp/cmp"
)

// A hit's head taken from the file's index is what parsing the stored
// text gives, header by header, for the heads appendStoredHead writes and
// for texts it never writes (a repeated status line, an empty value).
func TestHeadIndexMatchesParse(t *testing.T) {
	heads := []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nDate: Mon, 07 Dec 2026 22:40:40 GMT\r\nContent-Type: text/plain\r\n\r\n",
		"HTTP/1.1 301\r\nLocation: http://a/b\r\n\r\n",
		"HTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX-Empty: \r\nX_Under: v\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n",
		"HTTP/1.1 100 Continue\r\nHTTP/1.1 200 OK\r\nA: b\r\n\r\n",
		"HTTP/1.0 404 Not Found\nA:b\n\n",
		"HTTP/1.1 999 Odd\r\nA:   spaced value   \r\n\r\n",
	}
	for _, text := range heads {
		head := []byte(text)
		var scratch, want, got http1.ResponseHead
		idx := appendHeadIndex(nil, head, &scratch)
		if len(idx) == 0 {
			t.Errorf("%q: no index", text)
			continue
		}
		wantLen, err := http1.ParseResponseHead(head, &want)
		if err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		gotLen := loadHead(head, idx, &got)
		if gotLen != wantLen {
			t.Errorf("%q: length %d, want %d", text, gotLen, wantLen)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%q: head (-parsed +indexed):\n%s", text, d)
		}
	}
}

// A head that does not parse whole gets no index (a hit parses it and
// answers 500 as before), and an index that does not describe its head
// is refused, so the head is parsed instead.
func TestHeadIndexRefused(t *testing.T) {
	var h http1.ResponseHead
	for _, text := range []string{"HTTP/1.1 200 OK\r\nA: b\r\n", "XTTP/1.1 200 OK\r\n\r\n"} {
		if idx := appendHeadIndex(nil, []byte(text), &h); len(idx) != 0 {
			t.Errorf("%q: index %x", text, idx)
		}
	}
	head := []byte("HTTP/1.1 200 OK\r\nA: b\r\n\r\n")
	idx := appendHeadIndex(nil, head, &h)
	for name, bad := range map[string][]byte{
		"short":          idx[:headIndexFixed-1],
		"partial header": idx[:len(idx)-2],
		"past the head":  append(append([]byte{}, idx[:len(idx)-2]...), 0xff, 0x00),
	} {
		if n := loadHead(head, bad, &h); n != 0 {
			t.Errorf("%s: loadHead gave %d", name, n)
		}
	}
}
