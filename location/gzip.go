package location

import (
	"errors"
	"strconv"
	"time"

	"github.com/gonginx/gonginx/location/filter"
	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/rewrite/http1"
)

// The gzip family's header parts: ngx_http_gzip_ok (core), the gzip and
// gunzip filters' header filters, gzip_vary's "Vary: Accept-Encoding",
// and $gzip_ratio. The stream transforms are filter.Gzip and
// filter.Gunzip; the gzip_static handler is in gzipstatic.go.

// gzipConf is a level's gzip settings, inherited as nginx merges them: a
// list directive (gzip_types, gzip_disable, gzip_proxied) starts afresh at
// the first line of a level and adds the level's later lines to it.
type gzipConf struct {
	on        bool
	level     int   // gzip_comp_level
	minLength int64 // gzip_min_length
	types     map[string]bool
	anyType   bool // gzip_types *
	vary      bool
	http10    bool // gzip_http_version 1.0
	proxied   uint16
	disable   []*rewrite.Regex
	msie6     bool  // gzip_disable msie6
	static    uint8 // gzip_static: staticOff, staticOn, staticAlways
	gunzip    bool
	// owners of the list directives: the level that started each list.
	typesOwner, disableOwner, proxiedOwner *locConf
}

// gzip_proxied's values (ngx_http_gzip_proxied_mask).
const (
	proxiedOff uint16 = 1 << iota
	proxiedExpired
	proxiedNoCache
	proxiedNoStore
	proxiedPrivate
	proxiedNoLM
	proxiedNoETag
	proxiedAuth
	proxiedAny
)

var proxiedNames = map[string]uint16{
	"off": proxiedOff, "expired": proxiedExpired, "no-cache": proxiedNoCache,
	"no-store": proxiedNoStore, "private": proxiedPrivate, "no_last_modified": proxiedNoLM,
	"no_etag": proxiedNoETag, "auth": proxiedAuth, "any": proxiedAny,
}

// gzip_static's values.
const (
	staticOff = iota
	staticOn
	staticAlways
)

var defaultGzipConf = gzipConf{
	level:     1,
	minLength: 20,
	types:     map[string]bool{"text/html": true},
	proxied:   proxiedOff,
}

// applyGzip applies one directive of the family to conf; it reports
// whether d was one (values were checked by -t).
func (c *compiler) applyGzip(conf *locConf, d *nginxconf.Directive) (bool, error) {
	g := &conf.gz
	switch d.Name {
	case "gzip":
		g.on = onOff(d)
	case "gzip_comp_level":
		g.level, _ = strconv.Atoi(d.Args[0])
	case "gzip_min_length":
		g.minLength, _ = nginxconf.ParseSize(d.Args[0])
	case "gzip_types":
		// ngx_http_types_slot: text/html is always in the list, "*" is
		// any type.
		if g.typesOwner != conf {
			g.typesOwner, g.anyType = conf, false
			g.types = map[string]bool{"text/html": true}
		}
		for _, a := range d.Args {
			if a == "*" {
				g.anyType = true
			}
			g.types[lowerASCII(a)] = true
		}
	case "gzip_vary":
		g.vary = onOff(d)
	case "gzip_http_version":
		g.http10 = d.Args[0] == "1.0"
	case "gzip_proxied":
		if g.proxiedOwner != conf {
			g.proxiedOwner, g.proxied = conf, 0
		}
		for _, a := range d.Args {
			g.proxied |= proxiedNames[a]
		}
	case "gzip_disable":
		// Every value but msie6 is a caseless regex (Debian's nginx has
		// no degradation module, so "degradation" is one too); a level's
		// lines replace the inherited regexes, msie6 is kept.
		if g.disableOwner != conf {
			g.disableOwner, g.disable = conf, nil
		}
		for _, a := range d.Args {
			if a == "msie6" {
				g.msie6 = true
				continue
			}
			rx, err := c.rc.Regex(a, true)
			if err != nil {
				return true, rewrite.At(err, d)
			}
			g.disable = append(g.disable, rx)
		}
	case "gzip_static":
		switch d.Args[0] {
		case "on":
			g.static = staticOn
		case "always":
			g.static = staticAlways
		default:
			g.static = staticOff
		}
	case "gunzip":
		g.gunzip = onOff(d)
	case "gzip_buffers", "gunzip_buffers":
		// Only the size of the pieces the output goes out in; the
		// values were checked by -t.
	default:
		return false, nil
	}
	return true, nil
}

