package rewrite

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite/http1"
)

// NginxVersion is what $nginx_version reports: the nginx release whose
// behaviour gonginx follows.
const NginxVersion = "1.22.1"

// alwaysFound are the built-ins whose nginx getter returns an empty value
// rather than "not found" when there is nothing to give (checked in
// nginx 1.22's source and its access log).
var alwaysFound = []string{"https", "is_args", "request_completion", "msie", "modern_browser",
	"ancient_browser", "server_name", "invalid_referer", "http2", "fastcgi_path_info", "fastcgi_script_name",
	"uid_reset"}

// Getter appends the value of a variable for the request in s to dst.
type Getter func(s *State, dst []byte) []byte

// PrefixGetter appends the value of a prefix variable such as
// $upstream_http_<name>; name is the part after the prefix, lowercased.
type PrefixGetter func(s *State, name string, dst []byte) []byte

// variable is one name in the Compiler's table. References made before the
// name is defined (nginx allows "set" after use) point at the same entry,
// which Finish resolves.
type variable struct {
	name    string // lowercased, without '$'
	get     Getter
	setter  func(s *State, v []byte) // built-ins nginx lets "set" change ($args)
	slot    int                      // index into State.Values, or -1
	mapping lazyVar                  // lazily evaluated map, geo or split_clients variable
	builtin bool                     // defined by the table, not by set/map/capture
	// weak: a built-in that "set" and map may define for the request
	// (NGX_HTTP_VAR_CHANGEABLE without a setter): its getter answers
	// until they do.
	weak bool
	// found: nginx's getter always finds a value, maybe empty
	// (ngx_http_variable_null_value), which the access log writes as
	// nothing rather than "-".
	found   bool
	defined bool
}

type prefixVar struct {
	prefix string
	get    PrefixGetter
	// nginxHeaders marks the built-in $http_ getter: nginx 1.22 joins
	// several Cookie ("; ") or X-Forwarded-For (", ") lines, and returns the
	// first line of any other header.
	nginxHeaders bool
}

// Compiler holds the variable table of one configuration load and compiles
// complex values, regexes, rewrite programs and maps against it. It is not
// safe for concurrent use; what it produces is immutable and safe to share.
type Compiler struct {
	vars     map[string]*variable
	order    []*variable // in order of first reference, as nginx indexes them
	prefixes []prefixVar
	nslots   int
	finished bool
	hostname string
	// readsSent: a name of the configuration is a $sent_http_* one
	// (ReadsSent); readsUpstream: one is an $upstream_http_* or
	// $upstream_cookie_* one (ReadsUpstream); built is set once the
	// built-ins are in the table.
	readsSent, readsUpstream, built bool
}

// NewCompiler returns a Compiler with nginx's built-in variables.
func NewCompiler() *Compiler {
	c := &Compiler{vars: make(map[string]*variable)}
	c.hostname, _ = os.Hostname()
	for name, get := range builtinGetters(c) {
		c.define(name, get)
	}
	for name, get := range sentNamed() {
		c.define(name, get)
	}
	for name, get := range tcpInfoGetters() {
		c.define(name, get)
	}
	for name, get := range upstreamNamed() {
		c.define(name, get)
	}
	c.defineKnownOnly()
	for _, name := range alwaysFound {
		c.vars[name].found = true
	}
	// The built-ins nginx marks NGX_HTTP_VAR_CHANGEABLE: "set" may
	// change them ($query_string is not one of them).
	c.lookup("args").setter = setArgs
	c.lookup("limit_rate").setter = setLimitRate
	c.lookup("uid_reset").weak = true
	c.lookup("invalid_referer").weak = true
	// nginx registers these prefixes in this order (core, then upstream).
	c.prefixes = []prefixVar{
		{"http_", httpHeaderVar, true},
		{"sent_http_", sentHeaderVar, false},
		{"sent_trailer_", sentTrailerVar, false},
		{"cookie_", cookieVar, false},
		{"arg_", argVar, false},
		{"upstream_http_", upstreamHeaderVar, false},
		// nginx 1.22's proxy reads a chunked response's trailers without
		// keeping them (only gRPC keeps them), so nothing is found.
		{"upstream_trailer_", emptyPrefix, false},
		{"upstream_cookie_", upstreamCookieVar, false},
	}
	c.built = true
	return c
}

