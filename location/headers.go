package location

import (
	"strconv"
	"strings"
	"time"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/rewrite/http1"
)

// This file is nginx's headers filter (ngx_http_headers_filter_module):
// add_header and expires, compiled per level at load time and applied to
// every response head through the wire's HeaderFilter hook
// (http1.Conn.Filter), so static files, return, error pages and proxied
// responses all pass through it.

// addKind is what add_header does with its header, by name as nginx's
// ngx_http_set_headers table: most are appended; Cache-Control and Link
// are appended too (nginx also lists them for later filters); Last-Modified
// and ETag replace the response's own.
type addKind uint8

const (
	addAppend addKind = iota
	addLastModified
	addETag
)

// addHeader is one compiled add_header.
type addHeader struct {
	name   []byte
	static []byte           // the value when it has no variables
	value  *rewrite.Complex // nil when static
	kind   addKind
	always bool // also for statuses other than the "safe" ones
}

// expiresMode is ngx_http_expires_t.
type expiresMode uint8

const (
	expiresOff expiresMode = iota
	expiresEpoch
	expiresMax
	expiresAccess   // now + time
	expiresModified // Last-Modified + time
	expiresDaily    // @time: the next such time of day (local time)
)

// expiresConf is one level's expires.
type expiresConf struct {
	mode  expiresMode
	time  int64            // seconds; for daily, seconds since midnight
	value *rewrite.Complex // a value with variables, parsed per request
}

// headerScratch is the per-connection memory of the filter: the edited
// header list and the bytes of evaluated values, reused request after
// request.
type headerScratch struct {
	list   []http1.Header
	vals   []byte
	status int // the status the head went out with, for the trailers
	// keep: a first pass (a 416's, see rangeNotSatisfiable) left values
	// in vals that the head still points at.
	keep bool
}

// compileAddHeader reads "add_header name value [always]" (or
// add_trailer) as ngx_http_headers_add.
func (c *compiler) compileAddHeader(d *nginxconf.Directive) (addHeader, error) {
	if len(d.Args) < 2 {
		return addHeader{}, confErr(d, "invalid number of arguments in \"%s\" directive", d.Name)
	}
	h := addHeader{name: []byte(d.Args[0])}
	switch {
	case strings.EqualFold(d.Args[0], "Last-Modified"):
		h.kind = addLastModified
	case strings.EqualFold(d.Args[0], "ETag"):
		h.kind = addETag
	}
	if d.Args[1] != "" {
		v, err := c.rc.Complex(d.Args[1])
		if err != nil {
			return h, rewrite.At(err, d)
		}
		if s, ok := v.Static(); ok {
			h.static = []byte(s)
		} else {
			h.value = v
		}
	}
	if len(d.Args) == 3 {
		if d.Args[2] != "always" {
			return h, confErr(d, "invalid parameter \"%s\"", d.Args[2])
		}
		h.always = true
	}
	return h, nil
}

// compileExpires reads "expires [modified] time" as
// ngx_http_headers_expires: a value with variables is parsed per request.
func (c *compiler) compileExpires(conf *locConf, d *nginxconf.Directive) error {
	mode, arg := expiresAccess, d.Args[0]
	if len(d.Args) == 2 {
		if d.Args[0] != "modified" {
			return confErr(d, "\"expires\" directive invalid value")
		}
		mode, arg = expiresModified, d.Args[1]
	}
	v, err := c.rc.Complex(arg)
	if err != nil {
		return rewrite.At(err, d)
	}
	if !v.HasVariables() {
		m, t, msg := parseExpires(arg, mode)
		if msg != "" {
			return confErr(d, "\"expires\" directive %s", msg)
		}
		conf.expires = expiresConf{mode: m, time: t}
		return nil
	}
	conf.expires = expiresConf{mode: mode, value: v}
	return nil
}

// parseExpires is ngx_http_parse_expires: mode is access or modified as
// the directive was written; msg is nginx's complaint, "" when valid.
func parseExpires(v string, mode expiresMode) (expiresMode, int64, string) {
	if mode != expiresModified {
		switch v {
		case "epoch":
			return expiresEpoch, 0, ""
		case "max":
			return expiresMax, 0, ""
		case "off":
			return expiresOff, 0, ""
		}
	}
	minus := false
	switch {
	case strings.HasPrefix(v, "@"):
		if mode == expiresModified {
			return mode, 0, "daily time cannot be used with \"modified\" parameter"
		}
		v, mode = v[1:], expiresDaily
	case strings.HasPrefix(v, "+"):
		v = v[1:]
	case strings.HasPrefix(v, "-"):
		v, minus = v[1:], true
	}
	t, ok := nginxconf.ParseTime(v, true)
	if !ok {
		return mode, 0, "invalid value"
	}
	if mode == expiresDaily && t > 24*60*60 {
		return mode, 0, "daily time value must be less than 24 hours"
	}
	if minus {
		t = -t
	}
	return mode, t, ""
}

