package http2

import (
	"crypto/tls"
	"time"

	"golang.org/x/net/http2"
)

// A connection's stops: graceful (GOAWAY, then the streams end), a drain
// of a reusable idle connection, and the lingering close after GOAWAY.

// Shutdown is a graceful stop (a reload's or quit's old worker): GOAWAY
// once, then the connection closes when its streams end.
func (c *Conn) Shutdown() {
	// wmu first: a reader that sees goaway and lingers flushes (under
	// wmu) after the GOAWAY is written, not before.
	c.wmu.Lock()
	c.mu.Lock()
	if c.goaway || c.done {
		idle := c.processing == 0 && !c.done
		c.mu.Unlock()
		c.wmu.Unlock()
		if idle && !c.lingerReq.Load() {
			c.endGracefully()
		}
		return
	}
	c.goaway = true
	idle := c.processing == 0
	c.mu.Unlock()
	c.framer().WriteGoAway(c.lastID, http2.ErrCodeNo, nil)
	c.flushLocked()
	c.wmu.Unlock()
	if idle {
		c.endGracefully()
	}
}

// Drain ends the connection for a drain of worker_connections, as
// nginx's ngx_drain_connections has the idle handler finalize it: its
// reader says GOAWAY (NO_ERROR) and closes it, a parked one resumed.
func (c *Conn) Drain() {
	c.drainReq.Store(true)
	c.nc.SetReadDeadline(time.Now())
	if c.parker != nil {
		c.parker.Wake()
	}
}

// writeTimedOut ends the connection whose write waited past its
// deadline, as nginx's ngx_http_v2_write_handler finalizes one whose
// send timed out: it is read no more (its reader ends it as a Drain's,
// the GOAWAY not written), and its streams end with it, their requests
// logging no timeout of theirs (ErrSendTimedOut). It kept the
// connection until keepalive_timeout after its last stream.
func (c *Conn) writeTimedOut() {
	c.drainReq.Store(true)
	c.nc.SetReadDeadline(time.Now())
}

// endGracefully wakes the reader to linger and close: GOAWAY was said
// and no stream runs. A parked connection is resumed for it.
func (c *Conn) endGracefully() {
	c.lingerReq.Store(true)
	c.nc.SetReadDeadline(time.Now())
	if c.parker != nil {
		c.parker.Wake()
	}
}

// linger is the lingering close after GOAWAY (reader goroutine).
func (c *Conn) linger() {
	c.wmu.Lock()
	err := c.flushLocked()
	c.wmu.Unlock()
	if err != nil || !c.cfg.Linger {
		return
	}
	raw := c.nc
	if tc, ok := raw.(*tls.Conn); ok {
		if tc.CloseWrite() != nil {
			return
		}
		raw = tc.NetConn()
	}
	cw, ok := raw.(interface{ CloseWrite() error })
	if !ok || cw.CloseWrite() != nil {
		return
	}
	deadline := time.Now().Add(c.cfg.LingerTime)
	buf := make([]byte, 4096) // once per connection's end
	for {
		w := min(time.Until(deadline), c.cfg.LingerTimeout)
		if w <= 0 {
			return
		}
		raw.SetReadDeadline(time.Now().Add(w))
		if _, err := raw.Read(buf); err != nil {
			return
		}
	}
}

// fail ends the connection for a client's error: GOAWAY, then, when no
// stream runs, the lingering close nginx's ngx_http_v2_finalize_connection
// does (its streams' requests, terminated, close first).
func (c *Conn) fail(code http2.ErrCode) {
	c.goAway(code)
	c.mu.Lock()
	idle := c.processing == 0
	c.mu.Unlock()
	if idle {
		c.linger()
	}
}
