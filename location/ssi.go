package location

import (
	"github.com/gonginx/gonginx/location/ssi"
	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite/http1"
)

// The ssi filter's header part and configuration
// (ngx_http_ssi_header_filter, ngx_http_ssi_filter_commands); the filter
// itself, parser and commands, is package ssi, which runs its includes
// as subrequests through ssiHost.

// ssiConf is a level's ssi settings.
type ssiConf struct {
	on           bool
	silent       bool  // ssi_silent_errors
	lastModified bool  // ssi_last_modified
	valueLen     int   // ssi_value_length
	minFileChunk int64 // ssi_min_file_chunk: only how files are sent
	types        typeSet
	subBuf       int // subrequest_output_buffer_size: what an include set= keeps of this location's output
}

func defaultSSIConf() ssiConf {
	return ssiConf{valueLen: 255, minFileChunk: 1024, subBuf: 4096,
		types: typeSet{types: map[string]bool{"text/html": true}}}
}

// ssiDirective applies one of the ssi directives (values -t checked).
func ssiDirective(conf *locConf, d *nginxconf.Directive) {
	size := func() int64 {
		n, _ := nginxconf.ParseSize(d.Args[0])
		return n
	}
	s := &conf.ssi
	switch d.Name {
	case "ssi":
		s.on = onOff(d)
	case "ssi_silent_errors":
		s.silent = onOff(d)
	case "ssi_last_modified":
		s.lastModified = onOff(d)
	case "ssi_value_length":
		s.valueLen = int(size())
	case "ssi_min_file_chunk":
		s.minFileChunk = size()
	case "ssi_types":
		s.types.addTypes(conf, "text/html", d.Args)
	case "subrequest_output_buffer_size":
		s.subBuf = int(size())
	}
}

// ssiApplies is the test of ngx_http_ssi_header_filter: ssi on, a body
// that is not known to be empty, a type in ssi_types. The status does not
// matter: error pages are filtered too.
func (x *exchange) ssiApplies(resp *http1.Response, conf *locConf) bool {
	return conf.ssi.on && resp.ContentLength != 0 && conf.ssi.types.matches(x, resp)
}

// ssiFilter is the ssi filter's header part: for the main request the
// body changes length (no Content-Length, no ranges) and, unless
// ssi_last_modified, Last-Modified and ETag go; with it the ETag turns
// weak. It reports whether the filter was pushed (its includes need the
// postpone link below it).
func (x *exchange) ssiFilter(resp *http1.Response, conf *locConf) bool {
	x.headLength = resp.ContentLength
	if !x.isSub() {
		// The main request's head comes before any of its subrequests':
		// a new document's variables and blocks start empty.
		x.ssiShared.Reset()
	}
	if !x.ssiApplies(resp, conf) {
		return false
	}
	if !x.isSub() {
		x.changesLength(resp)
		dropHeader(resp, "accept-ranges")
		if !conf.ssi.lastModified {
			resp.LastModified = -1
			dropHeader(resp, "last-modified")
			dropHeader(resp, "etag")
		}
	}
	x.ssiType = append(x.ssiType[:0], resp.ContentType...)
	top := x
	for top.parent != nil {
		top = top.parent
	}
	x.ssiHost.x = x
	x.ssi.Reset(&x.ssiHost, &top.ssiShared, ssi.Conf{SilentErrors: conf.ssi.silent, ValueLen: conf.ssi.valueLen})
	x.chain.Push(&x.ssi)
	return true
}

// dropHeader removes the header name (lowercase) from resp.Headers: a
// proxied response's own Last-Modified, ETag or Accept-Ranges, which
// nginx keeps in headers_out and clears there.
func dropHeader(resp *http1.Response, name string) {
	n := 0
	for _, h := range resp.Headers {
		if http1.EqualFold(h.Name, name) {
			continue
		}
		resp.Headers[n] = h
		n++
	}
	resp.Headers = resp.Headers[:n]
}

// ssiHost is what the ssi filter of x's response asks of x.
type ssiHost struct{ x *exchange }

func (h *ssiHost) Variable(name, dst []byte) ([]byte, bool) {
	return h.x.rt.rc.Lookup(&h.x.st, name, dst)
}

func (h *ssiHost) URI() []byte { return h.x.req.URI }

func (h *ssiHost) Include(uri, args []byte, hasArgs bool, out func([]byte) error) (int, bool) {
	x := h.x
	if x.subsLeft() == 0 {
		x.subrequest(uri, args, hasArgs, out) // logs the cycle
		return 0, false
	}
	return x.subrequest(uri, args, hasArgs, out), true
}

// SubrequestBuffer is subrequest_output_buffer_size of the location the
// running include's subrequest is in, which bounds its in-memory output,
// and the length its head announced.
func (h *ssiHost) SubrequestBuffer() (int, int64) {
	if sx := h.x.runningSub; sx != nil && sx.srv != nil {
		return sx.conf().ssi.subBuf, sx.headLength
	}
	return h.x.conf().ssi.subBuf, -1
}

// StubFilter says whether the last include's location filters a stub
// sent as its output (with the parent's type, as ngx_http_ssi_stub_output
// sends it), and with which settings.
func (h *ssiHost) StubFilter() (bool, ssi.Conf) {
	x := h.x
	c := x.lastSubConf
	head := http1.Response{ContentType: x.ssiType}
	if c == nil || !c.ssi.on || !c.ssi.types.matches(x, &head) {
		return false, ssi.Conf{}
	}
	return true, ssi.Conf{SilentErrors: c.ssi.silent, ValueLen: c.ssi.valueLen}
}

func (h *ssiHost) Terminate() { h.x.mainConn().Discard() }

// Errorf logs with the action nginx's log handler names while a body
// filter runs.
func (h *ssiHost) Errorf(format string, args ...any) {
	h.x.log.Errorf(h.x, format+" while sending response to client", args...)
}
