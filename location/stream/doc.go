// Package stream serves nginx's stream{} block: TCP and UDP proxying with
// nginx 1.22's stream modules (core, proxy, upstream and its balancers,
// ssl, ssl_preread, realip, access, limit_conn, map, geo, split_clients,
// return, set, log).
//
// It owns: compiling stream{} (compile.go: sockets and their servers,
// tls.go: ssl termination, log.go: log_format/access_log/error_log), the
// stream variables (vars.go; the ones shared with http come from
// rewrite.NewStreamCompiler), the accept loops and reloads of the stream
// sockets (server.go, udp.go: a session per client address), and a
// session's phases in nginx's order (session.go): the PROXY protocol
// header, post_accept (realip), preaccess (set, limit_conn), access
// (allow/deny), ssl (the handshake), preread (ssl_preread's ClientHello
// reader, preread.go), content (proxy_pass or return) and log.
//
// It does not own: the proxy itself (upstream.StreamProxy: balancing,
// next upstream, proxy_protocol, proxy_ssl, and the tunnel it shares with
// the HTTP upgrade), the sockets' opening (location/server binds them, or
// a worker takes them from its master), nor the error log's files
// (location.Logger).
//
// Entry points: Compile (location.Options.CompileStream), NewServer,
// Server.Apply (serve a configuration, on start and reload), Serve,
// Shutdown, Close, Wait.
package stream
