//go:build linux

package upstream

import (
	"net"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gonginx/gonginx/upstream/poller"
	"github.com/google/go-cmp/cmp"
)

// closeCounter is a backend connection that counts its closes.
type closeCounter struct {
	net.Conn
	closes atomic.Int32
}

func (c *closeCounter) Close() error { c.closes.Add(1); return nil }

// acceptPair accepts a server socket on the poller (the server's own
// kind) and returns it with its client.
func acceptPair(t *testing.T, a *poller.Acceptor, addr string) (*poller.Conn, syscall.RawConn, net.Conn) {
	t.Helper()
	client, err := net.Dial("tcp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	c, err := a.Accept(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	raw, _ := c.SyscallConn()
	return c, raw, client
}

// TestParkedWatchTakenAgain: the watch record a parked connection lets
// go (ParkClient), or one whose requests ended (ForgetClient: its end,
// or a tunnel taking its socket), is the next connection's first watch,
// and a hang-up report of the first connection that reaches it late
// (its Conn took the handler before the record went) does not end the
// new one's request; the new client's own hang-up does.
func TestParkedWatchTakenAgain(t *testing.T) {
	for _, let := range []func(syscall.RawConn, net.Conn){ParkClient, ForgetClient} {
		watchTakenAgain(t, let)
	}
}

func watchTakenAgain(t *testing.T, letGo func(syscall.RawConn, net.Conn)) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a, err := poller.NewAcceptor(ln)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	addr := ln.Addr().String()

	first, rawFirst, _ := acceptPair(t, a, addr)
	w1 := brokenConns.watch(rawFirst, first, &closeCounter{}, false)
	if w1 == nil {
		t.Fatal("no watch for the first connection")
	}
	if brokenConns.unwatch(w1) {
		t.Fatal("first connection taken as gone")
	}
	letGo(rawFirst, first)

	second, rawSecond, client := acceptPair(t, a, addr)
	backend := &closeCounter{}
	w2 := watchClient(rawSecond, second, backend, false)
	if w2 != w1 {
		t.Errorf("second connection's watch is a new record, want the parked one's")
	}
	// The first connection's late report (as its Conn.Ready, having read
	// its handler before ParkClient, tells it).
	w2.Ready(poller.RDHup)
	got := []any{w2.gone(), backend.closes.Load()}
	if diff := cmp.Diff([]any{false, int32(0)}, got); diff != "" {
		t.Errorf("after the parked connection's late report (gone, backend closes) (-want +got):\n%s", diff)
	}

	client.Close()
	deadline := time.Now().Add(5 * time.Second)
	for !w2.gone() && time.Now().Before(deadline) {
		SettleAborts()
		time.Sleep(time.Millisecond)
	}
	got = []any{w2.gone(), backend.closes.Load()}
	if diff := cmp.Diff([]any{true, int32(1)}, got); diff != "" {
		t.Errorf("after the second client's hang-up (gone, backend closes) (-want +got):\n%s", diff)
	}
	if !brokenConns.unwatch(w2) {
		t.Error("unwatch: the hang-up not reported")
	}
	ForgetClient(rawSecond, second)
}

// TestOwnWatchesListed: the watches of the server's own sockets are
// found through their Conns, not by descriptor: each is counted while
// its connection is watched, TerminateRequests reaches the ones whose
// descriptor it names (and no other), and ForgetClient takes one out
// wherever it is in the list.
func TestOwnWatchesListed(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a, err := poller.NewAcceptor(ln)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	addr := ln.Addr().String()
	before := WatchedClients()
	type watched struct {
		c       *poller.Conn
		raw     syscall.RawConn
		w       *clientWatch
		backend *closeCounter
	}
	var all []watched
	for i := 0; i < 3; i++ {
		c, raw, _ := acceptPair(t, a, addr)
		backend := &closeCounter{}
		w := watchClient(raw, c, backend, false)
		if w == nil {
			t.Fatalf("no watch for connection %d", i)
		}
		all = append(all, watched{c, raw, w, backend})
	}
	if got := WatchedClients() - before; got != 3 {
		t.Errorf("watched clients: %d more, want 3", got)
	}
	mid := all[1].c.FD()
	TerminateRequests(func(fd int) bool { return fd == mid })
	var got []any
	for _, x := range all {
		got = append(got, x.w.gone(), x.backend.closes.Load())
	}
	want := []any{false, int32(0), true, int32(1), false, int32(0)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("after terminating the middle one (gone, backend closes per connection) (-want +got):\n%s", diff)
	}
	for i, x := range []watched{all[1], all[0], all[2]} {
		brokenConns.unwatch(x.w)
		ForgetClient(x.raw, x.c)
		if got, want := WatchedClients()-before, 2-i; got != want {
			t.Errorf("after forgetting %d: %d more watched, want %d", i+1, got, want)
		}
	}
}
