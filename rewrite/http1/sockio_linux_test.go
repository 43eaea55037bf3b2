package http1

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// A Sock reads and writes as the net.Conn under it: the bytes, the end
// as io.EOF, a passed deadline as a timeout, a reset as its errno, a
// closed connection as net.ErrClosed, and a write larger than the
// socket's buffers waits for the reader.
func TestSockReadWrite(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			local, remote := socketPair(t, network)
			s := SockFor(local)
			if s == nil {
				t.Fatal("no Sock for a plain socket")
			}
			if s.FD() < 0 {
				t.Errorf("FD = %d", s.FD())
			}
			// Read waits for the bytes.
			go func() {
				time.Sleep(10 * time.Millisecond)
				remote.Write([]byte("hello"))
			}()
			buf := make([]byte, 64)
			n, err := s.Read(buf)
			if err != nil || string(buf[:n]) != "hello" {
				t.Errorf("Read = %q, %v; want hello", buf[:n], err)
			}
			// A write larger than the socket buffers waits for the reader.
			big := bytes.Repeat([]byte("0123456789abcdef"), 1<<18) // 4 MiB
			got := make(chan []byte, 1)
			go func() {
				b, _ := io.ReadAll(io.LimitReader(remote, int64(len(big))))
				got <- b
			}()
			n, err = s.Write(big)
			if err != nil || n != len(big) {
				t.Errorf("Write = %d, %v; want %d", n, err, len(big))
			}
			if b := <-got; !bytes.Equal(b, big) {
				t.Errorf("the reader got %d bytes, not what was written", len(b))
			}
			// The read deadline passes: a timeout, as net.Conn's.
			local.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
			_, err = s.Read(buf)
			var ne net.Error
			if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
				t.Errorf("Read past the deadline: %v; want a timeout", err)
			}
			local.SetReadDeadline(time.Time{})
			// The peer closes: io.EOF.
			remote.Close()
			if n, err := s.Read(buf); n != 0 || err != io.EOF {
				t.Errorf("Read at the end = %d, %v; want 0, EOF", n, err)
			}
			local.Close()
			if _, err := s.Read(buf); !errors.Is(err, net.ErrClosed) {
				t.Errorf("Read after Close: %v; want net.ErrClosed", err)
			}
			if _, err := s.Write(buf); !errors.Is(err, net.ErrClosed) {
				t.Errorf("Write after Close: %v; want net.ErrClosed", err)
			}
		})
	}
}

// A reset is read as its errno (nginx logs "recv() failed (104: ...)"
// from it), and writing to a peer gone is EPIPE or ECONNRESET, without
// SIGPIPE.
func TestSockErrors(t *testing.T) {
	local, remote := socketPair(t, "tcp")
	s := SockFor(local)
	remote.(*net.TCPConn).SetLinger(0)
	remote.Close() // RST
	buf := make([]byte, 16)
	var err error
	for i := 0; i < 100; i++ { // the RST may follow a moment later
		if _, err = s.Read(buf); err != nil {
			break
		}
	}
	var errno syscall.Errno
	if !errors.As(err, &errno) || errno != syscall.ECONNRESET {
		t.Errorf("Read after a reset: %v; want ECONNRESET", err)
	}
	for i := 0; i < 3 && err != nil; i++ {
		_, err = s.Write([]byte("x"))
	}
	if !errors.As(err, &errno) || (errno != syscall.EPIPE && errno != syscall.ECONNRESET) {
		t.Errorf("Write to a reset peer: %v; want EPIPE or ECONNRESET", err)
	}
}

// Only plain sockets have a Sock: TLS and other wrappers keep their own
// buffers, and ReadVia/WriteVia use the net.Conn then.
func TestSockForWrappers(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if s := SockFor(a); s != nil {
		t.Errorf("SockFor(net.Pipe) = %v; want nil", s)
	}
	go b.Write([]byte("via"))
	buf := make([]byte, 8)
	n, err := ReadVia(nil, a, buf)
	if diff := cmp.Diff("via", string(buf[:n])); diff != "" || err != nil {
		t.Errorf("ReadVia(nil) (-want +got):\n%s %v", diff, err)
	}
}

