package upstream

import (
	"net"
	"syscall"
	"testing"
	"time"
)

// wakeRecorder is a connection's input handler, as the server's: its
// Waker's wakes are sent on woken.
type wakeRecorder struct {
	Waker
	woken chan struct{}
}

func (r *wakeRecorder) Ready(uint32) {
	if r.Woken() {
		GoResume(Func(func() { r.woken <- struct{}{} }))
	}
}

// parkPair is a loopback connection whose server side is registered for
// input with a Waker that reports each wake on woken.
func parkPair(t *testing.T) (client net.Conn, w *Waker, woken chan struct{}) {
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
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := server.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ForgetClient(raw, server)
		server.Close()
		client.Close()
	})
	r := &wakeRecorder{woken: make(chan struct{}, 4)}
	if !WatchInput(raw, server, r) {
		t.Fatal("WatchInput: no poller")
	}
	return client, &r.Waker, r.woken
}

func waitWoken(t *testing.T, woken chan struct{}) {
	t.Helper()
	select {
	case <-woken:
	case <-time.After(10 * time.Second):
		t.Fatal("not woken")
	}
}

func TestWakerWakesOnInput(t *testing.T) {
	client, w, woken := parkPair(t)
	if !w.Park() {
		t.Fatal("Park failed with nothing sent")
	}
	client.Write([]byte("GET"))
	waitWoken(t, woken)
	if w.Parked() || w.Unpark() {
		t.Fatal("still parked after the wake")
	}
	// Input that arrives while the owner runs makes the next Park fail
	// (it reads instead), once.
	client.Write([]byte(" /"))
	for i := 0; w.state.Load() != wakerReady; i++ {
		if i == 1000 {
			t.Fatal("input not seen while running")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if w.Park() {
		t.Fatal("Park succeeded with input unread")
	}
	if !w.Park() {
		t.Fatal("second Park failed")
	}
	// A hang-up wakes it too: its read sees the end.
	client.Close()
	waitWoken(t, woken)
}

func TestWakerUnpark(t *testing.T) {
	_, w, woken := parkPair(t)
	if !w.Park() {
		t.Fatal("Park failed")
	}
	if !w.Unpark() {
		t.Fatal("Unpark of a parked connection failed")
	}
	if w.Unpark() {
		t.Fatal("Unpark of a running connection succeeded")
	}
	select {
	case <-woken:
		t.Fatal("woken after Unpark")
	default:
	}
}
