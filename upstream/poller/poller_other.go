//go:build !linux

package poller

import (
	"net"
	"net/netip"
	"syscall"
	"time"
)

// Poller is not available here: Default fails and callers keep a
// goroutine per connection.
type Poller struct{}

// Default fails on systems without epoll.
func Default() (*Poller, error) { return nil, ErrUnsupported }

// New fails on systems without epoll.
func New() (*Poller, error) { return nil, ErrUnsupported }

// Add fails on systems without epoll.
func (p *Poller) Add(rc syscall.RawConn, events uint32, h Handler) (Reg, error) {
	return Reg{}, ErrUnsupported
}

// Modify fails on systems without epoll.
func (r Reg) Modify(rc syscall.RawConn, events uint32) error { return ErrUnsupported }

// Remove does nothing on systems without epoll.
func (r Reg) Remove(rc syscall.RawConn) {}

// Forget does nothing on systems without epoll.
func (r Reg) Forget() {}

// SetHandler does nothing on systems without epoll.
func (r Reg) SetHandler(h Handler) {}

// Settle does nothing on systems without epoll.
func (p *Poller) Settle() {}

// Conn is Linux's only.
type Conn struct{ net.Conn }

// Acceptor is Linux's only.
type Acceptor struct{}

// NewAcceptor fails on systems without epoll: the listener's Accept
// serves.
func NewAcceptor(ln net.Listener) (*Acceptor, error) { return nil, ErrUnsupported }

// Accept fails on systems without epoll.
func (a *Acceptor) Accept(spare *Conn) (*Conn, error) { return nil, ErrUnsupported }

// Deferred: there are no Acceptors on systems without epoll.
func (a *Acceptor) Deferred() bool { return false }

// Dial fails on systems without epoll: package net dials.
func Dial(addr string, deadline time.Time, control func(network, address string, c syscall.RawConn) error) (*Conn, error) {
	return nil, ErrUnsupported
}

// DialAddrPort fails on systems without epoll: package net dials.
func DialAddrPort(netip.AddrPort, string, time.Time, func(network, address string, c syscall.RawConn) error) (*Conn, error) {
	return nil, ErrUnsupported
}

// DialAddrPortWithin fails on systems without epoll: package net dials.
func DialAddrPortWithin(netip.AddrPort, string, time.Time, time.Duration, func(network, address string, c syscall.RawConn) error, *Conn) (*Conn, bool, error) {
	return nil, false, ErrUnsupported
}

// SetNoDelay does nothing on systems without epoll: their backend
// connections are package net's, with TCP_NODELAY.
func (c *Conn) SetNoDelay(on bool) error { return nil }

// Recycle keeps nothing on systems without epoll.
func (c *Conn) Recycle() bool { return false }

// OnInput does nothing on systems without epoll.
func (c *Conn) OnInput(h Handler) {}

// SetReadDeadlineAfter sets the read deadline at now+timeout (none when
// timeout <= 0).
func (c *Conn) SetReadDeadlineAfter(now time.Time, timeout time.Duration) {
	c.Conn.SetReadDeadline(afterTime(now, timeout))
}

// SetWriteDeadlineAfter is SetReadDeadlineAfter's for the write deadline.
func (c *Conn) SetWriteDeadlineAfter(now time.Time, timeout time.Duration) {
	c.Conn.SetWriteDeadline(afterTime(now, timeout))
}

func afterTime(now time.Time, timeout time.Duration) time.Time {
	if timeout <= 0 {
		return time.Time{}
	}
	return now.Add(timeout)
}

// HookInput does nothing on systems without epoll.
func (c *Conn) HookInput(h Handler) bool { return false }

// InputHooked is false on systems without epoll.
func (c *Conn) InputHooked() bool { return false }

// InputQuiet: no handler is called on systems without epoll.
func (c *Conn) InputQuiet() bool { return true }

// OnHangup does nothing on systems without epoll.
func (c *Conn) OnHangup(h Handler) {}

// HangupHooked: no handler is set on systems without epoll.
func (c *Conn) HangupHooked() bool { return false }

// HungUp: nothing is reported on systems without epoll.
func (c *Conn) HungUp() bool { return false }

// InputReported: nothing is reported on systems without epoll.
func (c *Conn) InputReported() bool { return false }

// ConnPoller fails on systems without epoll.
func ConnPoller() (*Poller, error) { return nil, ErrUnsupported }

// SettleConns does nothing on systems without epoll.
func SettleConns() {}

// KnownLocalAddr: there are no Conns on systems without epoll.
func (c *Conn) KnownLocalAddr() *net.TCPAddr { return nil }

// ConnOf: there are no Conns on systems without epoll.
func ConnOf(raw syscall.RawConn) *Conn { return nil }
