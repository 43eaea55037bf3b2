package rewrite

// This file is the contract other packages build against. Bodies live in
// the other files of the package.

import (
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/gonginx/gonginx/rewrite/http1"
)

// State is the per-request evaluation state. It is reset, not reallocated,
// between requests on a connection.
type State struct {
	Req *http1.Request
	// Stream is the stream session being served (package location/stream,
	// for the variables it defines); nil for HTTP.
	Stream any
	// Conn is the client connection of Req, for what the response has
	// done so far ($sent_http_*, $bytes_sent, $limit_rate); nil in tests
	// that evaluate without one.
	Conn http1.Stream

	// Trace, when set, is told each step of the request's way through
	// the configuration, for "gonginx explain"; nil when serving (every
	// trace point is behind a nil check).
	Trace func(step, detail string)

	// Set by the packages above before they evaluate anything that needs
	// them (nginx registers these variables from those modules).
	ServerName   string // $server_name: first name of the chosen server
	DocumentRoot string // $document_root of the current location
	ProxyHost    string // $proxy_host: host[:port] of proxy_pass
	// ProxyBodyLength is $proxy_internal_body_length once proxy_pass made
	// its request (-1: no length sent), ProxyChunked its
	// $proxy_internal_chunked; ProxyMade says they were set.
	ProxyBodyLength int64
	ProxyChunked    bool
	ProxyMade       bool
	ProxyPort       string // $proxy_port
	UpstreamAddr    string // $upstream_addr
	Status          int    // $status
	// RegexFailed is set by a Regex's Match that hit the match limit
	// (catastrophic backtracking): nginx's alert line
	// (`pcre2_match() failed: -47 on "SUBJECT" using "PATTERN"`), its
	// ngx_http_regex_exec's NGX_ERROR, which a location, rewrite or if
	// answers with 500. Whoever checks it after its match clears it.
	RegexFailed string
	// LocationChanged: a "rewrite ... break" changed the URI after the
	// location was chosen (nginx's r->valid_location = 0), so proxy_pass
	// sends the whole URI without its URI part; finding a location again
	// clears it.
	LocationChanged bool
	// ErrStatus is the status an error_page chose for whatever answers
	// its URI (nginx's r->err_status), 0 for none.
	ErrStatus int
	// ContentType is the location's type for the URI, for a handler
	// that answers with it (memcached_pass; nginx's
	// ngx_http_set_content_type), set by the caller before it runs.
	ContentType []byte
	// UpstreamTrailers are the trailers a backend sent (gRPC), which go
	// out before add_trailer's.
	UpstreamTrailers []http1.Header
	// RequestID is $request_id's 16 random bytes, drawn on first use
	// (unless set before).
	RequestID [16]byte
	// ConnStart is when the connection was accepted ($connection_time).
	ConnStart time.Time
	// Stats are the server's connection counters ($connections_*).
	Stats *ConnStats
	// RequestBody is the client body when it was read into memory
	// ($request_body; State-owned, see SetRequestBody), RequestBodyFile
	// the temporary file it was written to ($request_body_file).
	RequestBody     []byte
	RequestBodyFile string
	// ChunkedLength is a chunked body's length once it was read in full
	// (ChunkedRead): $content_length then gives it, as nginx sets
	// headers_in.content_length_n while reading.
	ChunkedLength int64
	ChunkedRead   bool
	hasBody       bool
	// RequestBodyWhole: RequestBody is the whole client body, read in
	// full, so a later proxy pass (after an X-Accel-Redirect or an
	// error_page) sends it again, as nginx keeps r->request_body.
	RequestBodyWhole bool
	// bodyTemp is the client body's temporary file (RequestBodyFile),
	// kept for the whole request so a later proxy pass sends it again,
	// and removed at its end unless bodyTempKeep
	// (client_body_in_file_only on).
	bodyTemp     *os.File
	bodyTempKeep bool
	// RequestComplete: the response was finished, not cut short
	// ($request_completion "OK"); set by location before logging.
	RequestComplete bool

	// Request accounting for the access log variables, set by location
	// and upstream as the request runs.
	Start                time.Time     // first byte of the request ($request_time)
	RequestLength        int64         // $request_length
	BytesSent            int64         // $bytes_sent
	BodyBytesSent        int64         // $body_bytes_sent
	Connection           uint64        // $connection
	ConnectionRequests   int           // $connection_requests
	Pipelined            bool          // $pipe: "p" when another request was already buffered
	UpstreamStatus       int           // $upstream_status; 0: no upstream
	UpstreamResponseTime time.Duration // $upstream_response_time; -1: no upstream
	RequestLine          []byte        // $request as received, for a request line that could not be parsed
	// UpstreamTries lists each server tried, in order, when there were
	// several: $upstream_addr, $upstream_status and $upstream_response_time
	// then join their values with ", " as nginx does.
	UpstreamTries []UpstreamTry
	// FoundEmpty is set by a getter that appends nothing for a variable
	// that has a value, an empty one (nginx's found, zero length): the
	// access log then writes nothing where it writes "-" for no value.
	FoundEmpty bool

	logScratch []byte // EvalLog's copy of a value being escaped

	// Captures from the last successful regex match (rewrite, location
	// regex, if, server_name regex): pairs of offsets into CaptureSubject.
	Captures       []int
	CaptureSubject []byte

	// Values of variables created by "set" (and map results cached for the
	// request), indexed by the Compiler's variable index.
	Values [][]byte
	Valid  []bool

	// Buf holds the values Program.Run produces for the rest of the
	// request (see "Scratch memory" in the package doc); reset per request.
	Buf []byte
	// argsBuf holds the value of "set $args", which r.Args points at.
	argsBuf []byte
	// Kept is a content handler's record kept from one request of the
	// connection to the next (the proxy's exchange): Reset(nil), the
	// connection's end or park, gives it back (Release). A sync.Pool's
	// Get and Put per proxied request cost ~170 instructions.
	Kept interface{ Release() }
	// UpstreamLog names the backend whose response is being sent, for
	// the ", upstream:" part of an error line logged meanwhile.
	UpstreamLog interface{ UpstreamLogName() string }
	// UpstreamName is the last backend tried, named after ", upstream:"
	// in error lines for the rest of the request, as nginx's log handler
	// names r->upstream's peer: its scheme, server and the URI sent,
	// joined only when a line is written (AppendUpstreamName).
	UpstreamName UpstreamName
	// upstream is the backend's response head (vars_upstream.go).
	upstream upstreamHead
	// UpstreamUnread: nothing of the configuration reads
	// $upstream_http_* or $upstream_cookie_* (no name of it is one, no
	// ssi looks names up), so SetUpstreamHeaders copies only the headers
	// the modules read after the response buffer is reused. location
	// sets it with the configuration; Reset keeps it.
	UpstreamUnread bool
	// upstreamPending: the last of UpstreamTries is BeginUpstream's.
	upstreamPending bool
	passStart       int // index in UpstreamTries of the current pass's first try
	// SentTrailers holds the trailer lines sent so far ("Name: value\r\n"
	// each), for $sent_trailer_*; the trailers filter appends to it.
	SentTrailers []byte

	// Files is the running location's view of the file system: "if" file
	// tests (-f, -d, -e, -x) under its disable_symlinks, $document_root
	// and $request_filename with root or alias. Nil: DocumentRoot and a
	// plain stat. Kept across Reset.
	Files Files
	// FastCGI is the running location's fastcgi_split_path_info and
	// fastcgi_index, for $fastcgi_script_name and $fastcgi_path_info
	// (nil: neither). Set by location as it picks a location.
	FastCGI  *FastCGISplit
	fcgiMemo fcgiSplitMemo
	// TryLog, when set, logs the error of an upstream try that failed
	// before the request moved on to another server.
	TryLog TryLogger

	// AccelRedirect: the backend answered with an X-Accel-Redirect to
	// follow (upstream sets it, location makes the internal redirect and
	// clears it); the URI is UpstreamHeader("x_accel_redirect").
	AccelRedirect bool
	// AccelCharset is a backend's X-Accel-Charset (nginx's
	// headers_out.override_charset) for the charset filter; it slices
	// the copied upstream head, so a new head clears it.
	AccelCharset []byte

	// CacheStatus is $upstream_cache_status ("" when the request did not
	// look in a cache): MISS, BYPASS, EXPIRED, STALE, UPDATING,
	// REVALIDATED or HIT, set by upstream's proxy cache.
	CacheStatus string
	// CacheLastModified and CacheETag are the cached response's, while
	// an expired entry is revalidated ($upstream_cache_last_modified,
	// $upstream_cache_etag); CacheLastModified < 0: none.
	CacheLastModified int64
	CacheETag         []byte
	// UnsatisfiableSize is the length of a cached body a Range did not
	// fit (the proxy answered 416: "Content-Range: bytes */N"); -1 none.
	UnsatisfiableSize int64
	// CacheOrder, when set, is the request's place among others that
	// nginx's one event loop would run one after the other: the
	// connection's in accept order (location's limit_conn ordering), or
	// a subrequest's run beside its page. The proxy passes it once the
	// request holds proxy_cache_lock or waits for it, answered from the
	// cache, or its request was sent to the backend (at the latest when
	// it ends), so requests that came together take the lock in the
	// order they came.
	CacheOrder interface{ Pass() }
	// CacheBackground, set by location in a subrequest, queues a
	// proxy_cache_background_update of it for once the main response
	// was sent, as nginx's background subrequest runs beside the page
	// (nil: the proxy runs it after its own response). CacheBackgroundRun
	// marks that queued run: the proxy fetches and stores, sends nothing.
	// done, called once that run ended (or will not run), ends the
	// key's updating mark the stale answer took: as nginx's background
	// subrequest shares its request's cache, the key stays marked
	// updating until the update ran.
	CacheBackground    interface{ QueueBackgroundUpdate(done func()) bool }
	CacheBackgroundRun bool
}

