package location

import (
	"io"
	"sync"
	"sync/atomic"
)

// treeAbort ends the backends of a main request's subrequests at once
// when the client is gone, as ngx_http_terminate_request ends every
// subrequest of a request: the client's socket is watched for one
// request at a time (upstream's clientWatch), so the subrequests that
// run beside the watched one hand their backends here instead.
type treeAbort struct {
	// used: a subrequest watched or fired the tree since its reset.
	// reset and clientGone look at it first: a request with no
	// subrequest (most) takes no lock for either (a lock and an unlock
	// are two locked instructions each).
	used     atomic.Bool
	mu       sync.Mutex
	fired    bool
	gone     bool // fired for a subrequest that saw the client gone (499)
	watching []*subWatch
}

// subWatch is one subrequest's http1.AbortWatch on its main request's
// treeAbort.
type subWatch struct {
	t       *treeAbort
	backend io.Closer
	fired   bool
}

func (w *subWatch) WatchAbort(backend io.Closer) {
	t := w.t
	t.mu.Lock()
	defer t.mu.Unlock()
	t.markUsed()
	w.fired = t.fired
	if t.fired {
		backend.Close()
		return
	}
	w.backend = backend
	t.watching = append(t.watching, w)
}

func (w *subWatch) StopWatch() bool {
	t := w.t
	t.mu.Lock()
	defer t.mu.Unlock()
	w.backend = nil
	for i, o := range t.watching {
		if o == w {
			t.watching = append(t.watching[:i], t.watching[i+1:]...)
			break
		}
	}
	return w.fired
}

// fire closes the watched backends, and those watched later: the
// request tree ends; gone: a subrequest saw the client gone.
func (t *treeAbort) fire(gone bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.markUsed()
	t.fired = true
	t.gone = t.gone || gone
	for _, w := range t.watching {
		w.backend.Close()
		w.fired = true
	}
	clear(t.watching)
	t.watching = t.watching[:0]
}

// markUsed records a subrequest's use of t (with t.mu held): its
// atomic store only where a subrequest runs.
func (t *treeAbort) markUsed() {
	if !t.used.Load() {
		t.used.Store(true)
	}
}

// reset readies t for another main request.
func (t *treeAbort) reset() {
	if !t.used.Load() {
		return // no subrequest touched it: nothing to clear
	}
	t.mu.Lock()
	t.used.Store(false)
	t.fired, t.gone = false, false
	clear(t.watching)
	t.watching = t.watching[:0]
	t.mu.Unlock()
}

// clientGone reports whether a subrequest ended the tree for the
// client's hang-up (read once the subrequests ended).
func (t *treeAbort) clientGone() bool { return t.used.Load() && t.goneLocked() }

// goneLocked is clientGone's look under the lock: apart, so that
// clientGone's test is inlined where it is asked (every request's end).
func (t *treeAbort) goneLocked() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.gone
}
