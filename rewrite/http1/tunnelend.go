package http1

import "sync"

// TunnelEnd is the end of a request that became a tunnel (a 101) and
// returned while the tunnel runs: its goroutine and stack are not held
// for the tunnel's life (nginx's request is a struct in its pool, with no
// stack of its own). Two parts end it once both the tunnel has ended and
// the request's goroutine has returned: the proxy's (its counts, the
// backend's release, the error the tunnel ended with), then the owner's
// (the log line, limit_conn, the connection's close).
type TunnelEnd struct {
	mu    sync.Mutex
	ended bool
	proxy TunnelEnder
	owner TunnelWaiter
	err   error
}

// TunnelWaiter is the owner's part of a detached tunnel's end
// (AwaitTunnel): an interface, as the owner's record is at hand where a
// closure over it would be an allocation per tunnel.
type TunnelWaiter interface{ TunnelDone() }

// TunnelEnder is the proxy's part of a detached tunnel's end: its
// counts, and the error the tunnel ended with.
type TunnelEnder interface{ EndTunnel() error }

// DetachTunnel is the proxy's, at a switch of protocols: when the owner
// can end the request after the tunnel (TunnelOwner), end will run at
// the tunnel's end (TunnelEnded) and the request returns at once; false:
// the request waits for the tunnel as it runs.
// Its record is rec, the proxy's (kept with its tunnel: no allocation
// of its own), unused until then.
func (c *Conn) DetachTunnel(end TunnelEnder, rec *TunnelEnd) bool {
	if !c.TunnelOwner || !c.hijacked || c.tunnel != nil {
		return false
	}
	rec.proxy = end
	c.tunnel = rec
	return true
}

// TunnelDetached reports a request that returned with its tunnel
// running (DetachTunnel): the owner ends it with AwaitTunnel.
func (c *Conn) TunnelDetached() bool { return c.tunnel != nil }

// TunnelEnded is the tunnel's end, from any goroutine: when the request
// has returned and its owner waits (AwaitTunnel), both ends run here.
func (c *Conn) TunnelEnded() {
	t := c.tunnel
	t.mu.Lock()
	t.ended = true
	owner := t.owner
	t.mu.Unlock()
	if owner != nil {
		t.err = t.proxy.EndTunnel()
		owner.TunnelDone()
	}
}

// AwaitTunnel is the owner's, once the request returned with its tunnel
// running: true, w.TunnelDone runs at the tunnel's end (after the
// proxy's part) and the caller's goroutine may end; false, the tunnel
// has ended already, the proxy's part ran and the caller ends the
// request itself.
func (c *Conn) AwaitTunnel(w TunnelWaiter) bool {
	t := c.tunnel
	t.mu.Lock()
	if !t.ended {
		t.owner = w
		t.mu.Unlock()
		return true
	}
	t.mu.Unlock()
	t.err = t.proxy.EndTunnel()
	return false
}

// TunnelErr is the error the tunnel ended with, once the proxy's part of
// the end ran (nil: none, or no tunnel).
func (c *Conn) TunnelErr() error {
	if c.tunnel == nil {
		return nil
	}
	return c.tunnel.err
}
