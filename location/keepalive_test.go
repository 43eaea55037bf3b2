package location

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// User-Agents as ngx_http_process_user_agent classifies them for keepalive_disable.
func TestBrowser(t *testing.T) {
	type kind struct{ MSIE, MSIE6, Chrome, Safari bool }
	tests := []struct {
		ua   string
		want kind
	}{
		{"", kind{}},
		{"Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)", kind{MSIE: true, MSIE6: true}},
		{"Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1)", kind{MSIE: true}},
		{"Mozilla/4.0 (compatible; MSIE 5.5; Windows 98)", kind{MSIE: true, MSIE6: true}},
		{"Mozilla/4.0 (compatible; MSIE 4.01; Windows 95)", kind{MSIE: true, MSIE6: true}},
		{"Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 6.0)", kind{MSIE: true}},
		{"MSIE 6.", kind{}}, // more than 7 bytes must follow where "MSIE " begins
		{"MSIE 6.0", kind{MSIE: true, MSIE6: true}},
		{"Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1) Opera 7.54", kind{}},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.1 Safari/605.1.15", kind{Safari: true}},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36", kind{Chrome: true}},
		{"Mozilla/5.0 (Windows NT 10.0) AppleWebKit/605.1.15 Safari/605.1.15", kind{}},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:120.0) Gecko/20100101 Firefox/120.0 Safari/1", kind{}},
		{"Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Chrome/1", kind{}},
		{"Mozilla/4.0 (compatible; MSIE 6.0; Mac OS X) Safari/1 Chrome/1", kind{MSIE: true, MSIE6: true}},
	}
	for _, tc := range tests {
		b := browser([]byte(tc.ua))
		if d := cmp.Diff(tc.want, kind{b.msie, b.msie6, b.chrome, b.safari}); d != "" {
			t.Errorf("browser(%q) (-want +got):\n%s", tc.ua, d)
		}
	}
}
