package http2

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gonginx/gonginx/rewrite/http1"
	"golang.org/x/net/http2"
)

// nginx's protocol constants (ngx_http_v2.h).
const (
	defaultWindow    = 65535
	maxWindow        = 1<<31 - 1
	defaultFrameSize = 1 << 14
	maxFrameSize     = 1<<24 - 1
	// The header table nginx allows a client (NGX_HTTP_V2_TABLE_SIZE).
	tableSize = 4096
)

// ClientPreface is what an HTTP/2 client sends first.
const ClientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// Config is what nginx's configuration sets for a connection: the
// default server's http2_* and core settings.
type Config struct {
	// MaxConcurrentStreams is http2_max_concurrent_streams (128).
	MaxConcurrentStreams int
	// PrereadSize is http2_body_preread_size (64k): the window a stream
	// starts with.
	PrereadSize int
	// ChunkSize is http2_chunk_size (8k): the largest DATA frame sent.
	ChunkSize int
	// HeaderLimit bounds a request's header list: nginx takes
	// large_client_header_buffers' size times their number (32k).
	HeaderLimit int
	// FieldLimit bounds one field's encoded name or value: nginx takes
	// large_client_header_buffers' size (8k).
	FieldLimit int
	// HeaderTimeout (client_header_timeout) bounds the wait for the
	// first frames; IdleTimeout (keepalive_timeout) a connection with no
	// stream; 0 IdleTimeout sends GOAWAY after the first stream.
	HeaderTimeout, IdleTimeout time.Duration
	// MaxRequests is keepalive_requests, MaxTime keepalive_time: then
	// the connection says GOAWAY after the stream that reached them.
	MaxRequests int
	MaxTime     time.Duration
	// SendTimeout bounds a write of the connection's own frames
	// (send_timeout); streams use their request's.
	SendTimeout time.Duration
	// Linger is lingering_close (not off) where a connection ends after
	// its GOAWAY: the write side is shut and what arrives is read and
	// dropped for at most LingerTime in all, LingerTimeout per read, so
	// the client's last bytes do not turn into a reset that destroys the
	// response (nginx's ngx_http_v2_lingering_close).
	Linger                    bool
	LingerTime, LingerTimeout time.Duration
	// UnderscoresInHeaders is underscores_in_headers: without it a name
	// with '_' is an invalid header, which IgnoreInvalidHeaders drops.
	UnderscoresInHeaders bool
	IgnoreInvalidHeaders bool
	// Log, when set, logs what nginx logs at "info" about a client, for
	// a connection whose Handler is no InfoLogger.
	Log func(msg string)
}

// InfoLogger is a Handler that logs its connection's info lines itself:
// nginx's connection log adds the connection's number, client and
// address, which a Config shared by an address's connections does not
// know.
type InfoLogger interface {
	LogInfo(msg string)
}

// NewConfig is cfg with nginx's defaults where it sets none: what
// NewConn takes, shared by the connections of an address (a Conn holds
// a pointer, not a copy of 144 bytes).
func NewConfig(cfg Config) *Config {
	cfg.withDefaults()
	return &cfg
}

func (cfg *Config) withDefaults() {
	if cfg.MaxConcurrentStreams <= 0 {
		cfg.MaxConcurrentStreams = 128
	}
	if cfg.PrereadSize < 0 {
		cfg.PrereadSize = 65536
	}
	if cfg.ChunkSize <= 0 {
		cfg.ChunkSize = 8192
	}
	if cfg.HeaderLimit <= 0 {
		cfg.HeaderLimit = 4 * 8192
	}
	if cfg.FieldLimit <= 0 {
		cfg.FieldLimit = 8192
	}
	if cfg.MaxRequests <= 0 {
		cfg.MaxRequests = 1000
	}
}

// Handler runs streams' requests: ServeStream is called in a goroutine
// of its own for each stream whose head arrived, and the stream ends when
// it returns.
type Handler interface {
	ServeStream(s *Stream)
}

