package server

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"syscall"
	"time"

	"github.com/gonginx/gonginx/location"
	"github.com/gonginx/gonginx/nginxconf"
)

// listen opens one socket as nginx would for l.
func (s *Server) listen(l *location.Listen) (net.Listener, error) {
	if ln, ok := s.opts.Listeners[l.Key()]; ok {
		return ln, nil
	}
	if s.opts.InheritedOnly {
		return nil, fmt.Errorf("socket %s was not inherited from the master process", l.Addr)
	}
	return ListenSocket(l)
}

// Socket options of Linux that package syscall does not name.
const (
	soReusePort    = 0xf
	tcpDeferAccept = 9
	tcpFastOpen    = 23
)

// nginxBacklog is NGX_LISTEN_BACKLOG on Linux, listen's default backlog.
const nginxBacklog = 511

// ListenSocket opens one socket as nginx would for l, with its options
// (ngx_open_listening_sockets, ngx_configure_listening_sockets); errors
// read as nginx's "bind() to ADDR failed (13: Permission denied)".
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
	var optErr error
	lc := net.ListenConfig{KeepAlive: -1, Control: func(network, address string, c syscall.RawConn) error {
		err := c.Control(func(fd uintptr) { optErr = setListenOptions(int(fd), l) })
		if err != nil {
			return err
		}
		return optErr
	}}
	ln, err := lc.Listen(context.Background(), network, addr)
	if err != nil {
		if optErr != nil {
			return nil, optErr
		}
		return nil, &bindError{msg: fmt.Sprintf("bind() to %s failed (%s)", l.Addr, nginxconf.ErrnoText(err)), err: err}
	}
	// Go listens with the kernel's maximum; nginx with backlog= or 511.
	backlog := l.Backlog
	if backlog <= 0 {
		backlog = nginxBacklog
	}
	if sc, ok := ln.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			var lerr error
			rc.Control(func(fd uintptr) { lerr = syscall.Listen(int(fd), backlog) })
			if lerr != nil {
				ln.Close()
				return nil, fmt.Errorf("listen() to %s, backlog %d failed (%s)", l.Addr, backlog, nginxconf.ErrnoText(lerr))
			}
		}
	}
	return ln, nil
}

// setListenOptions sets l's socket options on the socket before bind.
func setListenOptions(fd int, l *location.Listen) error {
	type opt struct {
		level, name, value int
		text               string
	}
	var opts []opt
	if l.ReusePort {
		opts = append(opts, opt{syscall.SOL_SOCKET, soReusePort, 1, "SO_REUSEPORT"})
	}
	if l.RcvBuf > 0 {
		opts = append(opts, opt{syscall.SOL_SOCKET, syscall.SO_RCVBUF, l.RcvBuf, "SO_RCVBUF"})
	}
	if l.SndBuf > 0 {
		opts = append(opts, opt{syscall.SOL_SOCKET, syscall.SO_SNDBUF, l.SndBuf, "SO_SNDBUF"})
	}
	if l.Network != "unix" {
		switch l.SoKeepalive {
		case "":
		case "off":
			opts = append(opts, opt{syscall.SOL_SOCKET, syscall.SO_KEEPALIVE, 0, "SO_KEEPALIVE"})
		default:
			opts = append(opts, opt{syscall.SOL_SOCKET, syscall.SO_KEEPALIVE, 1, "SO_KEEPALIVE"})
		}
		if l.KeepIdle > 0 {
			opts = append(opts, opt{syscall.IPPROTO_TCP, syscall.TCP_KEEPIDLE, l.KeepIdle, "TCP_KEEPIDLE"})
		}
		if l.KeepIntvl > 0 {
			opts = append(opts, opt{syscall.IPPROTO_TCP, syscall.TCP_KEEPINTVL, l.KeepIntvl, "TCP_KEEPINTVL"})
		}
		if l.KeepCnt > 0 {
			opts = append(opts, opt{syscall.IPPROTO_TCP, syscall.TCP_KEEPCNT, l.KeepCnt, "TCP_KEEPCNT"})
		}
		if l.FastOpen >= 0 {
			opts = append(opts, opt{syscall.IPPROTO_TCP, tcpFastOpen, l.FastOpen, "TCP_FASTOPEN"})
		}
		if l.Deferred {
			// nginx's 1 second: the kernel turns it into its retransmit
			// steps and then accepts anyway.
			opts = append(opts, opt{syscall.IPPROTO_TCP, tcpDeferAccept, 1, "TCP_DEFER_ACCEPT"})
		}
	}
	for _, o := range opts {
		if err := syscall.SetsockoptInt(fd, o.level, o.name, o.value); err != nil {
			return fmt.Errorf("setsockopt(%s, %d) %s failed (%s)", o.text, o.value, l.Addr, nginxconf.ErrnoText(err))
		}
	}
	return nil
}

