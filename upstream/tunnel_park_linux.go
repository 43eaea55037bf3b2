package upstream

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gonginx/gonginx/upstream/poller"
)

// parkState is a direction's side of the poller: its source socket's
// registration, and the state of the goroutine a wake-up starts.
type parkState struct {
	rc, dstRC  syscall.RawConn // the source's; the destination's when a plain socket (splice)
	conn       *poller.Conn    // the source's socket when the server's own (its input hook, not reg)
	dstConn    *poller.Conn    // dstRC's when the server's own: written with WriteNow
	reg        poller.Reg
	registered bool
	noSplice   bool // splice(2) refused this source: buffers only
	// first: park found input there already (no event will tell of
	// it), which begin copies once t.mu is released (runFirst).
	first bool
	// hup: the poller reported the source's end (RDHUP, HUP, ERR), so a
	// short read does not mean the socket is empty: the end is there too.
	hup    atomic.Bool
	readFn func(fd uintptr) bool
	buf    []byte // the read's buffer, n and errno its result
	n      int
	errno  error
	// The poller goroutine's own copy (copyInline): the write's
	// callback and result, and the bytes it could not write, which the
	// goroutine it starts writes first.
	writeFn   func(fd uintptr) bool
	wbuf      []byte
	wn        int
	werrno    error
	carry     *[]byte
	carryFrom int
	carryTo   int
	endErr    error // how the source ended, seen by copyInline
	bufLen    int   // the tunnel's buffers' length: the configuration's, or learnt from the first copyInline took
	// tls is a TLS source (rc is its socket's): it is read through TLS,
	// from the socket only when the socket has bytes (readTLS).
	tls    *tls.Conn
	peekFn func(fd uintptr) bool
	tlsEnd error // how it ended, returned with its last bytes
}

// plainSocket is c's descriptor access when c is a plain socket that
// buffers nothing of its own (not TLS, nor a wrapper that read ahead).
func plainSocket(c net.Conn) syscall.RawConn {
	var rc syscall.RawConn
	var err error
	switch c := c.(type) {
	case *poller.Conn:
		// Named first: a concrete type is one comparison, where the
		// ownSocket interface's case looks its method set up (~40
		// instructions, four calls per tunnel).
		rc, err = c.SyscallConn()
	case *net.TCPConn:
		rc, err = c.SyscallConn()
	case *net.UnixConn:
		rc, err = c.SyscallConn()
	case ownSocket:
		rc, err = c.SyscallConn()
	}
	if err != nil {
		return nil
	}
	return rc
}

// tlsSocket is the socket under a TLS connection c that has done its
// handshake, when its transport is one (a wrapper that exposes its
// socket reads nothing ahead once the handshake is done).
func tlsSocket(c net.Conn) (*tls.Conn, syscall.RawConn) {
	tc, ok := c.(*tls.Conn)
	// Not before its handshake: a read under a past deadline would end
	// the handshake with a timeout that TLS keeps as the connection's.
	if !ok || !tc.ConnectionState().HandshakeComplete {
		return nil, nil
	}
	sc, ok := tc.NetConn().(syscall.Conn)
	if !ok {
		return nil, nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, nil
	}
	return tc, rc
}

