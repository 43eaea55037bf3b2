package http1

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Buffer sizes. Most heads fit the small read buffer; one that does not
// moves to a large one sized for nginx's limits (1k + 4*8k by default).
const (
	smallReadSize = 4 << 10
	largeReadSize = 40 << 10
	writeSize     = 16 << 10
)

// Pools of *[]byte: pointer types, so Put does not allocate.
var (
	smallReadPool = sync.Pool{New: func() any { b := make([]byte, smallReadSize); return &b }}
	largeReadPool = sync.Pool{New: func() any { b := make([]byte, largeReadSize); return &b }}
	writePool     = sync.Pool{New: func() any { b := make([]byte, 0, writeSize); return &b }}
)

// Conn is the server side of one client connection: it reads requests
// (reusing one Request), frames their bodies and writes responses through
// nginx's header filter. A Conn is used by one goroutine at a time.
type Conn struct {
	nc     net.Conn
	Info   *ConnInfo
	Limits Limits

	// ReadTimeout bounds each read of a request body, the time between
	// two successive reads (client_body_timeout); 0 means none.
	ReadTimeout time.Duration
	// HeaderTimeout bounds the whole request head (client_header_timeout):
	// nginx arms one timer when it first waits for a head's bytes and does
	// not re-arm it while they trickle in; 0 means none.
	HeaderTimeout time.Duration
	// IdleTimeout bounds the wait for the first byte of a request after
	// the first one (keepalive_timeout); the head's own timer starts once
	// that byte arrived, as ngx_http_keepalive_handler deletes the
	// keepalive timer and ngx_http_read_request_header arms the header's.
	IdleTimeout time.Duration
	// KeepAliveHeader is keepalive_timeout's second parameter in the
	// request's location: "Keep-Alive: timeout=N" on a kept connection
	// (0: none). The caller sets it per request, proxied responses too.
	KeepAliveHeader int
	// IdleSince, when set, is when the keepalive wait before the next
	// request began (its owner read the clock already); zero: now.
	// ReadRequest clears it.
	IdleSince time.Time
	// IdleSinceMono is IdleSince on the socket's own monotonic scale
	// (the poller's Nanotime), for a Conn whose MonoIdle is true: its
	// keepalive wait's deadline is then set with no time.Time made, and
	// the read's deadline check takes the reading (~300 instructions per
	// keep-alive request). ReadRequest clears it.
	IdleSinceMono int64
	// HeaderDeadline, when set, is the end of the next head's timer
	// instead of HeaderTimeout from now: the first request's timer runs
	// from accept and covers the TLS handshake (ngx_http_init_connection).
	// ReadRequest clears it.
	HeaderDeadline time.Time
	// WriteTimeout bounds each write (send_timeout); 0 means none.
	WriteTimeout time.Duration
	// Filter, when set, edits every response head before WriteHeader
	// writes it (see HeaderFilter). It is kept across requests.
	Filter HeaderFilter
	// Clock, when set, reads the time a request's head is read at
	// (HeadAt: the request's start, its log times): its owner's clock,
	// which may read fewer clocks than time.Now. Kept across requests.
	Clock func() time.Time

	rb         *[]byte // read buffer; the head of the current request sits at rb[0:headEnd]
	large      bool
	headEnd    int
	rpos, rend int // unconsumed bytes: rb[rpos:rend]

	req      Request
	body     bodyReader
	hijacked bool
	// TunnelOwner: the connection's owner can end a request whose
	// tunnel outlives its goroutine (AwaitTunnel); tunnel is that
	// request's end (DetachTunnel) until its proxy's part ran, and
	// tunnelErr what that part returned.
	TunnelOwner bool
	tunnel      *TunnelEnd
	tunnelErr   error

	headAt  time.Time // when the current request's head was read (HeadAt)
	wb      *[]byte   // pending output
	writeDL Deadlines // send_timeout's, re-armed lazily (its write side only)
	// postpone is postpone_output less nginx's default (postponeOutput),
	// so a Conn no location set holds heads as that default does.
	postpone int32
	werr     error // the first failed write: the connection is cut, nothing more goes out
	out      respState

	// Requests counts requests read on this connection (for
	// keepalive_requests).
	Requests int

	pipelined bool // the current request arrived behind the previous one

	// OnRequestBytes, when set, is told once per ReadRequest when the
	// first bytes of the request are in (stub_status's "reading").
	OnRequestBytes RequestWatcher

	// TellBeforeFirstRead makes the connection's first request call
	// OnRequestBytes once its bytes wait in the socket, before they are
	// read: a connection ordered against others (the server's accept
	// order) shows as under way from then on, never with its bytes read
	// but not yet told (awaitFirstBytes).
	TellBeforeFirstRead bool

	// DecideRate, when set, is called before the first bytes of each
	// response go out; it may call SetLimitRate (nginx evaluates
	// limit_rate in its write filter). It is kept across requests.
	DecideRate func()

	sentHead SentHead  // the current response's head, for $sent_http_*
	limit    rateLimit // limit_rate for the current request

	discardUntil time.Time // DiscardBody's overall deadline

	// sink, set for a subrequest's Conn (NewSub), takes its body output
	// in place of the socket; subStatus is the status its head had.
	sink      func([]byte) error
	subWatch  AbortWatch // SetSubWatch
	subStatus int

	// wire, for a framed protocol's stream (NewFramedConn), takes the
	// head and the end of the response; reqLen is its head's length.
	wire   Wire
	reqLen int
	// spareRead and spareWrite are a framed Conn's read and write
	// buffers kept from its last stream (Release) for its next
	// (StartFramed, WriteHeader): a pool's Get and Put per stream and
	// buffer cost ~150 instructions.
	spareRead, spareWrite *[]byte
	// spareSock is the Sock of the Conn's last connection, cleared
	// (recycle), for its next (sockIO): with its small read buffer and
	// its write buffer (spareRead, spareWrite) it stays with the Conn in
	// the pool, where each went back to a pool of its own and was taken
	// again per connection (three Gets and Puts, ~450 instructions).
	spareSock *Sock

	raw     syscall.RawConn // the socket under nc, cached by Socket
	rawConn net.Conn        // the net.Conn raw belongs to
	rawDone bool
	under   SockUnder // rawConn when it is one under nc (TLS's), cached by Socket

	sock     *Sock // nc's raw reads and writes (nil: nc's own), made by sockIO
	sockDone bool

	eventTime time.Time // SetEventTime's, for the next WriteHeader

	// NoWait: ReadRequest returns ErrWouldBlock, instead of waiting,
	// when no byte of a next request is at hand (idle.go): the read of a
	// connection the poller woke.
	NoWait bool
	// IdleGrace, when shorter than IdleTimeout, ends the keepalive wait
	// early with ErrWouldBlock: its owner parks the connection then. It
	// ends the wait for a first request's first byte too, when shorter
	// than what is left of HeaderDeadline.
	IdleGrace time.Duration
	// Exiting, when set and true, is a graceful stop: responses go out
	// with "Connection: close", as nginx's header filter clears
	// keepalive while ngx_exiting.
	Exiting *atomic.Bool
	// Finisher, when set, is told before the write that completes a
	// response (ResponseFinisher).
	Finisher ResponseFinisher

	// readNoWait's state: its RawConn callbacks, bound once.
	tryRead func(uintptr) bool
	peekFn  func(uintptr)
	tryBuf  []byte
	tryN    int
	tryErr  error
	tryDn   readDrained
}