// ReadsSent reports whether the configuration compiled so far names a
// $sent_http_* variable (a complex value, log_format, map, if, set...).
// When none does and nothing looks variables up by name at run time
// (ssi), the written head need not be kept for them
// (http1.Conn.SentUnread).
func (c *Compiler) ReadsSent() bool { return c.readsSent }

// ReadsUpstream reports whether the configuration compiled so far names
// an $upstream_http_* or $upstream_cookie_* variable. When none does and
// nothing looks variables up by name at run time (ssi), a backend's head
// need not be copied whole for them (State.UpstreamUnread).
func (c *Compiler) ReadsUpstream() bool { return c.readsUpstream }

func (c *Compiler) define(name string, get Getter) {
	v := c.lookup(name)
	v.get, v.builtin, v.defined, v.slot = get, true, true, -1
}

// lookup returns the table entry for name (lowercased), creating an
// undefined one on first reference.
func (c *Compiler) lookup(name string) *variable {
	name = strings.ToLower(name)
	if c.built && strings.HasPrefix(name, "sent_http_") {
		c.readsSent = true
	}
	if c.built && (strings.HasPrefix(name, "upstream_http_") || strings.HasPrefix(name, "upstream_cookie_")) {
		c.readsUpstream = true
	}
	v := c.vars[name]
	if v == nil {
		v = &variable{name: name, slot: -1}
		c.vars[name] = v
		c.order = append(c.order, v)
	}
	return v
}

// AddVariable defines (or replaces) the variable $name for the packages
// above rewrite, e.g. $request_filename from the location package.
func (c *Compiler) AddVariable(name string, get func(s *State, dst []byte) []byte) {
	c.define(name, get)
}

// AddPrefixVariable defines (or replaces) a family of variables
// $<prefix><name>, e.g. "upstream_http_" or "sent_http_".
func (c *Compiler) AddPrefixVariable(prefix string, get func(s *State, name string, dst []byte) []byte) {
	prefix = strings.ToLower(prefix)
	for i := range c.prefixes {
		if c.prefixes[i].prefix == prefix {
			c.prefixes[i].get, c.prefixes[i].nginxHeaders = get, false
			return
		}
	}
	c.prefixes = append(c.prefixes, prefixVar{prefix, get, false})
}

// Slots is the number of State.Values entries programs of this compiler use.
func (c *Compiler) Slots() int { return c.nslots }

// newSlot defines name as a per-request value ("set", map, named capture).
// It fails as nginx's ngx_http_add_variable does for a built-in name.
func (c *Compiler) newSlot(name string) (*variable, error) {
	if name == "" {
		return nil, errf(`invalid variable name "$"`)
	}
	v := c.lookup(name)
	if v.builtin && v.setter == nil && !v.weak || explicitHeaderVars[v.name] {
		return nil, &nginxconf.Error{Msg: `the duplicate "` + v.name + `" variable`}
	}
	if v.slot < 0 && v.setter == nil {
		v.slot = c.nslots
		c.nslots++
	}
	v.defined = true
	return v, nil
}

// explicitHeaderVars are header variables nginx registers by name (in
// ngx_http_core_variables) rather than through the http_ and sent_http_
// prefixes, so "set" and map cannot define them.
var explicitHeaderVars = map[string]bool{
	"http_host": true, "http_user_agent": true, "http_referer": true, "http_via": true,
	"http_x_forwarded_for": true, "http_cookie": true,
	"sent_http_content_type": true, "sent_http_content_length": true, "sent_http_location": true,
	"sent_http_last_modified": true, "sent_http_connection": true, "sent_http_keep_alive": true,
	"sent_http_transfer_encoding": true, "sent_http_cache_control": true, "sent_http_link": true,
}

