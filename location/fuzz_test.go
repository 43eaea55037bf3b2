package location

import "testing"

// FuzzParseRange: a client's Range header never panics and never yields a
// range outside the file.
func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"bytes=0-0", "bytes=-5", "bytes=5-", "bytes=1-2,4-5", "bytes=9999999999999999999-", "bytes=-", "bytes= 3 - 4 "} {
		f.Add(s, int64(10))
	}
	f.Fuzz(func(t *testing.T, v string, size int64) {
		if size < 0 {
			size = -size
		}
		ranges, code := parseRanges([]byte(v), size, nil, -1)
		if code != 206 {
			return
		}
		var total int64
		for _, r := range ranges {
			if r.start < 0 || r.end <= r.start || r.end > size {
				t.Fatalf("parseRanges(%q, %d): %v outside the file", v, size, r)
			}
			total += r.end - r.start
		}
		if total > size {
			t.Fatalf("parseRanges(%q, %d): %d bytes of ranges", v, size, total)
		}
	})
}

// FuzzETagList: If-None-Match lists never panic.
func FuzzETagList(f *testing.F) {
	f.Add(`"a", W/"b", *`, `"b"`)
	f.Fuzz(func(t *testing.T, list, etag string) {
		etagListMatch([]byte(list), []byte(etag), true)
	})
}