// Conn is the server side of one HTTP/2 connection. Serve, in the
// connection's goroutine, reads and answers frames; the streams'
// goroutines write their HEADERS and DATA under wmu.
type Conn struct {
	nc   net.Conn
	cfg  *Config // shared: not changed
	info *http1.ConnInfo
	h    Handler
	// headerTimeout is client_header_timeout, what was left of it for
	// the first frames when the connection began (SetHeaderTimeout).
	headerTimeout time.Duration
	// parker, when set, takes the connection once it has had no stream
	// for grace (0: at once): it then waits with no goroutine (park.go).
	parker Parker
	grace  time.Duration

	// Writing: any goroutine, under wmu. fr is nil while the connection
	// is parked; its reader reads with it without wmu.
	wmu  sync.Mutex
	fr   *http2.Framer
	bw   *bufio.Writer // nil while nothing is buffered (connWriter)
	sio  sockIO
	werr error

	// Reading state: Serve's goroutine only.
	hdec          *decoder
	lastID        uint32
	recvWindow    int64
	totalBytes    int64
	payloadBytes  int64
	settingsAcked bool
	// prioLimit is nginx's priority_limit: PRIORITY frames the client may
	// still send, max(http2_max_concurrent_streams, 100) and as many more
	// for each stream it opens; the one that finds none left ends the
	// connection (a flood of them costs the tree's work each).
	prioLimit int
	block     *headerBlock // nil while parked
	start     time.Time

	// Shared with the streams, under mu.
	mu         sync.Mutex
	streams    map[uint32]*Stream
	live       []*Stream // streams' values, for the scheduler's scans (a map's iteration costs ~25 instructions a stream)
	processing int
	ending     int // of processing, streams whose end went to the write buffer (endedLocked)
	requests   int
	goaway     bool
	done       bool
	sendWindow int64
	initWindow int64 // the client's SETTINGS_INITIAL_WINDOW_SIZE
	maxFrame   int   // the client's SETTINGS_MAX_FRAME_SIZE
	// idleUntil is when keepalive_timeout ends the connection's wait
	// with no stream (zero: none), armed as its last stream ended.
	idleUntil  time.Time
	noPark     bool   // the Parker cannot park it
	pendingID  uint32 // the stream of the HEADERS frame being read
	timedOutID uint32 // a stream reset because its header block stalled
	frameBuf   []byte
	dataBuf    *[]byte             // a DATA frame's payload being written (wmu, pooled)
	dataHdr    [9]byte             // a frame's header being written (wmu)
	nodes      map[uint32]prioNode // the priority tree (mu)
	nameBuf    []byte
	heads      atomic.Pointer[headCache] // made at the first response, dropped by a park
	// tableUpdate: the client sent SETTINGS_HEADER_TABLE_SIZE; the next
	// head starts with a table size update to 0, as nginx's.
	tableUpdate atomic.Bool
	earlyTimer  *time.Timer // releaseLate's, armed for earlyAt (zero: not armed)
	earlyAt     time.Time

	wg        sync.WaitGroup // the streams' handlers
	lingerReq atomic.Bool    // the last stream ended after GOAWAY: linger, then close
	drainReq  atomic.Bool    // Drain: GOAWAY and close
	br        *connReader
	// partWait: a grace's timeout came in the middle of a frame, whose
	// rest is waited for under idleUntil (Serve's goroutine).
	partWait bool
}

// NewConn prepares a connection: pre is what was read from nc already
// (part of the preface).
func NewConn(nc net.Conn, cfg *Config, info *http1.ConnInfo, h Handler, pre []byte) *Conn {
	c := &Conn{nc: nc, cfg: cfg, info: info, h: h, headerTimeout: cfg.HeaderTimeout,
		streams:    make(map[uint32]*Stream),
		recvWindow: maxWindow, sendWindow: defaultWindow, initWindow: defaultWindow,
		maxFrame: defaultFrameSize, start: time.Now()}
	c.sio = sockIO{c: c, s: http1.SockFor(nc), nc: nc, send: cfg.SendTimeout}
	if c.sio.s == nil {
		c.sio.armSockUnder()
	}
	c.block = new(headerBlock)
	c.br = newConnReader(c.sio.s, nc, pre)
	c.framer()
	c.hdec = newDecoder(tableSize, c.cfg.FieldLimit, c.emitField)
	c.prioLimit = max(cfg.MaxConcurrentStreams, 100)
	return c
}

