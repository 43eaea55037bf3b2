package upstream

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"syscall"

	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/rewrite/http1"
	"github.com/gonginx/gonginx/upstream/poller"
)

// ErrClientClosed is returned with status 499 when the client hung up
// while the backend's answer was awaited.
var ErrClientClosed = errors.New("client prematurely closed connection, so upstream connection is closed too")

// ErrTerminated is returned with status 499 when worker_shutdown_timeout
// ended the request (TerminateRequests): nothing is logged for it and its
// access line has the status sent, or none ("000"), as nginx's shutdown
// timer's ngx_http_terminate_request. It is a kind of ErrClientClosed.
var ErrTerminated = fmt.Errorf("request terminated: %w", ErrClientClosed)

// clientWatch watches a client connection for a hang-up while a backend
// is awaited, as nginx's ngx_http_upstream_check_broken_connection: an
// EOF (a half-close included, for HTTP/1.x) or an error means the client
// is gone, and the backend connection is closed at once. Bytes from the
// client (a pipelined request) are no abort.
//
// A connection is registered with the process's poller (abort_linux.go,
// upstream/poller: the epoll set parked tunnels use too) at its first
// proxied request and stays registered until ForgetClient, or until a
// tunnel takes the registration over (handOver), so a request costs no
// system call: it only names its backend. The server's own sockets
// (poller.Conn) are not registered again: their lifelong registration
// tells the watch of hang-ups (OnHangup). A hang-up reported between
// requests is kept (nginx's pending_eof) for the next one.
type clientWatch struct {
	// conn: the server's own socket, whose hang-ups reach the watch
	// through its lifelong registration (OnHangup); else reg is the
	// watch's own on the process's poller.
	conn   *poller.Conn
	reg    poller.Reg
	events uint32 // the registration's
	// listed: w is byFd's entry for its descriptor (set under the
	// watcher's lock): a check with no map lookup.
	listed  bool
	fd      int
	owner   net.Conn        // the client connection the fd belongs to
	raw     syscall.RawConn // owner's socket, for the request's goroutine
	backend net.Conn        // the request's backend; nil between requests
	eof     bool            // the client hung up (kept between requests)
	// fresh: registered by this request's watch, so a hang-up that came
	// before is queued in the epoll set and not seen yet.
	fresh bool
	// terminated: the abort was a stop's (TerminateRequests), not the
	// client's; set under the watcher's lock.
	terminated bool
	// inputSeen: an input event came (the socket may hold unread bytes
	// no later event will report); next: the handler that took the
	// registration over, to which events still reaching this one go.
	// (The bools sit together, in what alignment leaves: input, an
	// interface, made the record a size class larger.)
	inputSeen bool
	aborted   atomic.Bool
	// input, when set, is told of input on the socket too (WatchInput):
	// the registration then includes EPOLLIN.
	input poller.Handler
	next  poller.Handler
	// ownPrev and ownNext link the watcher's list of the server's own
	// sockets' watches (abort_linux.go).
	ownPrev, ownNext *clientWatch
}

// streamWatch is a client with no socket of its own that reports its end
// itself: an HTTP/2 stream (http2.Stream).
type streamWatch interface {
	WatchAbort(backend io.Closer)
	StopWatch() bool
}

// subWatcher is a subrequest's stream whose request tree ends its
// backend when the client is gone (http1.Conn.SubWatch).
type subWatcher interface {
	SubWatch() http1.AbortWatch
}

// watchClient starts watching the client connection owner (its socket
// raw) for a hang-up during the current request; it closes backend if
// one comes. It returns nil when it cannot watch; else the caller must
// call stop.
// upgrade: the request may become a tunnel, which then takes the
// registration over as it is (handOver: with EPOLLIN from the start, no
// system call at the switch).
func watchClient(raw syscall.RawConn, owner net.Conn, backend net.Conn, upgrade bool) *clientWatch {
	w := brokenConns.watch(raw, owner, backend, upgrade)
	if w != nil && w.fresh && (w.conn == nil || !w.conn.InputReported()) {
		// A connection's first watch: a hang-up that came with its
		// request (nginx's pending_eof at the request's read) is taken
		// now, before anything is sent. Later requests read the
		// watcher's state only, and so does a first one read after the
		// poller's report of its bytes (a connection parked from its
		// accept): the report told of an end that came with them
		// (HungUp, which watch took), as epoll_wait tells nginx's read.
		// The settle was an epoll_pwait per connection.
		brokenConns.settleConn(w)
	}
	return w
}

