//go:build linux && race

package poller

// Under the race detector a waiter's wake is a channel of one token:
// its send and receive tell the detector that what the waker did
// happens before the waiter's run (the runtime's park and ready, which
// wake_linux.go calls, tell it nothing).
type wake struct{ ch chan struct{} }

func (k *wake) init() { k.ch = make(chan struct{}, 1) }

func (k *wake) give() {
	select {
	case k.ch <- struct{}{}:
	default:
	}
}

func (k *wake) take() { <-k.ch }

func (k *wake) drop() {
	select {
	case <-k.ch:
	default:
	}
}
