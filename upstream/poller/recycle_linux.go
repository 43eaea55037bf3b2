package poller

// Recycle makes c, closed, a spare for a later dial (DialAddrPortWithin's
// spare) or accept (Acceptor.Accept's) and reports whether it did: a backend connection not kept
// (fastcgi_keep_conn off, no keepalive: nginx's defaults) was a Conn
// allocated per request, the one allocation left in such a request,
// where nginx takes a free ngx_connection_t from its array. Its caller
// held the last reference to c: no other goroutine holds it or will
// call it (every watch on it has ended). c is kept only when nothing
// can still reach it: its close is done (no call holds the descriptor),
// no handler or waiter is set, and no turn of its poller that may have
// taken an event for its registration before the close forgot it is
// under way (that turn would call its Ready after the reuse: a report,
// a hang-up even, on another connection). Else it is left to the
// collector.
func (c *Conn) Recycle() bool {
	if c.state.Load() != closingBit|closedBit || c.hasFlag(flagHooked|flagHupHooked) ||
		c.r.waiter.Load() != nil || c.w.waiter.Load() != nil {
		return false
	}
	if c.hasFlag(flagRegistered) {
		if !waitsP.taking.TryLock() {
			return false
		}
		// Forgotten before this: a turn after it finds the slot gone.
		waitsP.taking.Unlock()
	}
	// Zeroed at once, nothing else holding it: the atomic fields'
	// stores one by one were a locked instruction each.
	*c = Conn{fd: -1}
	return true
}

// dialedConn is newConn for a dialed or accepted socket, on spare
// (Recycle's) when not nil.
func dialedConn(fd int, spare *Conn) *Conn {
	if spare == nil {
		return newConn(fd)
	}
	spare.fd = int32(fd)
	spare.state.Store(1)
	return spare
}