// SetHeaderTimeout sets client_header_timeout for the connection (what
// is left of it since accept), before Serve.
func (c *Conn) SetHeaderTimeout(d time.Duration) { c.headerTimeout = d }

// SetParker lets the connection park once it has had no stream for
// grace (park.go), before Serve.
func (c *Conn) SetParker(p Parker, grace time.Duration) { c.parker, c.grace = p, grace }

// Parker is what SetParker set (nil before): the server's record of the
// connection, found from its connection's.
func (c *Conn) Parker() Parker { return c.parker }

// num is n in decimal, for log lines.
func num(n int64) string { return strconv.FormatInt(n, 10) }

// StreamLogger is a Handler that logs a stream's header errors itself,
// in the stream's context as nginx's fake connection's log gives it
// (the request's server and, once known, host), not the connection's.
type StreamLogger interface {
	LogStreamInfo(msg string, host []byte)
}

// logStream logs an info line about the header block being read.
func (c *Conn) logStream(msg string) {
	if l, ok := c.h.(StreamLogger); ok {
		l.LogStreamInfo(msg, c.block.host())
	} else {
		c.logInfo(msg)
	}
}

func (c *Conn) logInfo(msg string) {
	if l, ok := c.h.(InfoLogger); ok {
		l.LogInfo(msg)
	} else if c.cfg.Log != nil {
		c.cfg.Log(msg)
	}
}

// Serve runs the connection until it closes (false) or parks (true:
// the Parker took it, and calls Resume to run it again).
func (c *Conn) Serve() (parked bool) {
	defer func() {
		if !parked {
			c.closeConn()
		}
	}()
	// nginx writes its SETTINGS and opens the connection window before it
	// reads anything (ngx_http_v2_init).
	c.wmu.Lock()
	c.framer().WriteSettings(
		http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: uint32(c.cfg.MaxConcurrentStreams)},
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: uint32(c.cfg.PrereadSize)},
		http2.Setting{ID: http2.SettingMaxFrameSize, Val: maxFrameSize},
	)
	c.framer().WriteWindowUpdate(0, maxWindow-defaultWindow)
	err := c.flushLocked()
	c.wmu.Unlock()
	if err != nil {
		return false
	}
	if c.headerTimeout > 0 {
		c.nc.SetReadDeadline(time.Now().Add(c.headerTimeout))
	}
	if !c.readPreface() {
		return false
	}
	return c.serveFrames()
}

// serveFrames reads and answers frames until the connection ends
// (false) or parks (true).
func (c *Conn) serveFrames() bool {
	for {
		f, fh, err := c.readFrame()
		if err != nil {
			switch c.readError(err) {
			case readOn:
				continue
			case readPark:
				if c.park() {
					return true
				}
				continue
			}
			return false
		}
		c.totalBytes += 9 + int64(fh.Length)
		// nginx's flood check (ngx_http_v2_read_handler): a client whose
		// bytes are mostly not requests and their bodies is cut off. A
		// DATA frame's body counts with its bytes: nginx counts it as it
		// reads it, so one frame of megabytes is no flood.
		var body int64
		if fh.Type == http2.FrameData {
			body = int64(fh.Length)
		}
		if c.totalBytes/8 > c.payloadBytes+body+1<<20 {
			c.logInfo("http2 flood detected")
			c.fail(http2.ErrCodeNo)
			return false
		}
		if f == nil && fh.Type == http2.FrameData {
			err = c.onLargeData(fh)
		} else {
			err = c.handleFrame(f)
		}
		if err != nil {
			var ce http2.ConnectionError
			if errors.As(err, &ce) {
				c.fail(http2.ErrCode(ce))
			} else if f == nil && fh.Type == http2.FrameData {
				c.readError(err) // the frame's rest did not come
			}
			return false
		}
		c.mu.Lock()
		stop := c.goaway && c.processing == 0
		if c.partWait && !stop {
			// The frame a grace's timeout cut came whole: an idle
			// connection has its grace again.
			c.partWait = false
			if c.processing == 0 {
				c.nc.SetReadDeadline(c.waitDeadlineLocked(time.Now()))
			}
		}
		c.mu.Unlock()
		if stop {
			c.linger()
			return false
		}
	}
}

