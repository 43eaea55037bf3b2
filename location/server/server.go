package server

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gonginx/gonginx/location"
	"github.com/gonginx/gonginx/location/mail"
	"github.com/gonginx/gonginx/location/stream"
	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/rewrite/http1"
	"github.com/gonginx/gonginx/rewrite/http1/freelist"
	"github.com/gonginx/gonginx/rewrite/http2"
	"github.com/gonginx/gonginx/upstream"
	"github.com/gonginx/gonginx/upstream/poller"
)

// StartOptions configure Start.
type StartOptions struct {
	Compile location.Options
	// ErrorLog receives nginx-format error lines (stderr when nil).
	ErrorLog io.Writer
	// Logger replaces ErrorLog when set (shared across reloads).
	Logger *location.Logger
	// Listeners pre-opened by the caller, by nginx address text
	// ("127.0.0.1:9000"); others are opened by Start.
	Listeners map[string]net.Listener
	// PacketConns are the stream{} UDP sockets pre-opened by the caller,
	// by location.Listen.Key ("127.0.0.1:53 udp").
	PacketConns map[string]net.PacketConn
	// InheritedOnly makes a socket missing from Listeners an error: a
	// worker serves only what its master bound.
	InheritedOnly bool
	// Hold keeps Start from accepting until Serve is called, so a worker
	// can drop its privileges between loading keys and serving.
	Hold bool
	// Counters, when set, are shared with other processes (a worker's
	// point into memory its master shares with all workers); nil: the
	// server's own.
	Counters *Counters
	// Channel: a worker's channel to its master takes one of its
	// worker_connections, as nginx's does.
	Channel bool
}

// Counters are what nginx keeps in shared memory for all its workers:
// the connection serial number ($connection) and stub_status's counters.
type Counters struct {
	Conn  atomic.Uint64
	Stats rewrite.ConnStats
}

// Server runs a location.Router on its listen sockets. Reload swaps in a new
// configuration atomically; connections pick it up at their next request.
type Server struct {
	opts StartOptions
	log  *location.Logger

	mu        sync.Mutex
	listeners map[string]*listener // by socket address text
	conns     *serverConn          // the first of the tracked connections' list
	wg        sync.WaitGroup
	closing   atomic.Bool
	stopped   atomic.Bool // Close: accepted connections are refused
	rt        atomic.Pointer[location.Router]
	// routers are the configurations in use: the current one, and old
	// ones some connection or tunnel still runs under.
	routers []*location.Router
	// users counts the connections bound to each old configuration:
	// one replaced by a reload is dropped when its last connection or
	// tunnel ends. curUsers counts the current one's (rt's, under mu):
	// a map's increment and decrement cost each connection ~200
	// instructions.
	users    map[*location.Router]int
	curUsers int
	// terminating: an immediate stop began (Terminate); a response's
	// last write then waits on cut, which Close closes (cutOnce).
	terminating atomic.Bool
	cut         chan struct{}
	cutOnce     sync.Once
	counters    *Counters
	held        []*listener // accept loops waiting for Serve
	order       acceptOrder
	// stream serves the stream{} sockets.
	stream *stream.Server
	mail   *mail.Server
	// slots are worker_connections: listeners, clients and backends
	// take one each (conn.go, upstream).
	slots    *upstream.ConnSlots
	reuseSeq atomic.Int64 // orders connections as they become reusable
	// graceWaits counts the keep-alive connections waiting out idleGrace
	// with their goroutine (h1.go).
	graceWaits atomic.Int32
	// idleTimers: keepalive_timeout of the parked connections.
	idleTimers    idleTimers
	streamSockets int // stream{} listening sockets holding slots (under mu)
}

type listener struct {
	ln net.Listener
	// acc accepts a TCP socket's connections as the poller's Conns (nil:
	// ln's Accept, a unix socket's or where there is no epoll).
	acc  *poller.Acceptor
	ka   acceptedKeepalive // what ln's accepted connections get
	sock atomic.Pointer[location.Socket]
	tls  atomic.Pointer[tls.Config]
	srv  *Server
	// port is the listening port ($server_port of a connection whose
	// local address is not read: a wildcard listener's).
	port uint16
	// ip and ipText: the listening address when not a wildcard, and its
	// text ($server_addr of its connections).
	ip     net.IP
	ipPort int
	ipText http1.LocalAddr // an http1.AddrText, made into an interface once
	// lastIP is the client address of the connection accepted last and
	// lastIPText its text ($remote_addr), which the next connection from
	// the same address shares (acceptLoop's alone).
	lastIP     netip.Addr
	lastIPText string
}

