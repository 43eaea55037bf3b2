package poller

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// tcpDeferAccept is TCP_DEFER_ACCEPT, which package syscall does not
// name.
const tcpDeferAccept = 9

// Acceptor accepts connections from a TCP listener as Conns. It waits in
// the runtime's poller, on a duplicate of the listening socket opened as
// an os.File (whose RawConn reads, where a net.TCPListener's does not):
// a connection queued wakes the accepting goroutine directly. Waiting on
// this package's poller, itself an epoll set in the runtime's, each one
// cost an epoll_pwait more and the poller goroutine's turn, in every
// worker (the listening socket is every worker's). Edge-triggered, so
// Accept takes connections until none is queued, then waits.
type Acceptor struct {
	ln     net.Listener
	f      *os.File // the duplicate, registered in the runtime's poller
	rc     syscall.RawConn
	closed atomic.Bool
	laddr  *net.TCPAddr // the listening address; nil when a wildcard
	// deferred: the socket has TCP_DEFER_ACCEPT ("listen ... deferred").
	deferred bool
	fn       func(fd uintptr) bool
	// accept's result, filled by fn
	nfd   int
	sa    syscall.RawSockaddrAny
	errno syscall.Errno
}

// NewAcceptor accepts from ln; ErrUnsupported when ln is not a TCP
// listener or there is no poller. Close it instead of ln.
func NewAcceptor(ln net.Listener) (*Acceptor, error) {
	tl, ok := ln.(*net.TCPListener)
	if !ok {
		return nil, ErrUnsupported
	}
	if _, err := waits(); err != nil { // where accepted Conns wait (register)
		return nil, err
	}
	lrc, err := tl.SyscallConn()
	if err != nil {
		return nil, err
	}
	dup, deferred, errno := -1, false, syscall.Errno(0)
	if err := lrc.Control(func(fd uintptr) {
		r, _, e := syscall.RawSyscall(syscall.SYS_FCNTL, fd, syscall.F_DUPFD_CLOEXEC, 0)
		dup, errno = int(r), e
		v, err := syscall.GetsockoptInt(int(fd), syscall.IPPROTO_TCP, tcpDeferAccept)
		deferred = err == nil && v > 0
	}); err != nil {
		return nil, err
	}
	if errno != 0 {
		return nil, os.NewSyscallError("fcntl", errno)
	}
	// Non-blocking as the listening socket (one open file): os.NewFile
	// registers it in the runtime's poller.
	f := os.NewFile(uintptr(dup), "listener")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	a := &Acceptor{ln: ln, f: f, rc: rc, deferred: deferred}
	if ta, ok := tl.Addr().(*net.TCPAddr); ok && !ta.IP.IsUnspecified() {
		a.laddr = ta
	}
	a.fn = a.accept
	return a, nil
}

// Close closes the listener; a waiting Accept returns net.ErrClosed.
func (a *Acceptor) Close() error {
	if a.closed.Swap(true) {
		return a.ln.Close()
	}
	// The duplicate's close takes it out of the runtime's poller (the
	// socket may stay open in another process, inherited from the
	// master) and ends a waiting Accept.
	a.f.Close()
	return a.ln.Close()
}

// accept is Accept's callback: one accept4; false (wait) when none is
// queued.
func (a *Acceptor) accept(fd uintptr) bool {
	for {
		n := uint32(syscall.SizeofSockaddrAny)
		nfd, e := sysAccept(fd, &a.sa, &n)
		switch e {
		case syscall.EINTR, syscall.ECONNABORTED:
			continue // a connection reset while queued: the next
		case syscall.EAGAIN:
			return false
		}
		a.nfd, a.errno = nfd, e
		return true
	}
}

// Deferred reports whether the listening socket has TCP_DEFER_ACCEPT:
// its connections come with their first bytes there.
func (a *Acceptor) Deferred() bool { return a.deferred }

