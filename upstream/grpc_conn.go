package upstream

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"

	"github.com/gonginx/gonginx/rewrite/http1"
	h2 "github.com/gonginx/gonginx/rewrite/http2"
)

// This file and grpc_recv.go (the receiving half) are gRPC's HTTP/2
// client on the wire, as ngx_http_grpc_module speaks it: frames read and
// written with x/net/http2's Framer, header blocks decoded with its hpack
// (encoded by grpc.go), flow control, the control frames answered,
// nginx's error lines.

// grpcPreface is ngx_http_grpc_connection_start: the client preface,
// SETTINGS (no header table, no push, the largest initial window) and a
// WINDOW_UPDATE that opens the connection's window as far.
const grpcPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" +
	"\x00\x00\x12\x04\x00\x00\x00\x00\x00" +
	"\x00\x01\x00\x00\x00\x00" +
	"\x00\x02\x00\x00\x00\x00" +
	"\x00\x04\x7f\xff\xff\xff" +
	"\x00\x00\x04\x08\x00\x00\x00\x00\x00" +
	"\x7f\xff\x00\x00"

const (
	h2MaxWindow = 1<<31 - 1
	h2FrameSize = 16384 // the peer's default SETTINGS_MAX_FRAME_SIZE, which nginx keeps to
)

// h2Conn is a backend connection speaking HTTP/2, kept alive with its
// state: one stream at a time, as nginx's grpc connection.
type h2Conn struct {
	net.Conn
	fr      *http2.Framer
	dec     hpackDecoder
	started bool   // the preface went out
	lastID  uint32 // the last stream's id
	goaway  bool
	recvWin int64 // the connection's receive window (ours)
	cur     *grpcStream
	// read and sent count the try's bytes (x.recvd, x.sent); sent is
	// guarded by wmu.
	read *int64
	sent *int64

	mu      sync.Mutex // guards sendWin, initWin and the stream's sendWin and stop
	cond    sync.Cond
	sendWin int64
	initWin int64 // the peer's SETTINGS_INITIAL_WINDOW_SIZE
	settled bool  // the peer's SETTINGS were read and acknowledged

	wmu  sync.Mutex // one frame writer at a time
	wbuf []byte

	// rbuf[rpos:rend] was read from the socket and not parsed yet: one
	// read takes what the backend sent (a response's HEADERS, DATA and
	// trailers come in one), as nginx reads into its buffer, where the
	// Framer alone would read each frame's header and payload apart.
	rbuf       []byte
	rpos, rend int
	// pbuf takes a DATA or HEADERS payload not read ahead whole
	// (readOwnFrame).
	pbuf []byte
	// ahead is rend-rpos for the body writer, which peeks beside the
	// reader (awaitSettings).
	ahead atomic.Int32
	// drained: the last read from the socket took less than it asked
	// for, so the socket had nothing more then; nginx's recv clears the
	// event's ready flag then and looks again only when epoll reports
	// more, so what came after is not "at hand" (atHand).
	drained bool
	tls     bool // grpcs: the socket is under TLS
	// sock reads and writes a plain socket with raw system calls, as
	// the proxy's (nil under TLS).
	sock *http1.Sock
	// dl is the try's connection's deadlines (its connLife's, kept with
	// it in the pool and re-armed lazily from request to request as the
	// proxy's; nil between tries); readTimeout is grpc_read_timeout.
	// The reader arms the read one, frame writers (under wmu) the write
	// one.
	dl          *http1.Deadlines
	readTimeout time.Duration
}

// grpcReadAhead is the read-ahead buffer's size (grpc_buffer_size's
// default, a page); a larger payload is read straight into the Framer's.
const grpcReadAhead = 4096

func newH2Conn(nc net.Conn) net.Conn {
	hc := &h2Conn{Conn: nc, recvWin: h2MaxWindow, sendWin: 65535, initWin: 65535}
	hc.tls = rawConn(nc) != nc
	hc.sock = http1.SockFor(nc)
	hc.cond.L = &hc.mu
	hc.fr = http2.NewFramer(hcWriter{hc}, hcReader{hc})
	hc.dec.maxSize = 4096
	return hc
}

