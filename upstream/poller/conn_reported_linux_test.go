package poller

import (
	"errors"
	"net"
	"os"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// reportedRead is one ReadReported of c in a goroutine: how many times
// its callback ran before c's reader began to wait (-1: it never
// waited), then the callback's calls in all and what it read.
type reportedRead struct {
	beforeWait int
	calls      int
	got        string
}

func startReportedRead(c *Conn) (calls *atomic.Int32, done chan reportedRead) {
	calls = new(atomic.Int32)
	done = make(chan reportedRead, 1)
	go func() {
		buf := make([]byte, 64)
		var n int
		err := (*rawConn)(c).ReadReported(func(fd uintptr) bool {
			calls.Add(1)
			m, err := syscall.Read(int(fd), buf)
			if err == syscall.EAGAIN {
				(*rawConn)(c).ReadDrained()
				return false
			}
			if m > 0 && m < len(buf) {
				(*rawConn)(c).ReadDrained()
			}
			n = m
			return true
		})
		if err != nil {
			n = 0
		}
		done <- reportedRead{calls: int(calls.Load()), got: string(buf[:n])}
	}()
	return calls, done
}

// ReadReported reads a socket its last read drained only once the
// poller reports input, after a first try found nothing, and a new
// connection (nothing read yet) at once so; one wait in eight tries
// first all the same.
func TestConnReadReportedWaitsFirst(t *testing.T) {
	c, client := acceptPair(t)
	var got []reportedRead
	for i := 0; i < 9; i++ {
		calls, done := startReportedRead(c)
		// The bytes go out once the reader waits (or has tried).
		for c.r.waiter.Load() == nil && calls.Load() == 0 {
			runtime.Gosched()
		}
		before := int(calls.Load())
		if _, err := client.Write([]byte{byte('a' + i)}); err != nil {
			t.Fatal(err)
		}
		r := <-done
		r.beforeWait = before
		got = append(got, r)
	}
	want := []reportedRead{
		{0, 1, "a"}, // a new connection's first read waits
		{0, 1, "b"}, {0, 1, "c"}, {0, 1, "d"}, {0, 1, "e"}, {0, 1, "f"}, {0, 1, "g"},
		{1, 2, "h"}, // the eighth wait tries first, finding nothing
		{0, 1, "i"},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(reportedRead{})); diff != "" {
		t.Errorf("ReadReported's calls (-want +got)\n%s", diff)
	}
}

// ReadReported's tries first that find nothing come further apart, 16,
// 32, then 64 waits after the last (a client that sends once answered
// never has its bytes there at once); a try that finds bytes starts
// again at 8.
func TestConnReadReportedSpacesTries(t *testing.T) {
	c, client := acceptPair(t)
	var tried []int
	read := func(i int) {
		calls, done := startReportedRead(c)
		for c.r.waiter.Load() == nil && calls.Load() == 0 {
			runtime.Gosched()
		}
		if calls.Load() > 0 {
			tried = append(tried, i)
		}
		if _, err := client.Write([]byte{'x'}); err != nil {
			t.Fatal(err)
		}
		<-done
	}
	for i := 0; i < 200; i++ {
		read(i)
	}
	// Bytes there and reported: the read takes them at once.
	if _, err := client.Write([]byte{'y'}); err != nil {
		t.Fatal(err)
	}
	for !c.hasFlag(flagRReady) {
		runtime.Gosched()
	}
	if r := <-func() chan reportedRead { _, done := startReportedRead(c); return done }(); r.calls != 1 || r.got != "y" {
		t.Fatalf("reported read = %+v, want y in one call", r)
	}
	for i := 300; i < 320; i++ {
		read(i)
	}
	want := []int{7, 23, 55, 119, 183, 300, 308}
	if diff := cmp.Diff(want, tried); diff != "" {
		t.Errorf("reads that tried first (-want +got)\n%s", diff)
	}
}

// ReadReported tries first where a try finds bytes: when they were
// there at the last first try, and when the socket was not drained.
func TestConnReadReportedTriesFirst(t *testing.T) {
	c, client := acceptPair(t)
	var got []int
	for i := 0; i < 3; i++ {
		if _, err := client.Write([]byte{'x'}); err != nil {
			t.Fatal(err)
		}
		// The byte is in the socket and reported before the read.
		for !c.hasFlag(flagRReady) {
			runtime.Gosched()
		}
		_, done := startReportedRead(c)
		got = append(got, (<-done).calls)
	}
	if diff := cmp.Diff([]int{1, 1, 1}, got); diff != "" {
		t.Errorf("callback calls (-want +got)\n%s", diff)
	}
	if c.hasFlag(flagRWaitFirst) {
		t.Error("wait-first after tries that found bytes")
	}
}

// ReadReportedAt reads under the deadline it is given, set from the
// caller's clock reading: bytes there are read, the wait for none ends
// at the deadline (not before it), and the deadline stays set.
func TestConnReadReportedAt(t *testing.T) {
	c, client := acceptPair(t)
	read := func(now, d int64) (string, error) {
		buf := make([]byte, 64)
		var n int
		err := (*rawConn)(c).ReadReportedAt(now, d, func(fd uintptr) bool {
			m, err := syscall.Read(int(fd), buf)
			if err == syscall.EAGAIN {
				(*rawConn)(c).ReadDrained()
				return false
			}
			n = m
			return true
		})
		return string(buf[:n]), err
	}
	if _, err := client.Write([]byte("GET")); err != nil {
		t.Fatal(err)
	}
	now := Nanotime()
	if got, err := read(now, now+int64(time.Hour)); got != "GET" || err != nil {
		t.Fatalf("with bytes there: %q, %v; want \"GET\", nil", got, err)
	}
	if d := c.r.deadline.Load(); d != now+int64(time.Hour) {
		t.Errorf("deadline after the read: %d, want %d", d, now+int64(time.Hour))
	}
	now = Nanotime()
	wait := int64(30 * time.Millisecond)
	got, err := read(now, now+wait)
	if !errors.Is(err, os.ErrDeadlineExceeded) || got != "" {
		t.Fatalf("with none: %q, %v; want a timeout", got, err)
	}
	if took := Nanotime() - now; took < wait {
		t.Errorf("the wait ended after %v, before its deadline (%v)", time.Duration(took), time.Duration(wait))
	}
	// A deadline past already at the caller's reading fails at once.
	if _, err := client.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	now = Nanotime()
	if got, err := read(now, now); !errors.Is(err, os.ErrDeadlineExceeded) || got != "" {
		t.Errorf("past deadline: %q, %v; want a timeout", got, err)
	}
}

// TestConnInputReported: a Conn knows whether the poller has reported its
// input since the accept (a request read after that report knows of an
// end that came with it, HungUp); writable reports do not count.
func TestConnInputReported(t *testing.T) {
	c, client := acceptPair(t)
	SettleConns()
	if c.InputReported() {
		t.Fatal("input reported before the peer sent anything")
	}
	client.Write([]byte("GET / HTTP/1.1\r\n\r\n"))
	client.Close()
	for i := 0; i < 500 && !(c.InputReported() && c.HungUp()); i++ {
		SettleConns()
		time.Sleep(time.Millisecond) // bounded: the loopback's delivery
	}
	if !c.InputReported() || !c.HungUp() {
		t.Fatalf("after the peer's bytes and end: InputReported %v, HungUp %v", c.InputReported(), c.HungUp())
	}
}

// A dialed connection's first read through ReadReported waits for the
// poller's report, as an accepted one's: its peer answers what it is
// sent, so a try before the answer finds nothing.
func TestDialReadReportedWaitsFirst(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := Dial(ln.Addr().String(), time.Now().Add(5*time.Second), nil)
	if err != nil {
		t.Skip(err)
	}
	defer c.Close()
	peer, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	calls, done := startReportedRead(c)
	for c.r.waiter.Load() == nil && calls.Load() == 0 {
		runtime.Gosched()
	}
	before := int(calls.Load())
	if _, err := peer.Write([]byte("answer")); err != nil {
		t.Fatal(err)
	}
	r := <-done
	r.beforeWait = before
	if diff := cmp.Diff(reportedRead{0, 1, "answer"}, r, cmp.AllowUnexported(reportedRead{})); diff != "" {
		t.Errorf("a dialed connection's first read (-want +got)\n%s", diff)
	}
}