// park registers d's source with the process's poller; false: d keeps a
// goroutine (no poller, or a source with no socket). A TLS source parks
// on its socket, as nginx's SSL connection waits in its event loop: an
// idle wss tunnel held a goroutine blocked in the TLS read, with its
// stack and TLS's read buffer. Called under t.mu.
func (d *direction) park() bool {
	rc := plainSocket(d.src)
	var tc *tls.Conn
	if rc == nil {
		if tc, rc = tlsSocket(d.src); rc == nil {
			return false
		}
	}
	p, err := poller.Default()
	if err != nil {
		return false
	}
	d.pk.rc, d.pk.tls = rc, tc
	if tc != nil {
		d.pk.peekFn = d.peekFD
	} else if d.rate == 0 {
		// Copied by the poller's goroutine, and spliced: plain sockets only.
		d.pk.dstRC = plainSocket(d.dst)
		if d.pk.dstRC != nil {
			d.pk.dstConn = poller.ConnOf(d.pk.dstRC)
		}
	}
	if d.pk.dstConn == nil {
		d.pk.writeFn = d.writeFD // bound only where writeNow uses it
	}
	d.src.SetReadDeadline(time.Time{}) // a deadline left would fail every read
	d.state.Store(dirIdle)             // before the first event can come
	if c := poller.ConnOf(rc); c != nil {
		// The server's own socket is on the poller for its life: its
		// input reaches d with no registration of its own (no
		// epoll_ctl, one poller woken per event). The client's abort
		// watch ends here.
		if d.endedBy == endedClient && d.t.watched != nil {
			brokenConns.forget(rc, d.t.watched)
		}
		d.pk.conn, d.pk.registered = c, true
		if c.HookInput(d) || tc != nil {
			if c.HungUp() {
				d.pk.hup.Store(true)
			}
			// Input already there (no event will tell of it), or TLS
			// may hold bytes read with the request: a first run takes
			// them, then d parks.
			d.pk.first = true
		}
		return true
	}
	d.pk.readFn = d.readFD // a socket of package net's: read through its RawConn
	// A registration of its own (or the watch's) may report to d after
	// its Forget: the record is left to the GC at its end, not reused.
	// (Written only when set: a record not pooled has no creator's
	// reference, and its count may pass 0 meanwhile.)
	if d.t.pooled {
		d.t.pooled = false
	}
	var reg poller.Reg
	handed, pending := false, false
	if d.endedBy == endedClient && d.t.watched != nil {
		// The socket's registration for the request's abort watch
		// becomes d's: no second epoll entry, often no epoll_ctl.
		// pending: an event the watch took, which d must read.
		reg, pending, handed = brokenConns.handOver(rc, d.t.watched, d)
	}
	if !handed {
		if reg, err = p.Add(rc, inputEvents, d); err != nil {
			// Back to a goroutine, unless close ended d meanwhile.
			return !d.state.CompareAndSwap(dirIdle, dirRunning)
		}
	}
	d.pk.reg, d.pk.registered = reg, true
	if pending || tc != nil {
		// TLS may hold bytes read with the request (no event tells of
		// them): a first run takes them, then d parks.
		d.pk.first = true
	}
	return true
}

// runFirst copies what park found there already, after t.mu (begin):
// a plain socket's bytes once, without waiting, on the caller's
// goroutine (the request's, which has set the tunnel up), as the
// poller's goroutine copies a reported message; what is left (a full
// buffer, the end, TLS) goes to a goroutine. A WebSocket client's first
// message, sent on the 101, is mostly there by then: handed to a
// goroutine, it cost a wake-up and a switch per connection.
func (d *direction) runFirst() {
	if !d.pk.first {
		return
	}
	d.pk.first = false
	if d.pk.dstRC != nil && d.state.CompareAndSwap(dirIdle, dirRunning) {
		d.copyInline(false)
		return
	}
	d.wake()
}

// unpark takes d's source off the poller as it closes (the close takes
// it out of the epoll set: no epoll_ctl). Called under t.mu.
func (d *direction) unpark() {
	if d.pk.registered {
		if d.pk.conn != nil {
			d.pk.conn.OnInput(nil)
		} else {
			d.pk.reg.Forget()
		}
		d.pk.registered = false
	}
}

// Ready is the poller's report that d's source has bytes (or its end).
// When d is parked and its destination a plain socket, the poller's
// goroutine copies at once (copyInline), as nginx's event loop does: a
// message that goes through in one read and one write costs no
// goroutine. Otherwise a goroutine copies (wake).
func (d *direction) Ready(events uint32) {
	if events&(poller.RDHup|poller.Hup|poller.Err) != 0 {
		d.pk.hup.Store(true)
	}
	if d.pk.dstRC != nil && d.state.CompareAndSwap(dirIdle, dirRunning) {
		d.copyInline(true)
		return
	}
	d.wake()
}

