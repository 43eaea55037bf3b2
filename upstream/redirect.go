package upstream

import (
	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/rewrite/http1"
)

// redirect is one proxy_redirect rule, as ngx_http_proxy_rewrite_t: a
// prefix (a value, variables allowed, compared byte for byte) or a regex
// (~, ~* caseless) whose match replaces the whole value.
type redirect struct {
	from  *rewrite.Complex
	regex *rewrite.Regex
	to    *rewrite.Complex
	// The default rule: fromURL is the proxy_pass URL as written (plus
	// "/" without a URI part); the replacement is the location's prefix
	// (with a URI part) or "/".
	isDefault bool
	fromURL   string
}

// compileRedirects sets up proxy_redirect as nginx merges it: the
// innermost level that has the directive wins; "off" turns rewriting off;
// "default" (also implied when no level has the directive and proxy_pass
// has no variables) replaces the proxy_pass URL, as written, with the
// location prefix (a URL with a URI part), or its URL plus "/" with "/".
func (p *Proxy) compileRedirects(blocks [][]*nginxconf.Directive, c *rewrite.Compiler) error {
	ds := innermost(blocks, "proxy_redirect")
	if len(ds) == 0 {
		if p.urlValue == nil {
			p.redirects = append(p.redirects, p.defaultRedirect())
		}
		return nil
	}
	for _, d := range ds {
		switch {
		case len(d.Args) == 1 && (d.Args[0] == "off" || d.Args[0] == "false"):
			p.redirects = nil
			return nil
		case len(d.Args) == 1 && d.Args[0] == "default":
			if p.urlValue != nil {
				return confErr(d, `"proxy_redirect default" cannot be used with "proxy_pass" directive with variables`)
			}
			p.redirects = append(p.redirects, p.defaultRedirect())
		case len(d.Args) == 2:
			var rd redirect
			var err error
			if pat := d.Args[0]; len(pat) > 0 && pat[0] == '~' {
				caseless := len(pat) > 1 && pat[1] == '*'
				if caseless {
					pat = pat[2:]
				} else {
					pat = pat[1:]
				}
				rd.regex, err = c.Regex(pat, caseless)
			} else {
				rd.from, err = c.Complex(pat)
			}
			if err != nil {
				return rewrite.At(err, d)
			}
			if rd.to, err = c.Complex(d.Args[1]); err != nil {
				return rewrite.At(err, d)
			}
			p.redirects = append(p.redirects, rd)
		default:
			return confErr(d, `invalid parameter "%s"`, d.Args[0])
		}
	}
	return nil
}

func (p *Proxy) defaultRedirect() redirect {
	from := p.passURL
	if !p.hasURIPart {
		from += "/"
	}
	return redirect{isDefault: true, fromURL: from}
}

// rewriteRedirect applies proxy_redirect to v[prefix:] (the whole Location,
// or what follows "url=" in Refresh) as ngx_http_proxy_rewrite_redirect:
// the first rule that matches rewrites it; ok is false when none did.
// The result is built in *dst.
func (p *Proxy) rewriteRedirect(s *rewrite.State, x *exchange, dst *[]byte, v []byte, prefix int) ([]byte, bool) {
	rest := v[prefix:]
	for i := range p.redirects {
		rd := &p.redirects[i]
		var matched int
		if rd.regex != nil {
			if !rd.regex.Match(s, rest) {
				continue
			}
			matched = len(rest)
		} else {
			pat := rd.fromURL
			if rd.from != nil {
				x.patBuf = rd.from.Eval(s, x.patBuf[:0])
				pat = string(x.patBuf) // compared only: no allocation
			}
			if len(pat) > len(rest) || string(rest[:len(pat)]) != pat {
				continue
			}
			matched = len(pat)
		}
		b := append((*dst)[:0], v[:prefix]...)
		switch {
		case rd.isDefault && p.hasURIPart:
			b = append(b, x.locPrefix...)
		case rd.isDefault:
			b = append(b, '/')
		default:
			b = rd.to.Eval(s, b)
		}
		b = append(b, rest[matched:]...)
		*dst = b
		return b, true
	}
	return nil, false
}

// refreshURL is where the URL of a Refresh value starts: after the first
// "url=", in any case (ngx_strcasestrn), or -1.
func refreshURL(v []byte) int {
	for i := 0; i+4 <= len(v); i++ {
		if http1.EqualFold(v[i:i+4], "url=") {
			return i + 4
		}
	}
	return -1
}
