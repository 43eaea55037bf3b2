package http1

import (
	"bytes"
	"testing"
)

// FuzzParseResponseHead: a backend's bytes are as untrusted as a
// client's. No panic, the head length stays inside the input, and every
// header slice points into it.
func FuzzParseResponseHead(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
	f.Add([]byte("HTTP/1.0 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 302\nLocation: /x\n\n"))
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var h ResponseHead
		n, err := ParseResponseHead(raw, &h)
		if err != nil {
			return
		}
		if n < 0 || n > len(raw) {
			t.Fatalf("head length %d outside input of %d bytes", n, len(raw))
		}
		if n == 0 {
			return
		}
		if h.Status < 0 || h.Status > 999 { // three digits, any of them (nginx checks no range here)
			t.Fatalf("status %d for %q", h.Status, raw)
		}
		for _, hd := range h.Headers {
			if !within(raw[:n], hd.Name) || !within(raw[:n], hd.Value) {
				t.Fatalf("header %q: %q not inside the head", hd.Name, hd.Value)
			}
		}
	})
}

// FuzzChunkedDecode: any bytes, any split into reads: no panic, progress
// on every call, and the data decoded is the same however the input is
// split.
func FuzzChunkedDecode(f *testing.F) {
	f.Add([]byte("5\r\nhello\r\n0\r\n\r\n"), uint8(1))
	f.Add([]byte("a;ext=1\r\n0123456789\r\n0\r\nTrailer: x\r\n\r\n"), uint8(3))
	f.Add([]byte("fffffffffffffffff\r\n"), uint8(2))
	f.Fuzz(func(t *testing.T, raw []byte, step uint8) {
		whole, wholeErr := decodeAll(raw, len(raw)+1)
		split, splitErr := decodeAll(raw, int(step)%8+1)
		if (wholeErr == nil) != (splitErr == nil) {
			t.Fatalf("error depends on the split: %v vs %v for %q", wholeErr, splitErr, raw)
		}
		if wholeErr == nil && !bytes.Equal(whole, split) {
			t.Fatalf("data depends on the split: %q vs %q for %q", whole, split, raw)
		}
	})
}

// decodeAll feeds raw to a ChunkedParser at most step bytes at a time, as
// reads from a socket would arrive, keeping unconsumed bytes.
func decodeAll(raw []byte, step int) ([]byte, error) {
	var p ChunkedParser
	var out, pending []byte
	for off := 0; !p.Done; {
		if len(pending) == 0 || off < len(raw) {
			if off >= len(raw) && len(pending) == 0 {
				break
			}
			end := min(off+step, len(raw))
			pending = append(pending, raw[off:end]...)
			off = end
		}
		data, consumed, err := p.Decode(pending)
		if err != nil {
			return out, err
		}
		if consumed < 0 || consumed > len(pending) {
			panic("consumed outside the buffer")
		}
		out = append(out, data...)
		pending = pending[consumed:]
		if consumed == 0 && off >= len(raw) {
			break
		}
	}
	return out, nil
}

// within reports whether sub aliases memory inside buf (or is empty).
func within(buf, sub []byte) bool {
	if len(sub) == 0 {
		return true
	}
	start := cap(buf) - cap(sub)
	return start >= 0 && start+len(sub) <= len(buf) && &buf[start] == &sub[0]
}

