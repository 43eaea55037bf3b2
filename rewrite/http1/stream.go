package http1

import (
	"io"
	"net"
	"syscall"
	"time"
)

// Stream is one request's exchange with the client as the content
// handlers (package location) and the proxy (package upstream) see it:
// the request, its body, and the response path, whose head goes through
// the header filter and whose body goes through the response's body
// filters (Response.Body) to the wire, the last filter. *Conn is HTTP/1's
// Stream, a subrequest's Conn (NewSub) one writing to its parent's
// output; HTTP/2 will add a stream of its own. An interface holding a
// pointer costs no allocation.
type Stream interface {
	// The request and the connection it came on.

	Request() *Request
	// ConnInfo describes the client connection as accepted (the address
	// realip does not change); nil when unknown.
	ConnInfo() *ConnInfo
	// ConnRequests counts the requests read on the connection, this one
	// included ($connection_requests, keepalive_requests).
	ConnRequests() int
	Pipelined() bool
	RequestLength() int64
	// HeadAt is when the request's head was read (zero when none was,
	// for a subrequest or a rejected head): the request's start, so the
	// clock is read once for both.
	HeadAt() time.Time

	// The request body.

	Body() io.Reader
	ReadBodyAtHand(p []byte) (int, error)
	BodyDone() bool
	DiscardBuffered() error
	// SetBodyLimit holds a chunked body to client_max_body_size.
	SetBodyLimit(n int64)
	// SetReadTimeout sets client_body_timeout for what is left of the
	// body.
	SetReadTimeout(d time.Duration)

	// The response head.

	WriteHeader(resp *Response) error
	HeaderWritten() bool
	Sent() *SentHead
	// A head a header filter held (Response.Hold): written once its body
	// filter has its answer, or dropped for another response.
	Held() bool
	WriteHeld(resp *Response) error
	DropHeld()
	CloseAfter()

	// The response body. Write goes through the body filters, which pass
	// their output to WriteOut and FlushOut (the chain's end, filter.Wire).

	Write(p []byte) (int, error)
	Flush() error
	Finish() error
	WriteOut(p []byte) (int, error)
	FlushOut() error
	BodyWritten() bool
	Abort()
	Discard()
	Aborted() bool
	Terminated() bool
	BytesSent() (total, header int64)
	LimitRate() int64
	LimitRateSet() bool
	SetLimitRate(rate int64, fromSet bool)
	SetLimitRateAfter(after int64)

	// Subrequests: whatever the main request's protocol, a subrequest
	// runs on an HTTP/1 Conn whose body goes to sink (NewSub).

	NewSub(uri, args []byte, hasArgs bool, sink func([]byte) error) *Conn
	SubStatus() int

	// What only HTTP/1 has: the byte stream under the request (the
	// upgrade tunnel's Hijack, the body bytes read with the head, the
	// interim "100 Continue" and 444's close on NetConn) and the
	// Keep-Alive header.

	Hijack() (net.Conn, []byte)
	Hijacked() bool
	AddSent(n int64)
	Buffered() []byte
	Preread() int64
	PastHeaderBuffer() bool
	NetConn() net.Conn
	Socket() (syscall.RawConn, net.Conn)
	// SetKeepAliveHeader sets the request's "Keep-Alive: timeout=N"
	// (Conn.KeepAliveHeader).
	SetKeepAliveHeader(n int)
	// SetChunkSize sets the location's http2_chunk_size: the largest
	// DATA frame of an HTTP/2 stream's response (nothing on HTTP/1).
	SetChunkSize(n int)
}

var _ Stream = (*Conn)(nil)

// ConnInfo is Stream's: the Conn's Info.
func (c *Conn) ConnInfo() *ConnInfo { return c.Info }

// ConnRequests is Stream's: the Conn's Requests.
func (c *Conn) ConnRequests() int { return c.Requests }

// HeadAt is when the current request's head was read; zero when none was.
func (c *Conn) HeadAt() time.Time { return c.headAt }

// SetReadTimeout is Stream's: it sets the Conn's ReadTimeout.
func (c *Conn) SetReadTimeout(d time.Duration) { c.ReadTimeout = d }

// SetWriteTimeout sets send_timeout, the request's location's.
func (c *Conn) SetWriteTimeout(d time.Duration) { c.WriteTimeout = d }

// ExtendWrite moves the write deadline to send_timeout from now, for a
// write of another goroutine's that waits: nginx's event pipe re-arms the
// client's timer at each read from the backend while the client takes
// nothing. The Conn's own record of its deadline is left as it was: the
// one set is no earlier, and its next arming sets it anew.
func (c *Conn) ExtendWrite() {
	if c.WriteTimeout > 0 {
		c.nc.SetWriteDeadline(time.Now().Add(c.WriteTimeout))
	}
}

// SetPostponeOutput sets postpone_output, the request's location's: a
// head shorter than it waits for the body (HeadPostponed).
func (c *Conn) SetPostponeOutput(n int32) { c.postpone = n - postponeOutput }

// SetKeepAliveHeader is Stream's: it sets the Conn's KeepAliveHeader.
func (c *Conn) SetKeepAliveHeader(n int) { c.KeepAliveHeader = n }