type serverConn struct {
	nc net.Conn
	// prev and next link the server's connections (Server.conns): a map
	// cost an idle connection about 50 bytes more, with the garbage of
	// its growth.
	prev, next *serverConn
	// ext is what few connections have: an HTTP/2 one's http2.Conn, an
	// ordered one's place (connExt). Two pointers of their own kept
	// serverConn a size class larger (216 bytes: 224, not 208).
	ext atomic.Pointer[connExt]
	// flags are connIdle and connSlot, in one word: two atomic.Bools
	// (four bytes each) with timerAt kept serverConn a size class
	// larger (240 bytes, not 224).
	flags atomic.Uint32
	// timerAt: keepalive_timeout while parked is in the server's
	// idleTimers, at index timerAt-1 (0: not there).
	timerAt int32
	// reusable is nginx's reusable connection: waiting for a request
	// (no byte of it yet) or lingering. Non-zero: the order it became
	// so, oldest first for ngx_drain_connections.
	reusable atomic.Int64
	// h1 is an HTTP/1 connection's state across requests (h1.go).
	h1 h1Conn
	// info is the connection's ConnInfo, in its record: one allocation
	// less per connection, and a 240-byte record where the two took
	// 224 and 96.
	info http1.ConnInfo
}

// connExt holds what a serverConn needs only for some connections: nil
// for a plain HTTP/1 connection in a configuration that does not order.
type connExt struct {
	// h2, for an HTTP/2 connection, is stopped gracefully with GOAWAY.
	h2    atomic.Pointer[http2.Conn]
	order *orderedConn // nil when the configuration does not order
}

// h2 is an HTTP/2 connection's http2.Conn, or nil.
func (sc *serverConn) h2() *http2.Conn {
	if e := sc.ext.Load(); e != nil {
		return e.h2.Load()
	}
	return nil
}

// setH2 records the connection's http2.Conn (its own goroutine's call).
func (sc *serverConn) setH2(hc *http2.Conn) {
	if e := sc.ext.Load(); e != nil {
		e.h2.Store(hc)
		return
	}
	e := &connExt{}
	e.h2.Store(hc)
	sc.ext.Store(e)
}

// order is an ordered connection's place, or nil.
func (sc *serverConn) order() *orderedConn {
	if e := sc.ext.Load(); e != nil {
		return e.order
	}
	return nil
}

const (
	// connIdle: waiting for a request (or a HTTP/2 connection without
	// streams): a graceful stop closes it at once.
	connIdle = 1 << iota
	// connSlot: it holds one of worker_connections (a drain may take it).
	connSlot
	// connLive: endConn has not ended it yet. With the park references
	// (connParkRef each, the bits above) it is who may still touch the
	// record: the last to let go gives it back to connRecs (sc.unref).
	connLive
	// connFinishing: its response's last write is going out and its
	// access line is not written yet (Finishing): an immediate stop
	// waits for the line. The next setIdle(true) ends it, or the
	// connection's end (it leaves the server's list).
	connFinishing
)

// connParkRef is one park()'s reference, counted in flags' upper bits:
// once its waker parked, the connection may be woken, served and ended
// by another goroutine while park still reads sc (hasSlot, Unpark).
// Parks overlap (a connection woken parks again while the park before
// has not returned), so a count, not a bit.
const connParkRef = 1 << 8

// connRecs keeps the records of ended connections for the next accepted
// ones: per ws-connect connection it was 224 of the ~512 bytes the
// process allocated, so a share of how often the GC ran. It holds only
// ended connections' records (none per idle connection), each with its
// socket's Conn when Recycle kept it (nc), for the next accept.
var connRecs = freelist.New[serverConn](512)

