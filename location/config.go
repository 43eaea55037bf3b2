package location

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/rewrite/http1"
	"github.com/gonginx/gonginx/upstream"
)

// Options tune Compile.
type Options struct {
	// Root reports whether the process runs as root: a server without
	// "listen" then listens on *:80, else on *:8000, as nginx does.
	Root bool
	// Serving makes directives that nginxconf.PolicyOf refuses errors
	// naming file:line; without it (-t) they pass as they do under nginx.
	Serving bool
	// LoadCerts makes Compile load ssl_certificate/ssl_certificate_key
	// (nginx -t does). Compile always checks that they are configured.
	LoadCerts bool
}

// Router is a compiled configuration: the sockets to listen on and, for
// each, the servers and their locations.
type Router struct {
	Sockets  []*Socket
	Servers  []*VirtualServer
	Warnings []*nginxconf.Error // "[warn]" lines from compiling
	// Unserved lists the tuning-only directives the config uses (gonginx
	// ignores them and says so once at start-up), in first-seen order.
	Unserved []string

	PidFile   string // "pid" in the main context ("" when not set)
	ErrorLogs []string

	cfg    *nginxconf.Config
	slots  int // rewrite.State value slots
	rc     *rewrite.Compiler
	groups *upstream.Groups
}

// Socket is one listening socket and the addresses it serves: a wildcard
// socket also serves the specific addresses of its port that were not
// given their own socket ("bind"), told apart by the local address.
type Socket struct {
	Listen *Listen
	Addrs  []*Addr // specific addresses first, the wildcard (if any) last
}

// Addr is one listen address with its servers.
type Addr struct {
	Listen  *Listen
	Servers []*VirtualServer
	Default *VirtualServer
	names   nameTable
	regexes bool
}

// VirtualServer is one server{} block.
type VirtualServer struct {
	Name  string // first server_name, $server_name
	Names []string
	File  string
	Line  int

	SSL     *SSLConfig // nil unless some listen of this server has "ssl" or ssl_certificate is set
	root    *Location  // server-level configuration and the top level of locations
	prog    *rewrite.Program
	named   map[string]*Location
	listens []*Listen

	nameBytes []byte // Name for server_name_in_redirect, converted once; read-only
}

// SSLConfig is what a server needs for TLS.
type SSLConfig struct {
	Certificates []string // resolved paths
	Keys         []string
	Protocols    []string
	Ciphers      string
	File         string // listen ... ssl directive, for errors
	Line         int
}

type modifier uint8

const (
	modPrefix modifier = iota
	modExact
	modNoRegex
	modRegex
	modRegexCI
	modNamed
	modServer // the server-level pseudo location
)

// Location is one location{} block with its configuration merged from the
// enclosing levels.
type Location struct {
	Name string
	File string
	Line int

	mod      modifier
	re       Regex
	parent   *Location
	children level
	conf     *locConf
	// autoRedirect: a prefix ending in "/" with proxy_pass and friends;
	// a request for the name without its slash gets a 301 (nginx's
	// clcf->auto_redirect).
	autoRedirect bool
	escapedName  []byte                   // Name escaped for the auto-redirect's Location (clcf->escaped_name)
	blocks       [][]*nginxconf.Directive // http, server, enclosing locations, this one
	prog         *rewrite.Program
	ifConfs      []*locConf // configuration inside each "if" of prog
}

// level holds the locations directly inside one block, arranged for
// matching without allocation.
type level struct {
	exact     map[string]*Location
	prefixes  []*Location // sorted by name
	parentIdx []int       // index of the longest other prefix of prefixes[i], or -1
	regexes   []*Location // in config order
	redirect  map[string]*Location
}

// locConf is the merged configuration a request runs with.
type locConf struct {
	root, alias     string
	aliasSet        bool
	aliasLoc        string // the prefix alias replaces: the name of the location that set it
	aliasRegex      bool   // alias set in a regex location: it is the whole path
	symlinks        uint8  // disable_symlinks: symlinksOff, symlinksOn, symlinksNotOwner
	symlinksFromRaw string // disable_symlinks from=
	indexRaw        []string
	tryFilesRaw     []string
	tryFilesFile    string
	tryFilesLine    int
	autoindex       bool
	defaultType     string
	types           map[string]string
	charset         string
	charsetTypes    map[string]bool
	charsetAny      bool // charset_types *
	errorPages      map[int]*errorPage
	serverTokens    bool
	absRedirect     bool
	nameInRedir     bool
	portInRedir     bool
	internal        bool
	access          []accessRule
	logNotFound     bool
	etag            bool
	ims             int // 0 exact, 1 before, 2 off
	maxBody         int64
	keepalive       time.Duration
	keepaliveHeader int              // keepalive_timeout's second parameter (Keep-Alive: timeout=N)
	keepaliveReqs   int              // keepalive_requests
	keepaliveTime   time.Duration    // keepalive_time
	keepaliveOff    uint8            // keepalive_disable: kaMSIE6, kaSafari
	headerTimeout   time.Duration    // client_header_timeout (server level)
	bodyTimeout     time.Duration    // client_body_timeout
	limits          http1.Limits     // header buffers and parsing switches (server level)
	limitRate       *rewrite.Complex // limit_rate: bytes per second (nil: none)
	limitRateAfter  *rewrite.Complex // limit_rate_after
	sendTimeout     time.Duration
	lingering       int // lingering_close: lingerOff, lingerOn, lingerAlways
	lingeringTime   time.Duration
	lingeringWait   time.Duration    // lingering_timeout
	accessLogs      []*accessLogRule // this level's access_log lines (inherited when a level has none)
	accessOff       bool             // access_log off at the level that set accessLogs
	errorLogs       []errorLogRule   // error_log lines of the nearest level that has some; none: the main log
	proxyPass       *nginxconf.Directive
	recursiveEP     bool
	epOwner         *locConf
	addHeaders      []addHeader // this level's add_header lines, or the inherited ones (headers.go)
	expires         expiresConf

	// Compiled by finishConf.
	rootStatic       string // absolute root when it has no variables
	rootValue        *rewrite.Complex
	aliasValue       *rewrite.Complex
	symlinksFrom     *rewrite.Complex
	index            []*rewrite.Complex
	tryFiles         []*rewrite.Complex
	tryFilesDir      []bool // the argument was written ending in "/"
	charsetBytes     []byte
	charsetVar       *rewrite.Var // charset $name: the value names the charset per request
	typesBytes       map[string][]byte
	defaultTypeBytes []byte
	proxy            Proxy
}

