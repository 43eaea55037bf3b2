package nginxconf

import (
	"net/netip"
	"strconv"
	"strings"
)

// parseUpstreamURL is ngx_parse_url for an upstream address (no listen
// parameters, names left unresolved): the URI part when uriPart allows
// one, and the error nginx would set in u->err, or "".
func parseUpstreamURL(v string, uriPart bool) (uri, msg string) {
	if len(v) >= 5 && strings.EqualFold(v[:5], "unix:") {
		path := v[5:]
		if uriPart {
			if i := strings.IndexByte(path, ':'); i >= 0 {
				path, uri = path[:i], path[i+1:]
			}
		}
		switch {
		case path == "":
			return "", "no path in the unix domain socket"
		case len(path)+1 > 108: // sizeof(sun_path)
			return "", "too long path in the unix domain socket"
		}
		return uri, ""
	}
	if strings.HasPrefix(v, "[") {
		return parseUpstreamURL6(v, uriPart)
	}
	// ngx_parse_inet_url: the first ':' starts the port, the first '/'
	// or '?' the URI.
	last := len(v)
	port := strings.IndexByte(v, ':')
	u := strings.IndexAny(v, "/?")
	if u >= 0 {
		if !uriPart {
			return "", "invalid host"
		}
		uri, last = v[u:], u
		if u < port {
			port = -1
		}
	}
	host := v[:last]
	if port >= 0 {
		if n, ok := atoiPort(v[port+1 : last]); !ok || n < 1 || n > 65535 {
			return uri, "invalid port"
		}
		host = v[:port]
	}
	if host == "" {
		return uri, "no host"
	}
	return uri, ""
}

// parseUpstreamURL6 is ngx_parse_inet6_url: "[addr]", a port, a URI.
func parseUpstreamURL6(v string, uriPart bool) (uri, msg string) {
	end := strings.IndexByte(v, ']')
	if end < 0 {
		return "", "invalid host"
	}
	rest := v[end+1:]
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		if !uriPart {
			return "", "invalid host"
		}
		uri, rest = rest[i:], rest[:i]
	}
	if rest != "" {
		if rest[0] != ':' {
			return uri, "invalid host"
		}
		if n, ok := atoiPort(rest[1:]); !ok || n < 1 || n > 65535 {
			return uri, "invalid port"
		}
	}
	if end == 1 {
		return uri, "no host"
	}
	if _, err := netip.ParseAddr(v[1:end]); err != nil || strings.Contains(v[1:end], "%") {
		return uri, "invalid IPv6 address"
	}
	return uri, ""
}

// atoiPort is ngx_atoi: digits only, at least one.
func atoiPort(s string) (int, bool) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, false
	}
	return n, true
}

// checkProxyPass makes ngx_http_proxy_pass's checks as it reads the
// directive: the scheme, the address (ngx_http_upstream_add's
// ngx_parse_url), and no URI part where the location's name cannot be
// replaced (noURI: a regex or named location, "if", "limit_except").
// A URL with variables is checked per request.
func checkProxyPass(d *Directive, noURI bool) *Error {
	url := d.Args[0]
	if strings.Contains(url, "$") {
		return nil
	}
	var rest string
	switch lower := strings.ToLower(url); {
	case strings.HasPrefix(lower, "http://"):
		rest = url[7:]
	case strings.HasPrefix(lower, "https://"):
		rest = url[8:]
	default:
		return d.errorf("invalid URL prefix")
	}
	uri, msg := parseUpstreamURL(rest, true)
	if msg != "" {
		return d.errorf(`%s in upstream "%s"`, msg, rest)
	}
	if noURI && uri != "" {
		return d.errorf(`"proxy_pass" cannot have URI part in location given by regular expression, ` +
			`or inside named location, or inside "if" statement, or inside "limit_except" block`)
	}
	return nil
}

