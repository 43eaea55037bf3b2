package location

import (
	"github.com/gonginx/gonginx/rewrite/http1"
)

// maxSubrequests is NGX_HTTP_MAX_SUBREQUESTS: how deep subrequests may
// nest below a request.
const maxSubrequests = 50

// subrequest runs uri (with args) as nginx's ngx_http_subrequest does for
// ssi and addition: a GET in the same server, from its rewrite phase,
// with the parent's headers and variables, run to its end before the
// parent goes on, so its output lands where the parent asked for it (what
// nginx's postpone filter keeps in order). Its head is dropped; its body,
// through its own location's filters, goes to out. It returns the
// subrequest's status (0 if nothing was sent), or 500 when subrequests
// nest too deep.
func (x *exchange) subrequest(uri, args []byte, hasArgs bool, out func([]byte) error) int {
	return x.runSub(uri, args, hasArgs, out, nil)
}

// runSub runs a subrequest; m, when set, makes it a mirror's (the
// parent's method, its body or none, output dropped).
func (x *exchange) runSub(uri, args []byte, hasArgs bool, out func([]byte) error, m *pendingMirror) int {
	if x.subsLeft() == 0 {
		x.log.Errorf(x, "subrequests cycle while processing \"%s\"", uri)
		return 500
	}
	sc := x.c.NewSub(uri, args, hasArgs, out)
	defer sc.Release()
	sx := exchanges.Get().(*exchange)
	if sx.forHost == nil {
		sx.forHost = sx.limitsForHost
	}
	sx.c, sx.log, sx.toHTTPS = sc, x.log, false
	sc.Filter = sx
	sx.st.Files, sx.st.TryLog = sx, sx
	sx.rebind(x.rt)
	defer sx.release()
	sx.parent, sx.depth = x, x.depth+1
	slice := x.nextSubSlice
	x.nextSubSlice = nil
	sx.connID, sx.connStart, sx.stats = x.connID, x.connStart, x.stats

	req := sc.Request()
	if m != nil {
		m.apply(req, x.req)
	}
	sx.req, sx.addr, sx.srv = req, x.addr, x.srv
	sx.st.Reset(req)
	s := &sx.st
	s.Start = x.st.Start
	s.Conn, s.ConnStart, s.Stats = sc, x.connStart, x.stats
	s.Connection, s.ConnectionRequests, s.Pipelined = x.connID, x.c.ConnRequests(), x.st.Pipelined
	s.ServerName = x.srv.Name
	s.ShareVariables(&x.st)
	s.CacheBackground, s.CacheBackgroundRun = sx, m != nil && m.cacheUpdate
	if m != nil && m.withBody {
		shareBody(s, &x.st)
		defer s.KeepBodyFile(nil, false) // the main request's to remove
	}
	sx.startRequest()
	sx.expectDone = true // the main request answers Expect
	defer sx.gzipEnd()
	sx.resp.ServerTokensOff = !x.srv.root.conf.serverTokens

	stub := x.subStub
	x.subStub, x.runningSub = nil, sx
	defer func() { x.runningSub = nil }()
	sx.slice = slice // a slice subrequest shares its main request's slicing
	rc := sx.serverPhase()
	switch {
	case stub != nil && sx.stubOutput(rc, stub, x.ssiType):
	case rc != 0:
		sx.special(rc)
	}
	sc.Finish()
	sx.logSubrequest(sc.SubStatus())
	s.ReturnVariables(&x.st)
	if x.auth.pending != nil {
		x.authRequestDone(sx)
	}
	return sc.SubStatus()
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
