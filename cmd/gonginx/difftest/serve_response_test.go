package difftest

import (
	"testing"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// Directives of the core module that shape every response, compared
// with nginx 1.22 at each level they may be written: server_tokens,
// chunked_transfer_encoding, types and default_type, index, stub_status.
// (gonginx names itself "gonginx" where nginx says "nginx"; the harness
// keeps only whether the token carries a version.)

func TestServeServerTokens(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{
		Name: "server_tokens",
		Config: `server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    location / { return 200 "on\n"; }
    location /off/ { server_tokens off; }
    location /build/ { server_tokens build; }
    location /ep/ { server_tokens off; error_page 404 /on404; }
    location /on404 { return 404; }
    location /up/ { server_tokens off; proxy_pass http://{{BACKEND}}/; }
    location /var/ { server_tokens off; add_header X-Server "[$sent_http_server]"; return 200 "x\n"; }
}
server {
    listen 127.0.0.1:{{PORT}};
    server_name off;
    server_tokens off;
    location / { }
    location /on/ { server_tokens on; }
    location /redir { return 301 /elsewhere; }
}
`,
		Requests: []harness.Request{
			plainGet("on", "/"),
			plainGet("on 404", "/nope/"),
			plainGet("off 404", "/off/x"),
			plainGet("build 404", "/build/x"),
			plainGet("off: error_page to a location with it on", "/ep/x"),
			plainGet("off proxied", "/up/status/500"),
			plainGet("$sent_http_server", "/var/"),
			hostGet("server off 404", "off", "/x"),
			hostGet("server off, location on", "off", "/on/x"),
			hostGet("server off redirect", "off", "/redir"),
			serveRaw("server off HEAD 404", "HEAD /x HTTP/1.1\r\nHost: off\r\nConnection: close\r\n\r\n"),
			serveRaw("HTTP/0.9 on", "GET /nope/\r\n"),
			serveRaw("HTTP/0.9 off", "GET /off/x\r\n"),
			serveRaw("400 in the default server", "GET / HTTP/1.1\r\n\r\n"),
			serveRaw("400 in server off", "GET /x HTTP/1.1\r\nHost: off\r\nHost: off\r\n\r\n"),
		},
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// chunked_transfer_encoding off at the server, on again in a location
// and through an "if": a body of unknown length then ends with the
// connection.
func TestServeChunkedTransferEncoding(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{
		Name: "chunked_transfer_encoding",
		Config: `server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    chunked_transfer_encoding off;
    location /up/ { proxy_pass http://{{BACKEND}}/; }
    location /on/ { chunked_transfer_encoding on; proxy_pass http://{{BACKEND}}/; }
    location /if/ {
        chunked_transfer_encoding on;
        if ($arg_a) { }
        proxy_pass http://{{BACKEND}}/;
    }
    location /ret/ { return 200 "ret\n"; }
    location /sub/ { sub_filter a b; proxy_pass http://{{BACKEND}}/; }
}
`,
		Requests: []harness.Request{
			plainGet("off: proxied chunked", "/up/chunked"),
			{Name: "off: proxied chunked, kept alive", Send: []string{
				"GET /up/chunked HTTP/1.1\r\nHost: localhost\r\n\r\n", "GET /ret/ HTTP/1.1\r\nHost: localhost\r\n\r\n"}, Responses: 2},
			plainGet("off: proxied with length", "/up/status/200"),
			plainGet("off: sub_filter drops the length", "/sub/status/200"),
			plainGet("on: proxied chunked", "/on/chunked"),
			plainGet("on through if", "/if/chunked?a=1"),
			serveRaw("HTTP/1.0", "GET /on/chunked HTTP/1.0\r\n\r\n"),
			plainGet("return", "/ret/"),
		},
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}
