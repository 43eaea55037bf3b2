//go:build !linux

package http1

import (
	"net"
	"sync/atomic"
	"syscall"
)

type sockState struct{ armer WriteArmer }

// SockFor: raw socket I/O is Linux's here; nil (use the net.Conn).
func SockFor(net.Conn) *Sock { return nil }

func SockFrom(net.Conn, **Sock) *Sock { return nil }

func KeepSock(s *Sock) *Sock { return s }

func newSock(syscall.RawConn, net.Conn, *Sock) *Sock { return nil }

func putSock(*Sock) {}

func clearSock(*Sock) {}

func (s *Sock) MarkReads(*atomic.Bool) {}

func (s *Sock) FD() int                    { return -1 }
func (s *Sock) Read(b []byte) (int, error) { panic("http1: Sock without a socket") }
func (s *Sock) keepsRecord() bool          { return false }
func (s *Sock) ReadNextAt(now, d int64)    {}
func (s *Sock) SetWriteArmer(a WriteArmer) {}
func (s *Sock) TryNextRead()               {}
func (s *Sock) TriedEmpty() bool           { return false }
func (s *Sock) readAt([]byte, int64, int64) (int, error) {
	panic("http1: Sock without a socket")
}
func (s *Sock) TryWrite(b []byte) (int, bool, error) {
	panic("http1: Sock without a socket")
}
func (s *Sock) ReadLazy(func() []byte, func()) (int, error) {
	panic("http1: Sock without a socket")
}
func (s *Sock) Write(b []byte) (int, error) { panic("http1: Sock without a socket") }
func (s *Sock) SendRead(out, b []byte, wait bool, after func() bool) (int, int, bool, error) {
	panic("http1: Sock without a socket")
}