// ResponseFinisher is told before the write after which the client has
// the whole response (its last byte by its length, or Finish's flush),
// once per response: nginx logs a request in the event handler that
// makes that write, so an immediate stop never ends the process between
// the two, and the owner holds such a stop until the line is written.
// Finishing returns false when the stop came first: nothing more is
// written (the request ends unanswered and unlogged, as nginx's exit
// cuts it).
type ResponseFinisher interface{ Finishing() bool }

// RequestWatcher is told when a request's first bytes are in
// (Conn.OnRequestBytes): an interface, so that a connection's owner is
// its own watcher, where a func value bound to it would be one more
// allocation each connection holds.
type RequestWatcher interface{ RequestBytes() }

// readDrained is a RawConn that records a read that left the socket
// empty (the poller's Conn: a hook on its input then needs no peek),
// told from within the read's callback, and whose ReadReported makes
// no try that the record says would find nothing.
type readDrained interface {
	ReadDrained()
	ReadReported(f func(fd uintptr) bool) error
	// ReadReportedAt is ReadReported under the read deadline d, set
	// from now: both on the RawConn's own monotonic scale (IdleSinceMono).
	ReadReportedAt(now, d int64, f func(fd uintptr) bool) error
}

// Socket returns the client socket under the connection (below TLS) and
// the net.Conn it belongs to, or nil when nc has none (net.Pipe). It is
// looked up once per connection, so the steady state allocates nothing.
func (c *Conn) Socket() (syscall.RawConn, net.Conn) {
	if !c.rawDone {
		c.rawDone = true
		c.raw, c.rawConn = SocketOf(c.nc)
		if c.rawConn != c.nc {
			c.under, _ = c.rawConn.(SockUnder)
		}
	}
	return c.raw, c.rawConn
}

