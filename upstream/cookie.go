package upstream

import (
	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/rewrite/http1"
)

// proxy_cookie_domain, proxy_cookie_path and proxy_cookie_flags rewrite a
// backend's Set-Cookie headers as ngx_http_proxy_rewrite_cookie: the
// value is split at ';' into trimmed attributes; the first domain rule
// that matches rewrites each Domain, the first path rule each Path, the
// first flags rule whose cookie name matches edits Secure, HttpOnly and
// SameSite. A header anything was done to is written again, its
// attributes joined by "; "; one nothing matched passes as it came.

// cookieRule is one proxy_cookie_domain or proxy_cookie_path rule.
type cookieRule struct {
	from   *rewrite.Complex // a domain (whole value, caseless) or a path prefix
	regex  *rewrite.Regex   // or a regex: its match replaces the whole value
	to     *rewrite.Complex
	domain bool
}

// cookieFlags is one proxy_cookie_flags rule.
type cookieFlags struct {
	name  *rewrite.Complex // the cookie's name, caseless
	regex *rewrite.Regex   // or a caseless regex
	flags []*rewrite.Complex
}

// The flags, as NGX_HTTP_PROXY_COOKIE_*.
const (
	cookieSecureOn = 1 << iota
	cookieSecureOff
	cookieHTTPOnlyOn
	cookieHTTPOnlyOff
	cookieSameSiteStrict
	cookieSameSiteLax
	cookieSameSiteNone
	cookieSameSiteOff
)

var cookieFlagNames = []struct {
	name string
	bit  int
}{
	{"secure", cookieSecureOn}, {"nosecure", cookieSecureOff},
	{"httponly", cookieHTTPOnlyOn}, {"nohttponly", cookieHTTPOnlyOff},
	{"samesite=strict", cookieSameSiteStrict}, {"samesite=lax", cookieSameSiteLax},
	{"samesite=none", cookieSameSiteNone}, {"nosamesite", cookieSameSiteOff},
}

// cookieAttr is one "key[=value]" of a Set-Cookie value.
type cookieAttr struct {
	key, value []byte
	hasValue   bool
	dropped    bool
}

// compileCookies reads the three directives as nginx merges them: the
// innermost level that has one wins, "off" there turns it off.
func (p *Proxy) compileCookies(blocks [][]*nginxconf.Directive, c *rewrite.Compiler) error {
	var err error
	if p.cookieDomains, err = compileCookieRules(innermost(blocks, "proxy_cookie_domain"), c, true); err != nil {
		return err
	}
	if p.cookiePaths, err = compileCookieRules(innermost(blocks, "proxy_cookie_path"), c, false); err != nil {
		return err
	}
	for _, d := range innermost(blocks, "proxy_cookie_flags") {
		if len(d.Args) == 1 {
			if d.Args[0] != "off" {
				return confErr(d, `invalid parameter "%s"`, d.Args[0])
			}
			p.cookieFlags = nil
			break
		}
		var cf cookieFlags
		if name, ok := cutTilde(d.Args[0]); ok {
			cf.regex, err = c.Regex(name, true)
		} else {
			cf.name, err = c.Complex(name)
		}
		if err != nil {
			return rewrite.At(err, d)
		}
		for _, a := range d.Args[1:] {
			v, err := c.Complex(a)
			if err != nil {
				return rewrite.At(err, d)
			}
			cf.flags = append(cf.flags, v)
		}
		p.cookieFlags = append(p.cookieFlags, cf)
	}
	return nil
}

func cutTilde(s string) (string, bool) {
	if len(s) > 0 && s[0] == '~' {
		return s[1:], true
	}
	return s, false
}