// readPreface checks the client's connection preface; anything else
// (an HTTP/1 request on an http2 port) is a PROTOCOL_ERROR, as nginx 1.22
// answers it.
func (c *Conn) readPreface() bool {
	var b [len(ClientPreface)]byte
	n, err := io.ReadFull(c.br, b[:])
	if string(b[:n]) != ClientPreface[:n] {
		c.logInfo("invalid connection preface")
		c.fail(http2.ErrCodeProtocol)
		return false
	}
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			// nginx's read handler times out: GOAWAY PROTOCOL_ERROR.
			c.logInfo("client timed out (110: Connection timed out)")
			c.goAway(http2.ErrCodeProtocol)
		}
		return false
	}
	// Until its first stream, the connection waits under the
	// client_header_timeout that runs from accept (nginx's timer from
	// ngx_http_v2_init, which a stream's creation deletes), not
	// keepalive_timeout.
	c.mu.Lock()
	if c.headerTimeout > 0 {
		c.idleUntil = c.start.Add(c.headerTimeout)
		c.nc.SetReadDeadline(c.waitDeadlineLocked(time.Now()))
	} else {
		c.armIdleLocked()
	}
	c.mu.Unlock()
	return true
}

// readFrame reads the next frame. Its header, then its payload, wait in
// the reader's buffer first, so a timeout in the middle of a frame loses
// nothing: a header block that stops arriving for client_header_timeout
// costs its stream a RST_STREAM, as nginx's stream timer does, and the
// rest of the block is still decoded when it comes.
func (c *Conn) readFrame() (http2.Frame, http2.FrameHeader, error) {
	inBlock := c.block.st != nil || c.block.active
	if err := c.peek(9, inBlock, true); err != nil {
		return nil, http2.FrameHeader{}, err
	}
	fh, err := c.fr.ReadFrameHeader()
	if err != nil {
		// The Framer's frame order check (a CONTINUATION out of place):
		// said with nginx's line.
		if ce := (http2.ConnectionError(0)); errors.As(err, &ce) {
			if herr := c.checkHead(fh, -1); herr != nil {
				return nil, fh, herr
			}
		}
		return nil, fh, err
	}
	if fh.Type == http2.FramePushPromise {
		c.logInfo("client sent PUSH_PROMISE frame")
		return nil, fh, http2.ConnectionError(http2.ErrCodeProtocol)
	}
	first := -1
	if (fh.Type == http2.FrameData || fh.Type == http2.FrameHeaders) && fh.Flags&http2.FlagDataPadded != 0 && fh.Length > 0 {
		// The pad length, HEADERS' PADDED flag being the same bit.
		if err := c.peek(1, false, false); err != nil {
			return nil, fh, err
		}
		p, _ := c.br.Peek(1)
		first = int(p[0])
	}
	if err := c.checkHead(fh, first); err != nil {
		return nil, fh, err
	}
	if n := int(fh.Length); n > 0 && n <= c.br.Size() {
		headers := fh.Type == http2.FrameHeaders || fh.Type == http2.FrameContinuation
		if headers && fh.Type == http2.FrameHeaders {
			c.pendingID = fh.StreamID
			if err := c.peekBlock(fh); err != nil {
				return nil, fh, err
			}
		}
		if err := c.peek(n, headers, false); err != nil {
			return nil, fh, err
		}
		if fh.Type == http2.FrameWindowUpdate && n == 4 {
			// An increment of 0 ends the connection in nginx, a stream's
			// too (the Framer's is a stream error there).
			if p, _ := c.br.Peek(4); p[0]&0x7f|p[1]|p[2]|p[3] == 0 {
				c.logInfo("client sent WINDOW_UPDATE frame with incorrect window increment 0")
				return nil, fh, http2.ConnectionError(http2.ErrCodeProtocol)
			}
		}
		if fh.Type == http2.FrameSettings && fh.Flags&http2.FlagSettingsAck == 0 && n%6 == 0 {
			if err := c.checkWindowSetting(n); err != nil {
				return nil, fh, err
			}
		}
		if fh.Type == http2.FrameHeaders {
			// nil, nil: the frame is c.block.hf.
			return nil, fh, c.readHeaders(fh)
		}
	}
	if fh.Type == http2.FrameData && int(fh.Length) > c.br.Size() {
		return nil, fh, nil // read as it comes (onLargeData)
	}
	if int(fh.Length) > c.br.Size() {
		// A frame larger than the buffer is read through by the framer,
		// which a deadline must not cut: one a stream's start left armed
		// is no timer of a connection with streams (readError's).
		c.mu.Lock()
		if c.processing > 0 {
			c.nc.SetReadDeadline(time.Time{})
		}
		c.mu.Unlock()
	}
	f, err := c.fr.ReadFrameForHeader(fh)
	if hf, ok := f.(*http2.HeadersFrame); ok {
		c.block.hf = headersFrame{FrameHeader: fh, Priority: hf.Priority, frag: hf.HeaderBlockFragment()}
		return nil, fh, nil
	}
	return f, fh, err
}