// acceptedKeepalive is the keep-alive the listening socket gives the
// connections it accepts, read back from it: Go's accept turns TCP
// keep-alive on (15s) for every connection, where nginx's inherit the
// listening socket's (off unless so_keepalive).
type acceptedKeepalive struct {
	// inherits: Go's accept leaves the connections' keep-alive alone
	// (acceptsInherited), so they have the listening socket's already.
	inherits bool
	on       bool
	cfg      net.KeepAliveConfig
}

func readKeepalive(ln net.Listener) acceptedKeepalive {
	var ka acceptedKeepalive
	if acceptsInherited(ln) {
		ka.inherits = true
		return ka
	}
	sc, ok := ln.(syscall.Conn)
	if !ok {
		return ka
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return ka
	}
	rc.Control(func(fd uintptr) {
		f := int(fd)
		if v, err := syscall.GetsockoptInt(f, syscall.SOL_SOCKET, syscall.SO_KEEPALIVE); err != nil || v == 0 {
			return
		}
		ka.on, ka.cfg.Enable = true, true
		if v, err := syscall.GetsockoptInt(f, syscall.IPPROTO_TCP, syscall.TCP_KEEPIDLE); err == nil {
			ka.cfg.Idle = time.Duration(v) * time.Second
		}
		if v, err := syscall.GetsockoptInt(f, syscall.IPPROTO_TCP, syscall.TCP_KEEPINTVL); err == nil {
			ka.cfg.Interval = time.Duration(v) * time.Second
		}
		if v, err := syscall.GetsockoptInt(f, syscall.IPPROTO_TCP, syscall.TCP_KEEPCNT); err == nil {
			ka.cfg.Count = v
		}
	})
	return ka
}

// apply gives an accepted connection the listening socket's keep-alive.
func (ka *acceptedKeepalive) apply(nc net.Conn) {
	tc, ok := nc.(*net.TCPConn)
	if !ok || ka.inherits {
		return
	}
	if !ka.on {
		tc.SetKeepAlive(false)
		return
	}
	tc.SetKeepAliveConfig(ka.cfg)
}

// ListenPacketSocket opens a stream{} "listen ... udp" socket.
func ListenPacketSocket(l *location.Listen) (net.PacketConn, error) {
	network := "udp4"
	if l.Network == "tcp6" {
		network = "udp6"
	}
	addr := net.JoinHostPort(l.IP.String(), strconv.Itoa(l.Port))
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
	pc, err := lc.ListenPacket(context.Background(), network, addr)
	if err != nil {
		return nil, &bindError{msg: fmt.Sprintf("bind() to %s failed (%s)", l.Addr, nginxconf.ErrnoText(err)), err: err}
	}
	return pc, nil
}

// bindError reads as nginx's message and unwraps to the cause (errors.Is
// with syscall.EADDRINUSE).
type bindError struct {
	msg string
	err error
}

func (e *bindError) Error() string { return e.msg }
func (e *bindError) Unwrap() error { return e.err }
