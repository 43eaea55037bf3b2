package http1

import (
	"strconv"
	"sync/atomic"
	"time"
)

// ServerToken is what "Server:" says with server_tokens on; with it off
// the header says ServerName.
const (
	ServerToken = "gonginx/0.1.0"
	ServerName  = "gonginx"
)

// Response is a response head for WriteHeader. The fields nginx writes
// itself (status line, Server, Date, Content-Type, Content-Length,
// Last-Modified, Location, Transfer-Encoding, Connection, Keep-Alive) are
// written in nginx's order, then Headers in their order.
type Response struct {
	Status int
	// StatusLine replaces the status table's text, e.g. "301 Moved" as a
	// backend sent it (nginx keeps the upstream's status line).
	StatusLine []byte

	ContentType []byte
	// Charset is appended as "; charset=X", as nginx's header writer
	// appends headers_out.charset (location's charset filter decides; it
	// leaves it empty for a type that still names its own charset).
	Charset       []byte
	ContentLength int64 // -1: unknown (chunked for HTTP/1.1, close for 1.0)
	LastModified  int64 // Unix seconds; -1: none. Dropped unless 200, 206 or 304.

	// Location: a value starting with '/' is made absolute
	// ("http://host:port/...") as nginx does, unless RelativeLocation.
	Location         []byte
	RelativeLocation bool   // absolute_redirect off
	RedirectHost     []byte // server_name_in_redirect on: the server name
	NoPortInRedirect bool   // port_in_redirect off

	Headers []Header
	// RangeHeaders (Accept-Ranges, Content-Range) come after Headers and
	// after what a HeaderFilter adds: nginx's range filter runs below its
	// headers filter and pushes them last.
	RangeHeaders []Header
	// ExpectTrailers: add_trailer has trailers for this response, so it
	// goes out chunked even with a known length, as
	// ngx_http_chunked_header_filter does; Finish asks the Conn's Filter
	// (a TrailerFilter) for them.
	ExpectTrailers bool

	ServerTokensOff bool
	NoServer        bool // the Server header is in Headers already (proxy_pass_header Server)
	NoDate          bool // likewise for Date
	// Close forces "Connection: close" (errors, keepalive_requests,
	// lingering shutdown).
	Close bool
	// KeepAliveTimeout > 0 adds "Keep-Alive: timeout=N"
	// (keepalive_timeout's second parameter).
	KeepAliveTimeout int
	NoChunked        bool // chunked_transfer_encoding off

	// VaryAcceptEncoding writes "Vary: Accept-Encoding" after the
	// Connection lines, where nginx's header filter puts it for gzip_vary.
	VaryAcceptEncoding bool
	// Drop, set by a HeaderFilter that failed (nginx's NGX_ERROR from a
	// header filter), sends nothing and closes the connection.
	Drop bool
	// AllowRanges lets the range filter (a HeaderFilter's) answer a
	// Range request from this body, as nginx's r->allow_ranges: set by
	// the proxy for cached responses and proxy_force_ranges. RangesSingle
	// is r->single_range: one range only.
	AllowRanges uint8
	// NotModifiable lets the not-modified filter answer 304 for this
	// response (nginx's !r->disable_not_modified: a proxied response
	// that may be cached, or a cached one).
	NotModifiable bool
	// Refuse, set by a HeaderFilter, writes nothing: WriteHeader returns
	// ErrRefused and the handler answers with this status instead (the
	// not-modified filter's 412 for a proxied response).
	Refuse int
	// Body, set by a HeaderFilter, transforms this response's body: every
	// Write goes to it, and it passes its output on with WriteOut.
	Body BodyFilter
	// Hold, set by a HeaderFilter with a Body, keeps the head back: the
	// body goes to Body (a HEAD's too) and nothing is written until
	// WriteHeld, or DropHeld lets the handler's caller answer anew (the
	// image filter, which sends its head after it has read the body).
	Hold bool
}

// AllowRanges values.
const (
	RangesSingle = 1
	RangesAny    = 2
)

