package lint

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/gonginx/gonginx/nginxconf"
)

// alias: "location /img { alias /data/img/; }" serves "/img../etc/x" as
// "/data/img/../etc/x": the part after the prefix is appended to the
// alias as is.
func (l *linter) alias(d *nginxconf.Directive, up *scope) {
	if up == nil || up.block.Name != "location" || len(d.Args) != 1 {
		return
	}
	args := up.block.Args
	var prefix string
	switch {
	case len(args) == 1 && !strings.HasPrefix(args[0], "~") && !strings.HasPrefix(args[0], "="):
		prefix = strings.TrimPrefix(args[0], "^~")
	case len(args) == 2 && args[0] == "^~":
		prefix = args[1]
	default:
		return
	}
	if prefix == "" || strings.HasSuffix(prefix, "/") || !strings.HasSuffix(d.Args[0], "/") {
		return
	}
	l.add(d, "alias-traversal",
		`location "`+prefix+`" has no trailing slash but its alias "`+d.Args[0]+`" has one: "`+prefix+
			`../x" reads "`+d.Args[0]+`../x", outside the alias`,
		`write location "`+prefix+`/" (or drop the alias's trailing slash)`)
}

// decodedVars hold the URI after percent-decoding: "%0d%0a" in the
// request becomes CR LF in them.
var decodedVars = regexp.MustCompile(`\$(\{(uri|document_uri)\}|(uri|document_uri)\b)`)

var captureRef = regexp.MustCompile(`\$(\{[1-9]\}|[1-9])`)

// newlineClass finds regex parts that can match CR or LF: a negated
// class, \s, \D, \W, or "." in dotall mode.
var newlineClass = regexp.MustCompile(`\[\^|\\[sDW]|\(\?[a-z]*s`)

// injection: a header value or redirect built from a variable that can
// hold CR LF splits the response (or the request sent upstream).
func (l *linter) injection(d *nginxconf.Directive, up *scope) {
	value, regex := headerValue(d, up)
	if value == "" {
		return
	}
	what := ""
	switch {
	case decodedVars.MatchString(value):
		what = decodedVars.FindString(value) + " is percent-decoded, so %0d%0a in a request becomes CR LF"
	case captureRef.MatchString(value) && regex != "" && canMatchNewline(regex):
		what = "capture " + captureRef.FindString(value) + " of " + `"` + regex + `"` + " can hold CR LF from a percent-decoded URI"
	default:
		return
	}
	l.add(d, "header-injection", d.Name+": "+what+", which ends up in a header (response splitting)",
		"use $request_uri (sent as the client wrote it), or a capture that excludes \\r and \\n")
}

// headerValue is the part of d that becomes a header, and the regex
// whose captures it may use ("" when d makes no header).
func headerValue(d *nginxconf.Directive, up *scope) (value, regex string) {
	locRegex := ""
	if up != nil {
		locRegex = up.locRegex
	}
	switch d.Name {
	case "add_header", "proxy_set_header":
		if len(d.Args) >= 2 {
			return d.Args[1], locRegex
		}
	case "return":
		switch {
		case len(d.Args) == 2 && isRedirectCode(d.Args[0]):
			return d.Args[1], locRegex
		case len(d.Args) == 1 && looksLikeURL(d.Args[0]):
			return d.Args[0], locRegex
		}
	case "rewrite":
		if len(d.Args) >= 2 {
			flag := ""
			if len(d.Args) >= 3 {
				flag = d.Args[2]
			}
			if flag == "redirect" || flag == "permanent" || looksLikeURL(d.Args[1]) {
				return d.Args[1], d.Args[0]
			}
		}
	}
	return "", ""
}

func isRedirectCode(s string) bool {
	switch s {
	case "301", "302", "303", "307", "308":
		return true
	}
	return false
}

func looksLikeURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "$scheme")
}

func canMatchNewline(re string) bool {
	for _, m := range newlineClass.FindAllStringIndex(re, -1) {
		part := re[m[0]:]
		if strings.HasPrefix(part, "[^") {
			end := strings.IndexByte(part[2:], ']')
			// nginx's lexer turns \n in a token into a newline.
			if class := part[2 : 2+max(end, 0)]; end >= 0 && (strings.Contains(class, "\n") || strings.Contains(class, `\n`)) {
				continue
			}
		}
		return true
	}
	return false
}

// hostSpoofing: $http_host is the client's Host header as sent, any
// value at all; $host is the one nginx checked and matched.
func (l *linter) hostSpoofing(d *nginxconf.Directive) {
	spoof := false
	switch d.Name {
	case "proxy_set_header":
		spoof = len(d.Args) == 2 && strings.EqualFold(d.Args[0], "Host") && strings.Contains(d.Args[1], "$http_host")
	case "return", "rewrite":
		v, _ := headerValue(d, nil)
		spoof = strings.Contains(v, "$http_host")
	}
	if spoof {
		l.add(d, "host-spoofing", d.Name+" passes $http_host, the Host header exactly as the client sent it (any name, any port)",
			"use $host (the name the request was matched with), or a fixed name")
	}
}

// ifBlock: inside a location, "if" makes an implicit location of its
// own; anything but return and rewrite in it behaves in surprising ways.
func (l *linter) ifBlock(d *nginxconf.Directive, up *scope) {
	if up == nil || up.block.Name != "location" {
		return
	}
	var others []string
	for _, c := range d.Block {
		if c.Name != "return" && c.Name != "rewrite" && c.Name != "#" {
			others = append(others, c.Name)
		}
	}
	if len(others) > 0 {
		l.add(d, "if-is-evil", `"if" in a location runs `+strings.Join(others, ", ")+
			` in an implicit nested location, where only return and rewrite act as they read`,
			"keep only return or rewrite inside the if; move the rest to a location or a map")
	}
}

