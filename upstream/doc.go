// Package upstream owns nginx's upstream{} groups (servers with weight,
// max_fails, fail_timeout, backup, down; keepalive; balancing behind a
// one-method Picker), the protocol interface every backend protocol
// implements for the one machinery of tries, timeouts and keepalive
// (protocol.go, with HTTP as the proxy's), FastCGI as a second protocol
// on it (fastcgi.go, fcgi_record.go, fcgi_wire.go: fastcgi_pass,
// fastcgi_param, the records) and SCGI and uwsgi as a third (scgi.go:
// scgi_pass, uwsgi_pass, their params, the netstring and the uwsgi
// packet, an HTTP or CGI head), memcached (memcached.go: get
// $memcached_key, VALUE/END), gRPC (grpc.go, grpc_conn.go,
// grpc_hpack.go: an HTTP/2 client on x/net/http2's Framer, one stream
// at a time on a kept-alive connection), the proxy handler (proxy_pass URI rules,
// proxy_set_header with inheritance and defaults, proxy_http_version,
// timeouts, 502/504), the X-Accel-* headers a backend steers it with
// (accel.go; location follows an X-Accel-Redirect, which Serve reports in
// rewrite.State.AccelRedirect) and the upgrade tunnel that takes over a
// connection when a backend answers 101.
//
// Entry points: CompileGroups (http{} level, once per config), CompileProxy,
// CompileFastCGIPass, CompileSCGIPass, CompileUWSGIPass,
// CompileMemcachedPass and CompileGRPCPass (per location), (*Proxy).Serve (per request, on
// the client's http1.Stream, whatever its wire protocol; the upgrade
// tunnel is HTTP/1's Hijack). The request to the backend and the response
// to the client are written byte for byte as nginx 1.22 writes them,
// without net/http.
package upstream
