package http2

import (
	"time"

	"golang.org/x/net/http2"
)

// An idle connection parks, as nginx's idle HTTP/2 connection waits in
// its event loop with only ngx_http_v2_idle_handler set: once it has had
// no stream for Config.IdleGrace, nothing of a frame is buffered and
// nothing decrypted waits in TLS (its reader's read timed out, so TLS
// held no whole record), the reader's goroutine ends and the Parker (the
// server's poller) runs Resume when bytes arrive, keepalive_timeout
// passes, or a stop wants the connection. The HPACK table, the settings,
// the windows and the priority tree stay (the protocol's state); what is
// rebuilt on the next frames goes back to the heap.
//
// A TLS record may arrive in parts: its first bytes wake the connection,
// whose reader then waits for the rest under keepalive_timeout, as
// nginx's read handler keeps a partial frame (state.incomplete).

// A Parker waits for an idle connection's input with no goroutine.
type Parker interface {
	// Park takes the connection (its reader's goroutine ends) and
	// reports true; then it calls Resume, on a goroutine of its own,
	// when input arrives, when until (keepalive_timeout; zero: none)
	// passes, or when Wake asks. False: input came meanwhile, or it
	// cannot park the connection (the reader reads on).
	Park(until time.Time) bool
	// Wake resumes a parked connection (a stop ends it); it does
	// nothing to one that runs.
	Wake()
	// Closing is told that the connection's socket is about to close.
	Closing()
}

// park hands the idle connection to its Parker (Serve's goroutine):
// true, and the goroutine must not touch c again.
func (c *Conn) park() bool {
	c.dropIdleState()
	c.mu.Lock()
	until := c.idleUntil
	c.mu.Unlock()
	if c.parker.Park(until) {
		return true
	}
	// Input came (or a stop): read on, under the grace again.
	c.wake()
	return false
}

// wake readies a connection that was parked (or nearly) to read again.
func (c *Conn) wake() {
	if c.block == nil {
		c.block = new(headerBlock)
	}
	c.wmu.Lock()
	c.framer()
	c.wmu.Unlock()
	c.mu.Lock()
	c.nc.SetReadDeadline(c.waitDeadlineLocked(time.Now()))
	c.mu.Unlock()
}

// Resume runs a parked connection again, as Serve: until it ends (false)
// or parks again (true).
func (c *Conn) Resume() (parked bool) {
	defer func() {
		if !parked {
			c.closeConn()
		}
	}()
	c.wake()
	return c.serveFrames()
}

// waitDeadlineLocked is the read deadline of a connection with no
// stream (c.mu): its grace, then keepalive_timeout; at once when it
// lingers after a stop's GOAWAY.
func (c *Conn) waitDeadlineLocked(now time.Time) time.Time {
	if c.lingerReq.Load() || c.drainReq.Load() {
		return now
	}
	dl := c.idleUntil
	if c.parker != nil && !c.noPark {
		if g := now.Add(c.grace); dl.IsZero() || g.Before(dl) {
			dl = g
		}
	}
	return dl
}

// dropIdleState lets go of what a parked connection would hold for
// nothing, all of it made again by the next frames: the header block's
// and the decoder's scratch, the response lines' cache, the framer (with its buffers grown to the
// largest frame read and written), the response head's buffers, an
// empty stream map.
func (c *Conn) dropIdleState() {
	c.block = nil
	c.hdec.dropScratch()
	c.wmu.Lock()
	c.fr, c.frameBuf, c.nameBuf = nil, nil, nil
	c.wmu.Unlock()
	c.heads.Store(nil)
	c.mu.Lock()
	if len(c.streams) == 0 {
		c.streams, c.live = nil, nil
	}
	c.mu.Unlock()
}

// framer is the connection's framer, made again after a park (c.wmu,
// or Serve's goroutine before any other runs).
func (c *Conn) framer() *http2.Framer {
	if c.fr == nil {
		c.fr = http2.NewFramer(connWriter{c}, c.br)
		c.fr.SetMaxReadFrameSize(maxFrameSize)
		c.fr.SetReuseFrames()
	}
	return c.fr
}

// NoPark is for a Parker that cannot park the connection (no poller):
// it waits for its next stream with its goroutine.
func (c *Conn) NoPark() {
	c.mu.Lock()
	c.noPark = true
	c.mu.Unlock()
}

// parks reports whether the connection parks when its grace ends.
func (c *Conn) parks() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.parker != nil && !c.noPark
}

// waitRest decides on a deadline passed in the middle of a frame: a
// connection with streams reads on (true); an
// idle connection that would park waits for the frame's rest under
// keepalive_timeout (true), as nginx keeps a partial frame
// (state.incomplete) with the connection's timer.
func (c *Conn) waitRest() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.processing > 0 && !c.drainReq.Load() && !c.lingerReq.Load() {
		// The idle deadline a stream's start left armed (onHeaders):
		// a connection with streams waits for the frame's rest with no
		// timer, as nginx's.
		c.nc.SetReadDeadline(time.Time{})
		return true
	}
	if c.processing > 0 || c.parker == nil || c.noPark || c.drainReq.Load() ||
		!c.idleUntil.IsZero() && !time.Now().Before(c.idleUntil) {
		return false
	}
	c.partWait = true
	c.nc.SetReadDeadline(c.idleUntil)
	return true
}
