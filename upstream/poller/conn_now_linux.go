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
	return c.now(&c.r, b)
}

// WriteNow is ReadNow's write: one send(2) without waiting (EAGAIN: the
// socket took nothing), failing as Write once closed or past the write
// deadline. Writes of c must not overlap it.
func (c *Conn) WriteNow(b []byte) (int, error) {
	return c.now(&c.w, b)
}

func (c *Conn) now(s *side, b []byte) (int, error) {
	op := "raw-read"
	if s == &c.w {
		op = "raw-write"
	}
	if !c.incref() {
		return 0, c.opError(op, net.ErrClosed)
	}
	if _, err := s.prepare(); err != nil {
		c.decref()
		return 0, c.opError(op, err)
	}
	if len(b) == 0 {
		c.decref()
		return 0, nil
	}
	c.flags.And(^c.readyBit(s)) // what the try finds needs no report, as rawWait's
	for {
		if s == &c.w {
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
