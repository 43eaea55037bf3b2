package difftest

import (
	"testing"
	"time"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// A request whose connection closes with a lingering close is logged at
// the linger's end (nginx frees it, and runs its log phase, when
// ngx_http_lingering_close_handler closes): its $request_time counts the
// linger. The client sends more after a pause, then reads the response
// and closes; without lingering the line is written at once.
func TestServeLingerAccessLog(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	late := func(name, target string) harness.Request {
		r := serveRaw(name, "POST "+target+" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: 10\r\n\r\n01234", "56789")
		r.Pause = time.Second
		return r
	}
	c := serveProxyCase("lingering close's access line", `map $request_time $took { ~^0\.[0-4] short; default long; }
log_format took '$request $status $took';
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    access_log logs/a.log took;
    location /always { lingering_close always; return 200 "ok\n"; }
    location /on { return 200 "ok\n"; }
    location /big { client_max_body_size 1; return 200 "ok\n"; }
}
`,
		late("lingering_close always", "/always"),
		late("lingering_close on, a body left unread", "/on"),
		late("a body too large", "/big"),
	)
	c.Content = map[string]string{"logs/.keep": ""}
	c.AccessLogFiles = []string{"logs/a.log"}
	harness.Compare(t, c, want, got, serveAssets(t))
}