// copyInline reads once and writes what came without waiting. Whatever
// is left (bytes the destination did not take, a full buffer, the end)
// goes to a goroutine; else d parks again. The poller's goroutine runs
// it (onPoller), or begin's caller (runFirst), and only from idle:
// nothing else runs d meanwhile.
func (d *direction) copyInline(onPoller bool) {
	t := d.t
	buf, bp := d.inlineBuf()
	n, err := d.read(buf)
	if err == syscall.EAGAIN {
		t.putInline(bp)
		d.parkAgain()
		return
	}
	if err != nil || n == 0 {
		t.putInline(bp)
		if err == nil {
			err = io.EOF
		}
		if c := d.pk.conn; c != nil && t.onEnd != nil && onPoller {
			d.pk.endErr = err
			t.ref() // AfterTurn's, as goRun's
			c.AfterTurn(d)
			return
		}
		d.pk.endErr = err
		d.goRun() // it ends d, off the poller's goroutine
		return
	}
	// The poller's clock of this batch of events, as nginx's timer
	// reads its cached time: no clock read per message. Off the
	// poller (runFirst) the tunnel's start noted the time just before
	// (sendPending), and the batch's time may be older than that.
	if onPoller {
		t.lastActive.Store(poller.EventNanotime())
	}
	if d.trackFirst && t.firstByte < 0 {
		t.firstByte = time.Since(t.start)
	}
	m, werr := d.writeNow(buf[:n])
	*d.written += int64(m)
	if werr != nil || m < n || n == len(buf) || d.pk.hup.Load() {
		if bp == nil {
			// The shared buffer is not lent on: what is left moves
			// to one of the pool's.
			bp = t.bufs.Get().(*[]byte)
			copy(*bp, buf[m:n])
			n, m = n-m, 0
			t.putInline(nil)
		}
		d.pk.carry, d.pk.carryFrom, d.pk.carryTo = bp, m, n
		d.goRun()
		return
	}
	t.putInline(bp)
	d.parkAgain()
}

// AfterTurn ends d, whose source ended, and with it the tunnel of a
// request that returned (onEnd), on the goroutine of the poller that
// read the end, once its turn is over (copyInline): nginx's event loop
// finalizes the request where it reads the end. Handed to a goroutine
// (goRun), the end (the close, the request's log line, the connection's
// close) cost a wake-up and a switch per connection. Only plain sockets
// copy inline: no TLS close_notify, nor any write that waits, runs here.
func (d *direction) AfterTurn() {
	t := d.t
	err := d.pk.endErr
	d.state.Store(dirDone)
	t.finishOwn(d, err)
	t.unref()
}

// The pollers' goroutines copy (copyInline) through one buffer of the
// process, taken for one read and its write, never held between events:
// a message costs no pool Get and Put (~240 instructions). A second
// poller's goroutine copying meanwhile takes one from the pool.
var (
	inlineBusy atomic.Bool
	inlineMem  []byte // guarded by inlineBusy
)

// inlineMax bounds the shared buffer: a larger proxy_buffer_size copies
// through the pool's.
const inlineMax = 64 << 10

// inlineBuf is a buffer of the tunnel's size (proxy_buffer_size) for
// copyInline: the shared one (bp nil) or one of the pool's.
func (d *direction) inlineBuf() (buf []byte, bp *[]byte) {
	t, size := d.t, d.pk.bufLen
	if size == 0 {
		bp := t.bufs.Get().(*[]byte)
		d.pk.bufLen = len(*bp)
		return *bp, bp
	}
	if size <= inlineMax && inlineBusy.CompareAndSwap(false, true) {
		if len(inlineMem) < size {
			inlineMem = make([]byte, size)
		}
		return inlineMem[:size], nil
	}
	bp = t.bufs.Get().(*[]byte)
	return *bp, bp
}

// putInline gives back what inlineBuf gave.
func (t *tunnel) putInline(bp *[]byte) {
	if bp == nil {
		inlineBusy.Store(false)
		return
	}
	t.bufs.Put(bp)
}

// parkAgain makes d idle after copyInline (a close meanwhile ends it).
func (d *direction) parkAgain() {
	if d.state.CompareAndSwap(dirRunning, dirIdle) {
		if d.t.closed.Load() && d.state.CompareAndSwap(dirIdle, dirDone) {
			d.t.ref()
			go d.finishClosed()
		}
		return
	}
	d.goRun()
}

