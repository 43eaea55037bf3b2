package stream

import (
	"sync"
	"time"
)

// limitOrder keeps what nginx's one event loop gives limit_conn for free:
// sessions count in the zone in the order they were accepted, so one
// accepted first holds its slot before a later one asks (goroutines would
// otherwise race). The wait is bounded: a session slow to reach its check
// (a PROXY protocol header, a TLS handshake does not precede it) delays
// the next by at most maxOrderWait.
type limitOrder struct {
	mu      sync.Mutex
	seq     uint64
	pending map[uint64]bool
	changed chan struct{} // closed (and replaced) when pending shrinks
}

const maxOrderWait = 50 * time.Millisecond

// add gives an accepted session its place.
func (o *limitOrder) add() uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.pending == nil {
		o.pending, o.changed = map[uint64]bool{}, make(chan struct{})
	}
	o.seq++
	o.pending[o.seq] = true
	return o.seq
}

// wait returns once every session accepted before seq passed its check,
// or maxOrderWait passed.
func (o *limitOrder) wait(seq uint64) {
	deadline := time.NewTimer(maxOrderWait)
	defer deadline.Stop()
	for {
		o.mu.Lock()
		earlier := false
		for s := range o.pending {
			if s < seq {
				earlier = true
				break
			}
		}
		ch := o.changed
		o.mu.Unlock()
		if !earlier {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			return
		}
	}
}

// done ends seq's turn (its check ran, or the session ended first).
func (o *limitOrder) done(seq uint64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.pending[seq] {
		return
	}
	delete(o.pending, seq)
	close(o.changed)
	o.changed = make(chan struct{})
}