// peekBlock waits for a HEADERS frame's payload while checking the
// part that has arrived: nginx decodes a header block as its bytes come,
// so an integer longer than four octets ends the connection at once, not
// when (if ever) the frame completes.
func (c *Conn) peekBlock(fh http2.FrameHeader) error {
	n := int(fh.Length)
	skip := 0 // the padding length and priority before the block
	if fh.Flags&http2.FlagHeadersPadded != 0 {
		skip++
	}
	if fh.Flags&http2.FlagHeadersPriority != 0 {
		skip += 5
	}
	for have := c.br.Buffered(); have < n; have = c.br.Buffered() {
		if have > skip {
			p, _ := c.br.Peek(have)
			done, err := scanInts(p[skip:])
			if err != nil {
				c.logInfo(err.msg)
				return http2.ConnectionError(err.code)
			}
			skip += done
		}
		if err := c.peek(have+1, true, false); err != nil {
			return err
		}
	}
	return nil
}

// peek waits until n bytes are buffered (start: a frame's first bytes).
// In a header block the wait is client_header_timeout's: when it passes,
// the stream is reset and the wait goes on under the connection's own
// deadline. An idle connection's grace that ends in the middle of a frame
// does not park it: the rest is waited for under keepalive_timeout.
func (c *Conn) peek(n int, inBlock, start bool) error {
	if c.br.Buffered() >= n {
		return nil
	}
	timed := inBlock && c.cfg.HeaderTimeout > 0
	if timed {
		// A stream's own timer: client_header_timeout from now.
		c.nc.SetReadDeadline(time.Now().Add(c.cfg.HeaderTimeout))
	}
	for {
		_, err := c.br.Peek(n)
		if err == nil {
			if timed {
				c.restoreDeadline()
			}
			return nil
		}
		if !errors.Is(err, os.ErrDeadlineExceeded) || c.lingerReq.Load() || c.drainReq.Load() {
			return err
		}
		if !timed {
			if (!start || c.br.Buffered() > 0) && c.waitRest() {
				continue
			}
			return err
		}
		timed = false
		c.logInfo("client timed out (110: Connection timed out)")
		id := c.pendingID
		if st := c.block.st; st != nil {
			id = st.id
			c.dropBlockStream()
		}
		c.timedOutID = id
		c.sendRst(id, http2.ErrCodeProtocol)
		c.restoreDeadline()
	}
}

