package location

import (
	"testing"

	"github.com/gonginx/gonginx/rewrite/http1"
)

// TestConditional: the not-modified filter's look for a proxied or
// cached response is skipped only for a request with no "If-" header.
func TestConditional(t *testing.T) {
	tests := []struct {
		names []string
		want  bool
	}{
		{nil, false},
		{[]string{"Host", "User-Agent", "Accept"}, false},
		{[]string{"Host", "If-None-Match"}, true},
		{[]string{"if-modified-since"}, true},
		{[]string{"IF-MATCH"}, true},
		{[]string{"If-Unmodified-Since", "Host"}, true},
		{[]string{"If-Range"}, true}, // an over-approximation: the filter's full look
		{[]string{"If-"}, false},
		{[]string{"Iff-Match"}, false},
	}
	for _, tt := range tests {
		var r http1.Request
		for _, n := range tt.names {
			r.Headers = append(r.Headers, http1.Header{Name: []byte(n), Value: []byte("x")})
		}
		if got := conditional(&r); got != tt.want {
			t.Errorf("conditional(%q) = %v, want %v", tt.names, got, tt.want)
		}
	}
}
