package poller

import (
	"errors"
	"io"
	"math"
	"net"
	"net/netip"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// acceptPair is an accepted Conn and the client socket dialed to it.
func acceptPair(t testing.TB) (*Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	acc, err := NewAcceptor(ln)
	if err != nil {
		t.Fatalf("NewAcceptor: %v", err)
	}
	t.Cleanup(func() { acc.Close() })
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	c, err := acc.Accept(nil)
	if err != nil {
		t.Fatalf("Accept: %#v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c, client
}

func TestConnReadWrite(t *testing.T) {
	c, client := acceptPair(t)
	if diff := cmp.Diff(client.LocalAddr().String(), c.RemoteAddr().String()); diff != "" {
		t.Errorf("RemoteAddr (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(client.RemoteAddr().String(), c.LocalAddr().String()); diff != "" {
		t.Errorf("LocalAddr (-want +got):\n%s", diff)
	}
	go func() {
		time.Sleep(20 * time.Millisecond) // the read waits on the poller
		client.Write([]byte("hello"))
	}()
	buf := make([]byte, 16)
	n, err := c.Read(buf)
	if err != nil || string(buf[:n]) != "hello" {
		t.Fatalf("Read = %q, %v", buf[:n], err)
	}
	big := make([]byte, 8<<20) // more than the socket holds: Write waits
	done := make(chan error, 1)
	go func() {
		_, err := c.Write(big)
		done <- err
	}()
	got, err := io.ReadFull(client, make([]byte, len(big)))
	if err != nil || got != len(big) {
		t.Fatalf("client read %d, %v", got, err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Write: %v", err)
	}
	c.CloseWrite()
	if _, err := client.Read(buf); err != io.EOF {
		t.Fatalf("after CloseWrite the client reads %v, want EOF", err)
	}
	client.Close()
	if _, err := c.Read(buf); err != io.EOF {
		t.Fatalf("after the client's close Read = %v, want EOF", err)
	}
}

func TestConnDeadlines(t *testing.T) {
	c, client := acceptPair(t)
	client.Write([]byte("x"))
	time.Sleep(20 * time.Millisecond)
	buf := make([]byte, 4)
	// A past deadline fails before the socket is read, bytes there or not.
	c.SetReadDeadline(time.Unix(1, 0))
	if _, err := c.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read under a past deadline = %v", err)
	}
	c.SetReadDeadline(time.Time{})
	if n, err := c.Read(buf); n != 1 || err != nil {
		t.Fatalf("Read = %d, %v", n, err)
	}
	c.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
	_, err := c.Read(buf)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("Read past its deadline = %v, want a timeout", err)
	}
	// A deadline moved into the past wakes a waiting read.
	c.SetReadDeadline(time.Time{})
	go func() {
		time.Sleep(20 * time.Millisecond)
		c.SetReadDeadline(time.Unix(1, 0))
	}()
	if _, err := c.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read whose deadline moved = %v", err)
	}
	// Close wakes a waiting read.
	c.SetReadDeadline(time.Time{})
	go func() {
		time.Sleep(20 * time.Millisecond)
		c.Close()
	}()
	if _, err := c.Read(buf); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Read of a closed Conn = %v", err)
	}
	if err := c.Close(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("second Close = %v", err)
	}
}

func TestConnRawConn(t *testing.T) {
	c, client := acceptPair(t)
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(20 * time.Millisecond)
		client.Write([]byte("abc"))
	}()
	tries := 0
	buf := make([]byte, 8)
	var n int
	err = rc.Read(func(fd uintptr) bool {
		tries++
		var e error
		n, e = syscallRead(int(fd), buf)
		return e == nil
	})
	if err != nil || string(buf[:n]) != "abc" || tries < 2 {
		t.Fatalf("RawConn.Read: %q, %v after %d tries", buf[:n], err, tries)
	}
}

func TestAcceptorClose(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	acc, err := NewAcceptor(ln)
	if err != nil {
		t.Fatalf("NewAcceptor: %v", err)
	}
	// Two queued connections are taken, then Accept waits.
	for range 2 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	for range 2 {
		c, err := acc.Accept(nil)
		if err != nil {
			t.Fatalf("Accept: %v", err)
		}
		c.Close()
	}
	go func() {
		time.Sleep(20 * time.Millisecond)
		acc.Close()
	}()
	if _, err := acc.Accept(nil); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Close = %v, want net.ErrClosed", err)
	}
	if _, err := NewAcceptor(&net.UnixListener{}); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("NewAcceptor of a unix listener = %v", err)
	}
}