// Finish resolves every variable referenced so far. A name that is neither
// defined nor matched by a prefix is nginx's `unknown "name" variable`,
// which nginx reports without file and line after the whole configuration
// was read.
func (c *Compiler) Finish() error {
	c.finished = true
	for _, v := range c.order {
		if v.defined {
			continue
		}
		resolved := false
		for _, p := range c.prefixes {
			if strings.HasPrefix(v.name, p.prefix) {
				v.get = bindPrefix(p, v.name[len(p.prefix):])
				v.defined, resolved = true, true
				break
			}
		}
		if !resolved {
			return &nginxconf.Error{Msg: `unknown "` + v.name + `" variable`}
		}
	}
	// A "set" variable with a prefix's name ($http_foo) is nginx's weak
	// variable: until it is set, the prefix's getter answers
	// (ngx_http_variables_init_vars).
	for _, v := range c.order {
		if v.slot < 0 || v.mapping != nil || v.get != nil || v.builtin {
			continue
		}
		for _, p := range c.prefixes {
			if strings.HasPrefix(v.name, p.prefix) {
				v.get = bindPrefix(p, v.name[len(p.prefix):])
				break
			}
		}
	}
	// nginx keeps the first value of a cacheable variable for the rest of
	// the request; of those, the response's change while it runs, so the
	// access log reads $sent_http_* as add_header (or a return) first saw
	// them.
	for _, v := range c.order {
		if keptBuiltin(v.name) && v.slot < 0 && v.get != nil {
			v.slot, v.mapping = c.nslots, cachedGetter{v.get}
			c.nslots++
		}
	}
	return nil
}

// keptBuiltin reports the cacheable built-ins (no NGX_HTTP_VAR_NOCACHEABLE
// in nginx) whose value changes while a request runs.
func keptBuiltin(name string) bool {
	return strings.HasPrefix(name, "sent_http_") || strings.HasPrefix(name, "sent_trailer_") ||
		name == "request_completion" || name == "request_body_file"
}

// cachedGetter is a built-in whose first value is kept for the request.
type cachedGetter struct{ get Getter }

func (g cachedGetter) eval(s *State, v *variable, dst []byte) []byte {
	start := len(dst)
	dst = g.get(s, dst)
	growSlots(s, v.slot+1)
	s.Values[v.slot] = append(s.Values[v.slot][:0], dst[start:]...)
	s.Valid[v.slot] = true
	return dst
}

func bindPrefix(p prefixVar, name string) Getter {
	if p.nginxHeaders {
		switch name {
		case "cookie":
			return func(s *State, dst []byte) []byte { return joinHeaders(s, "cookie", "; ", dst) }
		case "x_forwarded_for":
			return func(s *State, dst []byte) []byte { return joinHeaders(s, "x_forwarded_for", ", ", dst) }
		}
	}
	get := p.get
	return func(s *State, dst []byte) []byte { return get(s, name, dst) }
}

// Var is a compiled reference to one variable, for packages that evaluate
// a single variable (e.g. map sources, log formats).
type Var struct{ v *variable }

// Variable returns a reference to $name (without '$'); an unknown name is
// reported by Finish.
func (c *Compiler) Variable(name string) *Var { return &Var{c.lookup(name)} }

// Eval appends the variable's value to dst.
func (r *Var) Eval(s *State, dst []byte) []byte { return r.v.eval(s, dst) }

// EvalFound appends the variable's value to dst and reports whether it
// has one (nginx's not_found unset), empty or not.
func (r *Var) EvalFound(s *State, dst []byte) ([]byte, bool) {
	s.FoundEmpty = false
	start := len(dst)
	dst = r.v.eval(s, dst)
	return dst, len(dst) > start || s.FoundEmpty
}

