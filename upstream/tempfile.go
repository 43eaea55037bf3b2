package upstream

import (
	"errors"
	"os"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/rewrite/http1"
	"github.com/gonginx/gonginx/rewrite/http2"
)

// This file holds a buffered response's temporary file, as nginx's event
// pipe keeps one: when the client takes the body slower than the backend
// sends it and the in-memory buffers (proxy_buffers) are full, the rest
// goes to a file under proxy_temp_path, up to proxy_max_temp_file_size,
// so the backend is read whole (and its connection freed) before the
// client has it all. A second goroutine feeds buffers and file to the
// client in order.

// tempConf is a protocol's *_temp_path, *_max_temp_file_size and
// *_buffers.
type tempConf struct {
	dir     string
	levels  []int
	max     int64 // *_max_temp_file_size; 0: no temporary file
	buffers int   // *_buffers' total: what is held in memory first
	unit    int   // the size of one of *_buffers (see heldBody)
	busy    int   // *_busy_buffers_size; 0: unset (holdConf.busySize)
}

// tempNumber names temporary files as ngx_next_temp_number does.
var tempNumber atomic.Uint32

// defaultTempDirs are Debian's compiled-in *_temp_path.
var defaultTempDirs = map[string]string{
	"proxy": "/var/lib/nginx/proxy", "fastcgi": "/var/lib/nginx/fastcgi",
	"scgi": "/var/lib/nginx/scgi", "uwsgi": "/var/lib/nginx/uwsgi",
	"client_body": "/var/lib/nginx/body",
}

// compileTemp reads *_temp_path (levels 1:2 unless given, as nginx's
// default), *_max_temp_file_size (1024m) and *_buffers (8 4k).
func (p *Proxy) compileTemp(blocks [][]*nginxconf.Directive, prefixPath func(string) string) {
	t := &p.temp
	*t = tempConf{dir: defaultTempDirs[p.proto.prefix()], levels: []int{1, 2}, max: 1 << 30, buffers: 8 * 4096, unit: os.Getpagesize()}
	if d := last(blocks, p.name("_temp_path")); d != nil {
		t.dir, t.levels = d.Args[0], nil
		if prefixPath != nil {
			t.dir = prefixPath(t.dir)
		}
		for _, a := range d.Args[1:] {
			n, _ := strconv.Atoi(a)
			t.levels = append(t.levels, n)
		}
	}
	if _, ok := defaultTempDirs[p.proto.prefix()]; ok && p.groups != nil { // not gRPC's, memcached's
		p.groups.addTempDir(t.dir)
	}
	if d := last(blocks, p.name("_max_temp_file_size")); d != nil {
		if n, ok := nginxconf.ParseOffset(d.Args[0]); ok {
			t.max = n
		}
	}
	if d := last(blocks, p.name("_buffers")); d != nil && len(d.Args) == 2 {
		n, _ := strconv.Atoi(d.Args[0])
		size, _ := nginxconf.ParseSize(d.Args[1])
		if n > 0 && size > 0 {
			t.buffers, t.unit = n*int(size), int(size)
		}
	}
	if d := last(blocks, p.name("_busy_buffers_size")); d != nil {
		if n, ok := nginxconf.ParseSize(d.Args[0]); ok && n > 0 {
			t.busy = int(n)
		}
	}
}

func (gs *Groups) addTempDir(dir string) {
	if gs.tempDirs == nil {
		gs.tempDirs = map[string]bool{}
	}
	gs.tempDirs[dir] = true
}

