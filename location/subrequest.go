package location

import (
	"sync"

	"github.com/gonginx/gonginx/location/filter"
	"github.com/gonginx/gonginx/rewrite/http1"
)

// maxSubrequests is NGX_HTTP_MAX_SUBREQUESTS: how deep subrequests may
// nest below a request.
const maxSubrequests = 50

// subrequest runs uri (with args) as nginx's ngx_http_subrequest does for
// ssi and addition: a GET in the same server, from its rewrite phase,
// with the parent's headers and variables, run to its end in place
// before the parent goes on. Its head is dropped; its body, through its
// own location's filters, goes to out. It returns the subrequest's status
// (0 if nothing was sent), or 500 when subrequests nest too deep.
func (x *exchange) subrequest(uri, args []byte, hasArgs bool, out func([]byte) error) int {
	return x.runSub(uri, args, hasArgs, out, nil)
}

// runSub runs a subrequest in place; m, when set, makes it a mirror's
// (the parent's method, its body or none, output dropped).
func (x *exchange) runSub(uri, args []byte, hasArgs bool, out func([]byte) error, m *pendingMirror) int {
	if x.subsLeft() == 0 {
		x.log.Errorf(x, "subrequests cycle while processing \"%s\"", uri)
		return 500
	}
	sx := x.newSub(uri, args, hasArgs, out, m)
	stub := x.subStub
	x.subStub, x.runningSub = nil, sx
	sx.execSub(stub, x.ssiType, nil)
	x.runningSub = nil
	status := sx.c.SubStatus()
	x.endSub(sx)
	return status
}

// newSub makes the exchange of a subrequest of x, in x's goroutine: what
// it takes of x is taken now.
func (x *exchange) newSub(uri, args []byte, hasArgs bool, out func([]byte) error, m *pendingMirror) *exchange {
	sc := x.c.NewSub(uri, args, hasArgs, out)
	sx := takeExchange()
	if sx.forHost == nil {
		sx.forHost = sx.limitsForHost
	}
	sx.c, sx.log, sx.toHTTPS = sc, x.log, false
	sc.Filter = sx
	sx.st.Files, sx.st.TryLog = sx, sx
	sx.rebind(x.rt)
	sx.parent, sx.depth, sx.beside = x, x.depth+1, x.beside
	slice := x.nextSubSlice
	x.nextSubSlice = nil
	sx.connID, sx.connStart, sx.stats = x.connID, x.connStart, x.stats

	req := sc.Request()
	shared := false
	switch {
	case m != nil:
		m.apply(req, x.req)
	case x.st.RequestBodyWhole || x.st.BodyFile() != nil:
		// ngx_http_subrequest gives a subrequest (ssi, addition, slice)
		// its parent's headers and read body: a proxied one sends both,
		// a GET with the parent's Content-Length and body.
		req.ContentLength, req.Chunked = x.req.ContentLength, x.req.Chunked
		shared = true
	case x.auth.pending != nil && !x.req.Chunked && x.req.ContentLength >= 0:
		// auth_request's, before the body is read: nginx's copy of the
		// headers counts it (client_max_body_size, the proxy's
		// Content-Length), with no body to send.
		req.ContentLength, req.NoBody = x.req.ContentLength, true
	case x.req.ContentLength == 0 || x.bodyDropped && (x.req.ContentLength > 0 || x.req.Chunked) && x.c.BodyDone():
		// A body discarded (a return's, a static file's) or empty:
		// nginx's discard filter counts headers_in's Content-Length down
		// (a chunked one's set too), so the copy says 0 once all of it
		// came: a proxied include sends "Content-Length: 0", no body.
		// (Not all came yet: nginx's says what is left, gonginx none.)
		req.ContentLength, req.NoBody = 0, true
	}
	sx.req, sx.addr, sx.srv = req, x.addr, x.srv
	sx.st.Reset(req)
	s := &sx.st
	s.Start = x.st.Start
	// headers_in's copy: a chunked body's count ($content_length).
	s.ChunkedLength, s.ChunkedRead = x.st.ChunkedLength, x.st.ChunkedRead
	s.Conn, s.ConnStart, s.Stats = sc, x.connStart, x.stats
	s.Connection, s.ConnectionRequests, s.Pipelined = x.connID, x.c.ConnRequests(), x.st.Pipelined
	s.ServerName = x.srv.Name
	s.ShareVariables(&x.st)
	s.CacheBackground, s.CacheBackgroundRun = sx, m != nil && m.cacheUpdate
	sx.subBody = m != nil && m.withBody || shared
	if sx.subBody {
		shareBody(s, &x.st)
	}
	sx.startRequest()
	sx.slice = slice     // a slice subrequest shares its main request's slicing
	sx.expectDone = true // the main request answers Expect
	sx.resp.ServerTokensOff = !x.srv.root.conf.serverTokens
	return sx
}

// execSub runs the subrequest sx through the phases to its end, its own
// subrequests included, and logs it: in its parent's goroutine or in one
// of its own. stub is the ssi stub= block, parentType the including
// page's type.
func (sx *exchange) execSub(stub [][]byte, parentType []byte, seg *filter.Segment) {
	rc := sx.serverPhase()
	if rc == 499 && sx.beside {
		// The client is gone (its watch fired for this one): every
		// subrequest of the request ends.
		sx.mainExchange().tree.fire(true)
	}
	switch {
	case stub != nil && sx.stubOutput(rc, stub, parentType):
	case rc != 0:
		sx.special(rc)
	}
	sx.c.Finish()
	sx.joinBeside(true)
	if seg != nil {
		// Run beside its page: logged in the page's order, as nginx's.
		seg.WaitEarlier()
	}
	sx.logSubrequest(sx.c.SubStatus())
	sx.gzipEnd()
}

