package poller

import (
	"testing"
	"unsafe"
)

// TestConnSize keeps Conn, which every idle connection holds, in the
// 128-byte size class on 64-bit platforms.
func TestConnSize(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		return
	}
	if got := unsafe.Sizeof(Conn{}); got > 128 {
		t.Errorf("Conn is %d bytes, want at most 128", got)
	}
}
