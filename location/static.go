package location

import (
	"bytes"
	"math"
	"strconv"
	"syscall"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite/http1"
)

// The static module: a file sent whole or by ranges, with its type,
// ETag and Last-Modified, and the not-modified and range filters.

// static is ngx_http_static_handler plus the not-modified and range
// filters.
func (x *exchange) static(loc *Location, conf *locConf) int {
	m := x.req.MethodCode
	if m != http1.MethodGET && m != http1.MethodHEAD && (m != http1.MethodPOST || conf.flv || conf.mp4) {
		return 405
	}
	path := x.mapPath(loc, conf, x.req.URI, false)
	fd, e, failed := openFile(&x.cpath, path, x.openRule(conf, path), oRead)
	if e != 0 {
		rc, level := 500, "crit"
		switch e {
		case syscall.ENOENT, syscall.ENOTDIR, syscall.ENAMETOOLONG:
			rc, level = 404, "error"
		case syscall.EACCES, syscall.EMLINK, syscall.ELOOP:
			rc, level = 403, "error"
		}
		if rc != 404 || conf.logNotFound {
			x.log.Logf(x, level, "%s \"%s\" failed (%s)", failed, path, nginxconf.ErrnoText(e))
		}
		return rc
	}
	defer syscall.Close(fd)
	var fi fileStat
	if e := fstat(fd, &fi); e != 0 {
		return 500
	}
	if fi.isDir {
		return x.dirRedirect()
	}
	if !fi.regular {
		x.log.Logf(x, "crit", "\"%s\" is not a regular file", path)
		return 404
	}
	if m == http1.MethodPOST {
		return 405
	}
	// The static module discards the body (and so answers Expect) only
	// here, about to send the file: a 404 or 405 before gets no 100.
	if rc := x.discardBody(); rc != 0 {
		return rc
	}
	size, mtime := fi.size, fi.mtime
	maxRanges := conf.maxRanges
	if conf.mp4 {
		rc, single := x.mp4Cut(conf, fd, path, &size)
		if rc != 0 {
			return rc
		}
		if single && maxRanges != 0 {
			maxRanges = 1
		}
		x.sendingAs = "mp4" // nginx's log action from here on
	}
	if conf.flv {
		x.sendingAs = "flv"
	}
	if conf.flv && len(x.req.Args) > 0 {
		if start := x.flvStart(size); start > 0 {
			// The body is the header, then the file from start.
			x.bodyPrefix, x.fileBase = flvHeader, start
			size = int64(len(flvHeader)) + size - start
		}
	}
	r := x.newResp(200, conf)
	r.ContentType = x.contentType(conf)
	r.ContentLength = size
	r.LastModified = mtime
	if conf.etag {
		x.etag = appendETag(x.etag[:0], mtime, size)
		r.Headers = append(r.Headers, http1.Header{Name: hdrETag, Value: x.etag})
	}
	grows := x.transformsBody(r, conf)
	if grows {
		r.ContentLength = -1
	}
	// Subrequests get neither 304s nor ranges (nginx's not_modified and
	// range filters skip them).
	if x.errStatus == 0 && !x.isSub() {
		if x.preconditionFailed(conf, mtime) {
			return 412
		}
		if x.notModified(conf, mtime) {
			r.Status, r.ContentType, r.Charset, r.ContentLength = 304, nil, nil, -1
			x.writeHeader(r)
			return 0
		}
	}
	start, n := int64(0), size
	multipart := false
	// max_ranges 0 turns the range filter off, Accept-Ranges included.
	// And it needs the length: a body recoded to or from utf-8 has none.
	// The image filter turns ranges off (r->allow_ranges = 0).
	if (x.errStatus == 0 || x.errStatus == 200) && maxRanges != 0 && !grows && !x.isSub() &&
		!x.imageApplies(conf, r.Status) {
		x.rangeHdr[0] = http1.Header{Name: hdrAcceptRanges, Value: valBytes}
		r.RangeHeaders = x.rangeHdr[:1]
		if rs := x.req.HeaderValue("Range"); rs != nil && x.ifRange(conf, mtime) {
			var code int
			x.rareMem().ranges, code = parseRanges(rs, size, x.rareMem().ranges[:0], maxRanges)
			switch {
			case code == 416:
				x.crange = strconv.AppendInt(append(x.crange[:0], "bytes */"...), size, 10)
				x.rangeUnsat = true
				// The filters above nginx's range filter saw the 200 of
				// this file: its type, gzip's look for gzip_vary.
				x.unsatType, x.rangeFull = r.ContentType, size
				x.gzipVaryBeforeRange(r, conf)
				return 416
			case code == 206 && len(x.rareMem().ranges) == 1:
				x.gzipVaryBeforeRange(r, conf)
				x.rangedFile, x.rangeFull = true, size
				rg := x.rareMem().ranges[0]
				start, n = rg.start, rg.end-rg.start
				r.Status, r.ContentLength = 206, n
				x.crange = appendContentRange(x.crange[:0], rg.start, n, size)
				x.rangeHdr[0] = http1.Header{Name: hdrContentRange, Value: x.crange}
			case code == 206:
				x.gzipVaryBeforeRange(r, conf)
				x.rangedFile, x.rangeFull = true, size
				multipart = true
				x.multipartHead(r, size)
			}
		}
	}
	x.writeHeader(r)
	if r.Refuse != 0 && !x.c.HeaderWritten() {
		return r.Refuse // the image filter's 415 for a file over its buffer
	}
	if m == http1.MethodHEAD && !x.c.Held() {
		// (a held head waits for the body: the image filter reads a
		// HEAD's too)
		return 0
	}
	if multipart && x.bodyPrefix != nil {
		// nginx's range filter takes several ranges of one buffer only:
		// with flv's header and the file it gives up, nothing sent.
		x.log.Logf(x, "alert", "range in overlapped buffers while sending flv to client")
		x.c.Discard()
		return 0
	}
	if multipart {
		x.writeMultipart(fd, size)
		return 0
	}
	if x.mp4Empty != nil {
		x.mp4EmptyAlerts(start, start+n, r.Status == 200)
	}
	x.endWithFile()
	x.copyFile(fd, start, n)
	return 0
}

