// Package filecache is the on-disk store of nginx's proxy cache
// (proxy_cache_path and the fastcgi/scgi/uwsgi equivalents): one file per
// cached response, named by the MD5 of its key under "levels"
// directories, written to a temporary file and renamed into place when
// the response is complete, so a reader never sees half a file. The
// files are the index: every worker, and the next server after a
// restart or reload, finds an entry by opening its file. What nginx keeps
// in its shared zone besides (how often a key was asked for, which
// request is fetching it) is per process here (Zone's nodes).
//
// The file format is gonginx's own: a fixed header (times, lengths,
// the Vary variant), the key, the Vary value, the ETag, the response
// head as HTTP/1.1 text, the caller's index of that head (version 2),
// then the body.
//
// It knows nothing of HTTP beyond that: the upstream package decides
// what is cacheable and serves the entries.
package filecache

import (
	"crypto/md5"
	"encoding/binary"
	"errors"
	"syscall"
)

// Key is the MD5 of a cache key (nginx's c->key).
type Key [16]byte

// Sum is the Key of key.
func Sum(key []byte) Key { return md5.Sum(key) }

const (
	magic      = "GNXC"
	version    = 2  // 1: no head index (still read)
	fixedSize  = 80 // the header's fixed part
	maxMetaLen = 64 << 10
)

// Meta is what a cache file says about its response.
type Meta struct {
	ValidSec     int64 // until when it is fresh (Unix seconds)
	UpdatingSec  int64 // stale-while-revalidate: seconds past ValidSec
	ErrorSec     int64 // stale-if-error: seconds past ValidSec
	LastModified int64 // the 200/206's Last-Modified, -1 none
	Date         int64 // when it was stored or revalidated
	Variant      Key   // the Vary variant's key, when Vary is set
	Key          []byte
	Vary         []byte
	ETag         []byte
	Head         []byte // the response head, HTTP/1.1 text
	// HeadIndex is the caller's own account of Head (where its parts
	// are), kept so a hit need not parse Head again; empty: none. It
	// is dropped when it would make the header longer than a reader
	// takes.
	HeadIndex []byte
	BodyStart int64 // where the body starts in the file
}

// Entry is an opened cache file. Its buffers are kept across uses.
type Entry struct {
	Meta
	Fd     int   // -1 when not open
	Length int64 // the file's length
	buf    []byte
	got    int    // bytes of the file at buf's start (Open's read)
	path   []byte // NUL-terminated name of the file
}

// ErrCorrupt: a file that is not one of ours, or cut short.
var ErrCorrupt = errors.New("cache file is invalid")

// appendHeader encodes m's header (body not included).
func appendHeader(b []byte, m *Meta) []byte {
	start := len(b)
	b = append(b, make([]byte, fixedSize)...)
	h := b[start:]
	copy(h, magic)
	le := binary.LittleEndian
	le.PutUint32(h[4:], version)
	le.PutUint64(h[8:], uint64(m.ValidSec))
	le.PutUint64(h[16:], uint64(m.UpdatingSec))
	le.PutUint64(h[24:], uint64(m.ErrorSec))
	le.PutUint64(h[32:], uint64(m.LastModified))
	le.PutUint64(h[40:], uint64(m.Date))
	le.PutUint16(h[48:], uint16(len(m.Key)))
	le.PutUint16(h[50:], uint16(len(m.Vary)))
	le.PutUint16(h[52:], uint16(len(m.ETag)))
	le.PutUint32(h[56:], uint32(len(m.Head)))
	copy(h[60:76], m.Variant[:])
	idx := m.HeadIndex
	if len(idx) > 0xffff || fixedSize+len(m.Key)+len(m.Vary)+len(m.ETag)+len(m.Head)+len(idx) > maxMetaLen {
		idx = nil
	}
	le.PutUint16(h[76:], uint16(len(idx)))
	b = append(b, m.Key...)
	b = append(b, m.Vary...)
	b = append(b, m.ETag...)
	b = append(b, m.Head...)
	return append(b, idx...)
}

