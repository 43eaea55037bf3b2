//go:build linux

package upstream

import (
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
)

// brokenConns is the process's watcher of client sockets.
var brokenConns watcher

type watcher struct {
	once  sync.Once
	epfd  int
	mu    sync.Mutex
	byFd  map[int]*clientWatch // registered connections by descriptor
	slots []*clientWatch       // by the slot number epoll reports
	free  []int32
	gen   int32
	ready atomic.Bool // epfd is set and valid
	file  *os.File    // epfd, registered with Go's poller
	// busy: pollLoop may hold events it took and has not handled yet.
	busy atomic.Bool
}

const epollRDHUP = 0x2000

func (p *watcher) start() {
	fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		p.epfd = -1
		return
	}
	p.epfd = fd
	p.byFd = map[int]*clientWatch{}
	p.ready.Store(true)
	// The epoll descriptor waits in Go's own poller, as a socket does: a
	// wake-up is a goroutine made runnable, where a thread blocked in
	// epoll_wait costs a thread switch per event (one per parked
	// connection's request).
	if syscall.SetNonblock(fd, true) == nil {
		p.file = os.NewFile(uintptr(fd), "epoll") // kept: its finalizer would close fd
		if rc, err := p.file.SyscallConn(); err == nil {
			go p.pollLoop(rc)
			return
		}
	}
	go p.loop()
}

// watchEvents: nginx 1.22 on Linux watches with EPOLLRDHUP and, when it
// is reported (pending_eof), takes the client as gone even with unread
// bytes before the EOF; unread bytes alone (a pipelined request) do not
// wake it. Errors and hang-ups are always reported. Edge-triggered: a
// hang-up is reported once, and kept in the watch.
const watchEvents uint32 = epollRDHUP | 1<<31 // EPOLLET

// inputEvents adds the socket's input for a connection that parks
// (WatchInput): edge-triggered, so an idle connection's events are one
// per arrival and a request costs no epoll_ctl.
const inputEvents = watchEvents | syscall.EPOLLIN

// watchInput registers owner's socket for w's input, adding EPOLLIN to
// an abort registration the connection has already.
func (p *watcher) watchInput(raw syscall.RawConn, owner net.Conn, w *Waker) bool {
	p.once.Do(p.start)
	if p.epfd < 0 {
		return false
	}
	fd := socketFd(raw)
	if fd < 0 {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	cw := p.byFd[fd]
	if cw != nil && cw.owner == owner {
		if cw.input == w {
			return true
		}
		cw.input = w
		ev := syscall.EpollEvent{Events: inputEvents, Fd: cw.slot, Pad: cw.gen}
		if syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_MOD, fd, &ev) != nil {
			cw.input = nil
			return false
		}
		return true
	}
	if cw != nil {
		p.release(cw) // a connection that ended without ForgetClient
	}
	cw = &clientWatch{fd: fd, owner: owner, input: w}
	return p.register(cw)
}

// watch starts a request's watch on its client connection, registering
// the connection on its first request.
func (p *watcher) watch(raw syscall.RawConn, owner, backend net.Conn) *clientWatch {
	p.once.Do(p.start)
	if p.epfd < 0 {
		return nil
	}
	fd := socketFd(raw)
	if fd < 0 {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	w := p.byFd[fd]
	fresh := false
	switch {
	case w != nil && w.owner == owner:
		if w.backend != nil {
			return nil // a request of this connection is watched already
		}
	default:
		// First request of this connection (the descriptor may have
		// served a connection that ended without ForgetClient).
		if w != nil {
			p.release(w)
		}
		w = &clientWatch{fd: fd, owner: owner}
		if !p.register(w) {
			return nil
		}
		fresh = true
	}
	w.backend = backend
	w.aborted.Store(false)
	w.fresh = fresh
	if w.eof {
		p.abort(w) // the client hung up before this request
	}
	return w
}

// fdGetter reads a RawConn's descriptor through a callback bound once:
// a closure made per call would allocate per request.
type fdGetter struct {
	fd int
	fn func(uintptr)
}

var fdGetters = sync.Pool{New: func() any {
	g := &fdGetter{}
	g.fn = func(d uintptr) { g.fd = int(d) }
	return g
}}

// socketFd is raw's descriptor, or -1.
func socketFd(raw syscall.RawConn) int {
	g := fdGetters.Get().(*fdGetter)
	g.fd = -1
	if raw.Control(g.fn) != nil {
		g.fd = -1
	}
	fd := g.fd
	fdGetters.Put(g)
	return fd
}

// register gives w a slot and adds its descriptor to the epoll set.
func (p *watcher) register(w *clientWatch) bool {
	if n := len(p.free); n > 0 {
		w.slot = p.free[n-1]
		p.free = p.free[:n-1]
		p.slots[w.slot] = w
	} else {
		w.slot = int32(len(p.slots))
		p.slots = append(p.slots, w)
	}
	p.gen++
	w.gen = p.gen
	events := watchEvents
	if w.input != nil {
		events = inputEvents
	}
	ev := syscall.EpollEvent{Events: events, Fd: w.slot, Pad: w.gen}
	err := syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, w.fd, &ev)
	if err == syscall.EEXIST {
		// An earlier connection's registration on this descriptor that
		// was never forgotten and whose socket is still open elsewhere.
		err = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_MOD, w.fd, &ev)
	}
	if err != nil {
		p.slots[w.slot] = nil
		p.free = append(p.free, w.slot)
		return false
	}
	p.byFd[w.fd] = w
	return true
}