// writeNow writes b to the destination without waiting: the bytes it
// took (EAGAIN: none, no error).
func (d *direction) writeNow(b []byte) (int, error) {
	if c := d.pk.dstConn; c != nil {
		n, err := c.WriteNow(b)
		if errno, ok := err.(syscall.Errno); ok {
			if errno == syscall.EAGAIN {
				return 0, nil
			}
			return 0, d.opError("write", d.dst, errno)
		}
		return n, err // nil, or how the Conn failed (closed, deadline)
	}
	d.pk.wbuf = b
	if err := d.pk.dstRC.Write(d.pk.writeFn); err != nil {
		return 0, err
	}
	d.pk.wbuf = nil
	if d.pk.werrno != nil && d.pk.werrno != syscall.EAGAIN {
		return d.pk.wn, d.opError("write", d.dst, d.pk.werrno)
	}
	return d.pk.wn, nil
}

// writeFD is writeNow's RawConn callback (bound once); it never waits.
func (d *direction) writeFD(fd uintptr) bool {
	for {
		n, err := rawWrite(int(fd), d.pk.wbuf)
		if err == syscall.EINTR {
			continue
		}
		d.pk.wn, d.pk.werrno = max(n, 0), err
		return true
	}
}

// writeCarry writes what copyInline left, waiting as long as it takes.
func (d *direction) writeCarry() error {
	bp := d.pk.carry
	if bp == nil {
		return nil
	}
	d.pk.carry = nil
	defer d.t.bufs.Put(bp)
	if d.pk.carryFrom == d.pk.carryTo {
		return nil
	}
	m, err := d.dst.Write((*bp)[d.pk.carryFrom:d.pk.carryTo])
	*d.written += int64(m)
	return err
}

// wake starts a goroutine to copy what arrived, or, when one runs,
// tells it to read again before it parks.
func (d *direction) wake() {
	for {
		switch d.state.Load() {
		case dirIdle:
			if d.state.CompareAndSwap(dirIdle, dirRunning) {
				d.goRun()
				return
			}
		case dirRunning:
			if d.state.CompareAndSwap(dirRunning, dirPending) {
				return
			}
		default:
			return
		}
	}
}

// goRun runs d on a lingering goroutine (GoResume): a woken direction
// takes no new goroutine, nor its stack. The goroutine holds a reference
// to the tunnel: once d is idle again another may end it, and the
// tunnel's record be reused, while the goroutine still looks at it.
func (d *direction) goRun() {
	d.t.ref()
	GoResume(d)
}

// Resume is goRun's.
func (d *direction) Resume() {
	t := d.t
	d.run()
	t.unref()
}

// finishClosed ends d closed, on a goroutine holding a reference.
func (d *direction) finishClosed() {
	t := d.t
	t.finish(d, net.ErrClosed)
	t.unref()
}

// run copies until the source is drained, then parks d again (its
// goroutine ends), or ends d when the source did.
func (d *direction) run() {
	if err := d.pk.endErr; err != nil {
		d.state.Store(dirDone)
		d.t.finishOwn(d, err)
		return
	}
	if err := d.writeCarry(); err != nil {
		d.state.Store(dirDone)
		d.t.finishOwn(d, err)
		return
	}
	for {
		d.state.Store(dirRunning) // a wake-up from now on runs us again
		ended, err := d.drain()
		if ended {
			d.state.Store(dirDone)
			d.t.finishOwn(d, err)
			return
		}
		if d.state.CompareAndSwap(dirRunning, dirIdle) {
			// A close that found d running left its end to us.
			if d.t.closed.Load() && d.state.CompareAndSwap(dirIdle, dirDone) {
				d.t.finishOwn(d, net.ErrClosed)
			}
			return
		}
	}
}

