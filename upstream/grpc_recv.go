package upstream

import (
	"errors"
	"io"
	"net"
	"strconv"

	"golang.org/x/net/http2"

	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/rewrite/http1"
)

// This file is the receiving half of gRPC's HTTP/2 client: frames read
// and answered, the response head checked and the body and trailers
// relayed, as ngx_http_grpc_process_header and ngx_http_grpc_filter.

// Frame events for the stream.
const (
	evHeaders = iota + 1 // a whole header block (the head or trailers)
	evData               // DATA for the stream
)

// grpcError is one of the module's own error lines; the try fails as an
// invalid header (502, next upstream) before the head, a cut body after.
func (p *Proxy) grpcError(x *exchange, msg string, action string) error {
	return &tryError{msg: msg, cause: errDropUnsent, action: action, upstream: logName(x.scheme, x, x.tryAddr)}
}

// errDropUnsent: the response ends as nginx finalizes it with an error,
// what was not flushed (a head with no DATA yet) never sent.
var errDropUnsent = errors.New("response cut")

// nextEvent reads frames until one is for the stream's caller: a whole
// header block or DATA (data is its payload). Control frames are
// answered on the way.
func (g *grpcStream) nextEvent(p *Proxy, x *exchange, action string, drain bool) (ev int, data []byte, err error) {
	hc := g.hc
	for {
		if drain && !g.inBlock && !hc.atHand() {
			return 0, nil, nil
		}
		if !g.headDone && !g.inBlock && g.headRaw > 0 && !hc.atHand() {
			// Its reads ended at a frame's end outside a header block:
			// nginx reads on from its buffer's start.
			g.headRaw = 0
		}
		fh0, rerr := hc.fr.ReadFrameHeader()
		if errors.Is(rerr, http2.ErrFrameTooLarge) {
			return 0, nil, p.grpcError(x, "upstream sent too large http2 frame: "+strconv.Itoa(int(fh0.Length)), action)
		}
		var fr http2.Frame
		var payload []byte // DATA's data or HEADERS' fragment, read here
		own := fh0.Type == http2.FrameData || fh0.Type == http2.FrameHeaders
		if rerr == nil {
			if own {
				payload, rerr = hc.readOwnFrame(fh0)
			} else {
				fr, rerr = hc.fr.ReadFrameForHeader(fh0)
			}
		}
		if rerr != nil {
			if g.flushErr != nil {
				return 0, nil, g.flushErr
			}
			if g.failed.Load() {
				return 0, nil, g.werr
			}
			switch {
			case errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF):
				return 0, nil, ErrPrematureClose
			case isTimeout(rerr):
				return 0, nil, errTimedOut
			}
			var ce http2.ConnectionError
			if errors.As(rerr, &ce) {
				return 0, nil, p.grpcError(x, "upstream sent invalid http2 frame", action)
			}
			return 0, nil, &recvError{rerr}
		}
		fh := fh0
		if !g.headDone {
			// nginx parses the head in its buffer, with the frames read
			// with it (frame headers too): a frame past the buffer's
			// end, or a header block not ended at it, is too big.
			g.headRaw += 9 + int(fh.Length)
			room := p.headRoom(x)
			blockOn := fh.Type == http2.FrameHeaders && !fh.Flags.Has(http2.FlagHeadersEndHeaders) ||
				fh.Type == http2.FrameContinuation && !fh.Flags.Has(http2.FlagContinuationEndHeaders)
			if g.headRaw > room || g.headRaw == room && blockOn {
				return 0, nil, p.grpcError(x, "upstream sent too big header", action)
			}
		}
		if g.inBlock && fh.Type != http2.FrameContinuation || !g.inBlock && fh.Type == http2.FrameContinuation {
			return 0, nil, p.grpcError(x, "upstream sent unexpected http2 frame: "+strconv.Itoa(int(fh.Type)), action)
		}
		if fh.StreamID != 0 && fh.StreamID != g.id {
			if fh.Type == http2.FrameData {
				return 0, nil, p.grpcError(x, "upstream sent data frame for unknown stream "+strconv.Itoa(int(fh.StreamID)), action)
			}
			return 0, nil, p.grpcError(x, "upstream sent frame for unknown stream "+strconv.Itoa(int(fh.StreamID)), action)
		}
		if fh.StreamID != 0 && g.endStream && !g.inBlock && fh.Type != http2.FrameRSTStream && fh.Type != http2.FrameWindowUpdate {
			return 0, nil, p.grpcError(x, "upstream sent frame for closed stream "+strconv.Itoa(int(fh.StreamID)), action)
		}
		switch fh.Type {
		case http2.FrameData:
			if !g.headDone {
				return 0, nil, p.grpcError(x, "upstream sent unexpected http2 frame: 0", action)
			}
			n := int64(fh.Length)
			if n > g.recvWin {
				return 0, nil, p.grpcError(x, "upstream violated stream flow control, received "+strconv.FormatInt(n, 10)+" data frame with window "+strconv.FormatInt(g.recvWin, 10), action)
			}
			if n > hc.recvWin {
				return 0, nil, p.grpcError(x, "upstream violated connection flow control, received "+strconv.FormatInt(n, 10)+" data frame with window "+strconv.FormatInt(hc.recvWin, 10), action)
			}
			g.recvWin -= n
			hc.recvWin -= n
			if hc.recvWin < h2MaxWindow/4 || g.recvWin < h2MaxWindow/4 {
				if err := g.sendWindowUpdate(p); err != nil {
					return 0, nil, err
				}
			}
			if fh.Flags.Has(http2.FlagDataEndStream) {
				g.endStream = true
			}
			return evData, payload, nil
		case http2.FrameHeaders:
			g.block = append(g.block[:0], payload...)
			if fh.Flags.Has(http2.FlagHeadersEndStream) {
				g.endStream = true
			}
			if !fh.Flags.Has(http2.FlagHeadersEndHeaders) {
				g.inBlock = true
				continue
			}
			return evHeaders, nil, nil
		}
		switch f := fr.(type) {
		case *http2.ContinuationFrame:
			g.block = append(g.block, f.HeaderBlockFragment()...)
			if !f.HeadersEnded() {
				continue
			}
			g.inBlock = false
			return evHeaders, nil, nil
		case *http2.RSTStreamFrame:
			if f.ErrCode != http2.ErrCodeNo || !g.endStream {
				g.rst = true
				return 0, nil, p.grpcError(x, "upstream rejected request with error "+strconv.Itoa(int(f.ErrCode)), action)
			}
			if g.rst {
				return 0, nil, p.grpcError(x, "upstream sent frame for closed stream "+strconv.Itoa(int(fh.StreamID)), action)
			}
			// NO_ERROR after the response: the backend wants no more of
			// the request (the writer stops).
			g.rst = true
			g.stopWriter()
		case *http2.GoAwayFrame:
			hc.goaway = true
			if f.LastStreamID < g.id {
				return 0, nil, p.grpcError(x, "upstream sent goaway with error "+strconv.Itoa(int(f.ErrCode)), action)
			}
		case *http2.WindowUpdateFrame:
			hc.mu.Lock()
			if fh.StreamID == 0 {
				hc.sendWin += int64(f.Increment)
			} else {
				g.sendWin += int64(f.Increment)
			}
			hc.cond.Broadcast()
			hc.mu.Unlock()
		case *http2.SettingsFrame:
			if f.IsAck() {
				continue
			}
			if v, ok := f.Value(http2.SettingInitialWindowSize); ok {
				hc.mu.Lock()
				g.sendWin += int64(v) - hc.initWin
				hc.initWin = int64(v)
				hc.cond.Broadcast()
				hc.mu.Unlock()
			}
			if err := g.writeFrame(p, func(fr *http2.Framer) error { return fr.WriteSettingsAck() }); err != nil {
				return 0, nil, err
			}
			hc.mu.Lock()
			hc.settled = true
			hc.cond.Broadcast()
			hc.mu.Unlock()
		case *http2.PingFrame:
			if f.IsAck() {
				continue
			}
			data := f.Data
			if err := g.writeFrame(p, func(fr *http2.Framer) error { return fr.WritePing(true, data) }); err != nil {
				return 0, nil, err
			}
		case *http2.PushPromiseFrame:
			return 0, nil, p.grpcError(x, "upstream sent unexpected push promise frame", action)
		}
	}
}

