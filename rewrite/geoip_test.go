package rewrite

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAppendNgxFloat(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{float64(float32(55.7543)), "55.7543"},
		{float64(float32(-122.0574)), "-122.0574"},
		{0, "0.0000"},
		{-0.00004, "-0.0000"},
		{0.00005, "0.0001"},
		{1.99996, "2.0000"},
		{float64(float32(float64(1799999)/10000 - 180)), "-0.0001"},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, string(appendNgxFloat(nil, tt.in, 4))); diff != "" {
			t.Errorf("%v (-want +got):\n%s", tt.in, diff)
		}
	}
}