// sockIO is the Sock that reads and writes nc when nc is a plain
// socket (nil: nc's own Read and Write), looked up once.
func (c *Conn) sockIO() *Sock {
	if !c.sockDone {
		c.sockDone = true
		if raw, owner := c.Socket(); raw != nil && owner == c.nc {
			if c.sock = newSock(raw, owner, c.spareSock); c.sock != nil {
				c.spareSock = nil
			}
		}
	}
	return c.sock
}

// MonoIdle reports whether ReadRequest takes IdleSinceMono for
// IdleSince: the connection is read through its plain socket, or TLS
// over one (tlsSock), which keeps the poller's record (readDrained).
func (c *Conn) MonoIdle() bool {
	s := c.sockIO()
	if s == nil {
		s = c.tlsSock()
	}
	return s != nil && s.keepsRecord()
}

// SockUnder is a net.Conn under TLS that reads and writes its socket
// through a Sock (location's wrapper of an accepted connection).
type SockUnder interface {
	// UnderSock is its Sock now (nil: none, while parked).
	UnderSock() *Sock
}

// tlsSock is the Sock under nc when nc is TLS over a SockUnder (nil
// otherwise): its reads and writes are the record layer's, which
// ReadRequest and writeRaw steer as they steer a plain socket's
// (Sock.ReadNextAt, Sock's armer).
func (c *Conn) tlsSock() *Sock {
	if !c.rawDone {
		c.Socket()
	}
	if c.under == nil {
		return nil
	}
	return c.under.UnderSock()
}

// ArmWrite is Sock's WriteArmer: send_timeout, armed for a write through
// TLS that must wait.
func (c *Conn) ArmWrite() { c.writeDL.SetWrite(c.nc, time.Now(), c.WriteTimeout) }

// KnownSocket is Socket's answer if Socket was asked already, without
// looking it up (nil otherwise).
func (c *Conn) KnownSocket() (syscall.RawConn, net.Conn) {
	return c.raw, c.rawConn
}

// DiscardBody reads and drops what is left of the current request's body,
// as nginx goes on discarding a body it answered without reading (a 413)
// before it closes: each read waits at most idle, and all of it ends by
// deadline.
func (c *Conn) DiscardBody(idle time.Duration, deadline time.Time) error {
	if c.hijacked || c.rb == nil {
		return ErrHijacked
	}
	c.ReadTimeout, c.discardUntil = idle, deadline
	defer func() { c.discardUntil = time.Time{} }()
	return c.discardBody()
}

