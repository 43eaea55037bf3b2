package upstream

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// tunnelBufPool holds copy buffers for tunnels that cannot splice; New
// returns a pointer so Put does not allocate.
var tunnelBufPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

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

// tunnel copies bytes both ways between a client and a backend after a
// 101. As nginx does (checked on 1.22), the first side to reach EOF or an
// error ends the tunnel: both connections are closed, nothing is
// half-closed. proxy_read_timeout is the idle limit; traffic in either
// direction resets it, as nginx re-arms its timer on every event.
type tunnel struct {
	client, upstream net.Conn
	idle             time.Duration
	lastActive       atomic.Int64 // unix nanos
	closeOnce        sync.Once
}

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
	t.touch()
	if len(fromClient) > 0 {
		if _, err := t.upstream.Write(fromClient); err != nil {
			t.close()
			return err
		}
	}
	if len(fromUpstream) > 0 {
		if _, err := t.client.Write(fromUpstream); err != nil {
			t.close()
			return err
		}
	}
	errc := make(chan error, 2) // room for both senders: neither blocks
	go t.copyToUpstream(errc)
	go t.copyFromUpstream(errc)
	first := <-errc
	t.close()
	<-errc
	if first == nil || errors.Is(first, io.EOF) || errors.Is(first, net.ErrClosed) {
		return nil
	}
	return first
}

func (t *tunnel) copyToUpstream(errc chan<- error) {
	errc <- t.copy(t.upstream, t.client)
}

func (t *tunnel) copyFromUpstream(errc chan<- error) {
	errc <- t.copy(t.client, t.upstream)
}

// copy moves src to dst until EOF or error. Between two plain TCP
// connections it lets the kernel splice (io.Copy's ReadFrom path) in
// bounded chunks; otherwise it uses a pooled buffer.
func (t *tunnel) copy(dst, src net.Conn) error {
	dstTCP, ok1 := dst.(*net.TCPConn)
	srcTCP, ok2 := src.(*net.TCPConn)
	if ok1 && ok2 {
		lr := &io.LimitedReader{R: srcTCP}
		for {
			t.armDeadline(src)
			lr.N = spliceChunk
			n, err := dstTCP.ReadFrom(lr)
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
	bp := tunnelBufPool.Get().(*[]byte)
	defer tunnelBufPool.Put(bp)
	buf := *bp
	for {
		t.armDeadline(src)
		n, err := src.Read(buf)
		if n > 0 {
			t.touch()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return werr
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
