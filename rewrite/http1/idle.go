package http1

import (
	"crypto/tls"
	"errors"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/gonginx/gonginx/rewrite/http1/freelist"
)

// An idle keep-alive connection holds no buffer, as nginx frees an idle
// connection's (ngx_http_set_keepalive): its owner asks Idle, parks the
// socket on the poller, and reads the next request with NoWait when the
// poller reports input.

// ErrWouldBlock is ReadRequest's answer under NoWait when no byte of a
// next request is at hand: the connection may park.
var ErrWouldBlock = errors.New("http1: no request at hand")

// longAgo is a read deadline that has passed: a read under it takes
// only what TLS holds decrypted or buffered, without the socket.
var longAgo = time.Unix(1, 0)

// Idle reports whether nothing of a next request is at hand in the
// connection's own buffers, TLS's included, so it may wait on the poller
// for its socket; its read and write buffers then go back to their
// pools. Bytes TLS had buffered are moved to the read buffer (Idle is
// false, and ReadRequest takes them as a pipelined request).
func (c *Conn) Idle() bool {
	if c.hijacked || c.sink != nil || c.wire != nil || !c.body.done && c.Requests > 0 || c.rpos < c.rend ||
		c.wb != nil && len(*c.wb) > 0 {
		return false
	}
	if tc, ok := c.nc.(*tls.Conn); ok {
		if c.rb == nil {
			c.rb = smallReadPool.Get().(*[]byte)
		}
		tc.SetReadDeadline(longAgo)
		n, err := tc.Read(*c.rb)
		tc.SetReadDeadline(time.Time{})
		if n > 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
			// Decrypted bytes, or an end (close_notify) ReadRequest will
			// see again.
			c.rpos, c.rend, c.headEnd = 0, n, 0
			return false
		}
	}
	c.req.reset(c.Info) // its fields alias the read buffer
	c.releaseRead()
	c.releaseWrite()
	return true
}

// releaseRead returns the read buffer to its pool.
func (c *Conn) releaseRead() {
	if c.rb == nil {
		return
	}
	if c.large {
		if len(*c.rb) == largeReadSize {
			largeReadPool.Put(c.rb)
		}
	} else {
		smallReadPool.Put(c.rb)
	}
	c.rb, c.large = nil, false
	c.rpos, c.rend, c.headEnd = 0, 0, 0
}

// readNoWait reads what is at hand without waiting: ErrWouldBlock when
// nothing is.
func (c *Conn) readNoWait(b []byte) (int, error) {
	if tc, ok := c.nc.(*tls.Conn); ok {
		if s := c.tlsSock(); s != nil {
			// What TLS holds, else one read of the socket, which the
			// record read waits on for the rest under the head's timer.
			var d time.Time
			if c.HeaderTimeout > 0 {
				d = time.Now().Add(c.HeaderTimeout)
			}
			tc.SetReadDeadline(d)
			s.TryNextRead()
			n, err := tc.Read(b)
			if s.TriedEmpty() && n == 0 {
				return 0, ErrWouldBlock
			}
			return n, err
		}
		tc.SetReadDeadline(longAgo)
		n, err := tc.Read(b)
		tc.SetReadDeadline(time.Time{})
		if n > 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
			return n, err
		}
		// Nothing decrypted: the socket's bytes are a record TLS reads
		// whole, waiting (under the head's timer) for the rest.
		if !c.socketReadable() {
			return 0, ErrWouldBlock
		}
		if c.HeaderTimeout > 0 {
			tc.SetReadDeadline(time.Now().Add(c.HeaderTimeout))
		}
		return tc.Read(b)
	}
	raw, _ := c.Socket()
	if raw == nil {
		return c.nc.Read(b) // no socket (net.Pipe): wait
	}
	if c.tryRead == nil {
		c.tryRead = c.readSocket // bound once: a method value allocates
	}
	c.tryBuf, c.tryN, c.tryErr = b, 0, nil
	c.tryDn, _ = raw.(readDrained)
	if err := raw.Read(c.tryRead); err != nil {
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			return 0, err
		}
		// A deadline of the last request's body reads passed: the read
		// is taken without it.
		c.nc.SetReadDeadline(time.Time{})
		if err := raw.Read(c.tryRead); err != nil {
			return 0, err
		}
	}
	c.tryBuf = nil
	return c.tryN, c.tryErr
}

// HeldBuffers is the size of the buffers the connection holds now: 0
// for an idle one (Idle).
func (c *Conn) HeldBuffers() int {
	n := 0
	if c.rb != nil {
		n += cap(*c.rb)
	}
	if c.wb != nil {
		n += cap(*c.wb)
	}
	for _, b := range [...]*[]byte{c.spareRead, c.spareWrite} {
		if b != nil {
			n += cap(*b)
		}
	}
	return n
}