// byteRange is [start, end) of a file.
type byteRange struct{ start, end int64 }

// parseRanges reads a Range header as ngx_http_range_parse does: 206
// with the ranges, 416, or 0 when the header is to be ignored (the whole
// file is sent: ranges adding up to more than the file, more of them than
// max (max_ranges; negative: no limit), or "0-" of an empty one).
func parseRanges(v []byte, size int64, dst []byteRange, max int) ([]byteRange, int) {
	if len(v) < 7 || !equalFold(v[:6], "bytes=") {
		return dst, 0
	}
	p := v[6:]
	i := 0
	at := func() byte {
		if i < len(p) {
			return p[i]
		}
		return 0
	}
	skipSpaces := func() {
		for at() == ' ' {
			i++
		}
	}
	// A number up to the largest off_t is one, as nginx's cutoff and
	// cutlim have it; one more digit is a 416.
	const cutoff, cutlim = math.MaxInt64 / 10, math.MaxInt64 % 10
	number := func() (int64, bool) {
		var n int64
		for c := at(); c >= '0' && c <= '9'; c = at() {
			if n >= cutoff && (n > cutoff || int64(c-'0') > cutlim) {
				return 0, false
			}
			n = n*10 + int64(c-'0')
			i++
		}
		return n, true
	}
	var total int64
	for {
		var start, end int64
		suffix := false
		skipSpaces()
		if at() != '-' {
			if c := at(); c < '0' || c > '9' {
				return dst, 416
			}
			var ok bool
			if start, ok = number(); !ok {
				return dst, 416
			}
			skipSpaces()
			if at() != '-' {
				return dst, 416
			}
			i++
			skipSpaces()
			if c := at(); c == ',' || c == 0 {
				end = size
				goto found
			}
		} else {
			suffix = true
			i++
		}
		if c := at(); c < '0' || c > '9' {
			return dst, 416
		}
		{
			var ok bool
			if end, ok = number(); !ok {
				return dst, 416
			}
		}
		skipSpaces()
		if c := at(); c != ',' && c != 0 {
			return dst, 416
		}
		if suffix {
			if end < size {
				start = size - end
			} else {
				start = 0
			}
			end = size - 1
		}
		if end >= size {
			end = size
		} else {
			end++
		}
	found:
		if start < end {
			dst = append(dst, byteRange{start, end})
			if total > math.MaxInt64-(end-start) {
				return dst[:0], 416
			}
			total += end - start
			if max >= 0 && len(dst) > max {
				return dst[:0], 0
			}
		} else if start == 0 {
			return dst[:0], 0
		}
		if at() != ',' {
			break
		}
		i++
	}
	if len(dst) == 0 {
		return dst, 416
	}
	if total > size {
		return dst[:0], 0
	}
	return dst, 206
}

