package upstream

import (
	"net"
	"syscall"
	"unsafe"
)

// atHand reports whether a read on nc would return at once (bytes or the
// end are there), peeking without waiting: nginx's unbuffered relay
// reads what is ready while it sends to the client, and its log says so.
func atHand(nc net.Conn) bool {
	readable, ok := peekReadable(nc)
	return readable || !ok
}

// idleClosed reports whether a kept-alive connection has something to
// read (the backend closed it, or sent what no request asked for): nginx's
// keepalive module closes such a connection as soon as its read event
// fires, so it is never reused. fd is the socket's (connFD); the peek
// allocates nothing.
func idleClosed(fd int) bool {
	if fd <= 0 { // 0: a connLife made without one (tests)
		return false
	}
	var b [1]byte
	_, _, errno := syscall.RawSyscall6(syscall.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), 1,
		syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
	return errno != syscall.EAGAIN
}

// connFD is the socket under a backend connection (-1: none), read once
// when it is made.
func connFD(nc net.Conn) int {
	nc = rawConn(nc)
	if h, ok := nc.(*h2Conn); ok {
		nc = rawConn(h.Conn)
	}
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return -1
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return -1
	}
	fd := -1
	rc.Control(func(f uintptr) { fd = int(f) })
	return fd
}

// peekReadable peeks at nc without waiting; ok is false when it cannot.
func peekReadable(nc net.Conn) (readable, ok bool) {
	sc, isSys := nc.(syscall.Conn)
	if !isSys {
		return false, false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false, false
	}
	rc.Read(func(fd uintptr) bool {
		var b [1]byte
		_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		readable = err != syscall.EAGAIN
		return true // never wait
	})
	return readable, true
}

// pendingInput reports whether bytes from the backend wait in the
// socket, peeking through the descriptor itself: a peek through the
// RawConn's Read would queue behind the reader's blocked Read.
func pendingInput(nc net.Conn) bool {
	sc, ok := rawConn(nc).(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	fd := socketFd(rc)
	if fd < 0 {
		return false
	}
	var b [1]byte
	_, _, errno := syscall.RawSyscall6(syscall.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), 1,
		syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
	return errno == 0
}

// clientBlocked reports whether a write to the socket fd would wait (it
// is not writable now), as nginx's event pipe sees its client's write
// event not ready; fd < 0: unknown, taken as blocked.
func clientBlocked(fd int) bool {
	if fd < 0 {
		return true
	}
	pfd := struct {
		fd             int32
		events, revent int16
	}{fd: int32(fd), events: 0x4} // POLLOUT
	var ts syscall.Timespec
	n, _, errno := syscall.Syscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&pfd)), 1,
		uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
	return errno == 0 && n == 0
}

// streamFD is the socket under a client stream (-1: none, as for
// HTTP/2 streams and subrequests).
func streamFD(rc syscall.RawConn) int {
	if rc == nil {
		return -1
	}
	fd := -1
	rc.Control(func(f uintptr) { fd = int(f) })
	return fd
}

// inputReady reports whether a read on the socket fd returns at once
// (bytes, or the end, are there), as nginx's event pipe reads on while
// its read event is ready.
func inputReady(fd int) bool { return idleClosed(fd) }
