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
	return func(d *nginxconf.Directive, ctx nginxconf.Context) *nginxconf.Error {
		switch {
		case d.Name == "listen" && ctx == nginxconf.HTTPSrvConf:
			if _, err := parseListen(d); err != nil {
				return &nginxconf.Error{Msg: err.Error(), File: d.File, Line: endLine(d)}
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
			return regexCheck(d, expr, caseless)
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
	return &nginxconf.Error{Msg: err.Error(), File: d.File, Line: d.Line}
}