type errorPage struct {
	code  int              // =code overrides the status (-1 for "=" alone)
	uri   []byte           // "/50x.html", "@named" or an absolute URL; read-only, shared by requests
	value *rewrite.Complex // when uri has variables
}

type accessRule struct {
	deny bool
	net  *net.IPNet // nil: all
	unix bool
}

func defaultLocConf() *locConf {
	return &locConf{
		root:          "html",
		indexRaw:      []string{"index.html"},
		defaultType:   "text/plain",
		types:         map[string]string{"html": "text/html", "gif": "image/gif", "jpg": "image/jpeg"},
		charsetTypes:  map[string]bool{"text/html": true, "text/xml": true, "text/plain": true, "text/vnd.wap.wml": true, "application/javascript": true, "application/rss+xml": true},
		serverTokens:  true,
		absRedirect:   true,
		portInRedir:   true,
		logNotFound:   true,
		etag:          true,
		maxBody:       1 << 20,
		keepalive:     75 * time.Second,
		keepaliveReqs: 1000,
		keepaliveTime: time.Hour,
		keepaliveOff:  kaMSIE6,
		headerTimeout: 60 * time.Second,
		bodyTimeout:   60 * time.Second,
		limits:        http1.DefaultLimits,
		sendTimeout:   60 * time.Second,
		lingering:     lingerOn,
		lingeringTime: 30 * time.Second,
		lingeringWait: 5 * time.Second,
	}
}

// keepalive_disable's browsers.
const (
	kaMSIE6 = 1 << iota
	kaSafari
)

// lingering_close values.
const (
	lingerOff = iota
	lingerOn
	lingerAlways
)

func (c *locConf) clone() *locConf {
	n := *c
	// proxy_pass is not inherited by nested locations.
	n.proxyPass = nil
	return &n
}

// compileError is an error with nginx's "msg in file:line" text.
func confErr(d *nginxconf.Directive, format string, args ...any) *nginxconf.Error {
	return &nginxconf.Error{Msg: fmt.Sprintf(format, args...), File: d.File, Line: endLine(d)}
}

// endLine is the line nginx reports for a directive: where its ";" or "{"
// was read (cf->conf_file->line when the handler runs).
func endLine(d *nginxconf.Directive) int {
	if d.EndLine > 0 {
		return d.EndLine
	}
	return d.Line
}

// Compile builds a Router from cfg. Errors are *nginxconf.Error with
// nginx's wording; the first one stops compiling.
func Compile(cfg *nginxconf.Config, opts Options) (*Router, error) {
	c := &compiler{cfg: cfg, opts: opts, rt: &Router{cfg: cfg}, rc: rewrite.NewCompiler()}
	if opts.Serving {
		tuning, err := nginxconf.Servable(cfg.Tree)
		if err != nil {
			return nil, err
		}
		c.rt.Unserved = tuning
	}
	if err := c.compile(); err != nil {
		return nil, err
	}
	if err := c.rc.Finish(); err != nil {
		return nil, err
	}
	c.rt.slots = c.rc.Slots()
	c.rt.rc = c.rc
	return c.rt, nil
}

type compiler struct {
	cfg        *nginxconf.Config
	opts       Options
	rt         *Router
	addrs      []*Addr // in order of first listen
	rc         *rewrite.Compiler
	httpBlock  *nginxconf.Directive
	logFormats map[string]*logFormat // log_format name → format ("combined" built in)
}

func (c *compiler) warn(e *nginxconf.Error) { c.rt.Warnings = append(c.rt.Warnings, e) }

func (c *compiler) compile() error {
	var httpBlock *nginxconf.Directive
	for _, d := range c.cfg.Tree {
		switch d.Name {
		case "http":
			if httpBlock == nil {
				httpBlock = d
			}
		case "pid":
			if len(d.Args) == 1 {
				c.rt.PidFile = c.resolve(d.Args[0], c.cfg.Prefix)
			}
		case "error_log":
			if len(d.Args) > 0 {
				c.rt.ErrorLogs = append(c.rt.ErrorLogs, d.Args[0])
			}
		}
	}
	if httpBlock == nil {
		return nil
	}
	conf := defaultLocConf()
	// Variables of map, geo and split_clients blocks, in the order nginx
	// reads them.
	for _, d := range httpBlock.Block {
		var err error
		switch d.Name {
		case "map":
			err = c.rc.Map(d)
		case "geo":
			err = c.rc.Geo(d)
		case "split_clients":
			err = c.rc.SplitClients(d)
		}
		if err != nil {
			return rewrite.At(err, d)
		}
	}
	groups, err := upstream.CompileGroups(httpBlock.Block)
	if err != nil {
		return err
	}
	c.rt.groups = groups
	c.httpBlock = httpBlock
	if err := c.applyBlock(conf, httpBlock.Block, "http"); err != nil {
		return err
	}
	for _, d := range httpBlock.Block {
		if d.Name != "server" {
			continue
		}
		if err := c.compileServer(d, conf); err != nil {
			return err
		}
	}
	return c.buildSockets()
}

