package difftest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// Differences found by running real-world configurations (docker images'
// conf.d files, nginxconfig.io output, Laravel and WordPress sites) under
// both servers, each reduced to the lines that show it.
func TestServeRealConfigs(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	page := strings.Repeat("<p>a page that compresses well</p>\n", 20)
	ka := func(line string, extra ...string) string {
		h := ""
		for _, x := range extra {
			h += x + "\r\n"
		}
		return line + "\r\nHost: localhost\r\n" + h + "\r\n"
	}
	drop := func(n int) harness.Request {
		head := fmt.Sprintf("POST /form HTTP/1.1\r\nHost: drop.test\r\nContent-Length: %d\r\n\r\n", n)
		return serveRaw(fmt.Sprintf("444 with a %d-byte body", n), head+strings.Repeat("x", n))
	}
	c := harness.Case{
		Name: "realconf",
		// nginxconfig.io's general.conf: gzip and gzip_vary at the
		// server's level.
		Config: `server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    root html;
    gzip on;
    gzip_vary on;
    gzip_types text/plain text/css application/json;
    location / { }
    location /spa/ { try_files $uri $uri/ /index.html; }
}
# "Drop requests for unknown hosts" (a sites-available classic).
server {
    listen 127.0.0.1:{{PORT}};
    server_name drop.test;
    return 444;
}
`,
		Content: map[string]string{"html/index.html": page, "html/style.css": page},
		Requests: []harness.Request{
			// A request the URI parser rejects (400, no location) after a
			// compressed response on the same connection: nginx's gzip
			// filter leaves a 400 alone, so no "Vary".
			{Name: "400 after gzip on one connection", Responses: 2, Send: []string{
				ka("GET /style.css HTTP/1.1", "Accept-Encoding: gzip"),
				ka("GET /..%2f..%2fetc/passwd HTTP/1.1", "Connection: close")}},
			{Name: "400 after a 404's Vary", Responses: 2, Send: []string{
				ka("GET /nope.txt HTTP/1.1"),
				ka("GET /a/../../x HTTP/1.1", "Connection: close")}},
			{Name: "400 after try_files' fallback", Responses: 2, Send: []string{
				ka("GET /spa/route HTTP/1.1", "Accept-Encoding: gzip"),
				ka("GET /..%2f..%2fx HTTP/1.1", "Connection: close")}},
			// 444 closes at once: a body past nginx's 1k header buffer is
			// still in the socket, and the close resets the connection;
			// one the buffer took whole ends with a FIN.
			drop(10),
			drop(900),
			drop(1000),
			drop(3000),
		},
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}
