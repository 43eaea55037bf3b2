package location

import (
	"bytes"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/rewrite/http1"
	"github.com/gonginx/gonginx/upstream"
)

// mirror and mirror_request_body, as ngx_http_mirror_module: in the
// precontent phase (after try_files) a location with mirrors reads the
// whole client body (unless mirror_request_body is off), then makes a
// subrequest to each mirror URI, with the request's arguments and method,
// whose response is dropped. nginx runs them in the background: the
// client gets its response without waiting, while the request (its
// access log line, the connection's next request) ends only when they
// have. gonginx runs them once the response is sent, before the request
// ends, for the same view from the client and the log.

// mirrorConf is a location's mirror configuration.
type mirrorConf struct {
	uris [][]byte
	body *upstream.ClientBody // mirror_request_body on: how the body is read
}

// pendingMirror is a mirror subrequest to run when the response is sent.
type pendingMirror struct {
	uri              []byte // the configuration's
	argsFrom, argsTo int    // the arguments, in the main exchange's mirrorArgs
	hasArgs          bool
	withBody         bool
	method           []byte // the configuration's or the request's
	methodCode       int
	// cacheUpdate: not a mirror but a subrequest's background cache
	// update (QueueBackgroundUpdate); uri is then a copy.
	cacheUpdate bool
	// updateDone ends the key's updating mark the update inherits, once
	// it ran.
	updateDone func()
}

// compileMirror reads mirror (the innermost level that has any, "off"
// there turning them off) and mirror_request_body.
func (c *compiler) compileMirror(conf *locConf, blocks [][]*nginxconf.Directive) {
	conf.mirror = mirrorConf{}
	var uris [][]byte
	for i := len(blocks) - 1; i >= 0 && uris == nil; i-- {
		for _, d := range blocks[i] {
			if d.Name != "mirror" || len(d.Args) != 1 {
				continue
			}
			if d.Args[0] == "off" {
				uris = [][]byte{}
				break
			}
			uris = append(uris, []byte(d.Args[0]))
		}
	}
	if len(uris) == 0 {
		return
	}
	conf.mirror.uris = uris
	withBody := true
	for _, b := range blocks {
		for _, d := range b {
			if d.Name == "mirror_request_body" && len(d.Args) == 1 {
				withBody = d.Args[0] == "on"
			}
		}
	}
	if withBody {
		conf.mirror.body = upstream.CompileClientBody(blocks, c.rt.groups)
	}
}

// mirrorPhase is the mirror handler: it reads the body, then queues a
// subrequest for each mirror. It returns a status when the body could
// not be read.
// Its first test is inlined at the callers (the rest is mirrorPhaseRun): a
// request the module has nothing to do for costs a test, not a call.
func (x *exchange) mirrorPhase(conf *locConf) int {
	if len(conf.mirror.uris) == 0 {
		return 0
	}
	return x.mirrorPhaseRun(conf)
}

// mirrorPhaseRun is mirrorPhase past its first test.
func (x *exchange) mirrorPhaseRun(conf *locConf) int {
	m := &conf.mirror
	if len(m.uris) == 0 {
		return 0
	}
	if m.body != nil && !x.isSub() {
		// ngx_http_read_client_request_body tests Expect first.
		x.expectContinue()
		x.c.SetReadTimeout(conf.bodyTimeout)
		if rc, err := m.body.Read(x.c, &x.st); rc != 0 {
			x.timedOutBody = rc == 408
			if err != nil && rc != 499 && rc != 408 {
				x.logUpstreamError(err)
			}
			return rc
		}
	}
	main := x.mainExchange()
	main.mainMu.Lock() // subrequests beside the page queue theirs too
	from := len(main.mirrorArgs)
	main.mirrorArgs = append(main.mirrorArgs, x.req.Args...)
	for _, uri := range m.uris {
		main.mirrors = append(main.mirrors, pendingMirror{uri: uri, argsFrom: from, argsTo: len(main.mirrorArgs),
			hasArgs: x.req.HasArgs, withBody: m.body != nil, method: x.req.Method, methodCode: x.req.MethodCode})
	}
	main.mainMu.Unlock()
	return 0
}

// QueueBackgroundUpdate is rewrite.State's CacheBackground for a
// subrequest: the proxy cache's background update of it runs as a
// subrequest for its URI once the main response was sent, beside the
// mirrors (nginx's background subrequest, which the main request waits
// for before it ends).
func (x *exchange) QueueBackgroundUpdate(done func()) bool {
	if x.parent == nil || x.slice != nil {
		// A slice subrequest's key holds its $slice_range, which only
		// it has: its update runs in it.
		return false
	}
	main := x.mainExchange()
	main.mainMu.Lock()
	from := len(main.mirrorArgs)
	main.mirrorArgs = append(main.mirrorArgs, x.req.Args...)
	main.mirrors = append(main.mirrors, pendingMirror{uri: bytes.Clone(x.req.URI), argsFrom: from, argsTo: len(main.mirrorArgs),
		hasArgs: x.req.HasArgs, method: x.req.Method, methodCode: x.req.MethodCode, cacheUpdate: true, updateDone: done})
	main.mainMu.Unlock()
	return true
}

// runMirrors runs the mirrors the request queued, once its response was
// sent.
// Its first test is inlined at the callers (the rest is runMirrorsRun): a
// request the module has nothing to do for costs a test, not a call.
func (x *exchange) runMirrors() {
	if len(x.mirrors) == 0 && len(x.mirrorArgs) == 0 {
		return
	}
	x.runMirrorsRun()
}

// runMirrorsRun is runMirrors past its first test.
func (x *exchange) runMirrorsRun() {
	if len(x.mirrors) > 0 && !x.c.Hijacked() {
		for i := 0; i < len(x.mirrors); i++ {
			m := &x.mirrors[i]
			x.runSub(m.uri, x.mirrorArgs[m.argsFrom:m.argsTo], m.hasArgs, dropOutput, m)
			if m.updateDone != nil {
				m.updateDone()
				m.updateDone = nil
			}
		}
	}
	for i := range x.mirrors {
		if m := &x.mirrors[i]; m.updateDone != nil {
			m.updateDone() // an update that did not run
		}
	}
	clear(x.mirrors)
	x.mirrors, x.mirrorArgs = x.mirrors[:0], x.mirrorArgs[:0]
}

func dropOutput([]byte) error { return nil }

// apply makes a subrequest's request a mirror's: the main request's
// method, and its body's framing when the body goes along.
func (m *pendingMirror) apply(req, main *http1.Request) {
	req.Method, req.MethodCode = m.method, m.methodCode
	if m.withBody {
		req.ContentLength, req.Chunked = main.ContentLength, main.Chunked
	}
}

// shareBody gives a mirror's State the body its main request read.
func shareBody(s, main *rewrite.State) {
	if main.RequestBodyWhole {
		s.SetRequestBody(main.RequestBody)
		s.RequestBodyWhole = true
	}
	if f := main.BodyFile(); f != nil {
		s.KeepBodyFile(f, true)
		s.RequestBodyFile = main.RequestBodyFile
	}
	s.ChunkedLength, s.ChunkedRead = main.ChunkedLength, main.ChunkedRead
}

// logSubrequest writes a subrequest's access log lines under
// log_subrequest on, as ngx_http_finalize_request does.
func (x *exchange) logSubrequest(status int) {
	conf := x.lastConf()
	if !conf.logSubrequest {
		return
	}
	if x.status == 0 {
		x.status = status
	}
	x.writeAccessLogs(conf)
}
