package stream

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gonginx/gonginx/location"
	"github.com/gonginx/gonginx/upstream"
)

// Server runs the stream{} sockets of a configuration: accept loops, a
// session per TCP connection or UDP client, and reloads that keep the
// sessions running under the configuration they started with.
type Server struct {
	log    *location.Logger
	connID func() uint64 // the next connection number ($connection)
	// slots are the process's worker_connections, shared with the http
	// side: a session takes one for its client (TCP connection or UDP
	// client) and one for its backend connection, as nginx's
	// ngx_get_connection does.
	slots *upstream.ConnSlots

	cfg       atomic.Pointer[Config]
	mu        sync.Mutex
	listeners *location.ListenerSet[*listener]
	wg        sync.WaitGroup
	tunnels   *upstream.Tunnels
	conns     location.ConnSet // sessions not yet proxying: a stop closes them
	closing   atomic.Bool
	order     limitOrder // limit_conn checks in accept order
}

// listener is one stream socket.
type listener struct {
	srv  *Server
	ln   net.Listener   // TCP or unix
	pc   net.PacketConn // UDP
	sock atomic.Pointer[socket]
	udp  *udpListener
	// done is closed with the listener (an ordered accept's wait).
	done      chan struct{}
	closeOnce sync.Once
}

// Opener opens (or takes from the master) the socket for l.
type Opener func(l *location.Listen) (net.Listener, net.PacketConn, error)

// NewServer returns a stream server logging to log; connID numbers the
// connections and slots are worker_connections (both shared with the
// http side; nil slots: no limit); hold delays accepting until Serve.
func NewServer(log *location.Logger, connID func() uint64, slots *upstream.ConnSlots, hold bool) *Server {
	return &Server{log: log, connID: connID, slots: slots, listeners: location.NewListenerSet[*listener](hold),
		tunnels: upstream.NewTunnels()}
}

// Apply serves cfg (nil: no stream{} block): sockets still configured
// keep their listener, new ones are opened with open, gone ones closed.
// On error nothing changes.
func (s *Server) Apply(cfg *Config, open Opener) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var socks []*socket
	if cfg != nil {
		socks = cfg.sockets
	}
	keys := make([]string, len(socks))
	for i, sock := range socks {
		keys[i] = sock.listen.Key()
	}
	return s.listeners.Update(keys, func(i int) (*listener, error) {
		ln, pc, err := open(socks[i].listen)
		if err != nil {
			return nil, err
		}
		return &listener{srv: s, ln: ln, pc: pc, done: make(chan struct{})}, nil
	}, func(all []*listener) {
		if cfg != nil {
			s.cfg.Store(cfg)
		}
		for i, l := range all {
			l.sock.Store(socks[i])
		}
	})
}

// Start runs l's accept loop, or its datagram loop (location.Listening).
func (l *listener) Start() {
	l.srv.wg.Add(1)
	if l.pc != nil {
		l.udp = newUDPListener(l)
		go l.udp.readLoop()
		return
	}
	go l.acceptLoop()
}

// Serve starts the accept loops held since NewServer.
func (s *Server) Serve() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.listeners.Serve()
}

// Close stops l (location.Listening): a UDP listener's sessions are told
// no more datagrams come.
func (l *listener) Close() {
	if l.udp != nil {
		l.udp.stop()
	}
	l.closeOnce.Do(func() { close(l.done) })
	if l.ln != nil {
		l.ln.Close()
	}
	if l.pc != nil {
		l.pc.Close()
	}
}

func (l *listener) acceptLoop() {
	defer l.srv.wg.Done()
	if l.sock.Load().limited && l.orderedAccept() {
		return
	}
	delay := time.Duration(0)
	for {
		nc, err := l.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || l.srv.closing.Load() {
				return
			}
			delay = min(max(delay*2, 5*time.Millisecond), time.Second)
			time.Sleep(delay)
			continue
		}
		delay = 0
		if !l.takeSlot(nc) {
			continue
		}
		if tc, ok := nc.(*net.TCPConn); ok {
			// Go's accept turns keep-alive on; nginx's connections keep
			// the listening socket's, off unless so_keepalive.
			if ka := l.sock.Load().listen.SoKeepalive; ka == "" || ka == "off" {
				tc.SetKeepAlive(false)
			}
		}
		l.admit(nc)
	}
}

// admit starts the session of an accepted connection. One that
// limit_conn counts takes its place in line here, at its accept: nginx
// runs the preaccess phase in the accept's event, so a session accepted
// earlier (on any listener) is counted before a later one is checked.
func (l *listener) admit(nc net.Conn) {
	var seq uint64
	if l.sock.Load().limited {
		seq = l.srv.order.add()
	}
	l.srv.wg.Add(1)
	go l.serveConn(nc, seq)
}

// takeSlot is ngx_event_accept's: without a free connection the socket
// is closed at once.
func (l *listener) takeSlot(nc net.Conn) bool {
	if !l.srv.slots.Take() {
		l.srv.log.Log("alert", l.srv.slots.NotEnough())
		nc.Close()
		return false
	}
	return true
}

// Shutdown stops accepting; sessions run on to their end (a graceful
// stop or the old generation of a reload): call Wait.
func (s *Server) Shutdown() {
	s.closing.Store(true)
	s.mu.Lock()
	s.listeners.CloseAll()
	s.mu.Unlock()
}

// Close stops at once: listeners, sessions and tunnels close.
func (s *Server) Close() {
	s.Shutdown()
	s.tunnels.CloseAll()
	s.conns.CloseAll()
}

// Wait waits for every session to end.
func (s *Server) Wait() { s.wg.Wait() }

// Sessions is the number of sessions proxying (for tests).
func (s *Server) Sessions() int { return s.tunnels.Len() }
