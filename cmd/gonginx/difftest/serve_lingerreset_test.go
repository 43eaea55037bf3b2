package difftest

import (
	"testing"
	"time"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// A client that resets while nobody watches it (proxy_ignore_client_abort
// on) and whose response then ends with nothing left to write: the
// connection, not kept alive, goes to a lingering close because its read
// event is ready (the reset), and shutdown() meets a socket the reset
// closed: nginx logs "shutdown() failed (107: Transport endpoint is not
// connected) while sending to client" at info (ngx_http_set_lingering_close).
// The backend sends the head and part of the body, then stalls until
// proxy_read_timeout.
func TestServeLingerAfterReset(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	gone := func(name, target string) harness.Request {
		r := plainGet(name, target)
		// The part of the body is at the client, unread: its close
		// is a reset.
		r.AwaitRequests, r.HangUpAfter = 1, 300*time.Millisecond
		r.Settle = 300 * time.Millisecond
		return r
	}
	c := serveProxyCase("lingering close after a reset", `log_format gone '$request $status $body_bytes_sent $upstream_status';
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    error_log stderr info;
    access_log gone.log gone;
    location /ig/ {
        proxy_pass http://{{BACKEND}}/;
        proxy_buffering off;
        proxy_ignore_client_abort on;
        proxy_read_timeout 1s;
    }
    location /off/ {
        proxy_pass http://{{BACKEND}}/;
        proxy_buffering off;
        proxy_ignore_client_abort on;
        proxy_read_timeout 1s;
        lingering_close off;
    }
}
`,
		gone("lingering", "/ig/stall?n=100&sent=10"),
		gone("lingering_close off", "/off/stall?n=100&sent=10"),
	)
	c.ErrorLog = true
	c.AccessLogFiles = []string{"gone.log"}
	harness.Compare(t, c, want, got, serveAssets(t))
}
