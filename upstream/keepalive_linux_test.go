package upstream

import (
	"net"
	"path/filepath"
	"testing"
	"time"

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

// A kept connection is watched from its first time idle: the backend's
// close is told by the poller (no peek at reuse) and the connection is
// closed, not reused; a close not told yet, or bytes the backend sent on
// the idle connection (which nginx's armed read event sees), are found by
// the peek: such a connection is closed, never read by the next request.
func TestKeepaliveCloseWatch(t *testing.T) {
	p, err := poller.Default()
	if err != nil {
		t.Skip(err)
	}
	now := time.Now()
	newGroup := func() *Group {
		return &Group{Servers: []*Server{{}}, Keepalive: 2, KeepaliveTimeout: time.Minute,
			KeepaliveRequests: 100, KeepaliveTime: time.Hour}
	}
	tests := []struct {
		name        string
		closePeer   bool
		sendPeer    bool // the backend sends bytes no request asked for
		settle      bool // the poller's events handled before the reuse
		unreported  bool // the poller has not told of the close yet
		wantReused  bool
		wantWatched bool // the watch has seen the close
	}{
		{"open", false, false, true, false, true, false},
		{"closed, told by the poller", true, false, true, false, false, true},
		{"closed, not told yet", true, false, false, true, false, false},
		{"bytes sent while idle", false, true, true, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGroup()
			defer g.closeIdle(false)
			near, far := unixPair(t)
			life := connLife{expires: now.Add(time.Hour), requests: 1, fd: connFD(near)}
			g.putIdle(near, 0, life, now)
			if len(g.idle) != 1 {
				t.Fatal("not kept")
			}
			w := g.idle[0].life.watch
			if w == nil {
				t.Fatal("a kept Unix socket is not watched")
			}
			if tt.unreported {
				// As if the poller's goroutine had not run yet.
				w.reg.Forget()
				w = &closeWatch{}
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
			if got := w.closed.Load(); got != tt.wantWatched {
				t.Errorf("watch saw the close: %v, want %v", got, tt.wantWatched)
			}
			nc, got := g.getIdle(0, now)
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
			g.putIdle(nc, 0, got, now)
			if g.idle[0].life.watch != w {
				t.Error("watched again")
			}
		})
	}
}
