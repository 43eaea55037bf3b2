package upstream

import (
	"errors"
	"net"
	"time"

	"github.com/gonginx/gonginx/upstream/poller"
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

// dialBackend is dialWithin for a proxied request's backend connection
// that will not be kept alive (no keepalive in its group, or an upgrade):
// a TCP connection to an IP address is the poller's own socket
// (poller.Dial: raw system calls, waiting on the process's poller, no
// getsockname or getpeername after connect), as nginx's; d's Control
// (proxy_bind) runs on it as on Go's. A kept connection stays Go's: its
// every response's wait costs more through the poller's goroutine than
// the runtime's poller takes (php row: 25.0k -> 27.1k instructions per
// request), more than its connect saves. waitedConnect: whether the
// connect had to wait (said always of package net's): when not, now is
// the clock of its end too. *spare, when not nil, is a closed socket's
// Conn of the server's own (poller.Conn.Recycle) that the dial takes.
// nodelay: TCP_NODELAY is set on it (Proxy.noDelay), as package net's
// dial sets it always.
func dialBackend(d *net.Dialer, srv *Server, now time.Time, timeout time.Duration, spare **poller.Conn, nodelay bool) (nc net.Conn, waitedConnect bool, err error) {
	network, addr := srv.Network, srv.Addr
	if network == "tcp" {
		var c *poller.Conn
		if srv.addrPort.IsValid() {
			c, waitedConnect, err = poller.DialAddrPortWithin(srv.addrPort, addr, now, timeout, d.Control, *spare)
			*spare = nil
			if err == nil && nodelay {
				c.SetNoDelay(true)
			}
		} else {
			var deadline time.Time
			if timeout > 0 {
				deadline = now.Add(timeout)
			}
			c, err = poller.Dial(addr, deadline, d.Control)
			waitedConnect = true
		}
		if !errors.Is(err, poller.ErrUnsupported) {
			if err != nil {
				return nil, false, err // no typed nil
			}
			return c, waitedConnect, nil
		}
	}
	nc, err = dialWithin(d, network, addr, now, timeout)
	return nc, true, err
}