// drain copies what the source holds. A read shorter than the buffer
// emptied the socket (any byte arriving later is a new event, as nginx's
// recv clears ready on a short read), so a small message costs one read
// and one write; a full buffer goes on by splice until the socket is
// empty. The buffer is the pool's only while bytes are copied.
func (d *direction) drain() (ended bool, err error) {
	t := d.t
	bp := t.bufs.Get().(*[]byte)
	defer t.bufs.Put(bp)
	for {
		buf := *bp
		if d.rate > 0 {
			buf = buf[:t.allowance(d.rate, *d.written, len(buf))]
		}
		n, err := d.read(buf)
		switch {
		case err == syscall.EAGAIN:
			return false, nil
		case err != nil:
			return true, err
		case n == 0:
			return true, io.EOF
		}
		t.touch()
		if d.trackFirst && t.firstByte < 0 {
			t.firstByte = time.Since(t.start)
		}
		m, werr := d.dst.Write(buf[:n])
		*d.written += int64(m)
		if werr != nil {
			return true, werr
		}
		if d.rate > 0 {
			t.throttle(int64(n), d.rate, *d.written)
		}
		if n < len(buf) && !d.pk.hup.Load() && d.pk.tls == nil {
			return false, nil // a TLS read is a record's: on to EAGAIN
		}
		if d.pk.dstRC != nil && !d.pk.noSplice {
			if ended, err, ok := d.spliceRest(); ok {
				return ended, err
			}
		}
	}
}

// read reads the source once without waiting: n bytes, or EAGAIN when
// it is empty, or the error (a *net.OpError) that ends the direction.
func (d *direction) read(buf []byte) (int, error) {
	if d.pk.tls != nil {
		return d.readTLS(buf)
	}
	if c := d.pk.conn; c != nil {
		n, err := c.ReadNow(buf)
		if errno, ok := err.(syscall.Errno); ok {
			if errno == syscall.EAGAIN {
				return 0, syscall.EAGAIN
			}
			return 0, d.opError("read", d.src, errno)
		}
		return n, err // nil, or how the Conn failed (closed, deadline)
	}
	d.pk.buf = buf
	if err := d.pk.rc.Read(d.pk.readFn); err != nil {
		return 0, err // closed
	}
	d.pk.buf = nil
	if d.pk.errno != nil {
		if d.pk.errno == syscall.EAGAIN {
			return 0, syscall.EAGAIN
		}
		return 0, d.opError("read", d.src, d.pk.errno)
	}
	return d.pk.n, nil
}

// readFD is the RawConn callback of read (bound once: a closure per
// read would allocate); it never waits.
func (d *direction) readFD(fd uintptr) bool {
	for {
		n, err := rawRead(int(fd), d.pk.buf)
		if err == syscall.EINTR {
			continue
		}
		d.pk.n, d.pk.errno = max(n, 0), err
		return true
	}
}

// longAgo is a read deadline that has passed: a TLS read under it takes
// what TLS holds, decrypted or buffered, without reading the socket.
var longAgo = time.Unix(1, 0)

// readTLS reads a TLS source without waiting for the socket: what TLS
// holds, else, when the socket has bytes (a record or part of one, or
// its end), a read that waits for the rest of the record; EAGAIN when
// neither has anything.
func (d *direction) readTLS(buf []byte) (int, error) {
	if err := d.pk.tlsEnd; err != nil {
		return 0, err
	}
	tc := d.pk.tls
	tc.SetReadDeadline(longAgo)
	n, err := tc.Read(buf)
	tc.SetReadDeadline(time.Time{})
	if n == 0 && errors.Is(err, os.ErrDeadlineExceeded) {
		d.pk.errno = nil
		if err := d.pk.rc.Read(d.pk.peekFn); err != nil {
			return 0, err // closed
		}
		if d.pk.errno == syscall.EAGAIN {
			return 0, syscall.EAGAIN
		}
		n, err = tc.Read(buf)
	}
	if n > 0 && err != nil {
		// The last bytes came with the end (close_notify read with
		// them): the bytes now, the end at the next read.
		d.pk.tlsEnd, err = err, nil
	}
	return n, err
}

// peekFD is readTLS's RawConn callback (bound once): whether the socket
// has a byte or its end, without taking it (errno EAGAIN: neither).
func (d *direction) peekFD(fd uintptr) bool {
	var b [1]byte
	for {
		_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		if err == syscall.EINTR {
			continue
		}
		d.pk.errno = err
		return true
	}
}

func (d *direction) opError(op string, c net.Conn, errno error) error {
	return &net.OpError{Op: op, Net: c.LocalAddr().Network(), Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: os.NewSyscallError(op, errno)}
}

