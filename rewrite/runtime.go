package rewrite

import (
	"errors"
	"strings"
	"time"

	"github.com/gonginx/gonginx/nginxconf"
)

// Run-time look-ups, for the modules that name variables and regexes in
// a response rather than in the configuration (ssi's echo, set and if):
// nginx's ngx_http_get_variable and a per-request ngx_regex_compile.

// Lookup appends the value of the variable name (lowercase, without '$')
// for the request in s to dst, as ngx_http_get_variable finds it: a
// variable of the configuration, else one of the prefixes ($arg_,
// $http_, $cookie_, ...). found is false for nginx's not_found, and for a
// name nginx does not know. uninit reports a "set" variable not set for
// this request: nginx's value is empty then, with a warning to log
// ("using uninitialized variable"). It reads the table only, so it is
// safe on a finished Compiler shared by requests.
func (c *Compiler) Lookup(s *State, name, dst []byte) (out []byte, found, uninit bool) {
	start := len(dst)
	if v := c.vars[string(name)]; v != nil && v.defined {
		s.FoundEmpty = false
		dst = v.eval(s, dst)
		if len(dst) > start {
			return dst, true, false
		}
		if v.slot >= 0 && v.get == nil && v.mapping == nil && !(v.slot < len(s.Valid) && s.Valid[v.slot]) {
			return dst, true, true
		}
		return dst, v.found || s.FoundEmpty, false
	}
	for _, p := range c.prefixes {
		if !strings.HasPrefix(string(name), p.prefix) {
			continue
		}
		rest := string(name[len(p.prefix):])
		s.FoundEmpty = false
		switch {
		case p.nginxHeaders && rest == "cookie":
			dst = joinHeaders(s, "cookie", "; ", dst)
		case p.nginxHeaders && rest == "x_forwarded_for":
			dst = joinHeaders(s, "x_forwarded_for", ", ", dst)
		default:
			dst = p.get(s, rest, dst)
		}
		return dst, len(dst) > start || s.FoundEmpty, false
	}
	return dst, false, false
}

// CompileRegex compiles pattern as PCRE would, case-sensitive, outside
// any configuration: its named captures are not variables (NamedCaptures
// lists them). The pattern may come from a response (ssi): on the
// backtracking engine a match gives up after runtimeMatchLimit, as PCRE
// stops at its match limit, and counts as no match.
func CompileRegex(pattern string) (*Regex, error) {
	var c *Compiler
	rx, err := c.Regex(pattern, false)
	if err == nil && rx.pcre != nil {
		rx.pcre.MatchTimeout = runtimeMatchLimit
	}
	return rx, err
}

const runtimeMatchLimit = 100 * time.Millisecond

// NamedCaptures calls fn for each named group of rx, in group order.
func (rx *Regex) NamedCaptures(fn func(group int, name string)) {
	for _, nc := range rx.named {
		fn(nc.group, nc.name)
	}
}

// RegexErrorText is the message nginx logs for a pattern that does not
// compile ("pcre2_compile() failed: ..."), without a place in the
// configuration.
func RegexErrorText(err error) string {
	var ne *nginxconf.Error
	if errors.As(err, &ne) {
		return ne.Msg
	}
	return err.Error()
}
