package http1

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// equalFoldRef is the byte-at-a-time comparison equalFoldBytes must
// agree with: equal bytes, or ASCII letters that differ in case only.
func equalFoldRef(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		c, d := b[i], s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if 'A' <= d && d <= 'Z' {
			d += 'a' - 'A'
		}
		if c != d {
			return false
		}
	}
	return true
}

func TestEqualFold(t *testing.T) {
	tests := []struct {
		b, s string
		want bool
	}{
		{"Content-Length", "content-length", true},
		{"CONTENT-LENGTH", "content-length", true},
		{"Content-Lengtx", "content-length", false},
		{"Xontent-Length", "content-length", false},
		{"Content\rLength", "content-length", false},     // '\r'|0x20 is '-'
		{"Content-Length\x10", "content-length0", false}, // 0x10|0x20 is '0'
		{"X-Accel-Buffering", "x-accel-buffering", true},
		{"x_accel\x7fbuffering", "x_accel_buffering", false}, // DEL is '_'|0x20
		{"[]", "{}", false},
		{"\xc1bcdefgh", "\xe1bcdefgh", false}, // no letters above ASCII
		{"ABCDEFGH", "abcdefgh", true},
		{"ABCDEFG@", "abcdefg`", false},
		{"Date", "date", true},
		{"Date", "dat", false},
		{"HOST", "host", true},
		{"Hoxt", "host", false},
		{"Accept", "accepT", true},
		{"Accxpt", "accept", false},
		{"Upgrade", "upgradf", false},
		{"TE", "te", true},
		{"TE", "tf", false},
		{"", "", true},
	}
	for _, tt := range tests {
		got := equalFoldBytes([]byte(tt.b), tt.s)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("equalFoldBytes(%q, %q) (-want +got):\n%s", tt.b, tt.s, diff)
		}
	}
}

// FuzzEqualFold checks the word-at-a-time comparison against the
// byte-at-a-time one, on names of any bytes.
func FuzzEqualFold(f *testing.F) {
	f.Add([]byte("Content-Length"), "content-length")
	f.Add([]byte("Transfer-Encoding"), "TRANSFER-encoding")
	f.Add([]byte("\x0d\x10\x7f\xc1"), "-0_\xe1")
	f.Fuzz(func(t *testing.T, b []byte, s string) {
		if len(s) > len(b) {
			s = s[:len(b)]
		}
		if len(b) > len(s) {
			b = b[:len(s)]
		}
		if got, want := equalFoldBytes(b, s), equalFoldRef(b, s); got != want {
			t.Fatalf("equalFoldBytes(%q, %q) = %v, want %v", b, s, got, want)
		}
		// A case-flipped copy of s is equal to it.
		f := []byte(s)
		for i, c := range f {
			if 'a' <= c && c <= 'z' {
				f[i] = c - ('a' - 'A')
			}
		}
		if !equalFoldBytes(f, s) {
			t.Fatalf("equalFoldBytes(%q, %q) = false", f, s)
		}
	})
}

func BenchmarkEqualFold(b *testing.B) {
	names := [][]byte{[]byte("Content-Length"), []byte("Content-Type"), []byte("Date"), []byte("Transfer-Encoding")}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		for _, n := range names {
			equalFoldBytes(n, "content-length")
			equalFoldBytes(n, "content-type")
		}
	}
}

// TestHeaderValue: the header a name finds (case aside), after a parse
// (which notes its names' lengths) and in a Request built by hand.
func TestHeaderValue(t *testing.T) {
	head := "GET / HTTP/1.1\r\nHost: h\r\nIf-None-Match: \"x\"\r\nX-Long-Name-Of-Sixty-Four-Bytes-Or-More-For-The-Shared-Length-Bit: a\r\n\r\n"
	var r Request
	r.reset(nil)
	if _, err := parseHead([]byte(head), &r, &DefaultLimits); err != nil {
		t.Fatal(err)
	}
	hand := Request{Headers: []Header{{Name: []byte("If-None-Match"), Value: []byte(`"x"`)}}}
	tests := []struct {
		r          *Request
		name, want string
	}{
		{&r, "host", "h"},
		{&r, "if-none-match", `"x"`},
		{&r, "if-match", ""},
		{&r, "cache-control", ""}, // the length of if-none-match
		{&r, "x-long-name-of-sixty-four-bytes-or-more-for-the-shared-length-bit", "a"},
		{&r, "x-long-name-of-sixty-four-bytes-or-more-for-the-shared-length-bit-and-more", ""},
		{&hand, "if-none-match", `"x"`},
		{&hand, "host", ""},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, string(tt.r.HeaderValue(tt.name))); diff != "" {
			t.Errorf("HeaderValue(%q) (-want +got):\n%s", tt.name, diff)
		}
	}
}

// FuzzAppendLower: AppendLower is bytes.ToLower for ASCII, other bytes
// kept, after what dst held.
func FuzzAppendLower(f *testing.F) {
	f.Add([]byte("pre"), []byte("Content-Type: X-\xc3\x84Z@[`{"))
	f.Fuzz(func(t *testing.T, dst, src []byte) {
		want := append([]byte{}, dst...)
		for _, c := range src {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			want = append(want, c)
		}
		if got := AppendLower(dst, src); !bytes.Equal(got, want) {
			t.Errorf("AppendLower(%q, %q) = %q, want %q", dst, src, got, want)
		}
	})
}

// containsFoldRef is containsFold's reference: a comparison at every
// offset.
func containsFoldRef(b []byte, s string) bool {
	for i := 0; i+len(s) <= len(b); i++ {
		if equalFoldRef(b[i:i+len(s)], s) {
			return true
		}
	}
	return false
}

func TestContainsFold(t *testing.T) {
	tests := []struct {
		b, s string
		want bool
	}{
		{"Upgrade", "close", false},
		{"close", "close", true},
		{"CLOSE", "close", true},
		{"Keep-Alive, Upgrade", "keep-alive", true},
		{"foo, Close", "close", true},
		{"clos", "close", false},
		{"Cclose", "close", true},
		{"\x03lose", "close", false},
		{"@x", "`x", false}, // '@'|0x20 is '`', but neither is a letter
		{"`x", "`x", true},
		{"", "", true},
		{"abc", "", true},
		{"", "a", false},
	}
	for _, tt := range tests {
		if got := containsFold([]byte(tt.b), tt.s); got != tt.want {
			t.Errorf("containsFold(%q, %q) = %v, want %v", tt.b, tt.s, got, tt.want)
		}
	}
}

// FuzzContainsFold checks containsFold against a comparison at every
// offset.
func FuzzContainsFold(f *testing.F) {
	f.Add([]byte("Upgrade"), "close")
	f.Add([]byte("keep-alive, Upgrade"), "upgrade")
	f.Add([]byte("\x03LOSE`@"), "close")
	f.Fuzz(func(t *testing.T, b []byte, s string) {
		if got, want := containsFold(b, s), containsFoldRef(b, s); got != want {
			t.Fatalf("containsFold(%q, %q) = %v, want %v", b, s, got, want)
		}
	})
}

func BenchmarkContainsFold(b *testing.B) {
	values := [][]byte{[]byte("Upgrade"), []byte("keep-alive"), []byte("Keep-Alive, Upgrade"), []byte("close")}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		for _, v := range values {
			if !containsFold(v, "close") {
				containsFold(v, "keep-alive")
			}
		}
	}
}
