package http1

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestValidateHost: the host as ngx_http_validate_host leaves it.
func TestValidateHost(t *testing.T) {
	type result struct {
		Host string
		OK   bool
	}
	tests := []struct {
		in   string
		want result
	}{
		{"Bench.TEST", result{"bench.test", true}},
		{"example.com.", result{"example.com", true}},
		{"example.com:8080", result{"example.com", true}},
		{"example.com.:80", result{"example.com", true}},
		{"[::1]:80", result{"[::1]", true}},
		{"[::1", result{"[::1", true}},
		{"a..b", result{"", false}},
		{"a/b", result{"", false}},
		{"a b", result{"", false}},
		{"a\x7fb", result{"", false}},
		{"ex\xc3\xa9.com", result{"ex\xc3\xa9.com", true}},
		{".", result{"", false}},
		{":80", result{"", false}},
		{"", result{"", false}},
	}
	for _, tt := range tests {
		out, ok := ValidateHost([]byte("pre"), []byte(tt.in))
		if diff := cmp.Diff(tt.want, result{string(out), ok}); diff != "" {
			t.Errorf("ValidateHost(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

// FuzzValidateHost checks ValidateHost against the byte loop it
// replaced.
func FuzzValidateHost(f *testing.F) {
	f.Add([]byte("Bench.TEST:80"))
	f.Add([]byte("[::1]:80."))
	f.Fuzz(func(t *testing.T, host []byte) {
		got, ok := ValidateHost([]byte("x"), host)
		want, wok := validateHostRef([]byte("x"), host)
		if ok != wok || string(got) != string(want) {
			t.Fatalf("%q: got %q %v, want %q %v", host, got, ok, want, wok)
		}
	})
}

// validateHostRef is ValidateHost as it was, a byte at a time.
func validateHostRef(dst, host []byte) (out []byte, ok bool) {
	const (
		sUsual = iota
		sLiteral
		sRest
	)
	dotPos := len(host)
	hostLen := len(host)
	state := sUsual
	for i, ch := range host {
		switch ch {
		case '.':
			if dotPos == i-1 {
				return nil, false
			}
			dotPos = i
		case ':':
			if state == sUsual {
				hostLen = i
				state = sRest
			}
		case '[':
			if i == 0 {
				state = sLiteral
			}
		case ']':
			if state == sLiteral {
				hostLen = i + 1
				state = sRest
			}
		case '/':
			return nil, false
		default:
			if ch <= 0x20 || ch == 0x7f {
				return nil, false
			}
		}
	}
	if dotPos == hostLen-1 {
		hostLen--
	}
	if hostLen <= 0 {
		return nil, false
	}
	start := len(dst)
	for _, c := range host[:hostLen] {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst[start:], true
}
