package upstream

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/upstream/resolver"
)

// headerKind says how a proxy_set_header value is produced.
type headerKind uint8

const (
	hdrStatic        headerKind = iota // a fixed string ("" means: never sent)
	hdrComplex                         // a value with variables
	hdrProxyHost                       // $proxy_host, the default Host
	hdrInternalLen                     // $proxy_internal_body_length
	hdrInternalChunk                   // $proxy_internal_chunked
	hdrGRPCTrailers                    // $grpc_internal_trailers: "trailers" when the client's TE has it
)

type setHeader struct {
	name  string
	lower string
	// line is name and ": " in one string (appendRequest's one append
	// where two were ~60 instructions each); "" where not made (lined).
	line string
	// whole is the line entire, CRLF included, where its value is known
	// at configuration: a static one, or $proxy_host of a proxy_pass
	// without variables (lined); one append where three were.
	whole  string
	kind   headerKind
	static string
	value  *rewrite.Complex
}

// Proxy is a compiled proxy_pass location. It is immutable and shared by
// all requests.
type Proxy struct {
	// From proxy_pass.
	scheme     string // "http" or "https"
	group      *Group // nil when the URL has variables
	proxyHost  string // $proxy_host
	proxyPort  string // $proxy_port
	uriPart    string // the URL's URI part ("" when none)
	hasURIPart bool
	urlValue   *rewrite.Complex // the URL, when it has variables
	groups     *Groups
	// tls is proxy_ssl_*, for an https URL or one with variables.
	tls *backendTLS

	resolver        *resolver.Resolver // for hosts of urlValue; nil: none
	resolverTimeout time.Duration

	version11 bool
	headers   []setHeader
	// headersCache are headers for a request whose response may be
	// cached (nginx's headers_cache).
	headersCache []setHeader
	// headersIdx and headersCacheIdx index their names by length (nil:
	// none, look them all over).
	headersIdx, headersCacheIdx *headerIndex
	passHeaders                 bool // proxy_pass_request_headers
	passBody                    bool // proxy_pass_request_body
	// requestBuffering (proxy_request_buffering): read the whole client
	// body before contacting the backend.
	requestBuffering bool
	// buffering (proxy_buffering): off, the backend's bytes are flushed
	// through the body filters as they come (gzip's sync flush), as
	// nginx's unbuffered relay marks them.
	buffering bool
	// ignoreClientAbort (proxy_ignore_client_abort): keep waiting for
	// the backend after the client hung up.
	ignoreClientAbort bool
	hide              []string
	hideLens          uint64   // the lengths of hide's names (lenBit): most names are none of them
	hideDate          bool     // hidden("date"), asked of every response's Date
	passUpstream      []string // proxy_pass_header
	// passedNoServer, passedNoDate: proxy_pass_header Server (Date) with
	// a backend that sends none leaves the response without one.
	passedNoServer, passedNoDate bool
	ignore                       ignoreMask // proxy_ignore_headers

	ConnectTimeout time.Duration
	ReadTimeout    time.Duration
	SendTimeout    time.Duration

	// proxy_next_upstream and its limits.
	next        ftMask
	nextTries   int
	nextTimeout time.Duration
	// method is proxy_method (nil: the client's); setBody is
	// proxy_set_body (nil: the client's body).
	method  *rewrite.Complex
	setBody *rewrite.Complex
	// intercept holds the statuses proxy_intercept_errors hands to
	// error_page: those with an error_page at the location's level.
	intercept map[int]bool

	redirects       []redirect
	cookieDomains   []cookieRule  // proxy_cookie_domain
	cookiePaths     []cookieRule  // proxy_cookie_path
	cookieFlags     []cookieFlags // proxy_cookie_flags
	limitRate       int64         // proxy_limit_rate (fastcgi_, ...): bytes a second
	temp            tempConf      // proxy_temp_path, proxy_max_temp_file_size, proxy_buffers
	bind            *localAddr    // proxy_bind (fastcgi_bind, ...)
	store           *storeConf    // proxy_store (fastcgi_store, ...)
	passURL         string        // proxy_pass's URL as written (no variables)
	serverTokensOff bool
	relativeRedir   bool // absolute_redirect off
	noPortInRedir   bool
	maxBody         int64 // client_max_body_size (for buffered chunked bodies)
	// bodyBufferSize (client_body_buffer_size) is how much of a read body
	// stays in memory past what came with the head; a longer one goes to
	// a temporary file ($request_body then empty, $request_body_file set).
	bodyBufferSize int64
	// bodyInFileOnly (client_body_in_file_only): 0 off, 1 on (the file is
	// kept), 2 clean (removed at the end).
	bodyInFileOnly int
	// bodyTemp is client_body_temp_path: where a read body's temporary
	// file is made.
	bodyTemp tempConf
	// tunnelBufs holds an upgraded connection's copy buffers, sized by
	// proxy_buffer_size (default one memory page, as nginx).
	tunnelBufs *sync.Pool
	// tunnelBufLen is their length when known (0: a tunnel learns it
	// from the first buffer it takes).
	tunnelBufLen int
	// bufSize is proxy_buffer_size: an unbuffered response is read in
	// reads of at most this, each passed on at once (one chunk).
	bufSize int

	// Tunnels tracks upgraded connections so a stop can close them.
	Tunnels *Tunnels

	// nextNames are *_next_upstream's values (nil: proxy_next_upstream's).
	nextNames map[string]ftMask
	// getHeadOnly: other methods are answered 405 (memcached).
	getHeadOnly bool
	// intercept404: a 404 is always the location's to answer (nginx's
	// intercept_404, memcached's).
	intercept404 bool
	// typed: the response's type is the location's for the URI (nginx's
	// ngx_http_set_content_type in the handler), in State.ContentType.
	typed bool

	// proto is the protocol spoken to the backend (protocol.go): HTTP for
	// proxy_pass, FastCGI, SCGI, uwsgi.
	proto protocol
	// forceRanges is proxy_force_ranges: the range filter answers ranges
	// on any 200 with a length (one range unless cached).
	forceRanges bool
	// cache is *_cache and its settings (cacheconf.go); nil: off.
	cache *cacheConf
}

