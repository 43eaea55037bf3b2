package nginxconf

import (
	"net/netip"
	"strconv"
	"strings"
)

// This file holds value checks of module handlers (add_header, expires,
// limit_req, limit_conn, resolver, limit_except, index, the *_types
// lists), with the messages nginx 1.22 prints, each observed with
// nginx -t.

// moreChecks is customCheck's continuation for these handlers.
func moreChecks(cmd *Command, d *Directive) *Error {
	a := d.Args
	switch m := cmd.Module; {
	case (d.Name == "add_header" || d.Name == "add_trailer") && m == "ngx_http_headers_filter_module":
		if len(a) == 3 && a[2] != "always" {
			return d.errorf("invalid parameter %q", a[2])
		}
	case d.Name == "expires" && m == "ngx_http_headers_filter_module":
		return checkExpires(d)
	case d.Name == "limit_req_zone" && m == "ngx_http_limit_req_module":
		return checkZoneParams(d, true)
	case d.Name == "limit_conn_zone" && (m == "ngx_http_limit_conn_module" || m == "ngx_stream_limit_conn_module"):
		return checkZoneParams(d, false)
	case d.Name == "limit_req" && m == "ngx_http_limit_req_module":
		return checkLimitReq(d)
	case d.Name == "limit_conn" && (m == "ngx_http_limit_conn_module" || m == "ngx_stream_limit_conn_module"):
		n, ok := ParseNumber(a[1])
		if !ok || n <= 0 {
			return d.errorf("invalid number of connections %q", a[1])
		}
		if n > 65535 {
			return d.errorf("connection limit must be less 65536")
		}
	case d.Name == "listen" && (m == "ngx_stream_core_module" || m == "ngx_mail_core_module"):
		return checkStreamMailListen(d, m == "ngx_stream_core_module")
	case cmd.Set == "ngx_stream_set_complex_value_size_slot":
		// As SlotComplexValueSize: a size without variables is read now.
		if _, ok := ParseSize(a[0]); !ok && !strings.Contains(a[0], "$") {
			return d.errorf("%q directive invalid value", d.Name)
		}
	case d.Name == "directio" && m == "ngx_http_core_module":
		if _, ok := ParseOffset(a[0]); !ok && a[0] != "off" {
			return d.errorf("%q directive invalid value", d.Name)
		}
	case d.Name == "aio" && m == "ngx_http_core_module":
		// ngx_http_core_set_aio as Debian's nginx is built: threads,
		// no file AIO.
		switch v := a[0]; {
		case v == "on":
			return d.errorf(`"aio on" is unsupported on this platform`)
		case v != "off" && v != "threads" && !strings.HasPrefix(v, "threads="):
			return d.errorf("%q directive invalid value", d.Name)
		}
	case d.Name == "sub_filter" && m == "ngx_http_sub_filter_module":
		if a[0] == "" {
			return d.errorf("empty search pattern")
		}
	case d.Name == "open_file_cache" && m == "ngx_http_core_module":
		return checkOpenFileCache(d)
	case d.Name == "userid_expires" && m == "ngx_http_userid_filter_module":
		if a[0] != "max" && a[0] != "off" {
			if _, ok := ParseTime(a[0], true); !ok {
				return d.errorf("%q directive invalid value", d.Name)
			}
		}
	case d.Name == "userid_mark" && m == "ngx_http_userid_filter_module":
		if v := a[0]; v != "off" && (len(v) != 1 || !isAlnum(v[0]) && v[0] != '=') {
			return d.errorf(`"userid_mark" directive value must be "off" or a single letter, digit or "="`)
		}
	case (d.Name == "allow" || d.Name == "deny") && (m == "ngx_http_access_module" || m == "ngx_stream_access_module"):
		if v := a[0]; v != "all" && v != "unix:" {
			_, low, ok := parseCIDR(v)
			if !ok {
				return d.errorf("invalid parameter %q", v)
			}
			if low {
				w := d.errorf("low address bits of %s are meaningless", v)
				w.Warn = true
				return w
			}
		}
	case d.Name == "set_real_ip_from" && (m == "ngx_http_realip_module" || m == "ngx_stream_realip_module"),
		d.Name == "debug_connection" && m == "ngx_event_core_module":
		// ngx_event_debug_connection reads its address as the realip
		// modules do (Debian's nginx is built --with-debug).
		if v := a[0]; v != "unix:" {
			_, low, ok := parseCIDR(v)
			if !ok {
				if _, err := LookupHost(v); err != nil {
					return d.errorf("host not found in %s %q", d.Name, v)
				}
				return nil
			}
			if low {
				w := d.errorf("low address bits of %s are meaningless", v)
				w.Warn = true
				return w
			}
		}
	case d.Name == "geoip_proxy" && m == "ngx_http_geoip_module":
		// ngx_http_geoip_cidr_value
		if v := a[0]; v != "255.255.255.255" {
			_, low, ok := parseCIDR(v)
			if !ok {
				return d.errorf("invalid network %q", v)
			}
			if low {
				w := d.errorf("low address bits of %s are meaningless", v)
				w.Warn = true
				return w
			}
		}
	case (d.Name == "proxy_cookie_domain" || d.Name == "proxy_cookie_path") && m == "ngx_http_proxy_module":
		if len(a) == 1 && a[0] != "off" {
			return d.errorf("invalid parameter %q", a[0])
		}
	case d.Name == "proxy_bind" && m == "ngx_stream_proxy_module":
		return checkBind(d)
	case strings.HasSuffix(d.Name, "_pass") && passSchemes[d.Name] != nil && strings.HasPrefix(m, "ngx_http_"):
		return checkPass(d)
	case d.Name == "thread_pool" && m == "ngx_thread_pool_module":
		return checkThreadPool(d)
	case d.Name == "zone" && (m == "ngx_http_upstream_zone_module" || m == "ngx_stream_upstream_zone_module"):
		// ngx_http_upstream_zone: a name, and a size of 8 pages or more.
		if a[0] == "" {
			return d.errorf("invalid zone name %q", a[0])
		}
		if len(a) == 2 {
			sz, ok := ParseSize(a[1])
			if !ok {
				return d.errorf("invalid zone size %q", a[1])
			}
			if sz < 8*4096 {
				return d.errorf("zone %q is too small", a[0])
			}
		}
	case d.Name == "open_log_file_cache":
		return checkOpenLogFileCache(d)
	case d.Name == "access_log" && (m == "ngx_http_log_module" || m == "ngx_stream_log_module"):
		return checkSyslog(d, a[0])
	case d.Name == "protocol" && m == "ngx_mail_core_module":
		if a[0] != "imap" && a[0] != "pop3" && a[0] != "smtp" {
			return d.errorf("unknown protocol %q", a[0])
		}
	case d.Name == "resolver":
		return checkResolver(d)
	case d.Name == "limit_except" && m == "ngx_http_core_module":
		for _, v := range a {
			if !containsFold(limitMethods, v) {
				return d.errorf("invalid method %q", v)
			}
		}
	}
	return nil
}

