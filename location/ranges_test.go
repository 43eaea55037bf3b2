package location

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestParseRangesNumbers: a range's numbers go up to the largest off_t
// (9223372036854775807), as ngx_http_range_parse's cutoff and cutlim
// have them; one more is a 416.
func TestParseRangesNumbers(t *testing.T) {
	for _, tc := range []struct {
		v    string
		want []byteRange
		code int
	}{
		{"bytes=-9223372036854775807", []byteRange{{0, 20}}, 206},
		{"bytes=0-9223372036854775807", []byteRange{{0, 20}}, 206},
		{"bytes=-9223372036854775808", nil, 416},
		{"bytes=0-9223372036854775808", nil, 416},
		{"bytes=0-18446744073709551615", nil, 416},
		{"bytes=9223372036854775807-", nil, 416}, // past the file: no range left
		{"bytes=00000000000000000000001-2", []byteRange{{1, 3}}, 206},
		{"bytes=4611686018427387904-", nil, 416},
	} {
		got, code := parseRanges([]byte(tc.v), 20, nil, -1)
		if code != tc.code || code == 206 && !cmp.Equal(got, tc.want, cmp.AllowUnexported(byteRange{})) {
			t.Errorf("%s: %v %d, want %v %d", tc.v, got, code, tc.want, tc.code)
		}
	}
}