type hcReader struct{ hc *h2Conn }

func (r hcReader) Read(p []byte) (int, error) {
	hc := r.hc
	if hc.rpos == hc.rend {
		if g := hc.cur; g != nil && g.unflushed != nil {
			// The reader is about to wait on the backend: what was
			// passed on to the client goes out first.
			c := g.unflushed
			g.unflushed = nil
			if err := c.Flush(); err != nil {
				g.flushErr = err
				return 0, err
			}
		}
		if len(p) >= grpcReadAhead {
			n, err := hc.readSocket(p)
			hc.count(n)
			return n, err
		}
		if hc.rbuf == nil {
			hc.rbuf = make([]byte, grpcReadAhead)
		}
		n, err := hc.readSocket(hc.rbuf)
		if n == 0 {
			return 0, err
		}
		hc.rpos, hc.rend = 0, n
	}
	n := copy(p, hc.rbuf[hc.rpos:hc.rend])
	hc.rpos += n
	hc.ahead.Store(int32(hc.rend - hc.rpos))
	hc.count(n)
	return n, nil
}

// readSocket reads from the backend; bytes count when the Framer takes
// them, so the head's and the body's shares stay apart
// ($upstream_response_length) as when each frame was read alone.
func (hc *h2Conn) readSocket(p []byte) (int, error) {
	// grpc_read_timeout runs while the reader waits on the socket (as
	// nginx's timer is added when recv finds nothing): re-armed before a
	// read from it, not per frame parsed from what was read ahead.
	if hc.dl != nil {
		hc.dl.SetRead(hc.Conn, time.Now(), hc.readTimeout)
		if g := hc.cur; g != nil && g.failed.Load() {
			// The writer's failure set a past deadline, which the
			// re-arming may have undone.
			hc.Conn.SetReadDeadline(time.Unix(1, 0))
		}
	}
	n, err := http1.ReadVia(hc.sock, hc.Conn, p)
	// Through TLS a short read is one record: more may wait.
	hc.drained = err == nil && n < len(p) && !hc.tls
	return n, err
}

func (hc *h2Conn) count(n int) {
	if hc.read != nil {
		*hc.read += int64(n)
	}
}

// atHand reports whether a read would return at once: bytes read ahead,
// or at the socket unless the last read drained it.
func (hc *h2Conn) atHand() bool {
	return hc.rpos < hc.rend || !hc.drained && atHand(rawConn(hc.Conn))
}

// readOwnFrame reads the payload of a DATA or HEADERS frame whose header
// the Framer read, and takes what the Framer's parsers would
// (h2.FramePayload: DATA's data, HEADERS' fragment), with their errors:
// the Framer makes a frame value per HEADERS (and DATA, unless
// reused) for what is two slices here. A payload already read ahead is
// not copied: valid, as the Framer's, until the next frame is read.
func (hc *h2Conn) readOwnFrame(fh http2.FrameHeader) ([]byte, error) {
	n := int(fh.Length)
	var b []byte
	if hc.rend-hc.rpos >= n {
		b = hc.rbuf[hc.rpos : hc.rpos+n]
		hc.rpos += n
		hc.ahead.Store(int32(hc.rend - hc.rpos))
		hc.count(n)
	} else {
		if cap(hc.pbuf) < n {
			hc.pbuf = make([]byte, n)
		}
		b = hc.pbuf[:n]
		if _, err := io.ReadFull(hcReader{hc}, b); err != nil {
			return nil, err
		}
	}
	b, _, err := h2.FramePayload(fh, b)
	return b, err
}

// hcWriter writes for the Framer, whose callers hold wmu.
type hcWriter struct{ hc *h2Conn }

func (w hcWriter) Write(p []byte) (int, error) {
	n, err := http1.WriteVia(w.hc.sock, w.hc.Conn, p)
	if w.hc.sent != nil {
		*w.hc.sent += int64(n)
	}
	return n, err
}

