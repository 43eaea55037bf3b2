package upstream

import (
	"net"
	"os"
	"time"

	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/rewrite/http1"
	"github.com/gonginx/gonginx/upstream/poller"
)

// exchangeTry's rare steps, out of its code: a request touches fewer of
// its cache lines.

// upgraded relays a 101 answer to an Upgrade request: the head, then a
// tunnel between the client and the backend. Out of exchangeTry, whose
// every request would otherwise touch its code's cache lines.
func (p *Proxy) upgraded(c http1.Stream, s *rewrite.State, x *exchange, nc net.Conn, g *Group, server int, resp *http1.Response, buffered []byte, headAt time.Time) (int, error, ftMask) {
	x.beginTry(s)
	x.action = actionUpgraded
	// The 101's Date is the time its head was read, as any other
	// answer's: WriteHeader's own time.Now read both clocks.
	if hc, ok := c.(*http1.Conn); ok && !headAt.IsZero() {
		hc.SetEventTime(headAt)
	}
	if err := c.WriteHeader(resp); err != nil {
		return 0, err, 0
	}
	if err := c.Flush(); err != nil {
		return 0, err, 0
	}
	clientConn, fromClient := c.Hijack()
	x.rel.tunneled = true
	x.life.leave() // the tunnel's registration takes the socket's events
	nc.SetDeadline(time.Time{})
	clientConn.SetDeadline(time.Time{})
	t, spare := newTunnel()
	if spare != nil && x.spareConn == nil {
		x.spareConn = spare // the next dial's
	}
	t.client, t.upstream, t.idle, t.bufs = clientConn, nc, p.ReadTimeout, p.tunnelBufs
	// The client's socket is registered with the poller for its
	// watch: the tunnel takes that registration over.
	_, t.watched = c.Socket()
	if t.bufs == nil {
		t.bufs = tunnelPool(os.Getpagesize())
	}
	t.prepare(p.tunnelBufLen)
	p.Tunnels.add(t)
	if !headAt.IsZero() {
		// Its traffic starts with the 101, read a moment ago: the
		// head's time, where sendPending's own read of the clock
		// cost ~95 instructions.
		t.lastActive.Store(poller.MonoOf(headAt))
	}
	err := t.sendPending(fromClient, buffered)
	if err == nil {
		if p.detachTunnel(c, s, x, t, g, server, int64(len(buffered))) {
			// The request returns; the tunnel's end ends it. x goes
			// back to its pool at once (endServe), its response
			// buffer with it: given back apart, the next exchange
			// took one again (a pool's Get and Put per upgrade).
			x.rel.tunneled, x.rel.detached = true, true
			return 0, nil, 0
		}
		// buffered aliased the response buffer, which an idle
		// tunnel must not pin while this goroutine waits for it
		// (nginx's tunnel keeps only its two proxy_buffer_size
		// buffers).
		x.spareRbuf()
		err = t.pump()
	}
	p.Tunnels.remove(t)
	// What the tunnel moved counts as nginx's connection counters
	// count it: sent to the client ($bytes_sent), and sent to and
	// read from the backend; buffered was counted when read.
	c.AddSent(t.toClient)
	x.sent += t.toUpstream
	x.recvd += t.toClient - int64(len(buffered))
	x.tunneled = true
	t.unref()
	return 0, err, 0
}

// cacheRanges is exchangeTry's step for a response being cached or
// proxy_force_ranges: what the cache expects, and Accept-Ranges.
func (p *Proxy) cacheRanges(r *http1.Request, s *rewrite.State, x *exchange, resp *http1.Response, f framing) {
	if x.cr != nil {
		x.cr.expect = f.length
		if f.noBody {
			x.cr.expect = -1 // a head only (HEAD, 204, 304): stored as it is
		}
	}
	allowRanges := x.cr != nil && p.cacheStore(r, s, x)
	if (allowRanges || p.forceRanges) && dropHeader(resp, "accept-ranges") || p.forceRanges {
		resp.AllowRanges = http1.RangesSingle
	}
	resp.NotModifiable = allowRanges
}

// relayGone ends a try whose relay ended because the client's watch
// closed the backend: nothing more goes to the client (nginx terminates
// the request, its output unsent with it).
func (p *Proxy) relayGone(c http1.Stream, s *rewrite.State, x *exchange, watch *clientWatch, sw streamWatch, buffered int, recvdBefore int64) (int, error) {
	if x.spool.on {
		x.spool.end(false)
	}
	c.Discard()
	return p.clientGone(s, x, watch, sw, clientGoneAction(x, buffered, x.recvd > recvdBefore))
}

// relayEnd is exchangeTry's end for a body spooled to a temporary file
// or stored (proxy_store): err is the relay's, or the end's.
func (p *Proxy) relayEnd(x *exchange, s *rewrite.State, nc net.Conn, g *Group, server int, reused bool, ft ftMask, f framing, resp *http1.Response, complete, gone bool, err error) error {
	if x.spool.on {
		// The backend's response is read (whole, or cut by the backend)
		// while the client still takes it from the temporary file: the
		// try ends and its connection goes now, as
		// ngx_http_upstream_finalize_request runs before the pipe's last
		// bytes are sent.
		if err == nil {
			x.tryEnd, x.rel.ended = poller.Now(), true
			x.rel.keep = !gone && g.Keepalive > 0 && p.proto.keepConn(x, f, complete, false)
		}
		p.releaseTry(x, nc, g, server, reused, ft)
		if serr := x.spool.end(true); err == nil {
			err = serr
		}
	}
	if x.store.Stream != nil {
		if cerr := p.endStore(s, x, err == nil, resp.ContentLength, x.lastModified()); err == nil {
			err = cerr // the client went away while the backend was read
		}
	}
	return err
}
