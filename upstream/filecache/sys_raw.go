//go:build linux && !race && (amd64 || arm64)

package filecache

import (
	"syscall"
	"unsafe"
)

// A cache hit opens, sizes, reads and closes its file with raw system
// calls: they do not enter the scheduler's syscall state, which wakes
// sysmon from its deep sleep after the worker idled (it then polls every
// 20 µs for a millisecond or more) and hands the P to another thread
// when one outlasts sysmon's tick. A read of a cached file that is not
// in the page cache holds the worker meanwhile, as it holds nginx's
// (its file reads block its event loop without aio).

func sysOpenat(name []byte, flags int) (int, syscall.Errno) {
	fd, _, e := syscall.RawSyscall6(syscall.SYS_OPENAT, atFDCWD, uintptr(unsafe.Pointer(&name[0])), uintptr(flags), 0, 0, 0)
	return int(fd), e
}

// sysSize is the size of the open file fd.
func sysSize(fd int) (int64, syscall.Errno) {
	n, _, e := syscall.RawSyscall(syscall.SYS_LSEEK, uintptr(fd), 0, 2) // SEEK_END
	return int64(n), e
}

func sysPread(fd int, p []byte, off int64) (int, syscall.Errno) {
	if len(p) == 0 {
		return 0, 0
	}
	n, _, e := syscall.RawSyscall6(syscall.SYS_PREAD64, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)), uintptr(off), 0, 0)
	return int(n), e
}

func sysClose(fd int) { syscall.RawSyscall(syscall.SYS_CLOSE, uintptr(fd), 0, 0) }
