package upstream

import (
	"errors"
	"net"
	"sync"
	"testing"
	"time"
)

// rearmingConn is a client connection whose body reader arms its own
// read deadline before it waits, as http1's does (client_body_timeout):
// a past deadline set just before that is lost.
type rearmingConn struct {
	net.Conn
	mu      sync.Mutex
	dl      time.Time
	changed chan struct{}
	poked   chan struct{} // closed at the first past deadline
	once    sync.Once
}

func (c *rearmingConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.dl = t
	c.mu.Unlock()
	if !t.IsZero() && t.Before(time.Now()) {
		c.once.Do(func() { close(c.poked) })
	}
	select {
	case c.changed <- struct{}{}:
	default:
	}
	return nil
}

func (c *rearmingConn) expired() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.dl.IsZero() && c.dl.Before(time.Now())
}

// TestGRPCJoinRearmedWriter: the response ended while the body writer was
// between its stop check and its read, and its reader armed a deadline
// after join set one in the past: join still stops it (it waited for the
// client's next byte or client_body_timeout: a response held, grpc.t's
// "discard" cases under load).
func TestGRPCJoinRearmedWriter(t *testing.T) {
	back, front := net.Pipe()
	defer back.Close()
	defer front.Close()
	hc := &h2Conn{Conn: back}
	hc.cond.L = &hc.mu
	client := &rearmingConn{changed: make(chan struct{}, 1), poked: make(chan struct{})}
	g := &grpcStream{hc: hc, writing: true, clientConn: client, writerDone: make(chan struct{}, 1)}
	go func() {
		defer func() { g.writerDone <- struct{}{} }()
		<-client.poked
		client.SetReadDeadline(time.Now().Add(time.Hour))
		for !client.expired() {
			<-client.changed
		}
	}()
	joined := make(chan struct{})
	go func() {
		g.join()
		close(joined)
	}()
	select {
	case <-joined:
	case <-time.After(10 * time.Second):
		t.Fatal("join still waits for a writer whose reader re-armed its deadline")
	}
	if g.writing {
		t.Error("writing still set after join")
	}
	client.mu.Lock()
	defer client.mu.Unlock()
	if !client.dl.IsZero() {
		t.Errorf("client read deadline left at %v, want cleared", client.dl)
	}
}

// TestGRPCFailBeforeArm: the body writer failed (the client's body read
// broke) just before the reader armed grpc_read_timeout, which undid the
// writer's past deadline: the reader still sees the failure at once
// instead of waiting for the backend or the timeout.
func TestGRPCFailBeforeArm(t *testing.T) {
	back, front := net.Pipe()
	defer back.Close()
	defer front.Close()
	hc := newH2Conn(back).(*h2Conn)
	g := &grpcStream{hc: hc}
	want := errors.New("client body read failed")
	g.fail(want)
	got := make(chan error, 1)
	go func() {
		_, _, err := g.nextEvent(&Proxy{ReadTimeout: time.Hour}, &exchange{}, actionHeader, false)
		got <- err
	}()
	select {
	case err := <-got:
		if err != want {
			t.Errorf("nextEvent: %v, want the writer's %v", err, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the reader waits on the backend after the writer failed")
	}
}
