package difftest

import (
	"strings"
	"testing"
	"time"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// An HTTP/2 connection's own info lines ("... while processing HTTP/2
// connection, client: ..., server: ..."): a preface left unfinished past
// client_header_timeout is "client timed out (110: Connection timed
// out)"; a connection that sent nothing, or that closes idle after its
// stream, logs nothing.
func TestServeHTTP2ConnLog(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := serveProxyCase("h2 connection log", `server {
    listen 127.0.0.1:{{PORT}} http2;
    server_name localhost;
    client_header_timeout 500ms;
    error_log stderr info;
    location / { return 200 "ok\n"; }
}
`,
		harness.Request{Name: "nothing sent", Send: []string{""}, ReadAfter: 900 * time.Millisecond},
		harness.Request{Name: "preface unfinished", Send: []string{"PRI * HTTP/2.0\r\n"}, ReadAfter: 900 * time.Millisecond},
		harness.Request{Name: "closed idle", H2: true, Send: []string{"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"}},
	)
	c.ErrorLog = true
	harness.Compare(t, c, want, got, serveAssets(t))
}

// Over TLS, a client that hangs up while its stream waits on a stalled
// backend sends its close_notify first: nginx reads the end of the
// stream, "client prematurely closed connection" at info.
func TestServeHTTP2ConnLogTLS(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	r := harness.Request{Name: "reset", H2: true, ALPN: []string{"h2"},
		Send: []string{"GET /p/stall?n=100&sent=10 HTTP/1.1\r\nHost: localhost\r\n\r\n"}}
	r.AwaitRequests, r.HangUpAfter = 1, time.Second
	c := serveProxyCase("h2 tls connection log", `server {
    listen 127.0.0.1:{{PORT}} ssl http2;
    server_name localhost;
    ssl_certificate {{CERT}};
    ssl_certificate_key {{KEY}};
    error_log stderr info;
    location /p/ { proxy_pass http://{{BACKEND}}/; }
}
`, r)
	c.TLS, c.SNI = true, "localhost"
	c.Files = []string{"cert.pem", "key.pem"}
	c.ErrorLog = true
	harness.Compare(t, c, want, got, serveAssets(t))
}

// Protocol errors in frames sent raw after the preface: each is an info
// line with nginx's wording and numbers, then its GOAWAY.
func TestServeHTTP2ConnLogProtocol(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	frame := func(typ, flags byte, id uint32, payload string) string {
		n := len(payload)
		return string([]byte{byte(n >> 16), byte(n >> 8), byte(n), typ, flags,
			byte(id >> 24), byte(id >> 16), byte(id >> 8), byte(id)}) + payload
	}
	const preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
	raw := func(name string, frames ...string) harness.Request {
		return harness.Request{Name: name, Send: []string{preface + frame(4, 0, 0, "") + strings.Join(frames, "")}}
	}
	c := serveProxyCase("h2 protocol error log", `server {
    listen 127.0.0.1:{{PORT}} http2;
    server_name localhost;
    error_log stderr info;
    location / { return 200 "ok\n"; }
}
`,
		harness.Request{Name: "HTTP/1 request", Send: []string{"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"}},
		raw("MAX_FRAME_SIZE 1", frame(4, 0, 0, "\x00\x05\x00\x00\x00\x01")),
		raw("ENABLE_PUSH 2", frame(4, 0, 0, "\x00\x02\x00\x00\x00\x02")),
		raw("INITIAL_WINDOW_SIZE 2^31", frame(4, 0, 0, "\x00\x04\x80\x00\x00\x00")),
		raw("connection window overflow", frame(8, 0, 0, "\x7f\xff\xff\xff")),
		raw("HEADERS on stream 2", frame(1, 5, 2, "\x82\x86\x84\x41\x09localhost")),
		raw("HEADERS depending on itself", frame(1, 0x25, 1, "\x00\x00\x00\x01\x10\x82\x86\x84\x41\x09localhost")),
		raw("PRIORITY depending on itself", frame(2, 0, 3, "\x00\x00\x00\x03\x10")),
		// Frames for a stream with no request are skipped (nginx's
		// "unknown http2 stream"); the zero increment after them ends it.
		raw("DATA on an idle stream", frame(0, 1, 5, "x"), frame(8, 0, 0, "\x00\x00\x00\x00")),
		raw("RST_STREAM on an idle stream", frame(3, 0, 5, "\x00\x00\x00\x08"), frame(8, 0, 0, "\x00\x00\x00\x00")),
		raw("WINDOW_UPDATE 0 on an idle stream", frame(8, 0, 1, "\x00\x00\x00\x00")),
		// Frames of a wrong size or on a wrong stream, each with the line
		// of nginx's state handler for its type.
		raw("WINDOW_UPDATE of 5 bytes", frame(8, 0, 0, "\x00\x00\x00\x01\x00")),
		raw("PRIORITY of 4 bytes", frame(2, 0, 1, "\x00\x00\x00\x00")),
		raw("PRIORITY on stream 0", frame(2, 0, 0, "\x00\x00\x00\x01\x10")),
		raw("RST_STREAM of 5 bytes", frame(3, 0, 1, "\x00\x00\x00\x08\x00")),
		raw("RST_STREAM on stream 0", frame(3, 0, 0, "\x00\x00\x00\x08")),
		raw("SETTINGS on a stream", frame(4, 0, 1, "")),
		raw("SETTINGS ACK with a payload", frame(4, 1, 0, "\x00\x03\x00\x00\x00\x01")),
		raw("SETTINGS of 5 bytes", frame(4, 0, 0, "\x00\x03\x00\x00\x00")),
		raw("PING of 7 bytes", frame(6, 0, 0, "1234567")),
		raw("PING on a stream", frame(6, 0, 1, "12345678")),
		raw("GOAWAY of 7 bytes", frame(7, 0, 0, "1234567")),
		raw("GOAWAY on a stream", frame(7, 0, 1, "\x00\x00\x00\x00\x00\x00\x00\x00")),
		raw("DATA on stream 0", frame(0, 0, 0, "x")),
		raw("padded DATA of 0 bytes", frame(0, 8, 1, "")),
		raw("DATA padded past its end", frame(0, 8, 1, "\x05abc")),
		raw("HEADERS on stream 0", frame(1, 5, 0, "\x82\x86\x84\x41\x09localhost")),
		raw("HEADERS with an empty block", frame(1, 5, 1, "")),
		raw("HEADERS with priority of 3 bytes", frame(1, 0x25, 1, "\x00\x00\x00")),
		raw("HEADERS padded past its end", frame(1, 0xd, 1, "\x09\x82")),
		raw("CONTINUATION without HEADERS", frame(9, 4, 1, "\x82")),
		raw("PING while CONTINUATION was expected", frame(1, 1, 1, "\x82\x86"), frame(6, 0, 0, "12345678")),
		raw("CONTINUATION on another stream", frame(1, 1, 1, "\x82\x86"), frame(9, 4, 3, "\x84")),
	)
	c.ErrorLog = true
	harness.Compare(t, c, want, got, serveAssets(t))
}

// A stream's header errors are logged on the stream (nginx's fake
// connection's log: "while reading client request headers", the server's
// name, no request line yet, the host when it came before the error).
func TestServeHTTP2StreamHeaderLog(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	h2 := func(name, send string) harness.Request {
		return harness.Request{Name: name, H2: true, Send: []string{send}}
	}
	c := serveProxyCase("h2 stream header log", `server {
    listen 127.0.0.1:{{PORT}} http2;
    server_name localhost;
    error_log stderr info;
    location / { return 200 "ok\n"; }
}
`,
		h2("underscore ignored", "GET / HTTP/1.1\r\nHost: localhost\r\nx_foo: 1\r\n\r\n"),
		h2("duplicate path", ":method: GET\r\n:scheme: http\r\n:path: /\r\n:path: /x\r\n:authority: localhost"),
		h2("no path", ":method: GET\r\n:scheme: http\r\n:authority: localhost"),
		h2("unknown pseudo-header", ":method: GET\r\n:scheme: http\r\n:path: /\r\n:foo: 1\r\n:authority: localhost"),
		h2("upper-case name", ":method: GET\r\n:scheme: http\r\n:path: /\r\n:authority: localhost\r\nX-Foo: 1"),
		h2("NUL in a value", ":method: GET\r\n:scheme: http\r\n:path: /\r\nx-bar: a\x00b\r\n:authority: localhost"),
	)
	c.ErrorLog = true
	harness.Compare(t, c, want, got, serveAssets(t))
}
