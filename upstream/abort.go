package upstream

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
)

// ErrClientClosed is returned with status 499 when the client hung up
// while the backend's answer was awaited.
var ErrClientClosed = errors.New("client prematurely closed connection, so upstream connection is closed too")

// clientWatch watches a client socket while the backend is awaited, as
// nginx's ngx_http_upstream_check_broken_connection: an EOF (a half-close
// included, for HTTP/1.x) or an error means the client is gone, and the
// backend connection is closed at once. Bytes from the client (a
// pipelined request) are no abort.
//
// The sockets are watched by one epoll instance of our own and one
// goroutine for the process (abort_linux.go): a goroutine per request,
// or waking a parked read with a deadline, would allocate per request.
type clientWatch struct {
	slot    int32
	gen     int32
	fd      int
	backend net.Conn
	aborted atomic.Bool
	ctlFn   func(fd uintptr)
}

var watchPool = sync.Pool{New: func() any {
	w := &clientWatch{}
	w.ctlFn = func(fd uintptr) { w.fd = int(fd) }
	return w
}}

// watchClient starts watching the client socket raw for a hang-up; it
// closes backend if one comes. It returns nil when it cannot watch; else
// the caller must call stop.
func watchClient(raw syscall.RawConn, backend net.Conn) *clientWatch {
	w := watchPool.Get().(*clientWatch)
	w.fd = -1
	if err := raw.Control(w.ctlFn); err != nil || w.fd < 0 {
		watchPool.Put(w)
		return nil
	}
	w.backend = backend
	w.aborted.Store(false)
	if !brokenConns.add(w) {
		w.backend = nil
		watchPool.Put(w)
		return nil
	}
	return w
}

// stop ends the watch and reports whether the client hung up.
func (w *clientWatch) stop() bool {
	brokenConns.remove(w)
	aborted := w.aborted.Load()
	if aborted {
		abortsEnding.Add(-1)
	}
	w.backend = nil
	watchPool.Put(w)
	return aborted
}

// abortsEnding counts the watched requests whose client hung up and that
// have not ended their wait for the backend yet.
var abortsEnding atomic.Int32

// SettleAborts handles the hang-ups the kernel reported that the watcher
// has not handled yet, and reports whether a request whose client hung
// up is still ending. nginx handles events in the order they come: a
// limit a gone client held is free for a request read after the hang-up.
func SettleAborts() bool {
	brokenConns.settle()
	return abortsEnding.Load() > 0
}
