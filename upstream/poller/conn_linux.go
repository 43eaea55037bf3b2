package poller

import (
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Conn is an accepted TCP connection of the server's own: its descriptor
// waits on a poller of this package (registered once, edge-triggered,
// for its life; its close takes it out), not in the runtime's poller,
// and its system calls are raw. Go's net package pays per connection
// what nginx's worker does not: an epoll_ctl to add the socket to the
// runtime's set and one to take it out, getsockname after accept, and
// accept4, setsockopt and close made in the scheduler's system-call state,
// whose first after an idle moment wakes the runtime's monitor thread
// (then polling every 20 µs for a millisecond or more). Conn is a
// net.Conn with deadlines (crypto/tls runs on it), a syscall.Conn whose
// RawConn waits as Go's does, and a TCP connection's CloseWrite.
//
// The local address is the listening socket's when that is not a
// wildcard, else read when first asked (nginx's
// ngx_connection_local_sockaddr).
type Conn struct {
	r, w side

	laddr atomic.Pointer[net.TCPAddr]
	// The peer's address: its IP in rip[:rlen], its port; RemoteAddr's
	// *net.TCPAddr is made when asked (error paths and a stream or mail
	// session's start ask: a net.TCPAddr kept in the Conn cost each idle
	// connection 40 bytes more, a pointer to one 8, a size class).
	rip [16]byte

	// onInput is told of input besides the Conn's own waits (OnInput),
	// onHangup of hang-ups (OnHangup), both under hookMu.
	onInput  Handler
	onHangup Handler
	// flags are flagHooked, flagHupHooked, flagHup and the sides'
	// ready and drained bits in one word: an atomic.Bool each (four
	// bytes) kept the Conn a size class larger.
	flags atomic.Uint32
	// The small fields last, together: the references, the descriptor,
	// the peer's port and its IP's length (rip[:rlen]); the Conn fits a
	// smaller size class than with an int descriptor or an int64 state
	// apart.
	state atomic.Int32 // references held (an open Conn holds one), closing bit
	fd    int32
	// slot and gen are its registration on the Conns' poller (waits),
	// when flagRegistered: a Reg of its own, with the poller's pointer,
	// took 8 bytes more.
	slot, gen int32
	rport     uint16
	rlen      uint8
}

// hookStripes are the locks of the Conns' handlers (hookMu): a mutex
// in each Conn cost every idle connection 8 bytes and, with reg's
// poller pointer, a size class (144 bytes, not 128). A handler is set
// or read under the lock and called outside it, so a lock shared by
// several Conns is never held across another's.
const hookStripes = 64

var hookMus [hookStripes]sync.Mutex

// hookMu guards c's onInput and onHangup.
func (c *Conn) hookMu() *sync.Mutex { return &hookMus[uint32(c.fd)%hookStripes] }

// registration is c's Reg on the Conns' poller, or none.
func (c *Conn) registration() Reg {
	if !c.hasFlag(flagRegistered) {
		return Reg{}
	}
	return Reg{p: waitsP, slot: c.slot, gen: c.gen}
}

const (
	flagHooked    = 1 << iota // onInput is set
	flagHupHooked             // onHangup is set
	// flagHup: the poller reported the peer's end or an error (RDHUP,
	// HUP, ERR), which stays (nginx's pending_eof).
	flagHup
	// flagRReady, flagWReady: the poller reported the side may be
	// ready since its last try.
	flagRReady
	flagWReady
	// flagRDrained: the last read found the socket empty or took less
	// than it asked, so every byte after it is reported (flagRReady):
	// HookInput needs no peek. Each try clears it; a raw reader sets it
	// from its callback (ReadDrained).
	flagRDrained
	// flagRWaitFirst: ReadReported's last try before any wait found
	// nothing, so its next waits for the report first (waitFirst).
	flagRWaitFirst
	// flagRegistered: the socket is on the Conns' poller (slot, gen).
	flagRegistered
	// flagInputSeen: the poller has reported input (or the peer's end)
	// since the accept (InputReported); it stays.
	flagInputSeen
	// flagOutOn: the registration includes writability (watchOut).
	flagOutOn
)

// The flags' bits from waitFirstShift up are waitFirst's spacing of its
// tries first: the waits left before the next one (6 bits), and how
// often the spacing doubled (2 bits, from 8 to 64 first reads).
const (
	waitFirstShift  = 10
	probeLeftMask   = 63 << waitFirstShift
	probeLevelShift = waitFirstShift + 6
	probeLevelMask  = 3 << probeLevelShift
	// waitFirstFresh is a new connection's: nothing read, its first
	// read waits (and seven more before a try first).
	waitFirstFresh = flagRDrained | flagRWaitFirst | 7<<waitFirstShift
)

// readyBit is side s's ready flag.
func (c *Conn) readyBit(s *side) uint32 {
	if s == &c.w {
		return flagWReady
	}
	return flagRReady
}

// setFlag sets or clears bit f of c.flags.
func (c *Conn) setFlag(f uint32, on bool) {
	if on {
		c.flags.Or(f)
	} else {
		c.flags.And(^f)
	}
}

func (c *Conn) hasFlag(f uint32) bool { return c.flags.Load()&f != 0 }

// side is one direction's waiting: the deadline, and the waiter while
// one waits (from a pool: an idle connection holds no channel or
// timer). Whether the poller reported the socket may be ready since the
// last try is the Conn's flags' (readyBit).
type side struct {
	// mu serializes the side's calls, as Go's fdMutex does: one waits
	// at a time.
	mu       sync.Mutex
	deadline atomic.Int64 // on nanotime's scale (monoOf); 0: none
	waiter   atomic.Pointer[waiter]
}

const closingBit = 1 << 30

// closedBit joins closingBit in the state once closeFD is done (the
// descriptor closed, the registration forgotten): Recycle's sign that
// no goroutine is inside the Conn's close.
const closedBit = 1 << 29

var (
	waitsOnce sync.Once
	waitsP    *Poller
	waitsErr  error
)

// waits is the poller the process's Conns wait on: apart from Default,
// whose registrations (the abort watch, parked connections and tunnels)
// are made and ended by their owners on the same descriptors.
func waits() (*Poller, error) {
	waitsOnce.Do(func() { waitsP, waitsErr = New() })
	return waitsP, waitsErr
}

// ConnPoller is the poller the process's Conns wait on, for a
// registration that should share its goroutine's turns (a kept backend
// connection's watch: its reports come in the batches the servers'
// connections' do, not on a second poller's goroutine woken apart).
func ConnPoller() (*Poller, error) { return waits() }

// Ready is the poller's report: wake the side that waits for it.
func (c *Conn) Ready(events uint32) {
	if events&(In|RDHup|Hup|Err) != 0 {
		hup := events&(RDHup|Hup|Err) != 0
		if hup {
			c.flags.Or(flagHup | flagRReady | flagInputSeen)
		} else {
			c.flags.Or(flagRReady | flagInputSeen)
		}
		c.r.wake()
		if c.hasFlag(flagHooked) {
			c.hookMu().Lock()
			h := c.onInput
			c.hookMu().Unlock()
			if h != nil {
				h.Ready(events)
			}
		}
		if hup && c.hasFlag(flagHupHooked) {
			c.hookMu().Lock()
			h := c.onHangup
			c.hookMu().Unlock()
			if h != nil {
				h.Ready(events)
			}
		}
	}
	if events&(Out|Hup|Err) != 0 {
		c.flags.Or(flagWReady)
		c.w.wake()
	}
}

// OnInput tells h (on the poller's goroutine) of the socket's input and
// hang-ups besides the Conn's own waits, until OnInput(nil): a parked
// connection's wake-up with no registration of its own. Bytes (or an
// end) already there are told at once, on the caller's goroutine, as an
// epoll_ctl adding EPOLLIN reports them: input reported since the last
// read found the socket empty (it may have been read since: the reader
// finds nothing), else what a peek finds.
func (c *Conn) OnInput(h Handler) {
	if c.HookInput(h) {
		ev := In
		if c.hasFlag(flagHup) {
			ev |= RDHup
		}
		h.Ready(ev)
	}
}

// HookInput is OnInput, but what is there already is returned (pending)
// instead of told: the caller reads it, and h is told of what comes
// later only. Input reported since the last read, a hang-up, or a last
// read that drained the socket need no system call; else a peek looks.
func (c *Conn) HookInput(h Handler) (pending bool) {
	c.hookMu().Lock()
	c.onInput = h
	c.setFlag(flagHooked, h != nil)
	c.hookMu().Unlock()
	return h != nil && (c.hasFlag(flagRReady|flagHup) || !c.hasFlag(flagRDrained) && c.readable())
}

// InputQuiet reports whether a handler OnInput or HookInput unset
// before the call can no longer be called: c's poller is not handling
// events, so one it took while the handler was set has been handled
// (the call orders after that). False: such a call may be under way,
// and the caller keeps what the old handler uses (a tunnel's record is
// left to the GC, not reused).
func (c *Conn) InputQuiet() bool {
	if !c.hasFlag(flagRegistered) {
		return true
	}
	p := waitsP
	if !p.taking.TryLock() {
		return false
	}
	p.taking.Unlock()
	return true
}

// AfterTurn hands l to the end of the turn of c's poller that is under
// way: only from a handler that poller called for c (Ready, an OnInput
// handler). l runs once the turn's events were all handled and the turn
// is over (InputQuiet true, unless another began), on the goroutine
// that handled them: work a handler should not do while handlers run
// (one whose end gives records back that InputQuiet guards), without
// waking another goroutine for it.
func (c *Conn) AfterTurn(l Later) {
	p := waitsP // a handler it called: c is registered there
	p.later = append(p.later, l)
}

// OnHangup tells h (on the poller's goroutine) of the socket's hang-ups
// from now on, until OnHangup(nil): a client's end while its request
// waits on a backend (the abort watch), with no registration of its
// own. One already reported is HungUp's, not told.
func (c *Conn) OnHangup(h Handler) {
	c.hookMu().Lock()
	c.onHangup = h
	c.setFlag(flagHupHooked, h != nil)
	c.hookMu().Unlock()
}

// HangupHandler is the handler OnHangup set, or nil.
func (c *Conn) HangupHandler() Handler {
	if !c.hasFlag(flagHupHooked) {
		return nil
	}
	c.hookMu().Lock()
	h := c.onHangup
	c.hookMu().Unlock()
	return h
}

// HangupHandlerSerialized is HangupHandler for a caller whose calls are
// serialized with every OnHangup of c by a lock of its own (the abort
// watcher's): no hook lock is taken, a lock and an unlock (two locked
// instructions) less for each proxied request's watch.
func (c *Conn) HangupHandlerSerialized() Handler {
	if !c.hasFlag(flagHupHooked) {
		return nil
	}
	return c.onHangup
}

// InputHooked reports whether an OnInput (or HookInput) handler is set.
func (c *Conn) InputHooked() bool { return c.hasFlag(flagHooked) }

// HangupHooked reports whether an OnHangup handler is set.
func (c *Conn) HangupHooked() bool { return c.hasFlag(flagHupHooked) }

// HungUp reports whether the poller reported the peer's end or an error
// on the socket (it stays so).
func (c *Conn) HungUp() bool { return c.hasFlag(flagHup) }

// InputReported reports whether the poller has reported input on the
// socket, or its end, since it was accepted or dialed (it stays so): a
// read made after that report knows of an end that came with the bytes
// it read (HungUp), as nginx's read event knows it (pending_eof).
func (c *Conn) InputReported() bool { return c.hasFlag(flagInputSeen) }

// SettleConns handles, on the caller's goroutine, the events the kernel
// has reported for the process's Conns and their poller has not taken
// (Poller.Settle): a hang-up reported before the call has reached
// HungUp and its OnHangup handler when it returns.
func SettleConns() {
	if p, err := waits(); err == nil {
		p.Settle()
	}
}

// InputPending reports, without waiting, whether bytes, an end or an
// error are there to read: a timer that fires for a parked connection
// asks it, as nginx handles the events an epoll_wait returned before the
// timers that expired (input the poller has not yet delivered, on a
// loaded machine, is read rather than dropped).
func (c *Conn) InputPending() bool {
	return c.hasFlag(flagRReady|flagHup) || c.readable()
}

// readable peeks at the socket without waiting: bytes, an end or an
// error are there.
func (c *Conn) readable() bool {
	if !c.incref() {
		return true // closing: a read sees it
	}
	defer c.decref()
	return sysPeek(int(c.fd)) != syscall.EAGAIN
}

// FD is c's descriptor, or -1 once c is closing (as a Control on its
// RawConn fails then): a number for a table of sockets, read without a
// callback.
func (c *Conn) FD() int {
	if c.closing() {
		return -1
	}
	return int(c.fd)
}

// ConnOf is the Conn whose RawConn raw is, or nil.
func ConnOf(raw syscall.RawConn) *Conn {
	if r, ok := raw.(*rawConn); ok {
		return (*Conn)(r)
	}
	return nil
}

// wake wakes the side's waiter (the poller's report, set in the flags
// before, is kept for a wait that has not begun).
func (s *side) wake() {
	if w := s.waiter.Load(); w != nil {
		w.wake.Give()
	}
}

// incref holds the descriptor open for one operation; false once closing.
func (c *Conn) incref() bool {
	for {
		s := c.state.Load()
		if s&closingBit != 0 {
			return false
		}
		if c.state.CompareAndSwap(s, s+1) {
			return true
		}
	}
}

// decref ends an operation; the last one after Close closes the descriptor.
func (c *Conn) decref() {
	if c.state.Add(-1) == closingBit {
		c.closeFD()
	}
}

// closeFD is decref's last: apart, so that decref is inlined (every
// operation ends with it).
func (c *Conn) closeFD() {
	c.registration().Forget() // before the number can be another socket's
	sysClose(int(c.fd))
	c.state.Store(closingBit | closedBit)
}

// Close closes the connection: waiting reads and writes return
// net.ErrClosed, and the descriptor closes once no call uses it.
func (c *Conn) Close() error {
	for {
		s := c.state.Load()
		if s&closingBit != 0 {
			return errClosedAgain
		}
		if c.state.CompareAndSwap(s, s|closingBit) {
			break
		}
	}
	c.r.wake()
	c.w.wake()
	c.decref()
	return nil
}

// errClosedAgain is a second Close's error, as Go's (net.ErrClosed in
// a close OpError), without the addresses: a connection's owners close
// it once each (a tunnel's end, then the connection's), and nobody reads
// it, where one made each time would be garbage per connection.
var errClosedAgain error = &net.OpError{Op: "close", Net: "tcp", Err: net.ErrClosed}

func (c *Conn) closing() bool { return c.state.Load()&closingBit != 0 }

func (c *Conn) opError(op string, err error) error {
	var src net.Addr // known, or none: an error makes no system call
	if la := c.laddr.Load(); la != nil {
		src = la
	}
	return &net.OpError{Op: op, Net: "tcp", Source: src, Addr: c.RemoteAddr(), Err: err}
}

// prepare fails an operation whose deadline has passed before it
// touches the socket, as Go's: a read under a past deadline takes
// nothing, even when bytes are there. now is the clock it read (0: no
// deadline, none read), for the operation's first wait.
func (s *side) prepare() (now int64, err error) { return s.prepareAt(0) }

// prepareAt is prepare with now, a clock reading its caller made (0:
// none, the clock is read when a deadline is set).
func (s *side) prepareAt(now int64) (int64, error) {
	if d := s.deadline.Load(); d != 0 {
		if now == 0 {
			now = nanotime()
		}
		if d <= now {
			return now, os.ErrDeadlineExceeded
		}
	}
	return now, nil
}

// setDeadline wakes a waiter only for a deadline before the timer it
// armed, or when it has none (waiter's comment).
func (s *side) setDeadline(t time.Time) {
	// No deadline (a deadline cleared, most calls) needs no conversion:
	// MonoOf is a call.
	var d int64
	if !t.IsZero() {
		d = monoOf(t)
	}
	s.setDeadlineMono(d)
}

// setDeadlineMono is setDeadline at d on Nanotime's scale (0: none).
func (s *side) setDeadlineMono(d int64) {
	s.deadline.Store(d)
	if w := s.waiter.Load(); w != nil && d != 0 {
		if f := w.fires.Load(); f == 0 || d < f {
			w.wake.Give()
		}
	}
}

// Read reads as net.Conn's Read.
func (c *Conn) Read(b []byte) (int, error) {
	if !c.incref() {
		return 0, c.opError("read", net.ErrClosed)
	}
	defer c.decref()
	c.r.mu.Lock()
	defer c.r.mu.Unlock()
	now, err := c.r.prepare()
	if err != nil {
		return 0, c.opError("read", err)
	}
	if len(b) == 0 {
		return 0, nil
	}
	for {
		c.flags.And(^uint32(flagRReady)) // what the try finds needs no report
		n, e := sysRead(uintptr(c.fd), b)
		switch e {
		case 0:
			if n == 0 {
				c.flags.And(^uint32(flagRDrained))
				return 0, io.EOF
			}
			c.setFlag(flagRDrained, n < len(b))
			return n, nil
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			c.flags.Or(flagRDrained)
			if err := c.wait(&c.r, now); err != nil {
				return 0, c.opError("read", err)
			}
			now = 0
			continue
		}
		return 0, c.opError("read", os.NewSyscallError("read", e))
	}
}

// Write writes all of b as net.Conn's Write.
func (c *Conn) Write(b []byte) (int, error) {
	if !c.incref() {
		return 0, c.opError("write", net.ErrClosed)
	}
	defer c.decref()
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	now, err := c.w.prepare()
	if err != nil {
		return 0, c.opError("write", err)
	}
	done := 0
	for done < len(b) {
		c.flags.And(^uint32(flagWReady))
		n, e := sysSend(uintptr(c.fd), b[done:])
		switch e {
		case 0:
			done, now = done+n, 0 // the clock moved while it wrote
			continue
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			if err := c.wait(&c.w, now); err != nil {
				return done, c.opError("write", err)
			}
			now = 0
			continue
		}
		return done, c.opError("write", os.NewSyscallError("write", e))
	}
	return done, nil
}

// rawConn is Conn's syscall.RawConn: the Conn itself, as another type
// (a field pointing back to it cost each connection 8 bytes).
type rawConn Conn

func (r *rawConn) Control(f func(fd uintptr)) error {
	c := (*Conn)(r)
	if !c.incref() {
		return c.opError("raw-control", net.ErrClosed)
	}
	defer c.decref()
	f(uintptr(c.fd))
	return nil
}

func (r *rawConn) Read(f func(fd uintptr) bool) error { return (*Conn)(r).rawWait(&r.r, f, false, 0) }

// ReadReported is Read, but a socket its last read drained (ReadDrained,
// or Read's own record) that the poller has reported nothing for since
// is waited on before f's first call: the try would find nothing. nginx
// reads a socket only once its event says so; a try first cost every
// keep-alive request a read(2) that found its next request not yet sent.
func (r *rawConn) ReadReported(f func(fd uintptr) bool) error {
	return (*Conn)(r).rawWait(&r.r, f, true, 0)
}

// ReadReportedAt is ReadReported under the read deadline d (Nanotime's
// scale, 0: none) set from now, a Nanotime reading the caller just made:
// the deadline's check and its first wait's timer take now, where the
// deadline's time.Time (two Adds and a Sub) and the check's clock read
// cost a keep-alive connection's wait for its next request ~300
// instructions. The deadline stays set after the call, as
// SetReadDeadline's.
func (r *rawConn) ReadReportedAt(now, d int64, f func(fd uintptr) bool) error {
	r.r.setDeadlineMono(d)
	return (*Conn)(r).rawWait(&r.r, f, true, now)
}

// ReadDrained is told by a Read callback whose read found the socket
// empty (EAGAIN) or took less than it asked: what comes next is reported
// by the poller, so HookInput need not peek. Only from within the
// callback (Control must not read: it leaves the record as it is).
func (r *rawConn) ReadDrained() { (*Conn)(r).flags.Or(flagRDrained) }

func (r *rawConn) Write(f func(fd uintptr) bool) error { return (*Conn)(r).rawWait(&r.w, f, false, 0) }

// rawWait calls f until it reports done, waiting on s between calls, as
// Go's RawConn Read and Write; reported: first waits for the poller's
// report when the last read drained the socket (ReadReported); now: a
// clock reading of the caller's (ReadReportedAt), or 0.
func (c *Conn) rawWait(s *side, f func(fd uintptr) bool, reported bool, now int64) error {
	op := "raw-read"
	if s == &c.w {
		op = "raw-write"
	}
	if !c.incref() {
		return c.opError(op, net.ErrClosed)
	}
	defer c.decref()
	s.mu.Lock()
	defer s.mu.Unlock()
	now, err := s.prepareAt(now)
	if err != nil {
		return c.opError(op, err)
	}
	reset := c.readyBit(s)
	tried := !reported // whether the try before any wait is made, or was
	if s == &c.r {
		reset |= flagRDrained // unless f tells (ReadDrained)
		if reported && c.waitFirst() {
			tried = true
			if err := c.wait(s, now); err != nil {
				return c.opError(op, err)
			}
			now = 0
		}
	}
	for {
		c.flags.And(^reset)
		done := f(uintptr(c.fd))
		if !tried {
			tried = true
			c.triedFirst(!done)
		}
		if done {
			return nil
		}
		if err := c.wait(s, now); err != nil {
			return c.opError(op, err)
		}
		now = 0
	}
}

// waitFirst reports whether ReadReported waits before its first try:
// the last read drained the socket, the poller has reported nothing
// since (a hang-up stays reported: its end is read at once), and the
// last first try found nothing. When a busy peer's next bytes are
// usually there before they are read (a single-threaded run, a backend
// faster than the server) a try finds them, where a wait would take
// the poller's goroutine's turn and a wake-up; when they are usually
// not (a client that sends once answered), the try is a read(2) for
// nothing. A try is made all the same after 8 waits, then after 16, 32
// and 64 while they find nothing (triedFirst), to see which: one in
// eight made 0.11 of the php row's 2.14 recvfrom per request for
// EAGAIN (nginx: 2.00), as its clients send once answered.
func (c *Conn) waitFirst() bool {
	for {
		f := c.flags.Load()
		if f&(flagRDrained|flagRReady|flagHup|flagRWaitFirst) != flagRDrained|flagRWaitFirst || f&probeLeftMask == 0 {
			return false
		}
		if c.flags.CompareAndSwap(f, f-1<<waitFirstShift) {
			return true
		}
	}
}

// triedFirst records ReadReported's try before any wait: one that found
// nothing has the next reads wait first (flagRWaitFirst), 8 of them
// after a try that found bytes, twice as many as the last time (up to
// 64) after one that followed waits; one that found bytes, none.
func (c *Conn) triedFirst(empty bool) {
	for {
		f := c.flags.Load()
		n := f &^ (flagRWaitFirst | probeLeftMask | probeLevelMask)
		if empty {
			level := uint32(0)
			if f&flagRWaitFirst != 0 {
				level = min(f&probeLevelMask>>probeLevelShift+1, 3)
			}
			n |= flagRWaitFirst | level<<probeLevelShift | (8<<level-1)<<waitFirstShift
		}
		if c.flags.CompareAndSwap(f, n) {
			return
		}
	}
}

// WriteBuffers writes all of v with writev, as net.Buffers' WriteTo
// does on a net.TCPConn (one system call for the parts, where a Write
// each would make as many, and as many packets).
func (c *Conn) WriteBuffers(v [][]byte) (int64, error) {
	if !c.incref() {
		return 0, c.opError("writev", net.ErrClosed)
	}
	defer c.decref()
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	now, err := c.w.prepare()
	if err != nil {
		return 0, c.opError("writev", err)
	}
	var iov [8]syscall.Iovec
	var total int64
	for {
		for len(v) > 0 && len(v[0]) == 0 {
			v = v[1:]
		}
		if len(v) == 0 {
			return total, nil
		}
		n := 0
		for _, b := range v {
			if len(b) == 0 {
				continue
			}
			if n == len(iov) {
				break
			}
			iov[n].Base = &b[0]
			iov[n].SetLen(len(b))
			n++
		}
		c.flags.And(^uint32(flagWReady))
		wrote, e := sysWritev(uintptr(c.fd), iov[:n])
		clear(iov[:n])
		switch e {
		case 0:
			total, now = total+int64(wrote), 0 // the clock moved while it wrote
			for wrote > 0 {
				k := min(wrote, len(v[0]))
				v[0] = v[0][k:]
				wrote -= k
				if len(v[0]) == 0 {
					v = v[1:]
				}
			}
			continue
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			if err := c.wait(&c.w, now); err != nil {
				return total, c.opError("writev", err)
			}
			now = 0
			continue
		}
		return total, c.opError("writev", os.NewSyscallError("writev", e))
	}
}
