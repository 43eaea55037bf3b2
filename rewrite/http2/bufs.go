package http2

import (
	"bufio"
	"encoding/binary"
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gonginx/gonginx/rewrite/http1"
	"golang.org/x/net/http2"
)

// An idle connection holds no read or write buffer, as nginx frees an
// idle HTTP/2 connection's (ngx_http_v2_read_handler's and
// ngx_http_v2_send_output_queue's buffers are the worker's, not the
// connection's): the read buffer goes back to its pool while it is
// empty and the socket has nothing (a TLS connection waits with room
// for a few bytes), the write buffer after each flush that emptied it.

const bufSize = 16 << 10

var (
	readPool  = sync.Pool{New: func() any { b := make([]byte, bufSize); return &b }}
	dataPool  = sync.Pool{New: func() any { b := make([]byte, 0, 8<<10); return &b }}
	writePool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, bufSize) }}
)

var errBufferFull = errors.New("http2: peek beyond the read buffer")

// connReader is the connection's buffered reader (Serve's goroutine
// only): bufio.Reader's Peek and Read over a buffer it may give back.
type connReader struct {
	buf   *[]byte
	r, w  int
	s     *http1.Sock // nil: TLS or another wrapper, read through nc
	nc    net.Conn
	take  func() []byte // bound once: a method value allocates
	drop  func()
	held  atomic.Bool // buf is held (read by tests)
	small [32]byte    // a TLS connection waits reading here
}

func newConnReader(s *http1.Sock, nc net.Conn, pre []byte) *connReader {
	cr := &connReader{s: s, nc: nc}
	cr.take, cr.drop = cr.takeBuf, cr.dropBuf
	if len(pre) > 0 {
		if len(pre) > bufSize {
			b := append([]byte(nil), pre...)
			cr.buf = &b
		} else {
			cr.takeBuf()
		}
		cr.w = copy(*cr.buf, pre)
		cr.held.Store(true)
	}
	return cr
}

func (cr *connReader) takeBuf() []byte {
	if cr.buf == nil {
		cr.buf = readPool.Get().(*[]byte)
		cr.held.Store(true)
	}
	return (*cr.buf)[cr.w:]
}

func (cr *connReader) dropBuf() {
	if cr.buf != nil && len(*cr.buf) == bufSize {
		readPool.Put(cr.buf)
	}
	cr.buf, cr.r, cr.w = nil, 0, 0
	cr.held.Store(false)
}

// Size is the buffer's size: the most Peek waits for.
func (cr *connReader) Size() int { return bufSize }

// Buffered is how many bytes wait in the buffer.
func (cr *connReader) Buffered() int { return cr.w - cr.r }

// fill reads once more into the buffer; an empty one waits for the
// socket without holding the buffer.
func (cr *connReader) fill() error {
	if cr.r == cr.w {
		cr.r, cr.w = 0, 0
		if cr.s != nil {
			n, err := cr.s.ReadLazy(cr.take, cr.drop)
			cr.w += n
			return err
		}
		// TLS: the wait holds a few bytes' room, not the buffer; what
		// else the record held stays decrypted in crypto/tls for the
		// next read.
		cr.release()
		n, err := cr.nc.Read(cr.small[:])
		if n > 0 {
			cr.takeBuf()
			cr.w = copy(*cr.buf, cr.small[:n])
		}
		return err
	}
	cr.takeBuf()
	n, err := http1.ReadVia(cr.s, cr.nc, (*cr.buf)[cr.w:])
	cr.w += n
	return err
}

// Peek waits until n bytes are buffered and returns them; on an error
// what is buffered, as bufio.Reader's.
func (cr *connReader) Peek(n int) ([]byte, error) {
	if n > bufSize {
		return nil, errBufferFull
	}
	if cr.buf != nil && len(*cr.buf)-cr.r < n {
		copy(*cr.buf, (*cr.buf)[cr.r:cr.w])
		cr.w -= cr.r
		cr.r = 0
	}
	for cr.w-cr.r < n {
		if err := cr.fill(); err != nil && cr.w-cr.r < n {
			if cr.buf == nil {
				return nil, err
			}
			return (*cr.buf)[cr.r:cr.w], err
		}
	}
	return (*cr.buf)[cr.r : cr.r+n], nil
}

// Read reads what is buffered, or reads once into the buffer first.
func (cr *connReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if cr.r == cr.w {
		err := cr.fill()
		if cr.r == cr.w {
			return 0, err
		}
	}
	n := copy(p, (*cr.buf)[cr.r:cr.w])
	cr.r += n
	return n, nil
}

// skip drops n buffered bytes (Peek's).
func (cr *connReader) skip(n int) { cr.r += n }

// release gives the buffer back at the connection's end.
func (cr *connReader) release() {
	if cr.buf != nil {
		cr.dropBuf()
	}
}

// sockIO reads and writes a plain socket (h2c) with raw system calls,
// as HTTP/1's connections (http1.Sock: no scheduler hand-off per read
// and write), other connections (TLS) through their net.Conn. A write
// arms its deadline only when the socket takes no more, as nginx adds
// its send timer when a send would block: a flush the socket takes at
// once reads no clock and moves no timer (~300 instructions a flush).
type sockIO struct {
	c  *Conn
	s  *http1.Sock
	nc net.Conn
	// under is the Sock under TLS, which tries its record writes first
	// and arms through ArmWrite (nil: every write arms first).
	under *http1.Sock
	send  time.Duration // the connection's send_timeout
	// dl is the deadline a write that waits arms: a stream's (Unix
	// nanoseconds; 0: none) or dlSendTimeout. Atomic: TLS's reader may
	// write (a KeyUpdate's answer) while a stream's writer flushes.
	dl atomic.Int64
}

