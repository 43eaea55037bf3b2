package upstream

import (
	"errors"
	"time"

	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/rewrite/http1"
)

// errCachedHeader: a cache file whose head does not parse.
var errCachedHeader = errors.New("cache file contains invalid header")

// sendCachedAfter is sendCached once the request's exchange went back to
// its pool (an entry served after the backend failed or revalidated it):
// one of its own, with the location's prefix (proxy_redirect default).
func (p *Proxy) sendCachedAfter(c http1.Stream, s *rewrite.State, cr *cacheReq, locPrefix string) (int, error) {
	x := takeExchange()
	x.locPrefix = locPrefix
	st, err := p.sendCached(c, s, cr, x, time.Time{})
	exchangePool.Put(x)
	return st, err
}

// sendCached answers from the open cache entry, as
// ngx_http_upstream_cache_send and ngx_http_cache_send: the stored head
// goes through the protocol's header handling (hidden headers,
// proxy_redirect, X-Accel-*) as a backend's would, then the not-modified
// and range filters, then the body from the file. x is the request's
// exchange (its location's prefix for proxy_redirect default); no
// backend's response is in it. at, when not zero, is the clock the
// lookup read: the head's Date, as nginx's is the time its event loop
// cached for the request (the response head would read the clock again).
func (p *Proxy) sendCached(c http1.Stream, s *rewrite.State, cr *cacheReq, x *exchange, at time.Time) (int, error) {
	if x.rbuf == nil {
		x.takeRbuf()
	}
	e := &cr.entry
	if loadHead(e.Head, e.HeadIndex, &x.head) == 0 {
		hl, perr := http1.ParseResponseHead(e.Head, &x.head)
		if perr != nil || hl == 0 {
			return 500, errCachedHeader
		}
	}
	s.SetUpstreamHeaders(x.head.Headers)
	p.accelHeaders(c, s, x)
	if p.accelRedirect(x.head.Headers) {
		s.AccelRedirect = true
		return 0, nil
	}
	resp, f, err := p.proto.buildResponse(p, c, s, x)
	length, chunked := f.length, f.chunked
	if err != nil {
		return 500, errCachedHeader
	}
	bodyLen := e.BodyLength()
	if !chunked && length < 0 {
		length = -1
	}
	s.Status = resp.Status
	resp.NotModifiable = true
	r := c.Request()
	if resp.Status == 200 && s.ErrStatus == 0 {
		// A cached response gets ranges, several too, when the backend
		// allowed them or proxy_force_ranges is on.
		if dropHeader(resp, "accept-ranges") || p.forceRanges {
			resp.AllowRanges = http1.RangesAny
			if rs := r.HeaderValue("Range"); rs != nil && r.HeaderValue("If-Range") == nil && length >= 0 {
				if _, _, code := parseSingleRange(rs, bodyLen); code == 416 {
					s.UnsatisfiableSize = bodyLen
					return 416, nil
				}
			}
		}
	}
	// The head's Date is the lookup's clock (three lines, as the test
	// was: default.pgo knows the calls below by their line offsets).
	setEventTime(c, at)
	if err := c.WriteHeader(resp); err != nil {
		if err == http1.ErrRefused {
			return resp.Refuse, nil
		}
		return 0, err
	}
	if r.MethodCode != http1.MethodHEAD {
		buf := x.rbuf
		for off := int64(0); off < bodyLen; {
			k, err := e.ReadAt(buf[:min(int64(len(buf)), bodyLen-off)], off)
			if err != nil || k == 0 {
				c.Abort()
				return 0, errCachedHeader
			}
			if _, err := c.Write(buf[:k]); err != nil {
				return 0, err
			}
			off += int64(k)
		}
	}
	return 0, c.Finish()
}

// dropHeader removes the header named lower from resp, reporting whether
// it was there.
func dropHeader(resp *http1.Response, lower string) bool {
	for i, h := range resp.Headers {
		if http1.EqualFold(h.Name, lower) {
			resp.Headers = append(resp.Headers[:i], resp.Headers[i+1:]...)
			return true
		}
	}
	return false
}

// parseSingleRange reads a Range header with one range, as
// ngx_http_range_parse: 206 with [start, end), 416 when it starts past the
// body, 0 to send the whole body (several ranges are sent whole here).
func parseSingleRange(v []byte, size int64) (start, end int64, code int) {
	if len(v) < 7 || !http1.EqualFold(v[:6], "bytes=") {
		return 0, 0, 0
	}
	v = v[6:]
	num := func() (int64, bool) {
		for len(v) > 0 && v[0] == ' ' {
			v = v[1:]
		}
		if len(v) == 0 || v[0] < '0' || v[0] > '9' {
			return 0, false
		}
		var n int64
		for len(v) > 0 && v[0] >= '0' && v[0] <= '9' {
			n = n*10 + int64(v[0]-'0')
			v = v[1:]
		}
		for len(v) > 0 && v[0] == ' ' {
			v = v[1:]
		}
		return n, true
	}
	suffix := false
	for len(v) > 0 && v[0] == ' ' {
		v = v[1:]
	}
	if len(v) > 0 && v[0] == '-' {
		suffix = true
		v = v[1:]
	}
	a, ok := num()
	if !ok {
		return 0, 0, 416
	}
	if suffix {
		if len(v) != 0 {
			return 0, 0, 0
		}
		if a > size {
			a = size
		}
		if a == 0 {
			return 0, 0, 416
		}
		return size - a, size, 206
	}
	if len(v) == 0 || v[0] != '-' {
		return 0, 0, 416
	}
	v = v[1:]
	b := size - 1
	for len(v) > 0 && v[0] == ' ' {
		v = v[1:]
	}
	if len(v) > 0 && v[0] != ',' {
		if b, ok = num(); !ok {
			return 0, 0, 416
		}
	}
	if len(v) != 0 {
		return 0, 0, 0 // several ranges
	}
	if a >= size {
		return 0, 0, 416
	}
	if b >= size {
		b = size - 1
	}
	if a > b {
		return 0, 0, 416
	}
	return a, b + 1, 206
}

// setEventTime gives the client's stream the time for the head's Date
// (none when at is zero). An HTTP/1 client's Conn is asked by its type
// (one compare): the interface's assertion read the itab cache, ~2.7
// L1d misses per hit.
func setEventTime(c http1.Stream, at time.Time) {
	if at.IsZero() {
		return
	}
	if hc, ok := c.(*http1.Conn); ok {
		hc.SetEventTime(at)
	} else if ec, ok := c.(eventTimer); ok {
		ec.SetEventTime(at)
	}
}