func TestDial(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	controlled := false
	c, err := Dial(ln.Addr().String(), time.Now().Add(5*time.Second), func(network, address string, rc syscall.RawConn) error {
		controlled = network == "tcp4" && address == ln.Addr().String()
		return nil
	})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()
	if !controlled {
		t.Error("control was not called with tcp4 and the address")
	}
	peer, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	if diff := cmp.Diff(peer.LocalAddr().String(), c.RemoteAddr().String()); diff != "" {
		t.Errorf("RemoteAddr (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(peer.RemoteAddr().String(), c.LocalAddr().String()); diff != "" {
		t.Errorf("LocalAddr (-want +got):\n%s", diff)
	}
	if n, err := c.WriteBuffers([][]byte{[]byte("he"), nil, []byte("llo")}); n != 5 || err != nil {
		t.Fatalf("WriteBuffers = %d, %v", n, err)
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(peer, buf); err != nil || string(buf) != "hello" {
		t.Fatalf("peer read %q, %v", buf, err)
	}

	// A port nobody listens on: connect's errno, as Go's dial reports it.
	addr := ln.Addr().String()
	ln.Close()
	_, err = Dial(addr, time.Time{}, nil)
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("Dial of a closed port = %v, want ECONNREFUSED", err)
	}
	if _, err := Dial("localhost:80", time.Time{}, nil); !errors.Is(err, ErrUnsupported) {
		t.Errorf("Dial of a name = %v, want ErrUnsupported", err)
	}
}

// TestDialNoHangupBeforeConnect: events the poller takes as Dial is
// about to connect are none of the new Conn's (a socket not yet
// connecting polls as hung up, and HungUp stays): the dialed Conn is
// not hung up.
func TestDialNoHangupBeforeConnect(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	beforeConnect = SettleConns
	defer func() { beforeConnect = nil }()
	c, err := Dial(ln.Addr().String(), time.Now().Add(5*time.Second), nil)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()
	SettleConns()
	if c.HungUp() {
		t.Error("a dialed Conn is hung up")
	}
	peer, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	if n, err := c.Write([]byte("x")); n != 1 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
}

// inputSeen counts OnInput's reports.
type inputSeen chan uint32

func (s inputSeen) Ready(ev uint32) { s <- ev }

func TestConnOnInput(t *testing.T) {
	c, client := acceptPair(t)
	if ConnOf((*rawConn)(c)) != c {
		t.Fatal("ConnOf does not find the Conn of its RawConn")
	}
	buf := make([]byte, 8)
	c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if _, err := c.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read of an empty socket = %v", err)
	}
	c.SetReadDeadline(time.Time{})
	seen := make(inputSeen, 4)
	// Input before the hook, after a read found the socket empty: told
	// at once, as an epoll_ctl adding EPOLLIN would.
	client.Write([]byte("a"))
	time.Sleep(50 * time.Millisecond)
	c.OnInput(seen)
	select {
	case <-seen:
	case <-time.After(5 * time.Second):
		t.Fatal("input that came before OnInput was not told")
	}
	if n, err := c.Read(buf); n != 1 || err != nil {
		t.Fatalf("Read = %d, %v", n, err)
	}
	// Input after it: told by the poller.
	client.Write([]byte("b"))
	select {
	case ev := <-seen:
		if ev&In == 0 {
			t.Errorf("told %#x, want In", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("input was not told")
	}
	c.Read(buf)
	c.OnInput(nil)
	client.Write([]byte("c"))
	time.Sleep(50 * time.Millisecond)
	select {
	case ev := <-seen:
		t.Fatalf("told %#x after OnInput(nil)", ev)
	default:
	}
}

// Bytes left in the socket by a read that did not take them all (no
// report since: the socket was never found empty) are told too.
func TestConnOnInputUnread(t *testing.T) {
	c, client := acceptPair(t)
	client.Write([]byte("abcd"))
	time.Sleep(50 * time.Millisecond)
	buf := make([]byte, 2)
	if n, err := c.Read(buf); n != 2 || err != nil {
		t.Fatalf("Read = %d, %v", n, err)
	}
	c.flags.And(^uint32(flagRReady)) // as if the report came before the read
	seen := make(inputSeen, 4)
	c.OnInput(seen)
	select {
	case <-seen:
	default:
		t.Fatal("bytes left in the socket were not told")
	}
	c.OnInput(nil)
}

// A hang-up reaches OnHangup's handler (input does not), and stays
// reported by HungUp; HookInput returns what is there instead of telling.
func TestConnOnHangup(t *testing.T) {
	c, client := acceptPair(t)
	hups := make(inputSeen, 4)
	c.OnHangup(hups)
	if c.HungUp() {
		t.Fatal("HungUp before any hang-up")
	}
	inputs := make(inputSeen, 4)
	if c.HookInput(inputs) {
		t.Error("HookInput found input in an empty socket")
	}
	client.Write([]byte("a"))
	select {
	case <-inputs:
	case <-time.After(5 * time.Second):
		t.Fatal("input was not told")
	}
	select {
	case ev := <-hups:
		t.Fatalf("input told as a hang-up (%#x)", ev)
	default:
	}
	client.Close()
	select {
	case ev := <-hups:
		if ev&RDHup == 0 {
			t.Errorf("told %#x, want RDHup", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("hang-up was not told")
	}
	if !c.HungUp() {
		t.Error("HungUp false after a hang-up")
	}
	c.OnInput(nil)
	if !c.HookInput(inputs) {
		t.Error("HookInput after a hang-up found nothing")
	}
	c.OnInput(nil)
	c.OnHangup(nil)
}

// HookInput finds bytes a read left in the socket, and none after a read
// that drained it (Read's short read, or a raw reader's ReadDrained).
func TestConnHookInputDrained(t *testing.T) {
	c, client := acceptPair(t)
	seen := make(inputSeen, 8)
	read := func(buf []byte, drained bool) int {
		var n int
		(*rawConn)(c).Read(func(fd uintptr) bool {
			m, err := syscall.Read(int(fd), buf)
			if err == syscall.EAGAIN {
				return false
			}
			n = m
			if drained {
				(*rawConn)(c).ReadDrained()
			}
			return true
		})
		return n
	}
	client.Write([]byte("abcd"))
	time.Sleep(50 * time.Millisecond)
	var got []bool
	// Two of four bytes taken by a raw read: the rest is found.
	read(make([]byte, 2), false)
	c.flags.And(^uint32(flagRReady)) // as if the report came before the read
	got = append(got, c.HookInput(seen))
	c.OnInput(nil)
	// The rest taken, the reader telling it drained the socket.
	read(make([]byte, 8), true)
	c.flags.And(^uint32(flagRReady))
	got = append(got, c.HookInput(seen))
	c.OnInput(nil)
	// Read's short read drains it too.
	client.Write([]byte("ef"))
	time.Sleep(50 * time.Millisecond)
	if n, err := c.Read(make([]byte, 8)); n != 2 || err != nil {
		t.Fatalf("Read = %d, %v", n, err)
	}
	c.flags.And(^uint32(flagRReady))
	got = append(got, c.HookInput(seen))
	c.OnInput(nil)
	// A full Read may leave bytes.
	client.Write([]byte("ghij"))
	time.Sleep(50 * time.Millisecond)
	c.Read(make([]byte, 2))
	c.flags.And(^uint32(flagRReady))
	got = append(got, c.HookInput(seen))
	c.OnInput(nil)
	if diff := cmp.Diff([]bool{true, false, false, true}, got); diff != "" {
		t.Errorf("HookInput's pending (-want +got)\n%s", diff)
	}
}

// TestConnDeadlineLazyTimer: a wait that keeps the timer its waiter's
// last wait armed (firing a little before its own deadline) still times
// out at its deadline, not at the kept timer's.
func TestConnDeadlineLazyTimer(t *testing.T) {
	c, client := acceptPair(t)
	buf := make([]byte, 4)
	c.SetReadDeadline(time.Now().Add(400 * time.Millisecond))
	go func() {
		time.Sleep(10 * time.Millisecond)
		client.Write([]byte("x"))
	}()
	if n, err := c.Read(buf); n != 1 || err != nil {
		t.Fatalf("Read = %d, %v", n, err)
	}
	// Within an eighth of the wait after the first one's: the first's
	// timer is kept and fires first.
	deadline := time.Now().Add(395 * time.Millisecond)
	c.SetReadDeadline(deadline)
	_, err := c.Read(buf)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("Read past its deadline = %v, want a timeout", err)
	}
	if early := time.Until(deadline); early > 0 {
		t.Errorf("Read timed out %v before its deadline", early)
	}
}

// TestConnDeadlineMovedWhileWaiting: a deadline moved later or cleared
// does not wake a waiting read (its timer does, early, and it looks
// again); one moved earlier than the timer still ends the wait at it.
func TestConnDeadlineMovedWhileWaiting(t *testing.T) {
	c, _ := acceptPair(t)
	buf := make([]byte, 4)
	c.SetReadDeadline(time.Now().Add(time.Hour))
	var deadline time.Time
	go func() {
		time.Sleep(20 * time.Millisecond)
		c.SetReadDeadline(time.Now().Add(2 * time.Hour))
		c.SetReadDeadline(time.Time{})
		time.Sleep(20 * time.Millisecond)
		deadline = time.Now().Add(30 * time.Millisecond)
		c.SetReadDeadline(deadline)
	}()
	start := time.Now()
	_, err := c.Read(buf)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("Read past its moved deadline = %v, want a timeout", err)
	}
	if early := time.Until(deadline); early > 0 {
		t.Errorf("Read timed out %v before its deadline", early)
	}
	if waited := time.Since(start); waited > time.Minute {
		t.Errorf("Read waited %v for a deadline 70ms away", waited)
	}
}

// BenchmarkConnWaitDeadline is a keep-alive exchange's read: the Conn
// waits (under a deadline, as a keep-alive connection's idle timeout)
// for a byte the peer sends in answer to the last one, so every
// iteration is one wait woken by the poller.
func BenchmarkConnWaitDeadline(b *testing.B) {
	c, client := acceptPair(b)
	go func() {
		buf := make([]byte, 1)
		for {
			if _, err := client.Read(buf); err != nil {
				return
			}
			if _, err := client.Write(buf); err != nil {
				return
			}
		}
	}()
	buf := []byte{'x'}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.SetReadDeadline(time.Now().Add(time.Minute))
		if _, err := c.Write(buf); err != nil {
			b.Fatal(err)
		}
		if _, err := c.Read(buf); err != nil {
			b.Fatal(err)
		}
	}
}

// TestConnRemoteAddr: an accepted Conn's peer is the client's address,
// as RemoteAddr and RemoteAddrPort give it,
// over IPv4 and IPv6.
func TestConnRemoteAddr(t *testing.T) {
	for _, network := range []string{"tcp4", "tcp6"} {
		t.Run(network, func(t *testing.T) {
			host := "127.0.0.1"
			if network == "tcp6" {
				host = "[::1]"
			}
			ln, err := net.Listen(network, host+":0")
			if err != nil {
				t.Skipf("no %s loopback: %v", network, err)
			}
			acc, err := NewAcceptor(ln)
			if err != nil {
				t.Fatalf("NewAcceptor: %v", err)
			}
			defer acc.Close()
			client, err := net.Dial(network, ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer client.Close()
			c, err := acc.Accept(nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			want := client.LocalAddr().String()
			got := []string{c.RemoteAddr().String(), c.RemoteAddrPort().String()}
			if diff := cmp.Diff([]string{want, want}, got); diff != "" {
				t.Errorf("peer address (-want +got):\n%s", diff)
			}
		})
	}
}

// TestConnDeadlineSetAsWaitBegins: a deadline set while a read begins
// its wait (before or after the wait armed its timer) ends the wait:
// setDeadline's skipped wake never leaves a wait with no timer for a
// deadline it did not see. The window (between the wait's look at the
// deadline and its timer's publication) is narrow: the loop makes the
// set land at varied points, and a lost wake shows as a wait that never
// ends.
func TestConnDeadlineSetAsWaitBegins(t *testing.T) {
	c, _ := acceptPair(t)
	buf := make([]byte, 4)
	for i := 0; i < 200; i++ {
		c.SetReadDeadline(time.Time{})
		if i%2 == 1 {
			// A timer armed further away first: the new deadline is
			// sooner than it.
			c.SetReadDeadline(time.Now().Add(time.Hour))
		}
		done := make(chan error, 1)
		go func() {
			_, err := c.Read(buf)
			done <- err
		}()
		for j := 0; j < i%7; j++ {
			runtime.Gosched()
		}
		c.SetReadDeadline(time.Now().Add(time.Millisecond))
		select {
		case err := <-done:
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				t.Fatalf("try %d: Read = %v, want a timeout", i, err)
			}
		case <-time.After(time.Minute):
			t.Fatalf("try %d: Read still waits a minute past its deadline", i)
		}
	}
}

// TestConnFD: FD is the descriptor a RawConn's Control sees, and -1 once
// the Conn closed (as Control fails then).
func TestConnFD(t *testing.T) {
	c, _ := acceptPair(t)
	rc, _ := c.SyscallConn()
	seen := -1
	rc.Control(func(fd uintptr) { seen = int(fd) })
	if c.FD() != seen || seen < 0 {
		t.Errorf("FD %d, Control saw %d", c.FD(), seen)
	}
	c.Close()
	if c.FD() != -1 {
		t.Errorf("FD after Close %d, want -1", c.FD())
	}
}

// clockSeen records EventNanotime as the poller reports input.
type clockSeen chan int64

func (s clockSeen) Ready(uint32) { s <- EventNanotime() }

// TestEventNanotime: a handler's EventNanotime is the clock of the
// batch it is in: read after the input was sent, before the handler ran.
func TestEventNanotime(t *testing.T) {
	c, client := acceptPair(t)
	seen := make(clockSeen, 1)
	c.OnInput(seen)
	defer c.OnInput(nil)
	for i := 0; i < 3; i++ {
		time.Sleep(2 * time.Millisecond)
		sent := Nanotime()
		client.Write([]byte("x"))
		got := <-seen
		if after := Nanotime(); got < sent || got > after {
			t.Errorf("EventNanotime %d, not within the send %d and the report %d", got, sent, after)
		}
		c.ReadNow(make([]byte, 8))
	}
}

// TestDialWaitsForConnect: a connect still under way (the listener's
// accept queue full: its SYN is dropped and resent) is not a
// connection: Dial waits for it and gives up at its deadline, as Go's
// dial and nginx's proxy_connect_timeout. (getsockopt's SO_ERROR is 0
// while connecting: taken alone, it passed a socket in SYN_SENT as
// connected, and the connect's failure came as the first write's.)
func TestDialWaitsForConnect(t *testing.T) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := (&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: sa.(*syscall.SockaddrInet4).Port}).String()
	// Fill the queue: connections the listener never accepts, until
	// one's connect does not complete.
	full := false
	for range 16 {
		c, err := net.DialTimeout("tcp4", addr, 200*time.Millisecond)
		if err != nil {
			full = true
			break
		}
		defer c.Close()
	}
	if !full {
		t.Fatal("the listener's accept queue never filled")
	}
	c, err := Dial(addr, time.Now().Add(200*time.Millisecond), nil)
	if err == nil {
		c.Close()
		t.Fatal("Dial to a listener whose queue is full connected")
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Dial = %v, want a timeout", err)
	}
	// DialAddrPortWithin makes its deadline from now and the timeout
	// only as the connect waits: it gives up there too.
	c, _, err = DialAddrPortWithin(netip.MustParseAddrPort(addr), addr, time.Now(), 200*time.Millisecond, nil, nil)
	if err == nil {
		c.Close()
		t.Fatal("DialAddrPortWithin to a listener whose queue is full connected")
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("DialAddrPortWithin = %v, want a timeout", err)
	}
}

