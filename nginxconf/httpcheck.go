package nginxconf

import (
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
)

// This file holds the checks nginx makes when an http block closes (its
// merge_loc_conf handlers and postconfiguration): buffer sizes, charsets,
// implicit upstreams, memcached_key, certificates and ticket keys.

// bufConf is what one level (http, server, location, if) sets of an
// upstream module's buffer directives; -1 is unset.
type bufConf struct {
	num, size, bufferSize, busy, tempWrite, maxTemp int64
	cache                                           string // *_cache zone name, "" or "off"
	verify, trusted                                 string // *_ssl_verify, *_ssl_trusted_certificate
	key                                             bool   // a *_cache_key is set
	cacheSet                                        bool   // a *_cache is set, even to "" (a zone of that name)
	body                                            string // proxy_set_body's value
}

// bufModule holds the directive names checkBuffers reads for one of the
// proxy-like modules, built once so the per-location walk builds no strings.
type bufModule struct {
	module, prefix, pass, buffers, bufferSize, busy, tempWrite, maxTemp, cache, cacheKey, sslVerify, sslTrusted string
}

var bufModules = func() []bufModule {
	var ms []bufModule
	for _, m := range []string{"proxy", "fastcgi", "uwsgi", "scgi"} {
		ms = append(ms, bufModule{
			module: m, prefix: m + "_", pass: m + "_pass", buffers: m + "_buffers", bufferSize: m + "_buffer_size",
			busy: m + "_busy_buffers_size", tempWrite: m + "_temp_file_write_size",
			maxTemp: m + "_max_temp_file_size", cache: m + "_cache", cacheKey: m + "_cache_key",
			sslVerify: m + "_ssl_verify", sslTrusted: m + "_ssl_trusted_certificate",
		})
	}
	return ms
}()

