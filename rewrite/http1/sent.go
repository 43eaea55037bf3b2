package http1

import (
	"errors"
	"strconv"
	"time"
)

// SentHead is what the current response's head said, kept after it went
// out for the $sent_http_* variables (nginx reads them from
// r->headers_out, which its header filter updates to the text it wrote:
// the Content-Type with its charset, the Location made absolute). Its
// memory is the Conn's, reused by the next response.
type SentHead struct {
	Written          bool
	Status           int
	ContentType      []byte
	ContentLength    int64 // -1: none
	LastModified     []byte
	Location         []byte
	Chunked          bool
	KeepAlive        bool
	KeepAliveTimeout int
	// Headers are the other header lines (nginx's headers_out.headers
	// list): not Server, Date nor the fields above. While the header
	// filter runs they are the response's own list (see provisional).
	Headers []Header
	own     []Header // record's copies, which Headers is after the write
	buf     []byte
	// Unread: nothing of the configuration reads $sent_http_* (no name
	// of it is one, no ssi looks names up), so the written head's
	// values are not copied for them (record); its other facts (status,
	// length, keep-alive) are kept. The Conn's owner sets it; reset
	// keeps it.
	Unread bool
}

// provisional shows the response about to be written to the header
// filter (add_header values naming $sent_http_*), as nginx's headers_out
// holds it then: the type without its charset, a relative Location.
func (h *SentHead) provisional(resp *Response, keepAlive bool, keepAliveTimeout int) {
	h.Written, h.Status = true, resp.Status
	h.ContentType, h.ContentLength, h.Location = resp.ContentType, resp.ContentLength, resp.Location
	h.LastModified = h.LastModified[:0]
	if resp.LastModified != -1 {
		h.buf = AppendHTTPTime(h.buf[:0], resp.LastModified)
		h.LastModified = h.buf
	}
	h.Chunked, h.KeepAlive, h.KeepAliveTimeout = false, keepAlive, keepAliveTimeout
	h.Headers = resp.Headers
}

// Show is provisional for a head that is not written: the head nginx's
// headers filter saw on a response a filter below it then refused (a
// static file's 200 the range filter made a 416).
func (h *SentHead) Show(resp *Response) { h.provisional(resp, h.KeepAlive, h.KeepAliveTimeout) }

func (h *SentHead) reset() {
	h.Written, h.Status, h.ContentLength = false, 0, -1
	h.ContentType, h.LastModified, h.Location = nil, nil, nil
	h.Chunked, h.KeepAlive, h.KeepAliveTimeout = false, false, 0
	h.Headers, h.own = nil, h.own[:0]
	h.buf = h.buf[:0]
}

// record copies the parts of the head just written that the variables
// read: head is the head, ct and loc the spans in it of the Content-Type
// and Location values as WriteHeader wrote them (empty: none). buf is
// grown for all of it first, so no slice is left on an old array.
func (h *SentHead) record(c *Conn, resp *Response, head []byte, ct, loc [2]int, st *respState, contentLength int64, lastModified int64) {
	h.reset()
	h.Written, h.Status = true, resp.Status
	h.ContentLength = contentLength
	h.Chunked, h.KeepAlive = st.chunked, st.keepAlive
	if st.keepAlive {
		h.KeepAliveTimeout = c.keepAliveTimeout(resp)
	}
	if h.Unread {
		return
	}
	// buf grows once, before anything slices it; then one pass copies
	// and slices.
	size := ct[1] - ct[0] + loc[1] - loc[0] + len("Mon, 02 Jan 2006 15:04:05 GMT")
	for _, hs := range [2][]Header{resp.Headers, resp.RangeHeaders} {
		for i := range hs {
			size += len(hs[i].Name) + len(hs[i].Value)
		}
	}
	if cap(h.buf)-len(h.buf) < size {
		h.buf = append(make([]byte, 0, len(h.buf)+size+size/2), h.buf...)
	}
	ct = h.copySpan(head, ct)
	loc = h.copySpan(head, loc)
	lmStart := len(h.buf)
	if lastModified != -1 {
		h.buf = AppendHTTPTime(h.buf, lastModified)
	}
	lmEnd := len(h.buf)
	h.ContentType, h.Location, h.LastModified = h.buf[ct[0]:ct[1]], h.buf[loc[0]:loc[1]], h.buf[lmStart:lmEnd]
	for _, hs := range [2][]Header{resp.Headers, resp.RangeHeaders} {
		for i := range hs {
			n0 := len(h.buf)
			h.buf = append(h.buf, hs[i].Name...)
			v0 := len(h.buf)
			h.buf = append(h.buf, hs[i].Value...)
			v1 := len(h.buf)
			h.own = append(h.own, Header{Name: h.buf[n0:v0:v0], Value: h.buf[v0:v1:v1]})
		}
	}
	h.Headers = h.own
}

// copySpan copies head[sp[0]:sp[1]] into buf and returns its offsets
// there.
func (h *SentHead) copySpan(head []byte, sp [2]int) [2]int {
	start := len(h.buf)
	h.buf = append(h.buf, head[sp[0]:sp[1]]...)
	return [2]int{start, len(h.buf)}
}

// Sent returns the current response's head as written, for $sent_http_*.
func (c *Conn) Sent() *SentHead { return &c.sentHead }

// AppendContentLength appends the sent Content-Length, if any.
func (h *SentHead) AppendContentLength(dst []byte) []byte {
	if h.ContentLength < 0 {
		return dst
	}
	return strconv.AppendInt(dst, h.ContentLength, 10)
}

// Rate limiting (limit_rate, limit_rate_after), as ngx_http_write_filter:
// within each second since the request started, at most LimitRate bytes
// per second past the first LimitRateAfter bytes of the response (nginx's c->sent,
// reset for each request).

// SetLimitRate sets the request's rate ("set $limit_rate" or the
// location's limit_rate); a rate set by "set" is not replaced by the
// location's value.
func (c *Conn) SetLimitRate(rate int64, fromSet bool) {
	if c.limit.set && !fromSet {
		return
	}
	c.limit.rate, c.limit.set = rate, true
}

// SetLimitRateAfter sets limit_rate_after for the request.
func (c *Conn) SetLimitRateAfter(after int64) { c.limit.after = after }

// LimitRate is the request's $limit_rate: 0 until set.
func (c *Conn) LimitRate() int64 { return c.limit.rate }

// LimitRateSet reports whether the rate was decided for this request.
func (c *Conn) LimitRateSet() bool { return c.limit.set }

// errClientHungUp ends a rate-limited response whose client went away
// while it waited.
var errClientHungUp = errors.New("client closed connection while waiting to send")

type rateLimit struct {
	rate, after int64
	set         bool
	decided     bool  // DecideRate ran for this response
	start       int64 // the request's start, Unix seconds (r->start_sec)
}

// rateWait is how long to wait before sending more, and how much may then
// go out (-1: no limit).
func (c *Conn) rateWait(now time.Time) (time.Duration, int64) {
	l := &c.limit
	if l.rate <= 0 {
		return 0, -1
	}
	limit := l.rate*(now.Unix()-l.start+1) - (c.out.sent - l.after)
	if limit <= 0 {
		return time.Duration(-limit*1000/l.rate+1) * time.Millisecond, 0
	}
	return 0, limit
}

// rateDelay is the pause after sending from sent to nsent bytes.
func (c *Conn) rateDelay(sent, nsent int64) time.Duration {
	l := &c.limit
	if l.after > 0 {
		sent, nsent = max(sent-l.after, 0), max(nsent-l.after, 0)
	}
	return time.Duration((nsent-sent)*1000/l.rate) * time.Millisecond
}
