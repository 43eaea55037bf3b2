package http1

import (
	"encoding/binary"
	"testing"
)

// BenchmarkParseHeaderLine: the header lines of a small proxied
// response, one parse each.
func BenchmarkParseHeaderLine(b *testing.B) {
	lines := [][]byte{[]byte("Server: nginx/1.22.1\r\n"), []byte("Date: Sun, 06 Dec 2026 17:13:25 GMT\r\n"),
		[]byte("Content-Type: application/octet-stream\r\n"), []byte("Content-Length: 100\r\n"), []byte("Connection: keep-alive\r\n"), []byte("\r\n")}
	var h headerLine
	for i := 0; i < b.N; i++ {
		for _, l := range lines {
			parseHeaderLine(l, false, true, &h)
		}
	}
}

// TestFirstCtlOrSpace checks the word scan against a byte loop for
// words with each byte value at each position among ordinary and high
// bytes, and a second special byte after it.
func TestFirstCtlOrSpace(t *testing.T) {
	for _, fill := range []byte{'a', 0x21, 0x7f, 0x80, 0xff} {
		for pos := 0; pos < 8; pos++ {
			for c := 0; c < 256; c++ {
				var w [8]byte
				for i := range w {
					w[i] = fill
				}
				w[pos] = byte(c)
				for _, second := range []int{-1, 0, ' ', 0x80} {
					w := w
					if second >= 0 && pos < 7 {
						w[7] = byte(second)
					}
					want := 8
					for i, x := range w {
						if x <= ' ' {
							want = i
							break
						}
					}
					if got := firstCtlOrSpace(binary.LittleEndian.Uint64(w[:])); got != want {
						t.Fatalf("%q: got %d want %d", w, got, want)
					}
				}
			}
		}
	}
}

// BenchmarkParseHeaderLineBrowser: a browser's request header lines, one
// parse each (long values: user agent, accept lists, a cookie).
func BenchmarkParseHeaderLineBrowser(b *testing.B) {
	lines := [][]byte{[]byte("Host: www.example.com\r\n"),
		[]byte("User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36\r\n"),
		[]byte("Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8\r\n"),
		[]byte("Accept-Language: en-US,en;q=0.9\r\n"), []byte("Accept-Encoding: gzip, deflate, br\r\n"),
		[]byte("Cookie: session=5f2b8c1e9a7d4e3fb6a0c2d1e8f7a9b3; theme=dark; _ga=GA1.2.1234567890.1700000000\r\n"),
		[]byte("Connection: keep-alive\r\n"), []byte("\r\n")}
	var h headerLine
	for i := 0; i < b.N; i++ {
		for _, l := range lines {
			parseHeaderLine(l, false, false, &h)
		}
	}
}