// gzipState is a request's gzip decisions (nginx's r->gzip_tested,
// gzip_ok, gzip_vary) and its filters, kept with the exchange.
type gzipState struct {
	tested, ok, vary bool
	compressing      bool           // the gzip filter took this response
	inflating        bool           // the gunzip filter took it
	proxied          bool           // ... a proxied one (the error log says so)
	hdrs             []http1.Header // the head's headers, as the filters edit them
}

// reset starts a request.
func (s *gzipState) reset() {
	s.tested, s.ok, s.vary, s.compressing, s.inflating = false, false, false, false, false
}

// isGunzipError reports whether err is the gunzip filter's.
func isGunzipError(err error) bool {
	var ge *filter.GunzipError
	return errors.As(err, &ge)
}

// gzipEnd logs a gzip body that did not inflate, and releases what a
// response cut short still holds.
// Its first test is inlined at the callers (the rest is gzipEndRun): a
// request the module has nothing to do for costs a test, not a call.
func (x *exchange) gzipEnd() {
	if !x.gzip.inflating && x.rare == nil {
		return
	}
	x.gzipEndRun()
}

// gzipEndRun is gzipEnd past its first test.
func (x *exchange) gzipEndRun() {
	s := &x.gzip
	if s.inflating {
		if err := x.rare.gunzip.Err(); err != nil {
			action := "sending response to client"
			if s.proxied {
				action = "sending to client" // the upstream module's words
			}
			x.log.Logf(x, "error", "%v while %s", err, action)
		}
	}
	if x.rare != nil {
		x.rare.gz.Release()
		x.rare.gunzip.Release()
	}
}

// gzipOK is ngx_http_gzip_ok: whether the client takes a gzip response
// under conf, tested once per request. resp is the head as the header
// filters have it (nil before there is one: gzip_static).
func (x *exchange) gzipOK(conf *locConf, resp *http1.Response) bool {
	s := &x.gzip
	if s.tested {
		return s.ok
	}
	s.tested = true
	s.ok = x.testGzip(conf, resp)
	return s.ok
}

func (x *exchange) testGzip(conf *locConf, resp *http1.Response) bool {
	if x.isSub() {
		return false // nginx's r != r->main: the main request's filters code the whole
	}
	r := x.req
	g := &conf.gz
	ae, ok := firstHeader(r, "Accept-Encoding")
	if !ok || len(ae) < 4 {
		return false
	}
	if !(len(ae) >= 5 && string(ae[:5]) == "gzip,") && !acceptsGzip(ae) {
		return false
	}
	if g.msie6 && browser(r.HeaderValue("User-Agent")).msie6 {
		return false
	}
	need := 1001 // gzip_http_version, as nginx numbers versions
	if g.http10 {
		need = 1000
	}
	if r.ProtoMajor*1000+r.ProtoMinor < need {
		return false
	}
	if _, via := firstHeader(r, "Via"); via && !x.proxiedOK(g.proxied, resp) {
		return false
	}
	if len(g.disable) > 0 {
		if ua, ok := firstHeader(r, "User-Agent"); ok {
			for _, rx := range g.disable {
				if rx.Test(ua) {
					return false
				}
			}
		}
	}
	return true
}