// Accept waits for the next connection, as net.TCPListener's Accept
// (its errors: net.ErrClosed once the listener closed, accept4's errno
// otherwise). One Accept runs at a time. spare, when not nil, is a Conn
// Recycle kept, taken for the socket (the caller's no more, whatever
// Accept returns): an accepted Conn was the first of a short connection's two
// allocations, where nginx takes a free ngx_connection_t.
func (a *Acceptor) Accept(spare *Conn) (*Conn, error) {
	if a.closed.Load() {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: a.laddr, Err: net.ErrClosed}
	}
	if err := a.rc.Read(a.fn); err != nil {
		if a.closed.Load() || errors.Is(err, os.ErrClosed) {
			err = net.ErrClosed
		}
		return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: a.laddr, Err: err}
	}
	if a.errno != 0 {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: a.laddr, Err: os.NewSyscallError("accept4", a.errno)}
	}
	c := dialedConn(a.nfd, spare)
	// Nothing read yet, and every byte from now on is reported (the
	// edge-triggered add reports what came before it): a first read
	// through ReadReported waits for the report, as nginx reads a new
	// connection on its first read event. Tried at once, it found
	// nothing most times (the client's first bytes come after its
	// connect), a read(2) per connection for EAGAIN.
	// A deferred listener (TCP_DEFER_ACCEPT) hands over connections
	// whose bytes are there: read at once, as nginx does (rev->ready).
	if !a.deferred {
		c.flags.Store(waitFirstFresh)
	}
	if a.laddr != nil {
		c.laddr.Store(a.laddr)
	}
	port, ip := readSockaddr(&a.sa, c.rip[:])
	c.rport, c.rlen = uint16(port), uint8(len(ip))
	// For input only, as a dialed socket connected at once: its add
	// would report it writable at once, an event for nothing that took
	// a turn of the poller's loop per connection; a write that has to
	// wait adds writability (watchOut).
	if err := c.register(false, true); err != nil {
		sysClose(int(c.fd))
		return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: a.laddr, Err: err}
	}
	return c, nil
}

func newConn(fd int) *Conn {
	c := &Conn{fd: int32(fd)}
	c.state.Store(1)
	return c
}

// register puts c's socket on the Conns' poller (waits, which its
// caller has made) for its life, with TCP_NODELAY as Go's connections
// have it when nodelay.
func (c *Conn) register(out, nodelay bool) error {
	if nodelay {
		sysSetsockoptInt(int(c.fd), syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
	}
	events := In | RDHup | Edge
	if out {
		events |= Out
	}
	reg, err := waitsP.Add((*rawConn)(c), events, c)
	if err != nil {
		return err
	}
	c.slot, c.gen = reg.slot, reg.gen
	if out {
		c.flags.Or(flagRegistered | flagOutOn)
	} else {
		c.flags.Or(flagRegistered)
	}
	return nil
}

// watchOut adds the socket's writability to its registration, before a
// write's first wait: a socket accepted, or dialed and connected at
// once, is registered for input only, as its add reported it writable at once
// (an event of its own, a turn of the poller's loop woken for nothing,
// per connection), and most backend connections never wait to write.
// The modify reports the socket writable if it became so since the
// write's try.
func (c *Conn) watchOut() {
	if !c.hasFlag(flagRegistered) {
		return
	}
	c.flags.Or(flagOutOn)
	c.registration().Modify((*rawConn)(c), In|Out|RDHup|Edge)
}

// Dial connects to addr (an IP address and port) as a net.Dialer with
// KeepAlive -1 would, giving up at deadline (none when zero); control,
// when set, is called with the socket before it connects (a bind).
// ErrUnsupported: addr is not an IP address and port, or there is no
// poller (the caller dials with package net). Unlike Go's dial, it reads
// neither address back from the kernel (getsockname, getpeername): the
// peer's is addr, the local one is read when asked.
func Dial(addr string, deadline time.Time, control func(network, address string, c syscall.RawConn) error) (*Conn, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil, ErrUnsupported
	}
	return DialAddrPort(ap, addr, deadline, control)
}

// DialAddrPort is Dial with addr parsed already (ap): a backend's
// address is parsed once, with the configuration, not per connection
// (~600 instructions).
func DialAddrPort(ap netip.AddrPort, addr string, deadline time.Time, control func(network, address string, c syscall.RawConn) error) (*Conn, error) {
	c, _, err := dialAddrPort(ap, addr, deadline, false, 0, control, nil)
	return c, err
}

