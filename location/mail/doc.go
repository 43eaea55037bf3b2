// Package mail serves nginx's mail{} block: the POP3, IMAP and SMTP proxy
// of nginx 1.22's mail modules (core, auth_http, proxy, pop3, imap, smtp).
//
// A client talks to gonginx until it has logged in (the protocols' auth
// state: greetings, capabilities, USER/PASS, APOP, AUTH PLAIN, LOGIN,
// CRAM-MD5, EXTERNAL, ...); gonginx then asks the auth_http server where
// the mailbox lives (authhttp.go), logs in to that backend as the client
// (proxy.go) and relays bytes both ways until one side closes.
//
// It owns: compiling mail{} (compile.go), the accept loops and reloads of
// its sockets (server.go), a session's command buffer and auth helpers
// (session.go), each protocol's command parser and auth state (pop3.go,
// imap.go, smtp.go), the auth_http client and the backend login and relay.
//
// It does not own: the sockets' opening (location/server binds them, or a
// worker takes them from its master), nor the error log's files
// (location.Logger).
//
// Entry points: Compile (location.Options.CompileMail), NewServer,
// Server.Apply, Serve, Shutdown, Close, Wait.
package mail
