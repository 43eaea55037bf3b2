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

func sysSetsockoptInt(fd, level, name, v int) syscall.Errno {
	if err := syscall.SetsockoptInt(fd, level, name, v); err != nil {
		return err.(syscall.Errno)
	}
	return 0
}

// sysWritev writes the parts one by one through syscall.Write (its
// race annotations), stopping at a short write.
func sysWritev(fd uintptr, iov []syscall.Iovec) (int, syscall.Errno) {
	total := 0
	for _, v := range iov {
		b := unsafe.Slice(v.Base, v.Len)
		n, err := syscall.Write(int(fd), b)
		if err != nil {
			if total > 0 {
				return total, 0
			}
			return 0, err.(syscall.Errno)
		}
		total += n
		if n < len(b) {
			break
		}
	}
	return total, 0
}
