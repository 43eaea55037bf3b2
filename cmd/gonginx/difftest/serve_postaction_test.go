package difftest

import (
	"testing"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// post_action, nginx vs gonginx: what the client gets (the response
// alone), what the backend receives from the post action (method,
// headers, body, no arguments for a URI, the request's for a named
// location) and the access log line.
func TestServePostAction(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{Name: "post_action", Config: `log_format pa "$request $status $uri $request_body";
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    access_log pa.log pa;
    location / { post_action /track; }
    location /named { return 200 "named\n"; post_action @track; }
    location /track { proxy_pass http://{{BACKEND}}/t; }
    location @track { proxy_pass http://{{BACKEND}}; }
    location /err { post_action /track; return 404; }
    location /up { proxy_pass http://{{BACKEND}}; post_action /track; }
    location /off { post_action off; return 200 "off\n"; }
    location /nn { post_action nonamed; return 200 "nn\n"; }
}
`,
		Content: map[string]string{"html/index.html": "index\n"},
		Requests: []harness.Request{
			plainGet("static", "/index.html?x=1"),
			plainGet("named keeps args", "/named?a=b"),
			plainGet("after an error", "/err"),
			serveRaw("proxied POST, body again", "POST /up/p HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: 4\r\n\r\nbody"),
			serveRaw("HEAD", "HEAD /index.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
			{Name: "keep-alive goes on", Send: []string{"GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n" +
				"GET /named?k HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"}, Responses: 2},
			plainGet("off is a name", "/off"),
			plainGet("no such name", "/nn?q"),
		},
		AccessLogFiles: []string{"pa.log"},
		ErrorMessages:  true,
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}
