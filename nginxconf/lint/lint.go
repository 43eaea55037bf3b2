// Package lint finds the traps that pass "nginx -t" and bite in
// production: path traversal through alias, add_header lines silently
// dropped by a nested level, header injection through decoded variables,
// Host spoofing, "if" doing more than return or rewrite, unanchored
// regexes guarding origins and referers, default servers left to chance,
// and TLS versions nobody should accept.
//
// It reads the parsed tree (nginxconf.Config.Tree, includes spliced in)
// and never the disk or the network. Each rule is a function over the
// tree; "gonginx -t --lint" prints what they find (cmd/gonginx).
package lint

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"github.com/gonginx/gonginx/nginxconf"
)

// Finding is one trap: where it is, what goes wrong, and the fix.
type Finding struct {
	Rule    string // short name, e.g. "alias-traversal"
	File    string
	Line    int
	Message string
	Fix     string
}

// Rules are the checks, by name, with what each looks for.
var Rules = []struct{ Name, Doc string }{
	{"alias-traversal", "alias with a trailing slash under a prefix location without one"},
	{"add-header-dropped", "add_header in a nested level silently dropping the outer ones"},
	{"header-injection", "$uri, $document_uri or a capture that can hold CR LF in a header or redirect"},
	{"host-spoofing", "$http_host sent upstream or in a redirect instead of $host"},
	{"if-is-evil", "if in a location doing more than return or rewrite"},
	{"unanchored-regex", "a regex without anchors checking an origin or referer"},
	{"default-server", "an address served by several servers with none marked default_server"},
	{"server-name-underscore", "server_name _ taken for a catch-all"},
	{"weak-tls", "ssl_protocols accepting SSLv3, TLSv1 or TLSv1.1"},
}

// Check runs every rule over tree and returns the findings in file and
// line order.
func Check(tree []*nginxconf.Directive) []Finding {
	l := &linter{}
	l.walk(tree, nil)
	l.defaultServers(tree)
	slices.SortStableFunc(l.found, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Rule, b.Rule))
	})
	return l.found
}

type linter struct {
	found []Finding
}

func (l *linter) add(d *nginxconf.Directive, rule, msg, fix string) {
	l.found = append(l.found, Finding{Rule: rule, File: d.File, Line: d.Line, Message: msg, Fix: fix})
}

// scope is what a block inherits: the add_header lines in force, and the
// regex of the enclosing location (whose captures later directives use).
type scope struct {
	parent   *scope
	block    *nginxconf.Directive // http, server, location, if
	headers  []*nginxconf.Directive
	locRegex string
}

func (l *linter) walk(dirs []*nginxconf.Directive, up *scope) {
	for _, d := range dirs {
		switch d.Name {
		case "http", "server", "location", "if", "limit_except":
			l.enter(d, up)
			continue
		case "alias":
			l.alias(d, up)
		case "add_header", "proxy_set_header", "return", "rewrite", "fastcgi_param", "more_set_headers":
			l.injection(d, up)
			l.hostSpoofing(d)
		case "valid_referers":
			for _, a := range d.Args {
				if strings.HasPrefix(a, "~") {
					l.unanchored(d, a[1:], "valid_referers")
				}
			}
		case "ssl_protocols":
			l.weakTLS(d)
		case "map":
			l.mapRegexes(d)
		}
		// Other blocks (map, geo, types, upstream, events) hold data or
		// nothing these rules look at.
	}
}

// enter walks a block that add_header inheritance and captures follow.
func (l *linter) enter(d *nginxconf.Directive, up *scope) {
	s := &scope{parent: up, block: d}
	if up != nil {
		s.locRegex = up.locRegex
	}
	if d.Name == "location" {
		if re, ok := locationRegex(d.Args); ok {
			s.locRegex = re
		}
	}
	if d.Name == "if" {
		l.ifBlock(d, up)
		l.ifRegex(d)
	}
	var own []*nginxconf.Directive
	for _, c := range d.Block {
		if c.Name == "add_header" {
			own = append(own, c)
		}
	}
	inherited := up.headersInForce()
	if len(own) > 0 {
		s.headers = own
		if dropped := missingHeaders(inherited, own); len(dropped) > 0 {
			names := make([]string, len(dropped))
			for i, h := range dropped {
				names[i] = h.Args[0]
			}
			l.add(own[0], "add-header-dropped",
				"add_header here drops the "+strings.Join(names, ", ")+" header(s) of the enclosing level ("+
					place(dropped[0])+"): a level with any add_header inherits none",
				"repeat those add_header lines here (or keep them in one file included at every level)")
		}
	} else {
		s.headers = inherited
	}
	l.walk(d.Block, s)
}

func (s *scope) headersInForce() []*nginxconf.Directive {
	if s == nil {
		return nil
	}
	return s.headers
}

// missingHeaders are the outer add_header lines whose header the inner
// level does not set again.
func missingHeaders(outer, inner []*nginxconf.Directive) []*nginxconf.Directive {
	var out []*nginxconf.Directive
	for _, o := range outer {
		if len(o.Args) == 0 {
			continue
		}
		if !slices.ContainsFunc(inner, func(i *nginxconf.Directive) bool {
			return len(i.Args) > 0 && strings.EqualFold(i.Args[0], o.Args[0])
		}) {
			out = append(out, o)
		}
	}
	return out
}

// locationRegex is the regex of "location ~ re" / "~* re" ("", false for
// prefix and exact locations).
func locationRegex(args []string) (string, bool) {
	switch {
	case len(args) == 2 && (args[0] == "~" || args[0] == "~*"):
		return args[1], true
	case len(args) == 1 && len(args[0]) > 1 && args[0][0] == '~':
		return strings.TrimPrefix(args[0][1:], "*"), true
	}
	return "", false
}

func place(d *nginxconf.Directive) string {
	return d.File + ":" + strconv.Itoa(d.Line)
}