// proxyRedirectCheck makes ngx_http_proxy_redirect's checks against the
// directives read before it in its block (before): "off" with another
// proxy_redirect is a duplicate either way, one argument is "off" or
// "default", and "default" needs a proxy_pass without variables before
// it in the same block (its configuration, not an inherited one). A
// regex's own errors are the parse check's (package location).
func proxyRedirectCheck(d *Directive, before []*Directive) *Error {
	isOff := func(r *Directive) bool { return len(r.Args) == 1 && r.Args[0] == "off" }
	var pass *Directive
	for _, b := range before {
		switch b.Name {
		case "proxy_redirect":
			if isOff(b) || isOff(d) {
				return d.errorf("%q directive is duplicate", d.Name)
			}
		case "proxy_pass":
			pass = b
		}
	}
	if len(d.Args) != 1 || d.Args[0] == "off" {
		return nil
	}
	if d.Args[0] != "default" {
		return d.errorf("invalid parameter %q", d.Args[0])
	}
	if pass != nil && len(pass.Args) == 1 && strings.Contains(pass.Args[0], "$") {
		return d.errorf(`"proxy_redirect default" cannot be used with "proxy_pass" directive with variables`)
	}
	if pass == nil {
		return d.errorf(`"proxy_redirect default" should be placed after the "proxy_pass" directive`)
	}
	return nil
}

// listenURLError is ngx_parse_url's error for a stream or mail listen
// address (u.listen: port ranges, a bare port, "*", names resolved), or
// "".
func listenURLError(v string) string {
	if len(v) >= 5 && strings.EqualFold(v[:5], "unix:") {
		switch path := v[5:]; {
		case path == "":
			return "no path in the unix domain socket"
		case len(path)+1 > 108:
			return "too long path in the unix domain socket"
		}
		return ""
	}
	if strings.HasPrefix(v, "[") {
		end := strings.IndexByte(v, ']')
		if end < 0 {
			return "invalid host"
		}
		rest := v[end+1:]
		if strings.IndexByte(rest, '/') >= 0 {
			return "invalid host"
		}
		if rest != "" {
			if rest[0] != ':' {
				return "invalid host"
			}
			if msg := listenPortError(rest[1:]); msg != "" {
				return msg
			}
		}
		if end == 1 {
			return "no host"
		}
		if _, err := netip.ParseAddr(v[1:end]); err != nil || strings.Contains(v[1:end], "%") {
			return "invalid IPv6 address"
		}
		return ""
	}
	if strings.ContainsAny(v, "/?") {
		return "invalid host"
	}
	host, port, hasPort := strings.Cut(v, ":")
	if hasPort {
		if msg := listenPortError(port); msg != "" {
			return msg
		}
	} else {
		// A bare number (or range) is a port on the wildcard address.
		first, lastText, hasDash := strings.Cut(v, "-")
		lastBad := ""
		if hasDash {
			n, ok := atoiPort(lastText)
			if !ok {
				goto noPort
			}
			if n < 1 || n > 65535 {
				lastBad = "invalid port"
			}
		}
		if n, ok := atoiPort(first); ok {
			if lastBad != "" || n < 1 || n > 65535 {
				return "invalid port"
			}
			if last, _ := atoiPort(lastText); hasDash && n > last {
				return "invalid port range"
			}
			return ""
		}
	}
noPort:
	switch {
	case host == "":
		return "no host"
	case host == "*":
		return ""
	}
	if _, ok := inetAddr(host); ok {
		return ""
	}
	if _, err := LookupHost(host); err != nil {
		return "host not found"
	}
	return ""
}

// listenPortError reads a listen address's "port" or "first-last".
func listenPortError(s string) string {
	first, lastText, hasDash := strings.Cut(s, "-")
	last := 0
	if hasDash {
		n, ok := atoiPort(lastText)
		if !ok || n < 1 || n > 65535 {
			return "invalid port"
		}
		last = n
	}
	n, ok := atoiPort(first)
	if !ok || n < 1 || n > 65535 {
		return "invalid port"
	}
	if last != 0 && n > last {
		return "invalid port range"
	}
	return ""
}
