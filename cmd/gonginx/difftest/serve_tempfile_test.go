package difftest

import (
	"testing"
	"time"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// A client that reads nothing for a while gets a large response through
// a temporary file: the same body, and nginx's warning naming the file
// (once per response); with proxy_max_temp_file_size 0 the backend waits
// for the client and nothing is logged. The bodies are chunked: with a
// Content-Length both servers see the slow client reset the connection
// at its end, which nginx logs at info and gonginx still at error.
func TestServeProxyTempFile(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	slow := func(name, target string) harness.Request {
		r := plainGet(name, target)
		r.RcvBuf, r.ReadAfter = 4096, 300*time.Millisecond
		return r
	}
	c := serveProxyCase("temp file", `server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    error_log stderr warn;
    proxy_temp_path proxy_temp 1 2;
    location /p/ { proxy_pass http://{{BACKEND}}/; }
    location /nofile/ {
        proxy_pass http://{{BACKEND}}/;
        proxy_max_temp_file_size 0;
    }
}
`,
		slow("spooled", "/p/made?n=12000000&chunked=1"),
		slow("spooled, a second", "/p/made?n=6000000&chunked=1"),
		slow("no temp file", "/nofile/made?n=12000000&chunked=1"),
	)
	c.Content = map[string]string{"proxy_temp/.keep": ""}
	c.ErrorLog = true
	harness.Compare(t, c, want, got, serveAssets(t))
}