// multipartHead sets the head of a multipart/byteranges response and
// prepares the per-part header prefix in x.rareMem().partHead.
func (x *exchange) multipartHead(r *http1.Response, size int64) {
	b := http1.NextTempNumber()
	var num [20]byte
	digits := strconv.AppendUint(num[:0], b, 10)
	x.rareMem().boundary = x.rareMem().boundary[:0]
	for k := len(digits); k < 20; k++ {
		x.rareMem().boundary = append(x.rareMem().boundary, '0')
	}
	x.rareMem().boundary = append(x.rareMem().boundary, digits...)
	ph := append(x.rareMem().partHead[:0], "\r\n--"...)
	ph = append(ph, x.rareMem().boundary...)
	if len(r.ContentType) > 0 {
		ph = append(ph, "\r\nContent-Type: "...)
		ph = append(ph, r.ContentType...)
		// The charset filter, above the range filter in nginx, has named
		// the charset by the time the parts are made.
		if p := x.planCharset(r, x.conf()); p.apply && p.set && !p.noMap && !p.fail {
			ph = append(ph, "; charset="...)
			ph = append(ph, p.dst...)
		}
		x.partType = r.ContentType
	}
	ph = append(ph, "\r\nContent-Range: bytes "...)
	x.rareMem().partHead = ph
	length := int64(0)
	for _, rg := range x.rareMem().ranges {
		x.crange = appendPartRange(x.crange[:0], rg, size)
		length += int64(len(ph)+len(x.crange)) + rg.end - rg.start
	}
	length += int64(len("\r\n--") + len(x.rareMem().boundary) + len("--\r\n"))
	ct := append(x.ctype[:0], "multipart/byteranges; boundary="...)
	x.ctype = append(ct, x.rareMem().boundary...)
	r.Status, r.ContentType, r.Charset, r.ContentLength = 206, x.ctype, nil, length
	r.RangeHeaders = nil // no Accept-Ranges
}

func appendPartRange(b []byte, rg byteRange, size int64) []byte {
	b = strconv.AppendInt(b, rg.start, 10)
	b = append(b, '-')
	b = strconv.AppendInt(b, rg.end-1, 10)
	b = append(b, '/')
	b = strconv.AppendInt(b, size, 10)
	return append(b, "\r\n\r\n"...)
}

func (x *exchange) writeMultipart(fd int, size int64) {
	for _, rg := range x.rareMem().ranges {
		x.write(x.rareMem().partHead)
		x.crange = appendPartRange(x.crange[:0], rg, size)
		x.write(x.crange)
		x.copyFile(fd, rg.start, rg.end-rg.start)
	}
	tail := append(x.crange[:0], "\r\n--"...)
	tail = append(tail, x.rareMem().boundary...)
	x.crange = append(tail, "--\r\n"...)
	x.write(x.crange)
}

var (
	hdrETag     = []byte("ETag")
	hdrLocation = []byte("Location")
	// hdrWWWAuthenticate is spelled as nginx's intercept copies it.
	hdrWWWAuthenticate = []byte("WWW-Authenticate")
	hdrAcceptRanges    = []byte("Accept-Ranges")
	hdrContentRange    = []byte("Content-Range")
	valBytes           = []byte("bytes")
)

// endWithFile lets the file's last bytes end the response (over HTTP/2,
// END_STREAM on their DATA frame): nginx's file buffer carries last_buf.
func (x *exchange) endWithFile() {
	if e, ok := x.c.(interface{ EndWithLength() }); ok {
		e.EndWithLength()
	}
}

