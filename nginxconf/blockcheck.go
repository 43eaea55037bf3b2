package nginxconf

import (
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// This file holds the checks nginx makes with state that spans
// directives: log formats defined so far in http{}, the addresses the
// stream and mail servers listen on, and what the stream and mail block
// handlers require of each server once their block is read. They run in
// document order, as nginx's handlers do, before "syntax is ok".

// blockState is the parser's memory for these checks.
type blockState struct {
	logFormats    map[string]bool // http log_format names ("combined" is built in)
	streamListens []string        // "tcp 127.0.0.1:5432" as ngx_cmp_sockaddr compares
	mailListens   []string
	reqZones      map[string]limitZone // shared memory zones by name: limit_*_zone, *_cache_path
	loaded        map[string]bool      // dynamic objects loaded: "ngx_stream_module"
	modulesUsed   bool                 // an events, http, stream or mail block was read
	// nginxPrefix: no -p was given; nginx would resolve load_module
	// against its compiled-in prefix (Debian: /usr/share/nginx/).
	nginxPrefix bool
	inStream    bool // inside stream{}
	threadPools map[string]bool
	upstreams   map[string]bool    // upstream{} names, lower case ("stream " before stream's)
	paths       map[string]pathUse // directory → what named it first (ngx_add_path)
	// locs stacks the http locations being read, innermost last.
	locs []locFrame
}

// locFrame is an http location as ngx_http_core_location reads it: its
// modifier ('=', '^' for "^~", '~' for both regex kinds, '@' named, 0 a
// prefix) and its name without the modifier.
type locFrame struct {
	mod  byte
	name string
}

// readLocation reads a location's modifier and name and makes
// ngx_http_core_location's checks of it inside the location around it
// (in, nil at the server level), as nginx makes them before reading the
// block: a regex's own errors come first (the parser's regex check).
func readLocation(d *Directive, in *locFrame) (locFrame, *Error) {
	var f locFrame
	a := d.Args
	switch {
	case len(a) == 2:
		f.name = a[1]
		switch a[0] {
		case "=":
			f.mod = '='
		case "^~":
			f.mod = '^'
		case "~", "~*":
			f.mod = '~'
		default:
			return f, atEndErr(d.errorf("invalid location modifier %q", a[0]), d)
		}
	case len(a) == 1:
		n := a[0]
		switch {
		case strings.HasPrefix(n, "="):
			f.mod, f.name = '=', n[1:]
		case strings.HasPrefix(n, "^~"):
			f.mod, f.name = '^', n[2:]
		case strings.HasPrefix(n, "~*"):
			f.mod, f.name = '~', n[2:]
		case strings.HasPrefix(n, "~"):
			f.mod, f.name = '~', n[1:]
		case strings.HasPrefix(n, "@"):
			f.mod, f.name = '@', n
		default:
			f.name = n
		}
	default:
		return f, nil // the argument count is the table's check
	}
	if in == nil {
		return f, nil
	}
	switch {
	case in.mod == '=':
		return f, atEndErr(d.errorf("location %q cannot be inside the exact location %q", f.name, in.name), d)
	case in.mod == '@':
		return f, atEndErr(d.errorf("location %q cannot be inside the named location %q", f.name, in.name), d)
	case f.mod == '@':
		return f, atEndErr(d.errorf("named location %q can be on the server level only", f.name), d)
	case f.mod != '~' && !strings.HasPrefix(f.name, in.name):
		return f, atEndErr(d.errorf("location %q is outside location %q", f.name, in.name), d)
	}
	return f, nil
}

// noURI reports whether proxy_pass in the innermost location may not
// have a URI part: a regex or named location.
func (s *blockState) noURI() bool {
	return len(s.locs) > 0 && (s.locs[len(s.locs)-1].mod == '~' || s.locs[len(s.locs)-1].mod == '@')
}

// debianPrefix is nginx's compiled-in prefix on Debian (nginx -V).
const debianPrefix = "/usr/share/nginx/"

// dynamicObject names the Debian shared object that holds a dynamic
// module: the stream and mail modules come in one object each.
func dynamicObject(module string) string {
	switch {
	case module == "ngx_stream_geoip_module":
		return module
	case strings.HasPrefix(module, "ngx_stream_"):
		return "ngx_stream_module"
	case strings.HasPrefix(module, "ngx_mail_"):
		return "ngx_mail_module"
	}
	return module
}

// available reports whether some module that defines name is compiled
// in or loaded by a load_module read so far; nginx knows no other names.
func (s *blockState) available(info *nameInfo) bool {
	if info == nil {
		return true // unknown either way; checkDirective says so
	}
	for _, c := range info.cmds {
		if !c.Dynamic || s.loaded[dynamicObject(c.Module)] {
			return true
		}
	}
	return false
}

// loadModule follows ngx_load_module: only before the first module block,
// the object must exist (nginx's dlopen message), and once.
func (p *parser) loadModule(d *Directive) *Error {
	s := &p.state
	if s.modulesUsed {
		return d.errorf(`"load_module" directive is specified too late`)
	}
	path := d.Args[0]
	if !filepath.IsAbs(path) {
		base := p.cfg.Prefix
		if s.nginxPrefix {
			base = debianPrefix
		}
		// ngx_conf_full_name joins without cleaning: "http://" stays.
		path = strings.TrimSuffix(base, "/") + "/" + path
	}
	if _, err := os.Stat(path); err != nil {
		return d.errorf("dlopen() %q failed (%s: cannot open shared object file: No such file or directory)", path, path)
	}
	name := strings.TrimSuffix(filepath.Base(path), ".so")
	if s.loaded[name] {
		return d.errorf("module %q is already loaded", name)
	}
	if s.loaded == nil {
		s.loaded = map[string]bool{}
	}
	s.loaded[name] = true
	return nil
}

// stateCheck runs the stateful checks of d, a directive already checked
// by checkDirectiveSeen, in context ctx, and the checks that may warn
// more than once; warnings are recorded, an error is returned. before
// is the block read so far.
func (p *parser) stateCheck(d *Directive, ctx Context, before []*Directive) *Error {
	var out []*Error
	switch {
	case d.Name == "index" && ctx&(HTTPMainConf|HTTPSrvConf|HTTPLocConf) != 0:
		out = indexWarnings(d)
	case d.Name == "server_name" && ctx == HTTPSrvConf:
		// ngx_http_core_server_name warns as it reads the name, before
		// any later error.
		for _, n := range d.Args {
			if strings.Contains(n, "/") {
				w := d.errorf("server name %q has suspicious symbols", n)
				w.Warn = true
				out = append(out, w)
			}
		}
	case (d.Name == "limit_req_zone" || d.Name == "limit_conn_zone") && ctx == HTTPMainConf:
		out = p.state.bindZone(d, d.Name)
	case d.Name == "limit_conn_zone" && ctx == StreamMainConf:
		// The stream module's zones are another use of the one list.
		out = p.state.bindZone(d, "stream "+d.Name)
	default:
		if cmds := p.nameInfo(d.Name).commands(); len(cmds) > 0 && ctx&(HTTPMainConf|HTTPSrvConf|HTTPLocConf|HTTPLifConf) != 0 {
			for _, c := range cmds {
				if c.Slot == SlotTypes && c.Ctx&ctx != 0 {
					out = typesWarnings(d, before)
				}
			}
		}
	}
	for _, e := range out {
		atEnd(e, d)
		if !e.Warn {
			return e
		}
		p.cfg.Warnings = append(p.cfg.Warnings, e)
	}
	if (d.Name == "limit_req" || d.Name == "limit_conn") && limitZoneOf(d) != "" {
		for _, b := range before {
			if b.Name == d.Name && limitZoneOf(b) == limitZoneOf(d) {
				return d.errorf("%q directive is duplicate", d.Name)
			}
		}
	}
	if d.Name == "mirror" && len(d.Args) == 1 {
		// ngx_http_mirror: "off" is refused after any mirror line of
		// the block, and any line after "off"; URIs add up.
		for _, b := range before {
			if b.Name == "mirror" && len(b.Args) == 1 && (d.Args[0] == "off" || b.Args[0] == "off") {
				return d.errorf("%q directive is duplicate", d.Name)
			}
		}
	}
	return p.stateCheck1(d, ctx)
}

// limitZoneOf is the zone a limit_req or limit_conn line limits by: the
// handlers refuse one zone twice in a block ("is duplicate").
func limitZoneOf(d *Directive) string {
	if d.Name == "limit_conn" {
		if len(d.Args) == 2 {
			return d.Args[0]
		}
		return ""
	}
	for _, a := range d.Args {
		if z, ok := strings.CutPrefix(a, "zone="); ok {
			return z
		}
	}
	return ""
}

// limitZone is a limit_req_zone or limit_conn_zone line's shared zone.
type limitZone struct {
	use, key string // the directive that declared it, its key
	size     int64
}

// bindZone makes ngx_shared_memory_add's checks and the module's, in
// nginx's order: a zone of the other module, a zone of another size, a
// zone bound to a key already.
func (s *blockState) bindZone(d *Directive, use string) []*Error {
	for _, v := range d.Args[1:] {
		if rest, ok := strings.CutPrefix(v, "zone="); ok {
			name, sizeText, _ := strings.Cut(rest, ":")
			size, _ := ParseSize(sizeText)
			z, dup, err := s.addZone(d, use, name, size, d.Args[0])
			if err != nil {
				return []*Error{err}
			}
			if dup {
				return []*Error{d.errorf("%s %q is already bound to key %q", d.Name, name, z.key)}
			}
		}
	}
	return nil
}

// addZone is ngx_shared_memory_add for zone name of size declared by d
// for use (the module's tag; key: a limit zone's key): one zone list for
// every module, so a limit_conn_zone and a proxy_cache_path keys_zone may
// not share a name. dup says the zone was declared before for use.
func (s *blockState) addZone(d *Directive, use, name string, size int64, key string) (z limitZone, dup bool, err *Error) {
	if s.reqZones == nil {
		s.reqZones = map[string]limitZone{}
	}
	if z, dup := s.reqZones[name]; dup {
		switch {
		case z.use != use:
			return z, false, d.errorf("the shared memory zone %q is already declared for a different use", name)
		case z.size != size:
			return z, false, d.errorf("the size %d of shared memory zone %q conflicts with already declared size %d", size, name, z.size)
		}
		return z, true, nil
	}
	z = limitZone{use: use, key: key, size: size}
	s.reqZones[name] = z
	return z, false, nil
}

func (p *parser) stateCheck1(d *Directive, ctx Context) *Error {
	s := &p.state
	switch {
	case d.Name == "load_module" && ctx == MainConf:
		return p.loadModule(d)
	case strings.HasSuffix(d.Name, "_cache_path") && ctx == HTTPMainConf:
		return p.cachePath(d)
	case tempPathDirectives[d.Name] && len(d.Args) > 0:
		return s.addPath(p.cfg.PrefixPath(d.Args[0]), pathUse{d: d, levels: tempPathLevels(d)}, d.File, d.EndLine)
	case strings.HasSuffix(d.Name, "ssl_password_file") && len(d.Args) == 1:
		// proxy_, grpc_ and uwsgi_ssl_password_file are read as they
		// are read too (ngx_ssl_read_password_file in the handler).
		path := p.cfg.ConfPath(d.Args[0])
		if _, done := p.cfg.Passwords[path]; done {
			break
		}
		data, err := os.ReadFile(p.cfg.MapPath(path))
		if err != nil {
			e := fileError(path, err)
			if e.Crit { // ngx_read_fd failed: nginx says read(), as an emerg
				e = &Error{Msg: `read() "` + path + `" failed ` + errnoText(err)}
			}
			e.File, e.Line = d.File, d.EndLine
			return e
		}
		if p.cfg.Passwords == nil {
			p.cfg.Passwords = map[string][]string{}
		}
		p.cfg.Passwords[path] = passwordLines(data)
	case d.Name == "thread_pool" && ctx == MainConf:
		if s.threadPools[d.Args[0]] {
			return d.errorf("duplicate thread pool %q", d.Args[0])
		}
		if s.threadPools == nil {
			s.threadPools = map[string]bool{}
		}
		s.threadPools[d.Args[0]] = true
	case d.Name == "log_format" && ctx == HTTPMainConf:
		s.initFormats()
		if s.logFormats[d.Args[0]] {
			return d.errorf(`duplicate "log_format" name %q`, d.Args[0])
		}
		if len(d.Args) > 1 {
			if esc, ok := strings.CutPrefix(d.Args[1], "escape="); ok && esc != "default" && esc != "json" && esc != "none" {
				return d.errorf("unknown log format escaping %q", esc)
			}
		}
		s.logFormats[d.Args[0]] = true
	case d.Name == "access_log" && ctx&(HTTPMainConf|HTTPSrvConf|HTTPLocConf|HTTPLifConf|HTTPLmtConf) != 0:
		s.initFormats()
		return checkAccessLog(d, s.logFormats)
	case d.Name == "listen" && ctx == StreamSrvConf:
		return checkListenPair(d, &s.streamListens, true)
	case d.Name == "listen" && ctx == MailSrvConf:
		return checkListenPair(d, &s.mailListens, false)
	case d.Name == "proxy_pass" && ctx == StreamSrvConf:
		return checkStreamPass(d)
	case d.Name == "proxy_pass" && ctx&(HTTPLocConf|HTTPLifConf|HTTPLmtConf) != 0:
		return checkProxyPass(d, ctx != HTTPLocConf || s.noURI())
	case d.Name == "auth_http" && ctx&(MailMainConf|MailSrvConf) != 0:
		// ngx_mail_auth_http: "http://" (that case only) cut, then
		// ngx_parse_url with a URI part.
		u := strings.TrimPrefix(d.Args[0], "http://")
		if _, msg := parseUpstreamURL(u, true); msg != "" {
			return d.errorf("%s in auth_http %q", msg, u)
		}
	case d.Name == "server" && ctx == StreamUpsConf:
		a := d.Args[0]
		// ngx_parse_url's errors come before its no_port one.
		if _, msg := parseUpstreamURL(a, false); msg != "" {
			return d.errorf("%s in upstream %q", msg, a)
		}
		if !strings.HasPrefix(a, "unix:") && !hasPort(a) {
			return d.errorf("no port in upstream %q", a)
		}
	}
	return nil
}

func (s *blockState) initFormats() {
	if s.logFormats == nil {
		s.logFormats = map[string]bool{"combined": true}
	}
}

// checkAccessLog follows ngx_http_log_set_log: "off" alone, a known
// format (log_format must come first), then buffer=, flush=, gzip[=N]
// and if= parameters.
func checkAccessLog(d *Directive, formats map[string]bool) *Error {
	a := d.Args
	if a[0] == "off" {
		if len(a) > 1 {
			return d.errorf("invalid parameter %q", a[1])
		}
		return nil
	}
	if len(a) >= 2 && !knownFormat(formats, a[1]) {
		return d.errorf("unknown log format %q", a[1])
	}
	var size, flush int64
	for _, v := range a[min(2, len(a)):] {
		switch {
		case strings.HasPrefix(v, "buffer="):
			n, ok := ParseSize(v[7:])
			if !ok || n == 0 {
				return d.errorf("invalid buffer size %q", v[7:])
			}
			size = n
		case strings.HasPrefix(v, "flush="):
			n, ok := ParseTime(v[6:], false)
			if !ok || n == 0 {
				return d.errorf("invalid flush time %q", v[6:])
			}
			flush = n
		case v == "gzip":
		case strings.HasPrefix(v, "gzip="):
			if n, ok := ParseNumber(v[5:]); !ok || n < 1 || n > 9 {
				return d.errorf("invalid compression level %q", v[5:])
			}
		case strings.HasPrefix(v, "if="):
		default:
			return d.errorf("invalid parameter %q", v)
		}
	}
	if flush != 0 && size == 0 {
		return d.errorf("no buffer is defined for access_log %q", a[0])
	}
	return nil
}

// knownFormat: a log_format name matches caselessly, as
// ngx_http_log_set_log looks it up (log_format's duplicates are exact).
func knownFormat(formats map[string]bool, name string) bool {
	if formats[name] {
		return true
	}
	for f := range formats {
		if strings.EqualFold(f, name) {
			return true
		}
	}
	return false
}

// checkListenPair refuses a second listen on the same address (and, in
// stream, the same transport), as the stream and mail listen handlers do.
func checkListenPair(d *Directive, seen *[]string, stream bool) *Error {
	key, ok := listenKey(d.Args[0])
	if !ok {
		return nil // address errors are the listen parser's business
	}
	// nginx names the address by its socket address's text ("8999" is
	// "0.0.0.0:8999"); a host name stays as written.
	text := key
	if h, _, _ := strings.Cut(key, ":"); h != "unix" && h != "" && h[0] != '[' {
		if _, err := netip.ParseAddr(h); err != nil {
			text = d.Args[0]
		}
	}
	if stream {
		proto := "tcp "
		for _, p := range d.Args[1:] {
			if p == "udp" {
				proto = "udp "
			}
		}
		key = proto + key
	}
	for _, k := range *seen {
		if k == key {
			return d.errorf("duplicate %q address and port pair", text)
		}
	}
	*seen = append(*seen, key)
	return nil
}

// listenKey normalizes a listen address as the socket address it names:
// "80" and "*:80" are "0.0.0.0:80". Names are compared as written.
func listenKey(a string) (string, bool) {
	if strings.HasPrefix(a, "unix:") {
		return a, true
	}
	host, port := "", a
	if strings.HasPrefix(a, "[") {
		end := strings.Index(a, "]:")
		if end < 0 {
			return "", false
		}
		ip, err := netip.ParseAddr(a[1:end])
		if err != nil {
			return "", false
		}
		host, port = "["+ip.String()+"]", a[end+2:]
	} else if i := strings.LastIndexByte(a, ':'); i >= 0 {
		host, port = a[:i], a[i+1:]
		if host == "*" {
			host = "0.0.0.0"
		} else if v, ok := inetAddr(host); ok {
			host = netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}).String()
		} else {
			host = strings.ToLower(host)
		}
	} else if _, err := strconv.Atoi(a); err == nil {
		host = "0.0.0.0"
	} else {
		return "", false
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return "", false
	}
	return host + ":" + strconv.Itoa(n), true
}

