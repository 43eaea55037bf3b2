package difftest

import (
	"testing"
	"time"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// The same over HTTP/2: the client's connection ends while its stream's
// body is awaited from a backend that sent part of it; nginx ends the
// stream's request at once (the stream's fake connection's error, seen
// by the upstream's broken connection check) and closes the backend.
// The error logs are compared: nginx's HTTP/2 connection logs the reset
// it reads ("recv() failed (104: Connection reset by peer) while
// processing HTTP/2 connection", info).
func TestServeClientGoneWhileAwaitingBodyH2(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	gone := func(name, target string) harness.Request {
		r := harness.Request{Name: name, H2: true, Send: []string{"GET " + target + " HTTP/1.1\r\nHost: localhost\r\n\r\n"}}
		r.AwaitRequests, r.HangUpAfter = 1, time.Second
		return r
	}
	c := serveProxyCase("h2 client gone awaiting the body", `log_format gone '$request $status $body_bytes_sent $upstream_status';
server {
    listen 127.0.0.1:{{PORT}} http2;
    server_name localhost;
    error_log stderr info;
    access_log gone.log gone;
    location /p/ { proxy_pass http://{{BACKEND}}/; }
    location /h/ { proxy_pass http://{{BACKEND}}/; proxy_buffer_size 128k; proxy_buffers 4 256k; }
    location /nb/ {
        proxy_pass http://{{BACKEND}}/;
        proxy_buffering off;
    }
}
`,
		gone("buffered", "/p/stall?n=100000&sent=20000"),
		gone("unbuffered", "/nb/stall?n=100&sent=10"),
		// All the backend sent is held (less than proxy_buffer_size):
		// the client gone, nginx passes none of it (499).
		gone("a body held", "/h/stall?n=200000&sent=40000"),
	)
	c.AccessLogFiles = []string{"gone.log"}
	c.ErrorLog = true
	harness.Compare(t, c, want, got, serveAssets(t))
}