// resolve makes p absolute against base (nginx's prefix or conf prefix).
func (c *compiler) resolve(p, base string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(base, p)
}

// applyBlock applies the simple directives of one block to conf. Nested
// blocks are handled by the caller after this, so a directive written
// after a location still applies to it, as nginx merges after parsing.
func (c *compiler) applyBlock(conf *locConf, block []*nginxconf.Directive, ctx string) error {
	// A level with access_log lines replaces what it inherited, as
	// ngx_http_log_merge_loc_conf does.
	for _, d := range block {
		if d.Name == "access_log" {
			conf.accessLogs, conf.accessOff = nil, false
			break
		}
	}
	// Likewise a level with add_header lines replaces what it inherited
	// (ngx_http_headers_merge_conf), an "if" block too.
	expiresSeen := false
	for _, d := range block {
		switch d.Name {
		case "add_header":
			conf.addHeaders = nil
		case "expires":
			if expiresSeen {
				return confErr(d, "\"expires\" directive is duplicate")
			}
			expiresSeen = true
		}
	}
	// So do error_log lines (ngx_http_core_merge_loc_conf keeps the
	// inherited log only when a level has none).
	for _, d := range block {
		if d.Name == "error_log" {
			conf.errorLogs = nil
			break
		}
	}
	for _, d := range block {
		if err := c.apply(conf, d, ctx); err != nil {
			return err
		}
	}
	return nil
}

// setLimit applies one of the directives that shape request parsing
// (values -t accepted already).
func setLimit(l *http1.Limits, d *nginxconf.Directive) {
	size := func(a string) int {
		n, _ := nginxconf.ParseSize(a)
		return int(n)
	}
	switch d.Name {
	case "client_header_buffer_size":
		l.ClientHeaderBufferSize = size(d.Args[0])
	case "large_client_header_buffers":
		n, _ := strconv.Atoi(d.Args[0])
		l.LargeHeaderBuffers, l.LargeHeaderBufferSize = n, size(d.Args[1])
	case "max_headers":
		l.MaxHeaders, _ = strconv.Atoi(d.Args[0])
	case "underscores_in_headers":
		l.UnderscoresInHeaders = onOff(d)
	case "ignore_invalid_headers":
		l.KeepInvalidHeaders = !onOff(d)
	case "merge_slashes":
		l.NoMergeSlashes = !onOff(d)
	}
}

func onOff(d *nginxconf.Directive) bool { return len(d.Args) > 0 && d.Args[0] == "on" }

