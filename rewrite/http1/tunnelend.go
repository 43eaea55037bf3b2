package http1

import "sync/atomic"

// TunnelEnd is the end of a request that became a tunnel (a 101) and
// returned while the tunnel runs: its goroutine and stack are not held
// for the tunnel's life (nginx's request is a struct in its pool, with no
// stack of its own). Two parts end it once both the tunnel has ended and
// the request's goroutine has returned: the proxy's (its counts, the
// backend's release, the error the tunnel ended with), then the owner's
// (the log line, limit_conn, the connection's close).
//
// The record is the proxy's (kept in its tunnel, which may be reused
// once the proxy's part ran): the two sides meet by one atomic each, and
// the one that comes second runs the proxy's part; neither touches the
// record after that.
type TunnelEnd struct {
	state atomic.Uint32 // tunnelEnded, tunnelAwaited
	proxy TunnelEnder
	owner TunnelWaiter
}

const (
	tunnelEnded   = 1 << iota // TunnelEnded ran
	tunnelAwaited             // AwaitTunnel ran (owner set before)
)

// TunnelWaiter is the owner's part of a detached tunnel's end
// (AwaitTunnel): an interface, as the owner's record is at hand where a
// closure over it would be an allocation per tunnel.
type TunnelWaiter interface{ TunnelDone() }

// TunnelEnder is the proxy's part of a detached tunnel's end: its
// counts, and the error the tunnel ended with. The record it was given
// with (DetachTunnel) is not read once it runs.
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
	if t.state.Or(tunnelEnded)&tunnelAwaited == 0 {
		return // the owner's AwaitTunnel ends it
	}
	owner := t.owner
	c.endTunnel(t)
	owner.TunnelDone()
}

// AwaitTunnel is the owner's, once the request returned with its tunnel
// running: true, w.TunnelDone runs at the tunnel's end (after the
// proxy's part) and the caller's goroutine may end; false, the tunnel
// has ended already, the proxy's part ran and the caller ends the
// request itself.
func (c *Conn) AwaitTunnel(w TunnelWaiter) bool {
	t := c.tunnel
	t.owner = w
	if t.state.Or(tunnelAwaited)&tunnelEnded == 0 {
		return true
	}
	c.endTunnel(t)
	return false
}

// endTunnel runs the proxy's part of the end, after which its record
// is the proxy's again (c forgets it).
func (c *Conn) endTunnel(t *TunnelEnd) {
	p := t.proxy
	c.tunnel = nil
	c.tunnelErr = p.EndTunnel()
}

// TunnelErr is the error the tunnel ended with, once the proxy's part of
// the end ran (nil: none, or no tunnel).
func (c *Conn) TunnelErr() error { return c.tunnelErr }