// TryLogger is implemented by the location package for the request.
type TryLogger interface {
	LogTryError(err error)
}

// RegexAlerter, when the TryLogger has it, logs the alert of a regex that
// hit its match limit where the request goes on (a map's search, which
// then gives its default): ngx_http_regex_exec logs it wherever it runs.
type RegexAlerter interface {
	LogRegexFailed(msg string)
}

// Files is implemented by the location package for the request.
type Files interface {
	// TestFile stats path for a file test; ok is false when it could not
	// be opened (every test is then false, and "!" ones true).
	TestFile(path []byte) (fi FileInfo, ok bool)
	AppendDocumentRoot(dst []byte) []byte
	AppendRequestFilename(dst []byte) []byte
}

// FileInfo is what the file tests read of a file.
type FileInfo struct {
	Regular, Dir bool
	Exec         bool // the owner's execute bit, whatever the type (nginx's ngx_is_exec)
}

// Reset prepares s for the next request on the same connection, keeping
// its buffers.
func (s *State) Reset(req *http1.Request) {
	s.DropBodyFile()
	if req == nil && s.Kept != nil {
		s.Kept.Release()
		s.Kept = nil
	}
	s.Req, s.Conn = req, nil
	s.ServerName, s.DocumentRoot, s.ProxyHost, s.ProxyPort, s.UpstreamAddr = "", "", "", "", ""
	s.FastCGI = nil
	s.ProxyBodyLength, s.ProxyChunked, s.ProxyMade = 0, false, false
	s.ChunkedLength, s.ChunkedRead = 0, false
	s.RegexFailed = ""
	s.Status, s.LocationChanged, s.ErrStatus, s.ContentType, s.UpstreamTrailers = 0, false, 0, nil, nil
	s.AccelRedirect, s.AccelCharset = false, nil
	s.CacheStatus, s.CacheLastModified, s.CacheETag = "", -1, s.CacheETag[:0]
	s.UnsatisfiableSize = -1
	s.CacheOrder, s.CacheBackground, s.CacheBackgroundRun = nil, nil, false
	s.RequestID = [16]byte{}
	s.RequestBody, s.RequestBodyFile, s.hasBody = s.RequestBody[:0], "", false
	s.RequestBodyWhole = false
	s.RequestComplete = false
	s.Start, s.RequestLength, s.BytesSent, s.BodyBytesSent = time.Time{}, 0, 0, 0
	s.ConnectionRequests, s.Pipelined = 0, false
	s.UpstreamStatus, s.UpstreamResponseTime = 0, -1
	s.RequestLine = nil
	s.UpstreamTries, s.passStart = s.UpstreamTries[:0], 0
	s.upstream.reset()
	s.upstreamPending = false
	s.UpstreamLog = nil
	s.UpstreamName.Scheme, s.UpstreamName.Server, s.UpstreamName.URI = "", "", s.UpstreamName.URI[:0]
	s.SentTrailers = s.SentTrailers[:0]
	s.Captures = s.Captures[:0]
	s.CaptureSubject = s.CaptureSubject[:0]
	for i := range s.Valid {
		s.Valid[i] = false
	}
	s.Buf = s.Buf[:0]
}