// TestDialWithinConnectedAtOnce: a connect on loopback is done at once:
// DialAddrPortWithin says it did not wait (its caller's clock is the
// connect's end too), with a timeout or none.
func TestDialWithinConnectedAtOnce(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	for _, timeout := range []time.Duration{0, time.Minute} {
		c, waited, err := DialAddrPortWithin(netip.MustParseAddrPort(addr), addr, time.Now(), timeout, nil, nil)
		if err != nil {
			t.Fatalf("DialAddrPortWithin (timeout %v): %v", timeout, err)
		}
		if waited {
			t.Errorf("DialAddrPortWithin (timeout %v) waited for a connect on loopback", timeout)
		}
		peer, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		if n, err := c.Write([]byte("x")); n != 1 || err != nil {
			t.Errorf("Write = %d, %v", n, err)
		}
		buf := make([]byte, 1)
		if _, err := io.ReadFull(peer, buf); err != nil {
			t.Errorf("peer read: %v", err)
		}
		peer.Close()
		c.Close()
	}
}

// TestAcceptedWatchesOutOnlyToWait: an accepted socket is registered
// for input only, as a dialed one (its add reported it writable: a turn
// of the poller's loop for nothing, per connection); a write that must
// wait adds writability first and goes on once the client reads.
func TestAcceptedWatchesOutOnlyToWait(t *testing.T) {
	c, client := acceptPair(t)
	SettleConns()
	if c.hasFlag(flagOutOn) || c.hasFlag(flagWReady) {
		t.Fatal("an accepted socket watched writability (or was reported writable) before any write waited")
	}
	writeWaitsWatched(t, c, client)
}

