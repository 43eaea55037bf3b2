package poller

import (
	"errors"
	"net"
	"os"
	"sync"
	"syscall"
	"unsafe"
)

// Poller is one epoll set and the goroutine that reads its events.
type Poller struct {
	epfd int
	file *os.File // keeps epfd open (its finalizer would close it)
	// mu guards the slots: a Mutex, not an RWMutex, as the one reader
	// (dispatch) runs one at a time (under taking), and an RWMutex's
	// Lock and Unlock cost twice a Mutex's on every Add and release.
	mu sync.Mutex
	// slots are the registrations by the slot number an event carries,
	// in chunks: growing never copies them (a slice of entries doubled,
	// and the copies left behind cost each idle connection ~35 bytes).
	slots  []*[slotChunk]entry
	nslots int32
	free   []int32
	gen    int32
	batch  []Handler // the loop's handlers of one batch of events
	// taking is held while events are taken from the kernel and handled
	// (by the loop or Settle): an event the loop took is handled before
	// a Settle that began after it returns.
	taking sync.Mutex
	// later is the work handlers left for the turn's end (AfterTurn),
	// under taking.
	later []Later
}

// Later is work a handler leaves for the end of its poller's turn
// (Conn.AfterTurn).
type Later interface{ AfterTurn() }

type entry struct {
	h   Handler
	gen int32
}

const slotChunk = 256

// slot is registration i's entry (under mu).
func (p *Poller) slot(i int32) *entry {
	// Unsigned, a slot (never negative) is a shift and a mask: the
	// signed division and remainder took a fix-up each and a bounds
	// check on the chunk's index, on every event and registration.
	u := uint32(i)
	return &p.slots[u/slotChunk][u%slotChunk]
}

var (
	defaultOnce sync.Once
	defaultP    *Poller
	defaultErr  error
)

// Default is the process's poller, started at its first use.
func Default() (*Poller, error) {
	defaultOnce.Do(func() { defaultP, defaultErr = New() })
	return defaultP, defaultErr
}

// New starts a poller (tests; the server uses Default).
func New() (*Poller, error) {
	fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return nil, os.NewSyscallError("fcntl", err)
	}
	p := &Poller{epfd: fd, file: os.NewFile(uintptr(fd), "poller")}
	rc, err := p.file.SyscallConn()
	if err != nil {
		p.file.Close()
		return nil, err
	}
	go p.loop(rc)
	return p, nil
}

// Add registers the socket under rc for events, reported to h. The
// socket must stay open until Remove.
func (p *Poller) Add(rc syscall.RawConn, events uint32, h Handler) (Reg, error) {
	p.mu.Lock()
	var slot int32
	if n := len(p.free); n > 0 {
		slot = p.free[n-1]
		p.free = p.free[:n-1]
	} else {
		slot = p.nslots
		if slot%slotChunk == 0 {
			p.slots = append(p.slots, new([slotChunk]entry))
		}
		p.nslots++
	}
	p.gen++
	gen := p.gen
	*p.slot(slot) = entry{h: h, gen: gen}
	p.mu.Unlock()
	r := Reg{p: p, slot: slot, gen: gen}
	err := r.ctl(rc, syscall.EPOLL_CTL_ADD, events)
	if err != nil && errors.Is(err, syscall.EEXIST) {
		// The socket is in the set by a registration never removed (its
		// slot, if still held, is released by its owner): this one
		// takes its events.
		err = r.ctl(rc, syscall.EPOLL_CTL_MOD, events)
	}
	if err != nil {
		p.release(r)
		return Reg{}, err
	}
	return r, nil
}

// SetHandler hands r over to h with no system call: the events the
// socket reports from now on are h's (one taken by the loop just before
// may still reach the old handler, which passes it on).
func (r Reg) SetHandler(h Handler) {
	if r.p == nil {
		return
	}
	r.p.mu.Lock()
	if e := r.p.slot(r.slot); e.gen == r.gen {
		e.h = h
	}
	r.p.mu.Unlock()
}

// Modify changes the events of r (a one-shot registration is armed
// again this way).
func (r Reg) Modify(rc syscall.RawConn, events uint32) error {
	return r.ctl(rc, syscall.EPOLL_CTL_MOD, events)
}

// Remove ends r. Call it before the socket closes: the descriptor's
// number could name another socket afterwards. (A socket closed first
// left the epoll set by itself; its slot is freed all the same.)
func (r Reg) Remove(rc syscall.RawConn) {
	if r.p == nil {
		return
	}
	r.ctl(rc, syscall.EPOLL_CTL_DEL, 0)
	r.p.release(r)
}

// Forget ends r without a system call, for a socket about to close: its
// close takes it out of the epoll set (an event already queued for it
// finds the slot gone, or another registration's generation there).
func (r Reg) Forget() {
	if r.p != nil {
		r.p.release(r)
	}
}

// ctlCall is one epoll_ctl's arguments and result, with its RawConn
// callback bound once: a closure per call would allocate (per tunnel, per
// parked connection).
type ctlCall struct {
	epfd, op int
	ev       syscall.EpollEvent
	err      error
	fn       func(fd uintptr)
}

var ctlCalls = sync.Pool{New: func() any {
	c := &ctlCall{}
	c.fn = func(fd uintptr) { c.err = syscall.EpollCtl(c.epfd, c.op, int(fd), &c.ev) }
	return c
}}

