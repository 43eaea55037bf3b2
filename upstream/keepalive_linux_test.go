package upstream

import (
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/gonginx/gonginx/rewrite/http1"
	"github.com/gonginx/gonginx/upstream/poller"
)

// unixPair is a connected pair of Unix stream sockets of package net's:
// a peer's close reaches the other end before Close returns, so what it
// causes can be checked without waiting.
func unixPair(t *testing.T) (near *net.UnixConn, far net.Conn) {
	t.Helper()
	ln, err := net.Listen("unix", filepath.Join(t.TempDir(), "s"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("unix", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := ln.Accept()
	if err != nil {
		c.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return c.(*net.UnixConn), s
}

// A kept connection is watched from its first time idle for its
// backend's bytes and close, as nginx's cached connection's read event
// is armed. A reuse peeks when the poller reported the socket since the
// last look, when its last read filled its buffer (bytes may be left
// that no report announces), or at the first reuse (what came before the
// watch); such a connection with bytes or an end is closed, never read by
// the next request. A quiet one is reused without a peek: bytes the
// poller has not told of yet are not seen, nginx's race (its worker
// reuses the connection before the epoll_wait that would report them).
func TestKeepaliveCloseWatch(t *testing.T) {
	p, err := poller.ConnPoller()
	if err != nil {
		t.Skip(err)
	}
	now := time.Now()
	newGroup := func() *Group {
		return &Group{Servers: []*Server{{}}, Keepalive: 2, KeepaliveTimeout: time.Minute,
			KeepaliveRequests: 100, KeepaliveTime: time.Hour}
	}
	tests := []struct {
		name       string
		looked     bool // reused once with nothing sent: quiet since
		full       bool // its last read filled the buffer
		closePeer  bool
		sendPeer   bool // the backend sends bytes no request asked for
		settle     bool // the poller's events handled before the reuse
		unreported bool // the poller has not told of what came yet
		wantReused bool
		wantQuiet  bool // no report since the last look
	}{
		{"open, first reuse", false, false, false, false, true, false, true, false},
		{"open, looked at before", true, false, false, false, true, false, true, true},
		{"closed, told by the poller", true, false, true, false, true, false, false, false},
		{"bytes sent while idle, told by the poller", true, false, false, true, true, false, false, false},
		{"closed before the first look, not told yet", false, false, true, false, false, true, false, false},
		{"bytes left by a read that filled its buffer", true, true, false, true, false, true, false, true},
		{"bytes not told yet: reused without a peek", true, false, false, true, false, true, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGroup()
			defer g.closeIdle(false)
			near, far := unixPair(t)
			life := connLife{expires: now.Add(time.Hour), requests: 1, fd: connFD(near)}
			g.putIdle(near, 0, &life, now)
			if len(g.idle) != 1 {
				t.Fatal("not kept")
			}
			w := g.idle[0].life.watch
			if w == nil {
				t.Fatal("a kept Unix socket is not watched")
			}
			if tt.looked {
				nc, got := getIdleOf(g, 0, now)
				if nc == nil {
					t.Fatal("an open connection not reused")
				}
				if !w.quiet.Load() {
					t.Fatal("not quiet after a look")
				}
				got.full = tt.full
				g.putIdle(nc, 0, &got, now)
			}
			if tt.unreported {
				// As if the poller's goroutine had not run yet.
				quiet := w.quiet.Load()
				w.reg.Forget()
				w = &closeWatch{}
				w.quiet.Store(quiet)
				g.idle[0].life.watch = w
			}
			if tt.closePeer {
				far.Close()
			}
			if tt.sendPeer {
				far.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
			}
			if tt.settle {
				p.Settle()
			}
			if got := w.quiet.Load(); got != tt.wantQuiet {
				t.Errorf("quiet: %v, want %v", got, tt.wantQuiet)
			}
			nc, got := getIdleOf(g, 0, now)
			if (nc != nil) != tt.wantReused {
				t.Fatalf("reused: %v, want %v", nc != nil, tt.wantReused)
			}
			if nc == nil {
				// Closed by the pool: its descriptor is gone.
				if _, err := near.SyscallConn(); err == nil {
					if err := near.SetDeadline(time.Time{}); err == nil {
						t.Error("a stale connection was left open")
					}
				}
				return
			}
			if got.watch != w {
				t.Error("the reused connection lost its watch")
			}
			// Back to the pool: no second registration.
			g.putIdle(nc, 0, &got, now)
			if g.idle[0].life.watch != w {
				t.Error("watched again")
			}
		})
	}
}

// A kept connection the poller reported between the reuse's look and the
// request's send (its deferred send, made by the response's first read):
// what the backend sent is no answer to the request, which is not sent
// (the try fails as on a kept connection the backend closed, and a fresh
// one is tried); reported with nothing there, the request goes out and
// its answer is read.
func TestKeepaliveReportedBeforeSend(t *testing.T) {
	for _, sendPeer := range []bool{true, false} {
		near, far := unixPair(t)
		if sendPeer {
			far.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nPOISON"))
		}
		req := []byte("GET / HTTP/1.1\r\nHost: b\r\n\r\n")
		sp := &sendPend{out: req}
		life := connLife{fd: connFD(near), sock: http1.SockFor(near), watch: &closeWatch{}, pend: sp}
		answered := make(chan []byte, 1)
		if !sendPeer {
			go func() {
				b := make([]byte, len(req))
				if _, err := io.ReadFull(far, b); err != nil {
					answered <- nil
					return
				}
				answered <- b
				far.Write([]byte("HTTP/1.1 204 No Content\r\n\r\n"))
			}()
		}
		buf := make([]byte, 256)
		n, err := life.read(near, buf)
		if sendPeer {
			if err != errStaleKept || sp.err != errStaleKept || sp.unsent != len(req) {
				t.Errorf("bytes before the send: read %q, %v (send's error %v, unsent %d), want errStaleKept, all unsent",
					buf[:n], err, sp.err, sp.unsent)
			}
			if idleClosed(connFD(far)) {
				t.Error("the request went out")
			}
		} else {
			if err != nil || string(buf[:n]) != "HTTP/1.1 204 No Content\r\n\r\n" {
				t.Errorf("nothing before the send: read %q, %v", buf[:n], err)
			}
			if got := <-answered; string(got) != string(req) {
				t.Errorf("backend got %q, want the request", got)
			}
			if !life.watch.quiet.Load() || life.full {
				t.Error("a read that emptied the socket is not a look")
			}
		}
		http1.PutSock(life.sock)
	}
}

// The poller's report of a request's answer, handled after the request
// went out and before the read that takes the answer, leaves no peek for
// the next reuse: each read of a kept connection's Sock is its look
// (Sock.MarkReads), not only the one before the send. An answer that came
// with the backend's close is still looked at: the reuse peeks, finds the
// end and closes the connection.
func TestKeepaliveAnswerReportedBeforeRead(t *testing.T) {
	p, err := poller.ConnPoller()
	if err != nil {
		t.Skip(err)
	}
	now := time.Now()
	for _, closeToo := range []bool{false, true} {
		g := &Group{Servers: []*Server{{}}, Keepalive: 2, KeepaliveTimeout: time.Minute,
			KeepaliveRequests: 100, KeepaliveTime: time.Hour}
		near, far := unixPair(t)
		sock := http1.SockFor(near)
		if sock == nil {
			t.Fatal("no Sock for a Unix socket")
		}
		life := connLife{expires: now.Add(time.Hour), requests: 1, fd: connFD(near), sock: sock}
		g.putIdle(near, 0, &life, now)
		nc, got := getIdleOf(g, 0, now) // the first reuse's look
		if nc == nil {
			t.Fatal("an open connection not reused")
		}
		w := got.watch
		answer := "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
		b := make([]byte, 512)
		_, n, _, err := got.sock.SendRead([]byte("GET / HTTP/1.1\r\n\r\n"), b, false, func() bool {
			far.Write([]byte(answer))
			if closeToo {
				far.Close()
			}
			p.Settle() // the answer's report handled before the read
			return false
		})
		if err != nil || string(b[:n]) != answer {
			t.Fatalf("read %q, %v", b[:n], err)
		}
		if !w.quiet.Load() {
			t.Errorf("close %v: the answer's report, handled before the read that took it, is left for a peek", closeToo)
		}
		got.requests++
		g.putIdle(nc, 0, &got, now)
		nc, got = getIdleOf(g, 0, now)
		if reused := nc != nil; reused == closeToo {
			t.Errorf("close %v: reused %v", closeToo, reused)
		}
		if nc != nil {
			nc.Close()
			got.release()
		}
		g.closeIdle(false)
	}
}
