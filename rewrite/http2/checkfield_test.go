package http2

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/http2/hpack"
)

// checkFieldRef is emitField's checks as they were, a byte at a time: the
// reference checkField is fuzzed against.
func checkFieldRef(name, value []byte, underscores bool) int {
	invalid := false
	for i := 0; i < len(name); i++ {
		ch := name[i]
		if i == 0 && ch == ':' {
			continue
		}
		if ch >= 'a' && ch <= 'z' || ch == '-' || ch >= '0' && ch <= '9' || ch == '_' && underscores {
			continue
		}
		if ch <= 0x20 || ch == 0x7f || ch == ':' || ch >= 'A' && ch <= 'Z' {
			return fieldBadName
		}
		invalid = true
	}
	for i := 0; i < len(value); i++ {
		if ch := value[i]; ch == 0 || ch == '\n' || ch == '\r' {
			return fieldBadValue
		}
	}
	if invalid {
		return fieldInvalid
	}
	return fieldOK
}

func TestCheckField(t *testing.T) {
	tests := []struct {
		name, value string
		underscores bool
		want        int
	}{
		{":path", "/a", false, fieldOK},
		{"x-a-1", "v v\tv", false, fieldOK},
		{"x_a", "v", false, fieldInvalid},
		{"x_a", "v", true, fieldOK},
		{"x.a", "v", true, fieldInvalid},
		{"x.a", "v\r", true, fieldBadValue},
		{"X-A", "v", false, fieldBadName},
		{"x:a", "v", false, fieldBadName},
		{"::a", "v", false, fieldBadName},
		{"x a", "v", false, fieldBadName},
		{"x\x7f", "v", false, fieldBadName},
		{"x\xff", "v", false, fieldInvalid},
		{"x", "0123456789abcdef\x00", false, fieldBadValue},
		{"x", "01234567\n", false, fieldBadValue},
		{"x", "0123456\r89abcdef", false, fieldBadValue},
		{"x", "\x01\x02\x7f\x8d\x8a\x80\x0b\x0c\x0e", false, fieldOK},
		{"x", "", false, fieldOK},
		{"x", "abc", false, fieldOK},
		{"x", "ab\n", false, fieldBadValue},
		{"x", "abcd", false, fieldOK},
		{"x", "\rbcd", false, fieldBadValue},
		{"x", "abc\x00efg", false, fieldBadValue},
		{"x", "abcdefg", false, fieldOK},
		{"x", "abcdefgh\r", false, fieldBadValue},
		{"x", "\nbcdefghi", false, fieldBadValue},
		{"abcd", "v", false, fieldOK},
		{"ab_d", "v", false, fieldInvalid},
		{"abcdeF", "v", false, fieldBadName},
		{":path", "v", false, fieldOK},
		{":pat\x80", "v", false, fieldInvalid},
		{"grpc-accept-encoding", "gzip", false, fieldOK},
		{"abcdefgh-0123456789", "v", false, fieldOK},
		{"abcdefgh_", "v", false, fieldInvalid},
		{"abcdefghijklmnop_", "v", true, fieldOK},
		{"abcdefghijklmnoP", "v", false, fieldBadName},
		{"abcdefg.ijklmnop", "v", false, fieldInvalid},
		{"abcdefghijk:mnop", "v", false, fieldBadName},
		{":abcdefgh\xffx", "v", false, fieldInvalid},
		{":abcdefghijklmno\x00", "v", false, fieldBadName},
	}
	for _, tc := range tests {
		got := checkField([]byte(tc.name), []byte(tc.value), tc.underscores)
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%q: %q (-want +got):\n%s", tc.name, tc.value, diff)
		}
		if ref := checkFieldRef([]byte(tc.name), []byte(tc.value), tc.underscores); ref != tc.want {
			t.Errorf("%q: %q: the reference says %d", tc.name, tc.value, ref)
		}
	}
}

// FuzzCheckField: checkField says what the byte-at-a-time checks said.
func FuzzCheckField(f *testing.F) {
	f.Add([]byte(":path"), []byte("/x\r"), false)
	f.Add([]byte("a_b"), []byte("0123456789\x00"), true)
	f.Fuzz(func(t *testing.T, name, value []byte, underscores bool) {
		if diff := cmp.Diff(checkFieldRef(name, value, underscores), checkField(name, value, underscores)); diff != "" {
			t.Fatalf("%q: %q (-ref +got):\n%s", name, value, diff)
		}
	})
}

// TestFieldVerdictCached: the verdict a table entry keeps, and the
// static table's names left unchecked, give checkField's verdict on
// every field, as the fields come again indexed.
func TestFieldVerdictCached(t *testing.T) {
	fields := []hpack.HeaderField{
		{Name: ":method", Value: "GET"},
		{Name: ":path", Value: "/a\x00"},
		{Name: "user-agent", Value: "ok"},
		{Name: "user-agent", Value: "bad\r"},
		{Name: "accept", Value: "x\ny"},
		{Name: "x_y", Value: "1"},
		{Name: "x.y", Value: "2"},
		{Name: "Upper", Value: "3"},
		{Name: "x_y", Value: "bad\x00"},
		{Name: "te", Value: "trailers"},
		{Name: "x-never", Value: "v", Sensitive: true},
	}
	for _, underscores := range []bool{false, true} {
		var buf bytes.Buffer
		enc := hpack.NewEncoder(&buf)
		c := &Conn{cfg: &Config{UnderscoresInHeaders: underscores}}
		var got, want []int
		c.hdec = newDecoder(4096, 8192, func(name, value []byte) {
			got = append(got, c.fieldVerdict(name, value))
			want = append(want, checkField(name, value, underscores))
		})
		for i := 0; i < 3; i++ {
			buf.Reset()
			for _, f := range fields {
				enc.WriteField(f)
			}
			if err := c.hdec.Write(buf.Bytes()); err != nil {
				t.Fatal(err)
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("underscores %v: verdicts -checkField +fieldVerdict:\n%s", underscores, diff)
		}
	}
}

// TestValidPath: a byte is refused in :path when it is a control, a
// space or DEL, as ngx_http_v2_parse_path's parse ('#' starts a fragment).
func TestValidPath(t *testing.T) {
	for ch := 0; ch < 256; ch++ {
		want := !(ch <= ' ' || ch == 0x7f)
		if got := validPath([]byte{'/', 'a', byte(ch), 'b'}); got != want {
			t.Errorf("validPath with %#x: %v, want %v", ch, got, want)
		}
	}
	if validPath([]byte("a/")) {
		t.Error("validPath took a path not starting with /")
	}
}
