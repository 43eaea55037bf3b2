package difftest

import (
	"testing"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// add_before_body and add_after_body: subrequests whose output goes
// before and after the body, for static files, return, proxied bodies
// (the backend sees the subrequest as a GET with the client's headers),
// nested levels, a subrequest that fails, addition_types, HEAD and
// statuses other than 200; ETag turns weak, Content-Length goes.
func TestServeAddition(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	get := func(name, target string, extra ...string) harness.Request {
		h := ""
		for _, x := range extra {
			h += x + "\r\n"
		}
		return serveRaw(name, "GET "+target+" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"+h+"\r\n")
	}
	c := harness.Case{
		Name: "addition",
		Config: `server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    root html;
    location / {
        add_before_body /parts/before.html;
        add_after_body /parts/after.html;
    }
    location /parts/ { }
    location /after/ { add_after_body /parts/after.html; }
    location /missing/ { add_before_body /nope; add_after_body /ret404; }
    location /ret/ { add_before_body /parts/before.html; default_type text/html; return 200 "ret $uri\n"; }
    location /ret404 { return 404; }
    location /types/ { add_after_body /parts/after.html; addition_types text/plain; }
    location /anytype/ { add_after_body /parts/after.html; addition_types *; }
    location /up/ {
        proxy_pass http://{{BACKEND}}/;
        addition_types text/plain;
        add_after_body /sub/chunked;
    }
    # One subrequest per response: nginx runs a second one's backend
    # connection alongside the first's, in no fixed order.
    location /upbefore/ {
        proxy_pass http://{{BACKEND}}/;
        addition_types text/plain;
        add_before_body /sub/headers?from=before;
    }
    location /sub/ { proxy_pass http://{{BACKEND}}/; }
    location /nested/ {
        add_before_body /ret/inner;
        add_after_body /after/f.html;
    }
    location /args/ { add_before_body /ret/x?a=1; }
    location /empty/ { add_before_body /parts/before.html; add_after_body /parts/after.html; }
}
`,
		Content: map[string]string{
			"html/f.html":            "body\n",
			"html/f.txt":             "text\n",
			"html/parts/before.html": "BEFORE\n",
			"html/parts/after.html":  "AFTER\n",
			"html/after/f.html":      "after-body\n",
			"html/missing/f.html":    "missing\n",
			"html/types/f.txt":       "typed\n",
			"html/types/f.html":      "html\n",
			"html/anytype/f.bin":     "bin\n",
			"html/nested/f.html":     "nested\n",
			"html/args/f.html":       "args\n",
			"html/empty/f.html":      "",
		},
		Requests: []harness.Request{
			get("before and after", "/f.html"),
			get("not text/html", "/f.txt"),
			get("404 is left alone", "/nope.html"),
			get("after only", "/after/f.html"),
			get("subrequests that fail", "/missing/f.html"),
			get("return", "/ret/x"),
			get("addition_types", "/types/f.txt"),
			get("addition_types keeps text/html", "/types/f.html"),
			get("addition_types *", "/anytype/f.bin"),
			get("proxied body and subrequests", "/up/headers", "X-Client: c"),
			get("proxied, before", "/upbefore/headers", "X-Client: c"),
			get("nested", "/nested/f.html"),
			get("args", "/args/f.html"),
			get("empty body", "/empty/f.html"),
			get("range is ignored", "/f.html", "Range: bytes=0-1"),
			serveRaw("HEAD", "HEAD /f.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
			serveRaw("HTTP/1.0", "GET /f.html HTTP/1.0\r\n\r\n"),
		},
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}