func compileCookieRules(ds []*nginxconf.Directive, c *rewrite.Compiler, domain bool) ([]cookieRule, error) {
	var rules []cookieRule
	for _, d := range ds {
		if len(d.Args) == 1 {
			if d.Args[0] != "off" {
				return nil, confErr(d, `invalid parameter "%s"`, d.Args[0])
			}
			return nil, nil
		}
		r := cookieRule{domain: domain}
		from, to := d.Args[0], d.Args[1]
		var err error
		if pat, ok := cutTilde(from); ok {
			// A domain regex is always caseless; a path's with "~*".
			caseless := domain
			if !domain && len(pat) > 0 && pat[0] == '*' {
				pat, caseless = pat[1:], true
			}
			r.regex, err = c.Regex(pat, caseless)
		} else {
			if domain && len(from) > 0 && from[0] == '.' {
				from = from[1:]
			}
			if domain && len(to) > 0 && to[0] == '.' {
				to = to[1:]
			}
			r.from, err = c.Complex(from)
		}
		if err != nil {
			return nil, rewrite.At(err, d)
		}
		if r.to, err = c.Complex(to); err != nil {
			return nil, rewrite.At(err, d)
		}
		rules = append(rules, r)
	}
	return rules, nil
}

// hasCookieRules reports whether Set-Cookie headers are looked at.
func (p *Proxy) hasCookieRules() bool {
	return p.cookieDomains != nil || p.cookiePaths != nil || p.cookieFlags != nil
}

// rewriteCookie returns v rewritten, built at the end of x.cookieBuf, or
// ok false when nothing applied.
func (p *Proxy) rewriteCookie(s *rewrite.State, x *exchange, v []byte) ([]byte, bool) {
	attrs := parseCookie(x.cookieAttrs[:0], v)
	x.cookieAttrs = attrs
	if !attrs[0].hasValue {
		return nil, false
	}
	done := false
	for i := 1; i < len(attrs); i++ {
		a := &attrs[i]
		if !a.hasValue {
			continue
		}
		if p.cookieDomains != nil && http1.EqualFold(a.key, "domain") {
			if p.rewriteCookieValue(s, x, a, p.cookieDomains) {
				done = true
			}
		}
		if p.cookiePaths != nil && http1.EqualFold(a.key, "path") {
			if p.rewriteCookieValue(s, x, a, p.cookiePaths) {
				done = true
			}
		}
	}
	if p.cookieFlags != nil && p.editCookieFlags(s, x) {
		done = true
	}
	if !done {
		return nil, false
	}
	start := len(x.cookieBuf)
	b := x.cookieBuf
	for i, a := range x.cookieAttrs {
		if a.dropped {
			continue
		}
		if i > 0 {
			b = append(b, "; "...)
		}
		b = append(b, a.key...)
		if a.hasValue {
			b = append(b, '=')
			b = append(b, a.value...)
		}
	}
	x.cookieBuf = b
	return b[start:len(b):len(b)], true
}

// parseCookie splits v as ngx_http_proxy_parse_cookie: at each ';', a
// key up to the first '=' and a value after it, spaces trimmed around
// both.
func parseCookie(attrs []cookieAttr, v []byte) []cookieAttr {
	for {
		end := len(v)
		for i, ch := range v {
			if ch == ';' {
				end = i
				break
			}
		}
		part := v[:end]
		for len(part) > 0 && part[0] == ' ' {
			part = part[1:]
		}
		a := cookieAttr{key: part}
		for i, ch := range part {
			if ch == '=' {
				a.key, a.value, a.hasValue = part[:i], part[i+1:], true
				break
			}
		}
		a.key = trimRightSpaces(a.key)
		for len(a.value) > 0 && a.value[0] == ' ' {
			a.value = a.value[1:]
		}
		a.value = trimRightSpaces(a.value)
		attrs = append(attrs, a)
		if end == len(v) {
			return attrs
		}
		v = v[end+1:]
	}
}

func trimRightSpaces(b []byte) []byte {
	for len(b) > 0 && b[len(b)-1] == ' ' {
		b = b[:len(b)-1]
	}
	return b
}

// rewriteCookieValue applies the first matching rule to a's value.
func (p *Proxy) rewriteCookieValue(s *rewrite.State, x *exchange, a *cookieAttr, rules []cookieRule) bool {
	v := a.value
	for i := range rules {
		r := &rules[i]
		var kept []byte // what stays before the replacement
		var rest []byte // and after it
		switch {
		case r.regex != nil:
			if !r.regex.Match(s, v) {
				continue
			}
		case r.domain:
			// ".example.com" is example.com, the dot kept.
			d := v
			if len(d) > 0 && d[0] == '.' {
				kept, d = v[:1], d[1:]
			}
			x.patBuf = r.from.Eval(s, x.patBuf[:0])
			if !equalFoldASCII(d, x.patBuf) {
				continue
			}
		default:
			x.patBuf = r.from.Eval(s, x.patBuf[:0])
			if len(x.patBuf) > len(v) || string(v[:len(x.patBuf)]) != string(x.patBuf) {
				continue
			}
			rest = v[len(x.patBuf):]
		}
		start := len(x.cookieBuf)
		b := append(x.cookieBuf, kept...)
		b = r.to.Eval(s, b)
		b = append(b, rest...)
		x.cookieBuf = b
		a.value = b[start:len(b):len(b)]
		return true
	}
	return false
}