// proxiedOK is gzip_proxied for a request that came through a proxy
// (Via): what the response head says of its caching decides.
func (x *exchange) proxiedOK(p uint16, resp *http1.Response) bool {
	var hs []http1.Header
	if resp != nil {
		hs = resp.Headers
	}
	switch {
	case p&proxiedOff != 0:
		return false
	case p&proxiedAny != 0:
		return true
	}
	if _, auth := firstHeader(x.req, "Authorization"); auth && p&proxiedAuth != 0 {
		return true
	}
	if e, ok := respHeader(hs, "Expires"); ok {
		if p&proxiedExpired == 0 {
			return false
		}
		expires, ok := parseHTTPTime(e)
		if !ok {
			return false
		}
		date := time.Now().Unix()
		if d, ok := respHeader(hs, "Date"); ok {
			if date, ok = parseHTTPTime(d); !ok {
				return false
			}
		}
		return expires < date
	}
	if hasHeader(hs, "Cache-Control") {
		return p&proxiedNoCache != 0 && cacheControlHas(hs, "no-cache") ||
			p&proxiedNoStore != 0 && cacheControlHas(hs, "no-store") ||
			p&proxiedPrivate != 0 && cacheControlHas(hs, "private")
	}
	if p&proxiedNoLM != 0 && hasHeader(hs, "Last-Modified") {
		return false
	}
	if p&proxiedNoETag != 0 && hasHeader(hs, "ETag") {
		return false
	}
	return true
}

// acceptsGzip is ngx_http_gzip_accept_encoding: "gzip" as a whole word
// (at the start or after ',' or ' '), then the end, ',', or a ";q="
// quantity that is not zero.
func acceptsGzip(ae []byte) bool {
	i := 0
	for {
		j := indexFold(ae[i:], "gzip")
		if j < 0 {
			return false
		}
		j += i
		if j == 0 || ae[j-1] == ',' || ae[j-1] == ' ' {
			i = j + 4
			break
		}
		i = j + 4
	}
	for i < len(ae) {
		c := ae[i]
		i++
		switch c {
		case ',':
			return true
		case ';':
			goto quantity
		case ' ':
			continue
		default:
			return false
		}
	}
	return true
quantity:
	for i < len(ae) {
		c := ae[i]
		i++
		switch c {
		case 'q', 'Q':
			if i+2 > len(ae) || ae[i] != '=' {
				return false
			}
			return gzipQuantity(ae[i+1:]) != 0
		case ' ':
			continue
		default:
			return false
		}
	}
	return true
}

// gzipQuantity is ngx_http_gzip_quantity: a q-value in thousandths
// whose digits are only added up, 0 for anything invalid.
func gzipQuantity(p []byte) int {
	if len(p) == 0 || p[0] != '0' && p[0] != '1' {
		return 0
	}
	q := int(p[0]-'0') * 100
	if len(p) == 1 || p[1] == ',' || p[1] == ' ' {
		return q
	}
	if p[1] != '.' {
		return 0
	}
	n := 0
	for _, c := range p[2:] {
		if c == ',' || c == ' ' {
			break
		}
		if c < '0' || c > '9' {
			return 0
		}
		q += int(c - '0')
		n++
	}
	if q > 100 || n > 3 {
		return 0
	}
	return q
}

// cacheControlHas is ngx_http_parse_multi_header_lines for a name alone:
// an item of some Cache-Control line that is name (any case), then
// spaces, then the end or ','.
func cacheControlHas(hs []http1.Header, name string) bool {
	for _, h := range hs {
		if !http1.EqualFold(h.Name, "Cache-Control") || len(name) > len(h.Value) {
			continue
		}
		v := h.Value
		i := 0
		for i < len(v) {
			if len(v)-i >= len(name) && equalFold(v[i:i+len(name)], name) {
				j := i + len(name)
				for j < len(v) && v[j] == ' ' {
					j++
				}
				if j == len(v) || v[j] == ',' {
					return true
				}
			}
			for i < len(v) {
				c := v[i]
				i++
				if c == ';' || c == ',' {
					break
				}
			}
			for i < len(v) && v[i] == ' ' {
				i++
			}
		}
	}
	return false
}