// A HeaderFilter edits a response head before it is written: the header
// filters nginx runs between a content handler and the header writer
// (add_header, expires). Every content handler's head goes through it, the
// proxied ones too. It may replace resp.Headers with a slice it owns.
type HeaderFilter interface {
	FilterHeader(resp *Response)
}

// A BodyFilter is a response's chain of body filters (nginx's gzip,
// sub_filter, addition, charset recoding), between the content handler's
// Write calls and the wire. It passes what it produces on with
// Conn.WriteOut and Conn.FlushOut. flush asks for everything held back so
// far (an unbuffered backend's data); last ends the body, once, before
// the wire's own end (Finish).
type BodyFilter interface {
	FilterBody(p []byte, flush, last bool) error
}

// A TrailerFilter appends the trailer lines ("Name: value\r\n") of a
// chunked response that asked for them (Response.ExpectTrailers) when the
// body ends.
type TrailerFilter interface {
	AppendTrailers(dst []byte) []byte
}

// respState is the per-response write state.
type respState struct {
	wroteHeader bool
	headerSize  int64 // bytes of the response head ($bytes_sent - $body_bytes_sent)
	sent        int64 // bytes written to the connection for this response
	chunked     bool
	trailers    bool // the last chunk carries the Filter's trailers
	// unsentTrailers: add_trailer applies but the framing has no room for
	// trailers (HTTP/1.0, a kept length): they are still evaluated at the
	// end, as nginx's trailers filter fills headers_out.trailers (and
	// $sent_trailer_*) whatever the chunked filter then sends.
	unsentTrailers bool
	// terminated: the response was dropped (Discard) or the client went
	// away, as nginx terminates a request; a body cut by its backend
	// (Abort alone) still ends the request normally.
	terminated  bool
	headerOnly  bool
	keepAlive   bool
	http09      bool
	aborted     bool // cut short (Abort) or a write failed
	ended       bool // a framed stream's end was sent
	handlerBody bool // Write was given body bytes (nginx's r->request_output)
	// endWithLength: a framed stream's write that completes end carries
	// the stream's end (EndWithLength).
	endWithLength bool
	body          BodyFilter // Response.Body of a response with a body
	held          bool       // the head is held (Response.Hold)
	// end is what sent reaches with the response's last byte (head and
	// Content-Length body, or the head alone), 0 when the client learns
	// the end otherwise (chunked, closed, a 101's tunnel).
	end int64
	// finishing: Finish flushes, the last write; told: Finisher was told.
	finishing, told bool
}

// statusLines is nginx 1.22's table (checked against a running nginx for
// every code from 200 to 599), indexed by code so the hot path's lookup is
// an array index. Codes not in it are written as "NNN ".
var statusLines = [600]string{
	200: "200 OK", 201: "201 Created", 202: "202 Accepted", 204: "204 No Content",
	206: "206 Partial Content",
	301: "301 Moved Permanently", 302: "302 Moved Temporarily", 303: "303 See Other",
	304: "304 Not Modified", 307: "307 Temporary Redirect", 308: "308 Permanent Redirect",
	400: "400 Bad Request", 401: "401 Unauthorized", 402: "402 Payment Required",
	403: "403 Forbidden", 404: "404 Not Found", 405: "405 Not Allowed",
	406: "406 Not Acceptable", 408: "408 Request Time-out", 409: "409 Conflict",
	410: "410 Gone", 411: "411 Length Required", 412: "412 Precondition Failed",
	413: "413 Request Entity Too Large", 414: "414 Request-URI Too Large",
	415: "415 Unsupported Media Type", 416: "416 Requested Range Not Satisfiable",
	421: "421 Misdirected Request", 429: "429 Too Many Requests",
	// nginx's internal 494-497 go out as 400.
	494: "400 Bad Request", 495: "400 Bad Request", 496: "400 Bad Request", 497: "400 Bad Request",
	500: "500 Internal Server Error", 501: "501 Not Implemented", 502: "502 Bad Gateway",
	503: "503 Service Temporarily Unavailable", 504: "504 Gateway Time-out",
	505: "505 HTTP Version Not Supported", 507: "507 Insufficient Storage",
}

