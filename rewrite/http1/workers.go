package http1

import (
	"sync/atomic"
	"time"
)

// Workers runs jobs on goroutines that, a job done, wait for another: a
// handler's stack grows deep (the proxy's), and a goroutine started per
// job grew it again each time (runtime.newstack walks and copies every
// frame: an eighth of the CPU of proxied HTTP/2 requests, a quarter of
// gRPC ones when the request body's writer was started so). A waiting
// worker blocks on the work channel alone: a timer in its select was
// queued and dequeued on each wait (~1k instructions a job).
type Workers[J any] struct {
	work    chan workItem[J]
	run     func(J)
	alive   atomic.Int32
	idle    atomic.Int32 // waiting on work
	fewest  atomic.Int32 // fewest waiting since retire last looked
	retirer atomic.Bool  // a retire loop runs
	period  time.Duration
}

type workItem[J any] struct {
	job  J
	quit bool
}

// workerIdle is how often workers that waited all along are told to end:
// none outlives a burst of jobs by more than twice that.
const workerIdle = 2 * time.Second

// NewWorkers returns a pool whose workers call run for each job.
func NewWorkers[J any](run func(J)) *Workers[J] {
	return &Workers[J]{work: make(chan workItem[J]), run: run, period: workerIdle}
}

// Go runs j on a waiting worker, or on a new one when none waits.
func (w *Workers[J]) Go(j J) {
	select {
	case w.work <- workItem[J]{job: j}:
	default:
		w.alive.Add(1)
		go w.worker(j)
		if !w.retirer.Swap(true) {
			go w.retire()
		}
	}
}

func (w *Workers[J]) worker(j J) {
	for {
		w.run(j)
		w.idle.Add(1)
		it := <-w.work
		n := w.idle.Add(-1)
		for f := w.fewest.Load(); n < f && !w.fewest.CompareAndSwap(f, n); f = w.fewest.Load() {
		}
		if it.quit {
			w.alive.Add(-1)
			return
		}
		j = it.job
	}
}

// retire ends, every period, as many workers as waited through all of
// it, and itself once none is left.
func (w *Workers[J]) retire() {
	w.fewest.Store(w.idle.Load())
	for {
		time.Sleep(w.period)
		for n := w.fewest.Swap(w.idle.Load()); n > 0; n-- {
			select {
			case w.work <- workItem[J]{quit: true}:
			default:
				n = 0
			}
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
