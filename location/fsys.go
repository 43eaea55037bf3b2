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
	exec    bool // owner may execute (nginx's ngx_is_exec, for "if (-x)")
}

// atFDCWD is AT_FDCWD (-100) as the kernel reads it.
var atFDCWD = ^uintptr(99)

const (
	oPath = 0x200000 // O_PATH
	// oSearch opens a directory to look names up in, as nginx's
	// NGX_FILE_SEARCH on Linux.
	oSearch = oPath | syscall.O_DIRECTORY | syscall.O_CLOEXEC | syscall.O_NONBLOCK
	oRead   = syscall.O_RDONLY | syscall.O_CLOEXEC | syscall.O_NONBLOCK
)

// disable_symlinks modes (ngx_http_core_module's NGX_DISABLE_SYMLINKS_*).
const (
	symlinksOff uint8 = iota
	symlinksOn
	symlinksNotOwner
)

// Names of the call that failed, as nginx logs them ("%s \"%s\" failed").
const (
	failedOpen   = "open()"
	failedOpenat = "openat()"
	failedStat   = "stat()"
)

// openRule is how one path is opened: disable_symlinks' mode, and with
// "from=" the length of the leading part opened as is (0: none).
type openRule struct {
	mode uint8
	from int
}

// openat opens the NUL-terminated name relative to dir.
func openat(dir uintptr, name *byte, flags int) (int, syscall.Errno) {
	for {
		fd, _, e := syscall.Syscall6(syscall.SYS_OPENAT, dir, uintptr(unsafe.Pointer(name)), uintptr(flags), 0, 0, 0)
		if e == syscall.EINTR {
			continue
		}
		if e != 0 {
			return -1, e
		}
		return int(fd), 0
	}
}

// openPath opens path (read-only, or O_PATH when pathOnly) using buf for
// the NUL-terminated copy.
func openPath(buf *[]byte, path []byte, pathOnly bool) (int, syscall.Errno) {
	b := append((*buf)[:0], path...)
	b = append(b, 0)
	*buf = b
	flags := oRead
	if pathOnly {
		flags = oPath | syscall.O_CLOEXEC
	}
	return openat(atFDCWD, &b[0], flags)
}

// openFile opens path for reading as ngx_open_file_wrapper does. With
// disable_symlinks on, every component is opened with O_NOFOLLOW relative
// to the descriptor of the one before (openat), so what is checked is what
// is opened; with if_not_owner a symlink is followed only when it and its
// target have the same owner. failed names the call for the error log.
func openFile(buf *[]byte, path []byte, rule openRule, flags int) (fd int, e syscall.Errno, failed string) {
	b := append((*buf)[:0], path...)
	b = append(b, 0)
	*buf = b
	if rule.mode == symlinksOff {
		fd, e = openat(atFDCWD, &b[0], flags)
		return fd, e, failedOpen
	}
	end := len(path)
	p := 0
	at := atFDCWD
	switch {
	case rule.from > 0 && rule.from < end:
		// The part before "from=" is trusted: opened as written.
		b[rule.from] = 0
		dfd, e := openat(atFDCWD, &b[0], oSearch)
		b[rule.from] = '/'
		if e != 0 {
			return -1, e, failedOpen
		}
		at, p = uintptr(dfd), rule.from+1
	case end > 0 && b[0] == '/':
		dfd, e := openat(atFDCWD, &slash[0], oSearch)
		if e != 0 {
			return -1, e, failedOpenat
		}
		at, p = uintptr(dfd), 1
	}
	closeAt := func() {
		if at != atFDCWD {
			syscall.Close(int(at))
		}
	}
	for {
		cp := p
		for cp < end && b[cp] != '/' {
			cp++
		}
		if cp == end {
			break
		}
		if cp == p {
			p++
			continue
		}
		b[cp] = 0
		var dfd int
		if rule.mode == symlinksNotOwner {
			dfd, e = openatOwner(at, &b[p], oSearch)
		} else {
			dfd, e = openat(at, &b[p], oSearch|syscall.O_NOFOLLOW)
		}
		b[cp] = '/'
		if e != 0 {
			closeAt()
			return -1, e, failedOpenat
		}
		closeAt()
		at, p = uintptr(dfd), cp+1
	}
	switch {
	case p == end:
		// A trailing slash: the last component must be a directory,
		// reopened with the flags asked for.
		fd, e = openat(at, &dot[0], flags)
	case rule.mode == symlinksNotOwner:
		fd, e = openatOwner(at, &b[p], flags)
	default:
		fd, e = openat(at, &b[p], flags|syscall.O_NOFOLLOW)
	}
	closeAt()
	return fd, e, failedOpenat
}

var (
	slash = []byte("/\x00")
	dot   = []byte(".\x00")
)

// openatOwner opens name in dir following a symlink only when the link
// and what it points to have the same owner, as ngx_openat_file_owner:
// the opened file is compared with the name itself (not followed), and a
// different owner fails with ELOOP. Comparing after opening leaves no gap
// for the link to be swapped.
func openatOwner(dir uintptr, name *byte, flags int) (int, syscall.Errno) {
	fd, e := openat(dir, name, flags)
	if e != 0 {
		return -1, e
	}
	// The name not followed: an O_PATH|O_NOFOLLOW descriptor of a symlink
	// is the link itself (fstatat with AT_SYMLINK_NOFOLLOW, without a
	// per-architecture system call number).
	lfd, e := openat(dir, name, oPath|syscall.O_NOFOLLOW|syscall.O_CLOEXEC)
	if e != 0 {
		syscall.Close(fd)
		return -1, e
	}
	var link, file syscall.Stat_t
	e1 := fstatErrno(lfd, &link)
	syscall.Close(lfd)
	e2 := fstatErrno(fd, &file)
	switch {
	case e1 != 0:
		e = e1
	case e2 != 0:
		e = e2
	case link.Uid != file.Uid:
		e = syscall.ELOOP
	}
	if e != 0 {
		syscall.Close(fd)
		return -1, e
	}
	return fd, 0
}

func fstatErrno(fd int, s *syscall.Stat_t) syscall.Errno {
	if err := syscall.Fstat(fd, s); err != nil {
		if e, ok := err.(syscall.Errno); ok {
			return e
		}
		return syscall.EIO
	}
	return 0
}

func fstat(fd int, st *fileStat) syscall.Errno {
	var s syscall.Stat_t
	if e := fstatErrno(fd, &s); e != 0 {
		return e
	}
	st.size = s.Size
	st.mtime = s.Mtim.Sec
	st.isDir = s.Mode&syscall.S_IFMT == syscall.S_IFDIR
	st.regular = s.Mode&syscall.S_IFMT == syscall.S_IFREG
	st.exec = s.Mode&syscall.S_IXUSR != 0
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

// testFile is ngx_file_info_wrapper: a plain stat with disable_symlinks
// off, else the file opened (for reading, as nginx does) under the rule
// and then stat'ed.
func testFile(buf *[]byte, path []byte, rule openRule, st *fileStat) (syscall.Errno, string) {
	if rule.mode == symlinksOff {
		return statPath(buf, path, st), failedStat
	}
	fd, e, failed := openFile(buf, path, rule, oRead)
	if e != 0 {
		return e, failed
	}
	e = fstat(fd, st)
	syscall.Close(fd)
	return e, failedStat
}

func notFoundErrno(e syscall.Errno) bool {
	return e == syscall.ENOENT || e == syscall.ENOTDIR || e == syscall.ENAMETOOLONG
}