// restoreDeadline puts back the connection's read deadline: the idle
// timeout when no stream runs, else none.
func (c *Conn) restoreDeadline() {
	if c.drainReq.Load() {
		return // the reader is to end (Drain, writeTimedOut)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.processing == 0 {
		c.armIdleLocked()
	} else {
		c.nc.SetReadDeadline(time.Time{})
	}
}

// What readError decides: read on, park the connection, or end it.
const (
	readEnd = iota
	readOn
	readPark
)

// readError decides what a failed frame read means.
func (c *Conn) readError(err error) int {
	var se http2.StreamError
	var ce http2.ConnectionError
	switch {
	case errors.As(err, &se):
		c.resetStream(se.StreamID, se.Code)
		return readOn
	case errors.As(err, &ce):
		c.fail(http2.ErrCode(ce))
	case errors.Is(err, http2.ErrFrameTooLarge):
		c.logInfo("client sent frame with incorrect length")
		c.fail(http2.ErrCodeFrameSize)
	case errors.Is(err, syscall.ECONNRESET):
		// nginx's recv (SSL_read on TLS) logs the reset at info.
		if c.info != nil && c.info.TLS {
			c.logInfo("SSL_read() failed (104: Connection reset by peer)")
		} else {
			c.logInfo("recv() failed (104: Connection reset by peer)")
		}
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		// A close in the middle of a frame or of a stream is premature
		// (ngx_http_v2_read_handler); one of an idle connection is not.
		c.mu.Lock()
		busy := c.processing > 0
		c.mu.Unlock()
		if busy || c.br.Buffered() > 0 || c.block.active || errors.Is(err, io.ErrUnexpectedEOF) {
			c.logInfo("client prematurely closed connection")
		}
	case errors.Is(err, os.ErrDeadlineExceeded) && c.drainReq.Load():
		c.goAway(http2.ErrCodeNo)
	case errors.Is(err, os.ErrDeadlineExceeded) && c.lingerReq.Load():
		c.linger()
	case errors.Is(err, os.ErrDeadlineExceeded):
		c.mu.Lock()
		busy, until := c.processing > 0, c.idleUntil
		if busy {
			// The idle deadline a stream's start left armed: no timer
			// while streams run. Cleared under c.mu, so a stream's end
			// arming the idle one cannot come between.
			c.nc.SetReadDeadline(time.Time{})
		}
		c.mu.Unlock()
		if busy {
			return readOn
		}
		parks := c.parks()
		if !parks && !until.IsZero() && time.Now().Before(until) {
			// The deadline a stream left armed passed just as the last
			// stream ended, which armed keepalive_timeout anew.
			return readOn
		}
		if parks && (until.IsZero() || time.Now().Before(until)) {
			// The grace ended (keepalive_timeout has not).
			if c.block.active {
				// Between a header block's frames: not parked.
				c.partWait = true
				c.nc.SetReadDeadline(until)
				return readOn
			}
			return readPark
		}
		c.goAway(http2.ErrCodeNo)
	}
	return readEnd
}

// armIdle sets the read deadline of a connection with no stream:
// keepalive_timeout, nginx's idle handler.
func (c *Conn) armIdle() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.armIdleLocked()
}

func (c *Conn) armIdleLocked() {
	if c.processing > 0 || c.done || c.drainReq.Load() {
		return
	}
	now := time.Now()
	c.idleUntil = time.Time{}
	if c.cfg.IdleTimeout > 0 {
		c.idleUntil = now.Add(c.cfg.IdleTimeout)
	}
	c.nc.SetReadDeadline(c.waitDeadlineLocked(now))
}

