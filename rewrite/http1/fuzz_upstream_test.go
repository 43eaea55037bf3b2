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
