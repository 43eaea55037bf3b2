package http1

import "net"

// Sock reads and writes a plain socket (TCP or Unix) with raw system
// calls, through its RawConn: the runtime's poller still waits when the
// socket is not ready, and deadlines and Close act as on the net.Conn.
// What it spares is the runtime's system-call hand-off. A read or write
// on a non-blocking socket never blocks, but through net.Conn it enters
// the scheduler's syscall state: one that outlasts sysmon's 20 µs tick
// (a loopback write runs the receiver's TCP stack) has its P handed to
// another thread (futex wake-ups, the thread parked again on return),
// and the first after the worker idled wakes sysmon from its deep
// sleep, to poll every 20 µs for a millisecond or more (nanosleep).
// nginx's worker makes the reads and writes and nothing else. Callers
// with a nil *Sock (TLS, a pipe) use the net.Conn: ReadVia, WriteVia.
type Sock struct {
	sockState
}

// PutSock gives s (from SockFor; nil is none) back to the pool: no Read
// or Write of it runs, nor will.
func PutSock(s *Sock) {
	if s != nil {
		putSock(s)
	}
}

// ReadVia reads from s, or from nc when s is nil.
func ReadVia(s *Sock, nc net.Conn, b []byte) (int, error) {
	if s == nil {
		return nc.Read(b)
	}
	return s.Read(b)
}

// WriteVia writes to s, or to nc when s is nil.
func WriteVia(s *Sock, nc net.Conn, b []byte) (int, error) {
	if s == nil {
		return nc.Write(b)
	}
	return s.Write(b)
}

// WriteArmer arms a connection's write deadline (Conn's send_timeout,
// an HTTP/2 connection's) for a Sock's Write that must wait.
type WriteArmer interface{ ArmWrite() }