// StatusText returns the status line text nginx writes for code, e.g.
// "404 Not Found", or "" when nginx writes only the number.
func StatusText(code int) string {
	if code >= 0 && code < len(statusLines) {
		return statusLines[code]
	}
	return ""
}

// serverDateLead ends the status line and writes Server (none, or as
// server_tokens says) and, with a Date, its name: one append where
// three were. Indexed by serverLead's kind and the Date's presence.
var serverDateLead = [3][2]string{
	{"\r\n", "\r\nDate: "},
	{"\r\nServer: " + ServerName + "\r\n", "\r\nServer: " + ServerName + "\r\nDate: "},
	{"\r\nServer: " + ServerToken + "\r\n", "\r\nServer: " + ServerToken + "\r\nDate: "},
}

// appendLengthLine appends "Content-Length: n\r\n" (n >= 0) in one
// append: with strconv.AppendInt and the two strings around it the line
// cost ~230 instructions. Out of line: WriteHeader's hot lines stay few.
//
//go:noinline
func appendLengthLine(b []byte, n int64) []byte {
	const name = "Content-Length: "
	var line [len(name) + 19 + 2]byte // an int64's 19 digits at most
	i := len(line) - 2
	line[i], line[i+1] = '\r', '\n'
	for u := uint64(n); ; { // unsigned: a signed n%10 costs its sign's fix-ups
		q := u / 10
		i--
		line[i] = byte('0' + u - q*10)
		if u = q; u == 0 {
			break
		}
	}
	i -= len(name)
	copy(line[i:], name)
	return append(b, line[i:]...)
}

