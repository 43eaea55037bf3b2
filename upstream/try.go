package upstream

import (
	"net"

	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/rewrite/http1"
	"github.com/gonginx/gonginx/upstream/poller"
)

// tryRelease is what releaseTry needs to know of how a try went.
type tryRelease struct {
	keep   bool
	failed bool
	// tunneled: a tunnel owns nc and closes it. Every other way out
	// closes nc here or pools it: a hijacked client (an HTTP/0.9 relay)
	// says nothing about who owns the backend socket.
	tunneled bool
	// ended: the body came whole and the try's end was read.
	ended bool
	// released: releaseTry ran (it runs once: at the end, or as soon as
	// a response spooled to a temporary file was read whole).
	released bool
	// detached: the tunnel's end releases the backend (detachTunnel).
	detached bool
	// recycle: the server's own socket, closed by releaseTry, that the
	// exchange's end gives back for a later dial (nothing of the try
	// holds it then).
	recycle *poller.Conn
}

// releaseTry frees the backend connection of the try, once.
func (p *Proxy) releaseTry(x *exchange, nc net.Conn, g *Group, server int, reused bool, ft ftMask) {
	rl := &x.rel
	if rl.released {
		return
	}
	rl.released = true
	// A deferred send never made (none is left here but by a try that
	// ended before its first read) must not go out on the next request.
	x.life.pend, x.pend, x.armCloser.Conn = nil, sendPend{}, nil
	p.proto.finalize(x)
	if rl.detached {
		return
	}
	if !rl.ended {
		x.tryEnd = poller.Now()
	}
	// A stale kept-alive connection is not the server's failure.
	failed := rl.failed && !(reused && ft == ftError)
	if rl.keep {
		if x.life.expires.IsZero() {
			// Dialed for an upgrade by this try, at its start (connect).
			x.life.expires = x.tryStart.Add(g.KeepaliveTime)
		}
		if !lazyDeadlines(p.proto) {
			// Their reads and writes set deadlines of their own.
			x.life.dl.Forget()
			x.life.dl.Clear(nc)
		}
		x.disabled = g.doneIdle(nc, server, failed, &x.life, x.tryEnd)
	} else {
		x.disabled = g.done(server, failed, x.tryEnd)
		if !rl.tunneled { // a tunnel has closed it
			nc.Close()
			rl.recycle, _ = nc.(*poller.Conn)
		}
		if x.spareSock == nil && x.life.sock != nil {
			// Kept for the exchange's next connection, as a tunnel's
			// (a pool's Get and Put per connection not kept).
			x.spareSock = http1.KeepSock(x.life.sock)
			x.life.sock = nil
		}
		x.life.release()
	}
}

// beginTry shows the try under way to the header filters (add_header
// values with $upstream_*_time), as nginx's u->state while they run: no
// response time yet.
func (x *exchange) beginTry(s *rewrite.State) {
	if s != nil {
		s.UpstreamLog = x
		// nginx sets a try's bytes_sent only when it ends: the header
		// filters see 0.
		s.BeginUpstream(rewrite.UpstreamTry{Addr: x.tryAddr, Status: x.head.Status, Time: -1,
			ConnectTime: x.connectTime, HeaderTime: x.headerTime, BytesReceived: x.recvd})
	}
}

// bodyDone gives the try its response time (to x.tryEnd) and lengths
// before the last chunk goes out, as ngx_http_upstream_finalize_request does before the
// trailers are evaluated.
func (x *exchange) bodyDone(s *rewrite.State) {
	if s == nil {
		return
	}
	d := x.tryEnd.Sub(x.tryStart)
	if t := s.PendingUpstream(); t != nil && t.Addr == x.tryAddr {
		// beginTry's record, completed in place (a new record was a
		// copy of the whole and an append).
		t.Status, t.Time, t.ConnectTime, t.HeaderTime = x.head.Status, d, x.connectTime, x.headerTime
		t.ResponseLength, t.BytesReceived, t.BytesSent = x.recvd-int64(x.headLen), x.recvd, x.sent
		s.UpstreamStatus, s.UpstreamResponseTime = t.Status, d
		return
	}
	s.BeginUpstream(rewrite.UpstreamTry{Addr: x.tryAddr, Status: x.head.Status, Time: d,
		ConnectTime: x.connectTime, HeaderTime: x.headerTime, ResponseLength: x.recvd - int64(x.headLen),
		BytesReceived: x.recvd, BytesSent: x.sent})
}
