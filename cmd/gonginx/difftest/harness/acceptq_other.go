//go:build !linux

package harness

import (
	"net"
	"sync"
)

// queueListener: elsewhere a connection counts from its Accept on; the
// kernel's accept queue is not read.
type queueListener struct {
	net.Listener
	addr *net.TCPAddr
}

func listenBackend() (*queueListener, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	return &queueListener{ln, ln.Addr().(*net.TCPAddr)}, nil
}

func (l *queueListener) queued() int { return 0 }

func (l *queueListener) accept(lock sync.Locker, taken func()) (net.Conn, error) {
	c, err := l.Accept()
	if err == nil {
		lock.Lock()
		taken()
		lock.Unlock()
	}
	return c, err
}