func (v *variable) eval(s *State, dst []byte) []byte {
	if v.slot >= 0 {
		// A value set or mapped exists even when empty (a map falls
		// back to nginx's empty "null value"); the log writes "" then.
		// A kept built-in ($sent_http_*) is found empty only if nginx's
		// getter is.
		_, kept := v.mapping.(cachedGetter)
		if v.slot < len(s.Valid) && s.Valid[v.slot] {
			s.FoundEmpty = !kept || v.found
			return append(dst, s.Values[v.slot]...)
		}
		if v.mapping != nil {
			dst = v.mapping.eval(s, v, dst)
			s.FoundEmpty = !kept || v.found
			return dst
		}
		if v.get != nil {
			return v.get(s, dst) // a weak variable not set yet
		}
		return dst // nginx: "using uninitialized variable", empty value
	}
	if v.get != nil {
		return v.get(s, dst)
	}
	return dst
}

// store sets a slot variable's value for this request, copying it into the
// slot's own buffer (slot buffers never alias other memory).
func (v *variable) store(s *State, val []byte) {
	if v.setter != nil {
		v.setter(s, val)
		return
	}
	growSlots(s, v.slot+1)
	s.Values[v.slot] = append(s.Values[v.slot][:0], val...)
	s.Valid[v.slot] = true
}

func growSlots(s *State, n int) {
	for len(s.Values) < n {
		s.Values = append(s.Values, nil)
	}
	for len(s.Valid) < n {
		s.Valid = append(s.Valid, false)
	}
}

// setArgs is nginx's set handler for $args: r->args points at the new value.
// It may run inside an evaluation (a named capture called "args"), so it
// keeps the value in a buffer of its own rather than State.Buf.
func setArgs(s *State, v []byte) {
	s.argsBuf = append(s.argsBuf[:0], v...)
	s.Req.Args = s.argsBuf[:len(v):len(v)]
	s.Req.HasArgs = len(v) > 0
	s.Req.RawStale = true
}