// indexFold finds word (lowercase) in b, in any case.
func indexFold(b []byte, word string) int {
	for i := 0; i+len(word) <= len(b); i++ {
		if equalFold(b[i:i+len(word)], word) {
			return i
		}
	}
	return -1
}

// firstHeader is the first request header called name: nginx keeps the
// first of Accept-Encoding, Via and User-Agent.
func firstHeader(r *http1.Request, name string) ([]byte, bool) {
	for i := range r.Headers {
		if http1.EqualFold(r.Headers[i].Name, name) {
			return r.Headers[i].Value, true
		}
	}
	return nil, false
}

// respHeader is the last response header called name: the upstream
// module points headers_out at each copy in turn.
func respHeader(hs []http1.Header, name string) ([]byte, bool) {
	if i := lastHeader(hs, name); i >= 0 {
		return hs[i].Value, true
	}
	return nil, false
}

func hasHeader(hs []http1.Header, name string) bool { return lastHeader(hs, name) >= 0 }

// gzipTypeKey is the Content-Type gzip_types tests: the whole value, but
// for a "; charset=" parameter and what follows (nginx's
// content_type_len).
func gzipTypeKey(ct []byte) []byte {
	for i := 0; i < len(ct); i++ {
		if ct[i] != ';' {
			continue
		}
		j := i + 1
		for j < len(ct) && ct[j] == ' ' {
			j++
		}
		if len(ct)-j >= 8 && equalFold(ct[j:j+8], "charset=") {
			return ct[:i]
		}
	}
	return ct
}

func (x *exchange) gzipType(g *gzipConf, ct []byte) bool {
	if g.anyType {
		return true
	}
	if len(ct) == 0 {
		return false
	}
	key := gzipTypeKey(ct)
	if g.types[string(key)] {
		return true
	}
	x.ctLower = appendLower(x.ctLower[:0], key)
	return g.types[string(x.ctLower)]
}

// gzipApplies is the gzip header filter's test before ngx_http_gzip_ok:
// gzip on, a status of 200, 403 or 404, no Content-Encoding yet, at
// least gzip_min_length (when known) and a type of gzip_types.
func (x *exchange) gzipApplies(resp *http1.Response, conf *locConf) bool {
	g := &conf.gz
	if !g.on {
		return false
	}
	switch resp.Status {
	case 200, 403, 404:
	default:
		return false
	}
	if ce, ok := respHeader(resp.Headers, "Content-Encoding"); ok && len(ce) > 0 {
		return false
	}
	if resp.ContentLength != -1 && resp.ContentLength < g.minLength {
		return false
	}
	return x.gzipType(g, resp.ContentType)
}

// gzipFilterHeader is ngx_http_gzip_header_filter: a response the client
// takes gzipped gets Content-Encoding: gzip, loses its length and ranges,
// its ETag turns weak, and its body goes through filter.Gzip.
// Its first test is inlined at the callers (the rest is gzipFilterHeaderRun): a
// request the module has nothing to do for costs a test, not a call.
func (x *exchange) gzipFilterHeader(resp *http1.Response, conf *locConf) {
	if !conf.gz.on {
		return
	}
	x.gzipFilterHeaderRun(resp, conf)
}

// gzipFilterHeaderRun is gzipFilterHeader past its first test.
func (x *exchange) gzipFilterHeaderRun(resp *http1.Response, conf *locConf) {
	if !x.gzipApplies(resp, conf) {
		return
	}
	x.gzip.vary = true
	if !x.gzipOK(conf, resp) {
		return
	}
	x.gzip.compressing = true
	x.editForCoding(resp, true)
	x.rareMem().gz.Reset(conf.gz.level)
	x.chain.Push(&x.rareMem().gz)
}

// gunzipFilterHeader is ngx_http_gunzip_header_filter: a gzip body for a
// client that does not take gzip is inflated, whatever the status.
// Its first test is inlined at the callers (the rest is gunzipFilterHeaderRun): a
// request the module has nothing to do for costs a test, not a call.
func (x *exchange) gunzipFilterHeader(resp *http1.Response, conf *locConf) {
	if !conf.gz.gunzip {
		return
	}
	x.gunzipFilterHeaderRun(resp, conf)
}