// WriteHeader buffers the response head for the current request, applying
// nginx's header filter. HEAD requests, 204 and 304 get no body; an
// unknown length means chunked for HTTP/1.1 clients and connection close
// for HTTP/1.0. HTTP/0.9 requests get no head at all.
func (c *Conn) WriteHeader(resp *Response) error {
	if c.hijacked {
		return ErrHijacked
	}
	defer func() { c.eventTime = time.Time{} }()
	r := &c.req
	st := &c.out
	st.wroteHeader = true
	st.keepAlive = r.KeepAlive && !resp.Close
	if c.Exiting != nil && c.Exiting.Load() {
		st.keepAlive = false
	}
	if r.HTTP09() {
		st.keepAlive = false
	}
	if c.Filter != nil && !st.held {
		c.sentHead.provisional(resp, st.keepAlive, c.keepAliveTimeout(resp))
		c.Filter.FilterHeader(resp)
	}
	if resp.Drop {
		st.headerOnly = true
		c.Abort()
		return nil
	}
	if resp.Refuse != 0 {
		st.wroteHeader = false
		return ErrRefused
	}
	if st.held {
		st.held = false // WriteHeld: the filters ran when it was held
	} else if resp.Hold && resp.Body != nil {
		st.held, st.body = true, resp.Body
		return nil
	}
	if r.HTTP09() {
		// No head, but the body still goes through the body filters, and
		// $sent_http_* read the head as they left it (gunzip's).
		st.http09, st.body = true, resp.Body
		if c.Filter != nil {
			c.sentHead.provisional(resp, st.keepAlive, c.keepAliveTimeout(resp))
		}
		return nil
	}
	if c.wb == nil {
		c.wb = c.writeBuf()
	}
	status := resp.Status
	contentType, contentLength, lastModified := resp.ContentType, resp.ContentLength, resp.LastModified
	if r.MethodCode == MethodHEAD {
		st.headerOnly = true
	}
	if lastModified != -1 && status != 200 && status != 206 && status != 304 {
		lastModified = -1
	}
	switch status {
	case 204:
		st.headerOnly = true
		// A backend's own status line is passed on with its headers:
		// nginx's header filter clears them only for a status it words.
		if len(resp.StatusLine) == 0 {
			contentType, contentLength, lastModified = nil, -1, -1
		}
	case 304:
		st.headerOnly = true
	case 101:
		st.headerOnly = true
	}
	// ngx_http_chunked_header_filter: chunked only with an unknown length
	// and a body to send, and never below 200 (a backend's "000" or 1xx is
	// passed on as is, the connection framing left alone).
	if resp.ExpectTrailers && status >= 200 && !st.headerOnly && r.ProtoMajor == 1 && r.ProtoMinor >= 1 && !resp.NoChunked {
		contentLength = -1
		st.trailers = true
	}
	if c.wire != nil && resp.ExpectTrailers && status >= 200 && !st.headerOnly {
		st.trailers = true // HTTP/2 sends them as a HEADERS frame, length kept
	}
	st.unsentTrailers = resp.ExpectTrailers && !st.trailers && !st.headerOnly
	if contentLength < 0 && status >= 200 && !st.headerOnly && status != 204 && status != 304 {
		if r.ProtoMajor == 1 && r.ProtoMinor >= 1 && !resp.NoChunked {
			st.chunked = true
		} else {
			st.keepAlive = false
		}
	}

	if !st.headerOnly {
		st.body = resp.Body
	}
	if c.sink != nil {
		// A subrequest's head goes nowhere: its body joins the parent's.
		st.chunked, c.subStatus = false, status
		return nil
	}

	b := *c.wb
	headStart := len(b)
	b = AppendString(b, "HTTP/1.1 ")
	switch {
	case len(resp.StatusLine) > 0:
		b = AppendBytes(b, resp.StatusLine)
	case StatusText(status) != "":
		b = AppendString(b, StatusText(status))
	default:
		if status < 100 {
			b = append(b, '0')
			if status < 10 {
				b = append(b, '0')
			}
		}
		b = strconv.AppendInt(b, int64(status), 10)
		b = append(b, ' ')
	}
	server, date := 2, 1
	switch {
	case resp.NoServer:
		server = 0
	case resp.ServerTokensOff:
		server = 1
	}
	if resp.NoDate {
		date = 0
	}
	b = AppendString(b, serverDateLead[server][date])
	if !resp.NoDate {
		now := c.eventTime
		if now.IsZero() {
			now = time.Now()
		}
		b = appendDateLineAt(b, now)
	}
	// The spans of the Content-Type and Location values as written, for
	// the head's record ($sent_http_*), relative to headStart.
	var ct, loc [2]int
	if len(contentType) > 0 {
		b = AppendString(b, "Content-Type: ")
		ct[0] = len(b) - headStart
		b = AppendBytes(b, contentType)
		if len(resp.Charset) > 0 {
			b = AppendString(b, "; charset=")
			b = AppendBytes(b, resp.Charset)
		}
		ct[1] = len(b) - headStart
		b = AppendString(b, "\r\n")
	}
	if contentLength >= 0 {
		// (The lines below keep their offsets in the function: default.pgo.)
		b = appendLengthLine(b, contentLength)
	}
	if lastModified != -1 {
		b = AppendString(b, "Last-Modified: ")
		b = AppendHTTPTime(b, lastModified)
		b = AppendString(b, "\r\n")
	}
	if len(resp.Location) > 0 {
		b = AppendString(b, "Location: ")
		loc[0] = len(b) - headStart
		if resp.Location[0] == '/' && !resp.RelativeLocation {
			b = c.appendRedirectBase(b, resp)
		}
		b = AppendBytes(b, resp.Location)
		loc[1] = len(b) - headStart
		b = AppendString(b, "\r\n")
	}
	if st.chunked {
		b = AppendString(b, "Transfer-Encoding: chunked\r\n")
	}
	switch {
	case c.wire != nil:
		// A framed stream has no connection framing to say.
	case status == 101:
		b = AppendString(b, "Connection: upgrade\r\n")
	case st.keepAlive:
		b = AppendString(b, "Connection: keep-alive\r\n")
		if t := c.keepAliveTimeout(resp); t > 0 {
			b = AppendString(b, "Keep-Alive: timeout=")
			b = strconv.AppendInt(b, int64(t), 10)
			b = AppendString(b, "\r\n")
		}
	default:
		b = AppendString(b, "Connection: close\r\n")
	}
	if resp.VaryAcceptEncoding {
		b = AppendString(b, "Vary: Accept-Encoding\r\n")
	}
	own, b := len(b), appendHeaders(b, resp.Headers)
	b = appendHeaders(b, resp.RangeHeaders)
	b = AppendString(b, "\r\n")
	st.headerSize = int64(len(b) - headStart)
	switch {
	case status == 101:
		// Its end is the tunnel's (nginx logs it then).
	case st.headerOnly:
		st.end = st.headerSize
	case !st.chunked && contentLength >= 0:
		st.end = st.headerSize + contentLength
	}
	*c.wb = b
	c.sentHead.record(c, resp, b[headStart:], ct, loc, st, contentLength, lastModified)
	if c.wire != nil {
		return c.writeFramedHead(status, b, headStart, own, contentLength)
	}
	return nil
}