var limitMethods = []string{"GET", "HEAD", "POST", "PUT", "DELETE", "MKCOL", "COPY", "MOVE",
	"OPTIONS", "PROPFIND", "PROPPATCH", "LOCK", "UNLOCK", "PATCH"}

// checkExpires follows ngx_http_headers_expires and ngx_http_parse_expires.
func checkExpires(d *Directive) *Error {
	a := d.Args
	v, modified := a[0], false
	if len(a) == 2 {
		if a[0] != "modified" {
			return d.errorf(`"expires" directive invalid value`)
		}
		v, modified = a[1], true
	}
	if strings.Contains(v, "$") {
		return nil // evaluated per request
	}
	if !modified && (v == "epoch" || v == "max" || v == "off") {
		return nil
	}
	daily := false
	switch {
	case strings.HasPrefix(v, "@"):
		if modified {
			return d.errorf(`"expires" directive daily time cannot be used with "modified" parameter`)
		}
		v, daily = v[1:], true
	case strings.HasPrefix(v, "+"), strings.HasPrefix(v, "-"):
		v = v[1:]
	}
	n, ok := ParseTime(v, true)
	if !ok {
		return d.errorf(`"expires" directive invalid value`)
	}
	if daily && n > 24*60*60 {
		return d.errorf(`"expires" directive daily time value must be less than 24 hours`)
	}
	return nil
}

