// Package http2 is the HTTP/2 wire (RFC 9113) as nginx 1.22's
// ngx_http_v2_module serves it, on golang.org/x/net/http2's Framer; the
// connection logic and the HPACK reading (hpackdec.go: nginx's limits on
// integers, its leniency on Huffman padding) are ours.
//
// It owns a connection's frames: the preface, SETTINGS, flow control in
// both directions, the streams' life (HEADERS with CONTINUATION, DATA,
// RST_STREAM, GOAWAY), pseudo-header validation with nginx's answers (a
// stream reset with PROTOCOL_ERROR for a malformed field, 400 for a bad
// :path, :method or :scheme), the joining of cookies with "; ", and
// nginx's limits (concurrent streams, the header list bounded by
// large_client_header_buffers, the flood check on bytes read against
// payload).
//
// It does not own what a request means: each stream is an *http1.Conn in
// framed mode (http1.NewFramedConn), whose request is the stream's
// fields in HTTP/1 form parsed by http1 (StartFramed), and whose response
// goes through the same header filter, body filters and variables as
// HTTP/1's; the stream (stream.go) is that Conn's net.Conn (DATA) and
// http1.Wire (HEADERS, END_STREAM, trailers). The Handler, run in one
// goroutine per stream while the stream's request runs, is package
// location's exchange.
//
// Output (sched.go) is nginx's frame queue: a stream's DATA waits in its
// queue and goes a frame at a time when both windows have room, by the
// priority tree's order (depth, then weight). A response's HEADERS wait
// in the connection's buffer for its first DATA (or a flush before the
// proxy waits on its backend), so a small response is one write; a
// stream's end is flushed after the other goroutines ready to run have
// run (flushEnd), so the ends of streams whose backends answered together
// share one TLS write, as nginx writes a connection's queue once per pass
// of its event loop. An h2c connection's socket is read and written with
// raw system calls (http1.Sock; under TLS, location's handshake wrapper
// does the same). Streams are pooled with their Conn and buffers, and run on goroutines that ran
// one before (their stacks already grown). An idle connection parks
// (park.go): with a Parker (the server's poller) its reader's goroutine
// ends after a grace with no stream, and input resumes it.
//
// Limits against abuse: at most http2_max_concurrent_streams handlers
// run (a stream the client resets still counts until its handler
// returns, which bounds a rapid reset), a header list within
// large_client_header_buffers (each field within one buffer, so an HPACK
// bomb ends in ENHANCE_YOUR_CALM), a header block that stalls is reset
// after client_header_timeout, flow-control violations end the stream or
// the connection, and nginx's flood check closes a connection whose bytes
// are mostly not requests and bodies (PING, SETTINGS, empty frames).
//
// Server push is not done (http2_push and http2_push_preload are
// accepted; a server need not push).
//
// Entry points: NewConfig, NewConn, Conn.SetParker, Conn.Serve,
// Conn.Resume, Conn.Shutdown.
package http2