// SetRequestBody records the client body read into memory for
// $request_body, copying it (the reader's buffer goes back to its pool
// before the access log is written).
func (s *State) SetRequestBody(b []byte) {
	s.RequestBody = append(s.RequestBody[:0], b...)
	s.hasBody = true
}

// KeepBodyFile gives the State the client body's temporary file for the
// rest of the request; keep leaves it on disk at the end.
func (s *State) KeepBodyFile(f *os.File, keep bool) {
	s.bodyTemp, s.bodyTempKeep = f, keep
}

// BodyFile is the client body's temporary file kept by KeepBodyFile, or
// nil.
func (s *State) BodyFile() *os.File { return s.bodyTemp }

// DropBodyFile closes the client body's temporary file at the end of the
// request and removes it, as nginx's pool cleanup does.
// Its first test is inlined at the callers (the rest is dropBodyFileRun): the
// common case costs a test, not a call.
func (s *State) DropBodyFile() {
	if s.bodyTemp == nil {
		return
	}
	s.dropBodyFileRun()
}

// dropBodyFileRun is DropBodyFile past its first test.
func (s *State) dropBodyFileRun() {
	if s.bodyTemp == nil {
		return
	}
	s.bodyTemp.Close()
	if !s.bodyTempKeep {
		os.Remove(s.bodyTemp.Name())
	}
	s.bodyTemp = nil
}