// checkZoneParams checks limit_req_zone's zone= and rate= (req) or
// limit_conn_zone's zone= parameters.
func checkZoneParams(d *Directive, req bool) *Error {
	name := ""
	for _, v := range d.Args[1:] {
		switch {
		case strings.HasPrefix(v, "zone="):
			n, size, ok := strings.Cut(v[5:], ":")
			if !ok {
				return d.errorf("invalid zone size %q", v)
			}
			sz, okS := ParseSize(size)
			if !okS {
				return d.errorf("invalid zone size %q", v)
			}
			if sz < 8*4096 {
				return d.errorf("zone %q is too small", v)
			}
			name = n
		case req && strings.HasPrefix(v, "rate="):
			r := v[5:]
			if strings.HasSuffix(r, "r/s") || strings.HasSuffix(r, "r/m") {
				r = r[:len(r)-3]
			}
			if n, ok := ParseNumber(r); !ok || n <= 0 {
				return d.errorf("invalid rate %q", v)
			}
		default:
			return d.errorf("invalid parameter %q", v)
		}
	}
	if name == "" {
		return d.errorf(`%q must have "zone" parameter`, d.Name)
	}
	return nil
}

func checkLimitReq(d *Directive) *Error {
	zone := false
	for _, v := range d.Args {
		switch {
		case strings.HasPrefix(v, "zone="):
			zone = true
		case strings.HasPrefix(v, "burst="):
			if n, ok := ParseNumber(v[6:]); !ok || n <= 0 {
				return d.errorf("invalid burst value %q", v)
			}
		case strings.HasPrefix(v, "delay="):
			if n, ok := ParseNumber(v[6:]); !ok || n <= 0 {
				return d.errorf("invalid delay value %q", v)
			}
		case v == "nodelay":
		default:
			return d.errorf("invalid parameter %q", v)
		}
	}
	if !zone {
		return d.errorf(`%q must have "zone" parameter`, d.Name)
	}
	return nil
}

// checkResolver follows ngx_resolver_create: valid=, ipv4=, ipv6= and
// addresses (port 53 by default), names resolved now.
func checkResolver(d *Directive) *Error {
	for _, v := range d.Args {
		switch {
		case strings.HasPrefix(v, "valid="):
			if _, ok := ParseTime(v[6:], true); !ok {
				return d.errorf("invalid parameter: %s", v)
			}
			continue
		case strings.HasPrefix(v, "ipv4="), strings.HasPrefix(v, "ipv6="):
			if x := v[5:]; x != "on" && x != "off" {
				return d.errorf("invalid parameter: %s", v)
			}
			continue
		}
		if msg := resolverAddr(v); msg != "" {
			return d.errorf("%s in resolver %q", msg, v)
		}
	}
	return nil
}

// resolverAddr is ngx_parse_url's verdict on a resolver address: "" or
// its error.
func resolverAddr(v string) string {
	host, port := v, ""
	if strings.HasPrefix(v, "[") {
		end := strings.IndexByte(v, ']')
		if end < 0 {
			return "invalid host"
		}
		host = v[1:end]
		if rest := v[end+1:]; rest != "" {
			if rest[0] != ':' {
				return "invalid host"
			}
			port = rest[1:]
		}
		if _, err := netip.ParseAddr(host); err != nil {
			return "invalid IPv6 address"
		}
	} else if i := strings.LastIndexByte(v, ':'); i >= 0 {
		host, port = v[:i], v[i+1:]
	}
	if strings.ContainsAny(v, "/") {
		return "invalid host"
	}
	if port != "" || strings.HasSuffix(v, ":") {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return "invalid port"
		}
	}
	if host == "" {
		return "no host"
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return ""
	}
	if _, err := LookupHost(host); err != nil {
		return "host not found"
	}
	return ""
}

// indexWarnings checks "index" as ngx_http_index_set_index does: an
// absolute name only last (a warning each), no empty name (an error that
// names the first index, as nginx prints it).
func indexWarnings(d *Directive) []*Error {
	var out []*Error
	for i, v := range d.Args {
		if strings.HasPrefix(v, "/") && i != len(d.Args)-1 {
			w := d.errorf(`only the last index in "index" directive should be absolute`)
			w.Warn = true
			out = append(out, w)
		}
		if v == "" {
			return append(out, d.errorf(`index %q in "index" directive is invalid`, d.Args[0]))
		}
	}
	return out
}

