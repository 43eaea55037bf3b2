package upstream

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gonginx/gonginx/rewrite/http1"
	"github.com/gonginx/gonginx/rewrite/http1/freelist"
	"github.com/gonginx/gonginx/upstream/poller"
)

// tunnelPools holds one pool of copy buffers per size (proxy_buffer_size:
// nginx copies an upgraded connection through two buffers of that size).
// Pools are looked up when a configuration is compiled, not per request.
var tunnelPools sync.Map // int -> *sync.Pool

// tunnelPool returns the pool of size-byte buffers; Get returns a *[]byte
// so Put does not allocate.
func tunnelPool(size int) *sync.Pool {
	if p, ok := tunnelPools.Load(size); ok {
		return p.(*sync.Pool)
	}
	p, _ := tunnelPools.LoadOrStore(size, &sync.Pool{New: func() any { b := make([]byte, size); return &b }})
	return p.(*sync.Pool)
}

// Tunnels is the set of live tunnels, so that a server stop can close them.
// A list through the tunnels' own links: a map's insert and delete
// cost each WebSocket connection ~330 instructions.
type Tunnels struct {
	mu   sync.Mutex
	head *tunnel
	n    int
}

// NewTunnels returns an empty set.
func NewTunnels() *Tunnels { return &Tunnels{} }

func (ts *Tunnels) add(t *tunnel) {
	if ts == nil {
		return
	}
	ts.mu.Lock()
	t.setPrev, t.setNext = nil, ts.head
	if ts.head != nil {
		ts.head.setPrev = t
	}
	ts.head = t
	ts.n++
	ts.mu.Unlock()
}

func (ts *Tunnels) remove(t *tunnel) {
	if ts == nil {
		return
	}
	ts.mu.Lock()
	switch {
	case t.setPrev != nil:
		t.setPrev.setNext = t.setNext
	case ts.head == t:
		ts.head = t.setNext
	default:
		ts.mu.Unlock()
		return // not in the set
	}
	if t.setNext != nil {
		t.setNext.setPrev = t.setPrev
	}
	t.setPrev, t.setNext = nil, nil
	ts.n--
	ts.mu.Unlock()
}

// Len is the number of live tunnels.
func (ts *Tunnels) Len() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.n
}

// CloseAll closes every live tunnel's connections; their Serve calls
// return shortly after.
func (ts *Tunnels) CloseAll() {
	ts.mu.Lock()
	list := make([]*tunnel, 0, ts.n)
	for t := ts.head; t != nil; t = t.setNext {
		t.ref() // in the set, its creator's reference is held
		list = append(list, t)
	}
	ts.mu.Unlock()
	for _, t := range list {
		t.close()
		t.unref()
	}
}

// tunnel copies bytes both ways between a client and a backend: an HTTP
// connection after a 101, or a stream session (StreamProxy). As nginx does
// (checked on 1.22), the first side to reach EOF or an error ends the
// tunnel: both connections are closed, nothing is half-closed (unless
// halfClose, stream's proxy_half_close). The idle limit
// (proxy_read_timeout, stream's proxy_timeout) is reset by traffic in
// either direction, as nginx re-arms its timer on every event.
//
// Each direction whose source is a plain socket is parked on the
// process's poller between bursts (tunnel_park_linux.go): an idle tunnel
// holds no goroutine, no buffer and no pipe, only its two sockets and
// their epoll entries, as nginx's. A goroutine copies while bytes are
// there and ends when the source is drained. Only the caller, which
// waits for the end to count and log it, stays.
type tunnel struct {
	client, upstream net.Conn
	idle             time.Duration
	bufs             *sync.Pool   // copy buffers (proxy_buffer_size)
	lastActive       atomic.Int64 // poller.Nanotime's (lastActiveAt)
	closeOnce        sync.Once
	// endedBy is the direction whose read ended first: endedClient
	// (toUpstream's) or endedUpstream.
	endedBy atomic.Int32
	// Bytes written to each side, each by its direction, read once both
	// have ended (for $bytes_sent and $upstream_bytes_*).
	toUpstream, toClient int64

	// Stream only: proxy_upload_rate and proxy_download_rate (bytes per
	// second, 0: none), proxy_half_close, and the time of the first byte
	// from the backend since start ($upstream_first_byte_time, -1 until
	// then) when trackFirst; headerSent counts a PROXY protocol header.
	upRate, downRate int64
	halfClose        bool
	trackFirst       bool
	// inline: the caller's goroutine copies from the backend when that
	// direction cannot be parked (a stream session without TLS on the
	// client side, to a TLS backend): one goroutine less.
	inline     bool
	nerrs      uint8 // errs' count
	idleOn     bool
	pooled     bool // (refs' comment)
	start      time.Time
	firstByte  time.Duration
	headerSent int64
	// watched is the client connection as the abort watcher knows it,
	// whose registration the client's direction takes over (handOver).
	watched net.Conn
	// beforeClose, when set, runs once as the tunnel closes, before its
	// sockets do (stream: the balancer's peer is freed first, as
	// ngx_stream_proxy_finalize frees it before the client sees the end).
	beforeClose func()

	// onEnd, when set, runs once both directions ended, on a goroutine
	// of its own: the end of a request whose goroutine did not wait
	// (detachTunnel).
	onEnd interface{ TunnelEnded() }
	// det is what a detached tunnel's end needs of its try
	// (detachTunnel): kept here, not in an allocation of its own.
	det    detachedTry
	endRec http1.TunnelEnd // the client connection's record of that end

	dirs   [2]direction // toUpstream (from the client), toClient
	closed atomic.Bool
	live   atomic.Int32  // directions not ended
	done   chan struct{} // closed when both directions ended (nil when onEnd tells)
	mu     sync.Mutex
	errs   [2]error // how the directions ended, in order (errs[:nerrs])
	// idleAt and idleIdx (beside refs): t's deadline and place (index +
	// 1) in tunnelIdle's heap (under its mu); idleOn (with the bools,
	// under mu): the limit is armed, the heap's reference held. Each
	// where alignment left room: the record stays at 1152 bytes.
	idleAt int64

	// refs counts who may still touch the record (unref): its creator
	// (the request, until the tunnel's end is counted), each goroutine
	// running a direction, the idle timer while armed or firing, a stop
	// closing it. pooled: the record is tunnelRecs' and goes back there
	// at the last unref, unless a poller may still report to one of its
	// directions.
	refs    atomic.Int32
	idleIdx int32 // idleAt's comment

	setPrev, setNext *tunnel // its Tunnels' list (under the set's mu)
}

