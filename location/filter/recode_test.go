package filter

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestRecodeFromUTF8EverySplit: a UTF-8 sequence cut by a write is
// carried over; one left at the end of the body is dropped.
func TestRecodeFromUTF8EverySplit(t *testing.T) {
	from := new([256]*[256]byte)
	from[0x04] = new([256]byte)
	from[0x04][0x30] = 0xc1 // U+0430 -> 0xC1
	r := &Recoder{FromUTF8: from}
	tests := []struct{ name, in, want string }{
		{"mapped and ascii", "a\xd0\xb0b", "a\xc1b"},
		{"no byte: an entity", "\xe2\x94\x80", "&#9472;"},
		{"invalid", "\xc0\xafz", "??z"},
		{"cut at the end", "a\xd0", "a"},
	}
	for _, tc := range tests {
		for i := 0; i <= len(tc.in); i++ {
			var w recordWire
			var c Chain
			c.Reset(&w)
			var l Recode
			l.Reset(r)
			c.Push(&l)
			c.FilterBody([]byte(tc.in[:i]), false, false)
			c.FilterBody([]byte(tc.in[i:]), false, false)
			c.FilterBody(nil, false, true)
			if d := cmp.Diff(tc.want, w.got.String()); d != "" {
				t.Errorf("%s, cut at %d (-want +got):\n%s", tc.name, i, d)
			}
		}
	}
}

// FuzzRecodeFromUTF8: any body, cut anywhere, recodes as it does whole.
func FuzzRecodeFromUTF8(f *testing.F) {
	f.Add([]byte("a\xd0\xb0\xe2\x94\x80\xc0\xaf\xf0\x9f\x98\x80z"), 3)
	from := new([256]*[256]byte)
	from[0x04] = new([256]byte)
	from[0x04][0x30] = 0xc1
	r := &Recoder{FromUTF8: from}
	run := func(pieces ...[]byte) string {
		var w recordWire
		var c Chain
		c.Reset(&w)
		var l Recode
		l.Reset(r)
		c.Push(&l)
		for _, p := range pieces {
			c.FilterBody(p, false, false)
		}
		c.FilterBody(nil, false, true)
		return w.got.String()
	}
	f.Fuzz(func(t *testing.T, in []byte, cut int) {
		cut = int(uint(cut) % uint(len(in)+1))
		if want, got := run(in), run(in[:cut], in[cut:]); got != want {
			t.Fatalf("cut at %d: %q, whole: %q", cut, got, want)
		}
	})
}