// DialAddrPortWithin is DialAddrPort giving up timeout after now (none
// when timeout <= 0), a deadline made only when the connect has to wait
// (on loopback it never does: a time.Time's Add per connection for
// nothing). waited reports whether it did: when not, now is the clock of
// the connect's end too (nginx's cached time of the same turn). spare,
// when not nil, is a Conn Recycle kept, taken for the socket. The socket
// is without TCP_NODELAY, as nginx's upstream connection: its caller
// sets it (SetNoDelay) where nginx does, a setsockopt per connection
// otherwise.
func DialAddrPortWithin(ap netip.AddrPort, addr string, now time.Time, timeout time.Duration, control func(network, address string, c syscall.RawConn) error, spare *Conn) (c *Conn, waited bool, err error) {
	return dialAddrPort(ap, addr, now, true, timeout, control, spare)
}

// SetNoDelay sets or clears TCP_NODELAY, as net.TCPConn's.
func (c *Conn) SetNoDelay(on bool) error {
	if !c.incref() {
		return c.opError("set", net.ErrClosed)
	}
	defer c.decref()
	v := 0
	if on {
		v = 1
	}
	if e := sysSetsockoptInt(int(c.fd), syscall.IPPROTO_TCP, syscall.TCP_NODELAY, v); e != 0 {
		return c.opError("set", os.NewSyscallError("setsockopt", e))
	}
	return nil
}

// dialAddrPort is DialAddrPort's (the deadline at) and
// DialAddrPortWithin's (within: timeout after at, none when timeout <= 0).
func dialAddrPort(ap netip.AddrPort, addr string, at time.Time, within bool, timeout time.Duration, control func(network, address string, c syscall.RawConn) error, spare *Conn) (*Conn, bool, error) {
	if !ap.IsValid() || ap.Addr().Zone() != "" {
		return nil, false, ErrUnsupported
	}
	_, err := waits() // register's poller
	if err != nil {
		return nil, false, ErrUnsupported
	}
	ip := ap.Addr().Unmap()
	family, network := syscall.AF_INET6, "tcp6"
	if ip.Is4() {
		family, network = syscall.AF_INET, "tcp4"
	}
	fd, e := sysSocket(family)
	if e != 0 {
		return nil, false, &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("socket", e)}
	}
	c := dialedConn(fd, spare)
	c.rport = ap.Port()
	if ip.Is4() {
		a := ip.As4()
		c.rlen = uint8(copy(c.rip[:], a[:]))
	} else {
		a := ip.As16()
		c.rlen = uint8(copy(c.rip[:], a[:]))
	}
	fail := func(err error) (*Conn, bool, error) {
		c.Close()
		return nil, false, &net.OpError{Op: "dial", Net: "tcp", Addr: c.RemoteAddr(), Err: err}
	}
	if control != nil {
		if err := control(network, addr, (*rawConn)(c)); err != nil {
			c.Close()
			return nil, false, err
		}
	}
	var sa syscall.RawSockaddrAny
	n := writeSockaddr(&sa, ip, ap.Port())
	if beforeConnect != nil {
		beforeConnect()
	}
	for {
		e = sysConnect(int(c.fd), &sa, n)
		if e != syscall.EINTR {
			break
		}
	}
	switch e {
	case 0, syscall.EISCONN, syscall.EINPROGRESS, syscall.EALREADY:
	default:
		return fail(os.NewSyscallError("connect", e))
	}
	// Connecting (on loopback it is done by now: one getpeername).
	// Looked at before any deadline is set: most connects wait for
	// nothing.
	done, connectErr := true, syscall.Errno(0)
	if e == syscall.EINPROGRESS || e == syscall.EALREADY {
		done, connectErr = connectState(int(c.fd))
	}
	if connectErr != 0 {
		return fail(os.NewSyscallError("connect", connectErr))
	}
	// Registered once connecting: a socket not yet connecting polls as
	// hung up (EPOLLHUP), which the poller, taking it before connect,
	// kept as the Conn's end (HungUp, sticky): a live backend's tunnel
	// direction then read on to EAGAIN and spliced. For writability
	// only while the connect is under way (its report says it is done;
	// the add reports one done meanwhile): a connected socket's add
	// reported it writable, an event for nothing (watchOut's comment).
	// Nothing read yet, and every byte from now on is reported (as an
	// accepted Conn's): a backend answers what it is sent, so the first
	// read through ReadReported waits for the report, as nginx reads
	// an upstream connection on its read event. Tried at once, it found
	// nothing (php row without fastcgi_keep_conn: a recvfrom per request
	// for EAGAIN, 4.10 per request against nginx's 3 receives). A peer
	// that speaks first (a stream proxy's banner) is reported all the
	// same: the edge-triggered add reports bytes already there.
	c.flags.Or(waitFirstFresh)
	// TCP_NODELAY as Go's dial sets it, but not on a backend connection
	// (DialAddrPortWithin's): nginx sets it there only for a TLS
	// handshake, an upgrade or a body streamed (SetNoDelay).
	if err := c.register(!done, !within); err != nil {
		return fail(err)
	}
	waited := !done
	if waited {
		// Writable when done (the poller's report), then looked at again.
		deadline := at
		if within {
			deadline = time.Time{}
			if timeout > 0 {
				deadline = at.Add(timeout)
			}
		}
		c.w.setDeadline(deadline)
		err = c.rawWait(&c.w, func(fd uintptr) bool {
			done, connectErr = connectState(int(fd))
			return done
		}, false, 0)
		c.w.setDeadline(time.Time{})
		if err != nil {
			var oe *net.OpError
			if errors.As(err, &oe) {
				err = oe.Err
			}
			return fail(err)
		}
	}
	if connectErr != 0 {
		return fail(os.NewSyscallError("connect", connectErr))
	}
	return c, waited, nil
}

