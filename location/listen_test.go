package location

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// listen addresses with port ranges, and the errors nginx 1.22 -t gives
// for each form (checked against it).
func TestParseListenAddrRanges(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr string
	}{
		{in: "8080", want: []string{"0.0.0.0:8080"}},
		{in: "127.0.0.1:8182-8184", want: []string{"127.0.0.1:8182", "127.0.0.1:8183", "127.0.0.1:8184"}},
		{in: "[::1]:8182-8183", want: []string{"[::1]:8182", "[::1]:8183"}},
		{in: "8182-8183", want: []string{"0.0.0.0:8182", "0.0.0.0:8183"}},
		{in: "*:90-90", want: []string{"0.0.0.0:90"}},
		{in: "127.0.0.1:8-5", wantErr: `invalid port range in "127.0.0.1:8-5" of the "listen" directive`},
		{in: "9-8", wantErr: `invalid port range in "9-8" of the "listen" directive`},
		{in: "127.0.0.1:0-5", wantErr: `invalid port in "127.0.0.1:0-5" of the "listen" directive`},
		{in: "127.0.0.1:5-70000", wantErr: `invalid port in "127.0.0.1:5-70000" of the "listen" directive`},
		{in: "127.0.0.1:-5", wantErr: `invalid port in "127.0.0.1:-5" of the "listen" directive`},
		{in: "127.0.0.1:5-", wantErr: `invalid port in "127.0.0.1:5-" of the "listen" directive`},
		{in: "8-70000", wantErr: `invalid port in "8-70000" of the "listen" directive`},
		{in: "0-5", wantErr: `invalid port in "0-5" of the "listen" directive`},
		{in: "1234567890", wantErr: `invalid port in "1234567890" of the "listen" directive`},
	}
	for _, tt := range tests {
		ls, err := parseListenAddr(tt.in, 80)
		var got []string
		for _, l := range ls {
			got = append(got, l.Addr)
		}
		gotErr := ""
		if err != nil {
			gotErr = err.Error()
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("listen %s (-want +got):\n%s", tt.in, diff)
		}
		if diff := cmp.Diff(tt.wantErr, gotErr); diff != "" {
			t.Errorf("listen %s error (-want +got):\n%s", tt.in, diff)
		}
	}
}
