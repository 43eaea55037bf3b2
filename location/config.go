package location

import (
	"net"
	"sync/atomic"
	"time"

	"github.com/gonginx/gonginx/location/limit"
	"github.com/gonginx/gonginx/location/mp4"
	"github.com/gonginx/gonginx/location/realip"
	"github.com/gonginx/gonginx/location/referer"
	"github.com/gonginx/gonginx/location/syslog"
	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/rewrite/http1"
	"github.com/gonginx/gonginx/rewrite/http2"
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
	// TicketSeed derives the session ticket keys of servers without
	// ssl_session_ticket_key (processes given the same seed resume each
	// other's sessions, as nginx's workers share the master's keys); nil
	// draws one.
	TicketSeed []byte
	// Zones holds the limit_req zones (shared with other workers, kept
	// across reloads); nil makes each Compile its own.
	Zones *limit.Registry
	// UpstreamZones holds the upstream{} zones the master shared; nil
	// makes each Compile its own.
	UpstreamZones *upstream.ZoneRegistry
	// Slots are the process's worker_connections, which backend
	// connections take; nil: no limit.
	Slots *upstream.ConnSlots
	// CompileStream compiles the stream{} block (package location/stream's
	// Compile); without it a stream{} block is refused when serving.
	CompileStream func(cfg *nginxconf.Config, rt *Router, opts Options) (StreamConfig, error)
	// CompileMail compiles the mail{} block (package location/mail's
	// Compile); nil result: no mail{} block.
	CompileMail func(cfg *nginxconf.Config, rt *Router, opts Options) (MailConfig, error)
}

// DefaultAccessLog is nginx's NGX_HTTP_LOG_PATH, under the prefix: the
// access log of a configuration that names none.
const DefaultAccessLog = "logs/access.log"

// Router is a compiled configuration: the sockets to listen on and, for
// each, the servers and their locations.
type Router struct {
	uidReset *rewrite.Var // $uid_reset, which "set" may fill
	Sockets  []*Socket
	Servers  []*VirtualServer
	Warnings []*nginxconf.Error // "[warn]" lines from compiling
	// Unserved lists the tuning-only directives the config uses (gonginx
	// ignores them and says so once at start-up), in first-seen order.
	Unserved []string

	PidFile string // "pid" in the main context ("" when not set)
	// WorkerConnections is events{}'s worker_connections (512 when not
	// set).
	WorkerConnections int
	// Debug is events{}'s debug_connection list (nil: none).
	Debug *DebugConnections
	// Zones are the limit zones, which a master shares with its workers.
	Zones       []ZoneSpec
	ordersFirst bool // limit_conn zones: see OrdersFirst
	// AccessLogs are the access_log paths without variables, which a
	// master opens for its workers.
	AccessLogs []string
	// DefaultAccessLog is the default access log's path when a server
	// uses it (no access_log at any of its levels): its directory is made
	// when missing, as the default pid file's.
	DefaultAccessLog string
	// Stream is the compiled stream{} block (nil without one).
	Stream StreamConfig
	// Mail is the compiled mail{} block (nil without one).
	Mail MailConfig

	cfg      *nginxconf.Config
	charsets charsetSet
	// ticketSeed derives session ticket keys (Options.TicketSeed).
	ticketSeed []byte
	slots      int // rewrite.State value slots
	// readsSent: a name of the configuration is a $sent_http_* one, or
	// ssi is on somewhere (its echo, set and if look names up when a
	// response is filtered): each written head is kept for them.
	readsSent bool
	// readsUpstream: the same for $upstream_http_* and
	// $upstream_cookie_*: each backend head is copied whole for them
	// (rewrite.State.UpstreamUnread).
	readsUpstream bool
	rc            *rewrite.Compiler
	groups        *upstream.Groups
	// syslogPeers are the "syslog:" logs' sockets, closed with the
	// configuration.
	syslogPeers []*syslog.Peer
	// logCaches are the open_log_file_cache descriptors, likewise.
	logCaches []*logFileCache
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
	// hostLimits: some server of the address parses heads under other
	// limits than the default one, so the host a request names switches
	// them (nginx reads them from r->srv_conf); maxHead is the largest.
	hostLimits bool
	maxHead    int
	// h2 is HTTP2Config's, made on first use.
	h2 atomic.Pointer[http2.Config]
}