func (c *Conn) handleFrame(f http2.Frame) error {
	switch f := f.(type) {
	case nil: // readFrame's HEADERS, which onHeaders' new block replaces
		hf := c.block.hf
		return c.onHeaders(&hf)
	case *http2.ContinuationFrame:
		return c.onContinuation(f)
	case *http2.DataFrame:
		return c.onData(f)
	case *http2.SettingsFrame:
		return c.onSettings(f)
	case *http2.WindowUpdateFrame:
		return c.onWindowUpdate(f)
	case *http2.PingFrame:
		if f.IsAck() {
			return nil
		}
		c.wmu.Lock()
		c.framer().WritePing(true, f.Data)
		err := c.flushLocked()
		c.wmu.Unlock()
		return err
	case *http2.RSTStreamFrame:
		return c.onReset(f)
	case *http2.PriorityFrame:
		return c.onPriority(f)
	case *http2.GoAwayFrame:
		return nil
	case *http2.PushPromiseFrame:
		c.logInfo("client sent PUSH_PROMISE frame")
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	return nil // unknown frame types are ignored
}

func (c *Conn) onSettings(f *http2.SettingsFrame) error {
	if f.IsAck() {
		c.settingsAcked = true
		return nil
	}
	err := f.ForeachSetting(func(s http2.Setting) error {
		switch s.ID {
		case http2.SettingInitialWindowSize:
			if s.Val > maxWindow {
				c.logInfo("client sent SETTINGS frame with incorrect INITIAL_WINDOW_SIZE value " + num(int64(s.Val)))
				return http2.ConnectionError(http2.ErrCodeFlowControl)
			}
			c.mu.Lock()
			delta := int64(s.Val) - c.initWindow
			c.initWindow = int64(s.Val)
			for _, st := range c.streams {
				st.sendWindow += delta
				st.wakeWriter()
			}
			c.mu.Unlock()
		case http2.SettingMaxFrameSize:
			if s.Val < defaultFrameSize || s.Val > maxFrameSize {
				c.logInfo("client sent SETTINGS frame with incorrect MAX_FRAME_SIZE value " + num(int64(s.Val)))
				return http2.ConnectionError(http2.ErrCodeProtocol)
			}
			c.mu.Lock()
			c.maxFrame = int(s.Val)
			c.mu.Unlock()
		case http2.SettingEnablePush:
			if s.Val > 1 {
				c.logInfo("client sent SETTINGS frame with incorrect ENABLE_PUSH value " + num(int64(s.Val)))
				return http2.ConnectionError(http2.ErrCodeProtocol)
			}
		case http2.SettingHeaderTableSize:
			// Our fields refer to no table of ours: nginx sizes it 0.
			c.tableUpdate.Store(true)
		}
		return nil
	})
	if err != nil {
		return err
	}
	c.wmu.Lock()
	c.framer().WriteSettingsAck()
	err = c.flushLocked()
	c.wmu.Unlock()
	if err != nil {
		return err
	}
	// Windows may have grown: what waited goes now, after every
	// parameter of the frame was applied.
	return c.schedule(nil)
}

func (c *Conn) onWindowUpdate(f *http2.WindowUpdateFrame) error {
	if err := c.updateWindow(f); err != nil {
		return err
	}
	return c.schedule(nil)
}

func (c *Conn) updateWindow(f *http2.WindowUpdateFrame) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f.StreamID == 0 {
		if c.sendWindow+int64(f.Increment) > maxWindow {
			c.logInfo("client violated connection flow control: received WINDOW_UPDATE frame with window increment " + num(int64(f.Increment)) + " not allowed for window " + num(c.sendWindow))
			return http2.ConnectionError(http2.ErrCodeFlowControl)
		}
		c.sendWindow += int64(f.Increment)
		for _, st := range c.streams {
			st.wakeWriter()
		}
		return nil
	}
	st := c.streams[f.StreamID]
	if st == nil || st.endSent {
		return nil // closed in nginx once its response ended (receive's)
	}
	if st.sendWindow+int64(f.Increment) > maxWindow {
		// nginx's handler ran as the HEADERS came: a response it
		// finished then closed the stream, and this frame is skipped.
		if st = c.awaitRunLocked(st); st == nil || st.endSent {
			return nil
		}
		if st.sendWindow+int64(f.Increment) <= maxWindow {
			st.sendWindow += int64(f.Increment)
			st.wakeWriter()
			return nil
		}
		c.logInfo("client violated flow control for stream " + num(int64(f.StreamID)) + ": received WINDOW_UPDATE frame with window increment " + num(int64(f.Increment)) + " not allowed for window " + num(st.sendWindow))
		c.mu.Unlock()
		c.resetStream(f.StreamID, http2.ErrCodeFlowControl)
		c.mu.Lock()
		return nil
	}
	st.sendWindow += int64(f.Increment)
	st.wakeWriter()
	return nil
}