// unref drops a reference, connLive (endConn's) or connParkRef (park's);
// the last one gives the record back to connRecs when nothing else can
// still hold it. Nothing of sc is touched after it.
func (sc *serverConn) unref(ref uint32) {
	var left uint32
	if ref == connLive {
		left = sc.flags.And(^uint32(connLive)) &^ connLive
	} else {
		left = sc.flags.Add(^uint32(connParkRef - 1))
	}
	if left&^(connParkRef-1) != 0 || left&connLive != 0 {
		return
	}
	// Not pooled (left to the GC): an HTTP/2 connection (its streams'
	// parker, h2Streams.Park, reads sc after it parked, unreferenced),
	// a TLS one (an ssl address's), an ordered one (its orderedConn is in the server's
	// queue), and one whose socket is not a poller.Conn (its input
	// watch has no fence). Nor one whose socket still has an input
	// handler (sc's, had endConn not unhooked it: the socket's
	// registration lasts until its last call returns, so the poller
	// could still report to it), or whose poller may still be calling
	// sc.Ready: it took the handler before endConn unhooked it
	// (InputQuiet false).
	// The socket, closed, goes with the record for the accept that
	// takes it (acceptLoop) when nothing can reach it either (Recycle);
	// the record goes without it when something might.
	pc, ok := sc.nc.(*poller.Conn)
	if !ok || sc.ext.Load() != nil || sc.h1.tconn != nil || sc.h1.has(h1TLSAddr) ||
		pc.InputHooked() {
		return
	}
	// A Conn recycled had its poller quiet (Recycle looked).
	recycled := pc.Recycle()
	if !recycled && !pc.InputQuiet() {
		return
	}
	*sc = serverConn{}
	if recycled {
		sc.nc = pc
	}
	connRecs.Put(sc)
}

// setIdle marks the connection idle or not (connIdle); idle, its last
// response is done with (connFinishing cleared).
func (sc *serverConn) setIdle(idle bool) {
	// Each Or, And or Add is a locked instruction: a flag already as
	// wanted (a request's second clear, after RequestBytes's) is left
	// alone, and a finished response's mark goes in the same Add that
	// makes the connection idle (only this goroutine changes the two).
	f := sc.flags.Load()
	switch {
	case !idle:
		if f&connIdle != 0 {
			sc.flags.And(^uint32(connIdle))
		}
	case f&(connIdle|connFinishing) == connFinishing:
		sc.flags.Add(^uint32(connFinishing - connIdle - 1)) // -connFinishing+connIdle
	case f&connFinishing != 0:
		sc.flags.And(^uint32(connFinishing))
	case f&connIdle == 0:
		sc.flags.Or(connIdle)
	}
}

// Finishing is http1.ResponseFinisher: the response's last write is
// about to go out. Marked first, then the stop looked at, as Terminate
// does the two the other way round: either the stop waits for this
// request's line, or the write never happens. Refused, the request
// waits here until the process exits (or Close, in a test's process).
func (sc *serverConn) Finishing() bool {
	sc.flags.Or(connFinishing)
	s := sc.h1.l.srv
	if !s.terminating.Load() {
		return true
	}
	<-s.cut
	return false
}

func (sc *serverConn) isIdle() bool  { return sc.flags.Load()&connIdle != 0 }
func (sc *serverConn) hasSlot() bool { return sc.flags.Load()&connSlot != 0 }

// Start compiles cfg and listens on its sockets.
func Start(cfg *nginxconf.Config, opts StartOptions) (*Server, error) {
	opts.Compile.LoadCerts, opts.Compile.Serving = true, true
	if opts.Compile.CompileStream == nil {
		opts.Compile.CompileStream = stream.Compile
	}
	if opts.Compile.CompileMail == nil {
		opts.Compile.CompileMail = mail.CompileOption
	}
	s := &Server{}
	s.idleTimers.Claim, s.idleTimers.Expire = claimIdle, s.endIdle
	s.slots = upstream.NewConnSlots(upstream.DefaultWorkerConnections, s.drainReusable)
	opts.Compile.Slots = s.slots
	rt, err := location.Compile(cfg, opts.Compile)
	if err != nil {
		return nil, err
	}
	s.opts, s.listeners = opts, map[string]*listener{}
	s.users, s.cut = map[*location.Router]int{}, make(chan struct{})
	if opts.Channel {
		s.slots.Force()
	}
	if s.counters = opts.Counters; s.counters == nil {
		s.counters = &Counters{}
	}
	s.slots.SetSerial(&s.counters.Conn)
	s.log = opts.Logger
	if s.log == nil {
		s.log = location.NewLogger(opts.ErrorLog)
	}
	if opts.Hold {
		s.held = []*listener{}
	}
	s.stream = stream.NewServer(s.log, func() uint64 { return s.counters.Conn.Add(1) }, s.slots, opts.Hold)
	s.mail = mail.NewServer(s.log, func() uint64 { return s.counters.Conn.Add(1) }, s.slots, opts.Hold)
	if err := s.apply(rt); err != nil {
		s.closeListeners()
		return nil, err
	}
	return s, nil
}