// VirtualServer is one server{} block.
type VirtualServer struct {
	Name  string // first server_name, $server_name
	Names []string
	File  string
	Line  int

	SSL *SSLConfig // nil unless some listen of this server has "ssl" or ssl_certificate is set
	// sslVerify is ssl_verify_client, checked on its TLS requests.
	sslVerify verifyMode
	root      *Location // server-level configuration and the top level of locations
	prog      *rewrite.Program
	named     map[string]*Location
	listens   []*Listen

	nameBytes []byte // Name for server_name_in_redirect, converted once; read-only
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
	limitExcept  *limitExcept
}

// level holds the locations directly inside one block, arranged for
// matching without allocation.
type level struct {
	exact     map[string]*Location
	prefixes  []*Location // sorted by name
	parentIdx []int       // index of the longest other prefix of prefixes[i], or -1
	regexes   []*Location // in config order
	redirect  map[string]*Location
	// exactLens and redirectLens have bit lenBit(len(k)) set for each key
	// k of exact and redirect: a URI of no such length skips the map
	// (a string key's lookup is ~150 instructions, and most requests
	// match no exact location).
	exactLens, redirectLens uint64
}

// lenBit is a key length's bit in level's length masks (lengths of 63
// and more share one).
func lenBit(n int) uint64 { return 1 << min(n, 63) }

