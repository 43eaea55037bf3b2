package location

import (
	"github.com/gonginx/gonginx/location/autoindex"
	"github.com/gonginx/gonginx/location/filter"
	"github.com/gonginx/gonginx/location/imagefilter"
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
//
// With ssi off it only records the length (an include's, which its
// parent's ssi reads): inlined at the caller, a test and no call. A main
// request's document state is reset by the head whose body ssi parses
// (ssiFilterRun), not by one it does not.
func (x *exchange) ssiFilter(resp *http1.Response, conf *locConf) bool {
	x.headLength = resp.ContentLength
	if !conf.ssi.on {
		return false
	}
	return x.ssiFilterRun(resp, conf)
}

// ssiFilterRun is ssiFilter past its first test.
func (x *exchange) ssiFilterRun(resp *http1.Response, conf *locConf) bool {
	if !x.isSub() {
		// The main request's head comes before any of its subrequests':
		// a new document's variables and blocks start empty.
		if x.rare != nil {
			x.rare.ssiShared.Reset()
		}
		x.ssiIncludes = 0
	}
	if !x.ssiApplies(resp, conf) {
		return false
	}
	if !x.isSub() {
		x.changesLength(resp)
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
	rm := x.rareMem()
	rm.ssi.Reset(&x.ssiHost, &top.rareMem().ssiShared, ssi.Conf{SilentErrors: conf.ssi.silent, ValueLen: conf.ssi.valueLen})
	x.chain.Push(&rm.ssi)
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

// rareFilters is the state of the filters few requests run, made on
// demand (rareMem) and kept with the pooled exchange.
type rareFilters struct {
	ssi       ssi.Filter // the ssi filter (ssi.go)
	ssiShared ssi.Shared // a main request's ssi variables and blocks
	subs      subScratch // sub_filter's link and memory (subfilter.go)
	addition  filter.Addition
	slice     sliceCtx  // a main request's slicing (slice.go)
	refBuf    [256]byte // the Referer's host, lowercased (valid_referers)
	gz        filter.Gzip
	gunzip    filter.Gunzip
	recode    filter.Recode // the charset filter's link (charsetfilter.go)
	// multipart/byteranges' ranges, boundary and part head
	// (static.go), disable_symlinks from= evaluated, try_files' new URI
	// under a prefix alias (files.go).
	ranges    []byteRange
	boundary  []byte
	partHead  []byte
	fromBuf   []byte
	aliasURI  []byte
	rangeBody rangeLink          // the range filter's link (rangefilter.go)
	img       imagefilter.Filter // the image filter's link and its host (imagefilter.go)
	imgHost   imageHost
	// the head's lines the image filter's 415 keeps (keepImageHeaders)
	imgKept, imgMerged []http1.Header
	imgKeptBuf         []byte
	sliceBody          sliceLink
	// autoindex's and random_index's directory, listing and names
	// (dirs.go), dav's unescaped Destination (dav_copy.go).
	dir        dirReader
	dirEntries []autoindex.Entry
	dirNames   []byte
	listing    []byte
	davScratch []byte
}

// rareMem is x's rareFilters, made at the first use.
func (x *exchange) rareMem() *rareFilters {
	if x.rare == nil {
		x.rare = new(rareFilters)
	}
	return x.rare
}

// maxSSIIncludes bounds the includes of one main request: nginx stops
// making subrequests when the request has 65535 - 1000 references
// ("request reference counter overflow").
const maxSSIIncludes = 65535 - 1000

func (h *ssiHost) Variable(name, dst []byte) ([]byte, bool) {
	dst, found, uninit := h.x.rt.rc.Lookup(&h.x.st, name, dst)
	if uninit {
		h.x.log.Logf(h.x, "warn", "using uninitialized \"%s\" variable while sending response to client", name)
	}
	return dst, found
}

func (h *ssiHost) URI() []byte { return h.x.req.URI }

func (h *ssiHost) RunPosted() { h.x.runPosted() }

func (h *ssiHost) Include(uri, args []byte, hasArgs bool, out func([]byte) error, stub [][]byte, waited bool) (int, bool) {
	x := h.x
	if x.subsLeft() <= 0 {
		x.log.Errorf(x, "subrequests cycle while processing \"%s\"", uri)
		return 0, false
	}
	top := x.mainExchange()
	top.mainMu.Lock()
	top.ssiIncludes++
	over := top.ssiIncludes > maxSSIIncludes
	top.mainMu.Unlock()
	if over {
		x.log.Errorf(x, "request reference counter overflow while processing \"%s\"", uri)
		return 0, false
	}
	if !waited {
		// nginx posts the subrequest and its parser goes on: it runs
		// beside the page, its output kept for its turn.
		x.postBeside(uri, args, hasArgs, stub)
		return 0, true
	}
	// The parser stops here: what was posted before runs first.
	x.runPosted()
	x.subStub = stub
	status := x.subrequest(uri, args, hasArgs, out)
	// A waited include holds the parser until the page's own output is
	// in turn again: every include before it ended and was output.
	if err := x.postpone.Drain(); err == nil {
		x.joinBeside(false)
	}
	return status, true
}

// stubOutput is ngx_http_ssi_stub_output, the handler nginx runs when an
// include with stub= ends: a subrequest that sent no body sends the
// block instead, through its own filters (with the including page's
// type, as the head it sends then has), and then not its error page. It
// reports whether it sent the stub.
func (sx *exchange) stubOutput(rc int, stub [][]byte, parentType []byte) bool {
	if sx.c.BodyWritten() {
		return false
	}
	if !sx.c.HeaderWritten() {
		status := rc
		if status == 0 {
			status = 200
		}
		r := sx.newResp(status, sx.conf())
		r.ContentType = parentType
		sx.writeHeader(r)
	}
	for _, c := range stub {
		if !sx.write(c) {
			break
		}
	}
	return true
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

func (h *ssiHost) Terminate() {
	m := h.x.mainExchange()
	if !h.x.beside {
		m.c.Discard()
		return
	}
	// Not the main request's goroutine: its postpone link fails the
	// output, and the main request ends so.
	m.postpone.Abort(filter.ErrAborted)
}

// Errorf logs with the action nginx's log handler names while a body
// filter runs.
func (h *ssiHost) Errorf(format string, args ...any) {
	h.x.log.Errorf(h.x, format+" while sending response to client", args...)
}