// release drops w's slot and entry (its epoll registration is removed by
// the caller, or went with its descriptor's close).
func (p *watcher) release(w *clientWatch) {
	if p.slots[w.slot] == w {
		p.slots[w.slot] = nil
		p.free = append(p.free, w.slot)
	}
	if p.byFd[w.fd] == w {
		delete(p.byFd, w.fd)
	}
}

// unwatch ends the request's watch; once it returns, the backend is not
// touched.
func (p *watcher) unwatch(w *clientWatch) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	aborted := w.aborted.Load()
	if aborted {
		abortsEnding.Add(-1)
	}
	w.backend = nil
	w.aborted.Store(false)
	return aborted
}

// forget unregisters a client connection.
func (p *watcher) forget(raw syscall.RawConn, owner net.Conn) {
	if !p.ready.Load() {
		return
	}
	fd := socketFd(raw)
	if fd < 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if w := p.byFd[fd]; w != nil && w.owner == owner {
		syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, fd, nil)
		p.release(w)
	}
}

// abort takes a watched request's client as gone: its backend closes.
func (p *watcher) abort(w *clientWatch) {
	if w.backend != nil && !w.aborted.Load() {
		w.aborted.Store(true)
		abortsEnding.Add(1)
		w.backend.Close()
	}
}

// pollLoop handles the events as Go's poller reports epfd readable: all
// that are queued each time (edge-triggered, as Go registers it).
func (p *watcher) pollLoop(rc syscall.RawConn) {
	var events [64]syscall.EpollEvent
	rc.Read(func(fd uintptr) bool {
		p.busy.Store(true)
		defer p.busy.Store(false)
		for {
			n, err := syscall.EpollWait(int(fd), events[:], 0)
			switch {
			case err == syscall.EINTR:
				continue
			case err != nil:
				return true
			case n > 0:
				p.handle(events[:n])
			}
			if n < len(events) {
				return false // wait for more
			}
		}
	})
}

func (p *watcher) loop() {
	var events [64]syscall.EpollEvent
	for {
		n, err := syscall.EpollWait(p.epfd, events[:], -1)
		if err != nil {
			if err == syscall.EINTR {
				continue
			}
			return
		}
		p.handle(events[:n])
	}
}

// settle handles what is ready now, from the caller's goroutine (an
// edge-triggered event is reported once: to the loop or to settle).
func (p *watcher) settle() {
	if !p.ready.Load() {
		return // nothing watched yet, or epoll failed
	}
	var events [16]syscall.EpollEvent
	n, err := syscall.EpollWait(p.epfd, events[:], 0)
	if err == nil && n > 0 {
		p.handle(events[:n])
	}
	// An event pollLoop took first is handled once it is done: then
	// every hang-up reported before this call is recorded.
	for i := 0; i < 1000 && p.busy.Load(); i++ {
		runtime.Gosched()
	}
}

// handle records the hang-ups and closes the backends of the requests
// whose client they were.
func (p *watcher) handle(events []syscall.EpollEvent) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, ev := range events {
		if int(ev.Fd) >= len(p.slots) {
			continue
		}
		w := p.slots[ev.Fd]
		if w == nil || w.gen != ev.Pad {
			continue // forgotten meanwhile
		}
		if w.input != nil {
			w.input.ready() // bytes, or the end for its read to see
		}
		if ev.Events&(epollRDHUP|syscall.EPOLLHUP|syscall.EPOLLERR) == 0 {
			continue
		}
		w.eof = true
		p.abort(w)
	}
}