// safeStatus lists the statuses add_header (without "always") and expires
// apply to.
func safeStatus(status int) bool {
	switch status {
	case 200, 201, 204, 206, 301, 302, 303, 304, 307, 308:
		return true
	}
	return false
}

// statusAbove is $status in the filters above nginx's range filter: a
// file the static handler answers with ranges is still the 200 there (the
// range filter, below the headers filter, makes it the 206).
func (x *exchange) statusAbove(resp *http1.Response) int {
	if x.rangedFile && resp.Status == 206 {
		return 200
	}
	return resp.Status
}

// showWholeFile shows the filters above nginx's range filter the head of
// a file answered with ranges as they see it there: the file's own type
// and whole length ($sent_http_content_type, $sent_http_content_length).
func (x *exchange) showWholeFile() {
	if x.st.Conn == nil || !x.st.Conn.Sent().Written {
		return
	}
	s := x.st.Conn.Sent()
	if x.partType != nil {
		s.ContentType = x.partType // multipart/byteranges is made below
	}
	s.ContentLength = x.rangeFull
}

// FilterHeader is the headers filter (http1.HeaderFilter) for the
// configuration the request ends in: its location, "if" block or server;
// it also sets chunked_transfer_encoding for the chunked filter below it.
// nginx skips subrequests here; gonginx has none yet.
func (x *exchange) FilterHeader(resp *http1.Response) {
	if x.srv == nil {
		return
	}
	conf := x.conf()
	// $status is the status going out from here on (nginx's
	// headers_out.status, err_status already applied).
	x.st.Status = x.statusAbove(resp)
	if x.rangedFile {
		x.showWholeFile()
	}
	if x.kept.on {
		x.applyKept(resp)
	}
	// The chunked filter's switch, read from the same configuration.
	resp.NoChunked = conf.noChunked
	// The slice and not-modified filters run above the headers filter.
	if !x.sliceHeader(resp, conf) {
		// nginx's NGX_ERROR from the slice filter: nothing more goes out.
		if x.slice != nil {
			x.slice.failed = true
		}
		resp.Drop = true
		return
	}
	if resp.NotModifiable {
		x.proxyNotModified(resp, conf)
	}
	x.st.Status = x.statusAbove(resp)
	if x.proxied && conf.proxyTyped && resp.Status == 200 && resp.ContentLength >= 0 && conf.maxRanges != 0 &&
		!x.isSub() {
		// memcached's force_ranges: the range filter announces ranges
		// for its response as for a file (a Range request still gets
		// the whole value: ranges of a backend's body are not served).
		x.rangeHdr[0] = http1.Header{Name: hdrAcceptRanges, Value: valBytes}
		resp.RangeHeaders = x.rangeHdr[:1]
	}
	// The body filters' header parts run below the headers filter; what
	// they push (Content-Encoding) comes after add_header's lines. Called
	// at each return, not deferred: a deferred call is a closure's call
	// more.
	if len(conf.addHeaders) == 0 && conf.expires.mode == expiresOff && len(conf.addTrailers) == 0 {
		x.bodyFilters(resp, conf)
		return
	}
	x.hdrs.status = resp.Status
	if !x.hdrs.keep {
		x.hdrs.vals = x.hdrs.vals[:0]
	}
	x.hdrs.keep = false
	list := append(x.hdrs.list[:0], resp.Headers...)
	list = x.applyHeaders(conf, resp, resp.Status, list)
	x.hdrs.list = list
	resp.Headers = list
	safe := safeStatus(resp.Status)
	for i := range conf.addTrailers {
		if safe || conf.addTrailers[i].always {
			resp.ExpectTrailers = true
			break
		}
	}
	x.bodyFilters(resp, conf)
}

