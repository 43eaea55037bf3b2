package upstream

import "testing"

// proxy_bind's addresses, as ngx_parse_addr_port reads them.
func TestParseAddrPort(t *testing.T) {
	tests := []struct {
		in, want string // want "" : invalid
	}{
		{"127.0.0.2", "127.0.0.2:0"},
		{"127.0.0.2:8080", "127.0.0.2:8080"},
		{"::1", "[::1]:0"},
		{"[::1]:80", "[::1]:80"},
		{"[::1]", ""},
		{"127.0.0.2:0", ""},
		{"127.0.0.2:65536", ""},
		{"127.0.0.2:+80", ""},
		{"127.0.0.2:", ""},
		{"localhost", ""},
		{"localhost:80", ""},
		{"fe80::1%eth0", ""},
		{"", ""},
	}
	for _, tt := range tests {
		ap, err := parseAddrPort(tt.in)
		got := ""
		if err == nil {
			got = ap.String()
		}
		if got != tt.want {
			t.Errorf("parseAddrPort(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzParseAddrPort(f *testing.F) {
	f.Add("[::1]:80")
	f.Add("127.0.0.1:8080")
	f.Fuzz(func(t *testing.T, s string) {
		ap, err := parseAddrPort(s)
		if err == nil && !ap.Addr().IsValid() {
			t.Fatalf("%q: invalid address accepted", s)
		}
	})
}