func (c *Conn) onReset(f *http2.RSTStreamFrame) error {
	// Streams are pooled: one is acted on only under c.mu, while the map
	// holds it.
	c.mu.Lock()
	st := c.streams[f.StreamID]
	// One whose response ended is closed in nginx (receive's): skipped.
	if st != nil && !st.endSent {
		st.releaseEarlyLocked() // they were read first
		if st.err == nil && st.resetLog != nil {
			st.resetLog(resetLine(st.id, f.ErrCode))
			st.resetLog = nil
		} else if st.err == nil {
			st.resetCode, st.resetPending = f.ErrCode, true
		}
		st.abortLocked(errStreamReset, true)
	}
	c.mu.Unlock()
	// One for a stream not known (idle or closed) is skipped, as nginx's
	// ngx_http_v2_state_rst_stream does ("unknown http2 stream").
	return nil
}

// resetStream sends RST_STREAM and ends the stream's I/O.
func (c *Conn) resetStream(id uint32, code http2.ErrCode) {
	c.mu.Lock()
	if st := c.streams[id]; st != nil {
		st.abortLocked(errStreamReset, false)
		if st.rstSent {
			c.mu.Unlock()
			return
		}
		st.rstSent = true
	}
	c.mu.Unlock()
	c.wmu.Lock()
	c.framer().WriteRSTStream(id, code)
	c.flushLocked()
	c.wmu.Unlock()
}

// goAway says GOAWAY with code and the last stream taken.
func (c *Conn) goAway(code http2.ErrCode) {
	c.mu.Lock()
	c.goaway = true
	c.mu.Unlock()
	c.wmu.Lock()
	c.framer().WriteGoAway(c.lastID, code, nil)
	c.flushLocked()
	c.wmu.Unlock()
}

// Idle reports whether no stream runs.
func (c *Conn) Idle() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.processing == 0
}

func (c *Conn) flushLocked() error {
	if c.werr != nil {
		return c.werr
	}
	c.sio.dl.Store(dlSendTimeout)
	if err := c.flushBuf(); err != nil {
		c.werr = err
		return err
	}
	return nil
}

// closeConn ends the connection's streams and waits for their handlers.
func (c *Conn) closeConn() {
	c.mu.Lock()
	c.done = true
	if c.earlyTimer != nil {
		c.earlyTimer.Stop()
	}
	for _, st := range c.streams {
		st.abortLocked(errConnClosed, true)
	}
	c.mu.Unlock()
	if c.parker != nil {
		c.parker.Closing()
	}
	c.nc.Close()
	c.br.release()
	c.wg.Wait()
}

var (
	errStreamReset = errors.New("client reset the stream")
	errConnClosed  = errors.New("client closed the connection")
	// ErrSendTimedOut is what writes get once one timed out: the
	// connection's end, which its streams' requests log nothing for
	// (nginx's timer is the connection's, not the request's).
	ErrSendTimedOut = errors.New("http2: the connection's send timed out")
)