// editCookieFlags applies the first proxy_cookie_flags rule naming the
// cookie, as ngx_http_proxy_rewrite_cookie_flags and _edit_cookie_flags:
// a flag asked for and present is kept (SameSite given the value asked
// for), one asked for and absent is added, a "no" flag removes it.
func (p *Proxy) editCookieFlags(s *rewrite.State, x *exchange) bool {
	name := x.cookieAttrs[0].key
	var rule *cookieFlags
	for i := range p.cookieFlags {
		cf := &p.cookieFlags[i]
		if cf.regex != nil {
			if cf.regex.Match(s, name) {
				rule = cf
				break
			}
			continue
		}
		x.patBuf = cf.name.Eval(s, x.patBuf[:0])
		if equalFoldASCII(name, x.patBuf) {
			rule = cf
			break
		}
	}
	if rule == nil {
		return false
	}
	f := 0
	for _, fv := range rule.flags {
		x.patBuf = fv.Eval(s, x.patBuf[:0])
		for _, m := range cookieFlagNames {
			if http1.EqualFold(x.patBuf, m.name) {
				f |= m.bit
				break
			}
		}
	}
	if f == 0 {
		return false
	}
	attrs := x.cookieAttrs
	for i := 1; i < len(attrs); i++ {
		a := &attrs[i]
		switch {
		case http1.EqualFold(a.key, "secure"):
			if f&cookieSecureOn != 0 {
				f &^= cookieSecureOn
			} else if f&cookieSecureOff != 0 {
				a.dropped = true
			}
		case http1.EqualFold(a.key, "httponly"):
			if f&cookieHTTPOnlyOn != 0 {
				f &^= cookieHTTPOnlyOn
			} else if f&cookieHTTPOnlyOff != 0 {
				a.dropped = true
			}
		case http1.EqualFold(a.key, "samesite"):
			if want := sameSite(f); want != "" {
				f &^= cookieSameSiteStrict | cookieSameSiteLax | cookieSameSiteNone
				if !a.hasValue || !http1.EqualFold(a.value, want) {
					a.key, a.value, a.hasValue = keySameSite, sameSiteValue(want), true
				}
			} else if f&cookieSameSiteOff != 0 {
				a.dropped = true
			}
		}
	}
	if f&cookieSecureOn != 0 {
		attrs = append(attrs, cookieAttr{key: keySecure})
	}
	if f&cookieHTTPOnlyOn != 0 {
		attrs = append(attrs, cookieAttr{key: keyHTTPOnly})
	}
	if want := sameSite(f); want != "" {
		attrs = append(attrs, cookieAttr{key: keySameSite, value: sameSiteValue(want), hasValue: true})
	}
	x.cookieAttrs = attrs
	return true
}

// sameSite is the SameSite value f asks for, in lower case ("" none):
// strict before lax before none, as nginx tests them.
func sameSite(f int) string {
	switch {
	case f&cookieSameSiteStrict != 0:
		return "strict"
	case f&cookieSameSiteLax != 0:
		return "lax"
	case f&cookieSameSiteNone != 0:
		return "none"
	}
	return ""
}

// The attributes nginx adds or renames (read only).
var (
	keySecure, keyHTTPOnly, keySameSite = []byte("Secure"), []byte("HttpOnly"), []byte("SameSite")
	valStrict, valLax, valNone          = []byte("Strict"), []byte("Lax"), []byte("None")
)

func sameSiteValue(lower string) []byte {
	switch lower {
	case "strict":
		return valStrict
	case "lax":
		return valLax
	}
	return valNone
}

// equalFoldASCII compares as ngx_strncasecmp: ASCII letters in either
// case.
func equalFoldASCII(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
