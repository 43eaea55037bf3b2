package upstream

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestHPACKLiteralNameBytes: a client's header as a literal field
// without indexing, its name lowered (HTTP/2 refuses upper case), the
// value as sent; the name's length past the 7-bit prefix too.
func TestHPACKLiteralNameBytes(t *testing.T) {
	long := "X-A-Header-Name-Longer-Than-One-Hundred-And-Twenty-Seven-Bytes-Which-Needs-A-Second-Length-Byte-In-HPACK-Z-Zz-AAAAAAAAAAAAAAAAAAAA"
	for _, tc := range []struct {
		name, value string
		want        string
	}{
		{"User-Agent", "Go U", "\x00\x0auser-agent\x04Go U"},
		{"x-plain_09", "", "\x00\x0ax-plain_09\x00"},
		{"@[`{AZaz", "v", "\x00\x08@[`{azaz\x01v"},
		{long, "v", "\x00\x7f\x03" + lower(long) + "\x01v"},
	} {
		got := string(hpackLiteralNameBytes([]byte("prefix"), []byte(tc.name), []byte(tc.value)))
		if diff := cmp.Diff("prefix"+tc.want, got); diff != "" {
			t.Errorf("hpackLiteralNameBytes(%q, %q) (-want +got):\n%s", tc.name, tc.value, diff)
		}
	}
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}