// TestDialedWatchesOutOnlyToWait: a dialed socket connected at once (on
// loopback, nearly always) is registered for input only (its add would
// report it writable: a turn of the poller's loop for nothing, per
// connection); a write that must wait adds writability first and goes on
// once the peer reads.
func TestDialedWatchesOutOnlyToWait(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := Dial(ln.Addr().String(), time.Now().Add(10*time.Second), nil)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()
	peer, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	SettleConns()
	if !c.hasFlag(flagOutOn) && c.hasFlag(flagWReady) {
		t.Fatal("connected at once, registered for input only: writable reported")
	}
	writeWaitsWatched(t, c, peer)
}

// writeWaitsWatched writes more than the socket buffers take on c and
// checks that the write, once it had to wait, watched writability and
// went on when peer read it all. The peer reads nothing until then: a
// reader draining as it goes could let every partial write through
// without a wait, and the test see nothing.
func writeWaitsWatched(t *testing.T, c *Conn, peer net.Conn) {
	t.Helper()
	c.SetWriteDeadline(time.Now().Add(20 * time.Second)) // a bound
	big := make([]byte, 16<<20)
	done := make(chan error, 1)
	go func() {
		_, err := c.Write(big)
		done <- err
	}()
	watched := false
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(time.Millisecond) {
		if watched = c.hasFlag(flagOutOn); watched {
			break
		}
	}
	if !watched {
		t.Error("a write that waited did not watch writability")
	}
	peer.SetReadDeadline(time.Now().Add(20 * time.Second))
	if n, err := io.ReadFull(peer, make([]byte, len(big))); err != nil {
		t.Fatalf("read %d of %d: %v", n, len(big), err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Write: %v", err)
	}
}

// TestConnDeadlineAfter: a deadline set as a time and a timeout is the
// one SetReadDeadline(now.Add(timeout)) sets (the same place on the
// monotonic scale: a read under one passed fails at once, one ahead
// lets the read take the bytes), none with no timeout; SetDeadline's
// cleared deadlines clear both sides.
func TestConnDeadlineAfter(t *testing.T) {
	c, client := acceptPair(t)
	defer c.Close()
	now := time.Now()
	for _, timeout := range []time.Duration{time.Nanosecond, time.Minute, 50 * 365 * 24 * time.Hour} {
		c.SetReadDeadline(now.Add(timeout))
		want := c.r.deadline.Load()
		c.SetReadDeadlineAfter(now, timeout)
		if got := c.r.deadline.Load(); got != want {
			t.Errorf("read deadline after %v: %d, want %d", timeout, got, want)
		}
		c.SetWriteDeadlineAfter(now, timeout)
		if got := c.w.deadline.Load(); got != want {
			t.Errorf("write deadline after %v: %d, want %d", timeout, got, want)
		}
	}
	c.SetReadDeadlineAfter(now, 0)
	c.SetWriteDeadlineAfter(now, -time.Second)
	if r, w := c.r.deadline.Load(), c.w.deadline.Load(); r != 0 || w != 0 {
		t.Errorf("deadlines with no timeout: %d, %d, want none", r, w)
	}
	client.Write([]byte("x"))
	buf := make([]byte, 4)
	c.SetReadDeadlineAfter(time.Unix(1, 0), time.Second) // long past, as SetReadDeadline's
	if _, err := c.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read under a deadline passed = %v", err)
	}
	c.SetReadDeadlineAfter(time.Now(), time.Minute)
	if n, err := c.Read(buf); n != 1 || err != nil {
		t.Fatalf("Read under a deadline ahead = %d, %v", n, err)
	}
	c.SetDeadline(time.Now().Add(time.Minute))
	c.SetDeadline(time.Time{})
	if r, w := c.r.deadline.Load(), c.w.deadline.Load(); r != 0 || w != 0 {
		t.Errorf("deadlines cleared: %d, %d, want none", r, w)
	}
}

