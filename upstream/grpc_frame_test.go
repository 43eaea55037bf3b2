package upstream

import (
	"bytes"
	"fmt"
	"net"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/http2"
)

// chunkConn is a net.Conn reading src at most chunk bytes a read.
type chunkConn struct {
	net.Conn
	src   *bytes.Reader
	chunk int
}

func (c *chunkConn) Read(p []byte) (int, error) {
	if len(p) > c.chunk {
		p = p[:c.chunk]
	}
	return c.src.Read(p)
}

// ownFrameResult is a DATA or HEADERS frame as read: the data or
// fragment and the error, as the Framer's parsers give them.
func framerResult(raw []byte) string {
	fr := http2.NewFramer(nil, bytes.NewReader(raw))
	f, err := fr.ReadFrame()
	switch f := f.(type) {
	case *http2.DataFrame:
		return fmt.Sprintf("%q %#v", f.Data(), err)
	case *http2.HeadersFrame:
		return fmt.Sprintf("%q %#v", f.HeaderBlockFragment(), err)
	}
	return fmt.Sprintf("%q %#v", []byte(nil), err)
}

func ownResult(raw []byte, chunk int) string {
	hc := newH2Conn(&chunkConn{src: bytes.NewReader(raw), chunk: chunk}).(*h2Conn)
	fh, err := hc.fr.ReadFrameHeader()
	if err != nil {
		return fmt.Sprintf("%q %#v", []byte(nil), err)
	}
	b, err := hc.readOwnFrame(fh)
	return fmt.Sprintf("%q %#v", b, err)
}

func rawFrame(typ http2.FrameType, flags http2.Flags, id uint32, payload []byte) []byte {
	n := len(payload)
	b := []byte{byte(n >> 16), byte(n >> 8), byte(n), byte(typ), byte(flags),
		byte(id >> 24), byte(id >> 16), byte(id >> 8), byte(id)}
	return append(b, payload...)
}

// A DATA or HEADERS frame read by readOwnFrame gives what the Framer
// gives (its data or fragment, or its error), whether its payload was
// read ahead or not.
func TestGRPCOwnFrame(t *testing.T) {
	d, h := http2.FrameData, http2.FrameHeaders
	padded, prio, end := http2.FlagDataPadded, http2.FlagHeadersPriority, http2.FlagHeadersEndHeaders
	tests := []struct {
		name    string
		typ     http2.FrameType
		flags   http2.Flags
		id      uint32
		payload string
	}{
		{"data", d, http2.FlagDataEndStream, 1, "hello"},
		{"empty data", d, 0, 3, ""},
		{"padded data", d, padded, 1, "\x02abc\x00\x00"},
		{"padded data, no pad byte", d, padded, 1, ""},
		{"data padded past its end", d, padded, 1, "\x05ab"},
		{"data on stream 0", d, 0, 0, "x"},
		{"headers", h, end, 1, "\x88"},
		{"padded headers with a priority", h, end | padded | prio, 5, "\x01\x80\x00\x00\x03\x10\x88\x00"},
		{"headers with a short priority", h, prio, 1, "\x00\x00\x00"},
		{"headers padded past their end", h, padded, 1, "\x09\x88"},
		{"headers on stream 0", h, end, 0, "\x88"},
	}
	for _, tc := range tests {
		raw := rawFrame(tc.typ, tc.flags, tc.id, []byte(tc.payload))
		want := framerResult(raw)
		for _, chunk := range []int{1 << 16, 9, 3} {
			if diff := cmp.Diff(want, ownResult(raw, chunk)); diff != "" {
				t.Errorf("%s, reads of %d (-framer +own):\n%s", tc.name, chunk, diff)
			}
		}
	}
	// What the Framer gives, as this test sees it.
	for raw, want := range map[string]string{
		string(rawFrame(d, padded, 1, []byte("\x02abc\x00\x00"))):                           `"abc" <nil>`,
		string(rawFrame(h, end|padded|prio, 5, []byte("\x01\x80\x00\x00\x03\x10\x88\x00"))): `"\x88" <nil>`,
		string(rawFrame(h, padded, 1, []byte("\x09\x88"))):                                  `"" http2.StreamError{StreamID:0x1, Code:0x1, Cause:error(nil)}`,
	} {
		if diff := cmp.Diff(want, ownResult([]byte(raw), 3)); diff != "" {
			t.Errorf("%q (-want +got):\n%s", raw, diff)
		}
	}
	// A short frame: the end of the stream inside the payload.
	raw := rawFrame(d, 0, 1, []byte("hello"))[:12]
	if diff := cmp.Diff(framerResult(raw), ownResult(raw, 1<<16)); diff != "" {
		t.Errorf("a cut frame (-framer +own):\n%s", diff)
	}
}

// FuzzGRPCOwnFrame: readOwnFrame says what the Framer says of any DATA or
// HEADERS frame.
func FuzzGRPCOwnFrame(f *testing.F) {
	f.Add(false, byte(0x8), uint32(1), []byte("\x02abc\x00\x00"), 3)
	f.Add(true, byte(0x2c), uint32(5), []byte("\x01\x80\x00\x00\x03\x10\x88\x00"), 100)
	f.Fuzz(func(t *testing.T, headers bool, flags byte, id uint32, payload []byte, chunk int) {
		typ := http2.FrameData
		if headers {
			typ = http2.FrameHeaders
		}
		if chunk <= 0 || chunk > 1<<16 {
			chunk = 1 << 16
		}
		raw := rawFrame(typ, http2.Flags(flags), id&(1<<31-1), payload)
		if diff := cmp.Diff(framerResult(raw), ownResult(raw, chunk)); diff != "" {
			t.Fatalf("(-framer +own):\n%s", diff)
		}
	})
}