// Typed reports whether the response's type is the location's for the
// URI, which the caller puts in State.ContentType before Serve
// (memcached_pass).
func (p *Proxy) Typed() bool { return p.typed }

// CacheLock reports whether the location's cache has proxy_cache_lock
// on: location then orders the first requests of connections as
// accepted until they reach the lock (State.CacheOrder).
func (p *Proxy) CacheLock() bool { return p.cache != nil && p.cache.lock }

// HasURIPart reports whether proxy_pass had a URI part; nginx rejects
// that in regex and named locations ("proxy_pass" cannot have URI part
// in location given by regular expression, ...).
func (p *Proxy) HasURIPart() bool { return p.hasURIPart }

// defaultHeaders are ngx_http_proxy_headers: appended after the
// configured ones unless overridden by name; empty ones are never sent,
// and every name here keeps the client's header of that name out.
var defaultHeaders = []setHeader{
	{name: "Host", kind: hdrProxyHost},
	{name: "Connection", static: "close"},
	{name: "Content-Length", kind: hdrInternalLen},
	{name: "Transfer-Encoding", kind: hdrInternalChunk},
	{name: "TE"},
	{name: "Keep-Alive"},
	{name: "Expect"},
	{name: "Upgrade"},
}

// defaultHide are the response headers nginx's proxy hides by default.
var defaultHide = []string{"date", "server", "x-pad", "x-accel-expires", "x-accel-redirect",
	"x-accel-limit-rate", "x-accel-buffering", "x-accel-charset"}

// innermost returns the directives named name from the innermost block
// that has any (nginx's array-directive inheritance), or nil.
func innermost(blocks [][]*nginxconf.Directive, name string) []*nginxconf.Directive {
	for i := len(blocks) - 1; i >= 0; i-- {
		var found []*nginxconf.Directive
		for _, d := range blocks[i] {
			if d.Name == name {
				found = append(found, d)
			}
		}
		if found != nil {
			return found
		}
	}
	return nil
}

// ReferenceVars references the variables in the header and parameter
// values of every proxying module a location inherits, whatever it passes
// to: nginx compiles them in each location's merge, so one that names an
// unknown variable fails the configuration even where nothing is passed.
// Errors other than the unknown variable (which Finish reports) are the
// pass's own compile's to report.
func ReferenceVars(blocks [][]*nginxconf.Directive, c *rewrite.Compiler) {
	for _, name := range [...]string{"proxy_set_header", "grpc_set_header", "fastcgi_param", "scgi_param", "uwsgi_param"} {
		for _, d := range innermost(blocks, name) {
			if len(d.Args) >= 2 {
				c.Complex(d.Args[1])
			}
		}
	}
	if d := last(blocks, "proxy_set_body"); d != nil && len(d.Args) == 1 {
		c.Complex(d.Args[0])
	}
	// Not a proxying module's, but nginx compiles its value too, though
	// gonginx does not push.
	for _, d := range innermost(blocks, "http2_push") {
		if len(d.Args) == 1 && d.Args[0] != "off" {
			c.Complex(d.Args[0])
		}
	}
}

func last(blocks [][]*nginxconf.Directive, name string) *nginxconf.Directive {
	ds := innermost(blocks, name)
	if len(ds) == 0 {
		return nil
	}
	return ds[len(ds)-1]
}