// now is Clock's reading, or time.Now's.
func (c *Conn) now() time.Time {
	if c.Clock != nil {
		return c.Clock()
	}
	return time.Now()
}

// NewConn wraps nc. info describes the connection (addresses, TLS).
// The Conn comes from the pool parked connections leave theirs in
// (Detach): a new connection made a Conn (1.4 KB) of garbage each, which
// a burst of connections that go idle (no GC runs while they wait) kept
// as memory.
func NewConn(nc net.Conn, info *ConnInfo) *Conn {
	c := takeConn()
	c.nc, c.Info, c.Limits = nc, info, DefaultLimits
	return c
}

// NetConn returns the underlying connection.
func (c *Conn) NetConn() net.Conn { return c.nc }

// Request returns the current request (the one ReadRequest returned).
func (c *Conn) Request() *Request { return &c.req }

// ReadRequest reads the next request head. The body, if any, is read
// through Body; whatever of it is left unread is discarded by the next
// ReadRequest. It returns io.EOF when the client closed the connection
// between requests, an *Error for a request nginx rejects (answer it with
// Error.Status, then close), or another I/O error.
func (c *Conn) ReadRequest() (*Request, error) {
	if c.hijacked {
		return nil, ErrHijacked
	}
	c.headAt = time.Time{}
	if c.Requests > 0 {
		if err := c.discardBody(); err != nil {
			return nil, err
		}
	}
	// The write buffer waits in its pool while the connection idles
	// between requests, as nginx frees an idle keepalive connection's
	// buffers (a spare one too, left by a request that wrote nothing).
	c.releaseWrite()
	if c.spareWrite != nil && c.Requests > 0 {
		writePool.Put(c.spareWrite)
		c.spareWrite = nil
	}
	if c.rb == nil {
		if c.rb = c.spareRead; c.rb != nil {
			c.spareRead = nil
		} else {
			c.rb = smallReadPool.Get().(*[]byte)
		}
	}
	lim := c.Limits.withDefaults()
	// Move pipelined bytes to the front; the previous request's head is
	// no longer referenced.
	n := copy(*c.rb, (*c.rb)[c.rpos:c.rend])
	c.rpos, c.rend, c.headEnd = 0, n, 0
	c.pipelined = n > 0 && c.Requests > 0
	c.req.reset(c.Info)
	c.out = respState{}
	if n == 0 && c.NoWait {
		// A parked connection's read: the keepalive wait is its owner's
		// timer, and the head's starts with the bytes (the first head's
		// runs from accept: HeaderDeadline).
		m, err := c.readNoWait(*c.rb)
		if m == 0 {
			if err == nil || errors.Is(err, io.EOF) {
				return nil, io.EOF
			}
			return nil, err
		}
		c.rend, n = m, m
	}
	// deadline is the read deadline set on nc (zero: none). The head's
	// timer is armed only when a read must wait for more of it (armHead),
	// as ngx_http_read_request_header adds it on EAGAIN: a head that is
	// at hand whole costs no timer.
	deadline := c.HeaderDeadline
	c.HeaderDeadline = time.Time{}
	idleSince, idleMono := c.IdleSince, c.IdleSinceMono
	c.IdleSince, c.IdleSinceMono = time.Time{}, 0
	// monoNow, monoDL: the first read's deadline on the socket's scale
	// (IdleSinceMono), set by the read itself; monoSet: it was.
	var monoNow, monoDL int64
	monoSet := false
	idle, grace, armHead := false, false, false
	// headDeadline is the first head's timer while its wait for the
	// first byte has the grace.
	var headDeadline time.Time
	switch {
	case !deadline.IsZero():
		if n == 0 && c.Requests == 0 && !c.NoWait && c.IdleGrace > 0 {
			if g := time.Now().Add(c.IdleGrace); g.Before(deadline) {
				headDeadline, deadline, grace = deadline, g, true
			}
		}
	case n == 0 && c.Requests > 0 && c.IdleTimeout > 0 && !c.NoWait:
		idle = true
		wait := c.IdleTimeout
		if c.IdleGrace > 0 && c.IdleGrace < wait {
			wait, grace = c.IdleGrace, true
		}
		if idleMono != 0 && c.MonoIdle() {
			monoNow, monoDL = idleMono, idleMono+int64(wait)
			break
		}
		if idleSince.IsZero() {
			idleSince = time.Now()
		}
		deadline = idleSince.Add(wait)
	case c.HeaderTimeout > 0:
		armHead = true
	}
	if !deadline.IsZero() {
		c.nc.SetReadDeadline(deadline)
	}
	c.sentHead.reset()
	c.limit = rateLimit{}
	// parsed: a parse of a partial head has filled c.req since the
	// reset above (a reset is ~190 instructions: once per request when
	// the head comes whole).
	started, parsed := false, false
	for {
		if c.rend > 0 {
			if !started && c.OnRequestBytes != nil {
				// The first bytes of this request are here: nginx creates
				// the request now (a connection reading, not waiting).
				c.OnRequestBytes.RequestBytes()
			}
			started = true
			if parsed {
				c.req.reset(c.Info)
			}
			parsed = true
			m, perr := parseHead((*c.rb)[:c.rend], &c.req, &lim)
			if perr != nil {
				c.Requests++ // nginx created the request it rejects
				return nil, perr
			}
			if m > 0 {
				if !deadline.IsZero() || monoSet {
					// ngx_http_process_request deletes the header timer.
					c.nc.SetReadDeadline(time.Time{})
				}
				c.headEnd, c.rpos = m, m
				c.Requests++
				c.headAt = c.now()
				c.limit.start = c.headAt.Unix()
				c.body.start(&c.req)
				return &c.req, nil
			}
		}
		if c.rend == len(*c.rb) {
			if c.large || !c.grow(lim.maxHead()) {
				// parseHead's size checks fire before this for sane limits.
				return nil, errHeaderTooLarge
			}
		}
		if armHead {
			armHead, monoSet = false, false
			deadline = time.Time{}
			if c.HeaderTimeout > 0 {
				deadline = time.Now().Add(c.HeaderTimeout)
			}
			c.nc.SetReadDeadline(deadline)
		}
		if c.TellBeforeFirstRead && c.Requests == 0 && c.rend == 0 && !started && c.OnRequestBytes != nil {
			have, err := c.awaitFirstBytes()
			if err != nil {
				if grace && errors.Is(err, os.ErrDeadlineExceeded) {
					return nil, ErrWouldBlock
				}
				return nil, err
			}
			if have {
				c.OnRequestBytes.RequestBytes()
				started = true
			}
		}
		var m int
		var err error
		if monoNow != 0 {
			if c.sock != nil {
				m, err = c.sock.readAt((*c.rb)[c.rend:], monoNow, monoDL)
			} else {
				// TLS: its record read (if it needs the socket) takes
				// the deadline, as a plain socket's read does.
				s := c.tlsSock()
				s.ReadNextAt(monoNow, monoDL)
				m, err = c.nc.Read((*c.rb)[c.rend:])
				s.ReadNextAt(0, 0)
			}
			monoNow, monoSet = 0, true
		} else {
			m, err = ReadVia(c.sockIO(), c.nc, (*c.rb)[c.rend:])
		}
		c.rend += m
		if idle && m > 0 {
			// The keepalive wait is over; the head's timer starts if it
			// must wait for more.
			idle, armHead = false, true
		}
		if m > 0 && !headDeadline.IsZero() {
			deadline, headDeadline, grace = headDeadline, time.Time{}, false
			c.nc.SetReadDeadline(deadline)
		}
		if err != nil && m == 0 {
			if grace && c.rend == 0 && errors.Is(err, os.ErrDeadlineExceeded) {
				return nil, ErrWouldBlock
			}
			if errors.Is(err, io.EOF) && c.rend == 0 {
				return nil, io.EOF
			}
			if errors.Is(err, io.EOF) {
				c.Requests++ // as a rejected one: the request was created
				return nil, io.ErrUnexpectedEOF
			}
			if c.rend > 0 && errors.Is(err, os.ErrDeadlineExceeded) {
				c.Requests++ // as a rejected one: the request was created
				return nil, ErrRequestTimeout
			}
			return nil, err
		}
	}
}

