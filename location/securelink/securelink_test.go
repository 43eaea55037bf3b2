package securelink

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCheck(t *testing.T) {
	h := md5.Sum([]byte("input"))
	raw := base64.RawURLEncoding.EncodeToString(h[:])
	// The last of 22 characters carries two bits; nginx ignores the rest.
	const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := 0
	for alpha[last] != raw[21] {
		last++
	}
	sameTop := raw[:21] + string(alpha[last^1])
	otherTop := raw[:21] + string(alpha[last^16])
	tests := []struct {
		link string
		now  int64
		want Result
		exp  string
	}{
		{link: raw, want: Valid},
		{link: raw + "==", want: Valid},
		{link: raw + "=junk", want: NotFound}, // longer than 24
		{link: sameTop, want: Valid},
		{link: otherTop, want: NotFound},
		{link: raw + ",100", now: 50, want: Valid, exp: "100"},
		{link: raw + ",100", now: 101, want: Expired, exp: "100"},
		{link: raw + ",0", want: NotFound, exp: "0"},
		{link: raw + ",", want: NotFound},
		{link: raw + ",9223372036854775808", want: NotFound},
		{link: "", want: NotFound},
		{link: "+/", want: NotFound},
	}
	for _, tt := range tests {
		hash, exp, when, ok := Split([]byte(tt.link))
		got := NotFound
		if ok {
			got = Check(hash, []byte("input"), when, tt.now)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tt.link, diff)
		}
		if ok && string(exp) != tt.exp {
			t.Errorf("%q: expires %q, want %q", tt.link, exp, tt.exp)
		}
	}
}

func TestOld(t *testing.T) {
	h := md5.Sum([]byte("f.txt" + "sec"))
	hx := hex.EncodeToString(h[:])
	tests := []struct {
		uri, want string
		ok        bool
	}{
		{"/p/" + hx + "/f.txt", "f.txt", true},
		{"/p/" + hex.EncodeToString(h[:])[:31] + "X/f.txt", "", false},
		{"/p/" + hx + "/", "", false},
		{"/p/" + hx, "", false},
		{"/", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := Old([]byte(tt.uri), "sec")
		if ok != tt.ok || string(got) != tt.want {
			t.Errorf("Old(%q) = %q, %v; want %q, %v", tt.uri, got, ok, tt.want, tt.ok)
		}
	}
}

// FuzzLink: any link value, no panic; a canonical encoding of the right
// MD5 is valid.
func FuzzLink(f *testing.F) {
	for _, s := range []string{"abc", "AAAA,1", "====", "a,b,c", ",5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, link string) {
		hash, _, when, ok := Split([]byte(link))
		if ok {
			Check(hash, []byte(link), when, 0)
		}
		Old([]byte(link), "x")
		h := md5.Sum([]byte(link))
		if Check([]byte(base64.RawURLEncoding.EncodeToString(h[:])), []byte(link), 0, 0) != Valid {
			t.Fatal("canonical link not valid")
		}
	})
}