// AppendString is append(b, s...) out of line, for the hot paths that
// write a head: WriteHeader's ~15 appends inlined each carried its own
// growth path (a growslice call and its moves, never run for a head that
// fits the write buffer) into its hot cache lines; a call each is a few
// bytes (the proxy's request writer uses it too).
//
//go:noinline
func AppendString(b []byte, s string) []byte { return append(b, s...) }

// AppendBytes is AppendString for a []byte.
//
//go:noinline
func AppendBytes(b, s []byte) []byte { return append(b, s...) }

func appendHeaders(b []byte, hs []Header) []byte {
	for _, h := range hs {
		b = append(b, h.Name...)
		b = append(b, ':', ' ')
		b = append(b, h.Value...)
		b = append(b, '\r', '\n')
	}
	return b
}

// appendRedirectBase writes "http[s]://host[:port]" for a relative
// Location, as ngx_http_header_filter: the server name with
// server_name_in_redirect, else the request's host, else the local
// address; the port unless it is the scheme's default.
func (c *Conn) appendRedirectBase(b []byte, resp *Response) []byte {
	info := c.Info
	tls := info != nil && info.TLS
	if tls {
		b = append(b, "https://"...)
	} else {
		b = append(b, "http://"...)
	}
	switch {
	case len(resp.RedirectHost) > 0:
		b = append(b, resp.RedirectHost...)
	case len(c.req.Host) > 0:
		b = append(b, c.req.Host...)
	case info != nil:
		b = append(b, info.ServerAddress()...)
	}
	if !resp.NoPortInRedirect && info != nil && info.ServerPort != 0 {
		def := uint16(80)
		if tls {
			def = 443
		}
		if info.ServerPort != def {
			b = append(b, ':')
			b = info.AppendServerPort(b)
		}
	}
	return b
}

// keepAliveTimeout is the "Keep-Alive: timeout=N" value: the response's,
// else the request's location's (KeepAliveHeader).
func (c *Conn) keepAliveTimeout(resp *Response) int {
	if resp.KeepAliveTimeout > 0 {
		return resp.KeepAliveTimeout
	}
	return c.KeepAliveHeader
}

// KeepAlive reports whether the connection may serve another request
// after the current response (decided by WriteHeader).
func (c *Conn) KeepAlive() bool { return c.out.keepAlive && !c.hijacked }

// Abort marks the current response as cut short (a backend that closed
// mid-body): Finish then flushes what was written without the last chunk
// and the connection is not kept, as nginx does when it finalizes a
// request with an error after the header was sent.
func (c *Conn) Abort() {
	c.out.body = nil // a cut body is not ended (no gzip trailer)
	c.out.aborted = true
	c.out.keepAlive = false
	c.out.chunked = false
}

