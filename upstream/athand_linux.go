package upstream

import (
	"crypto/tls"
	"net"
	"syscall"
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
// fires, so it is never reused.
func idleClosed(nc net.Conn) bool {
	for {
		switch c := nc.(type) {
		case *h2Conn:
			nc = c.Conn
			continue
		case *tls.Conn:
			nc = c.NetConn()
			continue
		}
		break
	}
	readable, _ := peekReadable(nc)
	return readable
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
