package harness

import (
	"net"
	"syscall"
)

// cork holds what is written on c until it is closed.
func cork(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		if raw, err := tc.SyscallConn(); err == nil {
			raw.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_CORK, 1) })
		}
	}
}
