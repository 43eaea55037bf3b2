package location

import (
	"bytes"
)

// Internal redirects (a URI or a named location run again from the
// server's rewrite phase) and the redirects nginx answers itself (a
// directory without its slash, a proxied prefix's auto-redirect).

// internalRedirect changes the URI and the args to what uri has after a
// '?' (none without one, as error_page and try_files leave them), then
// runs the request again from the server rewrite phase, as
// ngx_http_internal_redirect does. argsFound: args without a '?' are
// found, empty (ngx_http_split_args), not missing (a static error_page).
func (x *exchange) internalRedirect(uri []byte, argsFound bool) int {
	x.uriBuf = append(x.uriBuf[:0], uri...)
	u := x.uriBuf
	var args []byte
	if i := bytes.IndexByte(u, '?'); i >= 0 {
		u, args, argsFound = u[:i], u[i+1:], true
	}
	return x.redirectTo(u, args, argsFound, true)
}

// internalRedirectTo is ngx_http_internal_redirect with the args kept and
// u taken whole as the new URI ('?' included), as random_index calls it.
func (x *exchange) internalRedirectTo(u []byte) int {
	return x.redirectTo(u, nil, false, false)
}

// redirectTo is ngx_http_internal_redirect to uri (which x keeps): args
// replace the request's when setArgs (the index module keeps them). It
// counts toward the 10-cycle limit.
func (x *exchange) redirectTo(uri, args []byte, hasArgs, setArgs bool) int {
	x.uriChanges--
	if x.uriChanges == 0 {
		x.log.Errorf(x, "rewrite or internal redirection cycle while internally redirecting to \"%s\"%s", uri, x.accelAction())
		return 500
	}
	x.inAccel, x.auth.sending = false, false
	if setArgs {
		x.argsBuf = append(x.argsBuf[:0], args...)
		x.req.Args, x.req.HasArgs, x.req.ArgsFound = x.argsBuf, hasArgs, hasArgs
	}
	x.req.URI = uri
	x.req.Internal, x.req.RawStale = true, true
	x.st.Captures = x.st.Captures[:0]
	if x.st.Trace != nil {
		x.st.Trace("redirect", "internal redirect to \""+string(uri)+"\", the phases again from the server's rewrite directives")
	}
	x.gzip.reset() // ngx_http_handler tests gzip afresh
	x.mods.redirected()
	return x.serverPhase()
}

// namedRedirect runs the named location from its rewrite phase.
func (x *exchange) namedRedirect(name []byte) int {
	x.uriChanges--
	if x.uriChanges == 0 {
		x.log.Errorf(x, "rewrite or internal redirection cycle while redirect to named location \"%s\"%s", name, x.accelAction())
		return 500
	}
	loc := x.srv.Named(name)
	if loc == nil {
		x.log.Errorf(x, "could not find named location \"%s\"%s", name, x.accelAction())
		return 500
	}
	x.inAccel = false
	x.req.Internal = true
	x.mods.redirected()
	if x.st.Trace != nil {
		x.st.Trace("redirect", "to the named "+loc.describe())
	}
	x.loc, x.curConf = loc, loc.conf
	x.updateKeepalive(loc.conf)
	rc, again := x.locationPhase(loc)
	if again {
		return x.findPhase()
	}
	return rc
}

// autoRedirect answers nginx's 301 for "/prefix" when the location
// "/prefix/" proxies: to the location's name escaped as NGX_ESCAPE_URI
// (and the args), as ngx_http_core_find_config_phase does.
func (x *exchange) autoRedirect(loc *Location) int {
	b := append(x.locBuf[:0], loc.escapedName...)
	return x.redirectWithArgs(b)
}

// dirRedirect answers the static module's 301 for a directory asked
// without its trailing slash: the URI escaped as ngx_escape_uri's
// NGX_ESCAPE_URI ("/dir sp" → "/dir%20sp/"), then the args.
func (x *exchange) dirRedirect() int {
	b := appendEscapeURI(x.locBuf[:0], x.req.URI)
	b = append(b, '/')
	return x.redirectWithArgs(b)
}

func (x *exchange) redirectWithArgs(b []byte) int {
	if x.req.HasArgs && len(x.req.Args) > 0 {
		b = append(b, '?')
		b = append(b, x.req.Args...)
	}
	x.locBuf = b
	x.redirLoc = b
	return 301
}

// uriEscape is ngx_escape_uri's NGX_ESCAPE_URI table: controls, space,
// '"', '#', '%', '<', '>', '?', '\\', '^', '`', '{', '|', '}' and bytes
// from 0x7f.
var uriEscape = [8]uint32{0xffffffff, 0xd000002d, 0x50000000, 0xb8000001,
	0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}

func appendEscapeURI(b, s []byte) []byte { return appendEscaped(b, s, &uriEscape) }

// appendEscaped is ngx_escape_uri with one of its tables: the bytes the
// table marks become %XX.
func appendEscaped(b, s []byte, table *[8]uint32) []byte {
	const hex = "0123456789ABCDEF"
	for _, c := range s {
		if table[c>>5]&(1<<(c&0x1f)) != 0 {
			b = append(b, '%', hex[c>>4], hex[c&0xf])
			continue
		}
		b = append(b, c)
	}
	return b
}
