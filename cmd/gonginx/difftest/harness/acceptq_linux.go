package harness

import (
	"errors"
	"net"
	"os"
	"sync"
	"syscall"
	"unsafe"
)

// queueListener is a loopback listening socket of the backend's own (a
// net.Listener's RawConn cannot read), so that the backend can take a
// connection off the kernel's accept queue and count it busy in one step
// under its lock, and Take can read the queue's length under the same
// lock: a connection is then always in one or the other.
type queueListener struct {
	f    *os.File
	raw  syscall.RawConn
	addr *net.TCPAddr
}

func listenBackend() (*queueListener, error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		syscall.Close(fd)
		return nil, err
	}
	if err := syscall.Listen(fd, syscall.SOMAXCONN); err != nil {
		syscall.Close(fd)
		return nil, err
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		syscall.Close(fd)
		return nil, err
	}
	l := &queueListener{f: os.NewFile(uintptr(fd), "backend listener"), // non-blocking: on the poller
		addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: sa.(*syscall.SockaddrInet4).Port}}
	if l.raw, err = l.f.SyscallConn(); err != nil {
		l.f.Close()
		return nil, err
	}
	return l, nil
}

func (l *queueListener) Close() error { return l.f.Close() }

// queued is how many connections the kernel has accepted that accept has
// not taken: a listening socket's TCP_INFO gives its accept queue's length
// as tcpi_unacked (what ss shows as Recv-Q).
func (l *queueListener) queued() int {
	var info syscall.TCPInfo
	size := uint32(unsafe.Sizeof(info))
	var errno syscall.Errno
	l.raw.Control(func(fd uintptr) {
		_, _, errno = syscall.Syscall6(syscall.SYS_GETSOCKOPT, fd, syscall.IPPROTO_TCP, syscall.TCP_INFO,
			uintptr(unsafe.Pointer(&info)), uintptr(unsafe.Pointer(&size)), 0)
	})
	if errno != 0 {
		return 0
	}
	return int(info.Unacked)
}

// accept waits for a connection and takes it, calling taken (the
// backend's count) under lock in the same step.
func (l *queueListener) accept(lock sync.Locker, taken func()) (net.Conn, error) {
	for {
		nfd, aerr := -1, error(nil)
		err := l.raw.Read(func(fd uintptr) bool {
			lock.Lock()
			defer lock.Unlock()
			nfd, _, aerr = syscall.Accept4(int(fd), syscall.SOCK_CLOEXEC|syscall.SOCK_NONBLOCK)
			if aerr == syscall.EAGAIN {
				return false // the poller waits for the next connection
			}
			if aerr == nil {
				taken()
			}
			return true
		})
		if err != nil {
			return nil, err // closed
		}
		if errors.Is(aerr, syscall.ECONNABORTED) || errors.Is(aerr, syscall.EINTR) {
			continue
		}
		if aerr != nil {
			return nil, aerr
		}
		f := os.NewFile(uintptr(nfd), "backend connection")
		c, err := net.FileConn(f) // a dup of nfd
		f.Close()
		return c, err
	}
}
