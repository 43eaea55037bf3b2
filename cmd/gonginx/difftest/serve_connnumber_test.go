package difftest

import (
	"testing"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// Backend connections draw from the counter clients are numbered from
// ($connection, the error log's *N), as ngx_event_connect_peer takes
// ngx_connection_counter once it has the socket: a client after a proxied
// request has a number past its backend connection's; a kept-alive one
// reused takes none; a refused connect takes one.
func TestServeConnectionNumbers(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := serveProxyCase("connection numbers", `log_format n '$connection $request $status';
upstream kept {
    server {{BACKEND}};
    keepalive 4;
}
upstream down {
    server 127.0.0.1:1;
    server {{BACKEND}};
}
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    access_log logs/a.log n;
    location /p/ { proxy_pass http://{{BACKEND}}/; }
    location /k/ { proxy_pass http://kept/; proxy_http_version 1.1; proxy_set_header Connection ""; }
    location /d/ { proxy_pass http://down/; }
    location /r/ { return 200 "$connection\n"; }
}
`,
		plainGet("proxied", "/p/x"),
		plainGet("proxied again", "/p/x"),
		plainGet("not proxied", "/r/"),
		plainGet("kept alive", "/k/x"),
		plainGet("kept alive, reused", "/k/x"),
		plainGet("a refused connect, then the next", "/d/x"),
		plainGet("after them", "/r/"),
	)
	c.Content = map[string]string{"logs/.keep": ""}
	c.AccessLogFiles = []string{"logs/a.log"}
	harness.Compare(t, c, want, got, serveAssets(t))
}
