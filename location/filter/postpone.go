package filter

import (
	"errors"
	"sync"
)

// Postpone is where subrequests' output joins a response's body, below
// the filters of the request that made them (ssi, sub, charset,
// addition) and above gzip: nginx's postpone filter. A subrequest run in
// place (addition's, an ssi include that is waited for) writes with
// Write, in the request's own goroutine. One run beside the request
// (an ssi include nginx does not wait for) writes to a Segment of its
// own from its goroutine: what is not its turn yet is kept, so the
// client gets every output in document order.
//
// Only the request's goroutine writes to the next link (Body, Write,
// Drain); segments' writers only append under mu. A request with no
// segment open passes its output straight on.
type Postpone struct {
	next Link
	mu   sync.Mutex
	cond sync.Cond // a segment grew or ended, or output was drained
	// segs waits for its turn, the first in turn: subrequests' segments
	// and, after them, the request's own output (own).
	segs []*Segment
	err  error // the next link failed, or Abort
	free []*Segment
	// OnWait, when set, is called before the request waits for its
	// subrequests: a request that waits lets others run (its place
	// among them is passed).
	OnWait func()
}

// Segment is the output of one subrequest run beside the request.
type Segment struct {
	p       *Postpone
	buf     []byte
	spare   []byte
	done    bool
	passed  bool               // Pass was called
	flush   bool               // the request asked for a flush after it
	own     bool               // the request's own output
	WriteFn func([]byte) error // s.Write, bound once per pooled Segment
}

// maxKept bounds what the subrequest whose turn it is may have written
// and the request not passed on yet: it waits past it (the other
// subrequests' output is kept whole, as nginx keeps their buffers).
const maxKept = 64 << 10

// ErrAborted fails the writes of the subrequests of a request that ended
// without their output.
var ErrAborted = errors.New("the request ended before its subrequests")

func (l *Postpone) SetNext(n Link) {
	l.next = n
	if l.cond.L == nil {
		l.cond.L = &l.mu
	}
}

// Body passes the request's own output on, after what comes before it.
func (l *Postpone) Body(p []byte, flush, last bool) error {
	if len(l.segs) == 0 {
		// Only the request's goroutine changes segs: no lock.
		return l.next.Body(p, flush, last)
	}
	if err := l.drain(false); err != nil {
		return err
	}
	if len(l.segs) == 0 {
		return l.next.Body(p, flush, last)
	}
	l.mu.Lock()
	t := l.segs[len(l.segs)-1]
	if !t.own {
		t = l.newSegment(true)
		l.segs = append(l.segs, t)
	}
	t.buf = append(t.buf, p...)
	t.flush = t.flush || flush
	l.mu.Unlock()
	if !last {
		return nil
	}
	// The response's end: it waits for every subrequest.
	if err := l.drain(true); err != nil {
		return err
	}
	return l.next.Body(nil, flush, last)
}

// Write passes on the output of a subrequest run in place.
func (l *Postpone) Write(p []byte) error { return l.Body(p, false, false) }

// Start opens the segment of a subrequest run beside the request, after
// everything output so far.
func (l *Postpone) Start() *Segment {
	l.mu.Lock()
	if n := len(l.segs); n > 0 && l.segs[n-1].own {
		l.segs[n-1].done = true // the request's output before it is whole
	}
	s := l.newSegment(false)
	l.segs = append(l.segs, s)
	l.mu.Unlock()
	return s
}

// newSegment takes a segment from the free list (mu held).
func (l *Postpone) newSegment(own bool) *Segment {
	var s *Segment
	if n := len(l.free); n > 0 {
		s = l.free[n-1]
		l.free = l.free[:n-1]
	} else {
		s = &Segment{p: l}
		s.WriteFn = s.Write
	}
	s.own, s.done, s.passed, s.flush = own, false, false, false
	return s
}

// WaitPassed waits until the subrequest of s passed its turn (Pass) or
// ended, passing on meanwhile what may go: nginx runs a subrequest it
// posts until it waits for something, and only then goes on with the
// next, so subrequests that do not wait run one after the other in
// document order and those that do start in it.
func (l *Postpone) WaitPassed(s *Segment) error {
	for {
		if err := l.drain(false); err != nil {
			return err
		}
		l.mu.Lock()
		if s.passed || s.done || l.err != nil {
			l.mu.Unlock()
			return nil
		}
		// Woken by the subrequest's writes, its Pass or its end.
		l.cond.Wait()
		l.mu.Unlock()
	}
}

