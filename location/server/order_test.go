package server

import (
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// tcpPair is a connected client and server socket on 127.0.0.1.
func tcpPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

func rawOf(t *testing.T, c net.Conn) *syscall.RawConn {
	raw, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	return &raw
}

// A first request waits for an earlier connection under way (not looked
// at yet, bytes waiting, or started), not for an idle one.
func TestAcceptOrder(t *testing.T) {
	// c must wait for b however late this goroutine runs (a loaded
	// race run once passed maxOrderWait before b.Pass, and c went on).
	o := acceptOrder{maxWait: time.Hour}
	var a, b, c orderedConn
	o.add(&a)
	o.add(&b)
	o.add(&c)
	client, server := tcpPair(t)
	a.raw.Store(rawOf(t, server)) // idle: no byte yet
	var got []string
	done := make(chan struct{})
	go func() {
		c.WaitEarlier() // b has not been looked at: c waits
		got = append(got, "c")
		close(done)
	}()
	time.Sleep(10 * time.Millisecond)
	got = append(got, "b")
	b.Pass()
	<-done
	if diff := cmp.Diff([]string{"b", "c"}, got); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	// a's bytes arrive: a is under way, and a later one waits for it,
	// at most maxOrderWait.
	o.maxWait = 0
	client.Write([]byte("GET"))
	time.Sleep(10 * time.Millisecond)
	var d orderedConn
	o.add(&d)
	start := time.Now()
	d.WaitEarlier()
	if waited := time.Since(start); waited < maxOrderWait {
		t.Errorf("waited %v for a connection with bytes waiting, want the bound %v", waited, maxOrderWait)
	}
	a.Pass()
	c.Pass()
	d.Pass()
	if len(o.pending) != 0 {
		t.Errorf("%d connections still pending", len(o.pending))
	}
}