// sendWindowUpdate opens the windows back to the largest, as nginx does
// when one falls below a quarter of it.
func (g *grpcStream) sendWindowUpdate(p *Proxy) error {
	hc := g.hc
	connInc, streamInc := h2MaxWindow-hc.recvWin, h2MaxWindow-g.recvWin
	hc.recvWin, g.recvWin = h2MaxWindow, h2MaxWindow
	return g.writeFrame(p, func(fr *http2.Framer) error {
		if err := fr.WriteWindowUpdate(0, uint32(connInc)); err != nil {
			return err
		}
		if g.endStream {
			return nil
		}
		return fr.WriteWindowUpdate(g.id, uint32(streamInc))
	})
}

// decodeBlock decodes g.block into g.fields.
func (g *grpcStream) decodeBlock() error {
	g.fields, g.arena = g.fields[:0], g.arena[:0]
	return g.hc.dec.decodeSeen(g.block, g)
}

// readHead reads frames until the response head, as
// ngx_http_grpc_process_header: ":status" first, three digits, 200 or
// more; the other fields are the headers.
func (gp *grpcProto) readHead(p *Proxy, nc net.Conn, x *exchange, s *rewrite.State) headRead {
	g := x.grpc
	x.head = http1.ResponseHead{Major: 1, Minor: 1, Headers: x.head.Headers[:0]}
	invalid := func(msg string) headRead {
		if s != nil && s.TryLog != nil {
			s.TryLog.LogTryError(p.grpcError(x, msg, actionHeader))
		}
		return headRead{status: 502, ft: ftInvalidHeader}
	}
	for {
		ev, _, err := g.nextEvent(p, x, actionHeader, false)
		if err != nil {
			if g.failed.Load() {
				return headRead{status: bodyStatus(err), err: err}
			}
			var te *tryError
			if errors.As(err, &te) {
				if s != nil && s.TryLog != nil {
					s.TryLog.LogTryError(err)
				}
				return headRead{status: 502, ft: ftInvalidHeader}
			}
			switch {
			case errors.Is(err, errTimedOut):
				return headRead{status: 504, err: err, ft: ftTimeout}
			}
			return headRead{status: 502, err: err, ft: ftError}
		}
		if ev != evHeaders {
			continue
		}
		if err := g.decodeBlock(); err != nil {
			return invalid("upstream sent invalid encoded header")
		}
		status := false
		for i := range g.fields {
			name, value := g.field(i)
			if len(name) > 0 && name[0] == ':' {
				if string(name) != ":status" {
					return invalid(`upstream sent invalid header "` + string(name) + `: ` + string(value) + `"`)
				}
				if status {
					return invalid("upstream sent duplicate :status header")
				}
				code, ok := atoi(value)
				if len(value) != 3 || !ok {
					return invalid(`upstream sent invalid :status "` + string(value) + `"`)
				}
				if code < 200 {
					return invalid(`upstream sent unexpected :status "` + string(value) + `"`)
				}
				x.head.Status, status = int(code), true
				continue
			}
			if !status {
				return invalid("upstream sent no :status header")
			}
			if !validHeaderName(name) || !validHeaderValue(value) {
				return invalid(`upstream sent invalid header "` + string(name) + `: ` + string(value) + `"`)
			}
			x.head.Headers = append(x.head.Headers, http1.Header{Name: name, Value: value})
		}
		if !status {
			return invalid("upstream sent no :status header")
		}
		g.headDone = true
		return headRead{counted: int(x.recvd)}
	}
}

