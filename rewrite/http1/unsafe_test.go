package http1

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The cases of nginx's proxy_xar.t and ssi.t, and the edges of
// ngx_http_parse_unsafe_uri's two passes.
func TestParseUnsafeURI(t *testing.T) {
	type result struct {
		URI, Args string
		HasArgs   bool
		OK        bool
	}
	tests := []struct {
		in   string
		want result
	}{
		{"/index.html", result{URI: "/index.html", OK: true}},
		{"/foo?bar", result{URI: "/foo", Args: "bar", HasArgs: true, OK: true}},
		{"/foo?", result{URI: "/foo", HasArgs: true, OK: true}},
		{"/a?b?c", result{URI: "/a", Args: "b?c", HasArgs: true, OK: true}},
		{"..", result{URI: "..", OK: false}},
		{"../foo", result{URI: "../foo", OK: false}},
		{"..foo", result{URI: "..foo", OK: true}},
		{"/foo/..", result{URI: "/foo/..", OK: false}},
		{"/foo/../bar", result{URI: "/foo/../bar", OK: false}},
		{"/foo/..bar", result{URI: "/foo/..bar", OK: true}},
		{"/foo/./bar", result{URI: "/foo/./bar", OK: true}},
		// The first pass stops at '?': what is before it may end in "..".
		{"/foo/..?x", result{URI: "/foo/..", Args: "x", HasArgs: true, OK: true}},
		{"/foo/../?x", result{URI: "/foo/../?x", OK: false}},
		{"/foo/.%2e", result{URI: "/foo/..", OK: false}},
		{"/foo/%2e%2E/x", result{URI: "/foo/../x", OK: false}},
		{"%2e%2e", result{URI: "..", OK: false}},
		{"/foo%20bar", result{URI: "/foo bar", OK: true}},
		{"/foo%20bar?a=%20", result{URI: "/foo bar", Args: "a=%20", HasArgs: true, OK: true}},
		{"/a%3fb", result{URI: "/a?b", OK: true}},
		{"/a%00b", result{URI: "/a\x00b", OK: false}},
		{"/a\x00b", result{URI: "/a\x00b", OK: false}},
		{"/a%zzb", result{URI: "/azzb", OK: true}},
		{"/a%2zb", result{URI: "/ab", OK: true}},
		{"/a%", result{URI: "/a", OK: true}},
		{"", result{OK: false}},
		{"?a", result{URI: "?a", OK: false}},
		{"foo", result{URI: "foo", OK: true}},
	}
	var buf []byte
	for _, tt := range tests {
		var uri, args []byte
		var r result
		uri, args, r.HasArgs, r.OK, buf = ParseUnsafeURI([]byte(tt.in), buf)
		r.URI, r.Args = string(uri), string(args)
		if diff := cmp.Diff(tt.want, r); diff != "" {
			t.Errorf("ParseUnsafeURI(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

// FuzzParseUnsafeURI: a URI found safe has no "/../" segment, no NUL and
// does not start with "../", however its escapes decode (a ".." before
// the '?' passes, as in nginx); the arguments are the input's tail.
func FuzzParseUnsafeURI(f *testing.F) {
	for _, s := range []string{"/index.html", "/foo?bar", "/foo/.%2e", "/%2e%2e/", "..", "/a/..?b", "/%00", "%"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		uri, args, hasArgs, ok, _ := ParseUnsafeURI(in, nil)
		if !ok {
			return
		}
		if bytes.IndexByte(uri, 0) >= 0 || bytes.HasPrefix(uri, []byte("../")) ||
			bytes.Contains(uri, []byte("/../")) {
			t.Fatalf("ParseUnsafeURI(%q) = %q: unsafe", in, uri)
		}
		if hasArgs && !bytes.HasSuffix(in, append([]byte("?"), args...)) {
			t.Fatalf("ParseUnsafeURI(%q): args %q are not its tail", in, args)
		}
		if !hasArgs && len(args) > 0 {
			t.Fatalf("ParseUnsafeURI(%q): args %q without '?'", in, args)
		}
	})
}
