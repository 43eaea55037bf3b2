package filecache

import (
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Zone is one proxy_cache_path: a directory of cache files and the
// keys zone's name. It is shared by every location that names it, and
// kept across reloads when its path and parameters stay the same.
type Zone struct {
	Name     string
	Path     string
	Levels   []int
	Inactive time.Duration // an entry not used for this long is removed
	MaxSize  int64         // 0: no limit
	MinFree  int64         // free space the manager keeps on the file system; 0: none
	// UseTempPath: a file is written in the location's temporary path
	// and moved in once whole (use_temp_path=on, nginx's default).
	UseTempPath bool

	mu    sync.Mutex
	nodes map[Key]*node
	size  int64 // bytes of the files known (for max_size)
	// errs counts the nodes with an error cached (errStatus, changed
	// under mu through setErr): with none, Error answers without the
	// lock and the map (~190 instructions on every lookup).
	errs atomic.Int32

	startOnce sync.Once
	stop      chan struct{}
}

// node is what nginx's keys zone keeps of a key, in this process.
type node struct {
	uses     int       // requests for the key (proxy_cache_min_uses)
	updating bool      // a request of this process is fetching it (TryUpdate)
	lastUse  time.Time // for inactive
	size     int64     // the file's length, 0 when none is known
	// errStatus is an intercepted error cached (nginx keeps only the
	// status, in the keys zone), valid until errValid.
	errStatus int
	errValid  int64
}

// NewZone makes a zone; Start runs its manager.
func NewZone(name, path string, levels []int, inactive time.Duration, maxSize, minFree int64) *Zone {
	return &Zone{Name: name, Path: path, Levels: levels, Inactive: inactive, MaxSize: maxSize, MinFree: minFree,
		nodes: map[Key]*node{}}
}

// SameAs reports whether z and o describe the same cache, so a reload
// keeps z (and its per-process state).
func (z *Zone) SameAs(o *Zone) bool {
	if z.Path != o.Path || z.Inactive != o.Inactive || z.MaxSize != o.MaxSize || z.MinFree != o.MinFree || len(z.Levels) != len(o.Levels) {
		return false
	}
	for i := range z.Levels {
		if z.Levels[i] != o.Levels[i] {
			return false
		}
	}
	return true
}

func (z *Zone) nodeOf(k Key) *node {
	n := z.nodes[k]
	if n == nil {
		n = &node{}
		z.nodes[k] = n
	}
	return n
}

// Open opens k's file into e (whose buffers it reuses), now being its
// use's time (for inactive). found is false when there is none (or it is
// not readable as ours: then it is treated as missing, as nginx treats a
// file whose header it rejects).
func (z *Zone) Open(k Key, e *Entry, now time.Time) (found bool, err error) {
	z.start()
	e.Close()
	e.path = appendName(e.path[:0], z.Path, z.Levels, k)
	e.path = append(e.path, 0)
	fd, errno := openat(e.path, syscall.O_RDONLY|syscall.O_CLOEXEC)
	if errno != 0 {
		if errno == syscall.ENOENT || errno == syscall.ENOTDIR {
			return false, nil
		}
		return false, errno
	}
	e.Fd = fd
	if cap(e.buf) < 1024 {
		e.buf = make([]byte, 1024)
	}
	e.buf = e.buf[:cap(e.buf)]
	var n int
	for {
		n, errno = sysPread(fd, e.buf, 0)
		if errno == syscall.EINTR {
			continue
		}
		if errno != 0 {
			e.Close()
			return false, errno
		}
		hl, derr := decodeHeader(e.buf[:n], &e.Meta)
		if derr != nil || hl == 0 && n < len(e.buf) {
			e.Close()
			return false, nil
		}
		if hl > 0 {
			break
		}
		e.buf = make([]byte, 2*len(e.buf))
	}
	// A read short of the buffer reached the file's end: that is its
	// length, and its body is at hand (ReadAt), a small one's whole
	// (nginx makes an fstat and a pread of the body besides). A file is
	// not changed once renamed into place but for Refresh's times.
	e.got = n
	if n < len(e.buf) {
		e.Length = int64(n)
	} else {
		size, errno := sysSize(fd)
		if errno != 0 {
			e.Close()
			return false, errno
		}
		e.Length = size
	}
	z.mu.Lock()
	nd := z.nodeOf(k)
	nd.lastUse = now
	if nd.size != e.Length {
		z.size += e.Length - nd.size
		nd.size = e.Length
	}
	z.mu.Unlock()
	return true, nil
}

// FileName is the path of k's file.
func (z *Zone) FileName(k Key) string {
	return string(appendName(nil, z.Path, z.Levels, k))
}

// SetError caches an intercepted error's status for k until validSec.
func (z *Zone) SetError(k Key, status int, validSec int64) {
	z.mu.Lock()
	n := z.nodeOf(k)
	z.setErr(n, status)
	n.errValid = validSec
	z.mu.Unlock()
}

// setErr sets n's cached error status, keeping errs (under mu).
func (z *Zone) setErr(n *node, status int) {
	switch {
	case n.errStatus == 0 && status != 0:
		z.errs.Add(1)
	case n.errStatus != 0 && status == 0:
		z.errs.Add(-1)
	}
	n.errStatus = status
}

// Error is k's cached error status, 0 when none is valid at now.
func (z *Zone) Error(k Key, now int64) int {
	if z.errs.Load() == 0 {
		return 0
	}
	z.mu.Lock()
	defer z.mu.Unlock()
	n := z.nodes[k]
	if n == nil || n.errStatus == 0 {
		return 0
	}
	if n.errValid < now {
		z.setErr(n, 0)
		return 0
	}
	return n.errStatus
}

// Use counts a request for k that found no file and reports how many
// there were (proxy_cache_min_uses).
func (z *Zone) Use(k Key) int {
	z.mu.Lock()
	defer z.mu.Unlock()
	n := z.nodeOf(k)
	n.uses++
	n.lastUse = time.Now()
	return n.uses
}

// The mark that a key is being fetched (nginx's node->updating and its
// lock_time) is a lock file in the cache directory, so every worker sees
// it: created exclusively, its modification time set to when the lock
// runs out (proxy_cache_lock_age; an expired entry's update holds it at
// most updateHold, should its process die).

const updateHold = 10 * time.Minute

func (z *Zone) lockName(k Key) string {
	var hx [32]byte
	hex.Encode(hx[:], k[:])
	return z.Path + "/.lock-" + string(hx[:])
}

// TryUpdate marks k as being fetched by the caller, for at most lockAge
// (0: until Done), unless another request is fetching it and its lock has
// not run out. It reports whether the caller got it.
func (z *Zone) TryUpdate(k Key, lockAge time.Duration) bool {
	name := z.lockName(k)
	hold := lockAge
	if hold <= 0 {
		hold = updateHold
	}
	for try := 0; try < 2; try++ {
		ok, err := z.makeLock(name, time.Now().Add(hold))
		if ok {
			z.mu.Lock()
			z.nodeOf(k).updating = true
			z.mu.Unlock()
			return true
		}
		if err != nil {
			return true // no lock can be kept: fetch as without one
		}
		if fi, err := os.Stat(name); err == nil && time.Now().Before(fi.ModTime()) {
			return false
		}
		os.Remove(name) // run out: taken over
	}
	return false
}

// makeLock creates the lock file name running out at end, atomically: a
// file made aside with its time set is linked in (which fails if name
// exists), so no one sees the lock before its time is set, as another
// request taking it at the same moment would (and take it over as run
// out). ok false with no error: name exists.
func (z *Zone) makeLock(name string, end time.Time) (ok bool, err error) {
	f, err := os.CreateTemp(z.Path, ".tmp-lock-")
	if err != nil {
		return false, err
	}
	tmp := f.Name()
	f.Close()
	defer os.Remove(tmp)
	if err := os.Chtimes(tmp, end, end); err != nil {
		return false, err
	}
	if err := os.Link(tmp, name); err != nil {
		if os.IsExist(err) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// Updating reports whether a request, in any process, is fetching k (its
// lock still holds).
func (z *Zone) Updating(k Key) bool { return !z.UpdatingUntil(k).IsZero() }

// UpdatingUntil is when the update lock on k ends (its lock_age, as
// nginx's node->lock_time); the zero time when none is held.
func (z *Zone) UpdatingUntil(k Key) time.Time {
	fi, err := os.Stat(z.lockName(k))
	if err != nil || !time.Now().Before(fi.ModTime()) {
		return time.Time{}
	}
	return fi.ModTime()
}

// Done ends the caller's TryUpdate of k.
func (z *Zone) Done(k Key) {
	os.Remove(z.lockName(k))
	z.mu.Lock()
	if n := z.nodes[k]; n != nil {
		n.updating = false
	}
	z.mu.Unlock()
}

// Writer writes one cache file: Begin, the body with Write, then
// Commit or Abort.
type Writer struct {
	f    *os.File
	z    *Zone
	key  Key
	err  error
	hdr  []byte
	size int64
}

// Begin starts k's file with m's header (m.BodyStart is set): in the
// zone's directory, or the file create makes (use_temp_path: nginx's
// temporary path), moved into the zone at Commit.
func (z *Zone) Begin(w *Writer, k Key, m *Meta, create func() (*os.File, error)) error {
	z.start()
	*w = Writer{z: z, key: k, hdr: w.hdr[:0]}
	if create == nil {
		create = z.createTemp
	}
	f, err := create()
	if err != nil {
		return err
	}
	w.f = f
	w.hdr = appendHeader(w.hdr, m)
	m.BodyStart = int64(len(w.hdr))
	_, w.err = f.Write(w.hdr)
	w.size = int64(len(w.hdr))
	return w.err
}

func (z *Zone) createTemp() (*os.File, error) { return os.CreateTemp(z.Path, ".tmp-") }

// copyInto copies the file tmp to name through a temporary file of the
// zone, and removes tmp.
func (z *Zone) copyInto(tmp, name string) error {
	in, err := os.Open(tmp)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := z.createTemp()
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(out.Name(), name)
	}
	if err != nil {
		os.Remove(out.Name())
		return err
	}
	os.Remove(tmp)
	return nil
}

// Active reports whether a file is being written.
func (w *Writer) Active() bool { return w.f != nil }

// Write appends body bytes; a failure is kept for Commit.
func (w *Writer) Write(p []byte) {
	if w.f == nil || w.err != nil {
		return
	}
	var n int
	n, w.err = w.f.Write(p)
	w.size += int64(n)
}

// BodyLen is how many body bytes were written.
func (w *Writer) BodyLen() int64 { return w.size - int64(len(w.hdr)) }

// Abort drops the file.
func (w *Writer) Abort() {
	if w.f == nil {
		return
	}
	name := w.f.Name()
	w.f.Close()
	os.Remove(name)
	w.f = nil
}

// Commit renames the file into place (making its directories).
func (w *Writer) Commit() error {
	if w.f == nil {
		return nil
	}
	if w.err != nil {
		err := w.err
		w.Abort()
		return err
	}
	tmp := w.f.Name()
	w.f.Close()
	w.f = nil
	name := w.z.FileName(w.key)
	err := os.Rename(tmp, name)
	if os.IsNotExist(err) {
		if err = os.MkdirAll(filepath.Dir(name), 0o700); err == nil {
			err = os.Rename(tmp, name)
		}
	}
	if errors.Is(err, syscall.EXDEV) {
		// The temporary path is on another file system: copied, as
		// nginx's ngx_ext_rename_file copies.
		err = w.z.copyInto(tmp, name)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	z := w.z
	z.mu.Lock()
	n := z.nodeOf(w.key)
	z.size += w.size - n.size
	n.size, n.lastUse = w.size, time.Now()
	z.setErr(n, 0)
	z.mu.Unlock()
	return nil
}

// Refresh rewrites the times of k's file (a revalidated entry), as
// ngx_http_file_cache_update_header.
func (z *Zone) Refresh(e *Entry, m *Meta) error {
	f, err := os.OpenFile(string(e.path[:len(e.path)-1]), os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	var b [40]byte
	h := appendHeader(nil, m)
	copy(b[:], h[timesOffset:timesOffset+40])
	_, err = f.WriteAt(b[:], timesOffset)
	return err
}

// Remove deletes k's file (an entry nginx would not serve again).
func (z *Zone) Remove(k Key) {
	os.Remove(z.FileName(k))
	z.mu.Lock()
	if n := z.nodes[k]; n != nil {
		z.size -= n.size
		n.size = 0
	}
	z.mu.Unlock()
}