// ctl runs epoll_ctl on rc's descriptor while rc holds it open.
func (r Reg) ctl(rc syscall.RawConn, op int, events uint32) error {
	if own, ok := rc.(*rawConn); ok {
		// A Conn's: its hold taken directly, no callback (a pooled
		// call record and RawConn's deferred release per connection).
		c := (*Conn)(own)
		if !c.incref() {
			return c.opError("raw-control", net.ErrClosed)
		}
		ev := syscall.EpollEvent{Events: events, Fd: r.slot, Pad: r.gen}
		err := syscall.EpollCtl(r.p.epfd, op, int(c.fd), &ev)
		c.decref()
		if err != nil {
			return os.NewSyscallError("epoll_ctl", err)
		}
		return nil
	}
	c := ctlCalls.Get().(*ctlCall)
	c.epfd, c.op, c.err = r.p.epfd, op, nil
	c.ev = syscall.EpollEvent{Events: events, Fd: r.slot, Pad: r.gen}
	cerr := rc.Control(c.fn)
	err := c.err
	ctlCalls.Put(c)
	if cerr != nil {
		return cerr
	}
	if err != nil {
		return os.NewSyscallError("epoll_ctl", err)
	}
	return nil
}

func (p *Poller) release(r Reg) {
	p.mu.Lock()
	if e := p.slot(r.slot); e.gen == r.gen {
		*e = entry{}
		p.free = append(p.free, r.slot)
	}
	p.mu.Unlock()
}

// loop reads events as long as the process lives; it parks in Go's
// poller when there are none.
func (p *Poller) loop(rc syscall.RawConn) {
	events := make([]syscall.EpollEvent, 128)
	err := rc.Read(func(fd uintptr) bool {
		for {
			p.taking.Lock()
			n, err := pollNow(int(fd), events)
			if err == nil && n > 0 {
				p.batch = p.dispatch(events[:n], p.batch)
			}
			later := p.takeLater()
			p.taking.Unlock()
			// On the loop's goroutine, the turn over: no handler runs,
			// InputQuiet says so.
			p.runLater(later)
			if err == syscall.EINTR {
				continue
			}
			if err != nil {
				return true
			}
			// Fewer than asked: the set was empty, and an event queued
			// since wakes the runtime's poller for the descriptor.
			if n < len(events) {
				return false
			}
		}
	})
	if err != nil && !errors.Is(err, os.ErrClosed) {
		panic("poller: " + err.Error())
	}
}

// pollNow takes the events queued in the epoll set epfd, without
// waiting. It is a raw system call, hidden from the scheduler: one made
// through syscall.EpollWait wakes the runtime's system monitor from its
// deep sleep whenever the process was idle (entersyscall does), and the
// monitor then polls every 20 µs for a millisecond and more: at every
// burst of events after a pause, ~50 wake-ups of a thread that nginx's
// single-threaded worker does not have (ws-echo: 0.15 context switches
// per message). A call that never blocks has no P to hand off.
func pollNow(epfd int, events []syscall.EpollEvent) (int, error) {
	n, _, e := syscall.RawSyscall6(syscall.SYS_EPOLL_PWAIT, uintptr(epfd),
		uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// Settle handles, on the caller's goroutine, the events the kernel has
// reported and the loop has not taken, after those the loop took were
// handled: then every event reported before the call has reached its
// handler (a handler must not call Settle).
func (p *Poller) Settle() {
	var events [16]syscall.EpollEvent
	var batch [16]Handler
	p.taking.Lock()
	for {
		n, err := pollNow(p.epfd, events[:])
		if err != nil || n == 0 {
			break
		}
		p.dispatch(events[:n], batch[:0])
		if n < len(events) {
			break
		}
	}
	later := p.takeLater()
	p.taking.Unlock()
	// Here too on the goroutine that handled the events, the caller's
	// (it ran their handlers): a hang-up it settles ends its tunnel
	// before Settle returns, as nginx ends one at its event.
	p.runLater(later)
}

// takeLater takes the work the turn's handlers left, if any (under
// taking): the list's array stays for the next turn when it is empty.
func (p *Poller) takeLater() []Later {
	later := p.later
	if len(later) == 0 {
		return nil
	}
	p.later = nil
	return later
}

// runLater runs the work a turn's handlers left (AfterTurn), taken from
// p.later as the turn ended, then gives its array back for the next
// turn's (an append per turn would allocate).
func (p *Poller) runLater(later []Later) {
	if len(later) == 0 {
		return
	}
	for i, l := range later {
		later[i] = nil
		l.AfterTurn()
	}
	p.taking.Lock()
	if p.later == nil {
		p.later = later[:0]
	}
	p.taking.Unlock()
}

// dispatch calls the handlers of events, outside the lock (a handler may
// add or remove registrations), collecting them in batch (returned for
// the next call).
func (p *Poller) dispatch(events []syscall.EpollEvent, batch []Handler) []Handler {
	setEventNow()
	p.mu.Lock()
	batch = batch[:0]
	for _, ev := range events {
		var h Handler
		if s := ev.Fd; s >= 0 && s < p.nslots {
			if e := p.slot(s); e.gen == ev.Pad {
				h = e.h
			}
		}
		batch = append(batch, h)
	}
	p.mu.Unlock()
	for i, h := range batch {
		if h != nil {
			h.Ready(events[i].Events)
		}
	}
	clear(batch)
	return batch
}
