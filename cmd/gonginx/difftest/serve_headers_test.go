package difftest

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// add_header and expires (nginx's headers filter) over every kind of
// response: static files (200, 206, 304, 416), return, redirects, error
// pages and proxied responses whose backend sends its own Expires,
// Cache-Control, Last-Modified and ETag, and $upstream_http_* and
// $upstream_cookie_* in values. Header order is compared too.
func TestServeHeadersFilter(t *testing.T) {
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
		Name: "headers filter",
		Config: `server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    root html;
    add_header X-Srv "srv $uri";
    add_header X-Srv-Always a always;
    location / { }
    location /exp/ {
        expires epoch;
        add_header X-Loc l;
        add_header X-Empty "";
        if ($arg_if) {
            add_header X-If "if $arg_if" always;
        }
        location /exp/max/ { expires max; }
        location /exp/mod/ { expires modified 1h; }
        location /exp/neg/ { expires modified -10; }
        location /exp/var/ { expires $arg_e; }
    }
    location /etag/ {
        add_header ETag '"mine"';
        add_header Last-Modified "Mon, 28 Sep 1970 06:00:00 GMT";
        add_header Cache-Control private;
    }
    location /noetag/ {
        add_header ETag "";
        add_header Last-Modified "";
    }
    location /ret/ { return 200 "text\n"; }
    location /ret404 { return 404; }
    location /redir { expires max; return 301 /exp/; }
    location /ep/ { error_page 404 /exp/page.html; }
    location /ep302/ { error_page 404 =302 http://example.com/x; }
    location /up/ {
        proxy_pass http://{{BACKEND}}/;
        expires max;
        add_header Cache-Control private;
        add_header Link "</b>; rel=next";
        add_header ETag '"front"';
        add_header X-Up-Status $upstream_status always;
        # The try under way: no response time or length yet.
        add_header X-Up-Times "$upstream_response_time $upstream_response_length" always;
    }
    location /upmod/ {
        proxy_pass http://{{BACKEND}}/;
        expires modified 2048;
        add_header Last-Modified "";
    }
    location /upvar/ {
        proxy_pass http://{{BACKEND}}/;
        add_header X-Lower "$upstream_http_x_lower";
        add_header X-Mixed $upstream_http_x_mixed_case;
        add_header X-Cookie-B $upstream_cookie_b;
        add_header X-None "$upstream_http_nope";
    }
    location /upoff/ {
        proxy_pass http://{{BACKEND}}/;
        add_header X-Off o;
    }
}
`,
		Content: map[string]string{
			"html/f.txt":          "file\n",
			"html/exp/f.txt":      "exp\n",
			"html/exp/page.html":  "page\n",
			"html/exp/index.html": "index\n",
			"html/exp/max/f.txt":  "max\n",
			"html/exp/mod/f.txt":  "mod\n",
			"html/exp/neg/f.txt":  "neg\n",
			"html/exp/var/f.txt":  "var\n",
			"html/etag/f.txt":     "etag\n",
			"html/noetag/f.txt":   "noetag\n",
		},
		// A fixed mtime makes Last-Modified, ETag and "expires modified"
		// the same under both servers.
		Setup: func(dir string) error {
			mtime := time.Date(2001, 9, 9, 1, 46, 40, 0, time.UTC)
			return filepath.Walk(filepath.Join(dir, "html"), func(p string, _ os.FileInfo, err error) error {
				if err != nil {
					return err
				}
				return os.Chtimes(p, mtime, mtime)
			})
		},
		Requests: []harness.Request{
			get("server level", "/f.txt"),
			get("server level 404", "/nope"),
			get("location replaces server", "/exp/f.txt"),
			get("if block replaces location", "/exp/f.txt?if=1"),
			serveRaw("head", "HEAD /exp/f.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
			get("304", "/exp/f.txt", `If-None-Match: "3b9aca00-4"`),
			get("range", "/exp/f.txt", "Range: bytes=0-1"),
			get("multipart range", "/exp/f.txt", "Range: bytes=0-0,2-2"),
			get("416", "/exp/f.txt", "Range: bytes=100-"),
			get("416 in if", "/exp/f.txt?if=2", "Range: bytes=100-"),
			get("dir redirect", "/exp/max"),
			get("index", "/exp/"),
			get("nested max", "/exp/max/f.txt"),
			get("modified", "/exp/mod/f.txt"),
			get("modified negative", "/exp/neg/f.txt"),
			get("var epoch", "/exp/var/f.txt?e=epoch"),
			get("var max", "/exp/var/f.txt?e=max"),
			get("var off", "/exp/var/f.txt?e=off"),
			get("var invalid", "/exp/var/f.txt?e=bad"),
			get("var empty", "/exp/var/f.txt"),
			get("ETag and Last-Modified replaced", "/etag/f.txt"),
			get("ETag and Last-Modified removed", "/noetag/f.txt"),
			// The not-modified filter runs before add_header: it compares
			// the file's own ETag and time.
			get("if-none-match add_header's ETag", "/etag/f.txt", `If-None-Match: "mine"`),
			get("if-none-match the file's ETag", "/etag/f.txt", `If-None-Match: "3b9aca00-5"`),
			get("if-modified-since add_header's time", "/etag/f.txt", "If-Modified-Since: Mon, 28 Sep 1970 06:00:00 GMT"),
			get("if-none-match with ETag removed", "/noetag/f.txt", `If-None-Match: "3b9aca00-7"`),
			get("return text", "/ret/"),
			get("return 404", "/ret404"),
			get("return 301", "/redir"),
			get("error_page", "/ep/x"),
			get("error_page to URL", "/ep302/x"),
			get("proxied", "/up/caching"),
			get("proxied 404", "/up/status/404"),
			get("proxied 302", "/up/redirect"),
			get("proxied modified", "/upmod/caching"),
			get("proxied without expires", "/upoff/caching"),
			get("backend's headers as variables", "/upvar/headers"),
			{Name: "400 after a location's request on the connection", Send: []string{
				"GET /exp/f.txt?if=1 HTTP/1.1\r\nHost: localhost\r\n\r\n", "GET / HTTP/1.1\r\n\r\n"}, Responses: 2},
		},
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// add_trailer: a static file, return and a proxied response go out
// chunked with their trailers (values evaluated when the body ends,
// $sent_trailer_* seeing earlier ones), except for HTTP/1.0, HEAD,
// chunked_transfer_encoding off, and statuses where only "always" ones
// apply.
func TestServeTrailers(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	req := func(name, line string) harness.Request {
		return serveRaw(name, line+"\r\nHost: localhost\r\nConnection: close\r\n\r\n")
	}
	c := harness.Case{
		Name: "trailers",
		Config: `server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    root html;
    add_trailer X-Var $host;
    add_trailer X-Always "a $uri" always;
    add_trailer X-Empty "";
    add_trailer X-Sent $sent_trailer_x_var;
    add_header X-Head h;
    location / { }
    location /ret/ { return 200 "ret\n"; }
    location /nochunk/ { chunked_transfer_encoding off; }
    location /own/ { add_trailer X-Own o; }
    location /up/ {
        proxy_pass http://{{BACKEND}}/;
        add_trailer X-Up $upstream_http_x_lower;
        # Known once the body was read.
        add_trailer X-Len "$upstream_response_length $upstream_bytes_received";
    }
}
`,
		Content: map[string]string{"html/f.txt": "file\n", "html/nochunk/f.txt": "nochunk\n", "html/own/f.txt": "own\n"},
		Requests: []harness.Request{
			req("static", "GET /f.txt HTTP/1.1"),
			req("HTTP/1.0", "GET /f.txt HTTP/1.0"),
			req("HEAD", "HEAD /f.txt HTTP/1.1"),
			req("404: always only", "GET /nope HTTP/1.1"),
			req("return", "GET /ret/ HTTP/1.1"),
			req("chunked off", "GET /nochunk/f.txt HTTP/1.1"),
			req("own level", "GET /own/f.txt HTTP/1.1"),
			req("proxied", "GET /up/headers HTTP/1.1"),
			req("proxied chunked", "GET /up/chunked HTTP/1.1"),
			req("proxied 404", "GET /up/status/404 HTTP/1.1"),
		},
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}
