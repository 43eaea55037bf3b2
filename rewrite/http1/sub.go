package http1

import (
	"io"
	"sync"
)

// subConns pools subrequests' Conns with the memory they grew (the sent
// head's copy), so an ssi page's includes allocate nothing each.
var subConns = sync.Pool{New: func() any { return new(Conn) }}

// NewSub returns a Conn for a subrequest of the current request on c, as
// ngx_http_subrequest makes one: a GET for uri and args with the parent's
// headers, request line, $request_uri and connection, no body, whose head
// goes nowhere and whose body goes to sink (the parent's output at the
// point the subrequest was made). uri and args must stay valid until the
// subrequest ends; so must c's request. Release the Conn after use.
func (c *Conn) NewSub(uri, args []byte, hasArgs bool, sink func([]byte) error) *Conn {
	sc := subConns.Get().(*Conn)
	head := sc.sentHead
	*sc = Conn{nc: c.nc, Info: c.Info, Limits: c.Limits, WriteTimeout: c.WriteTimeout,
		sink: sink, Requests: c.Requests, raw: c.raw, rawConn: c.rawConn, rawDone: c.rawDone, under: c.under}
	sc.sentHead.own, sc.sentHead.buf = head.own[:0], head.buf[:0]
	sc.body.c = sc
	sc.body.done = true
	sc.req = c.req
	r := &sc.req
	r.Headers = c.req.Headers[:len(c.req.Headers):len(c.req.Headers)] // no append may reach the parent's
	r.scratch = nil
	r.MainMethod = c.req.MainMethodName()
	r.Method, r.MethodCode = methodGET, MethodGET
	r.URI, r.Args, r.HasArgs = uri, args, hasArgs
	r.Internal, r.RawStale = true, true
	r.ContentLength, r.Chunked, r.NoBody = -1, false, false
	r.Upgrade = false
	return sc
}

var methodGET = []byte("GET")

// AbortWatch closes a backend when the request it answers ends before
// StopWatch (the client gone): an HTTP/2 stream's, or a request tree's
// (SetSubWatch).
type AbortWatch interface {
	WatchAbort(backend io.Closer)
	StopWatch() bool
}

// SetSubWatch gives the subrequest's Conn the watch its proxy uses when
// the client's socket is watched for another request already (a
// subrequest beside it).
func (c *Conn) SetSubWatch(w AbortWatch) { c.subWatch = w }

// SubWatch is SetSubWatch's watch, nil if none.
func (c *Conn) SubWatch() AbortWatch { return c.subWatch }

// IsSub reports whether c is a subrequest's (NewSub).
func (c *Conn) IsSub() bool { return c.sink != nil }

// SubStatus is the status the subrequest's head had, 0 before it was
// written.
func (c *Conn) SubStatus() int { return c.subStatus }

// releaseSub returns a subrequest's Conn to its pool, holding nothing of
// the request it ran for.
func (c *Conn) releaseSub() {
	head := c.sentHead
	clear(head.own[:cap(head.own)])
	*c = Conn{}
	c.sentHead.own, c.sentHead.buf = head.own[:0], head.buf[:0]
	subConns.Put(c)
}
