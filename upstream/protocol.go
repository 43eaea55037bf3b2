package upstream

import (
	"errors"
	"net"

	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/rewrite/http1"
)

// protocol is what one backend protocol adds to the upstream machinery,
// as nginx's modules fill u->create_request, u->process_header and
// u->input_filter for ngx_http_upstream.c: Serve and exchange run the
// groups, tries, timeouts, keepalive and $upstream_* once, and call these
// at each step. HTTP (httpProto, the proxy), FastCGI (fastcgi.go), SCGI
// and uwsgi (scgi.go) implement it. Implementations are pointers made at
// compile time, so a call costs no allocation.
type protocol interface {
	// prefix names the protocol's directives: "proxy", "fastcgi",
	// "scgi", "uwsgi".
	prefix() string
	// resolve finds the target of a pass with variables (p.urlValue).
	resolve(p *Proxy, s *rewrite.State, x *exchange, t *target) (int, error)
	// createRequest writes x.req: what goes out before any body the
	// exchange streams (with the body when the protocol frames one in
	// memory, and x.pending).
	createRequest(p *Proxy, r *http1.Request, s *rewrite.State, t *target, x *exchange, l bodyLens) error
	// sendRequest sends x.req and the body under the send timeout.
	sendRequest(p *Proxy, c http1.Stream, nc net.Conn, x *exchange, bodyLen int64) (status int, err error, ft ftMask)
	// readHead reads the response head into x.head.
	readHead(p *Proxy, nc net.Conn, x *exchange, s *rewrite.State) headRead
	// buildResponse turns the backend's head into the client's.
	buildResponse(p *Proxy, c http1.Stream, s *rewrite.State, x *exchange) (*http1.Response, framing, error)
	// relayBody passes the response body on to the client; complete
	// says it ended where its framing said. buffered is what was read
	// past the head.
	relayBody(p *Proxy, c http1.Stream, nc net.Conn, x *exchange, s *rewrite.State, buffered []byte, f framing) (complete bool, err error)
	// keepConn reports whether the connection may serve another request:
	// after a response relayed (complete as relayBody said) or, dropped,
	// one whose body is not wanted (an intercepted error, an
	// X-Accel-Redirect).
	keepConn(x *exchange, f framing, complete, dropped bool) bool
	// finalize ends the try's use of the connection before it is kept or
	// closed (nginx's u->finalize_request): what the protocol runs
	// beside the exchange stops.
	finalize(x *exchange)
	// cgiHead reports a CGI-style response head: a bad Content-Length is
	// no length, Transfer-Encoding is dropped, no connection is upgraded.
	cgiHead() bool
}

// bodyLens are the request body's lengths a request head may carry.
type bodyLens struct {
	body    int64 // what is sent (-1: no body)
	header  int64 // $proxy_internal_body_length (-1: no Content-Length)
	content int64 // what was read, sent or not (SCGI's CONTENT_LENGTH)
}

// headRead is what reading a response head gave.
type headRead struct {
	n       int // bytes in x.rbuf
	headLen int // where the undecoded rest (body bytes) starts in x.rbuf
	// counted is the head's part of x.recvd, which
	// $upstream_response_length leaves out.
	counted int
	http09  bool // no status line: the bytes are relayed as they are
	status  int  // > 0: the try failed with this status
	err     error
	ft      ftMask
}

// framing is how the response body ends, from its head.
type framing struct {
	length        int64 // -1: none
	chunked       bool
	upstreamClose bool // HTTP/1.0 or "Connection: close"
	noBody        bool // HEAD, 204, 304, 1xx
}

// httpProto is HTTP/1, the proxy's protocol (ngx_http_proxy_module).
type httpProto struct{}

var proxyHTTP protocol = &httpProto{}

// isProxyHTTP reports whether pr is proxyHTTP (the only httpProto),
// asked by its type: one compare, where an interface comparison
// (pr == proxyHTTP) calls runtime.ifaceeq.
func isProxyHTTP(pr protocol) bool {
	_, ok := pr.(*httpProto)
	return ok
}

// lazyDeadlines reports whether every deadline proto sets on a backend
// connection goes through its connLife's Deadlines (re-armed lazily from
// request to request); the others' connections are cleared of theirs
// when pooled and reused.
func lazyDeadlines(proto protocol) bool {
	switch proto.(type) {
	case *httpProto, *fastcgi, *grpcProto:
		return true
	}
	return false
}

func (*httpProto) prefix() string     { return "proxy" }
func (*httpProto) finalize(*exchange) {}
func (*httpProto) cgiHead() bool      { return false }

func (*httpProto) resolve(p *Proxy, s *rewrite.State, x *exchange, t *target) (int, error) {
	return p.resolveURL(s, x, t)
}

func (*httpProto) createRequest(p *Proxy, r *http1.Request, s *rewrite.State, t *target, x *exchange, l bodyLens) error {
	headers, idx := p.headers, p.headersIdx
	if x.cr != nil && x.cr.cacheable {
		headers, idx = p.headersCache, p.headersCacheIdx
	}
	// Set first: a proxy_set_header may name them.
	s.ProxyBodyLength, s.ProxyChunked, s.ProxyMade = l.header, x.streamChunked, true
	x.req = p.appendRequest(x.req[:0], r, s, t, x, l.header, x.streamChunked, headers, idx)
	if len(x.pending) > 0 {
		x.req = appendChunk(x.req, x.pending)
	}
	return nil
}