func (c *compiler) apply(conf *locConf, d *nginxconf.Directive, ctx string) error {
	switch d.Name {
	case "server", "location", "listen", "server_name", "upstream", "map",
		"include", "#", "ssl_certificate", "ssl_certificate_key", "ssl_protocols":
		return nil
	case "error_log":
		return c.errorLog(conf, d)
	case "log_format":
		return c.logFormat(d)
	case "auth_request_set":
		if err := c.rc.AuthRequestSet(d); err != nil {
			return err
		}
		return nil
	case "gzip_disable":
		// ngx_http_gzip_disable: each value but msie6 and degradation is
		// a caseless regex, the whole value.
		for _, a := range d.Args {
			if a != "msie6" && a != "degradation" {
				if _, err := c.rc.Regex(a, true); err != nil {
					return rewrite.At(err, d)
				}
			}
		}
		return nil
	case "valid_referers":
		// ngx_http_valid_referers compiles "~" entries caselessly.
		for _, a := range d.Args {
			if strings.HasPrefix(a, "~") {
				if _, err := c.rc.Regex(a[1:], true); err != nil {
					return rewrite.At(err, d)
				}
			}
		}
		return nil
	case "root":
		if len(d.Args) == 1 {
			conf.root, conf.alias, conf.aliasSet = d.Args[0], "", false
		}
	case "alias":
		if len(d.Args) == 1 {
			conf.alias, conf.aliasSet = d.Args[0], true
		}
	case "disable_symlinks":
		return disableSymlinks(conf, d)
	case "index":
		conf.indexRaw = append([]string(nil), d.Args...)
	case "try_files":
		conf.tryFilesRaw = append([]string(nil), d.Args...)
		conf.tryFilesFile, conf.tryFilesLine = d.File, d.Line
	case "autoindex":
		conf.autoindex = onOff(d)
	case "default_type":
		if len(d.Args) == 1 {
			conf.defaultType = d.Args[0]
		}
	case "types":
		m := map[string]string{}
		for _, e := range d.Block {
			if e.Name == "#" {
				continue
			}
			for _, ext := range e.Args {
				m[strings.ToLower(ext)] = e.Name
			}
		}
		conf.types = m
	case "charset":
		if len(d.Args) == 1 {
			conf.charset = d.Args[0]
			if conf.charset == "off" {
				conf.charset = ""
			}
		}
	case "charset_types":
		// ngx_http_types_slot: "*" is any type, and text/html is always
		// in the list.
		m := map[string]bool{"text/html": true}
		conf.charsetAny = false
		for _, a := range d.Args {
			if a == "*" {
				conf.charsetAny = true
			}
			m[a] = true
		}
		conf.charsetTypes = m
	case "error_page":
		if err := c.errorPage(conf, d); err != nil {
			return err
		}
	case "recursive_error_pages":
		conf.recursiveEP = onOff(d)
	case "server_tokens":
		conf.serverTokens = len(d.Args) > 0 && d.Args[0] != "off"
	case "absolute_redirect":
		conf.absRedirect = onOff(d)
	case "server_name_in_redirect":
		conf.nameInRedir = onOff(d)
	case "port_in_redirect":
		conf.portInRedir = onOff(d)
	case "internal":
		if ctx != "location" {
			return nil
		}
		conf.internal = true
	case "allow", "deny":
		r, err := parseAccess(d)
		if err != nil {
			return err
		}
		conf.access = append(conf.access, r)
	case "log_not_found":
		conf.logNotFound = onOff(d)
	case "etag":
		conf.etag = onOff(d)
	case "if_modified_since":
		if len(d.Args) == 1 {
			conf.ims = map[string]int{"exact": 0, "before": 1, "off": 2}[d.Args[0]]
		}
	case "client_max_body_size":
		if len(d.Args) == 1 {
			if n, ok := nginxconf.ParseOffset(d.Args[0]); ok {
				conf.maxBody = n
			}
		}
	case "limit_rate", "limit_rate_after":
		// A size, maybe with variables, evaluated when the response
		// starts (ngx_http_complex_value_size in the write filter).
		if len(d.Args) != 1 {
			return nil
		}
		v, err := c.rc.Complex(d.Args[0])
		if err != nil {
			return rewrite.At(err, d)
		}
		if d.Name == "limit_rate" {
			conf.limitRate = v
		} else {
			conf.limitRateAfter = v
		}
	case "keepalive_timeout":
		if len(d.Args) >= 1 {
			if ms, ok := parseSeconds(d.Args[0]); ok {
				conf.keepalive = time.Duration(ms) * time.Millisecond
			}
			conf.keepaliveHeader = 0
			if len(d.Args) == 2 {
				if ms, ok := parseSeconds(d.Args[1]); ok {
					conf.keepaliveHeader = int(ms / 1000)
				}
			}
		}
	case "keepalive_requests":
		conf.keepaliveReqs, _ = strconv.Atoi(d.Args[0])
	case "keepalive_time":
		if ms, ok := parseSeconds(d.Args[0]); ok {
			conf.keepaliveTime = time.Duration(ms) * time.Millisecond
		}
	case "keepalive_disable":
		conf.keepaliveOff = 0
		for _, a := range d.Args {
			switch a {
			case "msie6":
				conf.keepaliveOff |= kaMSIE6
			case "safari":
				conf.keepaliveOff |= kaSafari
			}
		}
	case "lingering_close":
		if len(d.Args) == 1 {
			switch d.Args[0] {
			case "off":
				conf.lingering = lingerOff
			case "on":
				conf.lingering = lingerOn
			case "always":
				conf.lingering = lingerAlways
			}
		}
	case "lingering_time", "lingering_timeout":
		if len(d.Args) == 1 {
			if ms, ok := parseSeconds(d.Args[0]); ok {
				if d.Name == "lingering_time" {
					conf.lingeringTime = time.Duration(ms) * time.Millisecond
				} else {
					conf.lingeringWait = time.Duration(ms) * time.Millisecond
				}
			}
		}
	case "send_timeout":
		if len(d.Args) == 1 {
			if ms, ok := parseSeconds(d.Args[0]); ok {
				conf.sendTimeout = time.Duration(ms) * time.Millisecond
			}
		}
	case "client_header_timeout", "client_body_timeout":
		if len(d.Args) == 1 {
			if ms, ok := parseSeconds(d.Args[0]); ok {
				if d.Name == "client_header_timeout" {
					conf.headerTimeout = time.Duration(ms) * time.Millisecond
				} else {
					conf.bodyTimeout = time.Duration(ms) * time.Millisecond
				}
			}
		}
	case "client_header_buffer_size", "large_client_header_buffers", "max_headers",
		"underscores_in_headers", "ignore_invalid_headers", "merge_slashes":
		setLimit(&conf.limits, d)
	case "access_log":
		return c.accessLog(conf, d)
	case "add_header":
		return c.compileAddHeader(conf, d)
	case "expires":
		return c.compileExpires(conf, d)
	case "return", "rewrite", "set", "if", "break":
		// Compiled by the rewrite package from the block itself.
	case "proxy_pass":
		conf.proxyPass = d
	}
	return nil
}

// disableSymlinks reads disable_symlinks as ngx_http_disable_symlinks.
func disableSymlinks(conf *locConf, d *nginxconf.Directive) error {
	mode, set := symlinksOff, false
	from := ""
	for _, a := range d.Args {
		switch {
		case a == "off":
			mode, set = symlinksOff, true
		case a == "on":
			mode, set = symlinksOn, true
		case a == "if_not_owner":
			mode, set = symlinksNotOwner, true
		case strings.HasPrefix(a, "from="):
			from = a[len("from="):]
		default:
			return confErr(d, "invalid parameter %q", a)
		}
	}
	if !set {
		return confErr(d, "%q must have \"off\", \"on\" or \"if_not_owner\" parameter", d.Name)
	}
	if len(d.Args) == 2 {
		if from == "" && !strings.HasPrefix(d.Args[0], "from=") && !strings.HasPrefix(d.Args[1], "from=") {
			return confErr(d, "duplicate parameters \"%s %s\"", d.Args[0], d.Args[1])
		}
		if mode == symlinksOff {
			return confErr(d, "\"from=\" cannot be used with \"off\" parameter")
		}
	}
	conf.symlinks, conf.symlinksFromRaw = mode, from
	return nil
}

func parseAccess(d *nginxconf.Directive) (accessRule, error) {
	r := accessRule{deny: d.Name == "deny"}
	if len(d.Args) != 1 {
		return r, confErr(d, "invalid number of arguments in %q directive", d.Name)
	}
	a := d.Args[0]
	switch {
	case a == "all":
		return r, nil
	case a == "unix:":
		r.unix = true
		return r, nil
	}
	if strings.Contains(a, "/") {
		ip, n, err := net.ParseCIDR(a)
		if err != nil {
			return r, confErr(d, "invalid parameter %q", a)
		}
		if !ip.Equal(n.IP) {
			// nginx accepts it with a warning about the low address bits.
			r.net = n
			return r, nil
		}
		r.net = n
		return r, nil
	}
	ip := net.ParseIP(a)
	if ip == nil {
		return r, confErr(d, "invalid parameter %q", a)
	}
	bits := 128
	if ip.To4() != nil {
		ip, bits = ip.To4(), 32
	}
	r.net = &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)}
	return r, nil
}

