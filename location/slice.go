package location

import (
	"strconv"

	"github.com/gonginx/gonginx/location/filter"
	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/rewrite/http1"
)

// The slice module (ngx_http_slice_filter_module): a location with
// "slice SIZE" asks its backend for $slice_range ("bytes=S-E") of
// the body, one slice at a time, so each can be cached on its own. The
// first slice's 206 becomes the client's 200 (or 206 for a Range), with
// the whole length; when its body ends, a subrequest per following slice
// appends the rest, each checked against the first (its range, ETag).

// sliceCtx is one main request's slicing, shared with its slice
// subrequests (nginx's ctx set on each subrequest).
type sliceCtx struct {
	start, end int64
	active     bool
	etag       []byte
	rangeBuf   []byte // $slice_range
	size       int64
	complete   int64
	failed     bool
}

// addSliceVariables defines $slice_range: the slice the request asks for.
func addSliceVariables(rc *rewrite.Compiler) {
	rc.AddVariable("slice_range", func(s *rewrite.State, dst []byte) []byte {
		x, ok := s.Files.(*exchange)
		if !ok {
			return dst
		}
		if x.slice == nil {
			if x.isSub() || x.st.Status != 0 || x.srv == nil {
				return dst
			}
			size := x.conf().sliceSize
			if size == 0 {
				return dst
			}
			ctx := &x.rareMem().slice
			*ctx = sliceCtx{size: size, etag: ctx.etag[:0], rangeBuf: ctx.rangeBuf[:0]}
			ctx.start = size * (sliceStart(x.req) / size)
			ctx.setRange()
			x.slice = ctx
		}
		return append(dst, x.slice.rangeBuf...)
	})
}

func (ctx *sliceCtx) setRange() {
	b := append(ctx.rangeBuf[:0], "bytes="...)
	b = strconv.AppendInt(b, ctx.start, 10)
	b = append(b, '-')
	b = strconv.AppendInt(b, ctx.start+ctx.size-1, 10)
	ctx.rangeBuf = b
}

// sliceStart is ngx_http_slice_get_start: where the client's one range
// starts (0 with If-Range, several ranges, a suffix range or none).
func sliceStart(r *http1.Request) int64 {
	if r.HeaderValue("If-Range") != nil {
		return 0
	}
	v := r.HeaderValue("Range")
	if len(v) < 7 || !equalFold(v[:6], "bytes=") {
		return 0
	}
	v = v[6:]
	for _, c := range v {
		if c == ',' {
			return 0
		}
	}
	for len(v) > 0 && v[0] == ' ' {
		v = v[1:]
	}
	var start int64
	for len(v) > 0 && v[0] >= '0' && v[0] <= '9' {
		if start > (1<<62)/10 {
			return 0
		}
		start = start*10 + int64(v[0]-'0')
		v = v[1:]
	}
	return start
}

// sliceHeader is the slice filter's header part for resp. It reports
// false when the response must not go out (nginx's NGX_ERROR: the
// connection is closed).
// Its first test is inlined at the callers (the rest is sliceHeaderRun): a
// request the module has nothing to do for costs a test, not a call.
func (x *exchange) sliceHeader(resp *http1.Response, conf *locConf) bool {
	if x.slice == nil {
		return true
	}
	return x.sliceHeaderRun(resp, conf)
}

// sliceHeaderRun is sliceHeader past its first test.
func (x *exchange) sliceHeaderRun(resp *http1.Response, conf *locConf) bool {
	ctx := x.slice
	if ctx == nil {
		return true
	}
	if resp.Status != 206 {
		if !x.isSub() {
			x.slice = nil
			return true
		}
		x.log.Errorf(x, "unexpected status code %d in slice response", resp.Status)
		return false
	}
	etag := []byte(nil)
	cr := -1
	for i, h := range resp.Headers {
		switch {
		case http1.EqualFold(h.Name, "etag"):
			etag = h.Value
		case http1.EqualFold(h.Name, "content-range"):
			cr = i
		}
	}
	if len(ctx.etag) > 0 && string(etag) != string(ctx.etag) {
		x.log.Errorf(x, "etag mismatch in slice response")
		return false
	}
	if etag != nil {
		ctx.etag = append(ctx.etag[:0], etag...)
	}
	var start, end, complete int64
	ok := cr >= 0
	if ok {
		start, end, complete, ok = parseContentRange(resp.Headers[cr].Value)
	}
	if !ok {
		x.log.Errorf(x, "invalid range in slice response")
		return false
	}
	if complete < 0 {
		x.log.Errorf(x, "no complete length in slice response")
		return false
	}
	want := min(start+ctx.size, complete)
	if start != ctx.start || end != want {
		x.log.Errorf(x, "unexpected range in slice response: %d-%d", start, end)
		return false
	}
	ctx.start, ctx.active, ctx.complete = want, true, complete
	resp.Status, resp.StatusLine, resp.ContentLength = 200, nil, complete
	resp.Headers = append(resp.Headers[:cr], resp.Headers[cr+1:]...)
	if i := lastHeader(resp.Headers, "accept-ranges"); i >= 0 {
		resp.Headers = append(resp.Headers[:i], resp.Headers[i+1:]...)
	}
	resp.RangeHeaders = nil
	if x.isSub() {
		return true
	}
	resp.AllowRanges = http1.RangesSingle
	x.rangeOffset = start
	return true
}

