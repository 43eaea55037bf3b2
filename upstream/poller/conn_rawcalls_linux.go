//go:build linux

package poller

import (
	"syscall"
	"unsafe"
)

// The raw system calls a Conn makes alike with the race detector or
// without: none hands bytes from one goroutine to another, so none needs
// package syscall's race annotations (conn_race_linux.go).

func sysGetsockname(fd int, sa *syscall.RawSockaddrAny, n *uint32) syscall.Errno {
	_, _, e := syscall.RawSyscall(syscall.SYS_GETSOCKNAME, uintptr(fd), uintptr(unsafe.Pointer(sa)), uintptr(unsafe.Pointer(n)))
	return e
}

func sysGetpeername(fd int, sa *syscall.RawSockaddrAny, n *uint32) syscall.Errno {
	_, _, e := syscall.RawSyscall(syscall.SYS_GETPEERNAME, uintptr(fd), uintptr(unsafe.Pointer(sa)), uintptr(unsafe.Pointer(n)))
	return e
}

func sysSocket(family int) (int, syscall.Errno) {
	r, _, e := syscall.RawSyscall(syscall.SYS_SOCKET, uintptr(family), syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	return int(r), e
}

func sysConnect(fd int, sa *syscall.RawSockaddrAny, n uint32) syscall.Errno {
	_, _, e := syscall.RawSyscall(syscall.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(sa)), uintptr(n))
	return e
}

func sysGetsockoptInt(fd, level, name int) (int, syscall.Errno) {
	var v int32
	n := uint32(4)
	_, _, e := syscall.RawSyscall6(syscall.SYS_GETSOCKOPT, uintptr(fd), uintptr(level), uintptr(name),
		uintptr(unsafe.Pointer(&v)), uintptr(unsafe.Pointer(&n)), 0)
	return int(v), e
}

// sysPeek peeks at one byte without waiting.
func sysPeek(fd int) syscall.Errno {
	var b [1]byte
	_, _, e := syscall.RawSyscall6(syscall.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), 1,
		syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
	return e
}
