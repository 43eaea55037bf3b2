package main

import (
	"fmt"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
)

// On SIGINT or SIGTERM (Ctrl-C, timeout's kill) the bench stops what it
// started and removes their directories before it exits: the servers run
// in process groups of their own, which the signal does not reach, and
// deferred calls do not run on a signal's exit.
var interrupts struct {
	mu       sync.Mutex
	next     int
	undo     map[int]func()
	stopping bool
}

// interrupted is set once the bench is interrupted: what it stops then
// is removed even where a run's errors (the interrupt's own) would keep it.
var interrupted atomic.Bool

// atInterrupt has f run if the bench is interrupted; forget drops it
// (what it undoes was undone in the usual way).
func atInterrupt(f func()) (forget func()) {
	interrupts.mu.Lock()
	if interrupts.stopping {
		// Started while the interrupt's undoing runs: undone at once,
		// and the caller waits for the exit.
		interrupts.mu.Unlock()
		f()
		select {}
	}
	defer interrupts.mu.Unlock()
	if interrupts.undo == nil {
		interrupts.undo = map[int]func(){}
	}
	id := interrupts.next
	interrupts.next++
	interrupts.undo[id] = f
	return func() {
		interrupts.mu.Lock()
		delete(interrupts.undo, id)
		interrupts.mu.Unlock()
	}
}

// handleInterrupts starts the watch for SIGINT and SIGTERM.
func handleInterrupts() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig := <-ch
		interrupted.Store(true)
		interrupts.mu.Lock()
		undo := interrupts.undo
		interrupts.undo, interrupts.stopping = nil, true
		interrupts.mu.Unlock()
		for _, f := range undo {
			f()
		}
		fmt.Fprintf(os.Stderr, "bench: %v: what it started is stopped and removed\n", sig)
		os.Exit(1)
	}()
}
