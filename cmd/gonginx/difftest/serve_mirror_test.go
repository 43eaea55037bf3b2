package difftest

import (
	"strings"
	"testing"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// mirror and mirror_request_body, nginx vs gonginx: the main request is answered here, only the
// mirror subrequests reach the recording backend (so what it sees does not depend on which of
// the two arrives first); the mirrors' own log lines (log_subrequest) and the main requests'
// lines are compared too. The main lines leave $request_body out: nginx's mirror shares the
// main request's cache of variables, so with mirror_request_body off the "-" the mirror
// evaluated is what the main request logs; gonginx's mirrors run on a copy.
func TestServeMirror(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := serveProxyCase("mirror", `log_format m "$uri $args $request_method $status body=$request_body";
log_format main "$uri $args $request_method $status $content_length";
server {
    listen 127.0.0.1:{{PORT}};
    server_name self;
    access_log off;
    location / { return 200 "main $request_method $request_uri\n"; }
}
server {
    listen 127.0.0.1:{{PORT}} default_server;
    server_name localhost;
    access_log main.log main;
    client_body_buffer_size 16;
    proxy_set_header Host self;
    location / {
        mirror /mirror;
        proxy_pass http://127.0.0.1:{{PORT}};
        location /off/ { mirror off; proxy_pass http://127.0.0.1:{{PORT}}; }
    }
    location /nobody/ {
        mirror /mirror/nobody;
        mirror_request_body off;
        proxy_pass http://127.0.0.1:{{PORT}};
    }
    location /two/ {
        mirror /local;
        mirror /local2;
        proxy_pass http://127.0.0.1:{{PORT}};
    }
    location /idx/ {
        mirror /mirror;
        index index.html;
        alias html/;
    }
    location = /idx/index.html {
        mirror /mirror;
        proxy_pass http://127.0.0.1:{{PORT}};
    }
    location /rw/ {
        rewrite ^/rw/(.*)$ /$1?from=rw break;
        mirror /mirror;
        proxy_pass http://127.0.0.1:{{PORT}};
    }
    location /static/ {
        mirror /mirror;
        alias html/;
    }
    location /mirror {
        internal;
        log_subrequest on;
        access_log mirror.log m;
        proxy_pass http://{{BACKEND}}/mirrored$request_uri;
    }
    location /mirror/nobody {
        internal;
        log_subrequest on;
        access_log mirror.log m;
        proxy_set_header Content-Length "";
        proxy_pass http://{{BACKEND}}/nobody;
    }
    location /local {
        internal;
        log_subrequest on;
        access_log mirror.log m;
        return 204;
    }
}
`,
		plainGet("GET with args", "/a?x=1&y=2"),
		serveRaw("POST with a body", "POST /post?q HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"),
		serveRaw("POST with a body past the buffer", "POST /big HTTP/1.1\r\nHost: localhost\r\nContent-Length: 40\r\nConnection: close\r\n\r\n"+strings.Repeat("0123456789", 4)),
		serveRaw("chunked body", "POST /chunked HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"),
		serveRaw("mirror_request_body off", "PUT /nobody/x HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"),
		plainGet("mirror off", "/off/x"),
		plainGet("two mirrors", "/two/x?k=v"),
		plainGet("through an index redirect", "/idx/"),
		plainGet("after a rewrite", "/rw/p?orig=1"),
		plainGet("static file", "/static/index.html?s"),
		plainGet("static file not found", "/static/none"),
	)
	c.Content = map[string]string{"html/index.html": "file\n"}
	c.AccessLogFiles = []string{"main.log", "mirror.log"}
	harness.Compare(t, c, want, got, serveAssets(t))
}
