package http1

import (
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
)

// sockState is a Sock's RawConn, its callbacks bound once (a method
// value allocates) and the state each shares with Read or Write: apart,
// as a net.Conn may be read and written at once.
type sockState struct {
	rc              syscall.RawConn
	dn              readDrained // rc's, when it keeps that record
	network         string
	readFn, writeFn func(uintptr) bool
	tryReadFn       func(uintptr) bool
	sendReadFn      func(uintptr) bool
	tryFn, fdFn     func(uintptr)
	r, w            sockOp
	sr              sendReadOp
	// mark, when set, is stored true just before each read system call
	// (MarkReads).
	mark *atomic.Bool
	// at, atDL: the next Read's clock reading and read deadline
	// (ReadNextAt), taken by it.
	at, atDL int64
	// tryNext: the next Read makes one read and no wait (TryNextRead);
	// tryEmpty: that read found nothing.
	tryNext, tryEmpty bool
	// armer, while set, has Write try the socket first and arm the
	// write deadline only when the socket takes no more (Conn.writeRaw
	// sets it around a write through TLS).
	armer WriteArmer
}

// sendReadOp is SendRead's state beside its read's (sockOp r).
type sendReadOp struct {
	out     []byte // what is left to write
	sent    int
	werrno  syscall.Errno
	blocked bool // the socket took no more of out
	wait    bool
	probe   bool // the next read is the first, tried at once
	late    bool // it found nothing
	stopped bool // after asked for no read
	after   func() bool
}

// sockOp is one Read's or Write's buffer and result.
type sockOp struct {
	p     []byte
	n     int
	errno syscall.Errno
	// ReadLazy's: take gives the buffer, drop takes it back.
	take func() []byte
	drop func()
}

// SockFor returns nc's Sock, or nil when nc is not a plain socket (TLS
// and other wrappers keep their own buffers and use nc).
func SockFor(nc net.Conn) *Sock { return SockFrom(nc, nil) }