func (c *compiler) errorPage(conf *locConf, d *nginxconf.Directive) error {
	if len(d.Args) < 2 {
		return confErr(d, "invalid number of arguments in \"error_page\" directive")
	}
	uri := d.Args[len(d.Args)-1]
	codes := d.Args[:len(d.Args)-1]
	over := 0
	if last := codes[len(codes)-1]; strings.HasPrefix(last, "=") {
		codes = codes[:len(codes)-1]
		if last == "=" {
			over = -1
		} else {
			n, err := strconv.Atoi(last[1:])
			if err != nil || n <= 0 {
				return confErr(d, "invalid code %q", last)
			}
			over = n
		}
		if len(codes) == 0 {
			return confErr(d, "invalid number of arguments in \"error_page\" directive")
		}
	}
	// A level's first error_page replaces what it inherited.
	if !conf.errorPagesOwn() {
		conf.errorPages = map[int]*errorPage{}
	}
	for _, cs := range codes {
		n, err := strconv.Atoi(cs)
		if err != nil {
			return confErr(d, "invalid value %q", cs)
		}
		if n < 300 || n > 599 {
			return confErr(d, "value %q must be between 300 and 599", cs)
		}
		if n == 499 {
			return confErr(d, "value %q must be between 300 and 599", cs)
		}
		ep := &errorPage{code: over, uri: []byte(uri)}
		if strings.Contains(uri, "$") {
			v, err := c.rc.Complex(uri)
			if err != nil {
				return rewrite.At(err, d)
			}
			ep.value = v
		}
		conf.errorPages[n] = ep
	}
	conf.markErrorPagesOwn()
	return nil
}

// errorPagesOwn tracks whether errorPages belongs to this level (nginx
// inherits the whole list only when a level defines none).
func (c *locConf) errorPagesOwn() bool { return c.epOwner == c }
func (c *locConf) markErrorPagesOwn()  { c.epOwner = c }

func (c *compiler) compileServer(d *nginxconf.Directive, httpConf *locConf) error {
	conf := httpConf.clone()
	conf.epOwner = nil
	srv := &VirtualServer{File: d.File, Line: endLine(d), named: map[string]*Location{}}
	root := &Location{mod: modServer, File: d.File, Line: endLine(d), conf: conf,
		blocks: [][]*nginxconf.Directive{c.httpBlock.Block, d.Block}}
	srv.root = root
	if err := c.applyScoped(conf, d.Block, "server"); err != nil {
		return err
	}
	var sslCerts, sslKeys []string
	ssl := &SSLConfig{Protocols: []string{"TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"}}
	var listens []*Listen
	hasSSLListen := false
	for _, x := range d.Block {
		switch x.Name {
		case "listen":
			ls, err := parseListen(x)
			if err != nil {
				return &nginxconf.Error{Msg: err.Error(), File: x.File, Line: endLine(x)}
			}
			for _, l := range ls {
				for _, prev := range listens {
					if prev.Addr == l.Addr {
						return confErr(x, "a duplicate listen %s", l.Addr)
					}
				}
				if l.SSL && !hasSSLListen {
					hasSSLListen = true
					ssl.File, ssl.Line = x.File, endLine(x)
				}
				listens = append(listens, l)
			}
		case "server_name":
			for _, n := range x.Args {
				if strings.Contains(n, "/") {
					c.warn(confErr(x, "server name %q has suspicious symbols", n))
				}
				switch {
				case strings.EqualFold(n, "$hostname"):
					h, _ := os.Hostname()
					n = strings.ToLower(h)
				case !strings.HasPrefix(n, "~"):
					n = strings.ToLower(n)
				default:
					if _, err := c.regex(n[1:], serverNameCaseless(n)); err != nil {
						return rewrite.At(err, x)
					}
				}
				srv.Names = append(srv.Names, n)
			}
		case "ssl_certificate":
			if len(x.Args) == 1 {
				sslCerts = append(sslCerts, c.resolve(x.Args[0], c.cfg.ConfPrefix))
			}
		case "ssl_certificate_key":
			if len(x.Args) == 1 {
				sslKeys = append(sslKeys, c.resolve(x.Args[0], c.cfg.ConfPrefix))
			}
		case "ssl_protocols":
			ssl.Protocols = append([]string(nil), x.Args...)
		case "ssl_ciphers":
			if len(x.Args) == 1 {
				ssl.Ciphers = x.Args[0]
			}
		}
	}
	if len(sslCerts) == 0 {
		sslCerts, sslKeys = c.httpSSL()
	}
	if len(srv.Names) == 0 {
		srv.Names = []string{""}
	}
	// $server_name is the first name, without the leading dot of
	// ".example.com" (ngx_http_core_merge_srv_conf).
	srv.Name = strings.TrimPrefix(srv.Names[0], ".")
	srv.nameBytes = []byte(srv.Name)
	if len(listens) == 0 {
		listens = []*Listen{defaultListen(c.opts.Root, d.File, endLine(d))}
	}
	srv.listens = listens
	// As ngx_http_ssl_merge_srv_conf: every server with certificates has
	// their keys and loads them; whether an ssl address's default server
	// has one is checked with the sockets.
	if len(sslCerts) > 0 {
		if len(sslKeys) < len(sslCerts) {
			return &nginxconf.Error{Msg: fmt.Sprintf("no \"ssl_certificate_key\" is defined for certificate %q", c.certAsWritten(d))}
		}
		ssl.Certificates, ssl.Keys = sslCerts, sslKeys
		srv.SSL = ssl
		if c.opts.LoadCerts {
			if err := loadCertCheck(ssl); err != nil {
				return err
			}
			if err := c.sslMergeCheck(d, ssl); err != nil {
				return err
			}
		}
	}
	prog, err := c.rc.Program(d.Block)
	if err != nil {
		return err
	}
	if !prog.Empty() {
		srv.prog = prog
	}
	if err := c.finishConf(conf, root, d); err != nil {
		return err
	}
	c.rt.Servers = append(c.rt.Servers, srv)
	if err := c.compileLevel(srv, root, d.Block); err != nil {
		return err
	}
	for _, l := range listens {
		if err := c.addListen(srv, l); err != nil {
			return err
		}
	}
	return nil
}

