package upstream

import (
	"os"
	"strings"
	"testing"
)

// proxy_store_access as ngx_conf_set_access_slot reads it.
func TestParseAccess(t *testing.T) {
	tests := []struct {
		in   string
		want os.FileMode
		err  bool
	}{
		{"user:rw", 0o600, false},
		{"user:r", 0o400, false},
		{"group:rw all:r", 0o664, false},
		{"user:r group:r all:r", 0o444, false},
		{"all:rw", 0o606, false}, // group gets nothing it was not given
		{"group:x", 0, true},
		{"other:r", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseAccess(strings.Fields(tt.in))
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseAccess(%q) = %o, %v; want %o, error %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}