func flag(blocks [][]*nginxconf.Directive, name string, def bool) bool {
	d := last(blocks, name)
	if d == nil || len(d.Args) == 0 {
		return def
	}
	return d.Args[0] == "on"
}

// CompileProxy compiles the proxy of a location. blocks are the directive
// lists from the outermost level (http) to the location itself; values
// inherit as nginx merges them. It returns nil, nil when the location has
// no proxy_pass. Config errors read as nginx's, with file:line.
func CompileProxy(blocks [][]*nginxconf.Directive, groups *Groups, c *rewrite.Compiler) (*Proxy, error) {
	if len(blocks) == 0 {
		return nil, nil
	}
	var pass *nginxconf.Directive
	for _, d := range blocks[len(blocks)-1] {
		if d.Name == "proxy_pass" {
			pass = d
		}
	}
	return CompileProxyPass(pass, blocks, groups, c)
}

// CompileProxyPass is CompileProxy for the given proxy_pass, which may
// come from an outer level: an "if" block inside a location inherits the
// location's proxy_pass with its own other proxy_* settings, as nginx's
// merge does for such unnamed locations.
func CompileProxyPass(pass *nginxconf.Directive, blocks [][]*nginxconf.Directive, groups *Groups, c *rewrite.Compiler) (*Proxy, error) {
	if pass == nil || len(pass.Args) != 1 || len(blocks) == 0 {
		return nil, nil
	}
	if groups == nil {
		groups = NewGroups()
	}
	p := &Proxy{groups: groups, passHeaders: true, passBody: true, Tunnels: groups.Tunnels,
		ConnectTimeout: 60 * time.Second, ReadTimeout: 60 * time.Second, SendTimeout: 60 * time.Second,
		maxBody: 1 << 20, proto: proxyHTTP}
	if err := p.compileURL(pass, c); err != nil {
		return nil, err
	}
	if p.scheme == "https" || p.urlValue != nil {
		// As ngx_http_proxy_merge_loc_conf: only then is the upstream
		// SSL context made (and its files read and checked).
		bt, err := compileTLS("proxy", blocks, groups.ConfPrefix, c)
		if err != nil {
			return nil, err
		}
		bt.prepare(p.group, p.proxyHost)
		p.tls = bt
	}
	if err := groups.compileResolver(p, blocks); err != nil {
		return nil, err
	}
	if d := last(blocks, "proxy_http_version"); d != nil {
		switch d.Args[0] {
		case "1.0":
		case "1.1":
			p.version11 = true
		default:
			return nil, confErr(d, `invalid value "%s" in "%s" directive, it must be "1.0" or "1.1"`, d.Args[0], d.Name)
		}
	}
	if err := p.compileUpstreamConf(blocks, c); err != nil {
		return nil, err
	}
	bufSize := os.Getpagesize()
	if d := last(blocks, "proxy_buffer_size"); d != nil {
		if n, ok := nginxconf.ParseOffset(d.Args[0]); ok && n > 0 && n <= 1<<30 {
			bufSize = int(n)
		}
	}
	p.tunnelBufs, p.tunnelBufLen = tunnelPool(bufSize), bufSize
	p.bufSize = bufSize
	for _, d := range innermost(blocks, "proxy_set_header") {
		if len(d.Args) != 2 {
			continue
		}
		h, err := compileSetHeader(c, d)
		if err != nil {
			return nil, err
		}
		p.headers = append(p.headers, h)
	}
	for _, def := range defaultHeaders {
		if !headerSet(p.headers, def.name) {
			def.lower = strings.ToLower(def.name)
			p.headers = append(p.headers, def)
		}
	}
	lined(p.headers, p.staticHost())
	p.headersIdx = indexHeaders(p.headers)
	if err := p.compileCache(blocks, c); err != nil {
		return nil, err
	}
	if p.cache != nil {
		if err := p.cacheRequestHeaders(c); err != nil {
			return nil, err
		}
		lined(p.headersCache, p.staticHost())
		p.headersCacheIdx = indexHeaders(p.headersCache)
	}
	p.compileHeaders(blocks, defaultHide)
	// nginx's proxy puts empty Server and Date headers in place of ones
	// the backend left out (ngx_http_proxy_process_header): passed, they
	// stand for the server's own, and the client gets neither.
	p.passedNoServer = !p.hidden([]byte("server"))
	p.passedNoDate = !p.hidden([]byte("date"))
	if err := p.compileRedirects(blocks, c); err != nil {
		return nil, err
	}
	if err := p.compileCookies(blocks, c); err != nil {
		return nil, err
	}
	if err := p.compileRequestBody(blocks, c); err != nil {
		return nil, err
	}
	return p, nil
}