// grpcStream is a request's stream, in its pooled exchange.
type grpcStream struct {
	hc      *h2Conn
	id      uint32
	sendWin int64 // guarded by hc.mu
	stop    bool  // guarded by hc.mu: the body writer is to give up
	recvWin int64
	writing bool // a body writer runs
	// writerDone takes the writer's token when it returns; joinTimer
	// paces join's repeated wake-ups (both made once, reused).
	writerDone chan struct{}
	joinTimer  *time.Timer
	werr       error // the writer's client-side failure, once failed is set
	failed     atomic.Bool
	outClosed  bool // END_STREAM sent
	endStream  bool // END_STREAM received
	rst        bool
	headDone   bool
	inBlock    bool // header block fragments are coming
	// headRaw: the bytes of the frames nginx would hold in its
	// grpc_buffer_size with the head (nextEvent).
	headRaw int
	block   []byte
	// The fields of the block being decoded: offsets into arena.
	fields  [][4]int
	arena   []byte
	badName bool
	buf     []byte // the writer's read buffer
	held    int    // client body bytes in buf, read by wholeBody
	// clientConn is the client's connection the writer reads the body
	// from (nil: the body is at hand).
	clientConn net.Conn
	// trailers, passed on after the body.
	trailers []http1.Header
	// unflushed is the client's stream while DATA passed on waits in its
	// buffer for the frames read with it (hcReader flushes it before a
	// read from the socket); flushErr is that flush's failure.
	unflushed http1.Stream
	flushErr  error
}

func (x *exchange) grpcState() *grpcStream {
	if x.grpc == nil {
		x.grpc = &grpcStream{buf: make([]byte, h2FrameSize)}
	}
	return x.grpc
}

func (g *grpcStream) addField(name, value string) {
	at := len(g.arena)
	g.arena = append(g.arena, name...)
	g.arena = append(g.arena, value...)
	g.fields = append(g.fields, [4]int{at, at + len(name), at + len(name), len(g.arena)})
}

func (g *grpcStream) field(i int) (name, value []byte) {
	f := g.fields[i]
	return g.arena[f[0]:f[1]], g.arena[f[2]:f[3]]
}

// sendRequest sends the preface on a new connection, the HEADERS frames,
// then starts the body's writer: DATA frames as the body arrives, under
// the peer's windows, while the response is read.
func (gp *grpcProto) sendRequest(p *Proxy, c http1.Stream, nc net.Conn, x *exchange, bodyLen int64) (int, error, ftMask) {
	hc := nc.(*h2Conn)
	g := x.grpcState()
	g.hc, g.outClosed, g.endStream, g.rst, g.headDone, g.inBlock, g.werr = hc, false, false, false, false, false, nil
	g.headRaw = 0
	g.failed.Store(false)
	g.stop, g.writing, g.trailers, g.clientConn = false, false, g.trailers[:0], nil
	g.unflushed, g.flushErr, g.held = nil, nil, 0
	g.recvWin = h2MaxWindow
	hc.cur, hc.read, hc.sent = g, &x.recvd, &x.sent
	hc.dl, hc.readTimeout = &x.life.dl, p.ReadTimeout
	if hc.lastID == 0 {
		g.id = 1
	} else {
		g.id = hc.lastID + 2
	}
	hc.lastID = g.id
	hc.mu.Lock()
	g.sendWin = hc.initWin
	hc.mu.Unlock()
	body := bodyLen > 0 || x.streamChunked
	w := hc.wbuf[:0]
	fresh := !hc.started
	if fresh {
		w = append(w, grpcPreface...)
		hc.started = true
	}
	whole, ok := gp.wholeBody(c, x, g, bodyLen, fresh)
	w = appendHeaderFrames(w, g.id, x.req, !body)
	if ok {
		w = appendDataFrames(w, g.id, whole)
		body = false
	}
	hc.wbuf = w
	hc.wmu.Lock()
	n, err := http1.WriteVia(hc.sock, hc.Conn, w)
	x.sent += int64(n)
	hc.wmu.Unlock()
	if err != nil {
		return sendFailure(err)
	}
	g.outClosed = !body
	if body {
		if !x.bodyBuffered {
			g.clientConn = c.NetConn()
		}
		g.writing = true
		if g.writerDone == nil {
			g.writerDone = make(chan struct{}, 1)
		}
		bodyWriters.Go(bodyJob{g, p, c, x, bodyLen})
	}
	return 0, nil, 0
}