// locConf is the merged configuration a request runs with.
type locConf struct {
	mirror          mirrorConf // mirror, mirror_request_body (mirror.go)
	logSubrequest   bool
	limitReq        limitReqConf
	limitConn       limitConnConf
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
	autoindexFormat uint8 // formatHTML, formatJSON, formatJSONP, formatXML
	autoindexLocal  bool  // autoindex_localtime
	autoindexRound  bool  // autoindex_exact_size off: sizes rounded to K, M, G
	randomIndex     bool
	sliceSize       int64 // slice; 0: off
	defaultType     string
	types           map[string]string
	typesLevel      *locConf // the level whose types blocks built types
	charset         string
	sourceCharset   string       // source_charset ("" off)
	overrideCharset bool         // override_charset
	sourceVar       *rewrite.Var // source_charset $name
	sourceBytes     []byte
	charsetTypes    map[string]bool
	charsetAny      bool // charset_types *
	errorPages      map[int]*errorPage
	serverTokens    bool
	absRedirect     bool
	nameInRedir     bool
	portInRedir     bool
	internal        bool
	access          []accessRule
	auth            authConf // satisfy, auth_basic, auth_request (access.go)
	logNotFound     bool
	etag            bool
	ims             int // 0 exact, 1 before, 2 off
	maxBody         int64
	dav             davConf // dav.go
	maxRanges       int     // max_ranges; -1: no limit
	addBefore       []byte  // add_before_body URI (bodyfilters.go)
	addAfter        []byte  // add_after_body URI
	additionTypes   typeSet // addition_types
	ssi             ssiConf
	h2              http2Conf // http2.go
	keepalive       time.Duration
	keepaliveHeader int              // keepalive_timeout's second parameter (Keep-Alive: timeout=N)
	keepaliveReqs   int              // keepalive_requests
	keepaliveTime   time.Duration    // keepalive_time
	keepaliveOff    uint8            // keepalive_disable: kaMSIE6, kaSafari
	msiePadding     bool             // msie_padding
	msieRefresh     bool             // msie_refresh (msierefresh.go)
	flv             bool             // flv (flv.go)
	mp4             bool             // mp4: the location's handler (mp4.go)
	mp4Conf         mp4.Config       // mp4_buffer_size, mp4_max_buffer_size, mp4_start_key_frame
	postAction      []byte           // post_action URI or @name; nil: off (postaction.go)
	resetTimedout   bool             // reset_timedout_connection
	headerTimeout   time.Duration    // client_header_timeout (server level)
	bodyTimeout     time.Duration    // client_body_timeout
	limits          http1.Limits     // header buffers and parsing switches (server level)
	limitRate       *rewrite.Complex // limit_rate: bytes per second (nil: none)
	limitRateAfter  *rewrite.Complex // limit_rate_after
	stubStatus      bool             // stub_status: the page of connection counters
	emptyGif        bool             // empty_gif: the location's handler
	sendTimeout     time.Duration
	postponeOutput  int32 // postpone_output: a shorter head waits for body bytes
	lingering       int   // lingering_close: lingerOff, lingerOn, lingerAlways
	lingeringTime   time.Duration
	lingeringWait   time.Duration    // lingering_timeout
	accessLogs      []*accessLogRule // this level's access_log lines (inherited when a level has none)
	accessOff       bool             // access_log off at the level that set accessLogs
	logCache        *logFileCache    // open_log_file_cache (nil: off)
	errorLogs       []errorLogRule   // error_log lines of the nearest level that has some; none: the main log
	errorLogsDebug  bool             // one of errorLogs takes debug lines (made with it)
	proxyPass       *nginxconf.Directive
	recursiveEP     bool
	epOwner         *locConf
	addHeaders      []addHeader // this level's add_header lines, or the inherited ones (headers.go)
	addTrailers     []addHeader // likewise add_trailer
	noChunked       bool        // chunked_transfer_encoding off
	expires         expiresConf
	sub             *subConf  // sub_filter lines of this level or inherited (subfilter.go)
	subOnce         bool      // sub_filter_once
	subLastModified bool      // sub_filter_last_modified
	subTypes        typeSet   // sub_filter_types
	img             imageConf // image_filter* (imagefilter.go)
	gz              gzipConf  // the gzip family (gzip.go)
	realip          realip.Config
	refList         *referer.List    // valid_referers lines of refOwner's level
	refOwner        *locConf         // the level refList belongs to
	browser         browserConf      // modern_browser, ancient_browser (browser.go)
	refDone         *locConf         // the level whose referer was compiled from refList
	referer         *referer.Matcher // what $invalid_referer tests here
	secureLink      secureLinkConf
	userid          useridConf
	realipOwner     *locConf // the level whose set_real_ip_from list realip.From is

	// Compiled by finishConf.
	rootStatic string // absolute root when it has no variables
	// fcgiSplit is fastcgi_split_path_info and fastcgi_index
	// (rewrite.State.FastCGI); nil when neither is set.
	fcgiSplit        *rewrite.FastCGISplit
	rootValue        *rewrite.Complex
	aliasValue       *rewrite.Complex
	symlinksFrom     *rewrite.Complex
	index            []*rewrite.Complex
	tryFiles         []*rewrite.Complex
	tryFilesDir      []bool // the argument was written ending in "/"
	charsetBytes     []byte
	charsetVar       *rewrite.Var // charset $name: the value names the charset per request
	charsetIdx       int          // charset's number in Router.charsets (-1: off or a variable)
	sourceIdx        int          // source_charset's (-1: off)
	typesBytes       map[string][]byte
	defaultTypeBytes []byte
	proxy            Proxy
	proxyTyped       bool // the proxy answers with the location's type and allows ranges (memcached_pass)
	cacheLock        bool // the proxy's cache has proxy_cache_lock: first requests reach it in accept order

	// charsetIdle: charset off, and no subrequest can follow the head
	// (ssi, addition, mirror, slice, post_action) to recode to the
	// charset it names: the main response's filter has nothing to do
	// unless a backend sends X-Accel-Charset (charsetfilter.go).
	charsetIdle bool
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
		root:           "html",
		indexRaw:       []string{"index.html"},
		defaultType:    "text/plain",
		types:          map[string]string{"html": "text/html", "gif": "image/gif", "jpg": "image/jpeg"},
		charsetTypes:   map[string]bool{"text/html": true, "text/xml": true, "text/plain": true, "text/vnd.wap.wml": true, "application/javascript": true, "application/rss+xml": true},
		serverTokens:   true,
		subOnce:        true,
		subTypes:       typeSet{types: map[string]bool{"text/html": true}},
		img:            defaultImageConf,
		absRedirect:    true,
		portInRedir:    true,
		logNotFound:    true,
		etag:           true,
		maxBody:        1 << 20,
		dav:            defaultDAV,
		maxRanges:      -1,
		additionTypes:  typeSet{types: map[string]bool{"text/html": true}},
		ssi:            defaultSSIConf(),
		h2:             defaultHTTP2,
		keepalive:      75 * time.Second,
		keepaliveReqs:  1000,
		keepaliveTime:  time.Hour,
		keepaliveOff:   kaMSIE6,
		msiePadding:    true,
		headerTimeout:  60 * time.Second,
		bodyTimeout:    60 * time.Second,
		limits:         http1.DefaultLimits,
		sendTimeout:    60 * time.Second,
		postponeOutput: 1460,
		lingering:      lingerOn,
		lingeringTime:  30 * time.Second,
		lingeringWait:  5 * time.Second,
		gz:             defaultGzipConf,
		userid:         defaultUserid,
		mp4Conf:        mp4.DefaultConfig,
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
	// proxy_pass, stub_status, empty_gif, flv and mp4 (content handlers)
	// are not inherited by nested locations, nor is try_files (its module
	// has no merge: a server's try_files serves only requests no location
	// matches, and a named location it falls back to does not try again).
	n.proxyPass, n.stubStatus, n.emptyGif, n.flv, n.mp4 = nil, false, false, false, false
	n.tryFilesRaw = nil
	return &n
}