// Discard drops the response bytes not yet written to the client and
// aborts the response, as nginx does when it terminates a request with
// output still in its buffers (an invalid chunked response from a
// backend).
func (c *Conn) Discard() {
	if c.wb != nil {
		*c.wb = (*c.wb)[:0]
	}
	c.Abort()
	c.out.terminated = true
}

// Aborted reports whether the current response was cut short: Abort was
// called or a write to the client failed (nginx does not count such a
// request as complete).
func (c *Conn) Aborted() bool { return c.out.aborted }

// Terminated reports whether the request ends as nginx's terminated ones
// do ($request_completion empty): its response dropped, or the client
// gone (a failed write).
func (c *Conn) Terminated() bool { return c.out.terminated || c.werr != nil }

// WriteErr is the write that failed on the connection, if one did (a
// send_timeout is os.ErrDeadlineExceeded): nothing more is written.
func (c *Conn) WriteErr() error { return c.werr }

// BodyWritten reports whether the content handler has written body bytes
// for the current request (before any body filter).
func (c *Conn) BodyWritten() bool { return c.out.handlerBody }

// HeaderWritten reports whether WriteHeader was called for the current
// request (so an error can no longer be answered with a status).
func (c *Conn) HeaderWritten() bool { return c.out.wroteHeader }

// Write writes body bytes through the response's body filters, if it has
// any, to WriteOut.
func (c *Conn) Write(p []byte) (int, error) {
	c.out.handlerBody = c.out.handlerBody || len(p) > 0
	if f := c.out.body; f != nil && len(p) > 0 && !c.hijacked {
		if c.werr != nil {
			return 0, c.werr
		}
		if err := f.FilterBody(p, false, false); err != nil {
			c.Discard()
			return 0, err
		}
		return len(p), nil
	}
	return c.WriteOut(p)
}

// WriteOut writes body bytes to the wire (nginx's chunked and write
// filters), framed as a chunk when the response is chunked; nothing is
// written for header-only responses.
func (c *Conn) WriteOut(p []byte) (int, error) {
	if c.hijacked {
		return 0, ErrHijacked
	}
	if c.werr != nil {
		return 0, c.werr
	}
	if c.out.headerOnly || len(p) == 0 {
		return len(p), nil
	}
	if c.wb == nil {
		c.wb = c.writeBuf()
	}
	b := *c.wb
	if c.out.chunked {
		b = strconv.AppendInt(b, int64(len(p)), 16)
		b = append(b, '\r', '\n')
	}
	if len(b)+len(p)+2 <= cap(b) {
		b = append(b, p...)
		if c.out.chunked {
			b = append(b, '\r', '\n')
		}
		*c.wb = b
		return len(p), nil
	}
	// Too big to buffer: flush what is pending, then write p directly.
	*c.wb = b
	if err := c.FlushOut(); err != nil {
		return 0, err
	}
	if err := c.writeRaw(p); err != nil {
		return 0, err
	}
	if c.out.chunked {
		*c.wb = append(*c.wb, '\r', '\n')
	}
	return len(p), nil
}

// Finish ends the response body: the body filters' end, then the last
// chunk, and flushes. A filter that fails (a backend's gzip body that
// does not inflate) ends the response as nginx finalizes a request with
// an error: what was not written yet never is, and no last chunk.
func (c *Conn) Finish() error {
	c.eventTime = time.Time{} // a head never written leaves the next its own
	if f := c.out.body; f != nil {
		c.out.body = nil
		if !c.hijacked && c.werr == nil {
			if err := f.FilterBody(nil, false, true); err != nil {
				c.Discard()
			}
		}
	}
	if c.out.held {
		// The body ended and its filter still holds the head: the
		// caller answers (DropHeld) and finishes again.
		return nil
	}
	if c.wire != nil {
		return c.finishFramed()
	}
	if c.out.chunked && !c.out.headerOnly {
		b := append(*c.wb, "0\r\n"...)
		if tf, ok := c.Filter.(TrailerFilter); ok && c.out.trailers {
			b = tf.AppendTrailers(b)
		}
		*c.wb = append(b, "\r\n"...)
		c.out.chunked = false
	} else if c.out.unsentTrailers {
		// The flag first: the interface's type check cost ~45
		// instructions a response, nearly all without trailers.
		if tf, ok := c.Filter.(TrailerFilter); ok {
			c.out.unsentTrailers = false
			if c.wb != nil {
				n := len(*c.wb)
				*c.wb = tf.AppendTrailers(*c.wb)[:n]
			} else {
				tf.AppendTrailers(nil) // rare: nothing left buffered
			}
		}
	}
	c.out.finishing = true
	return c.FlushOut()
}

