// Package location compiles a loaded nginx configuration into a Router and
// runs requests through nginx's phases against it.
//
// It owns: listen sockets (parsed as ngx_http_core_listen does), the
// servers on each socket and server_name selection (exact, wildcards,
// regexes, default_server), the location tree (=, ^~, longest prefix, ~ and
// ~* in config order, nested and named locations, nginx's auto-redirect for
// proxied prefixes ending in "/"), the per-request phases (server rewrite,
// find location, location rewrite with at most 10 "last" cycles, access,
// try_files, content), static files (root, alias, index, types,
// default_type, charset, ETag/Last-Modified, ranges), the other content
// handlers (autoindex, random_index, empty_gif, stub_status; one file
// each, with the listing formats in the sub-package autoindex),
// error_page and nginx's built-in error pages byte for byte, and the
// internal redirect a backend's X-Accel-Redirect asks for (accel.go).
//
// It does not own parsing (nginxconf), variables and the rewrite module
// (rewrite) or proxying (upstream).
//
// Entry points: Compile builds a Router from a *nginxconf.Config; Start (in
// serve.go) runs it on its listen sockets.
package location
