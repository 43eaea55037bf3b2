package poller

import (
	"math"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"
)

// Conn as a net.Conn beyond reading and writing: its deadlines, its
// addresses, its shutdown and its RawConn.

// SetDeadline sets both deadlines, as net.Conn's (cleared ones as
// SetReadDeadline's: an upgrade clears both sides' as its tunnel starts).
func (c *Conn) SetDeadline(t time.Time) error {
	if t.IsZero() {
		c.r.deadline.Store(0)
		c.w.deadline.Store(0)
		return nil
	}
	d := monoOf(t)
	c.r.setDeadlineMono(d)
	c.w.setDeadlineMono(d)
	return nil
}

// SetReadDeadline sets the read deadline, as net.Conn's.
// A cleared deadline (most calls) is stored here, without setDeadline's
// call: it wakes no waiter (setDeadlineMono's 0).
func (c *Conn) SetReadDeadline(t time.Time) error {
	if t.IsZero() {
		c.r.deadline.Store(0)
	} else {
		c.r.setDeadline(t)
	}
	return nil
}

// SetWriteDeadline sets the write deadline, as net.Conn's (a cleared
// one as SetReadDeadline's).
func (c *Conn) SetWriteDeadline(t time.Time) error {
	if t.IsZero() {
		c.w.deadline.Store(0)
	} else {
		c.w.setDeadline(t)
	}
	return nil
}

// SetReadDeadlineAfter sets the read deadline at now+timeout (none when
// timeout <= 0) on the monotonic scale, with no time.Time made for it
// (http1.Deadlines' RearmRead).
func (c *Conn) SetReadDeadlineAfter(now time.Time, timeout time.Duration) {
	c.r.setDeadlineMono(monoAfter(now, timeout))
}

// SetWriteDeadlineAfter is SetReadDeadlineAfter's for the write deadline.
func (c *Conn) SetWriteDeadlineAfter(now time.Time, timeout time.Duration) {
	c.w.setDeadlineMono(monoAfter(now, timeout))
}

// monoAfter is now+timeout on Nanotime's scale (0: none, timeout <= 0),
// as MonoOf(now.Add(timeout)): at least 1, at most math.MaxInt64.
func monoAfter(now time.Time, timeout time.Duration) int64 {
	if timeout <= 0 {
		return 0
	}
	since := int64(now.Sub(monoBase)) // saturates at the Duration's bounds
	if since >= math.MaxInt64-1-int64(timeout) {
		return math.MaxInt64
	}
	if since += int64(timeout); since < 0 {
		return 1
	}
	return since + 1
}

// RemoteAddr is the peer's address, as accept gave it, made at each
// call (its IP is the Conn's: not to be changed).
func (c *Conn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IP(c.rip[:c.rlen:c.rlen]), Port: int(c.rport)}
}

// RemoteAddrPort is the peer's address as RemoteAddr's, without making
// a net.TCPAddr (the server reads it once per connection).
func (c *Conn) RemoteAddrPort() netip.AddrPort {
	var ip netip.Addr
	switch c.rlen {
	case 4:
		ip = netip.AddrFrom4([4]byte(c.rip[:4]))
	case 16:
		ip = netip.AddrFrom16(c.rip)
	}
	return netip.AddrPortFrom(ip, c.rport)
}

// LocalAddr is the address the connection arrived on: the listening
// socket's, or (a wildcard listener) getsockname's at the first call.
func (c *Conn) LocalAddr() net.Addr {
	if la := c.laddr.Load(); la != nil {
		return la
	}
	la := &net.TCPAddr{}
	if c.incref() {
		var sa syscall.RawSockaddrAny
		n := uint32(syscall.SizeofSockaddrAny)
		if sysGetsockname(int(c.fd), &sa, &n) == 0 {
			la.Port, la.IP = readSockaddr(&sa, make([]byte, 16))
			c.laddr.Store(la)
		}
		c.decref()
	}
	return la
}

// KnownLocalAddr is the local address when it is known without a
// system call (a listener on an address, or read once already), else
// nil.
func (c *Conn) KnownLocalAddr() *net.TCPAddr { return c.laddr.Load() }

// CloseWrite shuts down the sending side, as net.TCPConn's.
func (c *Conn) CloseWrite() error { return c.shutdown(syscall.SHUT_WR, "close") }

// CloseRead shuts down the receiving side, as net.TCPConn's.
func (c *Conn) CloseRead() error { return c.shutdown(syscall.SHUT_RD, "close") }

func (c *Conn) shutdown(how int, op string) error {
	if !c.incref() {
		return c.opError(op, net.ErrClosed)
	}
	defer c.decref()
	if e := sysShutdown(int(c.fd), how); e != 0 {
		return c.opError(op, os.NewSyscallError("shutdown", e))
	}
	return nil
}

// SocketNetwork marks a plain socket whose RawConn reads and writes
// as a net.TCPConn's (http1.SockFor, the tunnel's splice).
func (c *Conn) SocketNetwork() string { return "tcp" }

// SyscallConn is the socket's RawConn.
func (c *Conn) SyscallConn() (syscall.RawConn, error) { return (*rawConn)(c), nil }