// endSub ends the subrequest sx of x, in x's goroutine: the variables it
// set go back to x, and it is released.
func (x *exchange) endSub(sx *exchange) {
	s := &sx.st
	if sx.subBody {
		s.KeepBodyFile(nil, false) // the main request's to remove
	}
	s.ReturnVariables(&x.st)
	if x.auth.pending != nil {
		x.authRequestDone(sx)
	}
	sc := sx.c.(*http1.Conn)
	sx.release()
	sc.Release()
}

// besideSub is an ssi include's subrequest running beside its parent, in
// a goroutine of its own, as nginx runs the subrequests it posts while
// their parent's parser goes on; its output goes to its segment of the
// parent's postpone link.
type besideSub struct {
	sx       *exchange
	seg      *filter.Segment
	uri      []byte
	args     []byte
	stub     [][]byte
	pageType []byte
	wg       *sync.WaitGroup
	runFn    func()
}

var besideSubs = sync.Pool{New: func() any { return new(besideSub) }}

// postBeside makes the subrequest for uri beside x, its output after
// everything x output so far; it starts with the others posted at
// runPosted, as nginx runs posted subrequests once the filter is done
// with the buffer it was given.
func (x *exchange) postBeside(uri, args []byte, hasArgs bool, stub [][]byte) {
	b := besideSubs.Get().(*besideSub)
	if b.runFn == nil {
		b.runFn = b.run // a method value allocates: once per pooled value
	}
	b.uri = append(b.uri[:0], uri...) // the ssi filter reuses its buffers
	b.args = append(b.args[:0], args...)
	b.stub, b.pageType = stub, append(b.pageType[:0], x.ssiType...)
	b.seg = x.postpone.Start()
	sx := x.newSub(b.uri, b.args, hasArgs, b.seg.WriteFn, nil)
	sx.beside = true
	if raw, _ := x.mainConn().Socket(); raw != nil {
		// An HTTP/1 client: one request at a time has its socket
		// watched, the others end with the tree.
		m := x.mainExchange()
		sx.subWatch = subWatch{t: &m.tree}
		sx.c.(*http1.Conn).SetSubWatch(&sx.subWatch)
	}
	// The subrequest runs alone until it waits (the proxy passes its
	// place once its request is sent or the cache answered).
	sx.st.CacheOrder = b.seg
	b.sx, b.wg = sx, &x.besideWG
	x.besideRuns = append(x.besideRuns, b)
}

// runPosted starts the subrequests posted and not started, in order,
// each running alone until it waits for something or ends.
func (x *exchange) runPosted() {
	for x.besideStarted < len(x.besideRuns) {
		b := x.besideRuns[x.besideStarted]
		x.besideStarted++
		x.besideWG.Add(1)
		go b.runFn()
		x.postpone.WaitPassed(b.seg)
	}
}

func (b *besideSub) run() {
	b.sx.execSub(b.stub, b.pageType, b.seg)
	b.seg.Done()
	b.wg.Done()
}

// joinBeside waits for the subrequests x runs beside it and ends them, in
// the order they were made; with abort, those still running get no more
// output through (x's response ended, or failed).
// Its first test is inlined at the callers (the rest is joinBesideRun): a
// request the module has nothing to do for costs a test, not a call.
func (x *exchange) joinBeside(abort bool) {
	if len(x.besideRuns) == 0 {
		return
	}
	x.joinBesideRun(abort)
}

// joinBesideRun is joinBeside past its first test.
func (x *exchange) joinBesideRun(abort bool) {
	if len(x.besideRuns) == 0 {
		return
	}
	x.runPosted()
	if abort {
		x.postpone.Abort(filter.ErrAborted)
		if x.c.Aborted() {
			// x's output failed (the client is gone): the request
			// tree ends (its subrequests still running are the ones
			// still waiting).
			x.mainExchange().tree.fire(false)
		}
	}
	x.besideWG.Wait()
	for i, b := range x.besideRuns {
		x.endSub(b.sx)
		b.sx, b.seg, b.wg, b.stub = nil, nil, nil, nil
		besideSubs.Put(b)
		x.besideRuns[i] = nil
	}
	x.besideRuns, x.besideStarted = x.besideRuns[:0], 0
}

// passTurn lets the requests after x go on, x waiting now: a
// subrequest run beside its page, or a connection's first request
// (State.CacheOrder).
func (x *exchange) passTurn() {
	if o := x.st.CacheOrder; o != nil {
		x.st.CacheOrder = nil
		o.Pass()
	}
}

// waits tells the client's stream that the request waits now, before
// its handler asked for the body (an HTTP/2 stream refuses a body past
// its window then, as nginx whose handler run ends there).
func (x *exchange) waits() {
	if w, ok := x.mainConn().(interface{ Waits() }); ok {
		w.Waits()
	}
}

// subsLeft is how many more levels of subrequests may nest below x: a
// main request starts with NGX_HTTP_MAX_SUBREQUESTS + 1 (r->subrequests).
func (x *exchange) subsLeft() int { return maxSubrequests + 1 - x.depth }

// isSub reports whether x runs a subrequest (nginx's r != r->main).
func (x *exchange) isSub() bool { return x.parent != nil }

// mainConn is the client connection of the main request.
func (x *exchange) mainConn() http1.Stream {
	for x.parent != nil {
		x = x.parent
	}
	return x.c
}
