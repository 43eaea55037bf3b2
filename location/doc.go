// Package location compiles a loaded nginx configuration into a Router and
// runs each request through nginx's phases against it.
//
// It owns: listen directives (parsed as ngx_http_core_listen does) and the
// servers on each socket, server_name selection (exact, wildcards,
// regexes, default_server), the TLS contexts of a socket and what SNI
// selects with them (tlsserve.go, with the $ssl_* variables), the
// location tree (=, ^~, longest prefix, ~ and ~* in config order, nested
// and named locations, nginx's auto-redirect for proxied prefixes ending
// in "/"), the per-request phases (server rewrite, find location,
// location rewrite with at most 10 "last" cycles, access, try_files,
// content), static files (root, alias, index, types, default_type,
// charset, ETag/Last-Modified, ranges), the other content handlers
// (autoindex, random_index, empty_gif, stub_status, WebDAV's dav.go; one
// file each, with the listing formats in the sub-package autoindex), error_page and
// nginx's built-in error pages byte for byte, the internal redirect a
// backend's X-Accel-Redirect asks for (accel.go), which body filters a
// response gets (bodyfilters.go runs their header parts in nginx's order
// and builds the response's chain of filter links: gzip.go decides gzip
// and gunzip as ngx_http_gzip_ok and their header filters do,
// gzipstatic.go is the gzip_static handler, subfilter.go, charsetfilter.go,
// ssi.go), subrequests (subrequest.go: a URI run through the phases, in
// place for addition and waited ssi includes, in a goroutine of its own
// beside the page for the others, its body joining the parent's at the
// postpone point in document order), and the error and access logs.
//
// It does not own parsing (nginxconf), variables and the rewrite module
// (rewrite), proxying (upstream), the body filters' transforms (filter),
// or sockets and connections: package location/server accepts, handshakes,
// keeps connections alive, reloads and stops, and hands each request to a
// Conn (conn.go, the seam between the two). Past that seam the handlers
// see the connection as an http1.Stream, not as HTTP/1's *http1.Conn.
//
// Entry points: Compile builds a Router from a *nginxconf.Config;
// server.Start runs it on its listen sockets, through NewConn.
package location
