package difftest

import (
	"testing"
	"time"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// A client's RST_STREAM CANCEL on a stream whose request waits on a
// backend: nginx logs "client canceled stream N" at info in the stream's
// request context with what the request was doing, then ends the request
// (499 in the access log).
func TestServeHTTP2ClientCancel(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	cancel := func(name, target string, await int) harness.Request {
		r := harness.Request{Name: name, H2: true, Send: []string{"GET " + target + " HTTP/1.1\r\nHost: localhost\r\n\r\n"}}
		r.AwaitRequests, r.CancelAfter = await, 300*time.Millisecond
		return r
	}
	c := serveProxyCase("h2 client cancel", `log_format c '$request $status $body_bytes_sent';
server {
    listen 127.0.0.1:{{PORT}} http2;
    server_name localhost;
    error_log stderr info;
    access_log logs/a.log c;
    location /p/ { proxy_pass http://{{BACKEND}}/; }
    location /b/ { proxy_pass http://{{BACKEND}}/; proxy_buffering off; }
}
`,
		cancel("waiting on the backend's head", "/p/together?g=cancel&n=2", 1),
		cancel("waiting on the body", "/p/stall?n=100&sent=10", 1),
		cancel("unbuffered, waiting on the body", "/b/stall?n=100&sent=10", 1),
	)
	c.Content = map[string]string{"logs/.keep": ""}
	c.ErrorLog = true
	c.AccessLogFiles = []string{"logs/a.log"}
	harness.Compare(t, c, want, got, serveAssets(t))
}