// SockFrom is SockFor taking *spare (a Sock KeepSock emptied) when
// there is one, instead of the pool's: *spare is then nil.
func SockFrom(nc net.Conn, spare **Sock) *Sock {
	var sc syscall.Conn
	network := "tcp"
	switch c := nc.(type) {
	case *net.TCPConn:
		sc = c
	case *net.UnixConn:
		sc, network = c, "unix"
	case ownSocket:
		sc, network = c, c.SocketNetwork()
	default:
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	if spare == nil || *spare == nil {
		return sockOf(rc, network)
	}
	s := *spare
	*spare = nil
	s.rc, s.network = rc, network
	s.dn, _ = rc.(readDrained)
	return s
}

// KeepSock empties s (nil is none) of its socket for SockFrom, its
// callbacks kept, where PutSock gives it to the pool: its owner's next
// connection takes it with no pool Get and Put. No Read or Write of it
// runs, nor will.
func KeepSock(s *Sock) *Sock {
	if s != nil {
		clearSock(s)
	}
	return s
}

// newSock is SockFor with nc's RawConn at hand; spare, when not nil, is
// a Sock reset by clearSock that it takes instead of the pool's.
func newSock(rc syscall.RawConn, nc net.Conn, spare *Sock) *Sock {
	network := ""
	switch c := nc.(type) {
	case *net.TCPConn:
		network = "tcp"
	case *net.UnixConn:
		network = "unix"
	case ownSocket:
		network = c.SocketNetwork()
	default:
		return nil
	}
	if spare == nil {
		return sockOf(rc, network)
	}
	spare.rc, spare.network = rc, network
	spare.dn, _ = rc.(readDrained)
	return spare
}

// ownSocket is a server's own socket type (the poller's accepted
// connections) whose RawConn reads and writes as a net.TCPConn's.
type ownSocket interface {
	syscall.Conn
	SocketNetwork() string
}

func sockOf(rc syscall.RawConn, network string) *Sock {
	s := sockPool.Get().(*Sock)
	s.rc, s.network = rc, network
	s.dn, _ = rc.(readDrained)
	return s
}

// sockPool holds Socks with their callbacks bound (a Sock is 192 bytes
// with them; a backend connection's comes back as its slot is released): an idle keep-alive connection gives its Conn's back while
// it is parked (putSock), and takes one when it wakes.
var sockPool = sync.Pool{New: func() any {
	s := &Sock{}
	s.readFn, s.writeFn, s.tryFn, s.fdFn = s.read, s.write, s.try, s.setFD
	s.sendReadFn, s.tryReadFn = s.sendRead, s.tryRead
	return s
}}

// putSock returns s to the pool: no Read or Write of it runs, nor will.
func putSock(s *Sock) {
	clearSock(s)
	sockPool.Put(s)
}

// clearSock empties s of its socket and its last operations, its
// callbacks kept (putSock's, or a Conn that keeps it: recycle).
func clearSock(s *Sock) {
	s.rc, s.dn, s.network, s.r, s.w, s.sr, s.mark = nil, nil, "", sockOp{}, sockOp{}, sendReadOp{}, nil
	s.at, s.atDL, s.armer, s.tryNext, s.tryEmpty = 0, 0, nil, false, false
}

// FD is the socket's descriptor (-1: closed). The descriptor passes
// through s.r (no Read runs meanwhile): a closure over a local escapes
// through the RawConn interface, an allocation per backend connection.
func (s *Sock) FD() int {
	s.r.n = -1
	s.rc.Control(s.fdFn)
	fd := s.r.n
	s.r.n = 0
	return fd
}

// setFD is FD's Control callback.
func (s *Sock) setFD(fd uintptr) { s.r.n = int(fd) }

// Read reads as net.Conn's Read: io.EOF at the end, a timeout error when
// the read deadline passes.
func (s *Sock) Read(b []byte) (int, error) {
	if s.tryNext {
		s.tryNext = false
		return s.readTry(b)
	}
	at, d := s.at, s.atDL
	if at != 0 {
		s.at, s.atDL = 0, 0
	}
	return s.readAt(b, at, d)
}

// ReadNextAt has the next Read (from a wrapper: TLS's record reads) wait
// under the read deadline d set from now, a clock reading of the
// caller's, both on the poller's scale, as readAt: the deadline's
// time.Time and the try's clock read cost a TLS connection's wait for
// its next request ~300 instructions. The deadline stays set after
// that Read; ReadNextAt(0, 0) forgets one no Read took. Only for a
// Sock that keeps the poller's record (keepsRecord).
func (s *Sock) ReadNextAt(now, d int64) { s.at, s.atDL = now, d }

// SetWriteArmer has each Write (from a wrapper: TLS's record writes)
// try the socket first and call a.ArmWrite only when the socket takes no
// more, until SetWriteArmer(nil), as Conn steers a TLS response's writes:
// a write the socket takes at once sets no deadline.
func (s *Sock) SetWriteArmer(a WriteArmer) { s.armer = a }

// TryNextRead has the next Read (from a wrapper: TLS's record reads)
// make one read and not wait: nothing there is os.ErrDeadlineExceeded,
// a net.Error crypto/tls takes as temporary (its connection reads on
// after it), and TriedEmpty reports it. A parked TLS connection the
// poller woke learns so whether its socket had a record's bytes without
// a peek first (a system call more than a plain socket's wake).
func (s *Sock) TryNextRead() { s.tryNext, s.tryEmpty = true, false }

// TriedEmpty reports whether the read TryNextRead asked for found
// nothing, and forgets the request if no Read took it.
func (s *Sock) TriedEmpty() bool {
	empty := s.tryEmpty
	s.tryNext, s.tryEmpty = false, false
	return empty
}

// readTry is Read's one read for TryNextRead.
func (s *Sock) readTry(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	s.r = sockOp{p: b}
	err := s.rc.Read(s.tryReadFn)
	r := s.r
	s.r = sockOp{}
	switch {
	case err != nil:
		return 0, err
	case r.n < 0:
		s.tryEmpty = true
		return 0, os.ErrDeadlineExceeded
	case r.errno != 0:
		return 0, &net.OpError{Op: "read", Net: s.network, Err: os.NewSyscallError("read", r.errno)}
	case r.n == 0:
		return 0, io.EOF
	}
	return r.n, nil
}

// tryRead is readTry's callback: one read, done whatever it finds
// (n -1: nothing).
func (s *Sock) tryRead(fd uintptr) bool {
	if !s.read(fd) {
		s.r.n = -1
	}
	return true
}

// keepsRecord reports whether s's RawConn is a readDrained (readAt).
func (s *Sock) keepsRecord() bool { return s.dn != nil }

// readAt is Read; with now (not 0) under the read deadline d set from
// the clock reading now, both on the poller's scale (readDrained's
// ReadReportedAt; s.dn is set).
func (s *Sock) readAt(b []byte, now, d int64) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	s.r = sockOp{p: b}
	var err error
	if now != 0 {
		err = s.dn.ReadReportedAt(now, d, s.readFn)
	} else {
		err = s.rawRead()
	}
	r := s.r
	s.r = sockOp{}
	switch {
	case err != nil:
		return 0, err
	case r.errno != 0:
		return 0, &net.OpError{Op: "read", Net: s.network, Err: os.NewSyscallError("read", r.errno)}
	case r.n == 0:
		return 0, io.EOF
	}
	return r.n, nil
}