// Flush passes on what the body filters hold and writes buffered output
// to the connection.
func (c *Conn) Flush() error {
	if f := c.out.body; f != nil && !c.hijacked && c.werr == nil {
		if err := f.FilterBody(nil, true, false); err != nil {
			c.Discard()
			return err
		}
	}
	return c.FlushOut()
}

// postponeOutput is nginx's postpone_output default: its write filter
// holds less than postpone_output until a flush point (the event pipe's
// buffers are: they are recycled) or the last buffer.
const postponeOutput = 1460

// HeadPostponed reports whether nothing of the response went out yet and
// what waits (the head) is under postpone_output: nginx's write filter
// keeps such a head until body bytes that must go out join it or the
// response ends. An HTTP/2 stream (its HEADERS go at once) and a
// subrequest say false.
func (c *Conn) HeadPostponed() bool {
	return c.wire == nil && c.sink == nil && !c.hijacked && c.werr == nil && c.out.sent == 0 &&
		c.wb != nil && len(*c.wb) > 0 && len(*c.wb) < int(c.postpone)+postponeOutput
}

// FlushOut writes buffered output to the connection.
func (c *Conn) FlushOut() error {
	if c.wb == nil || len(*c.wb) == 0 {
		if c.wire != nil && c.werr == nil && c.out.wroteHeader {
			if err := c.wire.FlushHead(); err != nil {
				c.out.aborted, c.werr = true, err
			}
		}
		return c.werr
	}
	err := c.writeRaw(*c.wb)
	*c.wb = (*c.wb)[:0]
	return err
}

func (c *Conn) writeRaw(p []byte) error {
	if c.werr != nil {
		return c.werr
	}
	if c.sink != nil {
		if err := c.sink(p); err != nil {
			c.out.aborted, c.werr = true, err
			return err
		}
		c.out.sent += int64(len(p))
		return nil
	}
	if c.Finisher != nil && !c.out.told &&
		(c.out.finishing || c.out.end > 0 && c.out.sent+int64(len(p)) >= c.out.end) {
		c.out.told = true
		if !c.Finisher.Finishing() {
			c.out.aborted, c.out.terminated, c.out.keepAlive = true, true, false
			c.werr = ErrStopped
			return c.werr
		}
	}
	if !c.limit.decided && c.DecideRate != nil {
		// Also when a rate was set: limit_rate_after still comes from
		// the configuration (nginx's limit_rate_after_set).
		c.DecideRate()
		c.limit.set, c.limit.decided = true, true
	}
	if c.out.endWithLength && c.limit.rate == 0 && c.out.sent+int64(len(p)) >= c.out.end {
		return c.endFramedWith(p)
	}
	for len(p) > 0 {
		chunk := p
		if c.limit.rate > 0 {
			wait, limit := c.rateWait(time.Now())
			if wait > 0 {
				if !c.rateSleep(wait) {
					c.out.aborted, c.out.terminated = true, true
					return errClientHungUp
				}
				continue
			}
			if int64(len(chunk)) > limit {
				chunk = chunk[:limit]
			}
		}
		var n int
		var err error
		blocked := true
		if s := c.sockIO(); s != nil {
			// send_timeout is armed only when the write waits, as nginx
			// adds its timer when a send would block: a response the
			// socket takes at once reads no clock for it.
			n, blocked, err = s.TryWrite(chunk)
		} else if s := c.tlsSock(); s != nil {
			// Through TLS the same: its record's writes try the socket
			// first and arm send_timeout only when it takes no more.
			s.armer = c
			n, err = c.nc.Write(chunk)
			s.armer, blocked = nil, false
		}
		if blocked && err == nil {
			c.writeDL.SetWrite(c.nc, time.Now(), c.WriteTimeout)
			var m int
			m, err = WriteVia(c.sockIO(), c.nc, chunk[n:])
			n += m
		}
		c.out.sent += int64(n)
		if err != nil {
			// send_timeout passed or the client went away: the stream is
			// cut mid-response, so nothing more may follow on it (nginx
			// closes the connection).
			c.out.aborted = true
			c.werr = err
			c.out.keepAlive = false
			return err
		}
		p = p[n:]
		if c.limit.rate > 0 {
			if d := c.rateDelay(c.out.sent-int64(n), c.out.sent); d > 0 && len(p) > 0 && !c.rateSleep(d) {
				c.out.aborted, c.out.terminated = true, true
				return errClientHungUp
			}
		}
	}
	return nil
}

