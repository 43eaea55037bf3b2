//go:build linux

package poller

import (
	"net"
	"runtime"
	"syscall"
	"testing"
	"time"
)

type chanHandler chan uint32

func (c chanHandler) Ready(ev uint32) {
	select {
	case c <- ev:
	default:
	}
}

func tcpPair(t *testing.T) (a, b *net.TCPConn) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return c.(*net.TCPConn), s.(*net.TCPConn)
}

func rawOf(t *testing.T, c *net.TCPConn) syscall.RawConn {
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	return rc
}

// A parked socket is reported once per arrival (edge-triggered), holds
// no goroutine while nothing arrives, and is not reported after Remove.
func TestPollerParksAndWakes(t *testing.T) {
	p, err := New()
	if err != nil {
		t.Fatal(err)
	}
	a, b := tcpPair(t)
	before := runtime.NumGoroutine()
	ready := make(chanHandler, 4)
	reg, err := p.Add(rawOf(t, b), In|RDHup|Edge, ready)
	if err != nil {
		t.Fatal(err)
	}
	if n := runtime.NumGoroutine(); n != before {
		t.Errorf("goroutines: %d before parking, %d after", before, n)
	}
	select {
	case ev := <-ready:
		t.Fatalf("reported %#x with nothing sent", ev)
	case <-time.After(50 * time.Millisecond):
	}
	a.Write([]byte("x"))
	select {
	case ev := <-ready:
		if ev&In == 0 {
			t.Errorf("events %#x, want In", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no event for bytes that arrived")
	}
	// Edge-triggered: the unread byte is not reported again, a new one is.
	a.Write([]byte("y"))
	select {
	case <-ready:
	case <-time.After(5 * time.Second):
		t.Fatal("no event for a second arrival")
	}
	reg.Remove(rawOf(t, b))
	a.Write([]byte("z"))
	a.Close()
	select {
	case ev := <-ready:
		t.Errorf("reported %#x after Remove", ev)
	case <-time.After(50 * time.Millisecond):
	}
	// The slot is reused by a new registration, which sees its own events.
	c, d := tcpPair(t)
	reg2, err := p.Add(rawOf(t, d), In|Edge, ready)
	if err != nil {
		t.Fatal(err)
	}
	if reg2.slot != reg.slot || reg2.gen == reg.gen {
		t.Errorf("slot %d gen %d after slot %d gen %d: want the slot reused with a new generation", reg2.slot, reg2.gen, reg.slot, reg.gen)
	}
	c.Write([]byte("w"))
	select {
	case <-ready:
	case <-time.After(5 * time.Second):
		t.Fatal("no event on the reused slot")
	}
	reg2.Remove(rawOf(t, d))
}

// Remove after the socket closed does nothing harmful and frees the slot.
func TestPollerRemoveClosed(t *testing.T) {
	p, err := New()
	if err != nil {
		t.Fatal(err)
	}
	_, b := tcpPair(t)
	rc := rawOf(t, b)
	reg, err := p.Add(rc, In|Edge, make(chanHandler, 1))
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	reg.Remove(rc)
	if got := len(p.free); got != 1 {
		t.Errorf("free slots %d, want 1", got)
	}
}

// Forget frees the slot with no system call; the socket's close takes
// it out of the epoll set, and a new registration on the slot sees only
// its own events.
func TestPollerForget(t *testing.T) {
	p, err := New()
	if err != nil {
		t.Fatal(err)
	}
	a, b := tcpPair(t)
	old := make(chanHandler, 4)
	reg, err := p.Add(rawOf(t, b), In|RDHup|Edge, old)
	if err != nil {
		t.Fatal(err)
	}
	reg.Forget()
	a.Write([]byte("x")) // queued for a forgotten registration
	b.Close()
	c, d := tcpPair(t)
	fresh := make(chanHandler, 4)
	reg2, err := p.Add(rawOf(t, d), In|Edge, fresh)
	if err != nil {
		t.Fatal(err)
	}
	defer reg2.Remove(rawOf(t, d))
	c.Write([]byte("y"))
	select {
	case <-fresh:
	case <-time.After(5 * time.Second):
		t.Fatal("no event on the reused slot")
	}
	select {
	case ev := <-old:
		t.Errorf("forgotten handler called with %#x", ev)
	case <-time.After(50 * time.Millisecond):
	}
}

// Registering, changing and removing a socket allocate nothing once a
// slot is free: they run per tunnel and per parked connection.
func TestPollerRegistrationAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	p, err := New()
	if err != nil {
		t.Fatal(err)
	}
	_, b := tcpPair(t)
	rc := rawOf(t, b)
	h := make(chanHandler, 1)
	var failed error
	allocs := testing.AllocsPerRun(100, func() {
		r, err := p.Add(rc, In|Edge, h)
		if err == nil {
			err = r.Modify(rc, In|RDHup|Edge)
		}
		if err != nil {
			failed = err
		}
		r.Remove(rc)
	})
	if failed != nil {
		t.Fatal(failed)
	}
	if allocs != 0 {
		t.Errorf("%.1f allocations per Add, Modify and Remove, want 0", allocs)
	}
}

// TestPollerSlotChunks: registrations past a chunk of slots are reported
// to their own handlers, and a freed slot is taken again.
func TestPollerSlotChunks(t *testing.T) {
	p, err := New()
	if err != nil {
		t.Fatal(err)
	}
	a, b := tcpPair(t)
	rc := rawOf(t, b)
	// Registrations of no socket (ctl fails) still take and free slots:
	// fill the first chunk with held ones, then register b past it.
	var held []Reg
	for i := 0; i < slotChunk+3; i++ {
		p.mu.Lock()
		slot := p.nslots
		if slot%slotChunk == 0 {
			p.slots = append(p.slots, new([slotChunk]entry))
		}
		p.nslots++
		p.gen++
		*p.slot(slot) = entry{h: make(chanHandler, 1), gen: p.gen}
		held = append(held, Reg{p: p, slot: slot, gen: p.gen})
		p.mu.Unlock()
	}
	ready := make(chanHandler, 4)
	reg, err := p.Add(rc, In|Edge, ready)
	if err != nil {
		t.Fatal(err)
	}
	if reg.slot != slotChunk+3 {
		t.Fatalf("slot %d, want %d", reg.slot, slotChunk+3)
	}
	a.Write([]byte("x"))
	select {
	case <-ready:
	case <-time.After(5 * time.Second):
		t.Fatal("no event for a registration in the second chunk")
	}
	reg.Remove(rc)
	p.release(held[5])
	again, err := p.Add(rc, In|Edge, ready)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Remove(rc)
	if again.slot != reg.slot && again.slot != held[5].slot {
		t.Errorf("slot %d: a freed one was not taken", again.slot)
	}
}
