package http1

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/gonginx/gonginx/rewrite/http1/wake"
)

// Workers runs jobs on goroutines that, a job done, wait for another: a
// handler's stack grows deep (the proxy's), and a goroutine started per
// job grew it again each time (runtime.newstack walks and copies every
// frame: an eighth of the CPU of proxied HTTP/2 requests, a quarter of
// gRPC ones when the request body's writer was started so). A waiting
// worker waits on its own wake in the idle stack, and Go hands it the
// job and wakes it: a channel's send and receive took the channel's
// lock twice and a sudog per job, and a timer in a select was queued and
// dequeued on each wait (~1k instructions a job).
type Workers[J any] struct {
	mu      sync.Mutex
	idle    []*worker[J] // waiting, the longest-waiting first
	fewest  int          // fewest waiting since retire last looked (under mu)
	run     func(J)
	alive   atomic.Int32
	retirer atomic.Bool // a retire loop runs
	period  time.Duration
}

// worker is one waiting goroutine: its wake, and what Go or retire hands
// it (set before the wake is given).
type worker[J any] struct {
	wake wake.Wake
	job  J
	quit bool
}

// workerIdle is how often workers that waited all along are told to end:
// none outlives a burst of jobs by more than twice that.
const workerIdle = 2 * time.Second

// NewWorkers returns a pool whose workers call run for each job.
func NewWorkers[J any](run func(J)) *Workers[J] {
	return &Workers[J]{run: run, period: workerIdle}
}

// Go runs j on a waiting worker (the last to wait: its stack is the
// likeliest in the caches), or on a new one when none waits.
func (w *Workers[J]) Go(j J) {
	w.mu.Lock()
	n := len(w.idle)
	if n == 0 {
		w.mu.Unlock()
		w.alive.Add(1)
		go w.worker(j)
		if !w.retirer.Swap(true) {
			go w.retire()
		}
		return
	}
	k := w.idle[n-1]
	w.idle[n-1] = nil
	w.idle = w.idle[:n-1]
	w.fewest = min(w.fewest, n-1)
	w.mu.Unlock()
	k.job = j
	k.wake.Give()
}

func (w *Workers[J]) worker(j J) {
	k := &worker[J]{}
	k.wake.Init()
	var none J
	for {
		w.run(j)
		w.mu.Lock()
		w.idle = append(w.idle, k)
		w.mu.Unlock()
		k.wake.Take() // Go's or retire's, after it set job or quit
		if k.quit {
			w.alive.Add(-1)
			return
		}
		j, k.job = k.job, none
	}
}

// retire ends, every period, as many workers as waited through all of
// it (the longest-waiting), and itself once none is left.
func (w *Workers[J]) retire() {
	w.mu.Lock()
	w.fewest = len(w.idle)
	w.mu.Unlock()
	var quit []*worker[J]
	for {
		time.Sleep(w.period)
		w.mu.Lock()
		n := min(w.fewest, len(w.idle))
		quit = append(quit[:0], w.idle[:n]...)
		rest := copy(w.idle, w.idle[n:])
		clear(w.idle[rest:])
		w.idle = w.idle[:rest]
		w.fewest = rest
		w.mu.Unlock()
		for i, k := range quit {
			quit[i] = nil
			k.quit = true
			k.wake.Give()
		}
		if w.alive.Load() == 0 {
			w.retirer.Store(false)
			// A worker started since then may have found the flag
			// still set and left retiring to this loop.
			if w.alive.Load() == 0 || w.retirer.Swap(true) {
				return
			}
		}
	}
}