// TempPaths are the *_temp_path directories the config's proxies write
// temporary files under, as nginx's ngx_create_paths makes them at start.
func (gs *Groups) TempPaths() []string {
	var dirs []string
	for d := range gs.tempDirs {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	return dirs
}

// tempName is the file for number n: dir, one directory a level taken
// from the name's end, the ten-digit name (ngx_create_hashed_filename).
func (t *tempConf) tempName(n uint32) (name string, levelDirs []string) {
	num := strconv.FormatUint(uint64(n), 10)
	for len(num) < 10 {
		num = "0" + num
	}
	path, end := t.dir, len(num)
	for _, l := range t.levels {
		if l <= 0 || l > end {
			break
		}
		path += "/" + num[end-l:end]
		end -= l
		levelDirs = append(levelDirs, path)
	}
	return path + "/" + num, levelDirs
}

// createTemp creates a temporary file as ngx_create_temp_file does: a
// missing level directory is made, a taken name gives the next one
// (whose directories may be missing too: the path is shared with other
// processes, nginx's among them, whose numbers are their own); a failure
// is worded as nginx's crit line.
func (t *tempConf) createTemp() (*os.File, error) {
	n := tempNumber.Add(1)
	made := "" // the name whose directories were made
	for tries := 0; ; tries++ {
		name, dirs := t.tempName(n)
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			return f, nil
		}
		switch {
		case errors.Is(err, os.ErrExist) && tries < 100:
			n = tempNumber.Add(123456) // ngx_random_number's step on a collision
			continue
		case len(dirs) == 0 || !errors.Is(err, syscall.ENOENT) || made == name:
			return nil, critf(`open() "%s" failed`, name, err)
		}
		made = name
		for _, d := range dirs {
			if err := os.Mkdir(d, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
				return nil, critf(`mkdir() "%s" failed`, d, err)
			}
		}
	}
}

// levelError gives an error the level nginx logs it at.
type levelError struct {
	level string
	error
}

func (e *levelError) LogLevel() string { return e.level }
func (e *levelError) Unwrap() error    { return e.error }

func critf(format, name string, err error) error {
	msg := format[:len(format)-len(`"%s" failed`)] + `"` + name + `" failed (` + nginxconf.ErrnoText(err) + ")"
	return &levelError{level: "crit", error: &tryError{msg: msg, cause: err, action: actionBody}}
}

// spool is the response's buffers and temporary file between the relay
// (which reads the backend) and the feeder goroutine (which writes to the
// client). Memory comes first; once anything is in the file, what
// follows goes there too until the feeder has caught up, so the order
// holds.
type spool struct {
	lk   *spoolLock
	c    http1.Stream
	fd   int         // the client's socket, polled before spilling (-1: none)
	h2   sendBlocker // an HTTP/2 stream's window, looked at before spilling
	on   bool        // the feeder runs
	mem  []byte
	head int // of the bytes held in mem
	n    int
	f    *os.File
	wOff int64 // bytes written to f (nginx's temp_file->offset)
	rOff int64 // bytes of f sent
	eof  bool  // the relay has put all it will
	quit bool  // the relay failed: the feeder stops at once
	err  error // the client's write error
	done chan struct{}
	wake *time.Timer // wakes put to look at the client again
	// writing is set while the feeder writes to the client; extended is
	// when put last moved that write's deadline (extendWrite).
	writing  bool
	extended time.Time
}

// spoolLock guards a spool. It is a response's own: a timer that fires
// late touches it, never the exchange's spool made anew for the next.
type spoolLock struct {
	mu   sync.Mutex
	cond sync.Cond
}

// kick wakes whoever waits.
func (lk *spoolLock) kick() {
	lk.mu.Lock()
	lk.cond.Broadcast()
	lk.mu.Unlock()
}

var spoolMems = sync.Pool{New: func() any { return new([]byte) }}

// start hands c to a feeder goroutine with size bytes of memory.
func (sp *spool) start(c http1.Stream, size int) {
	mp := spoolMems.Get().(*[]byte)
	if cap(*mp) < size {
		*mp = make([]byte, size)
	}
	rc, _ := c.Socket()
	h2, _ := c.NetConn().(sendBlocker)
	if rc == nil && h2 != nil {
		rc = h2.ConnSocket()
	}
	lk := &spoolLock{}
	lk.cond.L = &lk.mu
	*sp = spool{lk: lk, c: c, fd: streamFD(rc), h2: h2, on: true, mem: (*mp)[:size], done: make(chan struct{})}
	sp.wake = time.AfterFunc(time.Hour, lk.kick)
	sp.wake.Stop()
	go sp.feed()
}

