package location

import (
	"syscall"
	"unsafe"
)

// File system access for the request path without allocation: paths are
// built in reused buffers, NUL-terminated, and passed to openat(2)
// directly (os.Open and os.Stat convert to string and allocate a File or
// FileInfo per call).

// fileStat is what the handlers need of a file.
type fileStat struct {
	size    int64
	mtime   int64
	isDir   bool
	regular bool
}

// atFDCWD is AT_FDCWD (-100) as the kernel reads it.
var atFDCWD = ^uintptr(99)

// openPath opens path (read-only, or O_PATH when pathOnly) using buf for
// the NUL-terminated copy.
func openPath(buf *[]byte, path []byte, pathOnly bool) (int, syscall.Errno) {
	b := append((*buf)[:0], path...)
	b = append(b, 0)
	*buf = b
	flags := syscall.O_RDONLY | syscall.O_CLOEXEC | syscall.O_NONBLOCK
	if pathOnly {
		flags = 0x200000 /* O_PATH */ | syscall.O_CLOEXEC
	}
	for {
		fd, _, e := syscall.Syscall6(syscall.SYS_OPENAT, atFDCWD, uintptr(unsafe.Pointer(&b[0])), uintptr(flags), 0, 0, 0)
		if e == syscall.EINTR {
			continue
		}
		if e != 0 {
			return -1, e
		}
		return int(fd), 0
	}
}

func fstat(fd int, st *fileStat) syscall.Errno {
	var s syscall.Stat_t
	if err := syscall.Fstat(fd, &s); err != nil {
		if e, ok := err.(syscall.Errno); ok {
			return e
		}
		return syscall.EIO
	}
	st.size = s.Size
	st.mtime = s.Mtim.Sec
	st.isDir = s.Mode&syscall.S_IFMT == syscall.S_IFDIR
	st.regular = s.Mode&syscall.S_IFMT == syscall.S_IFREG
	return 0
}

// statPath stats path (following symlinks) without opening it for reading.
func statPath(buf *[]byte, path []byte, st *fileStat) syscall.Errno {
	fd, e := openPath(buf, path, true)
	if e != 0 {
		return e
	}
	e = fstat(fd, st)
	syscall.Close(fd)
	return e
}

func notFoundErrno(e syscall.Errno) bool {
	return e == syscall.ENOENT || e == syscall.ENOTDIR || e == syscall.ENAMETOOLONG
}
