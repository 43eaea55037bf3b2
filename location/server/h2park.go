package server

import (
	"crypto/tls"
	"net"
	"syscall"
	"time"

	"github.com/gonginx/gonginx/rewrite/http2"
	"github.com/gonginx/gonginx/upstream"
	"github.com/gonginx/gonginx/upstream/tlsutil"
)

// An idle HTTP/2 connection parks (http2.Parker, h2Streams' methods
// here) as an HTTP/1 keep-alive connection parks, with the same fields of
// its serverConn: the socket on the process's poller with sc.h1.waker
// (serverConn.Ready its handler, which resumes h2Streams),
// keepalive_timeout in the server's idleTimers at sc.h1.idleUntil.
// Parked, the connection holds no goroutine: its socket, TLS state,
// HPACK table and settings.

// initPark finds the socket under conn (TLS's): raw, and owner the
// net.Conn it belongs to.
func (p *h2Streams) initPark(conn net.Conn, hc *http2.Conn) {
	p.hc = hc
	nc := conn
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	if s, ok := nc.(syscall.Conn); ok {
		if raw, err := s.SyscallConn(); err == nil {
			p.raw, p.owner = raw, nc
		}
	}
}

// Park is http2.Parker's: the connection's reader ends its goroutine.
func (p *h2Streams) Park(until time.Time) bool {
	w := &p.sc.h1
	srv := p.l.srv
	if !p.watching {
		w.l = p.l
		if !upstream.WatchInput(p.raw, p.owner, p.sc) {
			p.hc.NoPark() // no poller: it waits with its goroutine
			return false
		}
		p.registered, p.watching = true, true
	}
	w.idleUntil = monoOf(until)
	timed := !until.IsZero()
	if timed {
		srv.idleTimers.Add(p.sc)
	}
	if w.tconn != nil {
		// crypto/tls's input and handshake buffers, which the next
		// record makes again (~3.5 KB).
		tlsutil.ReleaseBuffers(w.tconn)
	}
	if !w.waker.Park() {
		p.unparked()
		return false
	}
	// A stop or a drain that looked before it parked, or
	// keepalive_timeout passed meanwhile (the timer found nothing to
	// take): it reads on.
	if (srv.closing.Load() || !p.sc.hasSlot() || timed && !time.Now().Before(until)) && w.waker.Unpark() {
		p.unparked()
		return false
	}
	return true
}

// unparked takes a connection that runs again off the timers and its
// input off the poller: a busy connection's arrivals are its reader's.
func (p *h2Streams) unparked() {
	p.l.srv.idleTimers.Remove(p.sc)
	if p.watching {
		upstream.StopInput(p.raw, p.owner, p.sc)
		p.watching = false
	}
}

// Resume runs a parked connection again (the waker's, on a goroutine of
// the poller's): input, keepalive_timeout, or a stop.
func (p *h2Streams) Resume() {
	p.unparked()
	if p.hc.Resume() {
		return
	}
	p.end()
	p.l.srv.endConn(p.sc)
}

// Wake is http2.Parker's: a stop's GOAWAY was said.
func (p *h2Streams) Wake() { p.sc.unpark() }

// Closing is http2.Parker's: the socket leaves the poller before it
// closes (its descriptor may be another connection's next).
func (p *h2Streams) Closing() {
	if p.registered {
		p.registered = false
		upstream.ForgetClient(p.raw, p.owner)
	}
}