// compileURL parses proxy_pass's URL as ngx_http_proxy_pass does.
func (p *Proxy) compileURL(d *nginxconf.Directive, c *rewrite.Compiler) error {
	url := d.Args[0]
	if strings.Contains(url, "$") {
		cv, err := c.Complex(url)
		if err != nil {
			return rewrite.At(err, d)
		}
		if !cv.HasVariables() && !cv.HasCaptures() {
			url, _ = cv.Static()
		} else {
			// nginx checks the scheme of a URL with variables only per
			// request (a 500 with "invalid URL prefix" in the error log).
			p.urlValue = cv
			return nil
		}
	}
	p.passURL = url
	scheme, host, uri, err := splitURL(url)
	if err != nil {
		if err == errURLPrefix {
			return confErr(d, "%s", err.Error())
		}
		// ngx_parse_url's errors name the URL without its scheme.
		return confErr(d, `%s in upstream "%s"`, err.Error(), url[strings.Index(url, "://")+3:])
	}
	p.scheme, p.uriPart, p.hasURIPart = scheme, uri, uri != ""
	defPort := "80"
	if scheme == "https" {
		defPort = "443"
	}
	if strings.HasPrefix(host, "unix:") {
		g, err := p.groups.implicitGroup(host, defPort)
		if err != nil {
			return confErr(d, `%s in upstream "%s"`, err.Error(), host)
		}
		p.group, p.proxyHost, p.proxyPort = g, "localhost", ""
		return nil
	}
	// An upstream{} block of that name wins (no port given).
	if !strings.Contains(host, ":") || strings.HasSuffix(host, "]") {
		if g := p.groups.Lookup(host); g != nil {
			p.group, p.proxyHost, p.proxyPort = g, host, defPort
			return nil
		}
	}
	if i := strings.LastIndexByte(host, ':'); i > 0 && !strings.HasSuffix(host, "]") {
		if p.groups.Lookup(host[:i]) != nil {
			if n, err := strconv.Atoi(host[i+1:]); err == nil && n > 0 && n < 65536 {
				return confErr(d, `upstream "%s" may not have port %d`, host[:i], n)
			}
		}
	}
	g, err := p.groups.implicitGroup(host, defPort)
	if err != nil {
		if err.Error() == "invalid port" {
			return confErr(d, `invalid port in upstream "%s"`, host+uri)
		}
		return confErr(d, `%s in upstream "%s"`, err.Error(), host)
	}
	p.group = g
	p.proxyHost, p.proxyPort = hostHeader(host, defPort)
	return nil
}

// hostHeader is $proxy_host and $proxy_port for "host[:port]": the port
// is left out of $proxy_host when it is the scheme's default.
func hostHeader(host, defPort string) (string, string) {
	h, port := host, defPort
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.HasSuffix(host, "]") {
		h, port = host[:i], host[i+1:]
	}
	if port == defPort {
		return h, port
	}
	return h + ":" + port, port
}

// splitURL splits "http://host:port/uri" into its parts.
var errURLPrefix = errors.New("invalid URL prefix")

func splitURL(url string) (scheme, host, uri string, err error) {
	lower := strings.ToLower(url)
	switch {
	case strings.HasPrefix(lower, "http://"):
		scheme, url = "http", url[7:]
	case strings.HasPrefix(lower, "https://"):
		scheme, url = "https", url[8:]
	default:
		return "", "", "", errURLPrefix
	}
	if strings.HasPrefix(url, "unix:") {
		// unix:/path/to.sock:/uri
		rest := url[5:]
		if i := strings.IndexByte(rest, ':'); i >= 0 {
			return scheme, "unix:" + rest[:i], rest[i+1:], nil
		}
		return scheme, "unix:" + rest, "", nil
	}
	if i := strings.IndexAny(url, "/?"); i >= 0 {
		host, uri = url[:i], url[i:]
	} else {
		host = url
	}
	if host == "" {
		return "", "", "", fmt.Errorf("no host")
	}
	return scheme, host, uri, nil
}

// compileSetHeader compiles a proxy_set_header or grpc_set_header line.
func compileSetHeader(c *rewrite.Compiler, d *nginxconf.Directive) (setHeader, error) {
	h := setHeader{name: d.Args[0], lower: strings.ToLower(d.Args[0])}
	cv, err := c.Complex(d.Args[1])
	if err != nil {
		return h, rewrite.At(err, d)
	}
	if v, ok := cv.Static(); ok {
		h.static = v
	} else {
		h.kind, h.value = hdrComplex, cv
	}
	return h, nil
}

// headerSet reports whether a *_set_header line names the header, which
// then replaces the module's default one.
func headerSet(headers []setHeader, name string) bool {
	for _, h := range headers {
		if strings.EqualFold(h.name, name) {
			return true
		}
	}
	return false
}