// AppendTrailers is the trailers filter (http1.TrailerFilter): each
// add_trailer that applies to the status, evaluated when the body ends;
// an empty value adds nothing.
func (x *exchange) AppendTrailers(dst []byte) []byte {
	if x.srv == nil {
		return dst
	}
	// A backend's trailers (gRPC) come first, as nginx's upstream puts
	// them in headers_out.trailers before the trailers filter runs.
	for _, h := range x.st.UpstreamTrailers {
		dst = append(append(append(append(dst, h.Name...), ':', ' '), h.Value...), '\r', '\n')
	}
	conf := x.conf()
	safe := safeStatus(x.hdrs.status)
	for i := range conf.addTrailers {
		h := &conf.addTrailers[i]
		if !safe && !h.always {
			continue
		}
		start := len(dst)
		dst = append(append(dst, h.name...), ':', ' ')
		mark := len(dst)
		if h.value != nil {
			dst = h.value.Eval(&x.st, dst)
		} else {
			dst = append(dst, h.static...)
		}
		if len(dst) == mark {
			dst = dst[:start]
			continue
		}
		dst = append(dst, '\r', '\n')
		x.st.SentTrailers = append(x.st.SentTrailers, dst[start:]...)
	}
	return dst
}

// applyHeaders runs expires and then each add_header over list for a
// response with status, as ngx_http_headers_filter.
func (x *exchange) applyHeaders(conf *locConf, resp *http1.Response, status int, list []http1.Header) []http1.Header {
	safe := safeStatus(status)
	if conf.expires.mode != expiresOff && safe {
		list = x.setExpires(&conf.expires, resp, list)
	}
	for i := range conf.addHeaders {
		h := &conf.addHeaders[i]
		if !safe && !h.always {
			continue
		}
		v := h.static
		if h.value != nil {
			// $sent_http_* see the lines added so far, as nginx's
			// headers_out does while its filter pushes them.
			if x.st.Conn != nil && x.st.Conn.Sent().Written {
				x.st.Conn.Sent().Headers = list
			}
			start := len(x.hdrs.vals)
			x.hdrs.vals = h.value.Eval(&x.st, x.hdrs.vals)
			v = x.hdrs.vals[start:len(x.hdrs.vals):len(x.hdrs.vals)]
		}
		switch h.kind {
		case addAppend:
			if len(v) > 0 {
				list = append(list, http1.Header{Name: h.name, Value: v})
			}
		case addLastModified:
			// The header written replaces the handler's time either way;
			// an empty value removes Last-Modified altogether.
			list = setResponseHeader(list, "last-modified", h.name, v)
			resp.LastModified = -1
		case addETag:
			list = setResponseHeader(list, "etag", h.name, v)
		}
	}
	return list
}

// setResponseHeader is ngx_http_set_response_header: the response's own
// header of that name (the last one) gets the value in place, or is
// removed when the value is empty; without one, the value is appended.
func setResponseHeader(list []http1.Header, lower string, name, v []byte) []http1.Header {
	at := lastHeader(list, lower)
	switch {
	case len(v) == 0:
		if at >= 0 {
			list = append(list[:at], list[at+1:]...)
		}
	case at >= 0:
		list[at] = http1.Header{Name: name, Value: v}
	default:
		list = append(list, http1.Header{Name: name, Value: v})
	}
	return list
}

func lastHeader(list []http1.Header, lower string) int {
	for i := len(list) - 1; i >= 0; i-- {
		if http1.EqualFold(list[i].Name, lower) {
			return i
		}
	}
	return -1
}

var (
	hdrExpires      = []byte("Expires")
	hdrCacheControl = []byte("Cache-Control")
	valNoCache      = []byte("no-cache")
	valEpoch        = []byte("Thu, 01 Jan 1970 00:00:01 GMT")
	valMax          = []byte("Thu, 31 Dec 2037 23:55:55 GMT")
	valMaxAge10y    = []byte("max-age=315360000") // "max": 10 years
	valMaxAge0      = []byte("max-age=0")
)