// dlSendTimeout has a write that waits arm send_timeout from then.
const dlSendTimeout = -1

func (o *sockIO) Read(p []byte) (int, error) { return http1.ReadVia(o.s, o.nc, p) }

func (o *sockIO) Write(p []byte) (n int, err error) {
	if o.s == nil {
		if o.under == nil {
			o.ArmWrite()
		}
		n, err = o.nc.Write(p)
	} else {
		var blocked bool
		n, blocked, err = o.s.TryWrite(p)
		if !blocked || err != nil {
			return n, err
		}
		o.ArmWrite()
		var m int
		m, err = o.s.Write(p[n:])
		n += m
	}
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		o.c.writeTimedOut()
		err = ErrSendTimedOut
	}
	return n, err
}

// ArmWrite is http1.WriteArmer's: the write deadline dl says.
func (o *sockIO) ArmWrite() {
	var t time.Time
	switch d := o.dl.Load(); {
	case d == dlSendTimeout && o.send > 0:
		t = time.Now().Add(o.send)
	case d > 0:
		t = time.Unix(0, d)
	}
	o.nc.SetWriteDeadline(t)
}

// armSockUnder has the Sock under a TLS connection arm its writes'
// deadline as they wait (ArmWrite), for the connection's life.
func (o *sockIO) armSockUnder() {
	if _, rc := http1.SocketOf(o.nc); rc != nil && rc != o.nc {
		if u, ok := rc.(http1.SockUnder); ok {
			if s := u.UnderSock(); s != nil {
				o.under = s
				s.SetWriteArmer(o)
			}
		}
	}
}

// connWriter is what the framer writes to: the connection's write
// buffer, taken from its pool when a frame is written (under c.wmu).
type connWriter struct{ c *Conn }

func (w connWriter) Write(p []byte) (int, error) { return w.c.writer().Write(p) }

// writer is the write buffer, taken from its pool if need be (c.wmu).
func (c *Conn) writer() *bufio.Writer {
	if c.bw == nil {
		c.bw = writePool.Get().(*bufio.Writer)
		c.bw.Reset(&c.sio)
	}
	return c.bw
}

// dataHeader puts a DATA frame's header in c.dataHdr (c.wmu).
func (c *Conn) dataHeader(id uint32, n int, end bool) {
	h := &c.dataHdr
	h[0], h[1], h[2], h[3], h[4] = byte(n>>16), byte(n>>8), byte(n), byte(http2.FrameData), 0
	if end {
		h[4] = byte(http2.FlagDataEndStream)
	}
	binary.BigEndian.PutUint32(h[5:], id&(1<<31-1))
}

// writeData writes a DATA frame as the framer's WriteData, without its
// copy: the framer's own buffer would keep the largest frame's size for
// the connection's life (c.wmu).
func (c *Conn) writeData(id uint32, end bool, p []byte) error {
	c.dataHeader(id, len(p), end)
	bw := c.writer()
	if _, err := bw.Write(c.dataHdr[:]); err != nil {
		return err
	}
	_, err := bw.Write(p)
	return err
}

// writeFrame writes a frame of payload p to the write buffer, as the
// framer's writes (HEADERS, CONTINUATION) with no padding or priority,
// without copying p into the framer's buffer first (which kept the
// largest frame's size; ~360 instructions a response head) (c.wmu).
func (c *Conn) writeFrame(typ http2.FrameType, flags http2.Flags, id uint32, p []byte) error {
	h := &c.dataHdr
	n := len(p)
	h[0], h[1], h[2], h[3], h[4] = byte(n>>16), byte(n>>8), byte(n), byte(typ), byte(flags)
	binary.BigEndian.PutUint32(h[5:], id)
	bw := c.writer()
	if _, err := bw.Write(h[:]); err != nil {
		return err
	}
	_, err := bw.Write(p)
	return err
}

// putDataBuf gives dataBuf back to its pool (c.wmu).
func (c *Conn) putDataBuf() {
	if c.dataBuf != nil {
		dataPool.Put(c.dataBuf)
		c.dataBuf = nil
	}
}

// flushBuf writes what is buffered and gives the buffer back (c.wmu).
func (c *Conn) flushBuf() error {
	if c.bw == nil {
		return nil
	}
	if err := c.bw.Flush(); err != nil {
		return err
	}
	c.bw.Reset(nil)
	writePool.Put(c.bw)
	c.bw = nil
	return nil
}

// buffered is how many bytes wait in the write buffer (c.wmu).
func (c *Conn) buffered() int {
	if c.bw == nil {
		return 0
	}
	return c.bw.Buffered()
}

// HeldBuffers is the size of the buffers the connection holds now: 0
// for an idle one.
func (c *Conn) HeldBuffers() int {
	n := 0
	if c.br.held.Load() {
		n += bufSize
	}
	c.wmu.Lock()
	if c.bw != nil {
		n += c.bw.Size()
	}
	c.wmu.Unlock()
	return n
}
