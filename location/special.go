package location

import (
	"strings"

	"github.com/gonginx/gonginx/rewrite/http1"
)

// Special responses (ngx_http_special_response.c): error_page and
// nginx's built-in pages.

// special answers a status as ngx_http_special_response_handler: an
// error_page if one is configured, else nginx's built-in page.
func (x *exchange) special(code int) {
	if code == 444 || code == 499 || code == 408 {
		// 499: the client hung up while the backend was awaited; 408: a
		// timeout, or "return 408" (ngx_http_finalize_request terminates
		// the request for both): nothing is sent. 444 counts as a
		// timeout for reset_timedout_connection, as in nginx.
		if code == 444 || x.timedOutBody {
			x.resetIfTimedOut(x.conf())
		}
		if x.c.PastHeaderBuffer() {
			// Body bytes nginx would not have read yet: its close()
			// with them in the socket sends a reset.
			x.resetOnClose()
		}
		x.c.NetConn().Close()
		x.status = code
		if x.terminated {
			x.status = 0 // no response: nginx's "000"
		}
		if code == 499 && x.c.HeaderWritten() && x.st.Status != 0 {
			// A hang-up while the body was relayed: the response keeps
			// its status once bytes of it went out
			// (ngx_http_terminate_request).
			if sent, _ := x.c.BytesSent(); sent > 0 {
				x.status = x.st.Status
			}
		}
		return
	}
	if x.c.HeaderWritten() {
		return
	}
	// ngx_http_special_response_handler: the new error replaces any
	// status an earlier error_page chose, and the type is cleared (one
	// an X-Accel-Redirect carried).
	x.errStatus = 0
	x.st.ErrStatus = x.errStatus // $status reads it first
	x.kept.ctype = nil
	switch code {
	case 400, 413, 414, 495, 496, 497, 500, 501:
		// Not kept alive, error_page or not (r->keepalive = 0).
		if x.req != nil {
			x.req.KeepAlive = false
		}
	}
	conf := x.srv.root.conf
	if x.loc != nil {
		conf = x.loc.conf
	}
	// ngx_http_special_response_handler: error pages are followed until a
	// location with error_page lines and recursive_error_pages off
	// handles an error (r->error_page), a page of its or not; the
	// location that handles a later error does not undo it, nor an
	// earlier recursive one decide for it.
	if len(conf.errorPages) > 0 && !x.inErrPage {
		if !conf.recursiveEP {
			x.inErrPage = true
		}
		if ep := conf.errorPages[code]; ep != nil && x.errorPage(code, ep, conf) {
			return
		}
	}
	x.expectDone = true
	if x.wantsRefresh(code, conf) && (len(x.redirLoc) > 0 || x.emptyLocation) {
		if !x.discardBuffered() {
			x.req.KeepAlive = false
		}
		x.sendRefresh(conf)
		return
	}
	x.defaultPage(code, conf)
}

// errorPage follows one error_page; it returns false when the page could
// not be used and the built-in one must be sent.
func (x *exchange) errorPage(code int, ep *errorPage, conf *locConf) bool {
	uri := ep.uri
	if ep.value != nil {
		x.tmp = ep.value.Eval(&x.st, x.tmp[:0])
		uri = x.tmp
	}
	status := code
	if ep.code > 0 {
		status = ep.code
	}
	if len(uri) > 0 && uri[0] == '/' || len(uri) > 0 && uri[0] == '@' {
		if ep.code >= 0 {
			x.errStatus = status
			x.st.ErrStatus = x.errStatus // $status reads it first
		}
		// A URI makes the method GET (HEAD stays); a named location
		// keeps it (ngx_http_send_error_page).
		if uri[0] == '/' {
			x.toGET()
		}
		// A Location already set (return 301 URL, a directory's
		// redirect) stays on whatever the page's URI answers, as the
		// internal redirect keeps r->headers_out; copied, as the
		// rewrite programs about to run reuse their buffers.
		if len(x.redirLoc) > 0 {
			x.keptLoc = append(x.keptLoc[:0], x.redirLoc...)
			x.redirLoc = x.keptLoc
		}
		var rc int
		if uri[0] == '@' {
			rc = x.namedRedirect(uri)
		} else {
			u := append(x.uriBuf[:0], uri...)
			rc = x.internalRedirect(u, ep.value != nil)
		}
		if rc != 0 {
			x.special(rc)
		}
		return true
	}
	// An absolute URL: a redirect (302 unless =301/302/303/307/308).
	if !isRedirect(ep.code) {
		status = 302
	}
	x.locBuf = append(x.locBuf[:0], uri...)
	x.redirLoc = x.locBuf
	x.errStatus = 0
	x.st.ErrStatus = x.errStatus // $status reads it first
	if conf.msieRefresh && browser(x.req.HeaderValue("User-Agent")).msie {
		x.sendRefresh(conf)
		return true
	}
	x.defaultPage(status, conf)
	return true
}

func (x *exchange) defaultPage(code int, conf *locConf) {
	// 494-497 have their own page but go out, and count in $status and
	// the log, as 400 (ngx_http_special_response_handler's err_status).
	body, sent := DefaultPage(code, conf.serverTokens)
	r := x.newResp(code, conf)
	r.Status = sent
	switch code {
	case 400, 413, 414, 495, 496, 497, 500, 501:
		r.Close = true
	}
	if code == 494 {
		r.Close = false
	}
	if code == 416 && x.rangeUnsat {
		x.rangeNotSatisfiable(r, x.conf())
		r.Headers = append(r.Headers, http1.Header{Name: hdrContentRange, Value: x.crange})
	}
	padding := false
	// ngx_http_special_response_handler discards the body; when it
	// cannot, the connection is not kept.
	if !x.discardBuffered() {
		r.Close = true
	}
	x.kept.dropRanges = true // ngx_http_clear_accept_ranges
	if body != nil {
		r.ContentType = textHTML
		r.ContentLength = int64(len(body))
		// msie_padding: MSIE and Chrome show their own page for a short
		// error page, so nginx pads it (ngx_http_send_special_response).
		if conf.msiePadding && code >= 400 && !x.req.HTTP09() {
			if b := browser(x.req.HeaderValue("User-Agent")); b.msie || b.chrome {
				padding = true
				r.ContentLength += int64(len(msiePadding))
			}
		}
	} else if code != 204 && code >= 200 {
		r.ContentLength = 0
	}
	x.writeHeader(r)
	// nginx's header filter stops before it marks a HEAD header-only
	// when the request is HTTP/0.9, so a rejected "HEAD /" gets the page.
	if body != nil && (x.req.MethodCode != http1.MethodHEAD || x.req.HTTP09()) {
		if x.write(body) && padding {
			x.write(msiePadding)
		}
	}
}

// msiePadding is nginx's ngx_http_msie_padding.
var msiePadding = []byte(strings.Repeat("<!-- a padding to disable MSIE and Chrome friendly error page -->\r\n", 6))

var textHTML = []byte("text/html")