// TestDialNoDelay: Dial's socket has TCP_NODELAY, as package net's;
// DialAddrPortWithin's (a backend connection) has not, as nginx's
// upstream connection, until SetNoDelay.
func TestDialNoDelay(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	noDelay := func(c *Conn) int {
		t.Helper()
		v, err := syscall.GetsockoptInt(c.FD(), syscall.IPPROTO_TCP, syscall.TCP_NODELAY)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	d, err := Dial(addr, time.Time{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if v := noDelay(d); v == 0 {
		t.Errorf("Dial: TCP_NODELAY %d, want set", v)
	}
	w, _, err := DialAddrPortWithin(netip.MustParseAddrPort(addr), addr, time.Now(), 0, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if v := noDelay(w); v != 0 {
		t.Errorf("DialAddrPortWithin: TCP_NODELAY %d, want unset", v)
	}
	if err := w.SetNoDelay(true); err != nil {
		t.Fatal(err)
	}
	if v := noDelay(w); v == 0 {
		t.Errorf("after SetNoDelay(true): TCP_NODELAY %d, want set", v)
	}
	w.Close()
	if err := w.SetNoDelay(true); !errors.Is(err, net.ErrClosed) {
		t.Errorf("SetNoDelay after Close = %v, want net.ErrClosed", err)
	}
}

// TestWaiterClass: waits whose deadlines are as far away take waiters of
// one class, within an eighth of each other (a pooled waiter's armed
// timer is kept for them, waitOn's lazy rule); a keep-alive connection's
// idle grace (100 ms), a backend's read (60 s) and keepalive_timeout
// (75 s) each have their own, so their turns re-arm no timer.
func TestWaiterClass(t *testing.T) {
	if got := waiterClass(0); got != 0 {
		t.Errorf("waiterClass(0) = %d, want 0 (no deadline)", got)
	}
	if got := waiterClass(-5); got != 0 {
		t.Errorf("waiterClass(-5) = %d, want 0 (past)", got)
	}
	if got := waiterClass(1); got != 1 {
		t.Errorf("waiterClass(1) = %d, want 1 (under a millisecond)", got)
	}
	if got := waiterClass(math.MaxInt64); got >= waiterClasses {
		t.Errorf("waiterClass(MaxInt64) = %d, past the last class %d", got, waiterClasses-1)
	}
	lowest := make(map[int]int64)
	last := 0
	for left := int64(1 << minClassBits); left < math.MaxInt64/2; left += left/100 + 1 {
		c := waiterClass(left)
		if c < last || c <= 0 || c >= waiterClasses {
			t.Fatalf("waiterClass(%v) = %d after %d (of %d)", time.Duration(left), c, last, waiterClasses)
		}
		last = c
		low, ok := lowest[c]
		if !ok {
			lowest[c] = left
			continue
		}
		if left-low > low/8 {
			t.Fatalf("waiterClass: %v and %v both %d, more than an eighth apart", time.Duration(low), time.Duration(left), c)
		}
	}
	grace, read, keep := waiterClass(int64(100*time.Millisecond)), waiterClass(int64(60*time.Second)), waiterClass(int64(75*time.Second))
	if grace == read || read == keep || grace == keep {
		t.Errorf("classes: 100ms %d, 60s %d, 75s %d: want three", grace, read, keep)
	}
}