// ReadLazy reads as Read into the buffer take gives, and gives it back
// to drop while the socket has nothing: a reader whose buffer is empty
// holds none while it waits (an idle HTTP/2 connection's), and the
// first try is made after the poller's readiness was reset, so no byte
// that came in between is missed. The bytes are at the start of the
// last buffer take gave (0 on an error).
func (s *Sock) ReadLazy(take func() []byte, drop func()) (int, error) {
	s.r = sockOp{take: take, drop: drop}
	// Its try first (not ReadReported's wait): the try that finds
	// nothing gives the buffer back before the wait.
	err := s.rc.Read(s.readFn)
	r := s.r
	s.r = sockOp{}
	switch {
	case err != nil:
		return 0, err
	case r.errno != 0:
		return 0, &net.OpError{Op: "read", Net: s.network, Err: os.NewSyscallError("read", r.errno)}
	case r.n == 0:
		return 0, io.EOF
	}
	return r.n, nil
}

// rawRead runs read through the RawConn: a socket whose last read
// drained it is read once the poller reports input (ReadReported).
func (s *Sock) rawRead() error {
	if s.dn != nil {
		return s.dn.ReadReported(s.readFn)
	}
	return s.rc.Read(s.readFn)
}

// MarkReads has every read of s store true in b just before its system
// call, until MarkReads(nil): a kept backend connection's record that it
// was looked at since its poller's reports (upstream's closeWatch), set
// after a send and a wait, where one set before them was undone by the
// report of the answer the read then takes.
func (s *Sock) MarkReads(b *atomic.Bool) { s.mark = b }

// read is Read's callback: false (wait) when nothing is there.
func (s *Sock) read(fd uintptr) bool {
	if s.r.p == nil {
		s.r.p = s.r.take()
	}
	for {
		if s.mark != nil && !s.mark.Load() { // a store is a locked instruction
			s.mark.Store(true)
		}
		n, e := sysRead(fd, s.r.p)
		switch e {
		case 0:
			s.r.n = n
			if n > 0 && n < len(s.r.p) && s.dn != nil {
				s.dn.ReadDrained()
			}
			return true
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			if s.dn != nil {
				s.dn.ReadDrained()
			}
			if s.r.drop != nil {
				s.r.drop()
				s.r.p = nil
			}
			return false
		}
		s.r.errno = e
		return true
	}
}

// Write writes all of b as net.Conn's Write, waiting while the socket
// is full (up to the write deadline).
func (s *Sock) Write(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	if s.armer != nil {
		n, blocked, err := s.TryWrite(b)
		if !blocked || err != nil {
			return n, err
		}
		s.armer.ArmWrite()
		m, err := s.writeWait(b[n:])
		return n + m, err
	}
	return s.writeWait(b)
}

// writeWait is Write, waiting (under the write deadline) while the
// socket takes no more.
func (s *Sock) writeWait(b []byte) (int, error) {
	s.w = sockOp{p: b}
	err := s.rc.Write(s.writeFn)
	w := s.w
	s.w = sockOp{}
	switch {
	case err != nil:
		return w.n, err
	case w.errno != 0:
		return w.n, &net.OpError{Op: "write", Net: s.network, Err: os.NewSyscallError("write", w.errno)}
	}
	return w.n, nil
}