// Serve starts accepting on the listeners of a Start with Hold.
func (s *Server) Serve() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.held {
		s.wg.Add(1)
		go l.acceptLoop()
	}
	s.held = nil
	s.stream.Serve()
	s.mail.Serve()
}

// Router returns the configuration being served.
func (s *Server) Router() *location.Router { return s.rt.Load() }

// Logger returns the server's logger.
func (s *Server) Logger() *location.Logger { return s.log }

// Addrs returns the bound addresses, in socket order.
func (s *Server) Addrs() []net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []net.Addr
	for _, sock := range s.rt.Load().Sockets {
		if l := s.listeners[sock.Listen.Addr]; l != nil {
			out = append(out, l.ln.Addr())
		}
	}
	return out
}

// Reload compiles cfg and, when it compiles, serves it: sockets still in
// the configuration keep their listener, new ones are opened, and gone
// ones closed. On error the old configuration keeps serving.
func (s *Server) Reload(cfg *nginxconf.Config) error {
	opts := s.opts.Compile
	opts.LoadCerts, opts.Serving = true, true
	if opts.CompileStream == nil {
		opts.CompileStream = stream.Compile
	}
	if opts.CompileMail == nil {
		opts.CompileMail = mail.CompileOption
	}
	rt, err := location.Compile(cfg, opts)
	if err != nil {
		return err
	}
	return s.apply(rt)
}

// apply opens missing listeners, installs rt, and closes listeners whose
// socket is gone.
func (s *Server) apply(rt *location.Router) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	type pending struct {
		l    *listener
		sock *location.Socket
		tc   *tls.Config
		new  bool
	}
	var todo []pending
	keep := map[string]bool{}
	for _, sock := range rt.Sockets {
		tc, err := rt.TLSConfig(sock, s.log)
		if err != nil {
			return err
		}
		key := sock.Listen.Addr
		keep[key] = true
		if l := s.listeners[key]; l != nil {
			todo = append(todo, pending{l: l, sock: sock, tc: tc})
			continue
		}
		ln, err := s.listen(sock.Listen)
		if err != nil {
			for _, p := range todo {
				if p.new {
					p.l.close()
				}
			}
			return err
		}
		todo = append(todo, pending{l: newListener(s, ln), sock: sock, tc: tc, new: true})
	}
	if err := s.applyStream(rt); err != nil {
		for _, p := range todo {
			if p.new {
				p.l.close()
			}
		}
		return err
	}
	if err := s.applyMail(rt); err != nil {
		for _, p := range todo {
			if p.new {
				p.l.close()
			}
		}
		return err
	}
	// The stream{} sockets take their connections too.
	streamSockets := 0
	if rt.Stream != nil {
		streamSockets = len(rt.Stream.Listens())
	}
	if rt.Mail != nil {
		streamSockets += len(rt.Mail.Listens())
	}
	for ; s.streamSockets < streamSockets; s.streamSockets++ {
		s.slots.Force()
	}
	for ; s.streamSockets > streamSockets; s.streamSockets-- {
		s.slots.Release()
	}
	s.slots.SetLimit(rt.WorkerConnections)
	old := s.rt.Load()
	s.rt.Store(rt)
	s.routers = append(s.routers, rt)
	if old != nil {
		// Nothing new goes to the old configuration's backends: its idle
		// keep-alive connections close now, the ones in use when their
		// request ends (as nginx's old workers close theirs as they exit).
		old.RetireBackends()
		if s.curUsers == 0 {
			s.dropRouter(old)
		} else {
			s.users[old] = s.curUsers
		}
		s.curUsers = 0
	}
	for _, p := range todo {
		p.l.sock.Store(p.sock)
		p.l.tls.Store(p.tc)
		if p.new {
			// A listening socket takes a connection in every worker
			// (ngx_event_process_init).
			s.slots.Force()
			s.listeners[p.sock.Listen.Addr] = p.l
			if s.opts.Hold && s.held != nil {
				s.held = append(s.held, p.l)
				continue
			}
			s.wg.Add(1)
			go p.l.acceptLoop()
		}
	}
	for key, l := range s.listeners {
		if !keep[key] {
			l.close()
			s.slots.Release()
			delete(s.listeners, key)
		}
	}
	return nil
}

