package upstream

import (
	"strings"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/rewrite/http1"
)

// This file holds the X-Accel-* headers a backend sends to steer nginx
// (ngx_http_upstream_headers_in's handlers), and proxy_ignore_headers.
// The proxy hides them all by default (defaultHide).

// ignoreMask is proxy_ignore_headers, as nginx's NGX_HTTP_UPSTREAM_IGN_*.
type ignoreMask uint16

const (
	ignXARedirect ignoreMask = 1 << iota
	ignXAExpires
	ignXALimitRate
	ignXABuffering
	ignXACharset
	ignExpires
	ignCacheControl
	ignSetCookie
	ignVary
)

var ignoreNames = []struct {
	name string
	bit  ignoreMask
}{
	{"x-accel-redirect", ignXARedirect}, {"x-accel-expires", ignXAExpires},
	{"x-accel-limit-rate", ignXALimitRate}, {"x-accel-buffering", ignXABuffering},
	{"x-accel-charset", ignXACharset}, {"expires", ignExpires}, {"cache-control", ignCacheControl},
	{"set-cookie", ignSetCookie}, {"vary", ignVary},
}

// compileIgnoreHeaders reads proxy_ignore_headers: the innermost level
// that has any, its directives' values together (nginx's bitmask slot and
// merge). -t has checked the names. Expires, Cache-Control, Set-Cookie,
// Vary and X-Accel-Expires steer the cache (cacheHeaders). X-Accel-Buffering switches
// proxy_buffering per response (accelHeaders).
func (p *Proxy) compileIgnoreHeaders(blocks [][]*nginxconf.Directive) {
	for _, d := range innermost(blocks, p.name("_ignore_headers")) {
		for _, a := range d.Args {
			for _, n := range ignoreNames {
				if strings.EqualFold(a, n.name) {
					p.ignore |= n.bit
				}
			}
		}
	}
}

// accelHeaders applies what nginx's header handlers do while the head is
// parsed, before proxy_next_upstream and proxy_intercept_errors decide:
// X-Accel-Limit-Rate sets the client's rate (over limit_rate and "set
// $limit_rate"), X-Accel-Charset the charset the charset filter gives the
// response. The last valid one of each counts, as each line's handler
// runs in turn.
func (p *Proxy) accelHeaders(c http1.Stream, s *rewrite.State, x *exchange) {
	x.buffering = p.buffering
	// The State's copy of the head outlives the response buffer.
	for _, h := range s.UpstreamHeaders() {
		if len(h.Name) < len("x-accel-charset") || len(h.Name) > len("x-accel-limit-rate") {
			continue // none of the three: most headers go by at their length
		}
		switch {
		case p.ignore&ignXABuffering == 0 && http1.EqualFold(h.Name, "x-accel-buffering"):
			// ngx_http_upstream_process_buffering: "yes" or "no".
			switch {
			case http1.EqualFold(h.Value, "yes"):
				x.buffering = true
			case http1.EqualFold(h.Value, "no"):
				x.buffering = false
			}
		case p.ignore&ignXALimitRate == 0 && http1.EqualFold(h.Name, "x-accel-limit-rate"):
			if n, ok := atoi(h.Value); ok && c != nil {
				c.SetLimitRate(n, true)
			}
		case p.ignore&ignXACharset == 0 && http1.EqualFold(h.Name, "x-accel-charset"):
			s.AccelCharset = h.Value
		}
	}
}

// accelRedirect reports whether the backend's head asks for an internal
// redirect that proxy_ignore_headers does not turn off.
func (p *Proxy) accelRedirect(hs []http1.Header) bool {
	if p.ignore&ignXARedirect != 0 {
		return false
	}
	// By index, the length first: a response's every header line is
	// looked at (a copy of each and a call per line cost ~45 instructions).
	for i := range hs {
		if n := hs[i].Name; len(n) == len("x-accel-redirect") && http1.EqualFold(n, "x-accel-redirect") {
			return true
		}
	}
	return false
}

// atoi is ngx_atoi: one or more decimal digits and nothing else, without
// overflow.
func atoi(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		if n > (1<<63-1-int64(c-'0'))/10 {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}