// feed writes what is put to the client, memory first, then the file,
// flushing whenever it has caught up.
func (sp *spool) feed() {
	defer close(sp.done)
	var fbuf []byte
	for {
		sp.lk.mu.Lock()
		for sp.n == 0 && sp.rOff == sp.wOff && !sp.eof && !sp.quit {
			sp.lk.mu.Unlock()
			err := sp.c.FlushOut()
			sp.lk.mu.Lock()
			if err != nil {
				sp.err = err
				sp.lk.cond.Broadcast()
				sp.lk.mu.Unlock()
				return
			}
			if sp.n == 0 && sp.rOff == sp.wOff && !sp.eof && !sp.quit {
				sp.lk.cond.Wait()
			}
		}
		if sp.quit || sp.n == 0 && sp.rOff == sp.wOff {
			sp.lk.mu.Unlock()
			return // eof: the relay flushes and finishes the response
		}
		var chunk []byte
		fromMem := sp.n > 0
		if fromMem {
			end := min(sp.head+sp.n, len(sp.mem))
			chunk = sp.mem[sp.head:end]
		} else {
			if fbuf == nil {
				fbuf = make([]byte, bodyBufSize)
			}
			k := min(int64(len(fbuf)), sp.wOff-sp.rOff)
			m, err := sp.f.ReadAt(fbuf[:k], sp.rOff)
			if err != nil && m < int(k) {
				sp.err = err
				sp.lk.cond.Broadcast()
				sp.lk.mu.Unlock()
				return
			}
			chunk = fbuf[:m]
		}
		sp.writing = true
		sp.lk.mu.Unlock()
		// Each piece goes out before the next, as the relay flushes
		// before each read: the body filters (sub_filter) would
		// otherwise hold all of it in memory, never waiting on the
		// client.
		_, err := sp.c.Write(chunk)
		if err == nil {
			err = sp.c.FlushOut()
		}
		sp.lk.mu.Lock()
		sp.writing = false
		if fromMem {
			sp.head = (sp.head + len(chunk)) % len(sp.mem)
			sp.n -= len(chunk)
		} else {
			sp.rOff += int64(len(chunk))
		}
		if err != nil {
			sp.err = err
		}
		sp.lk.cond.Broadcast()
		sp.lk.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// put queues b for the client: into memory while the file has nothing
// unsent, else into the file (created on first need; then warn is
// called) while it is under max (or unlimited); else it waits for the
// client. It returns the client's error or the file's.
func (sp *spool) put(b []byte, t *tempConf, unlimited bool, warn func(name string)) error {
	sp.lk.mu.Lock()
	defer sp.lk.mu.Unlock()
	nap := time.Millisecond
	for len(b) > 0 {
		if sp.err != nil {
			return sp.err
		}
		if sp.rOff == sp.wOff && sp.n < len(sp.mem) {
			// Into the ring: at most up to its end, then round.
			tail := (sp.head + sp.n) % len(sp.mem)
			k := copy(sp.mem[tail:min(len(sp.mem), tail+len(sp.mem)-sp.n)], b)
			sp.n += k
			nap = time.Millisecond
			b = b[k:]
			sp.lk.cond.Broadcast()
			continue
		}
		if sp.rOff == sp.wOff && !sp.clientBlocked() {
			// The buffers are full but the client takes bytes: the
			// feeder is under way, not waiting on the client. Only a
			// client that is not writable sends the rest to the file.
			// Wait for it to free room, or a while (longer each time:
			// a client under limit_rate) to look at the client again.
			sp.wake.Reset(nap)
			sp.lk.cond.Wait()
			sp.wake.Stop()
			nap = min(2*nap, 100*time.Millisecond)
			continue
		}
		if unlimited || sp.wOff < t.max {
			if sp.f == nil {
				f, err := t.createTemp()
				if err != nil {
					return err
				}
				sp.f = f
				warn(f.Name())
			}
			k := len(b)
			if !unlimited {
				k = int(min(int64(k), t.max-sp.wOff))
			}
			// The feeder reads below wOff only: the write needs no lock,
			// but holding it keeps the code plain (a disk write is short).
			if _, err := sp.f.WriteAt(b[:k], sp.wOff); err != nil {
				return critf(writeCall(k, t.unit)+` "%s" failed`, sp.f.Name(), err)
			}
			sp.wOff += int64(k)
			b = b[k:]
			sp.extendWrite()
			sp.lk.cond.Broadcast()
			continue
		}
		sp.lk.cond.Wait() // the file is full: the client must take some first
	}
	return nil
}

// extendWrite is nginx's event pipe arming send_timeout again at each
// read from the backend while the client takes nothing: a client behind
// a backend that still sends (its bytes going to the file) is not timed
// out meanwhile. Moves within LazyDelay of the last are skipped, as
// ngx_event_add_timer skips them.
func (sp *spool) extendWrite() {
	if !sp.writing {
		return
	}
	ew, ok := sp.c.(interface{ ExtendWrite() })
	if !ok {
		return
	}
	if now := time.Now(); now.Sub(sp.extended) >= http1.LazyDelay {
		sp.extended = now
		ew.ExtendWrite()
	}
}

// writeCall is the call nginx names when a write of n bytes to a
// temporary file fails: one of *_buffers (unit bytes each) goes by
// pwrite(), several (its temp_file_write_size is two buffers) by
// pwritev() (ngx_write_chain_to_file).
func writeCall(n, unit int) string {
	if n > unit {
		return "pwritev()"
	}
	return "pwrite()"
}

// sendBlocker is an HTTP/2 stream (http2.Stream): its window, the
// connection's socket under it, and the cut of its response.
type sendBlocker interface {
	SendBlocked() bool
	WriteWaits(n int) bool
	ConnSocket() syscall.RawConn
	CutSend()
}

// clientBlocked reports whether the client takes no more now: its
// socket is not writable, or an HTTP/2 stream's window is shut.
func (sp *spool) clientBlocked() bool {
	if sp.h2 != nil && sp.h2.SendBlocked() {
		return true
	}
	return (sp.h2 == nil || sp.fd >= 0) && clientBlocked(sp.fd)
}

// clientFailed reports whether a write to the client failed.
func (sp *spool) clientFailed() bool {
	sp.lk.mu.Lock()
	defer sp.lk.mu.Unlock()
	return sp.err != nil
}

// end says the relay is done: ok, the feeder sends what is left; else it
// stops at once. It waits for the feeder, removes the file and gives the
// memory back; the client's error is returned.
func (sp *spool) end(ok bool) error {
	sp.lk.mu.Lock()
	sp.eof = true
	sp.quit = !ok
	sp.lk.cond.Broadcast()
	sp.lk.mu.Unlock()
	if !ok {
		// The response is cut: a write the client holds up ends now (an
		// HTTP/2 stream's, waiting for its window, is reset).
		if sp.h2 != nil {
			sp.h2.CutSend()
		} else if nc := sp.c.NetConn(); nc != nil {
			nc.SetWriteDeadline(time.Now())
		}
	}
	<-sp.done
	sp.wake.Stop()
	if sp.f != nil {
		sp.f.Close()
		os.Remove(sp.f.Name())
	}
	mem := sp.mem[:cap(sp.mem)]
	spoolMems.Put(&mem)
	err := sp.err
	*sp = spool{}
	return err
}

// bodyWriter passes a buffered response's body to the client: directly
// while it is within the *_buffers, then through x.spool.
type bodyWriter struct {
	p         *Proxy
	c         http1.Stream
	s         *rewrite.State
	x         *exchange
	spoolable bool // the spool may start: cleared when the client's stream takes none
	unlimited bool
	relayed   int
}

// bodyOut starts a response's body writer. Whether the client's stream
// can take a spool is asked once the body outgrows the buffers
// (spoolsTo): most bodies never do, and its interface calls were ~100
// instructions and ~8 cache lines of every proxied response.
func (p *Proxy) bodyOut(c http1.Stream, s *rewrite.State, x *exchange) bodyWriter {
	// nginx's event pipe: a response to be cached or stored is written to
	// the temporary file whatever *_max_temp_file_size says.
	unlimited := x.cr != nil && x.cr.w.Active() || x.store.Stream != nil
	spoolable := x.buffering && (p.temp.max > 0 || unlimited)
	return bodyWriter{p: p, c: c, s: s, x: x, spoolable: spoolable, unlimited: unlimited}
}

// spoolsTo reports whether c takes a spool: main requests on a socket
// or an HTTP/2 stream (a subrequest, or a stream with neither, writes
// as it did).
func spoolsTo(c http1.Stream) bool {
	rc, _ := c.Socket()
	spoolable := rc != nil
	if !spoolable {
		_, spoolable = c.NetConn().(sendBlocker)
	}
	return spoolable && !isSub(c)
}

// h2Waits reports whether the client is an HTTP/2 stream whose write of
// n bytes would wait for its window.
func (w *bodyWriter) h2Waits(n int) bool {
	h2, ok := w.c.NetConn().(sendBlocker)
	return ok && h2.WriteWaits(n)
}

func (w *bodyWriter) write(b []byte) error {
	x, p := w.x, w.p
	if x.cr != nil && x.cr.tempFail != nil {
		// The cache's file could not be made: nginx's pipe writes a
		// cached response's buffers there before the client gets them,
		// so its first one fails (NGX_ABORT), nothing sent: not even
		// an HTTP/1 head its write filter still held (postpone_output).
		if headPostponed(w.c) {
			w.c.Discard()
		}
		return p.tempErr(x, x.cr.tempFail)
	}
	// The buffers' worth goes straight to the client, unless an HTTP/2
	// stream's write would wait for its window first (*_buffers larger
	// than the stream queues, the only way it can): then the buffers read
	// ahead, and the temporary file after them, as nginx's event pipe does.
	if !x.spool.on && w.spoolable && (w.relayed+len(b) > p.temp.buffers ||
		w.relayed+len(b) > http2.MaxQueued && w.h2Waits(len(b))) {
		if w.spoolable = spoolsTo(w.c); w.spoolable {
			x.spool.start(w.c, p.temp.buffers)
		}
	}
	if x.spool.on {
		return p.tempErr(x, x.spool.put(b, &p.temp, w.unlimited, w.warn))
	}
	w.relayed += len(b)
	_, err := w.c.Write(b)
	return err
}

// flushOut flushes what the relay made before it waits on the backend,
// unless the feeder owns the client.
func (w *bodyWriter) flushOut() error {
	if w.x.spool.on {
		return nil
	}
	return w.c.FlushOut()
}

// warn logs the temporary file's warning, unless the response is cached
// or stored: nginx's pipe then keeps its file (persistent) and warns
// nothing.
func (w *bodyWriter) warn(name string) {
	if !w.unlimited {
		w.p.warnTempFile(w.s, w.x, name)
	}
}

// spoolFailed ends the spool of a relay that failed: when the client is
// gone, or the temporary file failed (nginx's NGX_ABORT), nothing more is
// sent; a backend's failure lets the client have what was read first
// (the caller ends the spool).
// Its first test is inlined at the callers (the rest is spoolFailedRun): the
// common case costs a test, not a call.
func (x *exchange) spoolFailed(err error) {
	if err == nil || !x.spool.on {
		return
	}
	x.spoolFailedRun(err)
}

// spoolFailedRun is spoolFailed past its first test.
func (x *exchange) spoolFailedRun(err error) {
	if err != nil && x.spool.on && (x.spool.clientFailed() || isLevelError(err)) {
		x.spool.end(false)
	}
}

// isSub reports whether c, under the cache's and the store's tees, is a
// subrequest's.
func isSub(c http1.Stream) bool {
	hc, ok := underTees(c).(*http1.Conn)
	return ok && hc.IsSub()
}

// underTees is the stream under the cache's and the store's tees.
func underTees(c http1.Stream) http1.Stream {
	for {
		switch t := c.(type) {
		case *teeStream:
			c = t.Stream
		case *storeStream:
			c = t.Stream
		default:
			return c
		}
	}
}
