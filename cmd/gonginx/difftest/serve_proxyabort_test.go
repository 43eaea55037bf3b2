package difftest

import (
	"testing"
	"time"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// A client that closes its connection right after sending a proxied
// request: nginx sees the hang-up (EPOLLRDHUP) before it sends the
// request, closes the backend connection, logs the info line and 499;
// with proxy_ignore_client_abort on, the request goes to the backend. A
// hang-up while the backend works is logged as the send's.
func TestServeProxyClientAbort(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := serveProxyCase("proxy client abort", `log_format st '$request $status $upstream_addr';
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    access_log logs/st.log st;
    error_log logs/info.log info;
    location / { proxy_pass http://{{BACKEND}}; }
    location /ignore/ { proxy_pass http://{{BACKEND}}; proxy_ignore_client_abort on; }
}
`,
		harness.Request{Name: "client hangs up at once", Send: []string{"GET /x HTTP/1.1\r\nHost: localhost\r\n\r\n"}, HangUp: true, Corked: true, Settle: 200 * time.Millisecond},
		// Sent, no answer yet: nginx's action is still the send's.
		harness.Request{Name: "client hangs up waiting", Send: []string{"GET /slow HTTP/1.1\r\nHost: localhost\r\n\r\n"},
			AwaitRequests: 1, HangUpAfter: 50 * time.Millisecond, Settle: 400 * time.Millisecond},
		harness.Request{Name: "ignored hang-up", Send: []string{"GET /ignore/x HTTP/1.1\r\nHost: localhost\r\n\r\n"}, HangUp: true, Corked: true, Settle: 200 * time.Millisecond},
	)
	c.Content = map[string]string{"logs/.keep": ""}
	c.AccessLogFiles = []string{"logs/st.log"}
	c.LogFiles = []string{"logs/info.log"}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// A failure that takes a server of an upstream{} group out (max_fails
// reached) is followed by nginx's warning, with the failed try's action
// and upstream: a refused connection, a timed-out head, and a status
// proxy_next_upstream moves on from.
func TestServeProxyServerDisabledLog(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := serveProxyCase("proxy server disabled log", `upstream refused {
    server 127.0.0.1:1 max_fails=1;
    server {{BACKEND}};
}
upstream slow {
    server {{BACKEND}} max_fails=1;
    server 127.0.0.1:{{BACKEND_PORT}} max_fails=1;
}
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    error_log logs/warn.log warn;
    location /refused/ { proxy_pass http://refused/; }
    location /slow/ { proxy_pass http://slow/; proxy_read_timeout 100ms; }
    location /five/ { proxy_pass http://slow/; proxy_next_upstream http_500; }
}
`,
		plainGet("refused, then the next", "/refused/a"),
		plainGet("the refused one is out", "/refused/b"),
		plainGet("both time out", "/slow/slow"),
		plainGet("no live upstreams", "/slow/x"),
	)
	c.Content = map[string]string{"logs/.keep": ""}
	c.LogFiles = []string{"logs/warn.log"}
	harness.Compare(t, c, want, got, serveAssets(t))

	want, got = serveNginx(t), serveUnderTest(t)
	c = serveProxyCase("proxy server disabled by a status", `upstream five {
    server {{BACKEND}} max_fails=1;
    server 127.0.0.1:{{BACKEND_PORT}} max_fails=1;
}
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    error_log logs/warn.log warn;
    location / { proxy_pass http://five; proxy_next_upstream http_500; }
}
`,
		plainGet("500 from both", "/status/500"),
	)
	c.Content = map[string]string{"logs/.keep": ""}
	c.LogFiles = []string{"logs/warn.log"}
	harness.Compare(t, c, want, got, serveAssets(t))
}
