package stream

import (
	"errors"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/gonginx/gonginx/upstream/poller"
)

// orderedAccept accepts l's connections on the process poller's
// goroutine, in the order the kernel reported the listening sockets
// ready, as nginx's one event loop does: with limit_conn, of two
// connections made one after the other to two servers sharing a zone,
// the first is counted and the second refused, where two accept loops
// could take them the other way round. It returns once l is closed, or
// at once with false when the poller cannot take the socket (the accept
// loop then runs).
func (l *listener) orderedAccept() bool {
	sc, ok := l.ln.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	p, err := poller.Default()
	if err != nil {
		return false
	}
	a := &acceptor{l: l, rc: rc}
	reg, err := p.Add(rc, poller.In|poller.Edge, a)
	if err != nil {
		return false
	}
	a.Ready(poller.In) // what was queued before the registration
	<-l.done
	reg.Remove(rc)
	return true
}

// acceptor takes a listening socket's connections when it is ready.
type acceptor struct {
	mu    sync.Mutex
	l     *listener
	rc    syscall.RawConn
	delay time.Duration
}

// Ready accepts until the queue is empty (the registration is
// edge-triggered); after an error such as EMFILE it tries again later,
// backing off as the accept loop does.
func (a *acceptor) Ready(uint32) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for {
		var nfd int
		var aerr error
		// Control holds the descriptor open through the call (a
		// listener's RawConn has no Read).
		err := a.rc.Control(func(fd uintptr) {
			nfd, _, aerr = syscall.Accept4(int(fd), syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC)
		})
		switch {
		case err != nil || a.l.srv.closing.Load():
			if aerr == nil && err == nil {
				syscall.Close(nfd)
			}
			return // closed
		case errors.Is(aerr, syscall.EAGAIN):
			a.delay = 0
			return
		case errors.Is(aerr, syscall.ECONNABORTED), errors.Is(aerr, syscall.EINTR):
			continue
		case aerr != nil:
			a.delay = min(max(a.delay*2, 5*time.Millisecond), time.Second)
			time.AfterFunc(a.delay, func() { a.Ready(poller.In) })
			return
		}
		f := os.NewFile(uintptr(nfd), "")
		nc, err := net.FileConn(f) // the connection keeps the listening socket's options, as nginx's
		f.Close()
		if err != nil || !a.l.takeSlot(nc) {
			continue
		}
		a.l.admit(nc)
	}
}
