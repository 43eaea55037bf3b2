package location

import (
	"bytes"

	"github.com/gonginx/gonginx/rewrite/http1"
)

// This file follows a backend's X-Accel-Redirect as
// ngx_http_upstream_process_headers does: the backend's headers carried
// over to the response, the URI checked (or a named location), the
// method made GET. It also holds the charset a backend's X-Accel-Charset
// overrides. The proxy (upstream) has dropped the backend's body and
// honoured proxy_ignore_headers already.

// accelKept is what of the backends' heads X-Accel-Redirects carried
// over to whatever answers the new URI: the headers nginx's
// ngx_http_upstream_headers_in marks "redirect" (Content-Type, Set-Cookie,
// Content-Disposition, Cache-Control, Expires, Accept-Ranges), whatever
// proxy_hide_header says. Another redirect adds to them, as nginx's
// r->headers_out keeps growing.
type accelKept struct {
	on    bool
	buf   []byte
	hdrs  []http1.Header // in the backends' order, before any other header
	ctype []byte         // the last Content-Type; nil once a special response cleared it
	// ranges is the last Accept-Ranges in hdrs (-1: none), which a
	// special response removes (ngx_http_clear_accept_ranges).
	ranges     int
	dropRanges bool
	merged     []http1.Header
	uri        []byte // the X-Accel-Redirect value
	unescaped  []byte
}

// reset forgets the carried headers at the start of a request.
func (k *accelKept) reset() {
	k.on, k.ctype, k.ranges, k.dropRanges = false, nil, -1, false
	k.buf, k.hdrs = k.buf[:0], k.hdrs[:0]
}

// keep adds the carried headers of a backend's head.
func (k *accelKept) keep(hs []http1.Header) {
	if !k.on {
		k.reset()
		k.on = true
	}
	// Copied: the next backend's head replaces the State's copy. Bytes
	// first, slices after, so growing buf leaves none on an old array.
	start := len(k.buf)
	for _, h := range hs {
		if carried(h.Name) || http1.EqualFold(h.Name, "content-type") {
			k.buf = append(append(k.buf, h.Name...), h.Value...)
		}
	}
	off := start
	for _, h := range hs {
		isType := http1.EqualFold(h.Name, "content-type")
		if !isType && !carried(h.Name) {
			continue
		}
		n, v := off+len(h.Name), off+len(h.Name)+len(h.Value)
		name, value := k.buf[off:n:n], k.buf[n:v:v]
		off = v
		switch {
		case isType:
			k.ctype = value
		case http1.EqualFold(name, "accept-ranges"):
			k.ranges = len(k.hdrs)
			fallthrough
		default:
			k.hdrs = append(k.hdrs, http1.Header{Name: name, Value: value})
		}
	}
}

// carried names the headers ngx_http_upstream_headers_in copies on an
// X-Accel-Redirect, Content-Type aside (it is the response's type).
func carried(name []byte) bool {
	for _, s := range [...]string{"set-cookie", "content-disposition", "cache-control", "expires", "accept-ranges"} {
		if http1.EqualFold(name, s) {
			return true
		}
	}
	return false
}

// applyKept puts the carried headers before the response's own, as they
// were in r->headers_out before the new handler added any. A proxied
// response without a type of its own keeps the carried one.
func (x *exchange) applyKept(resp *http1.Response) {
	k := &x.kept
	m := k.merged[:0]
	for i, h := range k.hdrs {
		if i == k.ranges && k.dropRanges {
			continue
		}
		m = append(m, h)
	}
	m = append(m, resp.Headers...)
	k.merged = m
	resp.Headers = m
	if x.proxied && len(resp.ContentType) == 0 && k.ctype != nil {
		resp.ContentType = k.ctype
	}
}

// accelRedirect follows the X-Accel-Redirect the proxy reported: to a
// named location ("@name"), or to a URI with its own arguments (none
// without a '?') when ngx_http_parse_unsafe_uri finds it safe, else 404.
// It counts as an internal redirect (the 10-cycle limit).
func (x *exchange) accelRedirect() int {
	x.st.AccelRedirect = false
	x.inAccel = true
	defer func() { x.inAccel = false }()
	x.kept.keep(x.st.UpstreamHeaders())
	k := &x.kept
	k.uri = append(k.uri[:0], x.st.UpstreamHeader("x_accel_redirect")...)
	if len(k.uri) > 0 && k.uri[0] == '@' {
		return x.namedRedirect(k.uri)
	}
	uri, args, hasArgs, ok, buf := http1.ParseUnsafeURI(k.uri, k.unescaped)
	k.unescaped = buf
	if !ok {
		x.log.Errorf(x, "unsafe URI \"%s\" was detected%s", uri, x.accelAction())
		return 404
	}
	x.toGET()
	x.uriBuf = append(x.uriBuf[:0], uri...)
	return x.redirectTo(x.uriBuf, args, hasArgs, true)
}

// accelAction is the end of an error line logged while an
// X-Accel-Redirect is followed, or while the charset filter runs over a
// proxied head: nginx is still in its upstream module.
func (x *exchange) accelAction() string {
	if x.inAccel || x.proxied {
		return actionUpstreamHeader
	}
	return ""
}

const actionUpstreamHeader = " while reading response header from upstream"

// toGET makes the method GET unless it is HEAD, as nginx does for an
// error_page or X-Accel-Redirect.
func (x *exchange) toGET() {
	if x.req.MethodCode != http1.MethodHEAD {
		x.req.MethodCode = http1.MethodGET
		x.req.AsGET = true
	}
}

// charsetParam finds a "charset=" parameter as
// ngx_http_upstream_copy_content_type does: the type before its ';' and
// the value without quotes.
func charsetParam(ct []byte) (base, charset []byte, ok bool) {
	for i := 0; i < len(ct); i++ {
		k := bytes.IndexByte(ct[i:], ';')
		if k < 0 {
			break
		}
		i += k
		j := i + 1
		for j < len(ct) && ct[j] == ' ' {
			j++
		}
		if len(ct)-j >= 8 && http1.EqualFold(ct[j:j+8], "charset=") {
			v := ct[j+8:]
			if len(v) > 0 && v[0] == '"' {
				v = v[1:]
			}
			if len(v) > 0 && v[len(v)-1] == '"' {
				v = v[:len(v)-1]
			}
			return ct[:i], v, true
		}
		i = j - 1
	}
	return ct, nil, false
}