// applyStream serves rt's stream{} block (none: its sockets close).
func (s *Server) applyStream(rt *location.Router) error {
	var cfg *stream.Config
	if rt.Stream != nil {
		cfg = rt.Stream.(*stream.Config)
	}
	return s.stream.Apply(cfg, s.openStream)
}

// applyMail serves rt's mail{} block (none: its sockets close).
func (s *Server) applyMail(rt *location.Router) error {
	var cfg *mail.Config
	if rt.Mail != nil {
		cfg = rt.Mail.(*mail.Config)
	}
	return s.mail.Apply(cfg, func(l *location.Listen) (net.Listener, error) {
		ln, _, err := s.openStream(l)
		return ln, err
	})
}

// openStream opens a stream{} socket, or takes the master's.
func (s *Server) openStream(l *location.Listen) (net.Listener, net.PacketConn, error) {
	if l.UDP {
		if pc, ok := s.opts.PacketConns[l.Key()]; ok {
			return nil, pc, nil
		}
	} else if ln, ok := s.opts.Listeners[l.Key()]; ok {
		return ln, nil, nil
	}
	if s.opts.InheritedOnly {
		return nil, nil, fmt.Errorf("socket %s was not inherited from the master process", l.Key())
	}
	if l.UDP {
		pc, err := ListenPacketSocket(l)
		return nil, pc, err
	}
	ln, err := ListenSocket(l)
	return ln, nil, err
}

// acquire returns the configuration being served, counted as used by
// one more connection until release.
func (s *Server) acquire() *location.Router {
	s.mu.Lock()
	rt := s.rt.Load()
	s.curUsers++
	s.mu.Unlock()
	return rt
}

// release ends one connection's use of rt; an old configuration no
// connection uses any more is dropped.
func (s *Server) release(rt *location.Router) {
	s.mu.Lock()
	if rt == s.rt.Load() {
		s.curUsers--
	} else if s.users[rt]--; s.users[rt] == 0 {
		s.dropRouter(rt)
	}
	s.mu.Unlock()
}

// switchRouter moves a connection from rt to the configuration being
// served, which it returns.
func (s *Server) switchRouter(rt *location.Router) *location.Router {
	cur := s.acquire()
	s.release(rt)
	return cur
}

// dropRouter forgets an old configuration (called with s.mu held).
func (s *Server) dropRouter(rt *location.Router) {
	delete(s.users, rt)
	rt.CloseLogs()
	for i, r := range s.routers {
		if r == rt {
			s.routers = append(s.routers[:i], s.routers[i+1:]...)
			break
		}
	}
}

// Shutdown stops accepting, closes idle connections and waits for
// in-flight requests to finish (SIGQUIT); when ctx ends first the rest
// are closed too.
func (s *Server) Shutdown(ctx context.Context) error {
	s.closing.Store(true)
	s.closeListeners()
	s.stream.Shutdown()
	s.mail.Shutdown()
	s.closeConns(true)
	s.eachRouter((*location.Router).ExitBackends)
	waited := make(chan struct{})
	go func() { s.wg.Wait(); s.stream.Wait(); s.mail.Wait(); close(waited) }()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-waited:
			s.closeBackends()
			s.log.Close()
			return nil
		case <-tick.C:
			s.closeConns(true)
		case <-ctx.Done():
			s.terminateRequests()
			s.stream.Close()
			s.mail.Close()
			s.closeTunnels()
			s.closeConns(false)
			<-waited
			s.closeBackends()
			s.log.Close()
			return ctx.Err()
		}
	}
}

