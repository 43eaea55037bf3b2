package http1

import (
	"testing"
	"unsafe"

	"github.com/google/go-cmp/cmp"
)

func TestRemotePortText(t *testing.T) {
	for _, tc := range []struct {
		port uint16
		want string
	}{{0, ""}, {1, "1"}, {5000, "5000"}, {65535, "65535"}} {
		ci := &ConnInfo{RemotePort: tc.port}
		if diff := cmp.Diff(tc.want, string(ci.AppendRemotePort([]byte("x")))[1:]); diff != "" {
			t.Errorf("AppendRemotePort(%d) (-want +got):\n%s", tc.port, diff)
		}
		if diff := cmp.Diff(tc.want, ci.RemotePortText()); diff != "" {
			t.Errorf("RemotePortText(%d) (-want +got):\n%s", tc.port, diff)
		}
	}
}

func TestPortNumber(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint16
	}{{"", 0}, {"0", 0}, {"80", 80}, {"65535", 65535}, {"65536", 0}, {"x1", 0}} {
		if diff := cmp.Diff(tc.want, PortNumber(tc.in)); diff != "" {
			t.Errorf("PortNumber(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
}

// TestConnInfoSize keeps ConnInfo, which every idle connection holds, in
// the 64-byte size class on 64-bit platforms.
func TestConnInfoSize(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		return
	}
	if got := unsafe.Sizeof(ConnInfo{}); got > 64 {
		t.Errorf("ConnInfo is %d bytes, want at most 64", got)
	}
}