// originVars are the headers whose regex checks guard access.
var originVars = map[string]bool{"$http_origin": true, "$http_referer": true}

// ifRegex checks "if ($http_origin ~ re)".
func (l *linter) ifRegex(d *nginxconf.Directive) {
	cond := strings.TrimSpace(strings.Join(d.Args, " "))
	cond = strings.TrimSuffix(strings.TrimPrefix(cond, "("), ")")
	parts := strings.SplitN(strings.TrimSpace(cond), " ", 3)
	if len(parts) != 3 || !originVars[parts[0]] {
		return
	}
	switch parts[1] {
	case "~", "~*", "!~", "!~*":
		l.unanchored(d, strings.TrimSpace(parts[2]), parts[0])
	}
}

// mapRegexes checks the regex keys of a map on an origin header.
func (l *linter) mapRegexes(d *nginxconf.Directive) {
	if len(d.Args) == 0 || !originVars[d.Args[0]] {
		return
	}
	for _, e := range d.Block {
		if strings.HasPrefix(e.Name, "~") {
			l.unanchored(e, strings.TrimPrefix(e.Name[1:], "*"), d.Args[0])
		}
	}
}

var unescapedDot = regexp.MustCompile(`(^|[^\\])\.[A-Za-z]`)

// unanchored: "example.com" also matches "example.com.evil.net" and
// "evil-example.com"; an unescaped "." matches any character.
func (l *linter) unanchored(d *nginxconf.Directive, re, what string) {
	var wrong []string
	if !strings.HasPrefix(re, "^") {
		wrong = append(wrong, "not anchored at the start")
	}
	if what != "valid_referers" && !strings.HasSuffix(re, "$") {
		wrong = append(wrong, "not anchored at the end")
	}
	if unescapedDot.MatchString(re) {
		wrong = append(wrong, `its "." matches any character`)
	}
	if len(wrong) == 0 {
		return
	}
	l.add(d, "unanchored-regex", `regex "`+re+`" on `+what+" is "+strings.Join(wrong, ", ")+
		": a look-alike name passes",
		`anchor it and escape the dots, e.g. ~ ^https://example\.com$`)
}

// weakTLS: SSLv3, TLSv1 and TLSv1.1 are broken or deprecated (RFC 8996).
func (l *linter) weakTLS(d *nginxconf.Directive) {
	var weak []string
	for _, a := range d.Args {
		switch a {
		case "SSLv2", "SSLv3", "TLSv1", "TLSv1.1":
			weak = append(weak, a)
		}
	}
	if len(weak) > 0 {
		l.add(d, "weak-tls", "ssl_protocols accepts "+strings.Join(weak, ", ")+", deprecated by RFC 8996",
			"ssl_protocols TLSv1.2 TLSv1.3;")
	}
}

// defaultServers: on an address several servers listen on, the first
// one answers every name no server_name matches, unless one listen says
// default_server. Neither "server_name _" nor any other name changes that.
func (l *linter) defaultServers(tree []*nginxconf.Directive) {
	for _, h := range tree {
		if h.Name != "http" {
			continue
		}
		type entry struct {
			servers     []*nginxconf.Directive
			listens     []*nginxconf.Directive
			defaultSeen bool
		}
		byAddr := map[string]*entry{}
		var order []string
		for _, s := range h.Block {
			if s.Name != "server" {
				continue
			}
			listens := 0
			for _, d := range s.Block {
				if d.Name != "listen" || len(d.Args) == 0 {
					continue
				}
				listens++
				addr := listenAddr(d.Args[0])
				e := byAddr[addr]
				if e == nil {
					e = &entry{}
					byAddr[addr] = e
					order = append(order, addr)
				}
				e.servers = append(e.servers, s)
				e.listens = append(e.listens, d)
				for _, a := range d.Args[1:] {
					e.defaultSeen = e.defaultSeen || a == "default_server" || a == "default"
				}
			}
			if listens == 0 {
				e := byAddr["*:80"]
				if e == nil {
					e = &entry{}
					byAddr["*:80"] = e
					order = append(order, "*:80")
				}
				e.servers = append(e.servers, s)
				e.listens = append(e.listens, s)
			}
		}
		for _, addr := range order {
			e := byAddr[addr]
			if len(e.servers) < 2 || e.defaultSeen {
				continue
			}
			l.add(e.listens[0], "default-server", strconv.Itoa(len(e.servers))+" servers listen on "+addr+
				" and none says default_server: the first, at "+place(e.servers[0])+
				", answers every name the others do not match, by the order of the files",
				"add default_server to the listen of the server meant to answer unknown names")
			for i, s := range e.servers[1:] {
				if underscoreName(s) {
					l.add(e.listens[i+1], "server-name-underscore", `server_name _ is not a catch-all: requests for unknown names on `+
						addr+" go to the first server, at "+place(e.servers[0]),
						"add default_server to this listen")
				}
			}
		}
	}
}

func underscoreName(s *nginxconf.Directive) bool {
	for _, d := range s.Block {
		if d.Name == "server_name" {
			for _, a := range d.Args {
				if a == "_" {
					return true
				}
			}
		}
	}
	return false
}

// listenAddr names a listen's address as host:port ("*:80" for a port
// alone, port 80 for a host alone).
func listenAddr(a string) string {
	switch {
	case strings.HasPrefix(a, "unix:"):
		return a
	case strings.HasPrefix(a, "["):
		if i := strings.Index(a, "]:"); i >= 0 {
			return a
		}
		return a + ":80"
	case strings.Trim(a, "0123456789") == "":
		return "*:" + a
	case strings.Contains(a, ":"):
		return a
	}
	return a + ":80"
}