// terminateRequests ends the server's requests that wait on a backend
// when worker_shutdown_timeout passed, as nginx's shutdown timer
// terminates every request: their backends close and they end unlogged
// but for their access line.
func (s *Server) terminateRequests() {
	fds := map[int]bool{}
	s.mu.Lock()
	for sc := s.conns; sc != nil; sc = sc.next {
		if c, ok := sc.nc.(syscall.Conn); ok {
			if raw, err := c.SyscallConn(); err == nil {
				raw.Control(func(fd uintptr) { fds[int(fd)] = true })
			}
		}
	}
	s.mu.Unlock()
	upstream.TerminateRequests(func(fd int) bool { return fds[fd] })
}

// Close stops at once (SIGTERM/SIGINT): listeners and connections close.
func (s *Server) Close() error {
	s.cutOnce.Do(func() { close(s.cut) })
	s.mu.Lock()
	s.stopped.Store(true) // under mu: no connection is tracked after closeConns
	s.mu.Unlock()
	s.closing.Store(true)
	s.closeListeners()
	s.stream.Close()
	s.mail.Close()
	s.closeTunnels()
	s.closeConns(false)
	s.stopResolvers()
	s.wg.Wait()
	s.stream.Wait()
	s.mail.Wait()
	s.closeBackends()
	s.eachRouter((*location.Router).CloseLogs)
	s.log.Close()
	return nil
}

// Terminate ends a worker's fast stop (SIGTERM/SIGINT) as
// ngx_worker_process_exit does: nothing in flight is waited for or
// closed, requests awaiting a backend included; the process's exit closes
// every socket, as nginx's exit does, and what a request would log on its
// way out (a 499, "client prematurely closed", an access line) is not
// written, as nginx writes none. But a request whose response's last
// write went out is logged, as nginx logs it in the handler of that
// write: the stop waits (at most finishWait) for the lines of those
// still finishing, and refuses the last writes that come after it. Then
// the buffered access logs are flushed; the caller exits at once.
func (s *Server) Terminate() {
	s.terminating.Store(true)
	s.awaitFinishing(finishWait)
	s.log.Close()
}

// finishWait bounds an immediate stop's wait for the requests whose last
// write is going out: one blocked on a client that does not read is not
// answered (nginx's exit cuts it, unlogged), and the master's SIGKILL
// comes after a second and a half.
const finishWait = 250 * time.Millisecond

// awaitFinishing waits up to d for the connections marked connFinishing
// to log their request (the mark is cleared, or they end); none: it
// returns at once.
func (s *Server) awaitFinishing(d time.Duration) {
	deadline := time.Now().Add(d)
	for {
		finishing := false
		s.mu.Lock()
		for sc := s.conns; sc != nil && !finishing; sc = sc.next {
			finishing = sc.flags.Load()&connFinishing != 0
		}
		s.mu.Unlock()
		if !finishing || time.Now().After(deadline) {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// OpenConns lists the client and backend connections still open, by
// descriptor: what ngx_worker_process_exit alerts of when a graceful
// stop is cut short.
func (s *Server) OpenConns() []upstream.OpenConn { return s.slots.OpenConns(connectedStream) }

// stopResolvers ends name lookups in flight: a request waiting for a
// silent name server must not hold a stopping server for resolver_timeout.
func (s *Server) stopResolvers() { s.eachRouter((*location.Router).StopResolvers) }

// closeBackends closes the idle keep-alive backend connections of every
// configuration once no request runs (a stop).
func (s *Server) closeBackends() { s.eachRouter((*location.Router).RetireBackends) }

// eachRouter calls f on every configuration served.
func (s *Server) eachRouter(f func(*location.Router)) {
	s.mu.Lock()
	routers := append([]*location.Router(nil), s.routers...)
	s.mu.Unlock()
	for _, rt := range routers {
		f(rt)
	}
}

func (s *Server) closeTunnels() { s.eachRouter((*location.Router).CloseTunnels) }

func (s *Server) closeListeners() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, l := range s.listeners {
		l.close()
		s.slots.Release()
		delete(s.listeners, k)
	}
}

func (s *Server) closeConns(idleOnly bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for sc := s.conns; sc != nil; sc = sc.next {
		if h2 := sc.h2(); h2 != nil && idleOnly {
			h2.Shutdown()
			continue
		}
		if !idleOnly || sc.isIdle() {
			sc.nc.Close()
			sc.unpark()
		}
	}
}
