package stream

import (
	"errors"
	"net"
	"sync"
	"time"

	"github.com/gonginx/gonginx/upstream"
)

// udpListener reads a "listen ... udp" socket: a datagram from a client
// address without a session starts one (nginx's ngx_stream_init_connection
// for a new UDP "connection"), the others go to its session.
type udpListener struct {
	l        *listener
	mu       sync.Mutex
	sessions map[string]*udpSession // by client address
	stopped  bool
}

type udpSession struct {
	in   chan upstream.Datagram
	addr net.Addr
	// up is the server socket once the listener writes the session's
	// datagrams itself (guarded by the listener's mu); ready is closed
	// when the first datagram went out, or the session ended or chose not
	// to: the listener reads the next datagram only then, so the server
	// gets them in the order the clients sent them, as from nginx.
	up        net.Conn
	dg        *upstream.Datagrams
	ready     chan struct{}
	readyOnce sync.Once
	// left is how many more datagrams the session takes (proxy_requests;
	// -1: no limit); at 0 the client's next ones start a new session, as
	// ngx_delete_udp_connection unbinds it.
	left int
}

func newUDPListener(l *listener) *udpListener {
	return &udpListener{l: l, sessions: map[string]*udpSession{}}
}

func (u *udpListener) readLoop() {
	defer u.l.srv.wg.Done()
	buf := make([]byte, 65536)
	for {
		n, addr, err := u.l.pc.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) || u.l.srv.closing.Load() {
				u.stop()
				return
			}
			continue
		}
		b := append([]byte(nil), buf[:n]...)
		u.mu.Lock()
		started := u.dispatch(addr.String(), addr, b)
		u.mu.Unlock()
		if started != nil {
			select {
			case <-started.ready:
			case <-time.After(time.Second): // a resolver, say: order yields
			}
		}
	}
}

// dispatch gives a datagram to its client's session, starting one when
// the client has none (called with u.mu held, so datagrams keep their
// order); it returns the session it started.
func (u *udpListener) dispatch(key string, addr net.Addr, b []byte) (started *udpSession) {
	us := u.sessions[key]
	if us != nil && us.up != nil {
		us.dg.Sending()
		n, err := us.up.Write(b)
		if errors.Is(err, net.ErrClosed) {
			// The session finished after its last datagram: this one
			// starts the next, as nginx would have unbound it already.
			delete(u.sessions, key)
			close(us.in)
			us = nil
		} else {
			d := upstream.Datagram{B: b, Written: true, Sent: n, Err: err}
			select {
			case us.in <- d:
			default: // sent; only its count is lost
			}
			u.countLeft(us, key)
			return nil
		}
	}
	if us == nil {
		// ngx_event_recvmsg: a new client takes a connection; without
		// one free the datagram is dropped.
		if !u.l.srv.slots.Take() {
			u.l.srv.log.Log("alert", u.l.srv.slots.NotEnough())
			return nil
		}
		us = &udpSession{in: make(chan upstream.Datagram, 64), addr: addr, left: -1, ready: make(chan struct{})}
		started = us
		if socks := u.l.sock.Load().addrs; socks[len(socks)-1].srv.proxy != nil {
			if n := socks[len(socks)-1].srv.proxy.Requests; n > 0 {
				us.left = n
			}
		}
		u.sessions[key] = us
		u.l.srv.wg.Add(1)
		go u.serve(us, key)
	}
	select {
	case us.in <- upstream.Datagram{B: b}:
		u.countLeft(us, key)
	default: // a full queue drops the datagram, as a full socket buffer would
	}
	return started
}

// countLeft counts a datagram against proxy_requests: the last one
// unbinds the session (u.mu held).
func (u *udpListener) countLeft(us *udpSession, key string) {
	if us.left > 0 {
		if us.left--; us.left == 0 {
			delete(u.sessions, key)
			close(us.in)
		}
	}
}

func (us *udpSession) markReady() { us.readyOnce.Do(func() { close(us.ready) }) }

// end unbinds a session that is over. Datagrams that reached it after it
// stopped reading (nginx would have seen it finish first, in one event
// loop) start the client's next session, in their order.
func (u *udpListener) end(us *udpSession, key string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.sessions[key] == us {
		delete(u.sessions, key)
		close(us.in)
	}
	for d := range us.in {
		if !u.stopped && !d.Written {
			if ns := u.dispatch(key, us.addr, d.B); ns != nil {
				ns.markReady() // no wait here: the order is kept by u.mu
			}
		}
	}
}

// stop ends the sessions' input: they finish what they wait for.
func (u *udpListener) stop() {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.stopped {
		return
	}
	u.stopped = true
	for k, us := range u.sessions {
		close(us.in)
		delete(u.sessions, k)
	}
}

func (u *udpListener) serve(us *udpSession, key string) {
	s := u.l.srv
	defer s.wg.Done()
	ss := &session{srv: s, cfg: s.cfg.Load(), sock: u.l.sock.Load(), udp: true, start: time.Now(), id: s.connID()}
	ss.slotHeld.Store(true)
	defer ss.releaseSlot()
	ss.init(u.l.pc.LocalAddr(), us.addr)
	defer u.end(us, key)
	defer us.markReady()
	status := ss.runUDP(us, u.l.pc, u, key)
	ss.finish(status)
}

// runUDP runs the phases of a UDP session.
func (ss *session) runUDP(us *udpSession, pc net.PacketConn, u *udpListener, key string) int {
	srv := ss.server
	ss.note("info", "client "+ss.ci.RemoteAddr+":"+ss.ci.RemotePortText()+" connected to "+ss.listenText)
	d, ok := <-us.in
	if !ok {
		return 200
	}
	first := d.B
	ss.received += int64(len(first))
	if srv.set != nil {
		srv.set.Run(&ss.st)
	}
	if st := ss.limitConn(); st != 0 {
		return st
	}
	if st := ss.access(); st != 0 {
		return st
	}
	reply := func(b []byte) (int, error) { return pc.WriteTo(b, us.addr) }
	switch {
	case srv.ret != nil:
		n, _ := reply(srv.ret.Eval(&ss.st, nil))
		ss.sent += int64(n)
		return 200
	case srv.proxy != nil:
		sp := &upstream.StreamSession{State: &ss.st, Received: ss.received, UDP: true,
			Log: ss.proxyLog, Note: ss.note, CountConn: ss.countConn, Ending: ss.ending}
		dg := &upstream.Datagrams{First: first, In: us.in, Reply: reply}
		unbind := func() { // u.mu held
			us.up = nil
			if u.sessions[key] == us {
				delete(u.sessions, key)
				close(us.in)
			}
		}
		dg.Done = func() {
			u.mu.Lock()
			unbind()
			u.mu.Unlock()
		}
		dg.Unbind = func(last func() bool) bool {
			u.mu.Lock()
			defer u.mu.Unlock()
			if !last() {
				return false
			}
			unbind()
			return true
		}
		dg.Direct = func(up net.Conn) {
			u.mu.Lock()
			us.up, us.dg = up, dg
			u.mu.Unlock()
			us.markReady()
		}
		status := srv.proxy.ServeUDP(sp, dg)
		ss.sent += sp.Sent
		ss.received = sp.Received
		ss.upstreamName, ss.usent, ss.urecv = sp.Upstream, sp.UpstreamSent, sp.UpstreamRecv
		return status
	}
	return 500
}
