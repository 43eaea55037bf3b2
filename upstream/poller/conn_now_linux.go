package poller

import (
	"net"
	"syscall"
)

// ReadNow is one read(2) without waiting, for a reader that waits on its
// own terms (a tunnel's copy on the poller's goroutine, told of input by
// its hook): the bytes read, or the errno (EAGAIN: none there). As Read,
// it fails once the Conn closes or its read deadline passed; unlike it,
// it takes no lock and never waits, so reads of c must not overlap it.
// Through RawConn.Read and a callback a tunnel's message paid ~250
// instructions a side for what nginx's recv does not do.
func (c *Conn) ReadNow(b []byte) (int, error) {
	if !c.incref() {
		return 0, c.opError("raw-read", net.ErrClosed)
	}
	if c.r.deadline.Load() != 0 {
		if _, err := c.r.prepare(); err != nil {
			c.decref()
			return 0, c.opError("raw-read", err)
		}
	}
	if len(b) == 0 {
		c.decref()
		return 0, nil
	}
	c.flags.And(^uint32(flagRReady)) // what the try finds needs no report, as rawWait's
	for {
		n, e := sysRead(uintptr(c.fd), b)
		if e == syscall.EINTR {
			continue
		}
		// As Read records it: an empty socket, or a read shorter than
		// asked, leaves what comes next to the poller's report.
		c.setFlag(flagRDrained, e == syscall.EAGAIN || e == 0 && n > 0 && n < len(b))
		c.decref()
		if e != 0 {
			return 0, e
		}
		return n, nil
	}
}

// WriteNow is ReadNow's write: one send(2) without waiting (EAGAIN: the
// socket took nothing), failing as Write once closed or past the write
// deadline. Writes of c must not overlap it. (Each side has its own
// code: one shared with a side argument paid ~20 instructions a call
// in its tests of the side, twice a message each way.)
func (c *Conn) WriteNow(b []byte) (int, error) {
	if !c.incref() {
		return 0, c.opError("raw-write", net.ErrClosed)
	}
	if c.w.deadline.Load() != 0 {
		if _, err := c.w.prepare(); err != nil {
			c.decref()
			return 0, c.opError("raw-write", err)
		}
	}
	if len(b) == 0 {
		c.decref()
		return 0, nil
	}
	c.flags.And(^uint32(flagWReady))
	for {
		n, e := sysSend(uintptr(c.fd), b)
		if e == syscall.EINTR {
			continue
		}
		c.decref()
		if e != 0 {
			return 0, e
		}
		return n, nil
	}
}