// Kept is what an idle connection keeps of its Conn while the Conn waits
// in its pool (Detach, Attach): the count of requests. Its socket,
// ConnInfo and IdleTimeout are not kept: the owner holds the first two
// and gives them back to Attach, and sets IdleTimeout again (its
// configuration knows it); its RawConn is looked up again (SocketOf).
// Each kept here cost every idle connection 8 to 16 bytes.
type Kept struct {
	requests int
}

// SocketOf is Socket's answer for a Conn over nc, looked up: the
// socket under nc (below TLS) and the net.Conn it belongs to, or nil.
func SocketOf(nc net.Conn) (syscall.RawConn, net.Conn) {
	nc = socketOwner(nc)
	if sc, ok := nc.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			return rc, nc
		}
	}
	return nil, nil
}

// socketOwner is the net.Conn of the socket under nc (Socket).
func socketOwner(nc net.Conn) net.Conn {
	if tc, ok := nc.(*tls.Conn); ok {
		return tc.NetConn()
	}
	return nc
}

// connPool holds the Conns of parked connections: about a kilobyte
// each, with their header records' memory.
var connPool = freelist.New[Conn](256)

// takeConn is a spare Conn of connPool's, or a new one.
func takeConn() *Conn {
	if c := connPool.Get(); c != nil {
		return c
	}
	c := &Conn{}
	c.body.c = c
	return c
}

// Detach puts an idle c (Idle was true) in the pool, keeping in k what
// Attach needs besides its net.Conn and ConnInfo; c is not used after.
func (c *Conn) Detach(k *Kept) {
	*k = Kept{requests: c.Requests}
	c.keepBuffers()
	c.releaseRead()
	c.releaseWrite()
	c.recycle()
}

// Free ends c's connection for it: its buffers go back to their pools
// and c to the pool of Conns (c is not used after): a new connection
// takes it instead of allocating a Conn (about a kilobyte and a half)
// and growing its slices again. A hijacked Conn goes back too: its
// tunnel has ended (its owner frees it after the tunnel's end) and
// holds the socket, not c.
func (c *Conn) Free() {
	c.keepBuffers()
	c.Release()
	c.recycle()
}

// keepBuffers keeps c's small read buffer and its write buffer, when
// nothing is pending in it, for the next connection that takes c from
// the pool (spareSock's comment): they are pooled with it, as they
// were in pools of their own.
func (c *Conn) keepBuffers() {
	if c.sink != nil {
		return // a subrequest's: its buffers go as Release gives them back
	}
	if c.rb != nil && !c.large && c.spareRead == nil {
		c.spareRead, c.rb = c.rb, nil
		c.rpos, c.rend, c.headEnd = 0, 0, 0
	}
	if c.wb != nil && len(*c.wb) == 0 && c.spareWrite == nil {
		c.spareWrite, c.wb = c.wb, nil
	}
}

// recycle puts c, its buffers released, in the pool, and its Sock in
// theirs: a parked connection keeps its RawConn, and the next Conn
// bound to it takes a Sock again (sockIO).
func (c *Conn) recycle() {
	spareSock := c.spareSock
	if c.sock != nil {
		if spareSock == nil {
			clearSock(c.sock)
			spareSock = c.sock
		} else {
			putSock(c.sock)
		}
	}
	// The pooled Conn keeps its slices' memory, its bound callbacks and
	// its spares. The rest is zeroed in place: a Conn built aside and
	// copied in cost ~400 instructions (1.4 KB zeroed, then copied).
	tryRead, peekFn := c.tryRead, c.peekFn
	headers, scratch := c.req.Headers[:0], c.req.scratch[:0]
	own, buf := c.sentHead.own[:0], c.sentHead.buf[:0]
	sr, sw := c.spareRead, c.spareWrite
	*c = Conn{}
	c.tryRead, c.peekFn = tryRead, peekFn
	c.spareRead, c.spareWrite, c.spareSock = sr, sw, spareSock
	c.req.Headers, c.req.scratch = headers, scratch
	c.sentHead.own, c.sentHead.buf = own, buf
	c.body.c = c
	connPool.Put(c)
}

// Attach takes a Conn from the pool for k's connection over nc with
// info (what the detached Conn had), as it was when detached but for
// what its owner sets (OnRequestBytes, Exiting, IdleGrace, NoWait, the
// limits and timeouts, IdleTimeout too).
func Attach(k *Kept, nc net.Conn, info *ConnInfo) *Conn {
	c := takeConn()
	c.nc, c.Info, c.Limits, c.Requests = nc, info, DefaultLimits, k.requests
	c.body.done = true // read, or Idle would not have been
	*k = Kept{}
	return c
}

// Requests is the detached Conn's Requests: 0 while it waits for its
// first.
func (k *Kept) Requests() int { return k.requests }