// wholeBody is the request body when all of it is at hand and within
// both send windows: it goes out with the HEADERS in one write and no
// writer runs, as nginx sends the preread body with the request head
// (ngx_http_upstream_send_request) in one writev. A body read from the
// client here that is not whole is left in g.buf for the writer (held).
// The backend's SETTINGS must have been read (a kept connection) or be
// unread by anyone yet (fresh, the preface goes in the same write), so
// their acknowledgement still precedes a body that follows them
// (awaitSettings).
func (gp *grpcProto) wholeBody(c http1.Stream, x *exchange, g *grpcStream, bodyLen int64, fresh bool) ([]byte, bool) {
	hc := g.hc
	if !fresh && !hc.settled {
		return nil, false
	}
	var data []byte
	switch {
	case x.bodyBuffered:
		if x.bodyFile != nil {
			return nil, false
		}
		data = x.sendBody
	case x.streamChunked:
		if !c.BodyDone() {
			return nil, false
		}
		data = x.pending
	case bodyLen > 0 && bodyLen < int64(len(g.buf)) && len(x.pending) == 0:
		// The buffer reaches past the length: the read sees the end.
		n, err := readAtHand(c, g.buf)
		g.held = n
		if err != nil || !c.BodyDone() {
			return nil, false
		}
		data = g.buf[:n]
	default:
		return nil, false
	}
	hc.mu.Lock()
	defer hc.mu.Unlock()
	k := int64(len(data))
	if k > g.sendWin || k > hc.sendWin {
		return nil, false
	}
	g.sendWin -= k
	hc.sendWin -= k
	g.held = 0
	return data, true
}

// appendDataFrames frames a whole body as DATA frames of the frame size,
// END_STREAM on the last.
func appendDataFrames(w []byte, id uint32, data []byte) []byte {
	for {
		n := min(len(data), h2FrameSize)
		flags := byte(0)
		if n == len(data) {
			flags = byte(http2.FlagDataEndStream)
		}
		w = append(w, byte(n>>16), byte(n>>8), byte(n), byte(http2.FrameData), flags,
			byte(id>>24), byte(id>>16), byte(id>>8), byte(id))
		w = append(w, data[:n]...)
		data = data[n:]
		if flags != 0 {
			return w
		}
	}
}

// appendHeaderFrames frames a header block: HEADERS, then CONTINUATION
// frames past the frame size, END_HEADERS on the last, END_STREAM when
// no body follows.
func appendHeaderFrames(w []byte, id uint32, block []byte, endStream bool) []byte {
	typ := byte(http2.FrameHeaders)
	flags := byte(0)
	if endStream {
		flags |= byte(http2.FlagHeadersEndStream)
	}
	for {
		n := min(len(block), h2FrameSize)
		f := flags
		if n == len(block) {
			f |= byte(http2.FlagHeadersEndHeaders)
		}
		w = append(w, byte(n>>16), byte(n>>8), byte(n), typ, f,
			byte(id>>24), byte(id>>16), byte(id>>8), byte(id))
		w = append(w, block[:n]...)
		block = block[n:]
		if len(block) == 0 {
			return w
		}
		typ, flags = byte(http2.FrameContinuation), 0
	}
}

// bodyWriters run writeBody, each on a goroutine whose stack has grown
// for one before (see http1.Workers).
var bodyWriters = http1.NewWorkers(func(j bodyJob) { j.g.writeBody(j.p, j.c, j.x, j.bodyLen) })

type bodyJob struct {
	g       *grpcStream
	p       *Proxy
	c       http1.Stream
	x       *exchange
	bodyLen int64
}

