package http1

import (
	"encoding/binary"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestParseHeaderLine: a line's name and value as nginx's
// ngx_http_parse_header_line takes them (spaces around the value
// dropped, inside kept), its errors, and n == 0 for a line not whole yet.
func TestParseHeaderLine(t *testing.T) {
	type result struct {
		N           int
		Err         bool
		Name, Value string
		Invalid     bool
		Skip, End   bool
	}
	parse := func(line string, underscores, upstream bool) result {
		var h headerLine
		n, err := parseHeaderLine([]byte(line), underscores, upstream, &h)
		r := result{N: n, Err: err != nil, Invalid: h.invalid, Skip: h.skip, End: h.end}
		if n > 0 && !h.end && !h.skip {
			r.Name, r.Value = line[:h.nameEnd], line[h.valueStart:max(h.valueEnd, h.valueStart)]
		}
		return r
	}
	for _, tc := range []struct {
		line                  string
		underscores, upstream bool
		want                  result
	}{
		{"Host: example.com\r\nX", false, false, result{N: 19, Name: "Host", Value: "example.com"}},
		{"Date: Sun, 06 Dec 2026 17:13:25 GMT\r\n", false, true, result{N: 37, Name: "Date", Value: "Sun, 06 Dec 2026 17:13:25 GMT"}},
		{"X:  \t a  b \t \r\n", false, false, result{N: 15, Name: "X", Value: "\t a  b \t"}},
		{"X: a\t\r\n", false, false, result{N: 7, Name: "X", Value: "a\t"}},
		{"X:\ta\r\n", false, false, result{N: 6, Name: "X", Value: "\ta"}},
		{"X:v\n", false, false, result{N: 4, Name: "X", Value: "v"}},
		{"X: v\r\r\n", false, false, result{N: 7, Name: "X", Value: "v"}},
		{"X:\r\n", false, false, result{N: 4, Name: "X"}},
		{"X:   \r\n", false, false, result{N: 7, Name: "X"}},
		{"NoColon\r\n", false, false, result{N: 9, Name: "NoColon"}},
		{"A-Long-Value: abcdefghijklmnopqrstuvwxyz0123456789 end\r\n", false, false,
			result{N: 56, Name: "A-Long-Value", Value: "abcdefghijklmnopqrstuvwxyz0123456789 end"}},
		{"X: a\x01b\x80\xff\r\n", false, false, result{N: 10, Name: "X", Value: "a\x01b\x80\xff"}},
		{"X_Y: v\r\n", false, false, result{N: 8, Name: "X_Y", Value: "v", Invalid: true}},
		{"X_Y: v\r\n", true, false, result{N: 8, Name: "X_Y", Value: "v"}},
		{"X.Y: v\r\n", false, false, result{N: 8, Name: "X.Y", Value: "v", Invalid: true}},
		{"HTTP/1.1 200 OK\r\n", false, true, result{N: 17, Skip: true}},
		{"HTTP/1.1 200 OK\r\n", false, false, result{Err: true, Invalid: true}}, // the space ends the name
		{"\r\n", false, false, result{N: 2, End: true}},
		{"\n", false, false, result{N: 1, End: true}},
		{"\rX", false, false, result{Err: true}},
		{"X: a\x00b\r\n", false, false, result{Err: true}},
		{"X Y: v\r\n", false, false, result{Err: true}},
		{": v\r\n", false, false, result{Err: true}},
		{"X: v\rY", false, false, result{Err: true}},
		{"X: value not ended", false, false, result{}},
		{"X: v\r", false, false, result{}},
		{"\r", false, false, result{}},
		{"Name-only", false, false, result{}},
	} {
		if diff := cmp.Diff(tc.want, parse(tc.line, tc.underscores, tc.upstream)); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tc.line, diff)
		}
	}
}

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

// TestFirstLineEnd checks the word scan against a byte loop for words
// with each byte value at each position among ordinary, space, control
// and high bytes, and a second special byte after it.
func TestFirstLineEnd(t *testing.T) {
	for _, fill := range []byte{'a', ' ', '\t', 0x01, 0x0c, 0x0e, 0x7f, 0x80, 0x8a, 0x8d, 0xff} {
		for pos := 0; pos < 8; pos++ {
			for c := 0; c < 256; c++ {
				var w [8]byte
				for i := range w {
					w[i] = fill
				}
				w[pos] = byte(c)
				for _, second := range []int{-1, 0, '\r', '\n', ' ', 0x80} {
					w := w
					if second >= 0 && pos < 7 {
						w[7] = byte(second)
					}
					want := 8
					for i, x := range w {
						if x == '\r' || x == '\n' || x == 0 {
							want = i
							break
						}
					}
					if got := firstLineEnd(binary.LittleEndian.Uint64(w[:])); got != want {
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

// headerValueBytewise is a header value's scan one byte at a time, as
// nginx's value and "space after value" states: what headerValue's word
// scan must agree with.
func headerValueBytewise(b []byte, p int, h *headerLine) (int, *Error) {
spaces:
	for ; p < len(b); p++ {
		switch b[p] {
		case ' ':
		case '\r':
			h.valueStart, h.valueEnd = p, p
			return headerLineEnd(b, p+1)
		case '\n':
			h.valueStart, h.valueEnd = p, p
			return p + 1, nil
		case 0:
			return 0, errInvalidHeader
		default:
			break spaces
		}
	}
	if p == len(b) {
		return 0, nil
	}
	h.valueStart = p
	in := true
	for p++; p < len(b); p++ {
		switch b[p] {
		case ' ':
			if in {
				h.valueEnd, in = p, false
			}
		case '\r':
			if in {
				h.valueEnd = p
			}
			return headerLineEnd(b, p+1)
		case '\n':
			if in {
				h.valueEnd = p
			}
			return p + 1, nil
		case 0:
			return 0, errInvalidHeader
		default:
			in = true
		}
	}
	return 0, nil
}

// FuzzHeaderValue checks headerValue against the byte-at-a-time scan.
func FuzzHeaderValue(f *testing.F) {
	f.Add([]byte(" Sun, 06 Dec 2026 17:13:25 GMT\r\n"))
	f.Add([]byte(" text/plain; charset=utf-8  \t \r\r\nX"))
	f.Add([]byte("\t a\x00b\r\n"))
	f.Add([]byte("abcdefghijklmnopqrstuvwxyz \n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var got, want headerLine
		n, err := headerValue(b, 0, &got)
		wn, werr := headerValueBytewise(b, 0, &want)
		if n != wn || (err == nil) != (werr == nil) {
			t.Fatalf("%q: got %d, %v; want %d, %v", b, n, err, wn, werr)
		}
		if n > 0 && got != want {
			t.Fatalf("%q: got %+v, want %+v", b, got, want)
		}
	})
}

// BenchmarkParseHeadBrowser: a browser's whole request head, parsed as a
// connection's (the request line, the header lines, the unique headers'
// and Host's checks).
func BenchmarkParseHeadBrowser(b *testing.B) {
	head := []byte("GET /index.html HTTP/1.1\r\nHost: www.example.com\r\n" +
		"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36\r\n" +
		"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8\r\n" +
		"Accept-Language: en-US,en;q=0.9\r\nAccept-Encoding: gzip, deflate, br\r\n" +
		"Cookie: session=5f2b8c1e9a7d4e3fb6a0c2d1e8f7a9b3; theme=dark\r\nConnection: keep-alive\r\n\r\n")
	var r Request
	for i := 0; i < b.N; i++ {
		r.reset(nil)
		if _, err := parseHead(head, &r, &DefaultLimits); err != nil {
			b.Fatal(err)
		}
	}
}
