package location

import (
	"strings"

	"github.com/gonginx/gonginx/location/filter"
	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/rewrite/http1"
)

// sub_filter's configuration and header part
// (ngx_http_sub_filter_module); the stream matcher is filter.Sub. A level
// with sub_filter lines replaces the inherited ones; patterns without
// variables are compiled into their table at load time, those with
// variables per response.

// subConf is one level's sub_filter lines.
type subConf struct {
	pairs   []subPair
	dynamic bool             // some pattern has variables
	table   *filter.SubTable // the patterns' table when none has variables
	dir     *nginxconf.Directive
}

// subPair is one sub_filter line.
type subPair struct {
	match      []byte           // lowercased, when static
	matchValue *rewrite.Complex // a pattern with variables
	value      []byte           // the replacement, when static
	valueVar   *rewrite.Complex
}

// subFilterLine compiles one "sub_filter pattern replacement" into conf's
// level, as ngx_http_sub_filter: the pattern is lowercased, variable
// names included, before it is compiled.
func (c *compiler) subFilterLine(conf *locConf, d *nginxconf.Directive) error {
	if len(d.Args) != 2 {
		return nil
	}
	sc := conf.sub
	if sc == nil || sc.dir == nil {
		sc = &subConf{dir: d}
		conf.sub = sc
	}
	if len(d.Args[0]) == 0 {
		return confErr(d, "empty search pattern")
	}
	if len(sc.pairs) == filter.MaxSubPatterns {
		return confErr(d, "number of search patterns exceeds %d", filter.MaxSubPatterns)
	}
	var p subPair
	m, err := c.rc.Complex(strings.ToLower(d.Args[0]))
	if err != nil {
		return rewrite.At(err, d)
	}
	if s, ok := m.Static(); ok {
		p.match = []byte(s)
	} else {
		p.matchValue, sc.dynamic = m, true
	}
	v, err := c.rc.Complex(d.Args[1])
	if err != nil {
		return rewrite.At(err, d)
	}
	if s, ok := v.Static(); ok {
		p.value = []byte(s)
	} else {
		p.valueVar = v
	}
	sc.pairs = append(sc.pairs, p)
	return nil
}

// finishSub builds the table of a level's sub_filter lines once they are
// all read.
func finishSub(conf *locConf) {
	sc := conf.sub
	if sc == nil || sc.dir == nil {
		return
	}
	sc.dir = nil // the level is complete: a level below starts its own
	if sc.dynamic || len(sc.pairs) == 0 {
		return
	}
	pats := make([][]byte, len(sc.pairs))
	for i := range sc.pairs {
		pats[i] = sc.pairs[i].match
	}
	sc.table = new(filter.SubTable)
	sc.table.Build(pats)
}

// subScratch is a connection's sub_filter memory, reused response after
// response: the link, and for patterns with variables their values and
// table.
type subScratch struct {
	link  filter.Sub
	conf  *subConf
	table filter.SubTable
	pats  [][]byte
	pair  []int // pattern -> sub_filter line, for patterns with variables
	ends  []int // of each evaluated pattern in buf
	buf   []byte
	hdrs  []http1.Header
	etag  []byte
}

// SubValue is filter.SubValues: the replacement of a table line.
func (s *subScratch) subValue(x *exchange, i int, dst []byte) []byte {
	if s.conf.dynamic {
		i = s.pair[i]
	}
	p := &s.conf.pairs[i]
	if p.valueVar != nil {
		return p.valueVar.Eval(&x.st, dst)
	}
	return append(dst, p.value...)
}

// subValues adapts the exchange to filter.SubValues.
type subValues exchange

func (v *subValues) SubValue(i int, dst []byte) []byte {
	x := (*exchange)(v)
	return x.rare.subs.subValue(x, i, dst)
}

// subTable is the table sub_filter applies to resp with, nil when it does
// not apply: no lines, an empty body, a type not in sub_filter_types, or
// every pattern with variables empty.
func (x *exchange) subTable(resp *http1.Response, conf *locConf) *filter.SubTable {
	sc := conf.sub
	if sc == nil || resp.ContentLength == 0 || !x.subType(resp, &conf.subTypes) {
		return nil
	}
	if !sc.dynamic {
		return sc.table
	}
	s := &x.rareMem().subs
	s.buf, s.ends, s.pats, s.pair = s.buf[:0], s.ends[:0], s.pats[:0], s.pair[:0]
	for i := range sc.pairs {
		p := &sc.pairs[i]
		if p.matchValue == nil {
			s.buf = append(s.buf, p.match...)
		} else {
			start := len(s.buf)
			s.buf = p.matchValue.Eval(&x.st, s.buf)
			lowerInPlace(s.buf[start:])
		}
		s.ends = append(s.ends, len(s.buf))
	}
	// An empty pattern is left out (after all are evaluated: buf moves
	// as it grows).
	start := 0
	for i, end := range s.ends {
		if end > start {
			s.pats = append(s.pats, s.buf[start:end:end])
			s.pair = append(s.pair, i)
		}
		start = end
	}
	if len(s.pats) == 0 {
		return nil
	}
	s.table.Build(s.pats)
	return &s.table
}

// subType tests the response's type against sub_filter_types as
// ngx_http_test_content_type: the type as the handler set it, parameters
// and all, a proxied one without its "; charset=…".
func (x *exchange) subType(resp *http1.Response, types *typeSet) bool {
	return types.matches(x, resp)
}

func lowerInPlace(b []byte) {
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
}

// subHeader is sub_filter's header part: when it applies, the body loses
// its length, and Last-Modified and ETag go (sub_filter_last_modified
// off) or the ETag becomes weak. It runs for header-only responses too, as
// nginx's does; it reports whether the body goes through the matcher.
// Its first test is inlined at the callers (the rest is subHeaderRun): a
// request the module has nothing to do for costs a test, not a call.
func (x *exchange) subHeader(resp *http1.Response, conf *locConf) bool {
	if conf.sub == nil {
		return false
	}
	return x.subHeaderRun(resp, conf)
}

// subHeaderRun is subHeader past its first test.
func (x *exchange) subHeaderRun(resp *http1.Response, conf *locConf) bool {
	t := x.subTable(resp, conf)
	if t == nil {
		return false
	}
	s := &x.rareMem().subs
	s.conf = conf.sub
	s.link.Reset(t, (*subValues)(x), conf.subOnce)
	if x.isSub() {
		// A subrequest's head is not sent: nginx edits the main
		// request's alone.
		return true
	}
	resp.ContentLength = -1
	resp.RangeHeaders = nil
	etag := lastHeader(resp.Headers, "etag")
	lm := -1
	if !conf.subLastModified {
		resp.LastModified = -1
		lm = lastHeader(resp.Headers, "last-modified")
	}
	if etag >= 0 || lm >= 0 {
		// Edit a copy: the list may be the proxy's or the static
		// module's.
		list := append(s.hdrs[:0], resp.Headers...)
		if etag >= 0 && conf.subLastModified {
			v := list[etag].Value
			switch {
			case len(v) > 2 && v[0] == 'W' && v[1] == '/':
				etag = -1
			case len(v) > 0 && v[0] == '"':
				s.etag = append(append(s.etag[:0], "W/"...), v...)
				list[etag].Value = s.etag
				etag = -1
			}
		}
		// Remove the later one first so the other's place holds.
		for _, at := range [2]int{max(etag, lm), min(etag, lm)} {
			if at >= 0 {
				list = append(list[:at], list[at+1:]...)
			}
		}
		s.hdrs = list
		resp.Headers = list
	}
	return true
}