// writeBody sends the request body as DATA frames: what is in memory,
// then a temporary file or the client's body as it arrives; the last
// frame ends the stream. A frame carries what is at hand when the
// windows open, up to the frame size, as nginx sends its buffers.
func (g *grpcStream) writeBody(p *Proxy, c http1.Stream, x *exchange, bodyLen int64) {
	defer func() { g.writerDone <- struct{}{} }()
	mem := x.pending
	var src io.Reader
	client := false
	switch {
	case x.bodyBuffered:
		mem = x.sendBody
		if x.bodyFile != nil {
			if _, err := x.bodyFile.Seek(0, io.SeekStart); err != nil {
				g.fail(err)
				return
			}
			src = x.bodyFile
		}
	default:
		src, client = c.Body(), true
	}
	eof := src == nil
	for len(mem) > 0 {
		if !g.waitWindow() {
			return
		}
		k := g.consume(len(mem))
		if k == 0 {
			continue
		}
		last := eof && k == len(mem)
		if err := g.writeData(p, mem[:k], last); err != nil {
			return
		}
		mem = mem[k:]
		if last {
			g.outClosed = true
			return
		}
	}
	buf, n := g.buf, g.held
	// fill reads into buf[n:]: at once what is at hand (wait: at least
	// something); the client's last bytes are the end.
	fill := func(wait bool) error {
		if eof || n == len(buf) {
			return nil
		}
		if wait {
			m, err := src.Read(buf[n:])
			n += m
			if err == io.EOF {
				eof = true
				return nil
			}
			if err != nil {
				return err
			}
		}
		if client {
			m, err := readAtHand(c, buf[n:])
			n += m
			if err != nil {
				return err
			}
			eof = eof || c.BodyDone()
		}
		return nil
	}
	for {
		if err := fill(n == 0); err != nil {
			g.fail(err)
			return
		}
		if n == 0 && eof {
			if err := g.writeData(p, nil, true); err == nil {
				g.outClosed = true
			}
			return
		}
		if !g.waitWindow() {
			return
		}
		if err := fill(false); err != nil {
			g.fail(err)
			return
		}
		k := g.consume(n)
		if k == 0 {
			continue
		}
		last := eof && k == n
		if err := g.writeData(p, buf[:k], last); err != nil {
			return
		}
		if last {
			g.outClosed = true
			return
		}
		n = copy(buf, buf[k:n])
	}
}

// writeData writes one DATA frame of the stream.
func (g *grpcStream) writeData(p *Proxy, data []byte, last bool) error {
	g.awaitSettings()
	return g.writeFrame(p, func(fr *http2.Framer) error { return fr.WriteData(g.id, last, data) })
}

// awaitSettings lets the reader acknowledge the backend's SETTINGS first
// when they have arrived but are not read yet: nginx's one event loop
// reads the backend before it sends what the client sent after them, so
// the acknowledgement precedes the body on the wire. Nothing waits when
// nothing is at hand (no round trip added), and never long.
func (g *grpcStream) awaitSettings() {
	hc := g.hc
	hc.mu.Lock()
	defer hc.mu.Unlock()
	if hc.settled || hc.ahead.Load() == 0 && !pendingInput(hc.Conn) {
		return
	}
	t := time.AfterFunc(50*time.Millisecond, func() {
		hc.mu.Lock()
		hc.settled = true
		hc.cond.Broadcast()
		hc.mu.Unlock()
	})
	for !hc.settled && !g.stop {
		hc.cond.Wait()
	}
	t.Stop()
}

// fail records a failed read of the client's body and wakes the reader
// (readSocket sets the past deadline again if its re-arming undid it;
// join makes the Deadlines forget it).
func (g *grpcStream) fail(err error) {
	g.werr = err
	g.failed.Store(true)
	g.hc.Conn.SetReadDeadline(time.Unix(1, 0))
}