// gunzipFilterHeaderRun is gunzipFilterHeader past its first test.
func (x *exchange) gunzipFilterHeaderRun(resp *http1.Response, conf *locConf) {
	if !conf.gz.gunzip {
		return
	}
	ce, ok := respHeader(resp.Headers, "Content-Encoding")
	if !ok || !equalFold(ce, "gzip") {
		return
	}
	x.gzip.vary = true
	if x.gzipOK(conf, resp) {
		return
	}
	x.editForCoding(resp, false)
	x.gzip.inflating, x.gzip.proxied = true, x.proxied
	x.rareMem().gunzip.Reset()
	x.rareMem().gunzip.LastWithData = !x.proxied
	x.chain.Push(&x.rareMem().gunzip)
}

// editForCoding edits the head for a body whose coding changes: gzip
// adds Content-Encoding (last, as nginx pushes it), gunzip drops it; both
// change the body's length (changesLength).
func (x *exchange) editForCoding(resp *http1.Response, gzip bool) {
	s := &x.gzip
	hs := s.hdrs[:0]
	for _, h := range resp.Headers {
		if !gzip && http1.EqualFold(h.Name, "Content-Encoding") {
			continue
		}
		hs = append(hs, h)
	}
	if gzip {
		hs = append(hs, http1.Header{Name: hdrContentEncoding, Value: valGzip})
	}
	s.hdrs = hs
	resp.Headers = hs
	x.changesLength(resp)
}

var (
	hdrContentEncoding = []byte("Content-Encoding")
	valGzip            = []byte("gzip")
)

// gzipVary is the header filter's part of gzip_vary: a response some gzip
// module looked at gets "Vary: Accept-Encoding".
func (x *exchange) gzipVary(resp *http1.Response, conf *locConf) {
	if x.gzip.vary && conf.gz.vary {
		resp.VaryAcceptEncoding = true
	}
}

// gzipVaryBeforeRange is the gzip header filter's look at a file the
// static handler is about to answer with ranges: nginx's range filter runs
// below gzip's, which saw the 200 with the whole length and type, and a
// response it did not compress (the client takes no gzip) still gets
// gzip_vary's "Vary: Accept-Encoding".
func (x *exchange) gzipVaryBeforeRange(resp *http1.Response, conf *locConf) {
	if conf.gz.on && x.gzipApplies(resp, conf) {
		x.gzip.vary = true
	}
}

// gzipTransforms reports whether the gzip filter will take a static
// file's body, so that it is sent whole (nginx's range filter runs below
// it and finds no length). It tests without keeping the answer: the
// header filter tests the head as the headers filter leaves it, which
// for gzip_proxied means with expires' and add_header's lines, added here
// to a copy only when the request came through a proxy.
func (x *exchange) gzipTransforms(resp *http1.Response, conf *locConf) bool {
	if !x.gzipApplies(resp, conf) {
		return false
	}
	if x.gzip.tested {
		return x.gzip.ok
	}
	head := resp
	if _, via := firstHeader(x.req, "Via"); via && (len(conf.addHeaders) > 0 || conf.expires.mode != expiresOff) {
		filtered := *resp
		filtered.Headers = x.applyHeaders(conf, &filtered, resp.Status, append(x.gzip.hdrs[:0], resp.Headers...))
		head = &filtered
	}
	return x.testGzip(conf, head)
}

// addGzipVariables defines $gzip_ratio: compressed in to out, once the
// body has ended.
func addGzipVariables(rc *rewrite.Compiler) {
	rc.AddVariable("gzip_ratio", func(s *rewrite.State, dst []byte) []byte {
		x, ok := s.Files.(*exchange)
		if !ok || !x.gzip.compressing {
			return dst
		}
		dst, _ = x.rareMem().gz.Ratio(dst)
		return dst
	})
}
