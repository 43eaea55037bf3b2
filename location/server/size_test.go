package server

import (
	"testing"
	"unsafe"
)

// TestServerConnSize keeps serverConn, which every idle connection
// holds (its ConnInfo in it), in the 208-byte size class on 64-bit
// platforms.
func TestServerConnSize(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		return
	}
	if got := unsafe.Sizeof(serverConn{}); got > 208 {
		t.Errorf("serverConn is %d bytes, want at most 208", got)
	}
}
