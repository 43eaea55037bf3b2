package http1

import "time"

// Workers runs jobs on goroutines that, a job done, wait a while for
// another: a handler's stack grows deep (the proxy's), and a goroutine
// started per job grew it again each time (runtime.newstack walks and
// copies every frame: an eighth of the CPU of proxied HTTP/2 requests,
// a quarter of gRPC ones when the request body's writer was started so).
type Workers[J any] struct {
	work chan J
	run  func(J)
}

// workerIdle is how long a worker waits for a job before it ends: no
// goroutine outlives a burst of jobs by more.
const workerIdle = 2 * time.Second

// NewWorkers returns a pool whose workers call run for each job.
func NewWorkers[J any](run func(J)) *Workers[J] {
	return &Workers[J]{work: make(chan J), run: run}
}

// Go runs j on a waiting worker, or on a new one when none waits.
func (w *Workers[J]) Go(j J) {
	select {
	case w.work <- j:
	default:
		go w.worker(j)
	}
}

func (w *Workers[J]) worker(j J) {
	t := time.NewTimer(workerIdle)
	defer t.Stop()
	for {
		w.run(j)
		t.Reset(workerIdle)
		select {
		case j = <-w.work:
		case <-t.C:
			return
		}
	}
}
