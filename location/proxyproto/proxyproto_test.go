package proxyproto

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func v2(verCmd, fam byte, body ...byte) string {
	return "\r\n\r\n\x00\r\nQUIT\n" + string([]byte{verCmd, fam, byte(len(body) >> 8), byte(len(body))}) + string(body)
}

func TestParse(t *testing.T) {
	inet := []byte{192, 0, 2, 1, 192, 0, 2, 2, 0, 123, 0x16, 0x2e}
	inet6 := append(append([]byte{0x20, 1, 0xd, 0xb8, 15: 1}, []byte{0x20, 1, 0xd, 0xb8, 15: 2}...), 0, 1, 0, 2)
	tests := []struct {
		name string
		in   string
		want *Header
		n    int
		err  string
	}{
		{"tcp4", "PROXY TCP4 192.0.2.1 192.0.2.2 123 5678\r\nGET", &Header{"192.0.2.1", "192.0.2.2", 123, 5678}, 41, ""},
		{"tcp6 kept as sent", "PROXY TCP6 2001:Db8::1 ::2 1 2\r\n", &Header{"2001:Db8::1", "::2", 1, 2}, 32, ""},
		{"empty source", "PROXY TCP4  1.2.3.4 1 2\r\n", &Header{"", "1.2.3.4", 1, 2}, 25, ""},
		{"leading zeros", "PROXY TCP4 a b 0080 0\r\n", &Header{"a", "b", 80, 0}, 23, ""},
		{"unknown", "PROXY UNKNOWN\r\nGET", nil, 15, ""},
		{"unknown junk", "PROXY UNKNOWN x y\rz\r\n", nil, 21, ""},
		{"unknown no crlf", "PROXY UNKNOWN x", nil, 0, "broken header: \"PROXY UNKNOWN x\""},
		{"short", "PROXY \r\n", nil, 0, "broken header: \"PROXY \r\n\""},
		{"too short", "PROXY\r\n", nil, 0, "broken header: \"PROXY\r\n\""},
		{"not proxy", "GET / HTTP/1.0\r\n", nil, 0, "broken header: \"GET / HTTP/1.0\r\n\""},
		{"tcp5", "PROXY TCP5 a b 1 2\r\n", nil, 0, "broken header: \"PROXY TCP5 a b 1 2\r\n\""},
		{"bad char", "PROXY TCP4 a.g b 1 2\r\n", nil, 0, "broken header: \"PROXY TCP4 a.g b 1 2\r\n\""},
		{"port too big", "PROXY TCP4 a b 1 65536\r\n", nil, 0, "broken header: \"PROXY TCP4 a b 1 65536\r\n\""},
		{"port max", "PROXY TCP4 a b 65535 1\r\n", &Header{"a", "b", 65535, 1}, 24, ""},
		{"empty port", "PROXY TCP4 a b  1\r\n", nil, 0, "broken header: \"PROXY TCP4 a b  1\r\n\""},
		{"signed port", "PROXY TCP4 a b -1 1\r\n", nil, 0, "broken header: \"PROXY TCP4 a b -1 1\r\n\""},
		{"no lf", "PROXY TCP4 a b 1 1\r", nil, 0, "broken header: \"PROXY TCP4 a b 1 1\r\""},
		{"lf only", "PROXY TCP4 a b 1 1\n", nil, 0, "broken header: \"PROXY TCP4 a b 1 1\n\""},
		{"v2 inet", v2(0x21, 0x11, inet...) + "GET", &Header{"192.0.2.1", "192.0.2.2", 123, 5678}, 28, ""},
		{"v2 inet6", v2(0x21, 0x21, inet6...), &Header{"2001:db8::1", "2001:db8::2", 1, 2}, 52, ""},
		{"v2 tlv", v2(0x21, 0x11, append(append([]byte{}, inet...), 1, 0, 2, 'h', '2')...), &Header{"192.0.2.1", "192.0.2.2", 123, 5678}, 33, ""},
		{"v2 local", v2(0x20, 0x11, inet...), nil, 28, ""},
		{"v2 udp", v2(0x21, 0x12, inet...), nil, 28, ""},
		{"v2 unix", v2(0x21, 0x31, make([]byte, 216)...), nil, 232, ""},
		{"v2 version 1", v2(0x11, 0x11, inet...), nil, 0, "unknown PROXY protocol version: 1"},
		{"v2 too large", v2(0x21, 0x11, inet...)[:20], nil, 0, "header is too large"},
		{"v2 short inet", v2(0x21, 0x11, 1, 2, 3), nil, 0, "PROXY protocol header refused"},
		{"v2 short inet6", v2(0x21, 0x21, inet...), nil, 0, "PROXY protocol header refused"},
		{"v2 signature only", "\r\n\r\n\x00\r\nQUIT\n\x21", nil, 0, "broken header: \"\r\n\r\n\x00\r\nQUIT\n\x21\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, n, err := Parse([]byte(tt.in))
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if diff := cmp.Diff(tt.want, h); diff != "" {
				t.Errorf("header (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]any{tt.n, tt.err}, []any{n, gotErr}); diff != "" {
				t.Errorf("n, err (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPortText(t *testing.T) {
	if diff := cmp.Diff([]string{"", "1", "65535"}, []string{PortText(0), PortText(1), PortText(65535)}); diff != "" {
		t.Error(diff)
	}
}

// FuzzParse: no panic, the bytes taken lie within the input, and a
// header that parses is whole (parsing just its bytes gives the same).
func FuzzParse(f *testing.F) {
	for _, s := range []string{"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n", "PROXY UNKNOWN\r\n", "PROXY TCP6 ::1 ::2 3 4\r\nGET",
		v2(0x21, 0x11, 1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2), v2(0x20, 0), v2(0x21, 0x21, make([]byte, 40)...)} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, n, err := Parse(b)
		if err != nil {
			if h != nil || n != 0 {
				t.Fatalf("error %v with header %v, n %d", err, h, n)
			}
			return
		}
		if n <= 0 || n > len(b) {
			t.Fatalf("took %d of %d bytes", n, len(b))
		}
		if bytes.HasPrefix(b, v2Signature) {
			return // a v2 header's length field is checked against the read
		}
		h2, n2, err2 := Parse(b[:n])
		if err2 != nil || n2 != n || !cmp.Equal(h, h2) {
			t.Fatalf("header alone parses differently: %v %d %v", h2, n2, err2)
		}
	})
}