// TryWrite takes what the socket takes now and says when it took less
// (the rest waits for Write); it never waits.
func TestSockTryWrite(t *testing.T) {
	local, remote := socketPair(t, "tcp")
	s := SockFor(local)
	n, blocked, err := s.TryWrite([]byte("hello"))
	if n != 5 || blocked || err != nil {
		t.Errorf("TryWrite to an empty socket = %d, %v, %v; want 5, false, nil", n, blocked, err)
	}
	// Nobody reads: a write larger than the buffers stops short.
	big := make([]byte, 64<<20)
	n, blocked, err = s.TryWrite(big)
	if n >= len(big) || !blocked || err != nil {
		t.Errorf("TryWrite past the buffers = %d, %v, %v; want fewer than %d, true, nil", n, blocked, err, len(big))
	}
	remote.Close()
	local.Close()
	if _, _, err := s.TryWrite([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("TryWrite after Close: %v; want net.ErrClosed", err)
	}
}

// FD is the socket's descriptor, read without an allocation (it runs for
// every backend connection), and -1 once the socket is closed.
func TestSockFD(t *testing.T) {
	local, _ := socketPair(t, "tcp")
	s := SockFor(local)
	rc, err := local.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	want := -1
	rc.Control(func(fd uintptr) { want = int(fd) })
	if got := s.FD(); got != want {
		t.Errorf("FD = %d, want %d", got, want)
	}
	if allocs := testing.AllocsPerRun(100, func() { s.FD() }); allocs != 0 {
		t.Errorf("FD allocates %v times", allocs)
	}
	local.Close()
	if got := s.FD(); got != -1 {
		t.Errorf("FD after Close = %d, want -1", got)
	}
	PutSock(s)
}

// SendRead writes the request and reads the answer in one read of the
// RawConn: an answer there at the first read is read at once (not late),
// one that comes after the send is never missed when the read waits first,
// the hook runs between the send and the read, a socket that takes only
// part of the bytes stops short with nothing read, and a peer gone is the
// write's error.
func TestSockSendRead(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			local, remote := socketPair(t, network)
			s := SockFor(local)
			buf := make([]byte, 64)
			req := make([]byte, 5)
			var order []string
			// The answer written by the hook, after the send: there at
			// the read.
			after := func() bool {
				order = append(order, "after")
				io.ReadFull(remote, req)
				remote.Write([]byte("answer"))
				return false
			}
			sent, n, late, err := s.SendRead([]byte("hello"), buf, false, after)
			if diff := cmp.Diff([]any{5, "answer", false, nil, "hello", []string{"after"}},
				[]any{sent, string(buf[:n]), late, err, string(req), order}); diff != "" {
				t.Errorf("SendRead at once (-want +got):\n%s", diff)
			}
			// Waiting first: the answer comes after the send.
			go func() {
				io.ReadFull(remote, req)
				remote.Write([]byte("later"))
			}()
			sent, n, late, err = s.SendRead([]byte("again"), buf, true, nil)
			if diff := cmp.Diff([]any{5, "later", false, nil, "again"},
				[]any{sent, string(buf[:n]), late, err, string(req)}); diff != "" {
				t.Errorf("SendRead waiting first (-want +got):\n%s", diff)
			}
			// The read deadline bounds the wait.
			local.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
			order = order[:0]
			sent, _, _, err = s.SendRead([]byte("x"), buf, true, func() bool { order = append(order, "after"); return false })
			if sent != 1 || !errors.Is(err, os.ErrDeadlineExceeded) || len(order) != 1 {
				t.Errorf("SendRead past the deadline = %d, %v (hook runs %d); want 1, a timeout, 1", sent, err, len(order))
			}
			local.SetReadDeadline(time.Time{})
			io.ReadFull(remote, req[:1])
			// The hook asks for no read: all sent, nothing read, no error
			// (the answer stays in the socket).
			sent, n, _, err = s.SendRead([]byte("stop!"), buf, false, func() bool {
				io.ReadFull(remote, req)
				remote.Write([]byte("unread"))
				return true
			})
			if sent != 5 || n != 0 || err != nil {
				t.Errorf("SendRead stopped by its hook = %d, %d, %v; want 5, 0, nil", sent, n, err)
			}
			if n, err := s.Read(buf); string(buf[:n]) != "unread" || err != nil {
				t.Errorf("after a stop, Read = %q, %v; want the answer", buf[:n], err)
			}
			// Nobody reads: the socket takes part of a large write, and
			// nothing is read, nor the hook run.
			big := make([]byte, 64<<20)
			order = order[:0]
			sent, n, _, err = s.SendRead(big, buf, true, func() bool { order = append(order, "after"); return false })
			if sent == 0 || sent >= len(big) || n != 0 || err != nil || len(order) != 0 {
				t.Errorf("SendRead past the buffers = %d, %d, %v (hook runs %d); want 0 < sent < %d, 0, nil, 0",
					sent, n, err, len(order), len(big))
			}
			// The peer gone: the write's error.
			remote.Close()
			for i := 0; i < 100 && err == nil; i++ {
				sent, _, _, err = s.SendRead([]byte("more"), buf, false, nil)
			}
			var oe *net.OpError
			if !errors.As(err, &oe) || oe.Op != "write" || sent >= 4 {
				t.Errorf("SendRead to a peer gone = %d, %v; want a write error", sent, err)
			}
		})
	}
}

// A Sock KeepSock emptied is taken by SockFrom for another socket
// instead of the pool's: it reads and writes the new socket, not the one
// it had, and the spare is taken (nil after).
func TestSockFromSpare(t *testing.T) {
	old, oldRemote := socketPair(t, "tcp")
	s := SockFor(old)
	if s == nil {
		t.Fatal("no Sock for a plain socket")
	}
	spare := KeepSock(s)
	local, remote := socketPair(t, "tcp")
	got := SockFrom(local, &spare)
	if got != s || spare != nil {
		t.Fatalf("SockFrom = %p (spare left %p), want the spare %p taken", got, spare, s)
	}
	oldRemote.Write([]byte("old"))
	remote.Write([]byte("new"))
	buf := make([]byte, 8)
	local.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := got.Read(buf)
	if err != nil || string(buf[:n]) != "new" {
		t.Errorf("Read = %q, %v; want the new socket's bytes", buf[:n], err)
	}
	if n, err := got.Write([]byte("back")); n != 4 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	remote.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(remote, buf[:4]); err != nil || string(buf[:4]) != "back" {
		t.Errorf("the new socket's peer read %q, %v", buf[:4], err)
	}
	// No spare: the pool's.
	if s2 := SockFrom(old, &spare); s2 == nil || s2 == s {
		t.Errorf("SockFrom with no spare = %p", s2)
	}
}
