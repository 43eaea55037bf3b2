//go:build linux && race

package poller

import (
	"syscall"
	"unsafe"
)

// Under the race detector a Conn reads and writes through package
// syscall's Read and Write: they tell the detector that bytes written
// happen before the reads that get them, which raw system calls would
// not (see http1's sockio_race.go).

func sysAccept(fd uintptr, sa *syscall.RawSockaddrAny, n *uint32) (int, syscall.Errno) {
	r, _, e := syscall.RawSyscall6(syscall.SYS_ACCEPT4, fd, uintptr(unsafe.Pointer(sa)), uintptr(unsafe.Pointer(n)),
		syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0, 0)
	return int(r), e
}

func sysRead(fd uintptr, p []byte) (int, syscall.Errno) {
	n, err := syscall.Read(int(fd), p)
	if err != nil {
		return 0, err.(syscall.Errno)
	}
	return n, 0
}

func sysSend(fd uintptr, p []byte) (int, syscall.Errno) {
	n, err := syscall.Write(int(fd), p)
	if err != nil {
		return 0, err.(syscall.Errno)
	}
	return n, 0
}

func sysClose(fd int) { syscall.Close(fd) }

func sysShutdown(fd, how int) syscall.Errno {
	if err := syscall.Shutdown(fd, how); err != nil {
		return err.(syscall.Errno)
	}
	return 0
}

func sysGetsockname(fd int, sa *syscall.RawSockaddrAny, n *uint32) syscall.Errno {
	_, _, e := syscall.RawSyscall(syscall.SYS_GETSOCKNAME, uintptr(fd), uintptr(unsafe.Pointer(sa)), uintptr(unsafe.Pointer(n)))
	return e
}

func sysSetsockoptInt(fd, level, name, v int) { syscall.SetsockoptInt(fd, level, name, v) }