// connectState looks at a connect under way: done when the socket has
// its peer (getpeername) or the connect failed (SO_ERROR's errno, as
// Go's dial reads it). SO_ERROR alone is 0 while the connect is still
// under way (SYN_SENT), as when it succeeded.
func connectState(fd int) (done bool, errno syscall.Errno) {
	var sa syscall.RawSockaddrAny
	n := uint32(syscall.SizeofSockaddrAny)
	if sysGetpeername(fd, &sa, &n) == 0 {
		return true, 0
	}
	v, e := sysGetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_ERROR)
	if e == 0 {
		e = syscall.Errno(v)
	}
	switch e {
	case 0, syscall.EINPROGRESS, syscall.EALREADY, syscall.EINTR:
		return false, 0
	}
	return true, e
}

// beforeConnect, when set (tests), runs as Dial is about to connect.
var beforeConnect func()

// writeSockaddr writes ip and port as a sockaddr, returning its length.
func writeSockaddr(sa *syscall.RawSockaddrAny, ip netip.Addr, port uint16) uint32 {
	if ip.Is4() {
		p := (*syscall.RawSockaddrInet4)(unsafe.Pointer(sa))
		p.Family, p.Addr = syscall.AF_INET, ip.As4()
		putPort(&p.Port, port)
		return syscall.SizeofSockaddrInet4
	}
	p := (*syscall.RawSockaddrInet6)(unsafe.Pointer(sa))
	p.Family, p.Addr = syscall.AF_INET6, ip.As16()
	putPort(&p.Port, port)
	return syscall.SizeofSockaddrInet6
}

// A sockaddr's port is in network byte order.
func putPort(p *uint16, port uint16) {
	b := (*[2]byte)(unsafe.Pointer(p))
	b[0], b[1] = byte(port>>8), byte(port)
}

func getPort(p *uint16) int {
	b := (*[2]byte)(unsafe.Pointer(p))
	return int(b[0])<<8 | int(b[1])
}

// readSockaddr reads an IPv4 or IPv6 address and port, the IP into ip
// (16 bytes: its start is returned).
func readSockaddr(sa *syscall.RawSockaddrAny, ip []byte) (int, net.IP) {
	switch sa.Addr.Family {
	case syscall.AF_INET:
		p := (*syscall.RawSockaddrInet4)(unsafe.Pointer(sa))
		return getPort(&p.Port), net.IP(ip[:copy(ip, p.Addr[:])])
	case syscall.AF_INET6:
		p := (*syscall.RawSockaddrInet6)(unsafe.Pointer(sa))
		return getPort(&p.Port), net.IP(ip[:copy(ip, p.Addr[:])])
	}
	return 0, nil
}