// ConnStats are a server's connection counters, as nginx's stub_status
// module reads them: connections open, reading a request head, and
// serving a request (the others wait, idle between requests).
type ConnStats struct {
	Active, Reading, Writing atomic.Int64
	// Waiting counts connections idle between requests (or before the
	// first, or lingering), as nginx's reusable connections.
	Waiting atomic.Int64
	// Accepted counts connections accepted (all are handled), Requests
	// the requests whose first bytes arrived.
	Accepted, Requests atomic.Int64
}

// AppendStubStatus appends stub_status's page for these counters.
func (st *ConnStats) AppendStubStatus(dst []byte) []byte {
	active, reading, writing := st.Active.Load(), st.Reading.Load(), st.Writing.Load()
	accepted := st.Accepted.Load()
	dst = append(dst, "Active connections: "...)
	dst = strconv.AppendInt(dst, active, 10)
	dst = append(dst, " \nserver accepts handled requests\n "...)
	dst = strconv.AppendInt(dst, accepted, 10)
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, accepted, 10)
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, st.Requests.Load(), 10)
	dst = append(dst, " \nReading: "...)
	dst = strconv.AppendInt(dst, reading, 10)
	dst = append(dst, " Writing: "...)
	dst = strconv.AppendInt(dst, writing, 10)
	dst = append(dst, " Waiting: "...)
	dst = strconv.AppendInt(dst, max(st.Waiting.Load(), 0), 10)
	return append(dst, " \n"...)
}

// UpstreamTry is one server tried for a proxied request.
type UpstreamTry struct {
	Addr   string
	Status int // 502 or 504 for a failed connect
	Time   time.Duration
	// ConnectTime and HeaderTime: from the start of the try until the
	// connection was up and until the response head was read; -1 when
	// the try did not get that far ($upstream_connect_time and
	// $upstream_header_time print "-").
	ConnectTime, HeaderTime time.Duration
	// ResponseLength is the body bytes read, BytesReceived every byte
	// read and BytesSent every byte written to the server.
	ResponseLength, BytesReceived, BytesSent int64
	// NewPass marks the first try of a later pass through the proxy
	// (the request came back after an internal redirect): the
	// $upstream_* variables put " : " before it, as nginx.
	NewPass bool
}

// StartUpstreamPass is called as the proxy starts on a request: its tries
// from here on are one pass.
func (s *State) StartUpstreamPass() {
	s.passStart = len(s.UpstreamTries)
	if s.upstreamPending {
		s.passStart--
	}
}

// appendTrySep appends what goes before a try after the first: ", "
// within a pass, " : " where a new one starts.
func appendTrySep(dst []byte, t *UpstreamTry) []byte {
	if t.NewPass {
		return append(dst, " : "...)
	}
	return append(dst, ", "...)
}

