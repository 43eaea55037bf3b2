package http1

import (
	"bytes"
	"runtime"
	"sync"
	"testing"
	"time"
)

// A job that follows one already ended runs on the same goroutine, whose
// stack has grown: the pool's point.
func TestWorkersReuseGoroutine(t *testing.T) {
	done := make(chan string)
	w := NewWorkers(func(n int) {
		buf := make([]byte, 64)
		buf = buf[:runtime.Stack(buf, false)]
		done <- string(buf[:bytes.IndexByte(buf, '[')])
	})
	ids := map[string]int{}
	for i := range 20 {
		w.Go(i)
		ids[<-done]++
		// The worker has sent; let it get back to waiting for work (a
		// loaded machine may keep it from there now and then: a new
		// goroutine takes that job, and the others wait).
		time.Sleep(time.Millisecond)
	}
	if len(ids) > 3 {
		t.Fatalf("20 jobs one after another ran on %d goroutines: %v", len(ids), ids)
	}
}

// Workers that wait through a whole period end, and the retire loop with
// them; a burst's workers all run at once.
func TestWorkersRetire(t *testing.T) {
	release := make(chan struct{})
	ran := make(chan struct{})
	var started sync.WaitGroup
	started.Add(3)
	w := NewWorkers(func(i int) {
		if i < 3 {
			started.Done()
			<-release
			return
		}
		close(ran)
	})
	w.period = 10 * time.Millisecond
	for i := range 3 {
		w.Go(i)
	}
	started.Wait()
	if n := w.alive.Load(); n != 3 {
		t.Fatalf("%d workers for 3 jobs at once", n)
	}
	close(release)
	for deadline := time.Now().Add(10 * time.Second); w.alive.Load() > 0 || w.retirer.Load(); {
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s: %d workers, retire loop running %v", w.alive.Load(), w.retirer.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
	// A job after they are gone starts one again.
	w.Go(3)
	<-ran
}