// copyFile sends n bytes of the body from off: the file's, or those of
// bodyPrefix and then the file from fileBase (flv's ?start).
func (x *exchange) copyFile(fd int, off, n int64) {
	if x.fileBuf == nil {
		x.fileBuf = make([]byte, 32<<10)
	}
	if x.bodyPrefix != nil {
		if p := int64(len(x.bodyPrefix)); off < p {
			k := min(p-off, n)
			if !x.write(x.bodyPrefix[off : off+k]) {
				return
			}
			off, n = off+k, n-k
		}
		off += x.fileBase - int64(len(x.bodyPrefix))
		if x.fileEnd != 0 {
			n = max(min(n, x.fileEnd-off), 0)
		}
	}
	for n > 0 {
		chunk := x.fileBuf
		if int64(len(chunk)) > n {
			chunk = chunk[:n]
		}
		m, err := syscall.Pread(fd, chunk, off)
		if m > 0 {
			if !x.write(chunk[:m]) {
				return // send_timeout or a client gone: nginx stops here
			}
			n -= int64(m)
			off += int64(m)
		}
		if err != nil || m == 0 {
			return
		}
	}
}

// contentType picks the type by the URI's extension (ngx_http_set_exten:
// after the last '.' of the last path segment), case-insensitively.
func (x *exchange) contentType(conf *locConf) []byte {
	if x.kept.ctype != nil {
		return x.kept.ctype // an X-Accel-Redirect's: the type is set already
	}
	ext := uriExtension(x.req.URI)
	if len(ext) > 0 {
		if t, ok := conf.typesBytes[string(ext)]; ok {
			return t
		}
		lower := appendLower(x.tmp[:0], ext)
		x.tmp = lower
		if t, ok := conf.typesBytes[string(lower)]; ok {
			return t
		}
	}
	return conf.defaultTypeBytes
}

// uriExtension is ngx_http_set_exten: what follows the last '.' of the
// last path segment, unless that dot starts the segment (a dot file has
// no extension); the first two bytes are never looked at.
func uriExtension(uri []byte) []byte {
	for i := len(uri) - 1; i > 1; i-- {
		switch {
		case uri[i] == '.' && uri[i-1] != '/':
			return uri[i+1:]
		case uri[i] == '/':
			return nil
		}
	}
	return nil
}

func appendETag(b []byte, mtime, size int64) []byte {
	b = append(b, '"')
	b = strconv.AppendInt(b, mtime, 16)
	b = append(b, '-')
	b = strconv.AppendInt(b, size, 16)
	return append(b, '"')
}

func appendContentRange(b []byte, start, n, size int64) []byte {
	b = append(b, "bytes "...)
	b = strconv.AppendInt(b, start, 10)
	b = append(b, '-')
	b = strconv.AppendInt(b, start+n-1, 10)
	b = append(b, '/')
	return strconv.AppendInt(b, size, 10)
}

// notModified is ngx_http_not_modified_filter for a static file.
func (x *exchange) notModified(conf *locConf, mtime int64) bool {
	ims := x.req.HeaderValue("If-Modified-Since")
	inm := x.req.HeaderValue("If-None-Match")
	if ims == nil && inm == nil {
		return false
	}
	if ims != nil {
		if conf.ims == 2 {
			return false
		}
		t, ok := parseHTTPTime(ims)
		if !ok {
			return false
		}
		if t != mtime && (conf.ims == 0 || t < mtime) {
			return false
		}
	}
	if inm != nil && !etagListMatch(inm, x.sentETag(conf), true) {
		return false
	}
	return true
}

// ifRange honours If-Range (an ETag or a date) as nginx's range filter.
// An If-Range ending in '"' is an entity tag compared byte for byte with
// the ETag sent (none: no ranges); anything else is a date compared with
// Last-Modified (none: no ranges). The range filter runs after the
// headers filter, so both are as add_header left them.
func (x *exchange) ifRange(conf *locConf, mtime int64) bool {
	v := x.req.HeaderValue("If-Range")
	if v == nil {
		return true
	}
	etag := x.sentETag(conf)
	for i := range conf.addHeaders {
		h := &conf.addHeaders[i]
		if h.kind != addLastModified && h.kind != addETag {
			continue
		}
		val := h.static
		if h.value != nil {
			x.tmp = h.value.Eval(&x.st, x.tmp[:0])
			val = x.tmp
		}
		if h.kind == addETag {
			etag = nil
			if len(val) > 0 {
				etag = append(x.ifRangeTag[:0], val...)
				x.ifRangeTag = etag
			}
			continue
		}
		// ngx_http_set_last_modified: the time the value parses to.
		mtime = -1
		if t, ok := parseHTTPTime(val); ok && len(val) > 0 {
			mtime = t
		}
	}
	if len(v) >= 2 && v[len(v)-1] == '"' {
		return etag != nil && bytes.Equal(v, etag)
	}
	if mtime == -1 {
		return false
	}
	t, ok := parseHTTPTime(v)
	return ok && t == mtime
}

