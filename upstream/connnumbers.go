package upstream

import (
	"net"
	"sync/atomic"
)

// fdChunk and fdChunks bound the sockets whose numbers are kept: 256K
// descriptors, past any worker_rlimit_nofile in use; a socket past them
// is left out of the open-socket alerts, nothing else.
const (
	fdChunk  = 1024
	fdChunks = 256
)

// connNumbers maps a client's or backend's socket descriptor to its
// connection number, for the "open socket #fd left" alerts of a worker
// stopped while it shut down gracefully (ngx_worker_process_exit): one
// atomic store per connection opened, read only then. An entry is not
// cleared on close: the descriptor is checked to be a connected stream
// socket still when read (OpenConns), and the next connection on it
// overwrites the number.
type connNumbers struct {
	chunks [fdChunks]atomic.Pointer[[fdChunk]atomic.Uint64]
}

// Opened records that fd carries connection number n.
func (c *ConnSlots) Opened(fd int, n uint64) {
	if c == nil || fd < 0 || fd >= fdChunk*fdChunks || n == 0 {
		return
	}
	p := &c.numbers.chunks[fd/fdChunk]
	ch := p.Load()
	if ch == nil {
		p.CompareAndSwap(nil, new([fdChunk]atomic.Uint64))
		ch = p.Load()
	}
	ch[fd%fdChunk].Store(n)
}

// OpenConn is a socket left open: its descriptor and connection number.
type OpenConn struct {
	FD     int
	Number uint64
}

// OpenConns lists the recorded sockets that open reports still open (a
// connected stream socket: not a listener, a channel or a resolver's),
// by descriptor.
func (c *ConnSlots) OpenConns(open func(fd int) bool) []OpenConn {
	if c == nil {
		return nil
	}
	var out []OpenConn
	for i := range c.numbers.chunks {
		ch := c.numbers.chunks[i].Load()
		if ch == nil {
			continue
		}
		for j := range ch {
			if n := ch[j].Load(); n != 0 && open(i*fdChunk+j) {
				out = append(out, OpenConn{FD: i*fdChunk + j, Number: n})
			}
		}
	}
	return out
}

// OpenedConn records that nc carries connection number n.
func (c *ConnSlots) OpenedConn(nc net.Conn, n uint64) {
	if c != nil {
		c.Opened(connFD(nc), n)
	}
}
