package difftest

import (
	"testing"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// TestServeAttackH2Values: HTTP/2 header values with spaces and tabs around them. nginx's
// HTTP/2 keeps a field's value as sent (ngx_http_v2_state_process_header trims nothing, where
// the HTTP/1 parser drops the spaces around a value), so " 5" is no Content-Length number, a
// Host with a space is no host, and a proxied header reaches the backend with its spaces.
func TestServeAttackH2Values(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	h2 := func(name, extra string) harness.Request {
		return harness.Request{Name: name, H2: true,
			Send: []string{":method: POST\r\n:scheme: http\r\n:path: /p/x\r\n:authority: localhost\r\n" + extra + "\r\n\r\nhello"}}
	}
	v := func(name, authority, extra string) harness.Request {
		return harness.Request{Name: name, H2: true,
			Send: []string{":method: GET\r\n:scheme: http\r\n:path: /v/\r\n:authority: " + authority + extra}}
	}
	c := serveProxyCase("h2 values", `server {
    listen 127.0.0.1:{{PORT}} http2;
    server_name localhost;
    error_log stderr info;
    location /p/ { proxy_pass http://{{BACKEND}}/; }
    location /v/ { return 200 "host=[$host] http_host=[$http_host] a=[$http_x_a] cookie=[$http_cookie] c=[$cookie_c]\n"; }
}
`,
		h2("content-length plain", "content-length: 5"),
		h2("content-length leading space", "content-length:  5"),
		h2("content-length trailing space", "content-length: 5 "),
		h2("content-length leading tab", "content-length: \t5"),
		h2("content-length trailing tab", "content-length: 5\t"),
		h2("header spaces to the backend", "content-length: 5\r\nx-a:  sp \r\nx-b: \ttab\t\r\nx-c:  "),
		v("authority leading space", " localhost", ""),
		v("authority trailing space", "localhost ", ""),
		v("authority tab", "localhost\t", ""),
		v("host header spaces", "localhost", "\r\nhost:  other "),
		v("x-a spaces", "localhost", "\r\nx-a:  a b "),
		v("cookie spaces", "localhost", "\r\ncookie:  c=1 \r\ncookie: \td=2"),
		v("cookie value spaces", "localhost", "\r\ncookie: c= 1 "),
	)
	c.ErrorLog = true
	harness.Compare(t, c, want, got, serveAssets(t))
}
