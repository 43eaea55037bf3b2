//go:build race || !linux

package poller

// Wake is a channel of one token under the race detector (its send and
// receive tell the detector that what the waker did happens before the
// waiter's run; the runtime's park and ready, which wake_linux.go calls,
// tell it nothing) and off Linux. Init makes it.
type Wake struct{ ch chan struct{} }

func (k *Wake) Init() { k.ch = make(chan struct{}, 1) }

func (k *Wake) Give() {
	select {
	case k.ch <- struct{}{}:
	default:
	}
}

func (k *Wake) Take() { <-k.ch }

func (k *Wake) drop() {
	select {
	case <-k.ch:
	default:
	}
}
