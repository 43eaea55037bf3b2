//go:build !(linux && !race && (amd64 || arm64))

package filecache

import (
	"syscall"
	"unsafe"
)

// The system calls of a cache hit through package syscall: under the
// race detector (whose I/O annotations they carry) and where the raw
// calls' arguments differ.

func sysOpenat(name []byte, flags int) (int, syscall.Errno) {
	fd, _, e := syscall.Syscall6(syscall.SYS_OPENAT, atFDCWD, uintptr(unsafe.Pointer(&name[0])), uintptr(flags), 0, 0, 0)
	return int(fd), e
}

func sysSize(fd int) (int64, syscall.Errno) {
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return 0, err.(syscall.Errno)
	}
	return st.Size, 0
}

func sysPread(fd int, p []byte, off int64) (int, syscall.Errno) {
	n, err := syscall.Pread(fd, p, off)
	if err != nil {
		return 0, err.(syscall.Errno)
	}
	return n, 0
}

func sysClose(fd int) { syscall.Close(fd) }