// serverNameCaseless: nginx compiles a server_name regex caselessly when
// it has an uppercase letter (hosts are matched lowercased).
func serverNameCaseless(n string) bool { return strings.ContainsAny(n, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") }

// httpSSL returns ssl_certificate/_key set at http level.
func (c *compiler) httpSSL() (certs, keys []string) {
	for _, d := range c.cfg.Tree {
		if d.Name != "http" {
			continue
		}
		for _, x := range d.Block {
			switch x.Name {
			case "ssl_certificate":
				certs = append(certs, c.resolve(x.Args[0], c.cfg.ConfPrefix))
			case "ssl_certificate_key":
				keys = append(keys, c.resolve(x.Args[0], c.cfg.ConfPrefix))
			}
		}
	}
	return certs, keys
}

// applyScoped applies a block's simple directives with list-valued
// settings (error_page, allow/deny) starting fresh at this level.
func (c *compiler) applyScoped(conf *locConf, block []*nginxconf.Directive, ctx string) error {
	inheritedAccess := conf.access
	hasAccess := false
	for _, d := range block {
		if d.Name == "allow" || d.Name == "deny" {
			if !hasAccess {
				conf.access = nil
				hasAccess = true
			}
		}
	}
	if err := c.applyBlock(conf, block, ctx); err != nil {
		return err
	}
	if !hasAccess {
		conf.access = inheritedAccess
	}
	return nil
}

// compileLevel compiles the location blocks directly inside block into
// parent's level, in document order.
func (c *compiler) compileLevel(srv *VirtualServer, parent *Location, block []*nginxconf.Directive) error {
	var locs []*Location
	for _, d := range block {
		if d.Name != "location" {
			continue
		}
		loc, err := c.compileLocation(srv, parent, d)
		if err != nil {
			return err
		}
		if loc.mod == modNamed {
			// nginx accepts a repeated named location; the first is used.
			if _, dup := srv.named[loc.Name]; !dup {
				srv.named[loc.Name] = loc
			}
			continue
		}
		locs = append(locs, loc)
	}
	return buildLevel(&parent.children, locs)
}

func (c *compiler) compileLocation(srv *VirtualServer, parent *Location, d *nginxconf.Directive) (*Location, error) {
	loc := &Location{File: d.File, Line: endLine(d), parent: parent}
	loc.blocks = append(append([][]*nginxconf.Directive(nil), parent.blocks...), d.Block)
	switch len(d.Args) {
	case 2:
		switch d.Args[0] {
		case "=":
			loc.mod = modExact
		case "^~":
			loc.mod = modNoRegex
		case "~":
			loc.mod = modRegex
		case "~*":
			loc.mod = modRegexCI
		default:
			return nil, confErr(d, "invalid location modifier %q", d.Args[0])
		}
		loc.Name = d.Args[1]
	case 1:
		n := d.Args[0]
		switch {
		case strings.HasPrefix(n, "="):
			loc.mod, loc.Name = modExact, n[1:]
		case strings.HasPrefix(n, "^~"):
			loc.mod, loc.Name = modNoRegex, n[2:]
		case strings.HasPrefix(n, "~*"):
			loc.mod, loc.Name = modRegexCI, n[2:]
		case strings.HasPrefix(n, "~"):
			loc.mod, loc.Name = modRegex, n[1:]
		case strings.HasPrefix(n, "@"):
			loc.mod, loc.Name = modNamed, n
		default:
			loc.mod, loc.Name = modPrefix, n
		}
	default:
		return nil, confErr(d, "invalid number of arguments in \"location\" directive")
	}
	if parent.mod != modServer {
		switch {
		case parent.mod == modExact:
			return nil, confErr(d, "location %q cannot be inside the exact location %q", loc.Name, parent.Name)
		case parent.mod == modNamed:
			return nil, confErr(d, "location %q cannot be inside the named location %q", loc.Name, parent.Name)
		case loc.mod == modNamed:
			return nil, confErr(d, "named location %q can be on the server level only", loc.Name)
		case loc.mod != modRegex && loc.mod != modRegexCI && !strings.HasPrefix(loc.Name, parent.Name):
			return nil, confErr(d, "location %q is outside location %q", loc.Name, parent.Name)
		}
	}
	if loc.mod == modRegex || loc.mod == modRegexCI {
		re, err := c.regex(loc.Name, loc.mod == modRegexCI)
		if err != nil {
			return nil, rewrite.At(err, d)
		}
		loc.re = re
	}
	conf := parent.conf.clone()
	loc.conf = conf
	if err := c.applyScoped(conf, d.Block, "location"); err != nil {
		return nil, err
	}
	if conf.aliasSet && loc.mod == modNamed {
		return nil, confErr(d, "the \"alias\" directive cannot be used inside the named location")
	}
	for _, x := range d.Block {
		if x.Name == "alias" {
			// As clcf->alias: the length of this location's name, or the
			// whole path when the location is a regex.
			conf.aliasLoc, conf.aliasRegex = loc.Name, loc.mod == modRegex || loc.mod == modRegexCI
		}
	}
	if conf.proxyPass != nil && strings.HasSuffix(loc.Name, "/") && (loc.mod == modPrefix || loc.mod == modNoRegex || loc.mod == modExact) {
		loc.autoRedirect = true
		loc.escapedName = appendEscapeURI(nil, []byte(loc.Name))
	}
	prog, err := c.rc.Program(d.Block)
	if err != nil {
		return nil, err
	}
	if !prog.Empty() {
		loc.prog = prog
		for _, ifd := range prog.IfBlocks() {
			ic := conf.clone()
			ic.proxyPass = conf.proxyPass
			if err := c.applyBlock(ic, ifd.Block, "if"); err != nil {
				return nil, err
			}
			if err := c.finishConfIn(ic, loc, ifd, append(append([][]*nginxconf.Directive(nil), loc.blocks...), ifd.Block), true); err != nil {
				return nil, err
			}
			loc.ifConfs = append(loc.ifConfs, ic)
		}
	}
	if err := c.finishConf(conf, loc, d); err != nil {
		return nil, err
	}
	if err := c.compileLevel(srv, loc, d.Block); err != nil {
		return nil, err
	}
	return loc, nil
}

// buildLevel arranges locs for matching and reports duplicates as
// nginx's ngx_http_init_locations does.
func buildLevel(lv *level, locs []*Location) error {
	lv.exact = map[string]*Location{}
	lv.redirect = map[string]*Location{}
	seenPrefix := map[string]*Location{}
	// nginx finds duplicates in its sorted list, so the first reported is
	// the smallest name; the place is the later of the pair.
	var dup *Location
	noteDup := func(l *Location) {
		if dup == nil || l.Name < dup.Name {
			dup = l
		}
	}
	for _, l := range locs {
		switch l.mod {
		case modExact:
			if _, ok := lv.exact[l.Name]; ok {
				noteDup(l)
				continue
			}
			lv.exact[l.Name] = l
		case modPrefix, modNoRegex:
			if _, ok := seenPrefix[l.Name]; ok {
				noteDup(l)
				continue
			}
			seenPrefix[l.Name] = l
			lv.prefixes = append(lv.prefixes, l)
		case modRegex, modRegexCI:
			lv.regexes = append(lv.regexes, l)
		}
		if l.autoRedirect && len(l.Name) > 1 {
			key := l.Name[:len(l.Name)-1]
			if _, ok := lv.redirect[key]; !ok || l.mod == modExact {
				lv.redirect[key] = l
			}
		}
	}
	if dup != nil {
		return &nginxconf.Error{Msg: fmt.Sprintf("duplicate location %q", dup.Name), File: dup.File, Line: dup.Line}
	}
	sort.SliceStable(lv.prefixes, func(i, j int) bool { return lv.prefixes[i].Name < lv.prefixes[j].Name })
	lv.parentIdx = make([]int, len(lv.prefixes))
	for i := range lv.prefixes {
		lv.parentIdx[i] = -1
		for j := i - 1; j >= 0; j-- {
			if strings.HasPrefix(lv.prefixes[i].Name, lv.prefixes[j].Name) {
				lv.parentIdx[i] = j
				break
			}
		}
	}
	return nil
}

func (c *compiler) addListen(srv *VirtualServer, l *Listen) error {
	for _, a := range c.addrs {
		if a.Listen.Addr != l.Addr || a.Listen.Network != l.Network {
			continue
		}
		if l.Set {
			if a.Listen.Set {
				return &nginxconf.Error{Msg: "duplicate listen options for " + l.Addr, File: l.File, Line: l.Line}
			}
			def := a.Listen.DefaultServer
			nl := *l
			nl.DefaultServer = def
			a.Listen = &nl
		}
		if l.DefaultServer {
			if a.Default != nil && a.defaultExplicit() {
				return &nginxconf.Error{Msg: "a duplicate default server for " + l.Addr, File: l.File, Line: l.Line}
			}
			a.Default = srv
			a.Listen.DefaultServer = true
		}
		if l.SSL {
			a.Listen.SSL = true
		}
		if l.HTTP2 {
			a.Listen.HTTP2 = true
		}
		a.Servers = append(a.Servers, srv)
		return nil
	}
	cp := *l
	a := &Addr{Listen: &cp, Servers: []*VirtualServer{srv}, Default: srv}
	c.addrs = append(c.addrs, a)
	return nil
}

func (a *Addr) defaultExplicit() bool { return a.Listen.DefaultServer }

// buildSockets groups addresses by family and port as
// ngx_http_init_listening does and builds the name tables.
func (c *compiler) buildSockets() error {
	for _, a := range c.addrs {
		for _, s := range a.Servers {
			for _, n := range s.Names {
				if strings.HasPrefix(n, "~") {
					a.regexes = true
				}
			}
		}
		if len(a.Servers) > 1 || a.regexes {
			for _, s := range a.Servers {
				for _, n := range s.Names {
					if strings.HasPrefix(n, "~") {
						re, err := c.regex(n[1:], serverNameCaseless(n))
						if err != nil {
							return err
						}
						a.names.regex = append(a.names.regex, regexName{re: re, srv: s})
						continue
					}
					if err := a.names.add(n, s, a.Listen.Addr, c.warn); err != nil {
						return &nginxconf.Error{Msg: err.Error()}
					}
				}
			}
		}
	}
	type portKey struct {
		network string
		port    int
	}
	for _, a := range c.addrs {
		if !a.Listen.SSL {
			continue
		}
		// ngx_http_ssl_init: the default server of an ssl address must
		// have a certificate; nginx names that server's block.
		if def := a.Default; def.SSL == nil || len(def.SSL.Certificates) == 0 {
			return &nginxconf.Error{Msg: "no \"ssl_certificate\" is defined for the \"listen ... ssl\" directive", File: def.File, Line: def.Line}
		}
	}
	groups := map[portKey][]*Addr{}
	var order []portKey
	for _, a := range c.addrs {
		k := portKey{a.Listen.Network, a.Listen.Port}
		if a.Listen.Network == "unix" {
			k.network = "unix:" + a.Listen.Path
		}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], a)
	}
	for _, k := range order {
		addrs := groups[k]
		var wild *Addr
		var rest []*Addr
		for _, a := range addrs {
			if a.Listen.wildcard() {
				wild = a
			} else {
				rest = append(rest, a)
			}
		}
		if wild == nil {
			for _, a := range addrs {
				c.rt.Sockets = append(c.rt.Sockets, &Socket{Listen: a.Listen, Addrs: []*Addr{a}})
			}
			continue
		}
		s := &Socket{Listen: wild.Listen}
		for _, a := range rest {
			if a.Listen.Bind {
				c.rt.Sockets = append(c.rt.Sockets, &Socket{Listen: a.Listen, Addrs: []*Addr{a}})
				continue
			}
			s.Addrs = append(s.Addrs, a)
		}
		s.Addrs = append(s.Addrs, wild)
		c.rt.Sockets = append(c.rt.Sockets, s)
	}
	return nil
}

