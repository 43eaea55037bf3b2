//go:build linux && !race

package http1

import (
	"syscall"
	"unsafe"
)

// sysRead reads the socket fd into p with a raw system call (Sock):
// recvfrom(2), as nginx's recv, not read(2): read's way through the VFS
// (fdget_pos, vfs_read's checks, sock_read_iter) took 1.1-1.6 µs of a
// proxied request's kernel time where recvfrom's own frames take
// 0.45-0.6, as nginx's (bench -kprof, rows http, php and https).
func sysRead(fd uintptr, p []byte) (int, syscall.Errno) {
	n, _, e := syscall.RawSyscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)), 0, 0, 0)
	return int(n), e
}

// sysSend writes p to the socket fd with a raw system call (Sock);
// MSG_NOSIGNAL: a peer that went away is EPIPE, without SIGPIPE.
func sysSend(fd uintptr, p []byte) (int, syscall.Errno) {
	n, _, e := syscall.RawSyscall6(syscall.SYS_SENDTO, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)),
		syscall.MSG_NOSIGNAL, 0, 0)
	return int(n), e
}
