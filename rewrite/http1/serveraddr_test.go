package http1

import (
	"net"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// localOnly is a connection's local address, counting the times it is
// asked.
type localOnly struct {
	addr  net.Addr
	asked int
}

func (l *localOnly) LocalAddr() net.Addr { l.asked++; return l.addr }

// ServerAddress is Local's text when known, else the local address read
// only when asked (a wildcard listener's connection), in nginx's text.
func TestServerAddress(t *testing.T) {
	tests := []struct {
		name  string
		known string
		local net.Addr
		want  string
		asked int
	}{
		{"known", "127.0.0.1", &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 80}, "127.0.0.1", 0},
		{"ipv4", "", &net.TCPAddr{IP: net.IPv4(10, 0, 0, 2), Port: 80}, "10.0.0.2", 1},
		{"ipv4 on an ipv6 socket", "", &net.TCPAddr{IP: net.ParseIP("::ffff:10.0.0.3"), Port: 80}, "10.0.0.3", 1},
		{"ipv6", "", &net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Port: 80}, "2001:db8::1", 1},
		{"unix", "", &net.UnixAddr{Name: "/s", Net: "unix"}, "", 1},
	}
	for _, tc := range tests {
		l := &localOnly{addr: tc.local}
		ci := &ConnInfo{ServerPort: 80, Local: l}
		if tc.known != "" {
			ci.Local = AddrText(tc.known)
		}
		got := []any{ci.ServerAddress(), l.asked}
		if diff := cmp.Diff([]any{tc.want, tc.asked}, got); diff != "" {
			t.Errorf("%s: (-want +got)\n%s", tc.name, diff)
		}
	}
	if got := (&ConnInfo{}).ServerAddress(); got != "" {
		t.Errorf("no address: %q", got)
	}
}
