package poller

import (
	"bytes"
	"io"
	"net"
	"net/netip"
	"runtime"
	"testing"
	"time"
)

// recycled closes c and recycles it, retrying while its poller's turn
// (which may hold its last event) is under way.
func recycled(t *testing.T, c *Conn) {
	t.Helper()
	c.Close()
	for range 1000 {
		if c.Recycle() {
			return
		}
		runtime.Gosched()
	}
	t.Fatal("Recycle refused a closed Conn no call holds")
}

// TestRecycleDialsAnew: a dial on a recycled Conn is a new connection:
// the peer's end, the deadline, the addresses and the readiness of the
// one before are gone with it.
func TestRecycleDialsAnew(t *testing.T) {
	ln1, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln1.Close()
	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln2.Close()
	addr1, addr2 := ln1.Addr().String(), ln2.Addr().String()

	c, _, err := DialAddrPortWithin(netip.MustParseAddrPort(addr1), addr1, time.Now(), time.Minute, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	peer, err := ln1.Accept()
	if err != nil {
		t.Fatal(err)
	}
	c.LocalAddr()
	c.SetReadDeadline(time.Now().Add(-time.Second))
	peer.Write([]byte("x"))
	peer.Close()
	for i := 0; !c.HungUp(); i++ {
		if i == 5000 {
			t.Fatal("the peer's end was never reported")
		}
		SettleConns()
		time.Sleep(time.Millisecond)
	}
	recycled(t, c)

	c2, _, err := DialAddrPortWithin(netip.MustParseAddrPort(addr2), addr2, time.Now(), time.Minute, nil, c)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if c2 != c {
		t.Fatal("the dial did not take the spare")
	}
	if c2.HungUp() || c2.InputReported() {
		t.Error("the recycled Conn kept the last connection's end")
	}
	if got := c2.RemoteAddr().String(); got != addr2 {
		t.Errorf("RemoteAddr = %s, want %s", got, addr2)
	}
	peer2, err := ln2.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer peer2.Close()
	if got, want := c2.LocalAddr().String(), peer2.RemoteAddr().String(); got != want {
		t.Errorf("LocalAddr = %s, want %s", got, want)
	}
	if _, err := c2.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 4)
	if _, err := io.ReadFull(peer2, b); err != nil || !bytes.Equal(b, []byte("ping")) {
		t.Fatalf("peer read %q, %v", b, err)
	}
	peer2.Write([]byte("pong"))
	if _, err := io.ReadFull(c2, b); err != nil || !bytes.Equal(b, []byte("pong")) {
		t.Fatalf("read %q, %v (the last connection's deadline?)", b, err)
	}
}

// TestRecycleAcceptsAnew: an accept on a recycled Conn is a new
// connection, as a dial on one is: the end, the deadline and the peer's
// address of the one before are gone with it.
func TestRecycleAcceptsAnew(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	acc, err := NewAcceptor(ln)
	if err != nil {
		t.Fatal(err)
	}
	defer acc.Close()
	client1, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c, err := acc.Accept(nil)
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(-time.Second))
	client1.Close()
	for i := 0; !c.HungUp(); i++ {
		if i == 5000 {
			t.Fatal("the peer's end was never reported")
		}
		SettleConns()
		time.Sleep(time.Millisecond)
	}
	recycled(t, c)

	client2, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client2.Close()
	c2, err := acc.Accept(c)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if c2 != c {
		t.Fatal("the accept did not take the spare")
	}
	if c2.HungUp() {
		t.Error("the recycled Conn kept the last connection's end")
	}
	if got, want := c2.RemoteAddr().String(), client2.LocalAddr().String(); got != want {
		t.Errorf("RemoteAddr = %s, want %s", got, want)
	}
	client2.Write([]byte("ping"))
	b := make([]byte, 4)
	if _, err := io.ReadFull(c2, b); err != nil || !bytes.Equal(b, []byte("ping")) {
		t.Fatalf("read %q, %v (the last connection's deadline?)", b, err)
	}
}

// TestRecycleRefuses: an open Conn, or one closed with a handler still
// set, is not recycled (someone may still call it).
func TestRecycleRefuses(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	c, _, err := DialAddrPortWithin(netip.MustParseAddrPort(addr), addr, time.Now(), 0, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Recycle() {
		t.Error("Recycle took an open Conn")
	}
	c.OnHangup(make(inputSeen, 1))
	c.Close()
	if c.Recycle() {
		t.Error("Recycle took a Conn whose hang-up handler is set")
	}
}

// TestDialSpareAllocatesNothing: a dial on a recycled Conn, its close
// and its recycling allocate nothing (a backend connection not kept,
// per request).
func TestDialSpareAllocatesNothing(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	ap := netip.MustParseAddrPort(addr)
	c, _, err := DialAddrPortWithin(ap, addr, time.Now(), 0, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	recycled(t, c)
	now := time.Now()
	var failed error
	// Never accepted: the kernel's queue completes the connects.
	allocs := testing.AllocsPerRun(20, func() {
		c2, _, err := DialAddrPortWithin(ap, addr, now, 0, nil, c)
		if err != nil {
			failed = err
			return
		}
		if c2 != c {
			failed = io.ErrUnexpectedEOF
		}
		recycled(t, c2)
	})
	if failed != nil {
		t.Fatal(failed)
	}
	if allocs != 0 {
		t.Errorf("%.1f allocations per dial on a spare, want 0", allocs)
	}
}
