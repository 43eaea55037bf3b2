package upstream

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseCookie(t *testing.T) {
	type attr struct {
		Key, Value string
		HasValue   bool
	}
	tests := []struct {
		in   string
		want []attr
	}{
		{"a=b", []attr{{"a", "b", true}}},
		{" a = b ;Path= /x ; Secure;", []attr{{"a", "b", true}, {"Path", "/x", true}, {"Secure", "", false}, {"", "", false}}},
		{"name", []attr{{"name", "", false}}},
		{"a=b=c;;", []attr{{"a", "b=c", true}, {"", "", false}, {"", "", false}}},
	}
	for _, tt := range tests {
		var got []attr
		for _, a := range parseCookie(nil, []byte(tt.in)) {
			got = append(got, attr{string(a.key), string(a.value), a.hasValue})
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("parseCookie(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func FuzzParseCookie(f *testing.F) {
	f.Add("a=b; Domain=.example.org; Path=/; Secure; HttpOnly; SameSite=Lax")
	f.Add(" ; = ;==; ")
	f.Fuzz(func(t *testing.T, v string) {
		attrs := parseCookie(nil, []byte(v))
		if len(attrs) == 0 {
			t.Fatal("no attributes")
		}
		for _, a := range attrs {
			if len(a.key) > 0 && (a.key[0] == ' ' || a.key[len(a.key)-1] == ' ') {
				t.Fatalf("untrimmed key %q", a.key)
			}
		}
	})
}