// regex compiles a location or server_name regex with the rewrite
// package's engine (PCRE syntax, named captures as variables).
func (c *compiler) regex(expr string, caseless bool) (Regex, error) {
	if CompileRegex != nil && c.rc == nil {
		return CompileRegex(expr, caseless)
	}
	return c.rc.Regex(expr, caseless)
}

// finishConf compiles the values of conf that requests evaluate: root or
// alias, index, try_files, types, and the proxy handler.
func (c *compiler) finishConf(conf *locConf, loc *Location, d *nginxconf.Directive) error {
	return c.finishConfIn(conf, loc, d, loc.blocks, false)
}

func (c *compiler) finishConfIn(conf *locConf, loc *Location, d *nginxconf.Directive, blocks [][]*nginxconf.Directive, inIf bool) error {
	conf.rootValue, conf.aliasValue, conf.rootStatic = nil, nil, ""
	if conf.aliasSet {
		v, err := c.rc.Complex(c.cfg.PrefixPath(conf.alias))
		if err != nil {
			return rewrite.At(err, d)
		}
		conf.aliasValue = v
	} else {
		root := conf.root
		if len(root) > 1 && strings.HasSuffix(root, "/") {
			root = root[:len(root)-1]
		}
		root = c.cfg.PrefixPath(root)
		v, err := c.rc.Complex(root)
		if err != nil {
			return rewrite.At(err, d)
		}
		if s, ok := v.Static(); ok {
			conf.rootStatic = s
		} else {
			conf.rootValue = v
		}
	}
	conf.symlinksFrom = nil
	if conf.symlinksFromRaw != "" {
		v, err := c.rc.Complex(conf.symlinksFromRaw)
		if err != nil {
			return rewrite.At(err, d)
		}
		conf.symlinksFrom = v
	}
	conf.index = conf.index[:0:0]
	for _, ix := range conf.indexRaw {
		v, err := c.rc.Complex(ix)
		if err != nil {
			return rewrite.At(err, d)
		}
		conf.index = append(conf.index, v)
	}
	conf.tryFiles, conf.tryFilesDir = nil, nil
	for i, tf := range conf.tryFilesRaw {
		// ngx_http_try_files: an argument but the last written with a
		// trailing "/" tests for a directory, the slash dropped.
		dir := strings.HasSuffix(tf, "/") && i+1 < len(conf.tryFilesRaw)
		if dir {
			tf = tf[:len(tf)-1]
		}
		conf.tryFilesDir = append(conf.tryFilesDir, dir)
		v, err := c.rc.Complex(tf)
		if err != nil {
			return &nginxconf.Error{Msg: err.Error(), File: conf.tryFilesFile, Line: conf.tryFilesLine}
		}
		conf.tryFiles = append(conf.tryFiles, v)
	}
	conf.charsetVar = nil
	if strings.HasPrefix(conf.charset, "$") {
		// ngx_http_set_charset_slot: the rest is one variable's name.
		conf.charsetVar = c.rc.Variable(conf.charset[1:])
	}
	if conf.charset != "" {
		conf.charsetBytes = []byte(conf.charset)
	}
	conf.typesBytes = make(map[string][]byte, len(conf.types))
	for ext, t := range conf.types {
		conf.typesBytes[ext] = []byte(t)
	}
	conf.defaultTypeBytes = []byte(conf.defaultType)
	conf.proxy = nil
	if conf.proxyPass != nil {
		p, err := upstream.CompileProxyPass(conf.proxyPass, blocks, c.rt.groups, c.rc)
		if err != nil {
			return rewrite.At(err, conf.proxyPass)
		}
		// An "if" that inherits the location's proxy_pass keeps its URI
		// part; one with its own may have none.
		ownPass := !inIf || slices.Contains(d.Block, conf.proxyPass)
		if p != nil && p.HasURIPart() && ownPass && (inIf || loc.mod == modRegex || loc.mod == modRegexCI || loc.mod == modNamed) {
			return confErr(conf.proxyPass, "\"proxy_pass\" cannot have URI part in location given by regular expression, or inside named location, or inside \"if\" statement, or inside \"limit_except\" block")
		}
		if p != nil {
			conf.proxy = p
		}
	}
	return nil
}

// certAsWritten is the last ssl_certificate of a server, or of http when
// the server inherits them, as written: nginx names it so.
func (c *compiler) certAsWritten(server *nginxconf.Directive) string {
	for _, block := range [][]*nginxconf.Directive{server.Block, c.httpBlock.Block} {
		name := ""
		for _, d := range block {
			if d.Name == "ssl_certificate" && len(d.Args) == 1 {
				name = d.Args[0]
			}
		}
		if name != "" {
			return name
		}
	}
	return ""
}