// AddUpstreamTry records a server tried that sent no response head.
func (s *State) AddUpstreamTry(addr string, status int, d time.Duration) {
	s.AddUpstream(UpstreamTry{Addr: addr, Status: status, Time: d, ConnectTime: -1, HeaderTime: -1})
}

// AddUpstream records a server tried and sets the single-try fields
// (UpstreamAddr, UpstreamStatus, UpstreamResponseTime) to it; it
// completes the try BeginUpstream recorded, if any.
func (s *State) AddUpstream(t UpstreamTry) {
	if s.upstreamPending {
		s.upstreamPending = false
		s.UpstreamTries = s.UpstreamTries[:len(s.UpstreamTries)-1]
	}
	t.NewPass = len(s.UpstreamTries) == s.passStart && s.passStart > 0
	s.UpstreamTries = append(s.UpstreamTries, t)
	s.UpstreamAddr, s.UpstreamStatus, s.UpstreamResponseTime = t.Addr, t.Status, t.Time
}

// BeginUpstream records the try under way as nginx's u->state reads
// while the filters run: with no response time yet (Time -1) while
// add_header values are evaluated, with it once the body was read, when
// add_trailer values are. Another BeginUpstream or AddUpstream replaces it.
func (s *State) BeginUpstream(t UpstreamTry) {
	s.AddUpstream(t)
	s.upstreamPending = true
}

// PendingUpstream is the try BeginUpstream recorded and no AddUpstream
// completed yet, for its owner to update in place (a try's end, its
// response time and lengths); nil when none is. The single-try fields
// (UpstreamStatus, UpstreamResponseTime) are the owner's to set with it.
func (s *State) PendingUpstream() *UpstreamTry {
	if !s.upstreamPending {
		return nil
	}
	return &s.UpstreamTries[len(s.UpstreamTries)-1]
}

// ShareVariables starts a subrequest's State with its parent's variables,
// as nginx's subrequests share r->variables: what "set" and map put there
// is seen by both. Call ReturnVariables when the subrequest ends.
func (s *State) ShareVariables(parent *State) {
	copy(s.Values, parent.Values)
	copy(s.Valid, parent.Valid)
	s.RequestID = parent.RequestID
}

// ReturnVariables hands the values a subrequest set back to its parent,
// copied into the parent's memory (the subrequest's goes back to a pool).
func (s *State) ReturnVariables(parent *State) {
	n := min(len(s.Values), len(parent.Values))
	for i := 0; i < n; i++ {
		if !s.Valid[i] {
			continue
		}
		v, pv := s.Values[i], parent.Values[i]
		if parent.Valid[i] && len(v) == len(pv) && (len(v) == 0 || &v[0] == &pv[0]) {
			continue
		}
		start := len(parent.Buf)
		parent.Buf = append(parent.Buf, v...)
		parent.Values[i], parent.Valid[i] = parent.Buf[start:len(parent.Buf):len(parent.Buf)], true
	}
	if parent.RequestID == ([16]byte{}) {
		parent.RequestID = s.RequestID
	}
}

// UpstreamName is the parts of a backend's name in error lines
// ("http://host:port/uri"): kept apart since most requests write no
// error line, and joining them costs ~200 instructions.
type UpstreamName struct {
	Scheme string // "" when no backend was tried
	Server string // the peer's address, "unix:/path" or the group's name
	URI    []byte // the URI sent (HTTP only: nginx's u->uri), a copy
}

// Set names the backend a try goes to; uri is copied.
func (n *UpstreamName) Set(scheme, server string, uri []byte) {
	n.Scheme, n.Server, n.URI = scheme, server, append(n.URI[:0], uri...)
}

// Named reports whether a backend was tried.
func (n *UpstreamName) Named() bool { return n.Scheme != "" }

// Append appends the name as error lines write it: "%V://%V%V" of
// the scheme, the server (with ':' after a unix socket path) and the URI.
func (n *UpstreamName) Append(dst []byte) []byte {
	dst = append(append(append(dst, n.Scheme...), "://"...), n.Server...)
	if len(n.Server) > 5 && n.Server[:5] == "unix:" {
		dst = append(dst, ':')
	}
	return append(dst, n.URI...)
}
