package location

import (
	"strings"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite"
)

// NewParseCheck makes a nginxconf.Options.Handler for the http
// directives whose nginx handlers refuse a value while the configuration
// is being read: a listen's parameters, a location's modifier and regex,
// a server_name regex, the rewrite module's directives. Compile refuses
// the same values with the same words; checked here too, they come
// before an error of a later line (an unknown directive, a missing
// include), as nginx reports them. One handler serves one load.
func NewParseCheck() func(*nginxconf.Directive, nginxconf.Context) *nginxconf.Error {
	var rc *rewrite.Compiler // made on first use: it defines every built-in
	var listens listenSeen
	var streamLog streamLogs
	compiler := func() *rewrite.Compiler {
		if rc == nil {
			rc = rewrite.NewCompiler()
		}
		return rc
	}
	return func(d *nginxconf.Directive, ctx nginxconf.Context) *nginxconf.Error {
		switch {
		case d.Name == "server" && ctx == nginxconf.HTTPMainConf:
			listens.server++
		case d.Name == "listen" && ctx == nginxconf.HTTPSrvConf:
			ls, err := parseListen(d)
			if err != nil {
				return &nginxconf.Error{Msg: err.Error(), File: d.File, Line: endLine(d)}
			}
			if msg := listens.add(ls); msg != "" {
				return &nginxconf.Error{Msg: msg, File: d.File, Line: endLine(d)}
			}
		case d.Name == "location" && ctx&(nginxconf.HTTPSrvConf|nginxconf.HTTPLocConf) != 0:
			mod, name, err := locationModifier(d)
			if err != nil {
				return err
			}
			if mod == modRegex || mod == modRegexCI {
				return regexCheck(d, name, mod == modRegexCI)
			}
		case rewriteDirectives[d.Name] && ctx&(nginxconf.HTTPSrvConf|nginxconf.HTTPLocConf|nginxconf.HTTPSifConf|nginxconf.HTTPLifConf) != 0:
			// Compiled alone (an if without its block, not read yet);
			// variables are resolved only at the end.
			if rc == nil {
				rc = rewrite.NewCompiler()
			}
			if _, err := rc.Program([]*nginxconf.Directive{d}); err != nil {
				return asConfErr(err, d)
			}
		case d.Name == "disable_symlinks" && ctx&(nginxconf.HTTPMainConf|nginxconf.HTTPSrvConf|nginxconf.HTTPLocConf) != 0:
			var lc locConf
			if err := disableSymlinks(&lc, d); err != nil {
				return asConfErr(err, d)
			}
		case d.Name == "fastcgi_split_path_info" && len(d.Args) == 1:
			return regexCheck(d, d.Args[0], false)
		case d.Name == "auth_request_set" && len(d.Args) == 2 && !strings.HasPrefix(d.Args[0], "$"):
			return &nginxconf.Error{Msg: `invalid variable name "` + d.Args[0] + `"`, File: d.File, Line: endLine(d)}
		case d.Name == "log_format" && ctx == nginxconf.StreamMainConf:
			if err := streamLog.format(d); err != nil {
				return err
			}
			return logFormatCheck(d)
		case d.Name == "log_format" && ctx == nginxconf.HTTPMainConf:
			return logFormatCheck(d)
		case d.Name == "access_log" && ctx&(nginxconf.StreamMainConf|nginxconf.StreamSrvConf) != 0:
			return streamLog.accessLog(d, compiler)
		case d.Name == "set" && ctx == nginxconf.StreamSrvConf && len(d.Args) == 2 && !strings.HasPrefix(d.Args[0], "$"):
			// ngx_stream_set checks the name before compiling the value.
			return &nginxconf.Error{Msg: `invalid variable name "` + d.Args[0] + `"`, File: d.File, Line: endLine(d)}
		case ctx&(nginxconf.HTTPMainConf|nginxconf.HTTPSrvConf|nginxconf.HTTPLocConf|nginxconf.HTTPLifConf) != 0 && len(readValues(d)) > 0:
			for _, i := range readValues(d) {
				if _, err := compiler().Complex(d.Args[i]); err != nil {
					return asConfErr(rewrite.At(err, d), d)
				}
			}
		case readComplex(d, ctx) >= 0:
			// Compiled as a complex value as it is read: a '$' without
			// a name is an error now (unknown names only at the end).
			if rc == nil {
				rc = rewrite.NewCompiler()
			}
			if _, err := rc.Complex(d.Args[readComplex(d, ctx)]); err != nil {
				return asConfErr(rewrite.At(err, d), d)
			}
		case d.Name == "aio" && ctx&(nginxconf.HTTPMainConf|nginxconf.HTTPSrvConf|nginxconf.HTTPLocConf) != 0:
			if name, ok := aioThreadPool(d); ok {
				if _, err := compiler().Complex(name); err != nil {
					return asConfErr(rewrite.At(err, d), d)
				}
			}
		case d.Name == "gzip_disable" && ctx&(nginxconf.HTTPMainConf|nginxconf.HTTPSrvConf|nginxconf.HTTPLocConf) != 0:
			// ngx_http_gzip_disable compiles each pattern as it reads it.
			for _, v := range d.Args {
				if v != "msie6" && v != "degradation" {
					if err := regexCheck(d, v, true); err != nil {
						return err
					}
				}
			}
		case d.Name == "valid_referers":
			// ngx_http_add_regex_referer compiles "~" patterns caselessly
			// as it reads them.
			for _, v := range d.Args {
				if rest, ok := strings.CutPrefix(v, "~"); ok {
					if err := regexCheck(d, rest, true); err != nil {
						return err
					}
				}
			}
		case (d.Name == "proxy_redirect" || d.Name == "proxy_cookie_domain" || d.Name == "proxy_cookie_path") &&
			len(d.Args) == 2 && strings.HasPrefix(d.Args[0], "~"):
			// ngx_http_proxy_rewrite_regex, as the directive is read.
			// proxy_cookie_domain's are caseless, "~*" or not.
			expr, caseless := d.Args[0][1:], d.Name == "proxy_cookie_domain"
			if rest, ok := strings.CutPrefix(expr, "*"); ok && !caseless {
				expr, caseless = rest, true
			}
			if err := regexCheck(d, expr, caseless); err != nil {
				return err
			}
			if _, err := compiler().Complex(d.Args[1]); err != nil {
				return asConfErr(rewrite.At(err, d), d)
			}
		case d.Name == "server_name" && ctx == nginxconf.HTTPSrvConf:
			for _, n := range d.Args {
				if strings.HasPrefix(n, "~") {
					if err := regexCheck(d, n[1:], serverNameCaseless(n)); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}
}

// rewriteDirectives are the rewrite module's, whose handlers compile
// them as they are read.
var rewriteDirectives = map[string]bool{"rewrite": true, "return": true, "set": true, "if": true}

// listenSeen is what ngx_http_add_addresses knows as the http servers'
// listen directives are read: per address, the servers listening on it,
// whether one gave socket options and whether one is its default.
type listenSeen struct {
	server int // the http server being read, counted from 1
	addrs  map[string]*listenAddr
}

type listenAddr struct {
	servers       map[int]bool
	set, defaults bool
}

// add records one listen's addresses and returns nginx's error for the
// first that repeats what was read: the same server twice, socket
// options twice, default_server twice.
func (s *listenSeen) add(ls []*Listen) string {
	for _, l := range ls {
		key := l.Network + " " + l.Addr
		a := s.addrs[key]
		if a == nil {
			if s.addrs == nil {
				s.addrs = map[string]*listenAddr{}
			}
			s.addrs[key] = &listenAddr{servers: map[int]bool{s.server: true}, set: l.Set, defaults: l.DefaultServer}
			continue
		}
		if a.servers[s.server] {
			return "a duplicate listen " + l.Addr
		}
		a.servers[s.server] = true
		if l.Set {
			if a.set {
				return "duplicate listen options for " + l.Addr
			}
			a.set = true
		}
		if l.DefaultServer {
			if a.defaults {
				return "a duplicate default server for " + l.Addr
			}
			a.defaults = true
		}
	}
	return ""
}

// readComplex is the argument of d nginx compiles as a complex value as
// it reads d (ngx_http_set_complex_value_slot's directives, root and
// alias, add_header's value, the cache keys), or -1.
func readComplex(d *nginxconf.Directive, ctx nginxconf.Context) int {
	if len(d.Args) == 0 {
		return -1
	}
	switch {
	case ctx&(nginxconf.HTTPMainConf|nginxconf.StreamMainConf) != 0 && readKeys[d.Name]:
		// The keys of map, split_clients and the zones, compiled by
		// their block or zone handlers first.
		return 0
	case ctx&(nginxconf.HTTPUpsConf|nginxconf.StreamUpsConf) != 0 && d.Name == "hash":
		return 0
	case ctx&(nginxconf.StreamMainConf|nginxconf.StreamSrvConf) != 0:
		return readStreamComplex(d, ctx)
	}
	if ctx&(nginxconf.HTTPMainConf|nginxconf.HTTPSrvConf|nginxconf.HTTPLocConf|nginxconf.HTTPLifConf) == 0 || len(d.Args) == 0 {
		return -1
	}
	switch d.Name {
	case "root", "alias", "proxy_cache_key", "fastcgi_cache_key", "scgi_cache_key", "uwsgi_cache_key":
		return 0
	case "add_header", "add_trailer":
		if len(d.Args) >= 2 {
			return 1
		}
		return -1
	}
	for _, c := range nginxconf.Lookup(d.Name) {
		if c.Ctx&ctx != 0 && (c.Slot == nginxconf.SlotComplexValue || c.Slot == nginxconf.SlotComplexValueSize ||
			c.Slot == nginxconf.SlotComplexValueZero) {
			return 0
		}
	}
	return -1
}

var readKeys = map[string]bool{"map": true, "split_clients": true, "limit_req_zone": true, "limit_conn_zone": true}

// readValues are the arguments of an http directive whose handler
// compiles them (when they hold a '$', for the scripts) as it reads it,
// in the handler's order.
func readValues(d *nginxconf.Directive) []int {
	n := len(d.Args)
	if n == 0 {
		return nil
	}
	has := func(i int) bool { return strings.Contains(d.Args[i], "$") }
	var out []int
	switch d.Name {
	case "proxy_pass", "fastcgi_pass", "grpc_pass", "uwsgi_pass", "scgi_pass", "error_page":
		if has(n - 1) {
			out = append(out, n-1)
		}
	case "try_files", "index", "sub_filter", "proxy_cache_bypass", "proxy_no_cache", "fastcgi_cache_bypass",
		"fastcgi_no_cache", "uwsgi_cache_bypass", "uwsgi_no_cache", "scgi_cache_bypass", "scgi_no_cache":
		for i := range n {
			if has(i) {
				out = append(out, i)
			}
		}
	case "proxy_redirect", "proxy_cookie_domain", "proxy_cookie_path":
		// A regex pattern is compiled first, as one (the regex case).
		if n != 2 || strings.HasPrefix(d.Args[0], "~") {
			return nil
		}
		for i := range n {
			if has(i) {
				out = append(out, i)
			}
		}
	case "access_log":
		// The path's script, then an if= condition (the format's
		// check comes first here: nginxconf makes it).
		if has(0) && !strings.HasPrefix(d.Args[0], "syslog:") {
			out = append(out, 0)
		}
		for i := 2; i < n; i++ {
			if strings.HasPrefix(d.Args[i], "if=") && has(i) {
				out = append(out, i)
			}
		}
	case "proxy_store", "fastcgi_store", "uwsgi_store", "scgi_store":
		if has(0) {
			out = append(out, 0)
		}
	case "auth_request_set":
		if n == 2 {
			out = append(out, 1)
		}
	}
	return out
}

// readStreamComplex is readComplex for the stream directives: return's
// and proxy_pass's values, set's value, proxy_bind's address (not "off")
// and ngx_stream_set_complex_value_slot's directives.
func readStreamComplex(d *nginxconf.Directive, ctx nginxconf.Context) int {
	switch {
	case ctx != nginxconf.StreamSrvConf && (d.Name == "return" || d.Name == "set" || d.Name == "proxy_pass"):
		return -1
	case d.Name == "return" || d.Name == "proxy_pass":
		return 0
	case d.Name == "set":
		if len(d.Args) == 2 {
			return 1
		}
		return -1
	case d.Name == "proxy_bind":
		if d.Args[0] != "off" {
			return 0
		}
		return -1
	}
	for _, c := range nginxconf.Lookup(d.Name) {
		if c.Ctx&ctx != 0 && strings.HasPrefix(c.Set, "ngx_stream_set_complex_value_") {
			return 0
		}
	}
	return -1
}

// regexCheck compiles expr without a compiler (no capture variables are
// made) and places its error at d.
func regexCheck(d *nginxconf.Directive, expr string, caseless bool) *nginxconf.Error {
	if _, err := (*rewrite.Compiler)(nil).Regex(expr, caseless); err != nil {
		return asConfErr(rewrite.At(err, d), d)
	}
	return nil
}

func asConfErr(err error, d *nginxconf.Directive) *nginxconf.Error {
	if e, ok := err.(*nginxconf.Error); ok {
		return e
	}
	return &nginxconf.Error{Msg: err.Error(), File: d.File, Line: d.ReportLine()}
}