// waitWindow waits until both windows have room; false when the writer
// is stopped.
func (g *grpcStream) waitWindow() bool {
	hc := g.hc
	hc.mu.Lock()
	defer hc.mu.Unlock()
	for !g.stop && (g.sendWin <= 0 || hc.sendWin <= 0) {
		hc.cond.Wait()
	}
	return !g.stop
}

// consume takes up to n bytes of both windows, a frame's worth at most.
func (g *grpcStream) consume(n int) int {
	hc := g.hc
	hc.mu.Lock()
	defer hc.mu.Unlock()
	k := max(min(int64(n), h2FrameSize, g.sendWin, hc.sendWin), 0)
	g.sendWin -= k
	hc.sendWin -= k
	return int(k)
}

// writeFrame writes one frame under grpc_send_timeout.
func (g *grpcStream) writeFrame(p *Proxy, write func(*http2.Framer) error) error {
	hc := g.hc
	hc.wmu.Lock()
	defer hc.wmu.Unlock()
	if hc.dl != nil {
		hc.dl.SetWrite(hc.Conn, time.Now(), p.SendTimeout)
	} else if p.SendTimeout > 0 {
		hc.Conn.SetWriteDeadline(time.Now().Add(p.SendTimeout))
	}
	return write(hc.fr)
}

// stopWriter tells the body writer to stop at its next frame.
func (g *grpcStream) stopWriter() {
	g.hc.mu.Lock()
	g.stop = true
	g.hc.cond.Broadcast()
	g.hc.mu.Unlock()
}

// join stops the body writer and waits for it: one waiting for the
// client's body is woken by a read deadline, one blocked on the backend
// by a write deadline (cleared before a connection is kept). The writer
// arms its own deadline before each read or write, so one that was
// between its stop check and its next wait can set it back: the past
// deadline is set again until the writer is gone.
func (g *grpcStream) join() {
	if !g.writing {
		return
	}
	select {
	case <-g.writerDone:
		// Ended on its own (a unary call's body went out before the
		// answer came): nothing to stop, no deadline to poke.
	default:
		g.stopWriter()
		g.awaitWriter()
	}
	if g.clientConn != nil {
		g.clientConn.SetReadDeadline(time.Time{})
	}
	g.writing = false
	// The pokes and a failure's past deadline were set around the
	// Deadlines: the next request's arming acts whatever they hold.
	if g.hc.dl != nil {
		g.hc.dl.Forget()
	}
}

// awaitWriter pokes a stopped writer's deadlines until it is gone.
func (g *grpcStream) awaitWriter() {
	poke := func() {
		if g.clientConn != nil {
			g.clientConn.SetReadDeadline(time.Unix(1, 0))
		}
		g.hc.Conn.SetWriteDeadline(time.Unix(1, 0))
	}
	poke()
	for {
		select {
		case <-g.writerDone:
			return
		default:
		}
		if g.joinTimer == nil {
			g.joinTimer = time.NewTimer(joinRepoke)
		} else {
			g.joinTimer.Reset(joinRepoke)
		}
		select {
		case <-g.writerDone:
			g.joinTimer.Stop()
			return
		case <-g.joinTimer.C:
			poke()
		}
	}
}

// joinRepoke is how often join sets a stopping writer's deadlines again.
const joinRepoke = 20 * time.Millisecond

func (gp *grpcProto) finalize(x *exchange) {
	if g := x.grpc; g != nil && g.hc != nil {
		g.join()
		g.hc.cur, g.hc.read, g.hc.sent, g.hc.dl = nil, nil, nil, nil
		g.hc, g.unflushed = nil, nil
	}
}

// keepConn: the connection is kept once the stream ended both ways, the
// backend did not say goaway and the stream was not reset (nginx's
// u->keepalive in the grpc filter).
func (gp *grpcProto) keepConn(x *exchange, f framing, complete, dropped bool) bool {
	g := x.grpc
	if g == nil || g.hc == nil {
		return false
	}
	g.join()
	ok := g.endStream && g.outClosed && !g.hc.goaway && !g.inBlock
	if dropped {
		return ok
	}
	return complete && ok
}