// etagListMatch is ngx_http_test_if_match: etag (nil: none sent) against
// an If-Match (weak false) or If-None-Match (weak true) list. "*" alone
// matches, even without an etag; a weak compare drops "W/" on both sides;
// an item must be the etag followed by spaces or tabs up to a comma or
// the end.
func etagListMatch(list, etag []byte, weak bool) bool {
	if len(list) == 1 && list[0] == '*' {
		return true
	}
	if etag == nil {
		return false
	}
	if weak && len(etag) > 2 && etag[0] == 'W' && etag[1] == '/' {
		etag = etag[2:]
	}
	i, end := 0, len(list)
	for i < end {
		if weak && end-i > 2 && list[i] == 'W' && list[i+1] == '/' {
			i += 2
		}
		if len(etag) > end-i {
			return false
		}
		if string(list[i:i+len(etag)]) == string(etag) {
			j := i + len(etag)
			for j < end && (list[j] == ' ' || list[j] == '\t') {
				j++
			}
			if j == end || list[j] == ',' {
				return true
			}
		}
		for i < end && list[i] != ',' {
			i++
		}
		for i < end && (list[i] == ' ' || list[i] == '\t' || list[i] == ',') {
			i++
		}
	}
	return false
}

// sentETag is the ETag of the response, nil with etag off.
func (x *exchange) sentETag(conf *locConf) []byte {
	if !conf.etag {
		return nil
	}
	return x.etag
}

// preconditionFailed is the not-modified filter's If-Unmodified-Since and
// If-Match tests (412 when either fails), before If-Modified-Since.
func (x *exchange) preconditionFailed(conf *locConf, mtime int64) bool {
	if v := x.req.HeaderValue("If-Unmodified-Since"); v != nil {
		t, ok := parseHTTPTime(v)
		if !ok || t < mtime {
			return true
		}
	}
	if v := x.req.HeaderValue("If-Match"); v != nil && !etagListMatch(v, x.sentETag(conf), false) {
		return true
	}
	return false
}

// notModifiedFilter is ngx_http_not_modified_header_filter for a 200 that
// a content handler other than static makes, with its Last-Modified time
// (-1: none) and ETag (nil: none): 412 when a precondition fails, 304
// when the client's copy is current, else 0.
func (x *exchange) notModifiedFilter(conf *locConf, mtime int64, etag []byte) int {
	if x.errStatus != 0 && x.errStatus != 200 {
		return 0
	}
	if v := x.req.HeaderValue("If-Unmodified-Since"); v != nil {
		t, ok := parseHTTPTime(v)
		if mtime == -1 || !ok || t < mtime {
			return 412
		}
	}
	if v := x.req.HeaderValue("If-Match"); v != nil && !etagListMatch(v, etag, false) {
		return 412
	}
	ims := x.req.HeaderValue("If-Modified-Since")
	inm := x.req.HeaderValue("If-None-Match")
	if ims == nil && inm == nil {
		return 0
	}
	if ims != nil && modifiedSince(conf, ims, mtime) {
		return 0
	}
	if inm != nil && !etagListMatch(inm, etag, true) {
		return 0
	}
	return 304
}

// modifiedSince is ngx_http_test_if_modified: an unparsable date or no
// Last-Modified counts as modified.
func modifiedSince(conf *locConf, ims []byte, mtime int64) bool {
	if mtime == -1 || conf.ims == 2 {
		return true
	}
	t, ok := parseHTTPTime(ims)
	if !ok {
		t = -1
	}
	if t == mtime {
		return false
	}
	return conf.ims == 0 || t < mtime
}
