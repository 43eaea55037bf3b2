package upstream

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gonginx/gonginx/rewrite/http1"
)

// cacheHeaders reads a backend head as nginx's header handlers do, in
// the order the lines come: X-Accel-Expires over Cache-Control over
// Expires (whichever set the time first keeps it, but X-Accel-Expires
// wins over a Cache-Control after it), no-cache/no-store/private,
// max-age=0 and Set-Cookie make it uncacheable, Vary * too.
func TestCacheHeaders(t *testing.T) {
	type result struct {
		Cacheable              bool
		Valid, Updating, Error int64 // Valid relative to now; -1: none
		Vary                   string
	}
	tests := []struct {
		name   string
		ignore ignoreMask
		lines  []string
		want   result
	}{
		{"none", 0, nil, result{true, -1, 0, 0, ""}},
		{"max-age", 0, []string{"Cache-Control: max-age=60"}, result{true, 60, 0, 0, ""}},
		{"s-maxage first", 0, []string{"Cache-Control: max-age=60, s-maxage=10"}, result{true, 10, 0, 0, ""}},
		{"max-age=0", 0, []string{"Cache-Control: max-age=0"}, result{false, -1, 0, 0, ""}},
		{"bad max-age", 0, []string{"Cache-Control: max-age=1x"}, result{false, -1, 0, 0, ""}},
		{"no-cache", 0, []string{"Cache-Control: public, No-Cache"}, result{false, -1, 0, 0, ""}},
		{"private", 0, []string{"Cache-Control: private"}, result{false, -1, 0, 0, ""}},
		{"extensions", 0, []string{"Cache-Control: max-age=5, stale-while-revalidate=7, stale-if-error=9"}, result{true, 5, 7, 9, ""}},
		{"x-accel-expires", 0, []string{"X-Accel-Expires: 30", "Cache-Control: max-age=5"}, result{true, 30, 0, 0, ""}},
		{"cache-control first keeps", 0, []string{"Cache-Control: max-age=5", "Expires: Thu, 01 Jan 2037 00:00:00 GMT"}, result{true, 5, 0, 0, ""}},
		{"x-accel-expires 0", 0, []string{"X-Accel-Expires: 0"}, result{false, -1, 0, 0, ""}},
		{"x-accel-expires ignored", ignXAExpires, []string{"X-Accel-Expires: 0"}, result{true, -1, 0, 0, ""}},
		{"expires past", 0, []string{"Expires: Thu, 01 Jan 1970 00:00:01 GMT"}, result{false, -1, 0, 0, ""}},
		{"set-cookie", 0, []string{"Set-Cookie: a=1"}, result{false, -1, 0, 0, ""}},
		{"set-cookie ignored", ignSetCookie, []string{"Set-Cookie: a=1"}, result{true, -1, 0, 0, ""}},
		{"vary", 0, []string{"Vary: Accept-Encoding"}, result{true, -1, 0, 0, "Accept-Encoding"}},
		{"vary *", 0, []string{"Vary: *"}, result{false, -1, 0, 0, "*"}},
		{"cache-control ignored", ignCacheControl, []string{"Cache-Control: no-store"}, result{true, -1, 0, 0, ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Proxy{ignore: tt.ignore}
			cr := &cacheReq{cacheable: true}
			var hs []http1.Header
			for _, l := range tt.lines {
				name, value, _ := cut(l, ": ")
				hs = append(hs, http1.Header{Name: []byte(name), Value: []byte(value)})
			}
			now := time.Now().Unix()
			p.cacheHeaders(cr, hs, true)
			got := result{cr.cacheable, -1, cr.updatingSec, cr.errorSec, string(cr.vary)}
			if cr.validSec != 0 {
				got.Valid = cr.validSec - now
			}
			// The second may turn between now and the handler's clock.
			if got.Valid >= 0 && got.Valid == tt.want.Valid+1 {
				got.Valid = tt.want.Valid
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func cut(s, sep string) (string, string, bool) {
	for i := 0; i+len(sep) <= len(s); i++ {
		if s[i:i+len(sep)] == sep {
			return s[:i], s[i+len(sep):], true
		}
	}
	return s, "", false
}

// The Vary variant: names are case-folded, Accept-Encoding's values
// normalized (spaces and commas), so equivalent requests share a key.
func TestVariant(t *testing.T) {
	p := &Proxy{}
	cr := &cacheReq{main: [16]byte{1}}
	req := func(hs ...string) *http1.Request {
		r := &http1.Request{}
		for _, h := range hs {
			name, value, _ := cut(h, ": ")
			r.Headers = append(r.Headers, http1.Header{Name: []byte(name), Value: []byte(value)})
		}
		return r
	}
	a := p.variant(cr, req("Accept-Encoding: gzip, br"), []byte("Accept-Encoding"))
	b := p.variant(cr, req("accept-encoding: gzip,br"), []byte("accept-encoding"))
	c := p.variant(cr, req("Accept-Encoding: br"), []byte("Accept-Encoding"))
	if d := cmp.Diff([]bool{true, false}, []bool{a == b, a == c}); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

// The backend's cache headers and the client's Range are untrusted: no
// input panics, and a range found lies inside the body.
func FuzzCacheInputs(f *testing.F) {
	for _, s := range []string{"max-age=5, stale-while-revalidate=7", "s-maxage=1x", "bytes=0-1", "bytes=-5", "bytes= 3 - 9 ", "bytes=9-3"} {
		f.Add(s, int64(10))
	}
	f.Fuzz(func(t *testing.T, v string, size int64) {
		if size < 0 {
			size = -size
		}
		p := &Proxy{}
		cr := &cacheReq{cacheable: true}
		p.cacheControl(cr, []byte(v), 0)
		p.cacheHeaders(cr, []http1.Header{{Name: []byte("X-Accel-Expires"), Value: []byte(v)}, {Name: []byte("Expires"), Value: []byte(v)}}, true)
		start, end, code := parseSingleRange([]byte(v), size)
		if code == 206 && (start < 0 || end > size || start >= end) {
			t.Errorf("range %q of %d: [%d, %d)", v, size, start, end)
		}
		rangeBelow(&http1.Request{Headers: []http1.Header{{Name: []byte("Range"), Value: []byte(v)}}}, 3)
	})
}