// typesWarnings warns about a MIME type listed twice in a *_types
// directive, the built-in text/html included ("*" ends the check). The
// directive repeated in a block adds to one list (ngx_http_types_slot),
// which "*" ends for good.
func typesWarnings(d *Directive, before []*Directive) []*Error {
	var out []*Error
	seen := []string{"text/html"}
	for _, b := range before {
		if b.Name != d.Name {
			continue
		}
		for _, v := range b.Args {
			if v == "*" {
				return nil
			}
			seen = append(seen, strings.ToLower(v))
		}
	}
	for _, v := range d.Args {
		if v == "*" {
			return out
		}
		low := strings.ToLower(v)
		if contains(seen, low) {
			w := d.errorf("duplicate MIME type %q", low)
			w.Warn = true
			out = append(out, w)
			continue
		}
		seen = append(seen, low)
	}
	return out
}

// typesCheck follows the entries of a types{} block: an extension given
// again takes the new type, with a warning.
type typesCheck struct {
	ext map[string]string
}

func (t *typesCheck) entry(d *Directive) []*Error {
	var out []*Error
	for _, e := range d.Args {
		low := strings.ToLower(e)
		if old, ok := t.ext[low]; ok {
			out = append(out, entryWarn(d, "duplicate extension %q, content type: %q, previous content type: %q", low, d.Name, old))
		}
		t.ext[low] = d.Name
	}
	return out
}

func (t *typesCheck) end(*Directive, int) *Error { return nil }

// checkStreamMailListen checks the parameters of a stream or mail listen
// as nginx 1.22's ngx_stream_core_listen and ngx_mail_core_listen do.
func checkStreamMailListen(d *Directive, stream bool) *Error {
	if msg := listenURLError(d.Args[0]); msg != "" {
		return d.errorf(`%s in "%s" of the "listen" directive`, msg, d.Args[0])
	}
	udp, backlog, ssl, keepalive, proxyProtocol, fastopen := false, false, false, false, false, false
	for _, v := range d.Args[1:] {
		switch {
		case stream && v == "udp":
			udp = true
		case v == "bind", stream && v == "reuseport":
		case stream && strings.HasPrefix(v, "fastopen="):
			if _, ok := ParseNumber(v[9:]); !ok {
				return d.errorf("invalid fastopen %q", v)
			}
			fastopen = true
		case strings.HasPrefix(v, "backlog="):
			if n, ok := ParseNumber(v[8:]); !ok || n == 0 {
				return d.errorf("invalid backlog %q", v)
			}
			backlog = true
		case strings.HasPrefix(v, "rcvbuf="), strings.HasPrefix(v, "sndbuf="):
			if _, ok := ParseSize(v[7:]); !ok {
				return d.errorf("invalid "+v[:6]+" %q", v)
			}
		case strings.HasPrefix(v, "ipv6only=o"):
			if v[10:] != "n" && v[10:] != "ff" {
				return d.errorf("invalid ipv6only flags %q", v[9:])
			}
		case v == "ssl":
			ssl = true
		case strings.HasPrefix(v, "so_keepalive="):
			if !validKeepalive(v[13:]) {
				return d.errorf("invalid so_keepalive value: %q", v[13:])
			}
			keepalive = true
		case v == "proxy_protocol":
			proxyProtocol = true
		default:
			return d.errorf("the invalid %q parameter", v)
		}
	}
	if udp {
		for _, c := range []struct {
			set  bool
			name string
		}{{backlog, "backlog"}, {ssl, "ssl"}, {keepalive, "so_keepalive"}, {proxyProtocol, "proxy_protocol"}, {fastopen, "fastopen"}} {
			if c.set {
				return d.errorf(`"listen" directive %q parameter is incompatible with "udp"`, c.name)
			}
		}
	}
	return nil
}