// tunnelRecs keeps tunnel records for the next upgrades: at 1152 bytes
// a record was most of what a short WebSocket connection allocated
// (1.8 KB), so most of what set how often the GC ran on a row of them.
// A record kept holds its backend's socket in upstream when Recycle
// kept that: the next upgrade hands it to its exchange, for a dial.
var tunnelRecs = freelist.New[tunnel](256)

// newTunnel is a zeroed record from tunnelRecs, its creator's reference
// held, and the closed backend Conn of the tunnel that had it (nil:
// none), for a later dial (exchange.spareConn).
func newTunnel() (*tunnel, *poller.Conn) {
	t := tunnelRecs.Get()
	if t == nil {
		t = new(tunnel)
	}
	spare, _ := t.upstream.(*poller.Conn)
	t.upstream = nil
	t.refs.Store(1)
	t.pooled = true
	return t, spare
}

func (t *tunnel) ref() { t.refs.Add(1) }

// unref drops a reference: the last one gives a pooled record back.
// Nothing of t is touched after it.
func (t *tunnel) unref() {
	if t.refs.Add(-1) != 0 || !t.pooled || !t.quiet() {
		return
	}
	// The backend's socket, closed, goes with the record when nothing
	// can reach it either: its dial was the one allocation left of a
	// WebSocket connection's, where nginx takes a free connection.
	pc, _ := t.upstream.(*poller.Conn)
	*t = tunnel{}
	if pc != nil && pc.Recycle() {
		t.upstream = pc
	}
	tunnelRecs.Put(t)
}

// quiet reports that no poller can still call t's directions: one
// hooked on a Conn's input may be, by a poller that took an event
// before the close unhooked it and is handling it now.
func (t *tunnel) quiet() bool {
	for i := range t.dirs {
		if c := t.dirs[i].pk.conn; c != nil && !c.InputQuiet() {
			return false
		}
	}
	return true
}

// startIdle arms t's idle limit (under t.mu); tunnelIdle holds a
// reference to t until stopIdle takes it out or its checkIdle ends.
// The limit runs from the last traffic, which sendPending noted just
// before (checkIdle measures from it too): no clock read of its own.
func (t *tunnel) startIdle() {
	t.ref()
	t.idleOn = true
	from := t.lastActive.Load()
	if from == 0 {
		from = poller.Nanotime()
	}
	t.idleAt = from + int64(t.idle)
	tunnelIdle.Add(t)
}

// stopIdle ends t's idle limit (under t.mu). When it took t out of
// the heap, unref is the caller's to call, after t.mu; else the heap's
// timer took t already, and its checkIdle drops the reference.
func (t *tunnel) stopIdle() (unref bool) {
	if !t.idleOn {
		return false
	}
	t.idleOn = false
	return tunnelIdle.Remove(t)
}

