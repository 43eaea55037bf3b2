package auth

import (
	"bytes"
	"encoding/base64"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCredentials(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString
	tests := []struct {
		name, header string
		user, pass   string
		ok           bool
	}{
		{"plain", "Basic " + b64([]byte("user:pass")), "user", "pass", true},
		{"scheme case", "bAsIc " + b64([]byte("user:pass")), "user", "pass", true},
		{"spaces", "Basic    " + b64([]byte("u:p")), "u", "p", true},
		{"colon in password", "Basic " + b64([]byte("u:p:q")), "u", "p:q", true},
		{"empty password", "Basic " + b64([]byte("u:")), "u", "", true},
		{"empty user", "Basic " + b64([]byte(":p")), "", "", false},
		{"no colon", "Basic " + b64([]byte("user")), "", "", false},
		{"tab", "Basic\t" + b64([]byte("u:p")), "", "", false},
		{"other scheme", "Bearer abc", "", "", false},
		{"short", "Basic", "", "", false},
		{"nothing after", "Basic    ", "", "", false},
		{"bad char", "Basic dXNl*jpwYXNz", "", "", false},
		{"bad length", "Basic dXNlc", "", "", false},
		{"after '=' ignored", "Basic dXNlcjpwYXNz=garbage*", "user", "pass", true},
		{"unpadded", "Basic " + base64.RawStdEncoding.EncodeToString([]byte("us:p")), "us", "p", true},
		{"nul kept", "Basic " + b64([]byte("u:p\x00q")), "u", "p\x00q", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			user, pass, ok := Credentials(nil, []byte(tt.header))
			if diff := cmp.Diff([]string{tt.user, tt.pass}, []string{string(user), string(pass)}); diff != "" || ok != tt.ok {
				t.Errorf("Credentials(%q) ok=%v (want %v) (-want +got):\n%s", tt.header, ok, tt.ok, diff)
			}
		})
	}
}

func TestLookup(t *testing.T) {
	const file = "# comment\n" +
		"\n" +
		"alice:{PLAIN}a\n" +
		"bob:{PLAIN}b:comment\n" +
		"carol:{PLAIN}c\r\n" +
		"\r dave:{PLAIN}d\n" +
		"  eve:{PLAIN}e\n" +
		"al:{PLAIN}short\n" +
		"alice:{PLAIN}second\n" +
		"frank:{PLAIN}f"
	tests := []struct {
		user, stored string
		found        bool
	}{
		{"alice", "{PLAIN}a", true},
		{"bob", "{PLAIN}b", true},
		{"carol", "{PLAIN}c", true},
		{"dave", "", false},
		{"eve", "", false},
		{"  eve", "{PLAIN}e", true},
		{"al", "{PLAIN}short", true},
		{"a", "", false},
		{"frank", "{PLAIN}f", true},
		{"# comment", "", false},
		{"nobody", "", false},
	}
	for _, tt := range tests {
		stored, found := Lookup([]byte(file), []byte(tt.user))
		if string(stored) != tt.stored || found != tt.found {
			t.Errorf("Lookup(%q) = %q, %v; want %q, %v", tt.user, stored, found, tt.stored, tt.found)
		}
	}
}

// FuzzCredentials: no panic, and what it returns is what the header
// decodes to.
func FuzzCredentials(f *testing.F) {
	for _, s := range []string{"Basic dXNlcjpwYXNz", "basic   Og==", "Basic dXNlcjpwYXNz=x", "Basic \r\n", "Basic :"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, header []byte) {
		user, pass, ok := Credentials(nil, header)
		if !ok {
			return
		}
		if len(user) == 0 || bytes.IndexByte(user, ':') >= 0 {
			t.Fatalf("user %q", user)
		}
		enc := bytes.TrimLeft(header[6:], " ")
		if i := bytes.IndexByte(enc, '='); i >= 0 {
			enc = enc[:i]
		}
		want, err := base64.RawStdEncoding.DecodeString(string(enc))
		if err != nil {
			t.Fatalf("decoded %q that base64 rejects: %v", enc, err)
		}
		got := append(append(append([]byte{}, user...), ':'), pass...)
		if !bytes.Equal(got, want) {
			t.Fatalf("got %q, want %q", got, want)
		}
	})
}

// FuzzLookup: no panic; a user found has a line starting "user:" whose
// password holds no LF, CR or ':'.
func FuzzLookup(f *testing.F) {
	f.Add([]byte("alice:{PLAIN}a\n#x\nbob:b:c"), []byte("bob"))
	f.Add([]byte("\r\n\n:x"), []byte(""))
	f.Fuzz(func(t *testing.T, file, user []byte) {
		stored, found := Lookup(file, user)
		if !found {
			return
		}
		if bytes.ContainsAny(stored, "\r\n:") {
			t.Fatalf("stored %q", stored)
		}
		if !bytes.Contains(file, append(append(append([]byte{}, user...), ':'), stored...)) {
			t.Fatalf("%q:%q not in the file", user, stored)
		}
	})
}

// FuzzUserScan: a file fed in pieces, cut anywhere, scans as it does
// whole.
func FuzzUserScan(f *testing.F) {
	f.Add([]byte("alice:{PLAIN}a\n#x\nbob:b:c"), []byte("bob"), uint8(3), uint8(7))
	f.Fuzz(func(t *testing.T, file, user []byte, cut1, cut2 uint8) {
		wantStored, wantFound := Lookup(file, user)
		var s UserScan
		s.Reset(user, nil)
		a := min(int(cut1), len(file))
		b := min(a+int(cut2), len(file))
		for _, p := range [][]byte{file[:a], file[a:b], file[b:]} {
			if s.Feed(p) {
				break
			}
		}
		stored, found := s.Result()
		if found != wantFound || !bytes.Equal(stored, wantStored) {
			t.Fatalf("pieces: %q %v; whole: %q %v", stored, found, wantStored, wantFound)
		}
	})
}

// FuzzVerify: no panic on any stored string.
func FuzzVerify(f *testing.F) {
	for _, v := range vectors {
		f.Add([]byte(v.password), []byte(v.stored))
	}
	f.Add([]byte("pw"), []byte("$y$j3.$abcd$"))
	f.Add([]byte("pw"), []byte("$y$/3.$abcd$x"))
	f.Fuzz(func(t *testing.T, password, stored []byte) {
		if prm, _, ok := parseYescryptSetting(string(stored)); ok &&
			prm.n*uint64(prm.r)*uint64(prm.p)*uint64(prm.t+1) > 1<<12 {
			return // a cost, not a new path
		}
		if bytes.HasPrefix(stored, []byte("$2")) || bytes.Contains(stored, []byte("rounds=")) ||
			bytes.HasPrefix(stored, []byte("_")) || bytes.HasPrefix(stored, []byte("$sha1$")) {
			return // cost and rounds make slow inputs, not new paths
		}
		Verify(password, stored)
	})
}
