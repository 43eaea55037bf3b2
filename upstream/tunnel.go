package upstream

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// tunnelPools holds one pool of copy buffers per size (proxy_buffer_size:
// nginx copies an upgraded connection through two buffers of that size).
// Pools are looked up when a configuration is compiled, not per request.
var tunnelPools sync.Map // int -> *sync.Pool

// tunnelPool returns the pool of size-byte buffers; Get returns a *[]byte
// so Put does not allocate.
func tunnelPool(size int) *sync.Pool {
	if p, ok := tunnelPools.Load(size); ok {
		return p.(*sync.Pool)
	}
	p, _ := tunnelPools.LoadOrStore(size, &sync.Pool{New: func() any { b := make([]byte, size); return &b }})
	return p.(*sync.Pool)
}

// spliceChunk bounds each spliced copy so the idle deadline can be
// refreshed between chunks.
const spliceChunk = 1 << 20

// Tunnels is the set of live tunnels, so that a server stop can close them.
type Tunnels struct {
	mu  sync.Mutex
	set map[*tunnel]struct{}
}

// NewTunnels returns an empty set.
func NewTunnels() *Tunnels { return &Tunnels{set: map[*tunnel]struct{}{}} }

func (ts *Tunnels) add(t *tunnel) {
	if ts == nil {
		return
	}
	ts.mu.Lock()
	ts.set[t] = struct{}{}
	ts.mu.Unlock()
}

func (ts *Tunnels) remove(t *tunnel) {
	if ts == nil {
		return
	}
	ts.mu.Lock()
	delete(ts.set, t)
	ts.mu.Unlock()
}

// Len is the number of live tunnels.
func (ts *Tunnels) Len() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return len(ts.set)
}

// CloseAll closes every live tunnel's connections; their Serve calls
// return shortly after.
func (ts *Tunnels) CloseAll() {
	ts.mu.Lock()
	list := make([]*tunnel, 0, len(ts.set))
	for t := range ts.set {
		list = append(list, t)
	}
	ts.mu.Unlock()
	for _, t := range list {
		t.close()
	}
}

// tunnel copies bytes both ways between a client and a backend: an HTTP
// connection after a 101, or a stream session (StreamProxy). As nginx does
// (checked on 1.22), the first side to reach EOF or an error ends the
// tunnel: both connections are closed, nothing is half-closed (unless
// halfClose, stream's proxy_half_close). The idle limit
// (proxy_read_timeout, stream's proxy_timeout) is reset by traffic in
// either direction, as nginx re-arms its timer on every event.
type tunnel struct {
	client, upstream net.Conn
	idle             time.Duration
	bufs             *sync.Pool   // copy buffers (proxy_buffer_size)
	lastActive       atomic.Int64 // unix nanos
	closeOnce        sync.Once
	// Bytes written to each side, each by one goroutine, read once both
	// have ended (for $bytes_sent and $upstream_bytes_*).
	toUpstream, toClient int64

	// Stream only: proxy_upload_rate and proxy_download_rate (bytes per
	// second, 0: none), proxy_half_close, and the time of the first byte
	// from the backend since start ($upstream_first_byte_time, -1 until
	// then) when trackFirst; headerSent counts a PROXY protocol header.
	upRate, downRate int64
	halfClose        bool
	trackFirst       bool
	start            time.Time
	firstByte        time.Duration
	headerSent       int64
	// inline: the caller's goroutine copies from the backend (a stream
	// session without TLS, whose stack stays small): one goroutine less
	// per idle session.
	inline bool
	// endedBy is the direction whose read ended first: endedClient
	// (copyToUpstream's) or endedUpstream.
	endedBy atomic.Int32
}

const (
	endedClient = iota + 1
	endedUpstream
)

func (t *tunnel) touch() { t.lastActive.Store(time.Now().UnixNano()) }

func (t *tunnel) close() {
	t.closeOnce.Do(func() {
		t.client.Close()
		t.upstream.Close()
	})
}

// run forwards bytes already read on either side, then copies both ways
// until one side ends. It returns the first error other than EOF.
func (t *tunnel) run(fromClient, fromUpstream []byte) error {
	if err := t.sendPending(fromClient, fromUpstream); err != nil {
		return err
	}
	return t.pump()
}