// write is Write's callback: false (wait) while the socket takes no more.
func (s *Sock) write(fd uintptr) bool {
	for len(s.w.p) > 0 {
		n, e := sysSend(fd, s.w.p)
		switch e {
		case 0:
			s.w.n += int(n)
			s.w.p = s.w.p[n:]
			continue
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		}
		s.w.errno = e
		return true
	}
	return true
}

// TryWrite writes what the socket takes of b now, without waiting and
// without the write deadline: blocked when it took less than b (the
// rest goes through Write, under the deadline).
func (s *Sock) TryWrite(b []byte) (n int, blocked bool, err error) {
	if len(b) == 0 {
		return 0, false, nil
	}
	s.w = sockOp{p: b}
	cerr := s.rc.Control(s.tryFn)
	w := s.w
	s.w = sockOp{}
	switch {
	case cerr != nil:
		return 0, false, cerr
	case w.errno != 0:
		return w.n, false, &net.OpError{Op: "write", Net: s.network, Err: os.NewSyscallError("write", w.errno)}
	}
	return w.n, len(w.p) > 0, nil
}

// try is TryWrite's Control callback.
func (s *Sock) try(fd uintptr) { s.write(fd) }

// SendRead writes out (a request's last bytes) and then reads into b as
// Read does, in one read of the RawConn: its readiness is reset before
// out is written, so an answer that comes after it is never missed, and
// with wait the first read waits for the poller's word instead of
// finding nothing (nginx sends, then learns from epoll_wait that the
// answer is there). after, when not nil, runs once out is written whole,
// before the wait or the read, on the caller's goroutine inside the
// RawConn's read (so it must not close the socket, whose Close would
// wait for that read to end: it returns true instead, and SendRead
// returns with all sent, nothing read and no error). late reports that a
// first read tried at once (not wait) found nothing. sent < len(out)
// with a nil error: the socket took no more (nothing was read, after has
// not run): the caller writes the rest and reads. An error with sent <
// len(out) is the write's.
func (s *Sock) SendRead(out, b []byte, wait bool, after func() bool) (sent, n int, late bool, err error) {
	s.r = sockOp{p: b}
	s.sr = sendReadOp{out: out, wait: wait, after: after}
	rerr := s.rc.Read(s.sendReadFn)
	r, sr := s.r, s.sr
	s.r, s.sr = sockOp{}, sendReadOp{}
	switch {
	case sr.werrno != 0:
		return sr.sent, 0, false, &net.OpError{Op: "write", Net: s.network, Err: os.NewSyscallError("write", sr.werrno)}
	case rerr != nil:
		return sr.sent, 0, sr.late, rerr
	case sr.blocked, sr.stopped:
		return sr.sent, 0, false, nil
	case r.errno != 0:
		return sr.sent, 0, sr.late, &net.OpError{Op: "read", Net: s.network, Err: os.NewSyscallError("read", r.errno)}
	case r.n == 0:
		return sr.sent, 0, sr.late, io.EOF
	}
	return sr.sent, r.n, sr.late, nil
}

// sendRead is SendRead's callback: the write on its first call, then
// Read's.
func (s *Sock) sendRead(fd uintptr) bool {
	if s.sr.out != nil {
		for len(s.sr.out) > 0 {
			n, e := sysSend(fd, s.sr.out)
			switch e {
			case 0:
				s.sr.sent += n
				s.sr.out = s.sr.out[n:]
				continue
			case syscall.EINTR:
				continue
			case syscall.EAGAIN:
				s.sr.blocked = true
				return true
			}
			s.sr.werrno = e
			return true
		}
		s.sr.out = nil
		if s.sr.after != nil && s.sr.after() {
			s.sr.stopped = true
			return true
		}
		if s.sr.wait {
			return false
		}
		s.sr.probe = true
	}
	done := s.read(fd)
	if s.sr.probe {
		s.sr.probe, s.sr.late = false, !done
	}
	return done
}