// hasPort reports whether a stream upstream address names a port.
func hasPort(a string) bool {
	if strings.HasPrefix(a, "[") {
		return strings.Contains(a, "]:")
	}
	return strings.Contains(a, ":")
}

// endBlock runs the checks nginx's block handlers make once d's block
// (view: includes spliced in) has been read; line is its "}" line.
func (p *parser) endBlock(d *Directive, view []*Directive, inner Context) *Error {
	switch {
	case d.Name == "server" && (inner == MailSrvConf || inner == StreamSrvConf):
		if !hasDirective(view, "listen") {
			return &Error{Msg: `no "listen" is defined for server in ` + d.File + ":" + strconv.Itoa(d.EndLine)}
		}
	case d.Name == "http" && inner == HTTPMainConf:
		// The core module's merge of the servers comes first.
		if err := checkHeaderPool(view, d.File, p.closeLine); err != nil {
			return err
		}
		if err := p.addDefaultTempPaths(view, d.File, p.closeLine); err != nil {
			return err
		}
		// Each check's walk is skipped when the config has none of the
		// directives it looks at (p.present): it would find nothing.
		if p.present&presImplicitUps != 0 {
			if err := checkImplicitUpstreams(view, p.lookupHost); err != nil {
				return err
			}
		}
		// The referer module's merge comes before the ssl and proxy
		// modules'.
		if p.present&presReferers != 0 {
			if err := checkReferers(view); err != nil {
				return err
			}
		}
		if p.present&presCertificate != 0 {
			if err := p.checkTicketKeys(view, d.File, p.closeLine); err != nil {
				return err
			}
		}
		warn := func(w *Error) { p.cfg.Warnings = append(p.cfg.Warnings, w) }
		if err := checkBuffers(view, p.present, d.File, p.closeLine, warn); err != nil {
			return err
		}
		if p.present&(presCharset|presSourceCharset) == presCharset|presSourceCharset {
			if err := checkCharsets(view); err != nil {
				return err
			}
		}
		if p.present&presMemcached == 0 {
			return nil
		}
		return checkMemcachedKey(view)
	case d.Name == "mail" && inner == MailMainConf:
		return checkMailServers(view)
	case d.Name == "stream" && inner == StreamMainConf:
		for _, s := range view {
			if s.Name == "server" && !hasDirective(s.Block, "proxy_pass") && !hasDirective(s.Block, "return") {
				return &Error{Msg: "no handler for server in " + s.File + ":" + strconv.Itoa(s.EndLine)}
			}
		}
		var servers []*Directive
		for _, s := range view {
			if s.Name == "server" {
				servers = append(servers, s)
			}
		}
		// ngx_stream_upstream_init_main_conf: a proxy_pass address
		// without a port must name an upstream{} block. The upstream
		// module comes before the ssl module, whose merge wants the
		// certificates.
		ups := map[string]bool{}
		for _, u := range view {
			if u.Name == "upstream" && len(u.Args) == 1 {
				ups[strings.ToLower(u.Args[0])] = true
			}
		}
		for _, s := range view {
			if s.Name != "server" {
				continue
			}
			for _, pp := range s.Block {
				if pp.Name != "proxy_pass" || len(pp.Args) != 1 {
					continue
				}
				a := pp.Args[0]
				if strings.Contains(a, "$") || strings.HasPrefix(a, "unix:") || hasPort(a) || ups[strings.ToLower(a)] {
					continue
				}
				return &Error{Msg: `no port in upstream "` + a + `"`, File: pp.File, Line: pp.EndLine}
			}
		}
		if err := checkSSLCerts(view, servers); err != nil {
			return err
		}
		return checkStreamVariables(view, p.state.loaded["ngx_stream_geoip_module"])
	}
	return nil
}

