package upstream

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// This file is a tunnel direction that keeps a goroutine: one whose
// source cannot be parked on the poller (TLS, whose records the
// connection buffers, or no poller on this system). It reads with the
// idle limit as its read deadline.

// plainConn is a plain TCP socket: a *net.TCPConn, or the server's own
// (ownSocket).
type plainConn interface {
	net.Conn
	syscall.Conn
}

// ownSocket is a server's own socket type (poller.Conn, an accepted
// connection) whose RawConn reads and writes as a net.TCPConn's.
type ownSocket interface {
	plainConn
	SocketNetwork() string
}

// isPlain reports a plain TCP socket: a *net.TCPConn or an ownSocket.
func isPlain(c net.Conn) bool {
	switch c.(type) {
	case *net.TCPConn, ownSocket:
		return true
	}
	return false
}

// copyFirst waits for the backend's first bytes and forwards them,
// recording when they came ($upstream_first_byte_time): the spliced copy
// would report them only with its chunk.
func (t *tunnel) copyFirst() error {
	if tc, ok := t.upstream.(plainConn); ok && isPlain(t.upstream) {
		// A quiet backend costs no buffer while the client waits.
		rc, err := tc.SyscallConn()
		if err != nil {
			return err
		}
		r := &readyReader{bufs: t.bufs}
		r.try = r.read
		for {
			t.armDeadline(tc)
			if err := rc.Read(r.try); err != nil {
				r.release()
				if t.stillActive(err) {
					continue
				}
				return err
			}
			if r.err != nil || r.n == 0 {
				r.release()
				if r.err != nil {
					return &net.OpError{Op: "read", Net: "tcp", Source: tc.LocalAddr(), Addr: tc.RemoteAddr(), Err: os.NewSyscallError("read", r.err)}
				}
				return io.EOF
			}
			return t.forwardFirst((*r.bp)[:r.n], r.release)
		}
	}
	bp := t.bufs.Get().(*[]byte)
	for {
		t.armDeadline(t.upstream)
		n, err := t.upstream.Read(*bp)
		if n > 0 {
			return t.forwardFirst((*bp)[:n], func() { t.bufs.Put(bp) })
		}
		if err != nil {
			if t.stillActive(err) {
				continue
			}
			t.bufs.Put(bp)
			return err
		}
	}
}

// forwardFirst sends the backend's first bytes to the client, recording
// when they came, then gives the buffer back.
func (t *tunnel) forwardFirst(b []byte, release func()) error {
	t.firstByte = time.Since(t.start)
	t.touch()
	m, err := t.client.Write(b)
	t.toClient += int64(m)
	release()
	if err == nil && t.downRate > 0 {
		t.throttle(int64(len(b)), t.downRate, t.toClient)
	}
	return err
}

// throttle sleeps as nginx's delayed read does after n bytes read under
// rate (bytes per second).
func (t *tunnel) throttle(n, rate, total int64) {
	if d := time.Duration(n) * time.Second / time.Duration(rate); d > 0 {
		time.Sleep(d)
		t.touch()
	}
}

// allowance is how much the next read may take under rate, as
// ngx_stream_proxy_process: no more than rate * (seconds since the start
// + 1) bytes in all; with none left it waits until there is.
func (t *tunnel) allowance(rate, total int64, size int) int {
	for {
		limit := rate*(int64(time.Since(t.start)/time.Second)+1) - total
		if limit > 0 {
			return int(min(limit, int64(size)))
		}
		time.Sleep(time.Duration(-limit)*time.Second/time.Duration(rate) + time.Millisecond)
		t.touch()
	}
}

// copy moves src to dst until EOF or error. From a plain TCP source
// (when the poller is not there) it holds a buffer only while data is
// there; otherwise (TLS) it reads into a pooled buffer.
func (t *tunnel) copy(dst, src net.Conn, written *int64, rate int64) error {
	if rate == 0 {
		switch s := src.(type) {
		case *net.TCPConn:
			return t.copyReady(dst, s, written)
		case ownSocket:
			return t.copyReady(dst, s, written)
		}
	}
	bp := t.bufs.Get().(*[]byte)
	defer t.bufs.Put(bp)
	buf := *bp
	for {
		rbuf := buf
		if rate > 0 {
			rbuf = buf[:t.allowance(rate, *written, len(buf))]
		}
		t.armDeadline(src)
		n, err := src.Read(rbuf)
		if n > 0 {
			t.touch()
			m, werr := dst.Write(buf[:n])
			*written += int64(m)
			if werr != nil {
				return werr
			}
			if rate > 0 {
				t.throttle(int64(n), rate, *written)
			}
		}
		if err != nil {
			if t.stillActive(err) {
				continue
			}
			return err
		}
	}
}

// armDeadline sets src's read deadline to the idle limit counted from the
// last activity in either direction.
func (t *tunnel) armDeadline(src net.Conn) {
	if t.idle <= 0 {
		return
	}
	src.SetReadDeadline(t.lastActiveAt().Add(t.idle))
}

// stillActive reports whether a read timeout only means this direction
// was quiet while the other one was not.
func (t *tunnel) stillActive(err error) bool {
	if t.idle <= 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		return false
	}
	return time.Since(t.lastActiveAt()) < t.idle
}

// readyReader reads from a socket with a buffer taken from the pool only
// once the socket is readable, so an idle direction of a tunnel holds no
// buffer (nginx's idle upgraded connection holds its buffers; Go's
// goroutine per direction would otherwise pin one each while blocked).
type readyReader struct {
	bufs *sync.Pool
	bp   *[]byte // the buffer holding data after a read, else nil
	n    int
	err  error
	try  func(fd uintptr) bool // r.read, bound once so each wait allocates nothing
}

// read is the syscall.RawConn callback: it returns false (wait for
// readability) when the socket has nothing, having given the buffer back.
func (r *readyReader) read(fd uintptr) bool {
	r.bp = r.bufs.Get().(*[]byte)
	for {
		n, err := syscall.Read(int(fd), *r.bp)
		switch err {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			r.bufs.Put(r.bp)
			r.bp = nil
			return false
		}
		r.n, r.err = n, err
		return true
	}
}

func (r *readyReader) release() {
	if r.bp != nil {
		r.bufs.Put(r.bp)
		r.bp = nil
	}
}

// copyReady copies from a plain TCP src to dst through readyReader.
func (t *tunnel) copyReady(dst net.Conn, src plainConn, written *int64) error {
	rc, err := src.SyscallConn()
	if err != nil {
		return err
	}
	r := &readyReader{bufs: t.bufs}
	r.try = r.read
	for {
		t.armDeadline(src)
		if err := rc.Read(r.try); err != nil {
			r.release()
			if t.stillActive(err) {
				continue
			}
			return err
		}
		if r.err != nil {
			r.release()
			return &net.OpError{Op: "read", Net: "tcp", Source: src.LocalAddr(), Addr: src.RemoteAddr(), Err: os.NewSyscallError("read", r.err)}
		}
		if r.n == 0 {
			r.release()
			return io.EOF
		}
		t.touch()
		m, werr := dst.Write((*r.bp)[:r.n])
		*written += int64(m)
		r.release()
		if werr != nil {
			return werr
		}
	}
}
