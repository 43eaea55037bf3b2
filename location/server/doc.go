// Package server runs a compiled configuration (a location.Router) on its
// sockets, as net/http's Server runs a Handler: it owns what happens to a
// connection before and between requests, and nothing of what a request
// means.
//
// It owns: opening the listen sockets (listen.go: reuseport, rcvbuf,
// sndbuf, nginx's bind() errors) or taking them from the master; the
// accept loop and its back-off; a connection's life (conn.go): the
// connection number and stub_status's counters (Counters, shared with the
// other workers), the first byte telling TLS from plain HTTP on a TLS
// socket, the TLS handshake and close_notify, client_header_timeout from
// accept, the keep-alive loop and its timeouts, when a connection closes
// and how (at once, with a reset under reset_timedout_connection, or
// after nginx's lingering close); reload (server.go: a new Router swapped
// in, sockets opened and closed, each old configuration kept until its
// last connection ends and its idle backend connections retired); a
// graceful (Shutdown) or immediate (Close) stop.
//
// It does not own: what a socket's TLS contexts are or which server and
// certificate SNI selects (location.Router.TLSConfig, compiled from the
// configuration, with the $ssl_* variables), nor anything done with a
// request: each request of a connection goes to a location.Conn, which
// selects the server, runs the phases and the content handlers, writes
// the response (or the 400, or records the 408) and the access log, and
// tells the server the status and the keepalive, lingering and reset
// settings where the request ended.
//
// Why this cut: the server's side of a connection meets the routing side
// at a handful of calls per request (location.Conn), while the routing
// phases and the content handlers share the whole per-request state (the
// exchange), which the response path through filters will narrow first.
// So the server is the part that stands apart; package location imports
// nothing of it (its in-package tests link it in from link_test.go).
//
// The stream{} block's sockets are opened (or taken from the master) here
// too and handed to package location/stream's Server, which runs their
// sessions; a reload, a graceful stop and an immediate one reach it with
// the http side's.
//
// Entry points: Start (compile and listen; StartOptions.Hold waits for
// Serve, so a worker drops privileges first), Server.Reload,
// Server.Shutdown, Server.Close, ListenSocket (what the master binds).
package server
