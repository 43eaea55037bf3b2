package http1

import (
	"bytes"
	"runtime"
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