// AddSent counts n bytes written to the client outside the Conn (an
// upgraded connection's tunnel) into BytesSent, as nginx's connection
// counter counts them.
func (c *Conn) AddSent(n int64) { c.out.sent += n }

// BytesSent reports what the current response has put on the wire so far:
// all bytes, and those of the head (nginx's $bytes_sent and the part of
// it $body_bytes_sent leaves out). A framed stream's bytes that went in
// no frame (an HTTP/2 window never opened for them) are not counted; its
// frames' own bytes (DATA frames' headers, trailers) are, as head.
func (c *Conn) BytesSent() (total, header int64) {
	total, header = c.out.sent, c.out.headerSize
	if c.wire != nil {
		if u, ok := c.wire.(interface{ SentCounts() (int64, int64) }); ok {
			unsent, framing := u.SentCounts()
			total += framing - unsent
			header += framing
		}
	}
	return total, header
}

// RequestLength is nginx's $request_length: the request head and the body
// bytes read so far.
func (c *Conn) RequestLength() int64 {
	if c.wire != nil {
		n := int64(c.reqLen) + c.body.read
		if d, ok := c.wire.(interface{ BodyDropped() int64 }); ok {
			n += d.BodyDropped()
		}
		return n
	}
	if c.headEnd == 0 {
		return int64(c.req.Parsed) // a rejected head
	}
	return int64(c.headEnd) + c.body.read
}

// Pipelined reports whether the current request was already buffered when
// the previous one ended (nginx's $pipe "p").
func (c *Conn) Pipelined() bool { return c.pipelined }

// tempNumber is nginx's ngx_temp_number: temporary files (a cache file
// being written) and multipart/byteranges boundaries draw from it.
var tempNumber atomic.Uint64

// NextTempNumber is ngx_next_temp_number(0): the next number, the first 1.
func NextTempNumber() uint64 { return tempNumber.Add(1) }

// Held reports whether the response's head is held (Response.Hold).
func (c *Conn) Held() bool { return c.out.held }

// WriteHeld writes the held head, as edited since, below the header
// filters (they ran when it was held); the body filters stay in place.
func (c *Conn) WriteHeld(resp *Response) error {
	if !c.out.held {
		return nil
	}
	body := c.out.body
	err := c.WriteHeader(resp)
	if c.out.headerOnly {
		// A HEAD's body went to the filters while held; from here on
		// nothing of it goes out (the held link may pass it on).
		c.out.body = nil
	} else {
		c.out.body = body
	}
	return err
}

// DropHeld forgets a held head and its body filters, as if no head had
// been written: the caller answers with another response.
func (c *Conn) DropHeld() {
	c.out.held, c.out.wroteHeader, c.out.body = false, false, nil
}

// CloseAfter closes the connection after this response, whatever its
// head said (nginx's request ending in an error after its response).
func (c *Conn) CloseAfter() { c.out.keepAlive = false }
