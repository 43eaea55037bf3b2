package location

import (
	"strconv"
	"strings"
)

// The trace points of "gonginx explain": rewrite.State.Trace, set on a
// connection by Conn.Trace, is told each decision the request meets
// (server, location, rewrite directives, access, try_files, handler).
// When serving it is nil, and each point is one nil check.

// Trace sends the steps of this connection's requests to f.
func (h Conn) Trace(f func(step, detail string)) { h.x.st.Trace = f }

// describe names a location as written, with its place.
func (l *Location) describe() string {
	if l == nil {
		return "no location"
	}
	var b strings.Builder
	switch l.mod {
	case modServer:
		b.WriteString("the server level (no location)")
	case modNamed:
		b.WriteString("location " + l.Name)
	default:
		b.WriteString("location ")
		switch l.mod {
		case modExact:
			b.WriteString("= ")
		case modNoRegex:
			b.WriteString("^~ ")
		case modRegex:
			b.WriteString("~ ")
		case modRegexCI:
			b.WriteString("~* ")
		}
		b.WriteString(l.Name)
	}
	if l.File != "" {
		b.WriteString(" (" + l.File + ":" + strconv.Itoa(l.Line) + ")")
	}
	return b.String()
}

// traceServer tells which server an address picked for host, and why.
func (x *exchange) traceServer(addr *Addr, host []byte) {
	how := "the only server on the address"
	if len(addr.Servers) > 1 || addr.regexes {
		st := x.st // a copy: the captures of the real lookup stay
		st.Trace = nil
		if _, kind := addr.names.find(host, &st); kind != "" {
			how = "server_name, " + kind + ", matches \"" + string(host) + "\""
		} else if addr.Default.File != "" {
			how = "no server_name matches \"" + string(host) + "\": the address's default server"
		}
	}
	names := strings.Join(x.srv.Names, " ")
	if names == "" {
		names = `""`
	}
	x.st.Trace("server", "server_name "+names+" ("+x.srv.File+":"+strconv.Itoa(x.srv.Line)+"): "+how)
}

// traceStatus tells that a phase answered with a status.
func (x *exchange) traceStatus(phase string, rc int) {
	if rc != 0 {
		x.st.Trace(phase, "answers "+strconv.Itoa(rc))
	}
}

// traceTry tells the file a try_files argument tests.
func (x *exchange) traceTry(path []byte, dir bool) {
	what := "file"
	if dir {
		what = "directory"
	}
	x.st.Trace("try_files", "tests "+what+" \""+strings.TrimSuffix(string(path), "\x00")+"\"")
}

// traceHandler tells which content handler answers.
func (x *exchange) traceHandler(conf *locConf) {
	var h string
	switch {
	case conf.stubStatus:
		h = "stub_status"
	case conf.emptyGif:
		h = "empty_gif"
	case conf.proxy != nil:
		h = "the backend of the location (proxy_pass, fastcgi_pass, ...)"
	case conf.dav.handles(x.req.MethodCode):
		h = "WebDAV " + string(x.req.Method) + " (dav_methods) on \"" + string(x.req.URI) + "\""
	case len(x.req.URI) > 0 && x.req.URI[len(x.req.URI)-1] == '/':
		h = "the directory handlers (index, autoindex) for \"" + string(x.req.URI) + "\""
	default:
		h = "static file for \"" + string(x.req.URI) + "\" under root/alias \"" + conf.rootStatic + "\""
	}
	x.st.Trace("content", h)
}
