package server

import (
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/gonginx/gonginx/location"
	"github.com/gonginx/gonginx/rewrite/http1"
	"github.com/gonginx/gonginx/rewrite/http2"
)

// h2Streams runs an HTTP/2 connection's streams: each is one request on
// the connection's configuration, through location as an HTTP/1 request
// is.
type h2Streams struct {
	// mu guards streams and ended: the connection counts as waiting
	// while no stream runs, as nginx's idle HTTP/2 connection is reusable.
	mu      sync.Mutex
	streams int
	ended   bool
	debug   bool // a debug_connection client
	// Parking (h2park.go): registered: on the poller (until Closing);
	// watching: with its input (while parked: a busy connection's
	// arrivals would wake the poller's loop for nothing); raw is the
	// socket under TLS, owner the net.Conn it belongs to.
	registered, watching bool
	l                    *listener
	rt                   *location.Router
	addr                 *location.Addr
	connID               uint64
	accepted             time.Time
	sc                   *serverConn
	hc                   *http2.Conn
	info                 *http1.ConnInfo
	raw                  syscall.RawConn
	owner                net.Conn
}

// busy counts a stream starting (d 1) or ending (-1), and the
// connection waiting when none runs.
func (h *h2Streams) busy(d int) {
	h.mu.Lock()
	if !h.ended {
		was := h.streams
		h.streams += d
		// Idle, it is reusable too (nginx's ngx_http_v2_handle_connection):
		// a drain of worker_connections may end it.
		switch {
		case was == 0 && h.streams > 0:
			h.l.srv.counters.Stats.Waiting.Add(-1)
			h.sc.reusable.Store(0)
		case was > 0 && h.streams == 0:
			h.l.srv.counters.Stats.Waiting.Add(1)
			h.sc.reusable.Store(h.l.srv.reuseSeq.Add(1))
		}
	}
	h.mu.Unlock()
}

// end stops counting the connection (it closed).
func (h *h2Streams) end() {
	h.mu.Lock()
	if !h.ended && h.streams == 0 {
		h.l.srv.counters.Stats.Waiting.Add(-1)
	}
	h.ended = true
	h.sc.reusable.Store(0) // counted here, not by endConn
	h.mu.Unlock()
}

// LogInfo logs an info line of the connection as nginx's connection log
// does: its number, then the client and the listening address.
func (h *h2Streams) LogInfo(msg string) {
	client := ""
	if h.info != nil {
		client = h.info.RemoteAddr
	}
	h.addr.ConnInfo(h.l.srv.log, h.connID, msg+" while processing HTTP/2 connection", client, h.l.sock.Load().Listen.Addr)
}

// LogStreamInfo logs a stream's header error as nginx's stream log does.
func (h *h2Streams) LogStreamInfo(msg string, host []byte) {
	client := ""
	if h.info != nil {
		client = h.info.RemoteAddr
	}
	h.addr.StreamHeaderInfo(h.l.srv.log, h.connID, msg, client, host)
}

func (h *h2Streams) ServeStream(s *http2.Stream) {
	h.busy(1)
	defer h.busy(-1)
	stats := &h.l.srv.counters.Stats
	stats.Requests.Add(1)
	stats.Writing.Add(1)
	defer stats.Writing.Add(-1)
	x := location.NewConn(h.rt, s.Conn(), h.l.srv.log, h.connID, h.accepted, stats, false)
	x.SetDebugConnection(h.debug)
	defer x.Release()
	x.Prepare(h.addr)
	req, perr := s.Start()
	if s.Malformed() {
		x.Dropped(h.addr)
	} else if perr != nil {
		x.BadStreamRequest(h.addr, perr, s.ErrHost())
	} else {
		x.Serve(h.addr, req)
	}
	if line := s.TakeReset(); line != "" {
		// A reset no backend's try logged (nginx logs it at once, in
		// the stream's context).
		x.LogInfo(line)
	}
	x.AccessLog()
	x.EndRequest()
}

// serveHTTP2 runs conn as HTTP/2 (ALPN "h2", or "listen ... http2"
// without ssl: nginx 1.22 takes only the connection preface there). pre
// is what was read of it already. It reports true when the connection
// parked (its end is then the resumed goroutine's).
func (l *listener) serveHTTP2(sc *serverConn, conn net.Conn, info *http1.ConnInfo, rt *location.Router, addr *location.Addr, connID uint64, accepted time.Time, pre []byte) bool {
	info.HTTP2 = http1.H2C
	if info.TLS {
		info.HTTP2 = http1.H2
	}
	cfg := addr.HTTP2Config()
	h := &h2Streams{l: l, sc: sc, rt: rt, addr: addr, connID: connID, accepted: accepted, info: info, debug: rt.Debug.Match(info.RemoteAddr)}
	l.srv.counters.Stats.Waiting.Add(1) // until a stream starts
	sc.reusable.Store(l.srv.reuseSeq.Add(1))
	hc := http2.NewConn(conn, cfg, info, h, pre)
	if ht := cfg.HeaderTimeout; !accepted.IsZero() && ht > 0 {
		// The first frames' timer runs from accept, as the handshake's.
		hc.SetHeaderTimeout(max(ht-time.Since(accepted), time.Nanosecond))
	}
	h.initPark(conn, hc)
	if h.raw != nil {
		hc.SetParker(h, idleGrace)
	}
	sc.setH2(hc)
	sc.setIdle(true)
	if l.srv.closing.Load() {
		hc.Shutdown()
	}
	if hc.Serve() {
		return true
	}
	h.end()
	return false
}
