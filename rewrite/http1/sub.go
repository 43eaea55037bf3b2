package http1

// NewSub returns a Conn for a subrequest of the current request on c, as
// ngx_http_subrequest makes one: a GET for uri and args with the parent's
// headers, request line, $request_uri and connection, no body, whose head
// goes nowhere and whose body goes to sink (the parent's output at the
// point the subrequest was made). uri and args must stay valid until the
// subrequest ends; so must c's request. Release the Conn after use.
func (c *Conn) NewSub(uri, args []byte, hasArgs bool, sink func([]byte) error) *Conn {
	sc := &Conn{nc: c.nc, Info: c.Info, Limits: c.Limits, WriteTimeout: c.WriteTimeout,
		sink: sink, Requests: c.Requests, raw: c.raw, rawConn: c.rawConn, rawDone: c.rawDone}
	sc.body.c = sc
	sc.body.done = true
	sc.req = c.req
	r := &sc.req
	r.Headers = c.req.Headers[:len(c.req.Headers):len(c.req.Headers)] // no append may reach the parent's
	r.scratch = nil
	r.Method, r.MethodCode = methodGET, MethodGET
	r.URI, r.Args, r.HasArgs = uri, args, hasArgs
	r.Internal = true
	r.ContentLength, r.Chunked = -1, false
	r.Upgrade = false
	return sc
}

var methodGET = []byte("GET")

// IsSub reports whether c is a subrequest's (NewSub).
func (c *Conn) IsSub() bool { return c.sink != nil }

// SubStatus is the status the subrequest's head had, 0 before it was
// written.
func (c *Conn) SubStatus() int { return c.subStatus }
