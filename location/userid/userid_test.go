package userid

import (
	"encoding/base64"
	"encoding/binary"
	"testing"

	"github.com/gonginx/gonginx/rewrite/http1"
	"github.com/google/go-cmp/cmp"
)

func cookies(lines ...string) []http1.Header {
	var hs []http1.Header
	for _, l := range lines {
		hs = append(hs, http1.Header{Name: []byte("Cookie"), Value: []byte(l)})
	}
	hs = append(hs, http1.Header{Name: []byte("X-Cookie"), Value: []byte("uid=no")})
	return hs
}

func TestFindCookie(t *testing.T) {
	tests := []struct {
		lines []string
		want  string // "" not found
	}{
		{[]string{"uid=abc"}, "abc"},
		{[]string{"a=1; uid=abc; b=2"}, "abc"},
		{[]string{"UID = abc ; b"}, "abc "},
		{[]string{"xuid=1; uid=2"}, "2"},
		{[]string{"uidx=1"}, ""},
		{[]string{"uid"}, ""},
		{[]string{"a=1, uid=3"}, "3"},
		{[]string{"a=1", "uid=4"}, "4"},
		{[]string{"ui"}, ""},
	}
	for _, tt := range tests {
		v, _, ok := FindCookie(cookies(tt.lines...), "uid")
		got := ""
		if ok {
			got = string(v)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tt.lines, diff)
		}
	}
}

func TestDecodeAndVar(t *testing.T) {
	raw := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	enc := base64.StdEncoding.EncodeToString(raw) // 24 characters, "==" last
	tests := []struct {
		cookie, want, err string
	}{
		{enc, "uid=04030201080706050C0B0A09100F0E0D", ""},
		{enc[:22] + "t=", "uid=04030201080706050C0B0A09100F0E0D", ""},
		{enc[:22], "uid=04030201080706050C0B0A09100F0E0D", ""},
		{enc[:21], "", "too short"},
		{enc[:21] + "!", "", "invalid"},
		{enc[:20] + "==", "uid=04030201080706050C0B0A09000F0E0D", ""},
	}
	for _, tt := range tests {
		u, err := Decode([]byte(tt.cookie))
		if err != tt.err {
			t.Errorf("%q: err %q, want %q", tt.cookie, err, tt.err)
			continue
		}
		if err != "" {
			continue
		}
		if diff := cmp.Diff(tt.want, string(AppendVar(nil, "uid", &u))); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tt.cookie, diff)
		}
	}
}

func TestAppendCookie(t *testing.T) {
	var u UID
	b := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	for i := range u {
		u[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	enc := base64.StdEncoding.EncodeToString(b)
	c := &Config{Name: "uid", Path: "; path=/", Domain: "; domain=example.com", Expires: MaxExpires,
		Flags: Secure | HTTPOnly | SameSiteLax, Mark: 't'}
	tests := []struct {
		name  string
		fresh bool
		got   string
		exp   int64
		want  string
	}{
		{"fresh", true, "", MaxExpires, "uid=" + enc[:22] + "t=; expires=Thu, 31-Dec-37 23:55:55 GMT; domain=example.com; path=/; secure; httponly; samesite=lax"},
		{"re-marked", false, enc[:22] + "==", 100, "uid=" + enc[:22] + "t=; expires=Sat, 03-Jan-1970 00:00:00 GMT; domain=example.com; path=/; secure; httponly; samesite=lax"},
		{"session", true, "", 0, "uid=" + enc[:22] + "t=; domain=example.com; path=/; secure; httponly; samesite=lax"},
	}
	for _, tt := range tests {
		cc := *c
		cc.Expires = tt.exp
		got := string(AppendCookie(nil, &cc, &u, tt.fresh, []byte(tt.got), 172800-100))
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
	if got := string(AppendCookieTime(nil, 2145916555)); got != "Thu, 31-Dec-37 23:55:55 GMT" {
		t.Errorf("2037: %q", got)
	}
}

func TestNew(t *testing.T) {
	c := &Config{Enable: On}
	u := New(c, [4]byte{127, 0, 0, 1}, 0x01020304)
	if u[0] != 0x0100007f || u[1] != 0x04030201 || u.Zero() {
		t.Errorf("on: %08x", u)
	}
	c = &Config{Enable: V1, Service: 7, HasService: true}
	a, b := New(c, [4]byte{}, 5), New(c, [4]byte{}, 5)
	if a[0] != 7 || a[1] != 5 || b[3]-a[3] != 0x100 {
		t.Errorf("v1: %08x %08x", a, b)
	}
}

// FuzzCookie reads any Cookie line: no panic, and a uid found decodes
// from exactly the characters it was sent as.
func FuzzCookie(f *testing.F) {
	for _, s := range []string{"uid=AAAAAAAAAAAAAAAAAAAAAA==", "a=1; uid = x", "uid", "uid=;uid=2", "UID=////////////////////Zg=="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		v, _, ok := FindCookie(cookies(line), "uid")
		if !ok {
			return
		}
		u, err := Decode(v)
		if err != "" || u.Zero() {
			return
		}
		c := &Config{Name: "uid"}
		out := AppendCookie(nil, c, &u, true, nil, 0)
		back, err := Decode(out[4:])
		if err != "" || back != u {
			t.Fatalf("%q: %x re-encoded as %q", line, u, out)
		}
	})
}