func hasDirective(block []*Directive, name string) bool {
	for _, d := range block {
		if d.Name == name {
			return true
		}
	}
	return false
}

// cachePath refuses, as ngx_http_file_cache_set_slot and ngx_add_path do,
// a cache zone declared twice and a cache's directory named before.
func (p *parser) cachePath(d *Directive) *Error {
	s := &p.state
	// The path is added before the zone.
	if err := s.addPath(p.cfg.PrefixPath(d.Args[0]), pathUse{d: d, cache: true}, d.File, d.EndLine); err != nil {
		return err
	}
	for _, a := range d.Args[1:] {
		if z, ok := strings.CutPrefix(a, "keys_zone="); ok {
			name, sizeText, _ := strings.Cut(z, ":")
			size, _ := ParseSize(sizeText)
			_, dup, err := s.addZone(d, d.Name, name, size, "")
			if err != nil {
				return err
			}
			if dup {
				return d.errorf("duplicate zone %q", name)
			}
		}
	}
	return nil
}

// storeCacheCheck refuses *_cache and *_store turned on in one block, as
// the proxy, fastcgi, uwsgi and scgi handlers do, naming the later one.
func storeCacheCheck(d *Directive, before []*Directive) *Error {
	m, kind, ok := strings.Cut(d.Name, "_")
	if !ok || kind != "cache" && kind != "store" || len(d.Args) != 1 || d.Args[0] == "off" {
		return nil
	}
	switch m {
	case "proxy", "fastcgi", "uwsgi", "scgi":
	default:
		return nil
	}
	other := m + "_store"
	if kind == "store" {
		other = m + "_cache"
	}
	for _, s := range before {
		if s.Name == other && len(s.Args) == 1 && s.Args[0] != "off" {
			return d.errorf("%q directive is incompatible with %q", d.Name, other)
		}
	}
	return nil
}

// passwordLines splits an ssl_password_file as ngx_ssl_read_password_file:
// one password a line (CR LF or LF), empty lines skipped; a file with
// none holds the empty password.
func passwordLines(data []byte) []string {
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if line != "" {
			out = append(out, line)
		}
	}
	if len(out) == 0 {
		out = []string{""}
	}
	return out
}