// validKeepalive reads "on", "off" or "[idle]:[intvl]:[cnt]" with at
// least one part non-zero.
func validKeepalive(v string) bool {
	if v == "on" || v == "off" {
		return true
	}
	parts := strings.SplitN(v, ":", 3)
	var total int64
	for i, p := range parts {
		if p == "" {
			continue
		}
		var n int64
		var ok bool
		if i < 2 {
			n, ok = ParseTime(p, true)
		} else {
			n, ok = ParseNumber(p)
		}
		if !ok {
			return false
		}
		total += n
	}
	return total != 0
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// checkOpenFileCache follows ngx_http_core_open_file_cache: max=N (N > 0)
// and inactive=TIME, or off; max is required unless off.
func checkOpenFileCache(d *Directive) *Error {
	hasMax, off := false, false
	for _, v := range d.Args {
		ok := false
		switch {
		case strings.HasPrefix(v, "max="):
			n, okN := ParseNumber(v[4:])
			ok, hasMax = okN && n > 0, true
		case strings.HasPrefix(v, "inactive="):
			_, ok = ParseTime(v[9:], true)
		case v == "off":
			ok, off = true, true
		}
		if !ok {
			return d.errorf(`invalid "open_file_cache" parameter %q`, v)
		}
	}
	if !off && !hasMax {
		return d.errorf(`"open_file_cache" must have the "max" parameter`)
	}
	return nil
}

// checkBind follows ngx_http_upstream_bind_set_slot: off, a value with
// variables, or an address with an optional port, then "transparent".
func checkBind(d *Directive) *Error {
	a := d.Args
	v := a[0]
	if v == "off" && len(a) == 1 || strings.Contains(v, "$") {
		return nil
	}
	if !validAddrPort(v) {
		return d.errorf("invalid address %q", v)
	}
	if len(a) == 2 && a[1] != "transparent" {
		return d.errorf("invalid parameter %q", a[1])
	}
	return nil
}

// validAddrPort is ngx_parse_addr_port: an IP address, with an optional
// port ("[v6]:port" for IPv6).
func validAddrPort(v string) bool {
	if _, err := netip.ParseAddr(v); err == nil {
		return !strings.Contains(v, "%")
	}
	if ap, err := netip.ParseAddrPort(v); err == nil {
		return ap.Port() != 0
	}
	return false
}

// passSchemes lists the URL prefixes each *_pass directive strips before
// it parses the address (none for fastcgi, scgi and memcached).
var passSchemes = map[string][]string{
	"fastcgi_pass": {}, "scgi_pass": {}, "memcached_pass": {},
	"uwsgi_pass": {"uwsgi://", "suwsgi://"}, "grpc_pass": {"grpc://", "grpcs://"},
}

// checkPass checks a fastcgi/scgi/uwsgi/grpc/memcached_pass address as
// ngx_parse_url does when the directive is read (names are resolved with
// the upstreams, after the http block).
func checkPass(d *Directive) *Error {
	v := d.Args[0]
	// memcached_pass takes no variables: "$x" is a host like any other.
	if strings.Contains(v, "$") && d.Name != "memcached_pass" {
		return nil
	}
	for _, s := range passSchemes[d.Name] {
		if strings.HasPrefix(strings.ToLower(v), s) {
			v = v[len(s):]
			break
		}
	}
	if msg := upstreamURLError(v); msg != "" {
		return d.errorf("%s in upstream %q", msg, v)
	}
	return nil
}

// upstreamURLError is ngx_parse_url's error for an upstream address
// without a URI part, or "".
func upstreamURLError(v string) string {
	if rest, ok := strings.CutPrefix(v, "unix:"); ok {
		if rest == "" {
			return "no path in the unix domain socket"
		}
		return ""
	}
	if strings.HasPrefix(v, "[") {
		end := strings.IndexByte(v, ']')
		if end < 0 {
			return "invalid host"
		}
		if _, err := netip.ParseAddr(v[1:end]); err != nil {
			return "invalid IPv6 address"
		}
		rest := v[end+1:]
		if rest == "" {
			return ""
		}
		if rest[0] != ':' {
			return "invalid host"
		}
		if n, err := strconv.Atoi(rest[1:]); err != nil || n < 1 || n > 65535 {
			return "invalid port"
		}
		return ""
	}
	if strings.Contains(v, "/") {
		return "invalid host"
	}
	if i := strings.LastIndexByte(v, ':'); i >= 0 {
		if n, err := strconv.Atoi(v[i+1:]); err != nil || n < 1 || n > 65535 {
			return "invalid port"
		}
		if i == 0 {
			return "no host"
		}
	}
	if v == "" {
		return "no host"
	}
	return ""
}

var syslogFacilities = []string{"kern", "user", "mail", "daemon", "auth", "intern", "lpr", "news", "uucp",
	"clock", "authpriv", "ftp", "ntp", "audit", "alert", "cron", "local0", "local1", "local2", "local3",
	"local4", "local5", "local6", "local7"}

var syslogSeverities = []string{"emerg", "alert", "crit", "error", "warn", "notice", "info", "debug"}

// checkSyslog checks a "syslog:" log destination as
// ngx_syslog_process_conf does.
func checkSyslog(d *Directive, dest string) *Error {
	rest, ok := strings.CutPrefix(dest, "syslog:")
	if !ok {
		return nil
	}
	server := false
	for _, p := range strings.Split(rest, ",") {
		switch {
		case strings.HasPrefix(p, "server="):
			v := p[7:]
			if strings.HasPrefix(v, "unix:") {
				if v == "unix:" {
					return d.errorf("no path in the unix domain socket in syslog server %q", v)
				}
				server = true
				continue
			}
			if msg := resolverAddr(v); msg != "" {
				return d.errorf("%s in syslog server %q", msg, v)
			}
			server = true
		case strings.HasPrefix(p, "facility="):
			if !contains(syslogFacilities, p[9:]) {
				return d.errorf("unknown syslog facility %q", p[9:])
			}
		case strings.HasPrefix(p, "severity="):
			if !contains(syslogSeverities, p[9:]) {
				return d.errorf("unknown syslog severity %q", p[9:])
			}
		case strings.HasPrefix(p, "tag="):
			tag := p[4:]
			if len(tag) > 32 {
				return d.errorf("syslog tag length exceeds 32")
			}
			for i := 0; i < len(tag); i++ {
				if !isAlnum(tag[i]) && tag[i] != '_' {
					return d.errorf(`syslog "tag" only allows alphanumeric characters and underscore`)
				}
			}
		case p == "nohostname":
		default:
			return d.errorf("unknown syslog parameter %q", p)
		}
	}
	if !server {
		return d.errorf("no syslog server specified")
	}
	return nil
}

// checkThreadPool follows ngx_thread_pool: threads=N (N > 0) is needed,
// max_queue=N may follow; any other word is passed over, as nginx does.
func checkThreadPool(d *Directive) *Error {
	threads := false
	for _, v := range d.Args[1:] {
		switch {
		case strings.HasPrefix(v, "threads="):
			if n, ok := ParseNumber(v[8:]); !ok || n == 0 {
				return d.errorf("invalid threads value %q", v)
			}
			threads = true
		case strings.HasPrefix(v, "max_queue="):
			if _, ok := ParseNumber(v[10:]); !ok {
				return d.errorf("invalid max_queue value %q", v)
			}
		}
	}
	if !threads {
		return d.errorf(`%q must have "threads" parameter`, d.Name)
	}
	return nil
}

// checkOpenLogFileCache follows ngx_http_log_open_file_cache.
func checkOpenLogFileCache(d *Directive) *Error {
	hasMax, off := false, false
	for _, v := range d.Args {
		ok := false
		switch {
		case strings.HasPrefix(v, "max="):
			// max=0 reads as no max at all (0 is the unset value).
			n, okN := ParseNumber(v[4:])
			ok, hasMax = okN, hasMax || n > 0
		case strings.HasPrefix(v, "inactive="), strings.HasPrefix(v, "valid="):
			_, val, _ := strings.Cut(v, "=")
			_, ok = ParseTime(val, true)
		case strings.HasPrefix(v, "min_uses="):
			_, ok = ParseNumber(v[9:])
		case v == "off":
			ok, off = true, true
		}
		if !ok {
			return d.errorf(`invalid "open_log_file_cache" parameter %q`, v)
		}
	}
	if !off && !hasMax {
		return d.errorf(`"open_log_file_cache" must have "max" parameter`)
	}
	return nil
}