// FirstLine returns the first line of the buffered input without its line
// end: nginx logs it as $request when the request line could not be parsed.
func (c *Conn) FirstLine() []byte {
	if c.rb == nil || c.wire != nil { // a framed request has no raw line
		return nil
	}
	// nginx's request_start is past the empty lines before it (the
	// parser's start state skips CR and LF); ngx_http_log_error_handler
	// ends the line at the first CR or LF.
	b := bytes.TrimLeft((*c.rb)[:c.rend], "\r\n")
	if i := bytes.IndexAny(b, "\r\n"); i >= 0 {
		b = b[:i]
	}
	return b
}

// HeadLineAt returns the buffered line that starts at off (the header
// line a rejected head failed on starts at Request.Parsed), without its
// line end.
func (c *Conn) HeadLineAt(off int) []byte {
	if c.rb == nil || c.wire != nil || off < 0 || off > c.rend {
		return nil
	}
	b := (*c.rb)[off:c.rend]
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	return bytes.TrimSuffix(b, []byte("\r"))
}

// LongRequestLine is $request (and the log's request) of a request line
// too long for the large header buffers: nginx's ngx_http_process_request_line
// takes the whole large buffer it filled, line end bytes and all.
func (c *Conn) LongRequestLine() []byte {
	if c.rb == nil || c.wire != nil {
		return nil
	}
	b := bytes.TrimLeft((*c.rb)[:c.rend], "\r\n")
	lim := c.Limits.withDefaults()
	return b[:min(len(b), lim.LargeHeaderBufferSize)]
}

