//go:build race || !linux

package wake

// Wake is a channel of one token under the race detector (its send and
// receive tell the detector that what the waker did happens before the
// waiter's run; the runtime's park and ready, which wake_linux.go calls,
// tell it nothing) and off Linux. Init makes it.
type Wake struct{ ch chan struct{} }

// Init makes k's channel.
func (k *Wake) Init() { k.ch = make(chan struct{}, 1) }

// Give sends the token unless one is there.
func (k *Wake) Give() {
	select {
	case k.ch <- struct{}{}:
	default:
	}
}

// Take receives the token.
func (k *Wake) Take() { <-k.ch }

// Drop takes a token that is there.
func (k *Wake) Drop() {
	select {
	case <-k.ch:
	default:
	}
}
