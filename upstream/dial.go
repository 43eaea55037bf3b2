package upstream

import (
	"net"
	"time"
)

// connectDeadline is the context of a connect to a backend: only its
// deadline (proxy_connect_timeout), which Go's connect sets as the
// socket's write deadline while it waits. The context Dialer.Timeout
// makes can be cancelled, and its connect registers a child of it
// (context.AfterFunc: a map of children, a timer): 8% of the CPU of a
// WebSocket connect in a profile. This one is never cancelled: Done is
// a channel that never closes, and its AfterFunc method (which
// context.AfterFunc calls instead of registering a child) does nothing.
type connectDeadline struct{ at time.Time }

// neverDone is the Done channel of every connectDeadline.
var neverDone = make(chan struct{})

func (c *connectDeadline) Deadline() (time.Time, bool) { return c.at, true }
func (*connectDeadline) Done() <-chan struct{}         { return neverDone }
func (*connectDeadline) Err() error                    { return nil }
func (*connectDeadline) Value(any) any                 { return nil }

// AfterFunc never runs f (the context is never done); the stop it
// returns reports f stopped.
func (*connectDeadline) AfterFunc(func()) func() bool { return stopNothing }

func stopNothing() bool { return true }

// dialWithin dials addr with d (whose Timeout is unset) and gives up at
// now + timeout (none when timeout is 0), as a Dialer's Timeout would.
func dialWithin(d *net.Dialer, network, addr string, now time.Time, timeout time.Duration) (net.Conn, error) {
	if timeout <= 0 {
		return d.Dial(network, addr)
	}
	return d.DialContext(&connectDeadline{at: now.Add(timeout)}, network, addr)
}
