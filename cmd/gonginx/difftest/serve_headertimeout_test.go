package difftest

import (
	"testing"
	"time"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// client_header_timeout: a connection that sends nothing (a preconnect:
// gonginx has parked it by then) is closed with nginx's info line "while
// waiting for request" and no access log line; a head or request line
// left unfinished is a 408 (nothing sent, a reset under
// reset_timedout_connection) logged at info "while reading client
// request headers" or "line".
func TestServeHeaderTimeout(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := serveProxyCase("client_header_timeout", `log_format t '$remote_addr "$request" $status $body_bytes_sent';
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    client_header_timeout 1s;
    reset_timedout_connection on;
    error_log stderr info;
    access_log logs/access.log t; # no $time_local: a second may pass between the servers
    location / { return 200 "ok\n"; }
}
`,
		harness.Request{Name: "nothing sent", Send: []string{""}, ReadAfter: 1500 * time.Millisecond},
		harness.Request{Name: "request line unfinished", Send: []string{"GET / HT"}, ReadAfter: 1500 * time.Millisecond},
		harness.Request{Name: "head unfinished", Send: []string{"GET / HTTP/1.1\r\nHost: localhost\r\n"}, ReadAfter: 1500 * time.Millisecond},
		// 700 ms short of the timeout: with 500ms a loaded machine's
		// client once slept past it in nginx's run (no answer there).
		harness.Request{Name: "request after 300ms", Send: []string{"", "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"}, Pause: 300 * time.Millisecond},
	)
	c.Content = map[string]string{"logs/.keep": ""}
	c.AccessLogFiles = []string{"logs/access.log"}
	c.ErrorLog = true
	harness.Compare(t, c, want, got, serveAssets(t))
}

// client_header_timeout on an ssl port: nothing sent, or a handshake begun and not finished
// (a ClientHello's first bytes), is closed with nginx's info line ("while waiting for
// request" / "while SSL handshaking"); a handshake then nothing is "waiting for request".
func TestServeHeaderTimeoutTLS(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := serveProxyCase("client_header_timeout ssl", `log_format t '$remote_addr "$request" $status $body_bytes_sent';
server {
    listen 127.0.0.1:{{PORT}} ssl;
    server_name localhost;
    ssl_certificate {{CERT}};
    ssl_certificate_key {{KEY}};
    client_header_timeout 1s;
    error_log stderr info;
    access_log logs/access.log t; # no $time_local: a second may pass between the servers
    location / { return 200 "ok\n"; }
}
`,
		harness.Request{Name: "nothing sent", Plain: true, Send: []string{""}, ReadAfter: 1500 * time.Millisecond},
		harness.Request{Name: "handshake begun", Plain: true, Send: []string{"\x16\x03\x01\x00\xc8\x01\x00\x00\xc4\x03\x03"}, ReadAfter: 1500 * time.Millisecond},
		harness.Request{Name: "handshake then nothing", Send: []string{""}, ReadAfter: 1500 * time.Millisecond},
	)
	c.TLS = true
	c.Files = serveArticleFiles
	c.Content = map[string]string{"logs/.keep": ""}
	c.AccessLogFiles = []string{"logs/access.log"}
	c.ErrorLog = true
	harness.Compare(t, c, want, got, serveAssets(t))
}