// rawConn is the socket under a backend connection.
func rawConn(nc net.Conn) net.Conn {
	if netSocket(nc) {
		return nc
	}
	if tc, ok := nc.(interface{ NetConn() net.Conn }); ok {
		return tc.NetConn()
	}
	return nc
}

// unwrapped reports whether nc is its own socket (rawConn(nc) == nc):
// no TLS or other wrapper over it.
func unwrapped(nc net.Conn) bool {
	return netSocket(nc) || rawConn(nc) == nc
}

// netSocket reports whether nc is a socket of package net, asked by
// its type (a compare each): the assertion to an interface looks its
// itab up in the runtime's table (~3 L1d misses per proxied request), and
// the comparison of two interfaces calls runtime.ifaceeq.
func netSocket(nc net.Conn) bool {
	switch nc.(type) {
	case *net.TCPConn, *net.UnixConn:
		return true
	}
	return false
}

// relayBody passes DATA on as it comes (gRPC is unbuffered), then the
// trailers, as ngx_http_grpc_filter: the stream ends with END_STREAM.
func (gp *grpcProto) relayBody(p *Proxy, c http1.Stream, nc net.Conn, x *exchange, s *rewrite.State, buffered []byte, f framing) (bool, error) {
	g := x.grpc
	// Once the response has ended, nothing more of the request is sent
	// (and the counts are read): the writer stops.
	defer g.join()
	if f.noBody && !g.endStream {
		x.headLen = int(x.recvd)
		return false, nil
	}
	// Frames at hand right after the head are read under the head's
	// action, as nginx's send_response runs the filter; once it waits,
	// "reading upstream".
	action := actionHeader
	rest := f.length
	if f.noBody {
		rest = 0
	}
	for !g.endStream {
		if action == actionHeader && !g.hc.atHand() {
			action = actionBody
			// The head waits for no body: nginx's unbuffered relay
			// flushes what its write filter holds before it waits.
			if err := c.Flush(); err != nil {
				return false, err
			}
		}
		x.action = action
		ev, data, err := g.nextEvent(p, x, action, false)
		if err != nil {
			return false, err
		}
		if ev == evData {
			if rest >= 0 {
				if int64(len(data)) > rest {
					return false, p.grpcError(x, "upstream sent response body larger than indicated content length", action)
				}
				rest -= int64(len(data))
			}
			if len(data) > 0 && !f.noBody {
				// Unbuffered: each DATA goes out as it comes (the head
				// with the first, as nginx's write filter sends it),
				// with the frames read in the same read (a unary call's
				// trailers), as nginx's filter passes on a whole buffer.
				if _, err := c.Write(data); err != nil {
					return false, err
				}
				if g.hc.rpos < g.hc.rend {
					g.unflushed = c
				} else {
					g.unflushed = nil
					if err := c.Flush(); err != nil {
						return false, err
					}
				}
			}
			continue
		}
		// Trailers.
		if !g.endStream {
			return false, p.grpcError(x, "upstream sent trailer without end stream flag", action)
		}
		if err := g.decodeBlock(); err != nil {
			return false, p.grpcError(x, "upstream sent invalid trailer", action)
		}
		for i := range g.fields {
			name, value := g.field(i)
			if len(name) > 0 && name[0] == ':' || !validHeaderName(name) || !validHeaderValue(value) {
				return false, p.grpcError(x, `upstream sent invalid trailer "`+string(name)+`: `+string(value)+`"`, action)
			}
			if p.hidden(name) {
				continue
			}
			g.trailers = append(g.trailers, http1.Header{Name: name, Value: value})
		}
	}
	if rest > 0 {
		return false, p.grpcError(x, "upstream prematurely closed stream", action)
	}
	// The frames already here are read before the response ends, as
	// nginx's filter parses its whole buffer: one for the closed stream
	// (but a WINDOW_UPDATE or one RST_STREAM NO_ERROR) cuts it.
	for {
		ev, _, err := g.nextEvent(p, x, action, true)
		if err != nil {
			return false, err
		}
		if ev == 0 {
			break
		}
	}
	if s != nil {
		s.UpstreamTrailers = g.trailers
	}
	return true, nil
}
