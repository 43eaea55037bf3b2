//go:build linux

package upstream

import (
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
	slots []*clientWatch
	free  []int32
	gen   int32
	ready atomic.Bool // epfd is set and valid
}

const epollRDHUP = 0x2000

func (p *watcher) start() {
	fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		p.epfd = -1
		return
	}
	p.epfd = fd
	p.ready.Store(true)
	go p.loop()
}

// watchEvents: nginx 1.22 on Linux watches with EPOLLRDHUP and, when it
// is reported (pending_eof), takes the client as gone even with unread
// bytes before the EOF; unread bytes alone (a pipelined request) do not
// wake it. Errors and hang-ups are always reported.
const watchEvents = epollRDHUP | syscall.EPOLLONESHOT

// add registers w's socket (one-shot: one event, then it is disarmed).
func (p *watcher) add(w *clientWatch) bool {
	p.once.Do(p.start)
	if p.epfd < 0 {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
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
	ev := syscall.EpollEvent{Events: watchEvents, Fd: w.slot, Pad: w.gen}
	if err := syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, w.fd, &ev); err != nil {
		p.slots[w.slot] = nil
		p.free = append(p.free, w.slot)
		return false
	}
	return true
}

// remove unregisters w; once it returns, w's backend is not touched.
func (p *watcher) remove(w *clientWatch) {
	p.mu.Lock()
	defer p.mu.Unlock()
	syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, w.fd, nil)
	p.slots[w.slot] = nil
	p.free = append(p.free, w.slot)
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

// settle handles what is ready now, from the caller's goroutine (the
// events are one-shot: the loop or settle gets each once).
func (p *watcher) settle() {
	if !p.ready.Load() {
		return // nothing watched yet, or epoll failed
	}
	var events [16]syscall.EpollEvent
	n, err := syscall.EpollWait(p.epfd, events[:], 0)
	if err == nil && n > 0 {
		p.handle(events[:n])
	}
}

// handle closes the backends of the watches whose client hung up.
func (p *watcher) handle(events []syscall.EpollEvent) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, ev := range events {
		if int(ev.Fd) >= len(p.slots) {
			continue
		}
		w := p.slots[ev.Fd]
		if w == nil || w.gen != ev.Pad {
			continue // stopped meanwhile
		}
		if ev.Events&(epollRDHUP|syscall.EPOLLHUP|syscall.EPOLLERR) == 0 {
			continue
		}
		w.aborted.Store(true)
		abortsEnding.Add(1)
		w.backend.Close()
	}
}
