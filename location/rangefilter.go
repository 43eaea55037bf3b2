package location

import (
	"strconv"

	"github.com/gonginx/gonginx/location/filter"
	"github.com/gonginx/gonginx/rewrite/http1"
)

// The range filter for responses that are not static files (those answer
// ranges themselves, static.go): a proxied response the proxy allows
// ranges on (a cached one, proxy_force_ranges), as nginx's
// ngx_http_range_filter_module: below the other filters' header parts, so
// a body that changes length keeps its ranges off.

// rangeFilter is ngx_http_range_header_filter for resp.
// Its first test is inlined at the callers (the rest is rangeFilterRun): a
// request the module has nothing to do for costs a test, not a call.
func (x *exchange) rangeFilter(resp *http1.Response, conf *locConf) {
	if resp.AllowRanges == 0 {
		return
	}
	x.rangeFilterRun(resp, conf)
}

// rangeFilterRun is rangeFilter past its first test.
func (x *exchange) rangeFilterRun(resp *http1.Response, conf *locConf) {
	if resp.AllowRanges == 0 || x.req.ProtoMajor < 1 || resp.Status != 200 || x.isSub() ||
		resp.ContentLength < 0 || conf.maxRanges == 0 {
		return
	}
	size := resp.ContentLength
	x.rangeFull = size
	rs := x.req.HeaderValue("Range")
	if rs != nil && len(rs) >= 7 && equalFold(rs[:6], "bytes=") && x.proxyIfRange(resp) {
		max := conf.maxRanges
		if resp.AllowRanges == http1.RangesSingle {
			max = 1
		}
		var code int
		x.rareMem().ranges, code = parseRanges(rs, size, x.rareMem().ranges[:0], max)
		if code == 206 {
			x.st.Status = 206 // $status from here on
		}
		switch {
		case code == 206 && len(x.rareMem().ranges) == 1:
			rg := x.rareMem().ranges[0]
			resp.Status, resp.StatusLine, resp.ContentLength = 206, nil, rg.end-rg.start
			x.crange = appendContentRange(x.crange[:0], rg.start, rg.end-rg.start, size)
			x.rangeHdr[0] = http1.Header{Name: hdrContentRange, Value: x.crange}
			resp.RangeHeaders = x.rangeHdr[:1]
			x.rareMem().rangeBody.reset(x, false)
			x.chain.Push(&x.rareMem().rangeBody)
			return
		case code == 206:
			resp.StatusLine = nil
			x.multipartHead(resp, size)
			x.rareMem().rangeBody.reset(x, true)
			x.chain.Push(&x.rareMem().rangeBody)
			return
		}
		if code == 416 {
			// ngx_http_range_not_satisfiable: the handler answers 416,
			// with "Content-Range: bytes */N".
			x.crange = strconv.AppendInt(append(x.crange[:0], "bytes */"...), size, 10)
			x.rangeUnsat = true
			resp.Refuse = 416
			return
		}
		// Any other outcome sends the whole body.
	}
	x.rangeHdr[0] = http1.Header{Name: hdrAcceptRanges, Value: valBytes}
	resp.RangeHeaders = x.rangeHdr[:1]
}

// proxyNotModified is the not-modified filter for a proxied 200 that may
// be cached (a 412 is not made here: the response goes out).
func (x *exchange) proxyNotModified(resp *http1.Response, conf *locConf) {
	if resp.Status != 200 || x.isSub() || !conditional(x.req) {
		// A request with no condition is answered as it is (nginx's
		// filter reads its four header pointers): the response's
		// ETag and Last-Modified (a date's parse) are not looked for.
		return
	}
	var etag []byte
	mtime := int64(-1)
	for _, h := range resp.Headers {
		switch {
		case http1.EqualFold(h.Name, "etag"):
			etag = h.Value
		case http1.EqualFold(h.Name, "last-modified"):
			if t, ok := parseHTTPTime(h.Value); ok {
				mtime = t
			}
		}
	}
	switch x.notModifiedFilter(conf, mtime, etag) {
	case 412:
		resp.Refuse = 412
	case 304:
		resp.Status, resp.StatusLine, resp.ContentType, resp.Charset, resp.ContentLength = 304, nil, nil, nil, -1
		resp.AllowRanges = 0
		if i := lastHeader(resp.Headers, "accept-ranges"); i >= 0 {
			resp.Headers = append(resp.Headers[:i], resp.Headers[i+1:]...)
		}
	}
}