// HeadRestAt returns the buffered bytes from off on (a line too long for
// the header buffers, which nginx's log shows from its start).
func (c *Conn) HeadRestAt(off int) []byte {
	if c.rb == nil || c.wire != nil || off < 0 || off > c.rend {
		return nil
	}
	return (*c.rb)[off:c.rend]
}

// grow switches to the large read buffer: the pooled one when the
// limits fit in it, else one sized for them (large_client_header_buffers
// raised past the defaults), which Release leaves to the collector.
func (c *Conn) grow(maxHead int) bool {
	var nb *[]byte
	if maxHead > largeReadSize-1024 {
		b := make([]byte, maxHead+1024)
		nb = &b
	} else {
		nb = largeReadPool.Get().(*[]byte)
	}
	copy(*nb, (*c.rb)[:c.rend])
	smallReadPool.Put(c.rb)
	c.rb, c.large = nb, true
	return true
}

// Buffered returns the bytes read past what has been consumed so far (the
// body's start or a pipelined request). It aliases the read buffer.
func (c *Conn) Buffered() []byte { return (*c.rb)[c.rpos:c.rend] }

// Preread is how much of the current request's body nginx would have read
// with its head: the body bytes buffered after the head, as far as its
// header buffer (client_header_buffer_size, or a large buffer) reaches.
// nginx keeps a body in memory when the rest fits client_body_buffer_size.
func (c *Conn) Preread() int64 {
	if c.rb == nil || c.rpos != c.headEnd {
		return 0
	}
	lim := c.Limits.withDefaults()
	size := lim.ClientHeaderBufferSize
	if c.large || c.headEnd > size {
		size = lim.LargeHeaderBufferSize
	}
	return int64(max(min(c.rend, size)-c.headEnd, 0))
}

// PastHeaderBuffer reports whether bytes of the current request's body
// are buffered beyond what nginx's header buffer would have taken with
// its head (see Preread): nginx leaves those in the socket, so closing it
// at once (444, 408) resets the connection, where a close here, with them
// read already, would end it with a FIN.
func (c *Conn) PastHeaderBuffer() bool {
	return c.rb != nil && c.headEnd > 0 && c.rpos == c.headEnd && int64(c.rend-c.headEnd) > c.Preread()
}

