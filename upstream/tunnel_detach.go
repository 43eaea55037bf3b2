package upstream

import (
	"errors"
	"time"

	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/rewrite/http1"
)

// tunnelDetacher is a client connection whose owner ends a request after
// its tunnel, with no goroutine waiting meanwhile (http1.Conn).
type tunnelDetacher interface {
	DetachTunnel(end http1.TunnelEnder, rec *http1.TunnelEnd) bool
	TunnelEnded()
}

// detachedTry is what the end of a tunnel whose request returned needs
// of its try, copied from the exchange (which goes back to its pool):
// nginx's upgraded request keeps its upstream (peer, counters) to its
// finalization.
type detachedTry struct {
	p      *Proxy
	c      http1.Stream
	s      *rewrite.State
	t      *tunnel
	g      *Group
	server int
	slots  *ConnSlots // the backend connection's worker_connections slot
	// The try's start, connect and header times, bytes sent and read
	// before the tunnel (buffered: what of those it sends on to the
	// client), its server and what it was doing (for the error line).
	tryStart                time.Time
	connectTime, headerTime time.Duration
	sent, recvd, buffered   int64
	addr, action            string
}

// detachTunnel starts t without waiting for it when the client's owner
// can end the request after it (not through a cache, whose state is the
// request's): the request's goroutine returns, and an idle tunnel holds
// no stack (16 KiB each). False: the caller runs the tunnel and waits.
func (p *Proxy) detachTunnel(c http1.Stream, s *rewrite.State, x *exchange, t *tunnel, g *Group, server int, buffered int64) bool {
	// An HTTP/1 connection is asked by its type, and made the tunnel's
	// onEnd as such: an interface's assertion or conversion looks the
	// type up (getitab) until its call site's cache is built, which the
	// runtime tries at one miss in ~1000 (updateKeepalive's comment).
	var td tunnelDetacher
	var onEnd interface{ TunnelEnded() }
	if hc, ok := c.(*http1.Conn); ok {
		td, onEnd = hc, hc
	} else if td, ok = c.(tunnelDetacher); ok {
		onEnd = td
	}
	if td == nil || s == nil || x.cr != nil {
		return false
	}
	d := &t.det
	*d = detachedTry{p: p, c: c, s: s, t: t, g: g, server: server, slots: x.life.slots,
		tryStart: x.tryStart, connectTime: x.connectTime, headerTime: x.headerTime,
		sent: x.sent, recvd: x.recvd, buffered: buffered, addr: x.tryAddr, action: x.action}
	if !td.DetachTunnel(d, &t.endRec) {
		*d = detachedTry{}
		return false
	}
	// The slot and the deadlines are the tunnel's end's now; the tunnel
	// reads the backend without the Sock, which the exchange keeps for
	// its next connection (spareSock).
	if x.spareSock == nil {
		x.spareSock = http1.KeepSock(x.life.sock)
	} else {
		http1.PutSock(x.life.sock)
	}
	x.life = connLife{}
	x.detached, x.tunneled = true, true
	t.onEnd = onEnd
	t.begin()
	return true
}

// EndTunnel is what the request's goroutine did after a tunnel it waited for:
// the tunnel's counts ($bytes_sent, $upstream_bytes_*), the backend's
// release and the try in $upstream_* (serveUpstream), and the error it
// ended with, worded for the log. The tunnel's record, d's too, may be
// reused once it returns.
func (d *detachedTry) EndTunnel() error {
	t := d.t
	err := t.result()
	d.p.Tunnels.remove(t)
	d.c.AddSent(t.toClient)
	tryEnd := time.Now()
	d.g.done(d.server, false, tryEnd)
	d.slots.Release()
	if err != nil && !errors.Is(err, ErrClientClosed) {
		var te *tryError
		if !errors.As(err, &te) {
			err = wordTry(err, d.action, string(d.s.UpstreamName.Append(nil)))
		}
	}
	d.s.AddUpstream(rewrite.UpstreamTry{Addr: d.addr, Status: d.s.UpstreamStatus, Time: tryEnd.Sub(d.tryStart),
		ConnectTime: d.connectTime, HeaderTime: d.headerTime,
		BytesReceived: d.recvd + t.toClient - d.buffered, BytesSent: d.sent + t.toUpstream})
	t.unref() // the creator's, which the request handed to its end: d is t's
	return err
}