// decodeHeader reads a header from b; the slices of m alias b. It
// returns the header's length, 0 when b is too short.
func decodeHeader(b []byte, m *Meta) (int, error) {
	if len(b) < fixedSize {
		return 0, nil
	}
	le := binary.LittleEndian
	v := le.Uint32(b[4:])
	if string(b[:4]) != magic || v != version && v != 1 {
		return 0, ErrCorrupt
	}
	m.ValidSec = int64(le.Uint64(b[8:]))
	m.UpdatingSec = int64(le.Uint64(b[16:]))
	m.ErrorSec = int64(le.Uint64(b[24:]))
	m.LastModified = int64(le.Uint64(b[32:]))
	m.Date = int64(le.Uint64(b[40:]))
	kl, vl, el := int(le.Uint16(b[48:])), int(le.Uint16(b[50:])), int(le.Uint16(b[52:]))
	hl := int(le.Uint32(b[56:]))
	il := 0
	if v == version {
		il = int(le.Uint16(b[76:]))
	}
	copy(m.Variant[:], b[60:76])
	n := fixedSize + kl + vl + el + hl + il
	if n > maxMetaLen {
		return 0, ErrCorrupt
	}
	if len(b) < n {
		return 0, nil
	}
	p := b[fixedSize:n]
	m.Key, p = p[:kl:kl], p[kl:]
	m.Vary, p = p[:vl:vl], p[vl:]
	m.ETag, p = p[:el:el], p[el:]
	m.Head, p = p[:hl:hl], p[hl:]
	m.HeadIndex = p[:il:il]
	m.BodyStart = int64(n)
	return n, nil
}

// timesOffset is where the times start in a file, for Refresh.
const timesOffset = 8

// appendName writes the file name of k under path with levels, as
// nginx's ngx_create_hashed_filename: the hex name's last characters
// make the directories, the innermost level's first.
func appendName(b []byte, path string, levels []int, k Key) []byte {
	hx := k.hex()
	b = append(b, path...)
	// The levels' characters are copied one by one: a level is 1 or 2
	// (an append of a 1- or 2-byte slice is a call to memmove each).
	end := len(hx)
	for _, l := range levels {
		b = append(b, '/')
		for i := end - l; i < end; i++ {
			b = append(b, hx[i&31])
		}
		end -= l
	}
	b = append(b, '/')
	return append(b, hx[:]...)
}

// hex is k in lower-case hex, as nginx names the file: four bytes'
// eight digits at a time in a word (a table's two digits per byte took
// ~14 instructions a byte, hex.Encode ~20).
func (k Key) hex() (hx [32]byte) {
	le := binary.LittleEndian
	for i := 0; i < 16; i += 4 {
		le.PutUint64(hx[i*2:], hex4(le.Uint32(k[i:])))
	}
	return hx
}

// hex4 is the eight hex digits of x's four bytes, the first (lowest)
// byte's first, as a little-endian word: each byte is spread to a 16-bit
// lane, its high nibble in the lane's low byte (the first digit), and
// each nibble becomes '0'-'9' or 'a'-'f'.
func hex4(x uint32) uint64 {
	v := uint64(x)
	v = (v | v<<16) & 0x0000ffff0000ffff
	v = (v | v<<8) & 0x00ff00ff00ff00ff
	n := v>>4&0x000f000f000f000f | (v&0x000f000f000f000f)<<8
	// A nibble of 10 or more carries into bit 4 when 6 is added.
	letter := (n + 0x0606060606060606) >> 4 & 0x0101010101010101
	return n + 0x3030303030303030 + letter*('a'-'9'-1)
}

func openat(name []byte, flags int) (int, syscall.Errno) {
	for {
		fd, e := sysOpenat(name, flags)
		if e == syscall.EINTR {
			continue
		}
		if e != 0 {
			return -1, e
		}
		return fd, 0
	}
}

// atFDCWD is AT_FDCWD (-100) as the system call takes it.
const atFDCWD = ^uintptr(99)

// Close closes e's file, if open.
func (e *Entry) Close() {
	if e.Fd >= 0 {
		sysClose(e.Fd)
		e.Fd = -1
	}
	e.got = 0
}

// ReadAt reads body bytes at off (from the body's start) into p: from
// what Open read when they are there (fewer than len(p) then), else from
// the file.
func (e *Entry) ReadAt(p []byte, off int64) (int, error) {
	if at := e.BodyStart + off; at < int64(e.got) {
		return copy(p, e.buf[at:e.got]), nil
	}
	for {
		n, errno := sysPread(e.Fd, p, e.BodyStart+off)
		switch errno {
		case syscall.EINTR:
			continue
		case 0:
			return n, nil
		}
		return 0, errno
	}
}

// BodyLength is the length of the body stored.
func (e *Entry) BodyLength() int64 { return e.Length - e.BodyStart }