// Hijack hands the connection over (for a tunnel): it returns the raw
// net.Conn and the bytes already read past the request head, which alias
// the Conn's buffer and stay valid until Close. The Conn does no more I/O.
func (c *Conn) Hijack() (net.Conn, []byte) {
	if c.sink != nil || c.wire != nil {
		return nil, nil // a subrequest's connection is its parent's
	}
	c.hijacked = true
	c.releaseWrite()
	if c.rb == nil {
		return c.nc, nil
	}
	return c.nc, (*c.rb)[c.rpos:c.rend]
}

// Release returns the buffers to their pools; call it once the connection
// is done (after Close or after a hijacked tunnel ended).
func (c *Conn) Release() {
	if c.wire != nil {
		c.keepFramedBuffers()
	}
	c.releaseRead()
	if c.wb != nil {
		*c.wb = (*c.wb)[:0]
		writePool.Put(c.wb)
		c.wb = nil
	}
	if c.sink != nil {
		c.releaseSub()
	}
}

// releaseWrite returns the write buffer to its pool when nothing is
// pending in it.
func (c *Conn) releaseWrite() {
	if c.wb != nil && len(*c.wb) == 0 {
		writePool.Put(c.wb)
		c.wb = nil
	}
}

// Close closes the connection (unless hijacked) and releases buffers.
func (c *Conn) Close() error {
	var err error
	if !c.hijacked {
		err = c.nc.Close()
	}
	c.Release()
	return err
}

// fill reads more body bytes into the buffer after the head; it returns
// the number read.
func (c *Conn) fill() (int, error) {
	if c.rpos == c.rend {
		c.rpos, c.rend = c.headEnd, c.headEnd
	}
	if c.rend == len(*c.rb) {
		// Compact framing bytes down to the head end.
		n := copy((*c.rb)[c.headEnd:], (*c.rb)[c.rpos:c.rend])
		c.rpos, c.rend = c.headEnd, c.headEnd+n
		if c.rend == len(*c.rb) {
			return 0, errInvalidChunked
		}
	}
	if c.ReadTimeout > 0 {
		d := time.Now().Add(c.ReadTimeout)
		if !c.discardUntil.IsZero() && c.discardUntil.Before(d) {
			d = c.discardUntil
		}
		c.nc.SetReadDeadline(d)
	}
	n, err := ReadVia(c.sockIO(), c.nc, (*c.rb)[c.rend:])
	c.rend += n
	if n > 0 {
		return n, nil
	}
	return 0, bodyReadError(err)
}

// bodyReadError maps a failed body read to what nginx reports: a client
// that closed early, or client_body_timeout passing (ErrRequestTimeout).
func bodyReadError(err error) error {
	switch {
	case errors.Is(err, io.EOF):
		return errPrematureBodyEOF
	case errors.Is(err, os.ErrDeadlineExceeded):
		return ErrRequestTimeout
	}
	return err
}

// Hijacked reports whether Hijack was called: the caller must not use the
// Conn for I/O any more (Release it once the tunnel is over).
func (c *Conn) Hijacked() bool { return c.hijacked }

// awaitFirstBytes waits (under the read deadline) until the socket has
// bytes, an end or an error, peeking: have reports bytes. An end or a
// socket error is left for the read to report; err is the wait's own
// (a deadline, a closed connection). No socket to peek: have, at once.
func (c *Conn) awaitFirstBytes() (have bool, err error) {
	raw, owner := c.Socket()
	if raw == nil || owner != c.nc {
		return true, nil
	}
	err = raw.Read(func(fd uintptr) bool {
		var b [1]byte
		n, _, e := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		if e == syscall.EAGAIN || e == syscall.EINTR {
			return false
		}
		have = e == nil && n > 0
		return true
	})
	return have, err
}
