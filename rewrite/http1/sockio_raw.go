//go:build linux && !race

package http1

import (
	"syscall"
	"unsafe"
)

// sysRead reads the socket fd into p with a raw system call (Sock).
func sysRead(fd uintptr, p []byte) (int, syscall.Errno) {
	n, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	return int(n), e
}

// sysSend writes p to the socket fd with a raw system call (Sock);
// MSG_NOSIGNAL: a peer that went away is EPIPE, without SIGPIPE.
func sysSend(fd uintptr, p []byte) (int, syscall.Errno) {
	n, _, e := syscall.RawSyscall6(syscall.SYS_SENDTO, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)),
		syscall.MSG_NOSIGNAL, 0, 0)
	return int(n), e
}
