package mail

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gonginx/gonginx/location"
	"github.com/gonginx/gonginx/upstream"
)

// Server runs the mail{} sockets of a configuration: accept loops and a
// session per connection; a reload keeps sessions running under the
// configuration they started with.
type Server struct {
	log    *location.Logger
	connID func() uint64
	slots  *upstream.ConnSlots

	mu        sync.Mutex
	listeners *location.ListenerSet[*listener]
	wg        sync.WaitGroup
	conns     location.ConnSet // sessions and their backends: a stop closes them
	closing   atomic.Bool
	cfg       atomic.Pointer[Config]
	done      chan struct{}
	closeOnce sync.Once
}

type listener struct {
	srv  *Server
	ln   net.Listener
	sock atomic.Pointer[socket]
}

// Opener opens (or takes from the master) the socket for l.
type Opener func(l *location.Listen) (net.Listener, error)

// NewServer returns a mail server logging to log; connID numbers the
// connections and slots are worker_connections (shared with the http
// side); hold delays accepting until Serve.
func NewServer(log *location.Logger, connID func() uint64, slots *upstream.ConnSlots, hold bool) *Server {
	return &Server{log: log, connID: connID, slots: slots,
		listeners: location.NewListenerSet[*listener](hold), done: make(chan struct{})}
}

// Apply serves cfg (nil: no mail{} block): sockets still configured keep
// their listener, new ones are opened with open, gone ones closed. On
// error nothing changes.
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
		ln, err := open(socks[i].listen)
		if err != nil {
			return nil, err
		}
		return &listener{srv: s, ln: ln}, nil
	}, func(all []*listener) {
		// An old configuration's resolvers serve its sessions still
		// running (they hold no goroutine); a stop ends the current
		// one's lookups.
		s.cfg.Store(cfg)
		for i, l := range all {
			l.sock.Store(socks[i])
		}
	})
}

// Serve starts the accept loops held since NewServer.
func (s *Server) Serve() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.listeners.Serve()
}

// Start runs l's accept loop (location.Listening).
func (l *listener) Start() {
	l.srv.wg.Add(1)
	go l.acceptLoop()
}

// Close stops accepting on l (location.Listening).
func (l *listener) Close() { l.ln.Close() }

func (l *listener) acceptLoop() {
	defer l.srv.wg.Done()
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
		if !l.srv.slots.Take() {
			l.srv.log.Log("alert", l.srv.slots.NotEnough())
			nc.Close()
			continue
		}
		if tc, ok := nc.(*net.TCPConn); ok {
			if ka := l.sock.Load().listen.SoKeepalive; ka == "" || ka == "off" {
				tc.SetKeepAlive(false)
			}
		}
		sock := l.sock.Load()
		ss := &session{srv: l.srv, sock: sock, sv: sock.server, nc: nc, id: l.srv.connID()}
		l.srv.slots.OpenedConn(nc, ss.id)
		ss.addr = nc.RemoteAddr().String()
		if h, p, err := net.SplitHostPort(ss.addr); err == nil {
			ss.addr, ss.port = h, p
		}
		l.srv.conns.Track(nc, true)
		l.srv.wg.Add(1)
		go func() {
			defer l.srv.wg.Done()
			defer l.srv.slots.Release()
			defer l.srv.conns.Track(nc, false)
			ss.run()
		}()
	}
}

// Shutdown stops accepting; sessions run on to their end.
func (s *Server) Shutdown() {
	s.closing.Store(true)
	s.mu.Lock()
	s.listeners.CloseAll()
	s.mu.Unlock()
}

// Close stops at once: listeners and sessions close.
func (s *Server) Close() {
	s.Shutdown()
	s.closeOnce.Do(func() { close(s.done) })
	if c := s.cfg.Load(); c != nil {
		c.groups.StopResolvers()
	}
	s.conns.CloseAll()
}

// Wait waits for every session to end.
func (s *Server) Wait() { s.wg.Wait() }
