package location

import (
	"syscall"
	"unsafe"
)

// Reading a directory for the content modules that list one (autoindex,
// random_index), as nginx's ngx_open_dir/ngx_read_dir: opendir(3) on the
// path as written (disable_symlinks does not apply, as in nginx), names
// with their d_type, and stat(2) of a name. The getdents64 buffer and the
// path buffers are the exchange's, so a listing allocates nothing once
// they have grown.

// dirReader walks one open directory.
type dirReader struct {
	fd   int
	buf  []byte // getdents64 records
	n    int    // bytes of buf filled
	off  int    // next record in buf
	path []byte // NUL-terminated names for statAt
}

// open opens path (NUL-terminated into nameBuf) as opendir(3) does.
func (d *dirReader) open(nameBuf *[]byte, path []byte) syscall.Errno {
	b := append((*nameBuf)[:0], path...)
	b = append(b, 0)
	*nameBuf = b
	fd, e := openat(atFDCWD, &b[0], syscall.O_RDONLY|syscall.O_NONBLOCK|syscall.O_DIRECTORY|syscall.O_CLOEXEC)
	if e != 0 {
		return e
	}
	if cap(d.buf) < 32<<10 {
		d.buf = make([]byte, 32<<10)
	}
	d.fd, d.n, d.off = fd, 0, 0
	return 0
}

func (d *dirReader) close() { syscall.Close(d.fd) }

// next returns the next name and its d_type (DT_UNKNOWN: 0), nil at the
// end; "." and ".." come too, as readdir(3) gives them.
func (d *dirReader) next() (name []byte, typ uint8, e syscall.Errno) {
	for d.off >= d.n {
		n, err := syscall.Getdents(d.fd, d.buf[:cap(d.buf)])
		if err != nil {
			if err == syscall.EINTR {
				continue
			}
			return nil, 0, err.(syscall.Errno)
		}
		if n <= 0 {
			return nil, 0, 0
		}
		d.buf, d.n, d.off = d.buf[:n], n, 0
	}
	// struct linux_dirent64: d_ino (8), d_off (8), d_reclen (2),
	// d_type (1), d_name (NUL-terminated).
	rec := d.buf[d.off:]
	reclen := int(*(*uint16)(unsafe.Pointer(&rec[16])))
	typ = rec[18]
	name = rec[19:reclen]
	for i, c := range name {
		if c == 0 {
			name = name[:i]
			break
		}
	}
	d.off += reclen
	return name, typ, 0
}

// Directory entry types of getdents64.
const (
	dtUnknown = 0
	dtDir     = 4
	dtReg     = 8
	dtLnk     = 10
)

// statAt stats name in the directory being read, following a symlink
// (stat(2)), or not (lstat(2)).
func (d *dirReader) statAt(name []byte, follow bool, st *syscall.Stat_t) syscall.Errno {
	b := append(d.path[:0], name...)
	b = append(b, 0)
	d.path = b
	flags := oPath | syscall.O_CLOEXEC
	if !follow {
		flags |= syscall.O_NOFOLLOW
	}
	fd, e := openat(uintptr(d.fd), &b[0], flags)
	if e != 0 {
		return e
	}
	e = fstatErrno(fd, st)
	syscall.Close(fd)
	return e
}
