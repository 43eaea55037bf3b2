package upstream

import (
	"strings"
	"testing"
)

// Names from a backend's certificate are untrusted input to the host
// check: no panic, and a name without "*" matches only itself.
func FuzzMatchPattern(f *testing.F) {
	for _, s := range []string{"*.wild.test", "f*.a.b", "*", "*.", ".", "a..b", "xn--*.a.b", "**.a.b"} {
		f.Add(s, "a.wild.test")
	}
	f.Fuzz(func(t *testing.T, pattern, name string) {
		got := matchPattern(pattern, name)
		if !strings.Contains(pattern, "*") {
			want := strings.EqualFold(strings.TrimSuffix(pattern, "."), strings.TrimSuffix(name, "."))
			if got != want {
				t.Errorf("matchPattern(%q, %q) = %v, want %v", pattern, name, got, want)
			}
		}
	})
}

// Cipher strings: no panic; a result is never empty without an error.
func FuzzOpenSSLCiphers(f *testing.F) {
	for _, s := range []string{"DEFAULT", "HIGH:!aNULL:!MD5", "ECDHE+AESGCM:-SHA1:+AES256", "@SECLEVEL=0", "!", "+", "::", "A+"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		suites, _, err := opensslCiphers(spec)
		if err == nil && len(suites) == 0 {
			t.Errorf("%q: no suites and no error", spec)
		}
	})
}
