package wake

import (
	"sync"
	"testing"
	"time"
)

// A wake given before the wait is kept for it; a wait parks until the
// wake comes; a second wake while one is kept is the same wake.
func TestWakeKeepsOne(t *testing.T) {
	var k Wake
	k.Init()
	k.Give()
	k.Give()
	k.Take() // the kept wake: no park
	done := make(chan struct{})
	go func() { k.Take(); close(done) }()
	select {
	case <-done:
		t.Fatal("Take returned with no wake given")
	case <-time.After(20 * time.Millisecond):
	}
	k.Give()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Take still parked 10 s after Give")
	}
	k.Give()
	k.Drop()
	again := make(chan struct{})
	go func() { k.Take(); close(again) }()
	select {
	case <-again:
		t.Fatal("Take returned after Drop took the wake")
	case <-time.After(20 * time.Millisecond):
	}
	k.Give()
	<-again
}

// Two goroutines hand a turn back and forth through two wakes, with
// wakers racing the waits: every turn arrives (none lost, none doubled).
func TestWakePingPong(t *testing.T) {
	var a, b Wake
	a.Init()
	b.Init()
	const turns = 20000
	var wg sync.WaitGroup
	wg.Add(2)
	count := 0
	go func() {
		defer wg.Done()
		for range turns {
			a.Take()
			count++
			b.Give()
		}
	}()
	go func() {
		defer wg.Done()
		for range turns {
			a.Give()
			b.Take()
		}
	}()
	wg.Wait()
	if count != turns {
		t.Fatalf("%d turns, want %d", count, turns)
	}
}
