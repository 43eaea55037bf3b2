package upstream

import (
	"testing"
	"unsafe"
)

// TestTunnelSize keeps a tunnel, with its detached end's records, in the
// 1152-byte size class on 64-bit platforms: one allocation per tunnel,
// whose bytes set how often the GC runs on a row of short WebSocket
// connections.
func TestTunnelSize(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		return
	}
	if got := unsafe.Sizeof(tunnel{}); got > 1152 {
		t.Errorf("tunnel is %d bytes, want at most 1152", got)
	}
}
