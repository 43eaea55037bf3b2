package http1

import (
	"io"
	"syscall"
	"unsafe"
)

// readSocket is readNoWait's RawConn callback: one read of the socket
// (non-blocking), never waiting.
func (c *Conn) readSocket(fd uintptr) bool {
	for {
		// Raw, as Sock's reads: through syscall.Read the call entered
		// the scheduler's syscall state, which wakes the runtime's
		// system monitor from its deep sleep (then ~50 wake-ups of
		// 20 µs).
		n, errno := sysRead(fd, c.tryBuf)
		switch {
		case errno == syscall.EINTR:
			continue
		case errno == syscall.EAGAIN:
			c.tryErr = ErrWouldBlock
			if c.tryDn != nil {
				c.tryDn.ReadDrained()
			}
		case errno != 0:
			c.tryErr = errno
		case n == 0:
			c.tryErr = io.EOF
		default:
			c.tryN = n
		}
		return true
	}
}

// socketReadable peeks at the socket under a TLS connection without
// waiting: bytes or an end are there.
func (c *Conn) socketReadable() bool {
	raw, _ := c.Socket()
	if raw == nil {
		return true
	}
	if c.peekFn == nil {
		c.peekFn = c.peekSocket // bound once
	}
	c.tryErr = nil
	raw.Control(c.peekFn)
	return c.tryErr != ErrWouldBlock
}

func (c *Conn) peekSocket(fd uintptr) {
	var b [1]byte
	_, _, errno := syscall.Syscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&b[0])), 1,
		syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
	if errno == syscall.EAGAIN {
		c.tryErr = ErrWouldBlock
	}
}
