package poller

import (
	"context"
	"net"
	"syscall"
	"testing"
	"time"
)

// readReported reads c through ReadReported, counting the callback's
// tries.
func readReported(c *Conn, buf []byte) (n, tries int, err error) {
	err = (*rawConn)(c).ReadReported(func(fd uintptr) bool {
		tries++
		m, e := sysRead(fd, buf)
		if e == syscall.EAGAIN {
			return false
		}
		n = m
		return true
	})
	return n, tries, err
}

// TestAcceptFirstReadWaits: a new connection's first read through
// ReadReported waits for the poller's report of its bytes, as nginx reads
// a new connection on its first read event, instead of a read(2) that
// finds nothing; one whose bytes came before the accept is read at the
// report the registration makes. A deferred listener's connection
// (TCP_DEFER_ACCEPT: its bytes are there) is read at once.
func TestAcceptFirstReadWaits(t *testing.T) {
	c, client := acceptPair(t)
	if !c.waitFirst() {
		t.Fatal("a new connection's first read does not wait for the report")
	}
	go func() {
		time.Sleep(20 * time.Millisecond) // the read waits on the poller
		client.Write([]byte("hello"))
	}()
	buf := make([]byte, 16)
	n, tries, err := readReported(c, buf)
	if err != nil || string(buf[:n]) != "hello" || tries != 1 {
		t.Fatalf("first read = %q, %d tries, %v; want hello in one try", buf[:n], tries, err)
	}

	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, tcpDeferAccept, 1) })
		return serr
	}}
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	acc, err := NewAcceptor(ln)
	if err != nil {
		t.Fatal(err)
	}
	defer acc.Close()
	cl, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	cl.Write([]byte("x")) // a deferred accept waits for it
	dc, err := acc.Accept(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dc.Close()
	if dc.waitFirst() {
		t.Error("a deferred listener's connection waits before its first read")
	}
	n, _, err = readReported(dc, buf)
	if err != nil || string(buf[:n]) != "x" {
		t.Fatalf("deferred read = %q, %v", buf[:n], err)
	}
}