// sliceAfterRange finishes the slice header part once the range filter
// has run: the slices end where the client's range does.
// Its first test is inlined at the callers (the rest is sliceAfterRangeRun): a
// request the module has nothing to do for costs a test, not a call.
func (x *exchange) sliceAfterRange(resp *http1.Response) {
	if x.slice == nil {
		return
	}
	x.sliceAfterRangeRun(resp)
}

// sliceAfterRangeRun is sliceAfterRange past its first test.
func (x *exchange) sliceAfterRangeRun(resp *http1.Response) {
	ctx := x.slice
	if ctx == nil || x.isSub() || !ctx.active {
		return
	}
	if resp.Status == 206 && len(x.rareMem().ranges) == 1 {
		off := x.rareMem().ranges[0].start
		if ctx.start+ctx.size <= off {
			ctx.start = ctx.size * (off / ctx.size)
		}
		ctx.end = x.rareMem().ranges[0].end
	} else {
		ctx.end = ctx.complete
	}
	if x.req.MethodCode == http1.MethodHEAD {
		return // a head only: nginx's body filters never run
	}
	x.rareMem().sliceBody.x = x
	x.chain.PushFront(&x.rareMem().sliceBody)
}

// parseContentRange reads "bytes S-E/N" (N may be "*": -1) into [S, E+1).
func parseContentRange(v []byte) (start, end, complete int64, ok bool) {
	if len(v) < 7 || string(v[:6]) != "bytes " {
		return 0, 0, 0, false
	}
	p := v[6:]
	num := func() (int64, bool) {
		for len(p) > 0 && p[0] == ' ' {
			p = p[1:]
		}
		if len(p) == 0 || p[0] < '0' || p[0] > '9' {
			return 0, false
		}
		var n int64
		for len(p) > 0 && p[0] >= '0' && p[0] <= '9' {
			if n > (1<<62)/10 {
				return 0, false
			}
			n = n*10 + int64(p[0]-'0')
			p = p[1:]
		}
		for len(p) > 0 && p[0] == ' ' {
			p = p[1:]
		}
		return n, true
	}
	var okS, okE bool
	if start, okS = num(); !okS || len(p) == 0 || p[0] != '-' {
		return 0, 0, 0, false
	}
	p = p[1:]
	if end, okE = num(); !okE || len(p) == 0 || p[0] != '/' {
		return 0, 0, 0, false
	}
	p = p[1:]
	for len(p) > 0 && p[0] == ' ' {
		p = p[1:]
	}
	if len(p) > 0 && p[0] == '*' {
		complete = -1
		p = p[1:]
		for len(p) > 0 && p[0] == ' ' {
			p = p[1:]
		}
	} else if complete, okS = num(); !okS {
		return 0, 0, 0, false
	}
	if len(p) != 0 {
		return 0, 0, 0, false
	}
	return start, end + 1, complete, true
}

// sliceLink is the slice filter's body part, at the top of the main
// request's chain: when the first slice's body ends, each following slice
// is a subrequest whose body continues it.
type sliceLink struct {
	next filter.Link
	x    *exchange
}

func (l *sliceLink) SetNext(next filter.Link) { l.next = next }

func (l *sliceLink) Body(p []byte, flush, last bool) error {
	if !last {
		return l.next.Body(p, flush, false)
	}
	if err := l.next.Body(p, flush, false); err != nil {
		return err
	}
	x := l.x
	ctx := x.slice
	for ctx != nil && ctx.start < ctx.end {
		if !ctx.active {
			x.log.Errorf(x, "missing slice response")
			return errSlice
		}
		ctx.setRange()
		ctx.active = false
		x.rareMem().rangeBody.off = ctx.start // the range filter counts from there
		if l.x.sliceOut == nil {
			l.x.sliceOut = l.subOut
		}
		x.nextSubSlice = ctx
		x.subrequest(x.req.URI, x.req.Args, len(x.req.Args) > 0 || x.req.HasArgs, x.sliceOut)
		if ctx.failed {
			return errSlice
		}
	}
	if ctx != nil && !ctx.active {
		x.log.Errorf(x, "missing slice response")
		return errSlice
	}
	x.slice = nil
	return l.next.Body(nil, flush, true)
}

func (l *sliceLink) subOut(p []byte) error { return l.next.Body(p, false, false) }

type sliceError struct{}

func (sliceError) Error() string { return "slice failed" }

var errSlice error = sliceError{}
