package realip

import (
	"net"
	"testing"

	"github.com/gonginx/gonginx/rewrite/http1"
	"github.com/google/go-cmp/cmp"
)

func TestParseAddrPort(t *testing.T) {
	tests := []struct {
		in   string
		want string // text and port, "" when rejected
	}{
		{"192.0.2.1", "192.0.2.1"},
		{"192.0.2.1:80", "192.0.2.1 80"},
		{"010.1..2", "10.1.0.2"}, // ngx_inet_addr: decimal, empty octet 0
		{"1.2.3", ""},
		{"1.2.3.256", ""},
		{"1.2.3.4:0", ""},
		{"1.2.3.4:65536", ""},
		{"1.2.3.4:", ""},
		{"::1", "::1"},
		{"2001:DB8:0:0:0:0:0:1", "2001:db8::1"},
		{"[2001:db8::5]:443", "2001:db8::5 443"},
		{"[2001:db8::5]", ""},
		{"2001:db8::5:443", "2001:db8::5:443"},
		{"::ffff:192.0.2.1", "::ffff:192.0.2.1"},
		{"::192.0.2.1", "::192.0.2.1"},
		{"::2", "::2"},
		{"::0.0.1.2", "::0.0.1.2"},
		{"1:0:0:2:0:0:0:3", "1:0:0:2::3"},
		{"1:0:2:0:3:0:4:0", "1:0:2:0:3:0:4:0"},
		{":1::2", "1::2"},
		{"1::2::3", ""},
		{"12345::", ""},
		{"1:2:3:4:5:6:7:8:9", ""},
		{"fe80::1%eth0", ""},
		{"", ""},
		{"junk", ""},
	}
	for _, tt := range tests {
		a, ok := ParseAddrPort([]byte(tt.in))
		got := ""
		if ok {
			got = string(a.AppendText(nil))
			if a.Port != 0 {
				got += " " + itoa(a.Port)
			}
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseAddrPort(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func itoa(n int) string { return string(appendInt(nil, n)) }

func appendInt(b []byte, n int) []byte {
	if n >= 10 {
		b = appendInt(b, n/10)
	}
	return append(b, byte('0'+n%10))
}

func TestParseNet(t *testing.T) {
	lookup := func(name string) ([]net.IP, error) {
		if name == "localhost" {
			return []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")}, nil
		}
		return nil, &net.DNSError{Err: "not found", Name: name}
	}
	tests := []struct {
		in      string
		match   []string
		nomatch []string
		lowBits bool
		bad     bool
	}{
		{in: "10.0.0.0/8", match: []string{"10.255.1.2", "::ffff:10.0.0.1"}, nomatch: []string{"11.0.0.1", "::a00:1"}},
		{in: "10.1.2.3/8", match: []string{"10.9.9.9"}, lowBits: true},
		{in: "0.0.0.0/0", match: []string{"1.2.3.4"}, nomatch: []string{"::1"}},
		{in: "2001:db8::/32", match: []string{"2001:db8:ffff::1"}, nomatch: []string{"2001:db9::1", "10.0.0.1"}},
		{in: "::/0", match: []string{"::1"}, nomatch: []string{"1.2.3.4"}},
		{in: "192.0.2.1", match: []string{"192.0.2.1"}, nomatch: []string{"192.0.2.2"}},
		{in: "localhost", match: []string{"127.0.0.1", "::1"}, nomatch: []string{"127.0.0.2"}},
		{in: "10.0.0.0/33", bad: true},
		{in: "10.0.0.0/", bad: true},
		{in: "nowhere.invalid", bad: true},
	}
	for _, tt := range tests {
		nets, err := ParseNet(tt.in, lookup)
		if tt.bad {
			if err == nil || err == ErrLowBits {
				t.Errorf("ParseNet(%q): no error", tt.in)
			}
			continue
		}
		if (err == ErrLowBits) != tt.lowBits || err != nil && err != ErrLowBits {
			t.Errorf("ParseNet(%q): err %v", tt.in, err)
		}
		for _, s := range tt.match {
			a, _ := ParseAddrPort([]byte(s))
			if !Trusted(nets, &a) {
				t.Errorf("%s does not contain %s", tt.in, s)
			}
		}
		for _, s := range tt.nomatch {
			a, _ := ParseAddrPort([]byte(s))
			if Trusted(nets, &a) {
				t.Errorf("%s contains %s", tt.in, s)
			}
		}
	}
	unix, _ := ParseNet("unix:", lookup)
	peer := Addr{Unix: true}
	if !Trusted(unix, &peer) {
		t.Error("unix: does not trust a unix peer")
	}
	ip, _ := ParseAddrPort([]byte("127.0.0.1"))
	if Trusted(unix, &ip) {
		t.Error("unix: trusts an IP peer")
	}
}

func TestForwarded(t *testing.T) {
	trusted := []Net{}
	for _, s := range []string{"127.0.0.1", "10.0.0.0/8"} {
		n, _ := ParseNet(s, nil)
		trusted = append(trusted, n...)
	}
	tests := []struct {
		name      string
		source    Source
		recursive bool
		peer      string
		headers   []string // name: value
		want      string   // the address afterwards; "" unchanged
	}{
		{name: "untrusted peer", source: XForwardedFor, peer: "192.0.2.1", headers: []string{"X-Forwarded-For: 1.1.1.1"}},
		{name: "last item", source: XForwardedFor, peer: "127.0.0.1", headers: []string{"X-Forwarded-For: 1.1.1.1, 10.0.0.5"}, want: "10.0.0.5"},
		{name: "recursive", source: XForwardedFor, recursive: true, peer: "127.0.0.1", headers: []string{"X-Forwarded-For: 1.1.1.1, 2.2.2.2, 10.0.0.5"}, want: "2.2.2.2"},
		{name: "recursive all trusted", source: XForwardedFor, recursive: true, peer: "127.0.0.1", headers: []string{"x-forwarded-for: 10.0.0.1,10.0.0.5"}, want: "10.0.0.1"},
		{name: "recursive junk", source: XForwardedFor, recursive: true, peer: "127.0.0.1", headers: []string{"X-Forwarded-For: 1.1.1.1, junk, 10.0.0.5"}, want: "10.0.0.5"},
		{name: "junk only", source: XForwardedFor, recursive: true, peer: "127.0.0.1", headers: []string{"X-Forwarded-For: junk"}},
		{name: "empty", source: XForwardedFor, peer: "127.0.0.1", headers: []string{"X-Forwarded-For: "}},
		{name: "separators only", source: XForwardedFor, peer: "127.0.0.1", headers: []string{"X-Forwarded-For: , ,"}},
		{name: "leading comma", source: XForwardedFor, peer: "127.0.0.1", headers: []string{"X-Forwarded-For: ,1.1.1.1"}},
		{name: "lines last first", source: XForwardedFor, peer: "127.0.0.1", headers: []string{"X-Forwarded-For: 1.1.1.1", "X-Forwarded-For: 10.0.0.7, 3.3.3.3"}, want: "3.3.3.3"},
		{name: "lines recursive", source: XForwardedFor, recursive: true, peer: "127.0.0.1", headers: []string{"X-Forwarded-For: 1.1.1.1, 10.0.0.2", "X-Forwarded-For: 10.0.0.7"}, want: "1.1.1.1"},
		{name: "lines recursive stop", source: XForwardedFor, recursive: true, peer: "127.0.0.1", headers: []string{"X-Forwarded-For: 1.1.1.1", "X-Forwarded-For: 3.3.3.3, 10.0.0.7"}, want: "3.3.3.3"},
		{name: "x-real-ip first", source: XRealIP, peer: "127.0.0.1", headers: []string{"X-Real-IP: 4.4.4.4", "X-Real-IP: 5.5.5.5"}, want: "4.4.4.4"},
		{name: "x-real-ip list", source: XRealIP, peer: "127.0.0.1", headers: []string{"X-Real-IP: 4.4.4.4, 5.5.5.5"}, want: "5.5.5.5"},
		{name: "other header", source: Header, peer: "10.1.1.1", headers: []string{"X-Client: 6.6.6.6:1234"}, want: "6.6.6.6"},
	}
	for _, tt := range tests {
		c := &Config{From: trusted, Source: tt.source, Name: "x-client", Recursive: tt.recursive}
		var hs []http1.Header
		for _, h := range tt.headers {
			name, value, _ := cut(h, ": ")
			hs = append(hs, http1.Header{Name: []byte(name), Value: []byte(value)})
		}
		a, _ := ParseAddrPort([]byte(tt.peer))
		got := ""
		if Forwarded(c, hs, &a) {
			got = string(a.AppendText(nil))
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

func cut(s, sep string) (string, string, bool) {
	for i := 0; i+len(sep) <= len(s); i++ {
		if s[i:i+len(sep)] == sep {
			return s[:i], s[i+len(sep):], true
		}
	}
	return s, "", false
}

// FuzzForwarded walks untrusted X-Forwarded-For values: no panic, and an
// address taken prints as text that parses back to itself.
func FuzzForwarded(f *testing.F) {
	for _, s := range []string{"1.1.1.1, 10.0.0.5", "[::1]:80", ",, ,", "::ffff:1.2.3.4", "1::2::3", "010.1..2:65535", ""} {
		f.Add(s, true)
	}
	all, _ := ParseNet("0.0.0.0/0", nil)
	all6, _ := ParseNet("::/0", nil)
	from := append(all, all6...)
	f.Fuzz(func(t *testing.T, v string, recursive bool) {
		c := &Config{From: from, Source: XForwardedFor, Recursive: recursive}
		a, _ := ParseAddrPort([]byte("127.0.0.1"))
		if !Forwarded(c, []http1.Header{{Name: []byte("X-Forwarded-For"), Value: []byte(v)}}, &a) {
			return
		}
		text := a.AppendText(nil)
		b, ok := ParseAddrPort(text)
		b.Port = a.Port
		if !ok || b != a {
			t.Fatalf("%q: took %+v, printed %q, parsed back %+v (%v)", v, a, text, b, ok)
		}
	})
}
