package difftest

import (
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
