package http1

import (
	"net"
	"time"
)

// LazyDelay is nginx's NGX_TIMER_LAZY_DELAY: a timer re-armed within this
// of the expiry it already has keeps that expiry.
const LazyDelay = 300 * time.Millisecond

// Deadlines re-arms a connection's read and write deadlines lazily, as
// ngx_event_add_timer does: on a fast connection the timeout of every
// read or write lands within 300 ms of the one set before, and keeping
// that one spares the runtime's timer update and the clock reads that go
// with it (time.Now is slow on some virtual machines). A timeout may fire
// up to LazyDelay early or late, as nginx's does. The zero value knows
// the connection has no deadline; whoever sets a deadline on the
// connection other than through it calls Forget.
type Deadlines struct {
	read, write lazyTimer
}

// lazyTimer is one direction's deadline as set: from+after, kept as the
// two (a time.Time's Add is ~85 instructions, which a connection that
// sets its deadlines from the two does without: RearmRead).
type lazyTimer struct {
	from    time.Time // zero: none
	after   time.Duration
	unknown bool // set elsewhere (Forget)
}

// deadline is the time t's deadline is at (zero: none).
func (t *lazyTimer) deadline() time.Time {
	if t.from.IsZero() {
		return time.Time{}
	}
	return t.from.Add(t.after)
}

// SetRead arms the read deadline at now+timeout (none when timeout <= 0).
func (d *Deadlines) SetRead(nc net.Conn, now time.Time, timeout time.Duration) {
	if d.read.rearm(now, timeout) {
		nc.SetReadDeadline(d.read.deadline())
	}
}

// SetWrite arms the write deadline at now+timeout (none when timeout <= 0).
func (d *Deadlines) SetWrite(nc net.Conn, now time.Time, timeout time.Duration) {
	if d.write.rearm(now, timeout) {
		nc.SetWriteDeadline(d.write.deadline())
	}
}

// RearmRead is SetRead for a connection that sets the deadline itself
// from now and timeout (none when timeout <= 0): true when it must,
// false when the one pending stays.
func (d *Deadlines) RearmRead(now time.Time, timeout time.Duration) bool {
	return d.read.rearm(now, timeout)
}

// RearmWrite is RearmRead's for the write deadline.
func (d *Deadlines) RearmWrite(now time.Time, timeout time.Duration) bool {
	return d.write.rearm(now, timeout)
}

// Forget says the connection's deadlines were set elsewhere: each next
// Set or Clear acts whatever it is.
func (d *Deadlines) Forget() { d.read, d.write = lazyTimer{unknown: true}, lazyTimer{unknown: true} }

// Clear removes both deadlines (when any may be set).
func (d *Deadlines) Clear(nc net.Conn) {
	if d.read != (lazyTimer{}) || d.write != (lazyTimer{}) {
		nc.SetDeadline(time.Time{})
		*d = Deadlines{}
	}
}

// rearm moves t to now+timeout (zero when timeout <= 0) and reports
// whether the connection's deadline must be set: not when one is pending
// within LazyDelay of it (an expired one is not: nginx's timer fired and
// was deleted).
func (t *lazyTimer) rearm(now time.Time, timeout time.Duration) bool {
	switch {
	case t.unknown:
	case timeout <= 0:
		if t.from.IsZero() {
			return false
		}
	case !t.from.IsZero():
		// One subtraction (the clock's monotonic readings) tells both
		// whether the pending one is still ahead and how far from it
		// the new one would be.
		if ahead := t.after - now.Sub(t.from); ahead > 0 {
			if diff := timeout - ahead; diff < LazyDelay && diff > -LazyDelay {
				return false
			}
		}
	}
	if timeout > 0 {
		*t = lazyTimer{from: now, after: timeout}
	} else {
		*t = lazyTimer{}
	}
	return true
}