// Drain passes on what may go now and, with wait, waits until every
// subrequest ended and its output was passed on: then the request's own
// output goes straight on again (nginx's waited include).
func (l *Postpone) Drain() error { return l.drain(true) }

func (l *Postpone) drain(wait bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	waited := false
	for {
		if l.err != nil {
			return l.err
		}
		if len(l.segs) == 0 {
			return nil
		}
		s := l.segs[0]
		if len(s.buf) > 0 {
			out := s.buf
			s.buf, s.spare = s.spare[:0], nil
			l.mu.Unlock()
			err := l.next.Body(out, false, false)
			l.mu.Lock()
			s.spare = out[:0]
			if err != nil && l.err == nil {
				l.err = err
			}
			l.cond.Broadcast() // a writer waiting for room
			continue
		}
		if s.done || s.own && len(l.segs) == 1 {
			// Ended, or the request's own output, now in turn.
			l.segs[0] = nil
			l.segs = l.segs[:copy(l.segs, l.segs[1:])]
			l.free = append(l.free, s)
			if s.flush {
				l.mu.Unlock()
				err := l.next.Body(nil, true, false)
				l.mu.Lock()
				if err != nil && l.err == nil {
					l.err = err
				}
			}
			continue
		}
		if !wait {
			return nil
		}
		if l.OnWait != nil && !waited {
			waited = true
			l.mu.Unlock()
			l.OnWait()
			l.mu.Lock()
			continue
		}
		l.cond.Wait()
	}
}

// Abort fails the writes of the subrequests still running and ends the
// wait for them: the request ends without their output.
func (l *Postpone) Abort(err error) {
	l.mu.Lock()
	if l.err == nil {
		l.err = err
	}
	l.cond.Broadcast()
	l.mu.Unlock()
}

// Reset readies l for another response, once every segment ended.
func (l *Postpone) Reset() {
	l.mu.Lock()
	for _, s := range l.segs {
		s.buf = s.buf[:0]
		l.free = append(l.free, s)
	}
	clear(l.segs)
	l.segs, l.err = l.segs[:0], nil
	l.mu.Unlock()
}

// Write keeps p for its turn; the subrequest whose turn it is waits
// while too much of its output is kept.
func (s *Segment) Write(p []byte) error {
	l := s.p
	l.mu.Lock()
	defer l.mu.Unlock()
	for l.err == nil && len(s.buf) >= maxKept && len(l.segs) > 0 && l.segs[0] == s {
		l.cond.Wait()
	}
	if l.err != nil {
		return l.err
	}
	s.buf = append(s.buf, p...)
	l.cond.Broadcast()
	return nil
}

// Pass tells the request that made the subrequest of s that it waits
// now (for a backend, a lock): the request goes on.
func (s *Segment) Pass() {
	l := s.p
	l.mu.Lock()
	s.passed = true
	l.cond.Broadcast()
	l.mu.Unlock()
}

// WaitEarlier waits until the segments before s ended, or the output
// failed: nginx finalizes a subrequest, and logs it, once the ones
// before it in the output are through (the postponed ones wait their
// turn), so its log line follows theirs.
func (s *Segment) WaitEarlier() {
	l := s.p
	l.mu.Lock()
	defer l.mu.Unlock()
	for l.err == nil && !l.earlierDone(s) {
		l.cond.Wait()
	}
}

// earlierDone reports whether every segment before s ended (mu held); s
// gone from segs was passed on whole, after those before it.
func (l *Postpone) earlierDone(s *Segment) bool {
	for _, t := range l.segs {
		if t == s {
			return true
		}
		if !t.done {
			return false
		}
	}
	return true
}

// Done ends the segment: the subrequest ended.
func (s *Segment) Done() {
	l := s.p
	l.mu.Lock()
	s.done = true
	l.cond.Broadcast()
	l.mu.Unlock()
}