// spliceMax is one splice's length and the pipes' size (F_SETPIPE_SZ,
// as Go's own splice sizes its pipes): a large message moves in few
// calls. A pipe is lent for one burst, and the few kept between bursts
// are empty: their pages are the kernel's again.
const spliceMax = 1 << 20

// spliceRest moves what is left in the source to the destination
// through a pipe taken for this burst only, until the source is empty
// (EAGAIN: a splice that filled the pipe's slots with small segments
// returns short without emptying the socket). ok is false when splice
// cannot serve this source: the caller goes on with buffers.
func (d *direction) spliceRest() (ended bool, err error, ok bool) {
	p, perr := spliceFree.get()
	if perr != nil {
		return false, nil, false
	}
	defer spliceFree.put(p)
	for first := true; ; first = false {
		var n int64
		var errno error
		if cerr := d.pk.rc.Read(func(fd uintptr) bool {
			for {
				n, errno = syscall.Splice(int(fd), nil, p.w, nil, spliceMax, spliceFlags)
				if errno != syscall.EINTR {
					return true
				}
			}
		}); cerr != nil {
			return true, cerr, true
		}
		switch {
		case errno == syscall.EAGAIN:
			return false, nil, true
		case errno == syscall.EINVAL && first:
			d.pk.noSplice = true
			return false, nil, false
		case errno != nil:
			return true, d.opError("read", d.src, errno), true
		case n == 0:
			return true, io.EOF, true
		}
		p.held = int(n)
		d.t.touch()
		if err := d.spliceOut(p); err != nil {
			return true, err, true
		}
	}
}

const spliceFlags = 0x1 | 0x2 // SPLICE_F_MOVE | SPLICE_F_NONBLOCK

// spliceOut empties the pipe into the destination, waiting (with the
// goroutine) while the destination is full.
func (d *direction) spliceOut(p *splicePipe) error {
	var errno error
	cerr := d.pk.dstRC.Write(func(fd uintptr) bool {
		for p.held > 0 {
			n, err := syscall.Splice(p.r, nil, int(fd), nil, p.held, spliceFlags)
			switch {
			case err == syscall.EINTR:
				continue
			case err == syscall.EAGAIN:
				return false // wait until the destination can take more
			case err != nil:
				errno = err
				return true
			}
			p.held -= int(n)
			*d.written += n
		}
		return true
	})
	if cerr != nil {
		return cerr
	}
	if errno != nil {
		return d.opError("write", d.dst, errno)
	}
	return nil
}

// splicePipe is a pipe lent to one burst of splicing.
type splicePipe struct {
	r, w int
	held int // bytes in the pipe
}

// pipeList keeps a few empty pipes for the next burst: as many as
// bursts run at once, up to a bound, never one per tunnel.
type pipeList struct {
	mu   sync.Mutex
	free []*splicePipe
}

var spliceFree pipeList

const maxFreePipes = 8

func (l *pipeList) get() (*splicePipe, error) {
	l.mu.Lock()
	if n := len(l.free); n > 0 {
		p := l.free[n-1]
		l.free = l.free[:n-1]
		l.mu.Unlock()
		return p, nil
	}
	l.mu.Unlock()
	var fds [2]int
	if err := syscall.Pipe2(fds[:], syscall.O_NONBLOCK|syscall.O_CLOEXEC); err != nil {
		return nil, err
	}
	// Without the larger size (the user's pipe pages are used up) the
	// pipe keeps its default 64 KiB: splices are only shorter.
	syscall.Syscall(syscall.SYS_FCNTL, uintptr(fds[1]), syscall.F_SETPIPE_SZ, spliceMax)
	return &splicePipe{r: fds[0], w: fds[1]}, nil
}

// put keeps an empty pipe, or closes it (one left holding bytes by a
// failed write, or beyond the bound).
func (l *pipeList) put(p *splicePipe) {
	l.mu.Lock()
	if p.held == 0 && len(l.free) < maxFreePipes {
		l.free = append(l.free, p)
		l.mu.Unlock()
		return
	}
	l.mu.Unlock()
	syscall.Close(p.r)
	syscall.Close(p.w)
}