func (*httpProto) sendRequest(p *Proxy, c http1.Stream, nc net.Conn, x *exchange, bodyLen int64) (int, error, ftMask) {
	return p.sendPlain(c, nc, x, bodyLen, true)
}

func (*httpProto) readHead(p *Proxy, nc net.Conn, x *exchange, s *rewrite.State) headRead {
	n, hl, http09, status, err, ft := p.readHead(nc, x)
	return headRead{n: n, headLen: hl, counted: hl, http09: http09, status: status, err: err, ft: ft}
}

func (*httpProto) buildResponse(p *Proxy, c http1.Stream, s *rewrite.State, x *exchange) (*http1.Response, framing, error) {
	return p.buildResponse(c, s, x)
}

func (*httpProto) relayBody(p *Proxy, c http1.Stream, nc net.Conn, x *exchange, s *rewrite.State, buffered []byte, f framing) (bool, error) {
	if f.noBody {
		return true, nil
	}
	x.action = actionBody
	return p.relayBody(c, nc, x, s, buffered, f.length, f.chunked)
}

func (*httpProto) keepConn(x *exchange, f framing, complete, dropped bool) bool {
	if f.upstreamClose || x.head.Major != 1 || x.head.Minor < 1 {
		return false
	}
	if dropped {
		// Kept only when no body follows the head, as nginx's proxy sets
		// u->keepalive (bytes of a 204's body that came with the head
		// are dropped with it).
		return x.headOnly || x.head.Status == 204 || x.head.Status == 304 || !f.chunked && f.length == 0
	}
	return complete && !x.overrun && (f.noBody || f.length >= 0 || f.chunked)
}

// buffersWriter is a socket of the server's own (poller.Conn) that
// writes parts with one writev, as net.Buffers does on a net.TCPConn.
type buffersWriter interface {
	WriteBuffers(v [][]byte) (int64, error)
}

// writeBuffers writes v to nc as net.Buffers' WriteTo, with one writev
// where nc is a socket.
func writeBuffers(nc net.Conn, v [][]byte) (int64, error) {
	if bw, ok := nc.(buffersWriter); ok {
		return bw.WriteBuffers(v)
	}
	bufs := net.Buffers(v)
	return bufs.WriteTo(nc)
}

// writeVec writes the head and body in x.vecArr in one go: one writev on
// a socket, one buffer (so one record) on a TLS connection, where
// net.Buffers would write each part as a record of its own and a backend
// reading the head once would not find the body nginx sends with it.
func (x *exchange) writeVec(nc net.Conn) (int64, error) {
	switch c := nc.(type) {
	case *net.TCPConn, *net.UnixConn:
		x.vec = x.vecArr[:]
		return x.vec.WriteTo(nc)
	case buffersWriter:
		return c.WriteBuffers(x.vecArr[:])
	}
	x.joined = append(append(x.joined[:0], x.vecArr[0]...), x.vecArr[1]...)
	n, err := nc.Write(x.joined)
	return int64(n), err
}

// sendPlain sends x.req and the client body as it is (chunked again when
// streamed and chunkedOut, as the proxy; dechunked otherwise, as SCGI).
func (p *Proxy) sendPlain(c http1.Stream, nc net.Conn, x *exchange, bodyLen int64, chunkedOut bool) (int, error, ftMask) {
	if bodyLen > 0 && x.bodyBuffered {
		// The head and the body read into memory go out in one writev,
		// as nginx sends its request chain: a backend that answers on
		// the head and closes does not cut the body off.
		x.vecArr = [2][]byte{x.req, x.sendBody}
		n, err := x.writeVec(nc)
		x.sent += n
		if err != nil {
			return sendFailure(err)
		}
		if err := p.sendBodyFile(nc, x); err != nil {
			return sendFailure(err)
		}
	} else if bodyLen > 0 && !x.streamChunked {
		// Unbuffered with a length: what of the body is at hand goes out
		// with the head in one writev, as nginx's request chain carries
		// the preread body (a backend reading the head sees the body
		// already there), the rest as it arrives.
		k, err := readAtHand(c, x.rbuf)
		if err != nil {
			return bodyStatus(err), err, 0
		}
		x.vecArr = [2][]byte{x.req, x.rbuf[:k]}
		n, err := x.writeVec(nc)
		x.sent += n
		if err != nil {
			return sendFailure(err)
		}
	} else if bodyLen > 0 && !x.bodyBuffered || x.streamChunked || !x.deferSend(x.req) {
		n, err := x.life.write(nc, x.req)
		x.sent += int64(n)
		if err != nil {
			return sendFailure(err)
		}
	}
	if bodyLen > 0 && !x.bodyBuffered || x.streamChunked {
		var err error
		if x.streamChunked && chunkedOut {
			err = p.sendChunked(c, nc, x)
		} else {
			err = p.sendBody(c, nc, x)
		}
		if err != nil {
			if ce := (clientBodyError{}); errors.As(err, &ce) {
				return clientBodyFailure(ce.error, x)
			}
			var he *http1.Error
			if errors.As(err, &he) {
				return he.Status, err, 0
			}
			return sendFailure(err)
		}
	}
	return 0, nil, 0
}