const (
	endedClient = iota + 1
	endedUpstream
)

// touch notes traffic now. It reads the monotonic clock only (time.Since
// of a time that has its reading): time.Now reads the wall clock too, a
// second vDSO call, twice per relayed message.
func (t *tunnel) touch() { t.lastActive.Store(poller.Nanotime()) }

// lastActiveAt is the time of the last traffic (with a monotonic reading).
func (t *tunnel) lastActiveAt() time.Time { return poller.TimeOf(t.lastActive.Load()) }

// close ends the tunnel: the poller forgets both sockets, both close
// (which takes them out of the epoll set), and a parked direction ends
// at once (a running one ends on its failed read or write). It never
// runs on the poller's goroutine (whose events it would hold up).
func (t *tunnel) close() {
	t.closeOnce.Do(func() {
		t.closed.Store(true)
		t.mu.Lock()
		for i := range t.dirs {
			t.dirs[i].unpark()
		}
		t.mu.Unlock()
		if t.beforeClose != nil {
			t.beforeClose()
		}
		t.client.Close()
		t.upstream.Close()
	})
	for i := range t.dirs {
		if d := &t.dirs[i]; d.state.CompareAndSwap(dirIdle, dirDone) {
			t.finish(d, net.ErrClosed)
		}
	}
}

// run forwards bytes already read on either side, then copies both ways
// until one side ends. It returns the first error other than EOF.
func (t *tunnel) run(fromClient, fromUpstream []byte) error {
	t.prepare(0)
	if err := t.sendPending(fromClient, fromUpstream); err != nil {
		return err
	}
	return t.pump()
}

// sendPending forwards bytes already read on either side; on failure the
// tunnel is closed.
func (t *tunnel) sendPending(fromClient, fromUpstream []byte) error {
	if t.lastActive.Load() == 0 { // else its creator gave the time
		t.touch()
	}
	if len(fromClient) > 0 {
		n, err := t.upstream.Write(fromClient)
		t.toUpstream += int64(n)
		if err != nil {
			t.close()
			return err
		}
	}
	if len(fromUpstream) > 0 {
		n, err := t.client.Write(fromUpstream)
		t.toClient += int64(n)
		if err != nil {
			t.close()
			return err
		}
	}
	return nil
}

// pump copies both ways until the tunnel ends, then returns the first
// error other than EOF (with halfClose, the second direction's when the
// first ended by EOF).
func (t *tunnel) pump() error {
	t.begin()
	<-t.done
	return t.result()
}

// prepare sets t's directions up, its fields set, before anything else
// may see it (Tunnels.add: a stop's close may come before begin). The
// directions are zero (a new record, or one given back zeroed): what
// differs is set, not whole directions (~300 instructions of copying
// with write barriers per tunnel). bufLen is the length of t.bufs'
// buffers when known (0: copyInline's first learns it, taking one).
func (t *tunnel) prepare(bufLen int) {
	t.live.Store(2)
	up, down := &t.dirs[0], &t.dirs[1]
	up.t, up.src, up.dst, up.written, up.rate, up.endedBy = t, t.client, t.upstream, &t.toUpstream, t.upRate, endedClient
	down.t, down.src, down.dst, down.written, down.rate, down.endedBy = t, t.upstream, t.client, &t.toClient, t.downRate, endedUpstream
	down.trackFirst = t.trackFirst
	up.pk.bufLen, down.pk.bufLen = bufLen, bufLen
	// A direction is running until it is parked: close ends a parked
	// one at once and leaves the others (and those begin has not
	// reached) to their failed reads.
	t.dirs[0].state.Store(dirRunning)
	t.dirs[1].state.Store(dirRunning)
}

// begin parks both directions (or starts their copies): the tunnel runs
// without its caller from here, to done (and onEnd).
func (t *tunnel) begin() {
	if t.onEnd == nil {
		t.done = make(chan struct{}) // pump waits; a detached tunnel's end is onEnd
	}
	parked := false
	t.mu.Lock()
	for i := range t.dirs {
		if d := &t.dirs[i]; !t.closed.Load() {
			d.parked = d.park()
			parked = parked || d.parked
		}
	}
	if parked && t.idle > 0 {
		t.startIdle()
	}
	t.mu.Unlock()
	for i := range t.dirs {
		t.dirs[i].runFirst()
	}
	inline := t.inline && !t.dirs[1].parked
	for i := range t.dirs {
		if d := &t.dirs[i]; !d.parked && !(inline && i == 1) {
			t.ref()
			go d.copyOwn()
		}
	}
	if inline {
		t.dirs[1].copyBlocking()
	}
}

