package location

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// A backend's Content-Range is untrusted: no input panics, and a range
// read is in order.
func FuzzParseContentRange(f *testing.F) {
	for _, s := range []string{"bytes 0-1/10", "bytes 2-3/*", "bytes", "bytes 5-1/3", "bytes  0 - 1 / 10 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		start, end, complete, ok := parseContentRange([]byte(v))
		if ok && (start < 0 || end < 1 || complete < -1) {
			t.Errorf("%q: %d-%d/%d", v, start, end, complete)
		}
	})
}

func TestParseContentRange(t *testing.T) {
	type r struct {
		Start, End, Complete int64
		OK                   bool
	}
	tests := map[string]r{
		"bytes 0-1/10":                   {0, 2, 10, true},
		"bytes 2-3/*":                    {2, 4, -1, true},
		"bytes  4 - 5 / 6 ":              {4, 6, 6, true},
		"bytes":                          {},
		"bytes 1-2":                      {},
		"bytes 1-2/3x":                   {},
		"Bytes 1-2/3":                    {},
		"bytes 99999999999999999999-1/2": {},
	}
	for in, want := range tests {
		var got r
		got.Start, got.End, got.Complete, got.OK = parseContentRange([]byte(in))
		if !got.OK {
			got = r{}
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%q (-want +got):\n%s", in, d)
		}
	}
}