// checkBuffers makes the buffer checks of the proxy, fastcgi, uwsgi and
// scgi modules' merge_loc_conf for every server and location of an
// http block, in nginx's merge order (module by module, each location
// after its parent). nginx reports them at the http block's "}".
//
// used has the presBuf bit of each module some directive of which read
// here was seen; the others are skipped.
func checkBuffers(httpBlock []*Directive, used presence, file string, line int, warn func(*Error)) *Error {
	const page = 4096
	zones := map[string]bool{}
	for _, d := range httpBlock {
		if strings.HasSuffix(d.Name, "_cache_path") {
			for _, a := range d.Args {
				if z, ok := strings.CutPrefix(a, "keys_zone="); ok {
					name, _, _ := strings.Cut(z, ":")
					zones[name] = true
				}
			}
		}
	}
	for i := range bufModules {
		if used&(presBuf<<i) == 0 {
			// Defaults everywhere (a *_pass alone sets none of what
			// check and sslCheck read), which pass: nothing to check.
			continue
		}
		n := &bufModules[i]
		m := n.module
		read := func(block []*Directive, prev bufConf) bufConf {
			c := prev
			for _, d := range block {
				// Most directives belong to none of these modules: one
				// prefix test spares the switch.
				if !strings.HasPrefix(d.Name, n.prefix) {
					continue
				}
				switch d.Name {
				case n.buffers:
					if len(d.Args) == 2 {
						c.num, _ = ParseNumber(d.Args[0])
						c.size, _ = ParseSize(d.Args[1])
					}
				case n.bufferSize:
					c.bufferSize, _ = ParseSize(d.Args[0])
				case n.busy:
					c.busy, _ = ParseSize(d.Args[0])
				case n.tempWrite:
					c.tempWrite, _ = ParseSize(d.Args[0])
				case n.maxTemp:
					c.maxTemp, _ = ParseSize(d.Args[0])
				case n.cache:
					c.cache, c.cacheSet = d.Args[0], true
				case n.cacheKey:
					c.key = true
				case n.sslVerify:
					c.verify = d.Args[0]
				case n.sslTrusted:
					c.trusted = d.Args[0]
				case "proxy_set_body":
					c.body = d.Args[0]
				}
			}
			return c
		}
		// sslPass reports whether a location's own *_pass is TLS.
		sslPass := func(block []*Directive) bool {
			for _, d := range block {
				if d.Name == n.pass && len(d.Args) == 1 {
					v := strings.ToLower(d.Args[0])
					return strings.HasPrefix(v, "https://") || strings.HasPrefix(v, "suwsgi://")
				}
			}
			return false
		}
		// ngx_http_proxy_set_ssl (and uwsgi's): verifying the upstream's
		// certificate needs trusted CAs.
		sslCheck := func(block []*Directive, c bufConf) *Error {
			if !sslPass(block) || c.verify != "on" {
				return nil
			}
			if c.trusted == "" {
				return &Error{Msg: "no " + m + "_ssl_trusted_certificate for " + m + "_ssl_verify"}
			}
			if _, err := os.Stat(c.trusted); strings.HasPrefix(c.trusted, "/") && os.IsNotExist(err) {
				return &Error{Msg: `SSL_CTX_load_verify_locations("` + c.trusted + `") failed (SSL: error:80000002:system library::No such file or directory:calling fopen(` +
					c.trusted + `, r) error:10000080:BIO routines::no such file error:05880002:x509 certificate routines::system lib)`}
			}
			return nil
		}
		check := func(c bufConf) *Error {
			if c.num == -1 {
				c.num, c.size = 8, page
			}
			if c.bufferSize == -1 {
				c.bufferSize = page
			}
			err := func(msg string) *Error { return &Error{Msg: msg, File: file, Line: line} }
			// Messages are built only on error: this runs for every location.
			maxOf := func() string {
				return `the maximum of the value of "` + m + `_buffer_size" and one of the "` + m + `_buffers"`
			}
			if c.num < 2 {
				return err(`there must be at least 2 "` + m + `_buffers"`)
			}
			size := max(c.bufferSize, c.size)
			busy := c.busy
			if busy == -1 {
				busy = 2 * size
			}
			if busy < size {
				return err(`"` + m + `_busy_buffers_size" must be equal to or greater than ` + maxOf())
			}
			if busy > (c.num-1)*c.size {
				return err(`"` + m + `_busy_buffers_size" must be less than the size of all "` + m + `_buffers" minus one buffer`)
			}
			temp := c.tempWrite
			if temp == -1 {
				temp = 2 * size
			}
			if temp < size {
				return err(`"` + m + `_temp_file_write_size" must be equal to or greater than ` + maxOf())
			}
			maxTemp := c.maxTemp
			if maxTemp == -1 {
				maxTemp = 1 << 30
			}
			if maxTemp != 0 && maxTemp < size {
				return err(`"` + m + `_max_temp_file_size" must be equal to zero to disable temporary files usage or must be equal to or greater than ` + maxOf())
			}
			if z := c.cache; c.cacheSet && z != "off" && !strings.Contains(z, "$") && !zones[z] {
				return err(`"` + m + `_cache" zone "` + z + `" is unknown`)
			}
			if c.cacheSet && c.cache != "off" && !c.key && m != "proxy" {
				w := err(`no "` + m + `_cache_key" for "` + m + `_cache"`)
				w.Warn = true
				warn(w)
			}
			return nil
		}
		top := bufConf{num: -1, size: -1, bufferSize: -1, busy: -1, tempWrite: -1, maxTemp: -1}
		err := eachMerged(httpBlock, top, read, func(block []*Directive, c bufConf, server bool) *Error {
			if err := check(c); err != nil {
				return err
			}
			if !server {
				if err := sslCheck(block, c); err != nil {
					return err
				}
			}
			// ngx_http_proxy_merge_loc_conf compiles proxy_set_body's
			// value after its buffer and ssl checks.
			if msg := complexSyntax(c.body); msg != "" {
				return &Error{Msg: msg, File: file, Line: line}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// eachMerged calls visit, in merge order, with the configuration each
// server and each location, if and limit_except inside it ends up with:
// read adds a block's own directives to what the block inherits, starting
// from the http block's over top. The first error stops the walk.
func eachMerged[T any](httpBlock []*Directive, top T, read func(block []*Directive, inherited T) T,
	visit func(block []*Directive, c T, server bool) *Error) *Error {
	var walk func(block []*Directive, prev T) *Error
	walk = func(block []*Directive, prev T) *Error {
		for _, d := range block {
			if d.Name != "location" && d.Name != "if" && d.Name != "limit_except" {
				continue
			}
			c := read(d.Block, prev)
			if err := visit(d.Block, c, false); err != nil {
				return err
			}
			if err := walk(d.Block, c); err != nil {
				return err
			}
		}
		return nil
	}
	top = read(httpBlock, top)
	for _, s := range httpBlock {
		if s.Name != "server" {
			continue
		}
		c := read(s.Block, top)
		if err := visit(s.Block, c, true); err != nil {
			return err
		}
		if err := walk(s.Block, c); err != nil {
			return err
		}
	}
	return nil
}

// presence marks after-block checks (one bit each) that a directive
// read concerns; the http block's checks skip their tree walks when no
// directive they look at was read, which is most configs for most checks.
type presence uint16

const (
	// presBuf is the first of one bit per bufModules entry: a directive
	// its merge check reads (a buffer size, *_cache, *_ssl_verify, ...).
	presBuf presence = 1 << iota
	_
	_
	_
	presCharset       // charset
	presSourceCharset // source_charset
	presMemcached     // memcached_pass
	presImplicitUps   // fastcgi/scgi/uwsgi/grpc/memcached_pass
	presCertificate   // ssl_certificate
	presReferers      // valid_referers
	// presStoreCache is not a presence flag: it marks the names
	// storeCacheCheck looks at, so that other directives skip it.
	presStoreCache // proxy/fastcgi/uwsgi/scgi _cache and _store
)

// concernsOf says which checks a directive named name concerns.
func concernsOf(name string) presence {
	var c presence
	for i := range bufModules {
		n := &bufModules[i]
		switch name {
		case n.buffers, n.bufferSize, n.busy, n.tempWrite, n.maxTemp, n.cache, n.cacheKey, n.sslVerify, n.sslTrusted:
			c |= presBuf << i
		}
	}
	if name == "proxy_set_body" {
		c |= presBuf // bufModules[0] is proxy
	}
	switch name {
	case "charset":
		c |= presCharset
	case "source_charset":
		c |= presSourceCharset
	case "memcached_pass":
		c |= presMemcached
	case "ssl_certificate":
		c |= presCertificate
	case "valid_referers":
		c |= presReferers
	}
	if passSchemes[name] != nil || name == "proxy_pass" {
		c |= presImplicitUps
	}
	for i := range bufModules {
		if name == bufModules[i].cache || name == bufModules[i].module+"_store" {
			c |= presStoreCache
		}
	}
	return c
}

// checkReferers makes ngx_http_referer_merge_conf's check: a
// valid_referers with "none" or "blocked" needs a host name to accept
// too (one of its own, or of server_names: its server's names that are
// not regexes); regexes do not count. nginx names no place.
func checkReferers(httpBlock []*Directive) *Error {
	var walk func(block []*Directive, server *Directive) bool
	walk = func(block []*Directive, server *Directive) bool {
		// A block's valid_referers lines make one list.
		noneOrBlocked, hosts := false, false
		for _, d := range block {
			switch d.Name {
			case "server":
				if walk(d.Block, d) {
					return true
				}
				continue
			case "valid_referers":
				for _, a := range d.Args {
					switch {
					case a == "none" || a == "blocked":
						noneOrBlocked = true
					case a == "server_names" && server != nil:
						// Without server_name a server has the name "".
						named := false
						for _, n := range server.Block {
							if n.Name == "server_name" {
								named = true
								hosts = hosts || slices.ContainsFunc(n.Args, func(v string) bool { return !strings.HasPrefix(v, "~") })
							}
						}
						hosts = hosts || !named
					case !strings.HasPrefix(a, "~"):
						hosts = true
					}
				}
			}
			if d.Block != nil && !dataBlocks[d.Name] && walk(d.Block, server) {
				return true
			}
		}
		return noneOrBlocked && !hosts
	}
	if walk(httpBlock, nil) {
		return &Error{Msg: `the "none" or "blocked" referers are specified in the "valid_referers" directive without any valid referer`}
	}
	return nil
}

// checkCharsets makes ngx_http_charset_postconfiguration's check: every
// (source_charset, charset) pair that some server or location ends up
// with, after inheritance, needs a charset_map between the two (either
// way). Pairs are checked in merge order; nginx names no place.
func checkCharsets(httpBlock []*Directive) *Error {
	// set marks a charset written, even as "" (a charset by that name).
	type conf struct {
		charset, source       string
		charsetSet, sourceSet bool
	}
	read := func(block []*Directive, prev conf) conf {
		c := prev
		for _, d := range block {
			switch {
			case d.Name == "charset" && len(d.Args) == 1:
				c.charset, c.charsetSet = strings.ToLower(d.Args[0]), true
			case d.Name == "source_charset" && len(d.Args) == 1:
				c.source, c.sourceSet = strings.ToLower(d.Args[0]), true
			}
		}
		return c
	}
	// nginx keeps one charset list, caseless, each name spelt as it was
	// first read (charset_map, charset and source_charset add to it).
	spelling := map[string]string{}
	var spell func(block []*Directive)
	spell = func(block []*Directive) {
		for _, d := range block {
			switch d.Name {
			case "charset_map", "charset", "source_charset":
				for _, a := range d.Args {
					if low := strings.ToLower(a); spelling[low] == "" {
						spelling[low] = a
					}
				}
			}
			spell(d.Block)
		}
	}
	spell(httpBlock)
	maps := map[[2]string]bool{}
	for _, d := range httpBlock {
		if d.Name == "charset_map" && len(d.Args) == 2 {
			a, b := strings.ToLower(d.Args[0]), strings.ToLower(d.Args[1])
			maps[[2]string{a, b}], maps[[2]string{b, a}] = true, true
		}
	}
	check := func(c conf) *Error {
		if !c.charsetSet || !c.sourceSet || c.charset == "off" || c.charset == c.source ||
			strings.HasPrefix(c.charset, "$") || strings.HasPrefix(c.source, "$") || maps[[2]string{c.source, c.charset}] {
			return nil
		}
		return &Error{Msg: `no "charset_map" between the charsets "` + spelling[c.source] + `" and "` + spelling[c.charset] + `"`}
	}
	return eachMerged(httpBlock, conf{}, read, func(_ []*Directive, c conf, _ bool) *Error { return check(c) })
}

// checkImplicitUpstreams makes ngx_http_upstream_init_main_conf's checks
// of the addresses proxy_pass and fastcgi/scgi/uwsgi/grpc/memcached_pass
// name, in the order they appear: one that names no upstream{} block
// needs a port (proxy_pass has its scheme's), and its host must resolve;
// nginx names the host alone.
func checkImplicitUpstreams(httpBlock []*Directive, resolves func(string) bool) *Error {
	ups := map[string]bool{}
	for _, u := range httpBlock {
		if u.Name == "upstream" && len(u.Args) == 1 {
			ups[strings.ToLower(u.Args[0])] = true
		}
	}
	var bad *Error
	var walk func([]*Directive)
	walk = func(block []*Directive) {
		for _, d := range block {
			if bad != nil {
				return
			}
			if d.Name == "proxy_pass" && len(d.Args) == 1 {
				if host, ok := proxyPassHost(d.Args[0], ups); ok && !resolves(host) {
					bad = &Error{Msg: `host not found in upstream "` + host + `" in ` + d.File + ":" + strconv.Itoa(d.EndLine)}
					return
				}
			}
			if passSchemes[d.Name] != nil && len(d.Args) == 1 && (!strings.Contains(d.Args[0], "$") || d.Name == "memcached_pass") {
				v := d.Args[0]
				for _, s := range passSchemes[d.Name] {
					if strings.HasPrefix(strings.ToLower(v), s) {
						v = v[len(s):]
						break
					}
				}
				if strings.HasPrefix(v, "unix:") || ups[strings.ToLower(v)] {
					continue
				}
				where := " in " + d.File + ":" + strconv.Itoa(d.EndLine)
				if !hasPort(v) {
					bad = &Error{Msg: `no port in upstream "` + v + `"` + where}
					return
				}
				host := v[:strings.LastIndexByte(v, ':')]
				host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
				if _, err := netip.ParseAddr(host); err != nil {
					if !resolves(host) {
						bad = &Error{Msg: `host not found in upstream "` + host + `"` + where}
						return
					}
				}
			}
			if !dataBlocks[d.Name] {
				walk(d.Block)
			}
		}
	}
	walk(httpBlock)
	return bad
}

// checkMemcachedKey: memcached_pass reads $memcached_key, which no module
// defines; something in the configuration must (set, map, ...), or nginx
// reports the variable unknown once all are indexed.
func checkMemcachedKey(httpBlock []*Directive) *Error {
	used, defined := false, false
	var walk func([]*Directive)
	walk = func(block []*Directive) {
		for _, d := range block {
			switch d.Name {
			case "memcached_pass":
				used = true
			case "set", "auth_request_set", "perl_set", "js_set":
				defined = defined || len(d.Args) > 0 && strings.EqualFold(d.Args[0], "$memcached_key")
			case "map", "geo", "split_clients":
				defined = defined || len(d.Args) > 0 && strings.EqualFold(d.Args[len(d.Args)-1], "$memcached_key")
			}
			if d.Name != "map" && d.Name != "geo" && d.Name != "split_clients" && d.Name != "types" {
				walk(d.Block)
			}
		}
	}
	walk(httpBlock)
	if used && !defined {
		return &Error{Msg: `unknown "memcached_key" variable`}
	}
	return nil
}

// checkSSLCerts makes the stream and mail ssl modules' merge check: a
// server that turns TLS on ("listen ... ssl", or in mail "ssl on" or
// "starttls") needs a certificate of its own or of the block.
func checkSSLCerts(block, servers []*Directive) *Error {
	blockCert := hasDirective(block, "ssl_certificate")
	for _, s := range servers {
		if blockCert || hasDirective(s.Block, "ssl_certificate") {
			continue
		}
		var mode string
		var at *Directive
		for _, d := range s.Block {
			switch {
			case d.Name == "listen" && slices.Contains(d.Args[1:], "ssl"):
				mode, at = "listen ... ssl", d
			case d.Name == "ssl" && len(d.Args) == 1 && d.Args[0] == "on" && mode != "listen ... ssl":
				mode, at = "ssl", d
			case d.Name == "starttls" && len(d.Args) == 1 && d.Args[0] != "off" && mode == "":
				mode, at = "starttls", d
			}
		}
		if at != nil {
			return &Error{Msg: `no "ssl_certificate" is defined for the "` + mode + `" directive in ` + at.File + ":" + strconv.Itoa(at.EndLine)}
		}
	}
	return nil
}

// checkTicketKeys opens the ssl_session_ticket_key files of every server
// with certificates, as ngx_http_ssl_merge_srv_conf does (at the http
// block's "}").
func (p *parser) checkTicketKeys(httpBlock []*Directive, file string, line int) *Error {
	keys := func(block []*Directive) []string {
		var out []string
		for _, d := range block {
			if d.Name == "ssl_session_ticket_key" && len(d.Args) == 1 {
				out = append(out, d.Args[0])
			}
		}
		return out
	}
	httpKeys, httpCert := keys(httpBlock), hasDirective(httpBlock, "ssl_certificate")
	for _, s := range httpBlock {
		if s.Name != "server" || !httpCert && !hasDirective(s.Block, "ssl_certificate") {
			continue
		}
		list := keys(s.Block)
		if list == nil {
			list = httpKeys
		}
		for _, k := range list {
			path := p.cfg.ConfPath(k)
			data, err := os.ReadFile(p.cfg.MapPath(path))
			if err != nil {
				e := fileError(path, err)
				e.File, e.Line = file, line
				return e
			}
			if len(data) != 48 && len(data) != 80 {
				return &Error{Msg: `"` + path + `" must be 48 or 80 bytes`, File: file, Line: line}
			}
		}
	}
	return nil
}

// complexSyntax is the error ngx_http_script_compile finds in a value's
// variable references (a '$' without a name, an unclosed "${"), or "".
// Names are not resolved: unknown ones are reported at the end.
func complexSyntax(v string) string {
	for i := 0; i < len(v); i++ {
		if v[i] != '$' {
			continue
		}
		i++
		if i < len(v) && v[i] >= '1' && v[i] <= '9' {
			continue
		}
		bracket := i < len(v) && v[i] == '{'
		if bracket {
			i++
		}
		start := i
		for i < len(v) && (v[i] >= 'a' && v[i] <= 'z' || v[i] >= 'A' && v[i] <= 'Z' || v[i] >= '0' && v[i] <= '9' || v[i] == '_') {
			i++
		}
		if bracket && start < len(v) && (i == len(v) || v[i] != '}') {
			return `the closing bracket in "` + v[start:i] + `" variable is missing`
		}
		if i == start {
			return "invalid variable name"
		}
		i-- // the loop's i++ steps past the name (or the '}')
		if bracket {
			i++
		}
	}
	return ""
}

// checkHeaderPool is ngx_http_core_merge_srv_conf's check of each server:
// its large_client_header_buffers size (8k unless set) may not be less
// than its connection_pool_size (512 unless set), either inherited from
// http{}. nginx names the line that closes http{}, where it merges.
func checkHeaderPool(view []*Directive, file string, line int) *Error {
	size := func(block []*Directive, name string, arg int, def int64) int64 {
		for _, d := range block {
			if d.Name == name && len(d.Args) > arg {
				if n, ok := ParseSize(d.Args[arg]); ok {
					return n
				}
			}
		}
		return def
	}
	buffers := size(view, "large_client_header_buffers", 1, 8192)
	pool := size(view, "connection_pool_size", 0, 512)
	for _, s := range view {
		if s.Name != "server" {
			continue
		}
		if size(s.Block, "large_client_header_buffers", 1, buffers) < size(s.Block, "connection_pool_size", 0, pool) {
			return &Error{Msg: `the "large_client_header_buffers" size must be equal to or greater than "connection_pool_size"`, File: file, Line: line}
		}
	}
	return nil
}
