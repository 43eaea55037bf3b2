package upstream

import (
	"io"
	"sync"
	"sync/atomic"
	"syscall"
)

// unwatchedTry is a try whose client no watch covers
// (proxy_ignore_client_abort, proxy_store): a stop's TerminateRequests
// still ends it, as nginx's shutdown timer terminates every request, by
// closing its backend. Held in the exchange: no allocation per try.
type unwatchedTry struct {
	fd         int // the client's socket
	backend    io.Closer
	terminated atomic.Bool
	listed     bool // in unwatchedTries (the try's goroutine only)
}

// unwatchedTries are the tries under way that TerminateRequests must
// reach without a watch.
var unwatchedTries struct {
	mu sync.Mutex
	m  map[*unwatchedTry]struct{}
}

// begin lists the try of a client on raw with its backend.
func (u *unwatchedTry) begin(raw syscall.RawConn, backend io.Closer) {
	fd := -1
	raw.Control(func(f uintptr) { fd = int(f) })
	if fd < 0 {
		return
	}
	u.fd, u.backend, u.listed = fd, backend, true
	u.terminated.Store(false)
	t := &unwatchedTries
	t.mu.Lock()
	if t.m == nil {
		t.m = map[*unwatchedTry]struct{}{}
	}
	t.m[u] = struct{}{}
	t.mu.Unlock()
}

// end takes the try off the list; it reports whether a stop terminated it.
func (u *unwatchedTry) end() bool {
	if !u.listed {
		return false
	}
	u.listed = false
	t := &unwatchedTries
	t.mu.Lock()
	delete(t.m, u)
	t.mu.Unlock()
	u.backend = nil
	return u.terminated.Load()
}

// terminateUnwatched closes the backends of the listed tries whose
// client's descriptor ends names.
func terminateUnwatched(ends func(fd int) bool) {
	t := &unwatchedTries
	t.mu.Lock()
	defer t.mu.Unlock()
	for u := range t.m {
		if u.backend != nil && ends(u.fd) && !u.terminated.Swap(true) {
			u.backend.Close()
		}
	}
}