// result is how the ended tunnel went: the first error other than EOF
// (with halfClose, the second direction's when the first ended by EOF).
func (t *tunnel) result() error {
	t.mu.Lock()
	stopped := t.stopIdle()
	first := t.errs[0]
	if t.halfClose && t.nerrs > 1 && (first == nil || errors.Is(first, io.EOF)) {
		first = t.errs[1]
	}
	t.mu.Unlock()
	if stopped {
		t.unref() // the timer's: the caller holds one too
	}
	// io.EOF itself (a side's end, the usual one) asked first:
	// errors.Is looks its target's type up (~80 instructions).
	if first == nil || first == io.EOF || errors.Is(first, io.EOF) || errors.Is(first, net.ErrClosed) {
		return nil
	}
	return first
}

// finish records how d ended. With halfClose an EOF shuts down the
// writing side of d's destination and leaves the other direction
// running; otherwise the tunnel closes. It runs on the goroutine of the
// one that ended d (a closer's, the poller's): a detached tunnel's end
// goes to a goroutine of its own.
func (t *tunnel) finish(d *direction, err error) { t.end(d, err, false) }

// finishOwn is finish on d's own goroutine, which has nothing left to
// do: a detached tunnel's end runs on it (a goroutine less per tunnel).
func (t *tunnel) finishOwn(d *direction, err error) { t.end(d, err, true) }

func (t *tunnel) end(d *direction, err error, own bool) {
	t.endedBy.CompareAndSwap(0, int32(d.endedBy))
	t.report(err)
	if t.halfClose && (err == nil || errors.Is(err, io.EOF)) && !t.closed.Load() {
		if cw, ok := d.dst.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		} else {
			t.close()
		}
	} else {
		t.close()
	}
	if t.live.Add(-1) == 0 {
		if t.halfClose {
			t.close() // both halves ended: the sockets and the poller's entries go
		}
		if t.done != nil {
			close(t.done)
		}
		switch {
		case t.onEnd == nil:
		case own:
			t.onEnd.TunnelEnded()
		default:
			// Not on the goroutine that ended it (the poller's, a
			// closer's): the request's end logs and closes.
			Go(t.onEnd.TunnelEnded)
		}
	}
}

// report records how the tunnel or one of its directions ended.
func (t *tunnel) report(err error) {
	t.mu.Lock()
	if int(t.nerrs) < len(t.errs) {
		t.errs[t.nerrs] = err
		t.nerrs++
	}
	t.mu.Unlock()
}

// checkIdle is the idle limit of parked directions, run once t's
// deadline in tunnelIdle passed: with no traffic for the idle limit the
// tunnel ends as a read that timed out, else it waits for the rest.
// It runs with the heap's reference to t, which it drops unless it puts
// t in the heap again.
func (t *tunnel) checkIdle() {
	t.mu.Lock()
	if !t.idleOn {
		t.mu.Unlock()
		t.unref() // the tunnel ended meanwhile (stopIdle)
		return
	}
	now := poller.Nanotime()
	if left := int64(t.idle) - (now - t.lastActive.Load()); left > 0 && !t.closed.Load() {
		t.idleAt = now + left
		tunnelIdle.Add(t)
		t.mu.Unlock()
		return
	}
	t.idleOn = false
	t.mu.Unlock()
	if !t.closed.Load() {
		src := t.upstream
		t.report(&net.OpError{Op: "read", Net: src.LocalAddr().Network(), Source: src.LocalAddr(), Addr: src.RemoteAddr(), Err: os.ErrDeadlineExceeded})
		t.close()
	}
	t.unref()
}

// direction is one way of a tunnel: src to dst.
type direction struct {
	t          *tunnel
	src, dst   net.Conn
	written    *int64
	rate       int64
	state      atomic.Int32 // dirIdle, dirRunning, dirPending, dirDone
	endedBy    int32
	trackFirst bool
	parked     bool      // src is on the poller
	pk         parkState // the poller's side (tunnel_park_linux.go)
}

// A parked direction's states: idle (no goroutine), running (a goroutine
// copies), pending (woken while running: the goroutine reads again
// before it ends), done.
const (
	dirIdle int32 = iota
	dirRunning
	dirPending
	dirDone
)

// copyOwn is copyBlocking on a goroutine of its own, which holds a
// reference to the tunnel.
func (d *direction) copyOwn() {
	t := d.t
	d.copyBlocking()
	t.unref()
}

// copyBlocking copies d on its own goroutine until it ends.
func (d *direction) copyBlocking() {
	t := d.t
	var err error
	if d.trackFirst {
		err = t.copyFirst()
	}
	if err == nil {
		err = t.copy(d.dst, d.src, d.written, d.rate)
	}
	d.state.Store(dirDone)
	t.finishOwn(d, err)
}
