package server

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"syscall"

	"github.com/gonginx/gonginx/location"
	"github.com/gonginx/gonginx/nginxconf"
)

// listen opens one socket as nginx would for l.
func (s *Server) listen(l *location.Listen) (net.Listener, error) {
	if ln, ok := s.opts.Listeners[l.Addr]; ok {
		return ln, nil
	}
	if s.opts.InheritedOnly {
		return nil, fmt.Errorf("socket %s was not inherited from the master process", l.Addr)
	}
	return ListenSocket(l)
}

// ListenSocket opens one socket as nginx would for l; errors read as
// nginx's "bind() to ADDR failed (13: Permission denied)".
func ListenSocket(l *location.Listen) (net.Listener, error) {
	network, addr := l.Network, ""
	switch l.Network {
	case "unix":
		addr = l.Path
	case "tcp6":
		addr = net.JoinHostPort(l.IP.String(), strconv.Itoa(l.Port))
		if !l.IPv6Only {
			network = "tcp"
		}
	default:
		addr = net.JoinHostPort(l.IP.String(), strconv.Itoa(l.Port))
	}
	lc := net.ListenConfig{Control: func(network, address string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			if l.ReusePort {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, 0xf /* SO_REUSEPORT */, 1)
			}
			if serr == nil && l.RcvBuf > 0 {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, l.RcvBuf)
			}
			if serr == nil && l.SndBuf > 0 {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF, l.SndBuf)
			}
		})
		if err != nil {
			return err
		}
		return serr
	}}
	ln, err := lc.Listen(context.Background(), network, addr)
	if err != nil {
		return nil, &bindError{msg: fmt.Sprintf("bind() to %s failed (%s)", l.Addr, nginxconf.ErrnoText(err)), err: err}
	}
	return ln, nil
}

// bindError reads as nginx's message and unwraps to the cause (errors.Is
// with syscall.EADDRINUSE).
type bindError struct {
	msg string
	err error
}

func (e *bindError) Error() string { return e.msg }
func (e *bindError) Unwrap() error { return e.err }
