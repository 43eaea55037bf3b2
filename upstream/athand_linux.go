package upstream

import (
	"net"
	"syscall"
)

// atHand reports whether a read on nc would return at once (bytes or the
// end are there), peeking without waiting: nginx's unbuffered relay
// reads what is ready while it sends to the client, and its log says so.
func atHand(nc net.Conn) bool {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	ready := true
	rc.Read(func(fd uintptr) bool {
		var b [1]byte
		_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		ready = err != syscall.EAGAIN
		return true // never wait
	})
	return ready
}