// conditional reports whether r may have a header notModifiedFilter
// reads (If-Unmodified-Since, If-Match, If-Modified-Since,
// If-None-Match): one named "If-...", in one pass over its headers.
func conditional(r *http1.Request) bool {
	for i := range r.Headers {
		if n := r.Headers[i].Name; len(n) >= len("if-match") && n[0]|0x20 == 'i' && n[1]|0x20 == 'f' && n[2] == '-' {
			return true
		}
	}
	return false
}

// proxyIfRange is the range filter's If-Range test: a quoted value must be
// the response's ETag byte for byte, a date its Last-Modified time.
func (x *exchange) proxyIfRange(resp *http1.Response) bool {
	v := x.req.HeaderValue("If-Range")
	if v == nil {
		return true
	}
	var etag, lm []byte
	for _, h := range resp.Headers {
		switch {
		case http1.EqualFold(h.Name, "etag"):
			etag = h.Value
		case http1.EqualFold(h.Name, "last-modified"):
			lm = h.Value
		}
	}
	if len(v) >= 2 && v[len(v)-1] == '"' {
		return etag != nil && string(etag) == string(v)
	}
	if lm == nil {
		return false
	}
	t, ok := parseHTTPTime(v)
	m, okm := parseHTTPTime(lm)
	return ok && okm && t == m
}

// rangeLink is the range filter's body part: the bytes of x.rareMem().ranges pass,
// one range as it comes; several, as multipart/byteranges parts, once the
// body up to the last range's end is at hand (nginx makes them from one
// buffer: a cached file).
type rangeLink struct {
	next      filter.Link
	x         *exchange
	multipart bool
	done      bool
	off       int64
	held      []byte
}

func (l *rangeLink) SetNext(next filter.Link) { l.next = next }

func (l *rangeLink) reset(x *exchange, multipart bool) {
	l.x, l.multipart, l.done, l.off, l.held = x, multipart, false, x.rangeOffset, l.held[:0]
}

func (l *rangeLink) Body(p []byte, flush, last bool) error {
	start := l.off
	l.off += int64(len(p))
	if !l.multipart {
		rg := l.x.rareMem().ranges[0]
		lo, hi := max(rg.start, start), min(rg.end, l.off)
		if lo < hi {
			p = p[lo-start : hi-start]
		} else {
			p = nil
		}
		return l.next.Body(p, flush, last)
	}
	if l.done {
		return l.next.Body(nil, flush, last)
	}
	var end int64
	for _, rg := range l.x.rareMem().ranges {
		end = max(end, rg.end)
	}
	if keep := min(l.off, end) - start; keep > 0 {
		l.held = append(l.held, p[:keep]...)
	}
	if l.off < end && !last {
		return l.next.Body(nil, flush, false)
	}
	l.done = true
	x := l.x
	size := x.rangeFull
	for _, rg := range x.rareMem().ranges {
		if err := l.next.Body(x.rareMem().partHead, false, false); err != nil {
			return err
		}
		x.crange = appendPartRange(x.crange[:0], rg, size)
		if err := l.next.Body(x.crange, false, false); err != nil {
			return err
		}
		if rg.start < int64(len(l.held)) {
			if err := l.next.Body(l.held[rg.start:min(rg.end, int64(len(l.held)))], false, false); err != nil {
				return err
			}
		}
	}
	tail := append(x.crange[:0], "\r\n--"...)
	tail = append(tail, x.rareMem().boundary...)
	x.crange = append(tail, "--\r\n"...)
	return l.next.Body(x.crange, flush, last)
}