// sendPending forwards bytes already read on either side; on failure the
// tunnel is closed.
func (t *tunnel) sendPending(fromClient, fromUpstream []byte) error {
	t.touch()
	if len(fromClient) > 0 {
		n, err := t.upstream.Write(fromClient)
		t.toUpstream += int64(n)
		if err != nil {
			t.close()
			return err
		}
	}
	if len(fromUpstream) > 0 {
		n, err := t.client.Write(fromUpstream)
		t.toClient += int64(n)
		if err != nil {
			t.close()
			return err
		}
	}
	return nil
}

// pump copies both ways until one side ends, then closes both. It returns
// the first error other than EOF.
func (t *tunnel) pump() error {
	errc := make(chan error, 2) // room for both senders: neither blocks
	// Both directions get fresh goroutines: the caller's stack, grown by
	// the TLS handshake, stays parked (measured: copying on it makes an
	// idle tunnel's stacks larger, not smaller).
	go t.copyToUpstream(errc)
	if t.inline {
		t.copyFromUpstream(errc)
	} else {
		go t.copyFromUpstream(errc)
	}
	first := <-errc
	if t.halfClose && (first == nil || errors.Is(first, io.EOF)) {
		// proxy_half_close: the other direction goes on until its EOF.
		first = <-errc
		t.close()
	} else {
		t.close()
		<-errc
	}
	if first == nil || errors.Is(first, io.EOF) || errors.Is(first, net.ErrClosed) {
		return nil
	}
	return first
}

// Each direction reports how it ended, then closes both connections so
// that the other direction ends too (the first report is the cause).
func (t *tunnel) copyToUpstream(errc chan<- error) {
	err := t.copy(t.upstream, t.client, &t.toUpstream, t.upRate)
	t.endedBy.CompareAndSwap(0, endedClient)
	t.ended(t.upstream, err, errc)
}

func (t *tunnel) copyFromUpstream(errc chan<- error) {
	if t.trackFirst {
		if err := t.copyFirst(); err != nil {
			t.endedBy.CompareAndSwap(0, endedUpstream)
			t.ended(t.client, err, errc)
			return
		}
	}
	err := t.copy(t.client, t.upstream, &t.toClient, t.downRate)
	t.endedBy.CompareAndSwap(0, endedUpstream)
	t.ended(t.client, err, errc)
}

// ended reports how a direction ended. With halfClose an EOF shuts down
// the writing side of dst and leaves the other direction running;
// otherwise both connections close.
func (t *tunnel) ended(dst net.Conn, err error, errc chan<- error) {
	if t.halfClose && (err == nil || errors.Is(err, io.EOF)) {
		if cw, ok := dst.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
			errc <- err
			return
		}
	}
	errc <- err
	t.close()
}

// copyFirst waits for the backend's first bytes and forwards them,
// recording when they came ($upstream_first_byte_time): the spliced copy
// would report them only with its chunk.
func (t *tunnel) copyFirst() error {
	if tc, ok := t.upstream.(*net.TCPConn); ok {
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

// copy moves src to dst until EOF or error. Between two plain TCP
// connections it lets the kernel splice (io.Copy's ReadFrom path) in
// bounded chunks; from a plain TCP source it holds a buffer only while
// data is there; otherwise (TLS) it reads into a pooled buffer.
func (t *tunnel) copy(dst, src net.Conn, written *int64, rate int64) error {
	dstTCP, ok1 := dst.(*net.TCPConn)
	srcTCP, ok2 := src.(*net.TCPConn)
	if ok1 && ok2 && rate == 0 {
		lr := &io.LimitedReader{R: srcTCP}
		for {
			t.armDeadline(src)
			lr.N = spliceChunk
			n, err := dstTCP.ReadFrom(lr)
			*written += n
			if n > 0 {
				t.touch()
			}
			if err != nil {
				if t.stillActive(err) {
					continue
				}
				return err
			}
			if n == 0 {
				return io.EOF
			}
		}
	}
	if ok2 && rate == 0 {
		return t.copyReady(dst, srcTCP, written)
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
	src.SetReadDeadline(time.Unix(0, t.lastActive.Load()).Add(t.idle))
}

// stillActive reports whether a read timeout only means this direction
// was quiet while the other one was not.
func (t *tunnel) stillActive(err error) bool {
	if t.idle <= 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		return false
	}
	return time.Since(time.Unix(0, t.lastActive.Load())) < t.idle
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
func (t *tunnel) copyReady(dst net.Conn, src *net.TCPConn, written *int64) error {
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