// parseResponseHeadRef is ParseResponseHead with its status line read
// byte by byte throughout (statusStart's loops), the fast path's
// reference.
func parseResponseHeadRef(b []byte, h *ResponseHead) (int, *Error) {
	h.Headers = h.Headers[:0]
	h.Status, h.Major, h.Minor = 0, 0, 0
	p := 0
	const prefix = "HTTP/"
	for ; p < len(prefix); p++ {
		if p >= len(b) {
			return 0, nil
		}
		if b[p] != prefix[p] {
			return 0, ErrInvalidStatusLine
		}
	}
	// major
	if p >= len(b) {
		return 0, nil
	}
	if b[p] < '1' || b[p] > '9' {
		return 0, ErrInvalidStatusLine
	}
	for ; p < len(b) && b[p] != '.'; p++ {
		if b[p] < '0' || b[p] > '9' || h.Major > 99 {
			return 0, ErrInvalidStatusLine
		}
		h.Major = h.Major*10 + int(b[p]-'0')
	}
	p++
	if p >= len(b) {
		return 0, nil
	}
	if b[p] < '0' || b[p] > '9' {
		return 0, ErrInvalidStatusLine
	}
	for ; p < len(b) && b[p] != ' '; p++ {
		if b[p] < '0' || b[p] > '9' || h.Minor > 99 {
			return 0, ErrInvalidStatusLine
		}
		h.Minor = h.Minor*10 + int(b[p]-'0')
	}
	for p < len(b) && b[p] == ' ' {
		p++
	}
	start, count := p, 0
	for ; p < len(b) && count < 3; p++ {
		if b[p] < '0' || b[p] > '9' {
			return 0, ErrInvalidStatusLine
		}
		h.Status = h.Status*10 + int(b[p]-'0')
		count++
	}
	if p >= len(b) {
		return 0, nil
	}
	switch b[p] {
	case ' ', '.', '\r', '\n':
	default:
		return 0, ErrInvalidStatusLine
	}
	end := -1
	for ; p < len(b); p++ {
		if b[p] == '\r' && end < 0 {
			end = p
		}
		if b[p] == '\n' {
			if end < 0 {
				end = p
			}
			break
		}
	}
	if p >= len(b) {
		return 0, nil
	}
	h.StatusLine = b[start:end]
	return parseUpstreamHeaders(b, p+1, h)
}

// FuzzStatusLine checks ParseResponseHead (its "HTTP/1.x NNN" taken at
// once) against the byte-by-byte parse.
func FuzzStatusLine(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
	f.Add([]byte("HTTP/1.0 101 Switching Protocols\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 2000\r\n\r\n"))
	f.Add([]byte("HTTP/1.1  200 OK\r\n\r\n"))
	f.Add([]byte("HTTP/1.9 999.\n\n"))
	f.Add([]byte("HTTP/1.1 200"))
	f.Add([]byte("HTTP/10.1 200 OK\r\n\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var got, want ResponseHead
		n, err := ParseResponseHead(raw, &got)
		wn, werr := parseResponseHeadRef(raw, &want)
		if n != wn || err != werr {
			t.Fatalf("%q: got %d, %v; want %d, %v", raw, n, err, wn, werr)
		}
		if n > 0 && (got.Major != want.Major || got.Minor != want.Minor || got.Status != want.Status ||
			!bytes.Equal(got.StatusLine, want.StatusLine) || len(got.Headers) != len(want.Headers)) {
			t.Fatalf("%q: got %+v, want %+v", raw, got, want)
		}
	})
}

// FuzzStatusLineEnd checks statusLineEnd against a loop over the line's
// bytes, as ParseResponseHead scanned it before.
func FuzzStatusLineEnd(f *testing.F) {
	f.Add([]byte(" Switching Protocols\r\nUpgrade: websocket\r\n"), uint8(0))
	f.Add([]byte("HTTP/1.1 200 OK\r\r\n"), uint8(12))
	f.Add([]byte(" OK\n\r\n"), uint8(0))
	f.Add([]byte(" no end\r"), uint8(1))
	f.Fuzz(func(t *testing.T, b []byte, p8 uint8) {
		p := int(p8)
		if p > len(b) {
			return
		}
		wantEnd, wantNext := -1, 0
		for q := p; q < len(b); q++ {
			if b[q] == '\r' && wantEnd < 0 {
				wantEnd = q
			}
			if b[q] == '\n' {
				if wantEnd < 0 {
					wantEnd = q
				}
				wantNext = q + 1
				break
			}
		}
		end, next := statusLineEnd(b, p)
		if next != wantNext || next != 0 && end != wantEnd {
			t.Fatalf("%q at %d: got %d, %d; want %d, %d", b, p, end, next, wantEnd, wantNext)
		}
	})
}

// BenchmarkParseResponseHead: a WebSocket backend's 101 and a small
// proxied 200's heads, one parse each.
func BenchmarkParseResponseHead(b *testing.B) {
	heads := [][]byte{
		[]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"),
		[]byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\nDate: Mon, 07 Dec 2026 16:30:00 GMT\r\n\r\n"),
	}
	var h ResponseHead
	for b.Loop() {
		for _, head := range heads {
			if n, err := ParseResponseHead(head, &h); n != len(head) || err != nil {
				b.Fatal(n, err)
			}
		}
	}
}