// gone reports whether the client hung up (the backend is closed then).
func (w *clientWatch) gone() bool { return w.aborted.Load() }

// stop ends the request's watch and reports whether the client hung up.
func (w *clientWatch) stop() bool {
	return brokenConns.unwatch(w)
}

// rearm watches the client again for the request stop ended, with
// backend to close: the body's relay after the head's wait. The socket
// is registered already, so no system call is made; a hang-up reported
// meanwhile closes backend at once.
func (w *clientWatch) rearm(backend net.Conn) {
	brokenConns.rewatch(w, backend)
}

// ForgetClient ends the registration of a client connection that no
// longer runs requests (its end, or a tunnel taking its socket).
func ForgetClient(raw syscall.RawConn, owner net.Conn) {
	if c := poller.ConnOf(raw); c != nil {
		c.OnInput(nil) // WatchInput's
		if !c.HangupHooked() {
			return // no watch record (none made, or a tunnel ended it)
		}
	}
	if raw != nil {
		brokenConns.forget(raw, owner)
	}
}

// ParkClient drops the abort watch of a client connection that parks
// (no request of it is watched) when its hang-ups come through the
// server's own socket (poller.Conn): its next request watches it again
// with the hang-up state the socket keeps (Conn.HungUp), and an idle
// connection holds no watch record (~200 bytes with its map entry).
func ParkClient(raw syscall.RawConn, owner net.Conn) {
	if c := poller.ConnOf(raw); c != nil && c.HangupHooked() {
		brokenConns.forgetIdle(raw, owner)
	}
}

// WatchedClients is how many client connections the abort watch holds
// a record for (tests: a parked connection holds none).
func WatchedClients() int { return brokenConns.count() }

// abortsEnding counts the watched requests whose client hung up and that
// have not ended their wait for the backend yet.
var abortsEnding atomic.Int32

// SettleAborts handles the hang-ups the kernel reported that the watcher
// has not handled yet, and reports whether a request whose client hung
// up is still ending. nginx handles events in the order they come: a
// limit a gone client held is free for a request read after the hang-up.
func SettleAborts() bool {
	brokenConns.settle()
	return abortsEnding.Load() > 0
}

// clientGone ends a try whose watch saw the client gone: logged at info
// with the action, or, when a stop terminated the request, silently.
// An HTTP/2 stream's end (sw) is logged only when the client reset it.
func (p *Proxy) clientGone(s *rewrite.State, x *exchange, w *clientWatch, sw streamWatch, action string) (int, error) {
	if w != nil && w.terminated {
		w.terminated = false
		return 499, ErrTerminated
	}
	if w != nil {
		p.logClientGone(s, x, action, w.sockErr())
	} else if sw != nil {
		p.logStreamReset(s, x, sw, action)
	}
	return 499, ErrClientClosed
}

// resetTaker is an HTTP/2 stream (http2.Stream) whose client may have
// reset it: TakeReset gives nginx's line for it, once.
type resetTaker interface{ TakeReset() string }

// logStreamReset logs, at info, the client's RST_STREAM on the request's
// stream in the request's context with what the try was doing, as
// nginx's stream log does ("client canceled stream 1 while reading
// upstream, client: ..., upstream: ..."); nothing when client is no
// stream or was not reset.
func (p *Proxy) logStreamReset(s *rewrite.State, x *exchange, client any, action string) {
	rt, ok := client.(resetTaker)
	if !ok || s == nil || s.TryLog == nil {
		return
	}
	if line := rt.TakeReset(); line != "" {
		s.TryLog.LogTryError(&leveledError{&tryError{msg: line, action: action,
			upstream: logName(x.scheme, x, x.tryAddr)}, "info"})
	}
}
