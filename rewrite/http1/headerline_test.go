package http1

import "testing"

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
