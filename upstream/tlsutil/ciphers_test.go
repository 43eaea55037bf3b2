package tlsutil

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCipherElems(t *testing.T) {
	tests := []struct {
		list string
		want []string
	}{
		{"HIGH:!aNULL:!MD5", []string{"HIGH", "!aNULL", "!MD5"}},
		{"ECDHE+AESGCM, AES256;;-SHA1 @SECLEVEL=0", []string{"ECDHE+AESGCM", "AES256", "-SHA1", "@SECLEVEL=0"}},
		{"::", []string{}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, CipherElems(tt.list)); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tt.list, diff)
		}
	}
}