// setExpires is ngx_http_set_expires: the response's Expires (the last
// one) gets the new value in place, or one is appended; its first
// Cache-Control gets the matching value and any other is removed, or one
// is appended.
func (x *exchange) setExpires(e *expiresConf, resp *http1.Response, list []http1.Header) []http1.Header {
	mode, t, confTime := e.mode, e.time, e.time
	if e.value != nil {
		start := len(x.hdrs.vals)
		x.hdrs.vals = e.value.Eval(&x.st, x.hdrs.vals)
		m, v, msg := parseExpires(string(x.hdrs.vals[start:]), mode)
		x.hdrs.vals = x.hdrs.vals[:start]
		if msg != "" || m == expiresOff {
			return list
		}
		// nginx compares the directive's own time (0 here) with zero.
		mode, t, confTime = m, v, 0
	}
	var expires, cc []byte
	now := x.headTime()
	switch {
	case mode == expiresEpoch:
		expires, cc = valEpoch, valNoCache
	case mode == expiresMax:
		expires, cc = valMax, valMaxAge10y
	case t == 0 && mode != expiresDaily:
		start := len(x.hdrs.vals)
		x.hdrs.vals = http1.AppendDateAt(x.hdrs.vals, now)
		expires, cc = x.hdrs.vals[start:len(x.hdrs.vals):len(x.hdrs.vals)], valMaxAge0
	default:
		var at, maxAge int64
		lastModified := x.lastModifiedTime(resp, list)
		switch {
		case mode == expiresDaily:
			at = nextTime(now, t)
			maxAge = at - now.Unix()
		case mode == expiresAccess || lastModified == -1:
			at, maxAge = now.Unix()+t, t
		default:
			at = lastModified + t
			maxAge = at - now.Unix()
		}
		start := len(x.hdrs.vals)
		x.hdrs.vals = http1.AppendHTTPTime(x.hdrs.vals, at)
		expires = x.hdrs.vals[start:len(x.hdrs.vals):len(x.hdrs.vals)]
		if confTime < 0 || maxAge < 0 {
			cc = valNoCache
		} else {
			start = len(x.hdrs.vals)
			x.hdrs.vals = strconv.AppendInt(append(x.hdrs.vals, "max-age="...), maxAge, 10)
			cc = x.hdrs.vals[start:len(x.hdrs.vals):len(x.hdrs.vals)]
		}
	}
	if at := lastHeader(list, "expires"); at >= 0 {
		list[at].Value = expires
	} else {
		list = append(list, http1.Header{Name: hdrExpires, Value: expires})
	}
	first := -1
	n := 0
	for _, h := range list {
		if http1.EqualFold(h.Name, "cache-control") {
			if first >= 0 {
				continue
			}
			first = n
			h.Value = cc
		}
		list[n] = h
		n++
	}
	list = list[:n]
	if first < 0 {
		list = append(list, http1.Header{Name: hdrCacheControl, Value: cc})
	}
	return list
}

// lastModifiedTime is nginx's headers_out.last_modified_time: a static
// file's, or the time a proxied Last-Modified header gives; -1 for none.
func (x *exchange) lastModifiedTime(resp *http1.Response, list []http1.Header) int64 {
	if resp.LastModified != -1 {
		return resp.LastModified
	}
	if at := lastHeader(list, "last-modified"); at >= 0 {
		if t, ok := parseHTTPTime(list[at].Value); ok {
			return t
		}
	}
	return -1
}

// nextTime is ngx_next_time: today's local time of day sec if it is still
// ahead, else tomorrow's.
func nextTime(now time.Time, sec int64) int64 {
	y, m, d := now.Date()
	h, mi, s := int(sec/3600), int(sec%3600/60), int(sec%60)
	next := time.Date(y, m, d, h, mi, s, 0, now.Location()).Unix()
	if next-now.Unix() > 0 {
		return next
	}
	return time.Date(y, m, d+1, h, mi, s, 0, now.Location()).Unix()
}

// rangeNotSatisfiable prepares a static file's 416 head as nginx builds it:
// its headers filter ran once for the 200 before the range filter turned
// it into a 416 (then the special response dropped Last-Modified and
// ETag), and it runs again, for "always" headers, on the 416 itself.
func (x *exchange) rangeNotSatisfiable(r *http1.Response, conf *locConf) {
	x.hdrs.vals = x.hdrs.vals[:0]
	x.st.Status = 200 // that pass's $status
	if x.unsatType != nil && x.st.Conn != nil {
		// $sent_http_content_type and _length in that first pass are
		// the file's.
		first := *r
		first.Status, first.ContentType, first.ContentLength = 200, x.unsatType, x.rangeFull
		x.st.Conn.Sent().Show(&first)
	}
	list := x.applyHeaders(conf, r, 200, r.Headers)
	n := 0
	for _, h := range list {
		if http1.EqualFold(h.Name, "last-modified") || http1.EqualFold(h.Name, "etag") {
			continue
		}
		list[n] = h
		n++
	}
	r.Headers = list[:n]
	r.LastModified = -1
	x.hdrs.keep = true
}

// headTime is the time of the response head's Date, which Expires is
// made from.
func (x *exchange) headTime() time.Time {
	if hc, ok := x.c.(interface{ HeadTime() time.Time }); ok {
		return hc.HeadTime()
	}
	return time.Now()
}
