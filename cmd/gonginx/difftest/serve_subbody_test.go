package difftest

import (
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// A subrequest (an ssi include, an addition) of a request whose body
// was read is a GET with its parent's headers and body: proxied, the
// backend gets the parent's Content-Length and body, from memory or from
// the temp file, a chunked body counted (ngx_http_subrequest shares
// r->request_body and copies headers_in).
func TestServeSubrequestBody(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	page := "/typed?ct=text/html&body=" + url.QueryEscape(`[<!--# include virtual="/sub/inc" -->]`)
	c := serveProxyCase("subrequest body", `server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    location /ssi/ {
        ssi on;
        proxy_pass http://{{BACKEND}}`+page+`;
    }
    location /small/ {
        ssi on;
        client_body_buffer_size 16;
        proxy_pass http://{{BACKEND}}`+page+`;
    }
    location /add/ {
        add_before_body /sub/before;
        addition_types text/plain;
        proxy_pass http://{{BACKEND}}/typed?ct=text/plain&body=main;
    }
    location /sub/ { proxy_pass http://{{BACKEND}}; }
}
`)
	post := func(name, target, body string) {
		c.Requests = append(c.Requests, serveRaw(name, "POST "+target+" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"+
			"Content-Type: text/plain\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"+body))
	}
	post("ssi include of a POST", "/ssi/", "abc")
	post("ssi include of a body in a temp file", "/small/", strings.Repeat("0123456789", 10))
	post("addition of a POST", "/add/", "hello")
	c.Requests = append(c.Requests,
		serveRaw("ssi include of a chunked POST", "POST /ssi/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"+
			"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n"),
		plainGet("ssi include of a GET", "/ssi/"))
	harness.Compare(t, c, want, got, serveAssets(t))
}