func builtinGetters(c *Compiler) map[string]Getter {
	str := func(f func(s *State) string) Getter {
		return func(s *State, dst []byte) []byte { return append(dst, f(s)...) }
	}
	hdr := func(name string) Getter {
		return func(s *State, dst []byte) []byte { return append(dst, s.Req.HeaderValue(name)...) }
	}
	uri := func(s *State, dst []byte) []byte {
		// After a URI the parser rejected, nginx's r->uri is set but
		// empty: the access log writes "", not "-".
		s.FoundEmpty = s.FoundEmpty || s.Req.URIInvalid && len(s.Req.URI) == 0
		return append(dst, s.Req.URI...)
	}
	args := func(s *State, dst []byte) []byte {
		// An internal redirect's empty args are found, empty (nginx's
		// r->args with data): the access log writes "", not "-".
		s.FoundEmpty = s.FoundEmpty || s.Req.ArgsFound && len(s.Req.Args) == 0
		return append(dst, s.Req.Args...)
	}
	none := func(s *State, dst []byte) []byte { return dst }
	hostname := c.hostname
	pid := strconv.Itoa(os.Getpid())
	return map[string]Getter{
		"uri":          uri,
		"document_uri": uri,
		"args":         args,
		"query_string": args,
		"is_args": func(s *State, dst []byte) []byte {
			if len(s.Req.Args) > 0 {
				return append(dst, '?')
			}
			return dst
		},
		"request_uri": func(s *State, dst []byte) []byte {
			if s.Req.URIInvalid {
				return dst // r->unparsed_uri was never set
			}
			return append(dst, s.Req.RawURI...)
		},
		"request_method": func(s *State, dst []byte) []byte { return append(dst, s.Req.MainMethodName()...) },
		"scheme": func(s *State, dst []byte) []byte {
			if s.Req.Conn != nil && s.Req.Conn.TLS {
				return append(dst, "https"...)
			}
			return append(dst, "http"...)
		},
		"https": func(s *State, dst []byte) []byte {
			if s.Req.Conn != nil && s.Req.Conn.TLS {
				return append(dst, "on"...)
			}
			return dst
		},
		// nginx: the host of the request line, else of the Host header
		// (both validated and lowercased by the parser), else server_name.
		"host": func(s *State, dst []byte) []byte {
			if len(s.Req.Host) > 0 {
				return append(dst, s.Req.Host...)
			}
			return append(dst, s.ServerName...)
		},
		"remote_addr":        conn(func(ci *http1.ConnInfo) string { return ci.RemoteAddr }),
		"remote_port":        remotePort,
		"server_addr":        conn((*http1.ConnInfo).ServerAddress),
		"server_port":        serverPort,
		"binary_remote_addr": binaryRemoteAddr,
		"server_name":        str(func(s *State) string { return s.ServerName }),
		"server_protocol": func(s *State, dst []byte) []byte {
			s.FoundEmpty = len(s.Req.Proto) == 0 && s.Req.ProtoStarted
			return append(dst, s.Req.Proto...)
		},
		"content_length": func(s *State, dst []byte) []byte {
			if v := s.Req.HeaderValue("Content-Length"); v != nil || !s.ChunkedRead {
				return append(dst, v...)
			}
			return strconv.AppendInt(dst, s.ChunkedLength, 10)
		},
		"content_type":  hdr("Content-Type"),
		"document_root": appendDocumentRoot,
		"realpath_root": func(s *State, dst []byte) []byte {
			root := appendDocumentRoot(s, nil)
			if p, err := filepath.EvalSymlinks(string(root)); err == nil {
				return append(dst, p...)
			}
			return dst
		},
		"request_filename": func(s *State, dst []byte) []byte {
			if s.Files != nil {
				return s.Files.AppendRequestFilename(dst)
			}
			return append(append(dst, s.DocumentRoot...), s.Req.URI...)
		},
		"request_id": appendRequestID,
		"status": func(s *State, dst []byte) []byte {
			// ngx_http_variable_status: an error_page's status first.
			st := s.Status
			if s.ErrStatus != 0 {
				st = s.ErrStatus
			}
			return append(dst, byte('0'+st/100%10), byte('0'+st/10%10), byte('0'+st%10))
		},
		"msec": func(s *State, dst []byte) []byte {
			now := time.Now()
			dst = strconv.AppendInt(dst, now.Unix(), 10)
			ms := now.Nanosecond() / 1e6
			return append(dst, '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
		},
		"time_local":   func(s *State, dst []byte) []byte { return time.Now().AppendFormat(dst, "02/Jan/2006:15:04:05 -0700") },
		"time_iso8601": func(s *State, dst []byte) []byte { return time.Now().AppendFormat(dst, "2006-01-02T15:04:05-07:00") },
		"proxy_add_x_forwarded_for": func(s *State, dst []byte) []byte {
			start := len(dst)
			dst = joinHeaders(s, "x_forwarded_for", ", ", dst)
			if len(dst) > start {
				dst = append(dst, ", "...)
			}
			if s.Req.Conn != nil {
				dst = append(dst, s.Req.Conn.RemoteAddr...)
			}
			return dst
		},
		"proxy_host": str(func(s *State) string { return s.ProxyHost }),
		"proxy_port": str(func(s *State) string { return s.ProxyPort }),
		"upstream_addr": func(s *State, dst []byte) []byte {
			if len(s.UpstreamTries) < 2 {
				return append(dst, s.UpstreamAddr...)
			}
			for i, t := range s.UpstreamTries {
				if i > 0 {
					dst = appendTrySep(dst, &t)
				}
				dst = append(dst, t.Addr...)
			}
			return dst
		},
		"request":        appendRequest,
		"remote_user":    appendRemoteUser,
		"request_length": func(s *State, dst []byte) []byte { return strconv.AppendInt(dst, s.RequestLength, 10) },
		"bytes_sent":     func(s *State, dst []byte) []byte { return strconv.AppendInt(dst, s.BytesSent, 10) },
		"body_bytes_sent": func(s *State, dst []byte) []byte {
			return strconv.AppendInt(dst, s.BodyBytesSent, 10)
		},
		"connection": func(s *State, dst []byte) []byte { return strconv.AppendUint(dst, s.Connection, 10) },
		"connection_requests": func(s *State, dst []byte) []byte {
			return strconv.AppendInt(dst, int64(s.ConnectionRequests), 10)
		},
		"pipe": func(s *State, dst []byte) []byte {
			if s.Pipelined {
				return append(dst, 'p')
			}
			return append(dst, '.')
		},
		"request_time": func(s *State, dst []byte) []byte {
			if s.Start.IsZero() {
				return append(dst, "0.000"...)
			}
			return appendMillis(dst, time.Since(s.Start))
		},
		"upstream_status": func(s *State, dst []byte) []byte {
			if len(s.UpstreamTries) >= 2 {
				for i, t := range s.UpstreamTries {
					if i > 0 {
						dst = appendTrySep(dst, &t)
					}
					if t.Status == 0 {
						dst = append(dst, '-') // no status, as nginx
						continue
					}
					dst = strconv.AppendInt(dst, int64(t.Status), 10)
				}
				return dst
			}
			if s.UpstreamStatus == 0 {
				return dst
			}
			return strconv.AppendInt(dst, int64(s.UpstreamStatus), 10)
		},
		"upstream_response_time": func(s *State, dst []byte) []byte {
			if len(s.UpstreamTries) > 0 {
				for i, t := range s.UpstreamTries {
					if i > 0 {
						dst = appendTrySep(dst, &t)
					}
					if t.Time < 0 {
						// The try whose head the header filters see
						// (State.BeginUpstream) has no response time yet.
						dst = append(dst, '-')
						continue
					}
					dst = appendMillis(dst, t.Time)
				}
				return dst
			}
			if s.UpstreamResponseTime < 0 || s.UpstreamAddr == "" {
				return dst
			}
			return appendMillis(dst, s.UpstreamResponseTime)
		},
		"nginx_version": func(s *State, dst []byte) []byte { return append(dst, NginxVersion...) },
		"hostname":      func(s *State, dst []byte) []byte { return append(dst, hostname...) },
		"pid":           func(s *State, dst []byte) []byte { return append(dst, pid...) },
		// Known to nginx but computed by other packages (access log,
		// upstream, TLS); they read empty until those packages replace them
		// with AddVariable, so configs that use them still load.
		"request_body":        appendRequestBody,
		"request_body_file":   str(func(s *State) string { return s.RequestBodyFile }),
		"connections_active":  connStat(func(st *ConnStats) int64 { return st.Active.Load() }),
		"connections_reading": connStat(func(st *ConnStats) int64 { return st.Reading.Load() }),
		"connections_writing": connStat(func(st *ConnStats) int64 { return st.Writing.Load() }),
		"connections_waiting": connStat(func(st *ConnStats) int64 { return max(st.Waiting.Load(), 0) }),
		"request_completion": func(s *State, dst []byte) []byte {
			if s.RequestComplete {
				return append(dst, "OK"...)
			}
			return dst
		},
		"limit_rate":            appendLimitRate,
		"upstream_cache_status": func(s *State, dst []byte) []byte { return append(dst, s.CacheStatus...) },
		"upstream_cache_last_modified": func(s *State, dst []byte) []byte {
			if s.CacheLastModified < 0 {
				return dst
			}
			return http1.AppendHTTPTime(dst, s.CacheLastModified)
		},
		"upstream_cache_etag": func(s *State, dst []byte) []byte { return append(dst, s.CacheETag...) },
		"ssl_protocol":        none,
		"ssl_cipher":          none,
		"ssl_server_name":     none,
		"ssl_session_reused":  none,
		"ssl_client_verify":   none,
		"gzip_ratio":          none,
		// The location package defines them over realip (realipphase.go);
		// without it they are the client's.
		"realip_remote_addr": conn(func(ci *http1.ConnInfo) string { return ci.RemoteAddr }),
		"realip_remote_port": remotePort,
		// Registered by nginx's other compiled-in modules (ssl, realip,
		// secure_link, referer, browser, userid, ssi, stub_status, ...):
		// known, so "nginx -t" accepts configs that name them.
		"proxy_protocol_addr":        proxied(func(ci *http1.ConnInfo) string { return ci.Proxy.Addr }),
		"proxy_protocol_port":        proxied(func(ci *http1.ConnInfo) string { return ci.Proxy.Port }),
		"proxy_protocol_server_addr": proxied(func(ci *http1.ConnInfo) string { return ci.Proxy.ServerAddr }),
		"proxy_protocol_server_port": proxied(func(ci *http1.ConnInfo) string { return ci.Proxy.ServerPort }),
		"connection_time": func(s *State, dst []byte) []byte {
			if s.ConnStart.IsZero() {
				return append(dst, "0.000"...)
			}
			return appendMillis(dst, time.Since(s.ConnStart))
		},
		"ssl_ciphers":             none,
		"ssl_curve":               none,
		"ssl_curves":              none,
		"ssl_session_id":          none,
		"ssl_early_data":          none,
		"ssl_client_cert":         none,
		"ssl_client_raw_cert":     none,
		"ssl_client_escaped_cert": none,
		"ssl_client_s_dn":         none,
		"ssl_client_i_dn":         none,
		"ssl_client_s_dn_legacy":  none,
		"ssl_client_i_dn_legacy":  none,
		"ssl_client_serial":       none,
		"ssl_client_fingerprint":  none,
		"ssl_client_v_start":      none,
		"ssl_client_v_end":        none,
		"ssl_client_v_remain":     none,
		"secure_link":             none,
		"secure_link_expires":     none,
		"invalid_referer":         none,
		"msie":                    appendMSIE,
		// The location package defines them over its levels' lists
		// (location/browser.go); with no lists every client is ancient.
		"modern_browser":  none,
		"ancient_browser": func(s *State, dst []byte) []byte { return append(dst, '1') },
		"proxy_internal_body_length": func(s *State, dst []byte) []byte {
			if !s.ProxyMade || s.ProxyBodyLength < 0 {
				return dst
			}
			return strconv.AppendInt(dst, s.ProxyBodyLength, 10)
		},
		"proxy_internal_chunked": func(s *State, dst []byte) []byte {
			if s.ProxyChunked {
				return append(dst, "chunked"...)
			}
			return dst
		},
		// The running location's fastcgi_split_path_info and
		// fastcgi_index (State.FastCGI).
		"fastcgi_script_name": fastcgiScriptName,
		"fastcgi_path_info":   fastcgiPathInfo,
		"uid_got":             none,
		"uid_set":             none,
		"uid_reset":           none,
		// The ssi module's, with its default ssi timefmt.
		"date_local": func(s *State, dst []byte) []byte {
			return time.Now().AppendFormat(dst, "Monday, 02-Jan-2006 15:04:05 MST")
		},
		"date_gmt": func(s *State, dst []byte) []byte {
			return time.Now().UTC().AppendFormat(dst, "Monday, 02-Jan-2006 15:04:05 GMT")
		},
		"http2": func(s *State, dst []byte) []byte {
			if s.Req != nil && s.Req.Conn != nil {
				return append(dst, s.Req.Conn.HTTP2.String()...)
			}
			return dst
		},
		"limit_req_status":  none,
		"limit_conn_status": none,
	}
}
