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
	page := "/typed?ct=text/html&body=" + url.QueryEscape(`[<!--# include virtual="/sub/inc" -->|<!--# include virtual="/cl" -->]`)
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
    location = /cl { return 200 "$content_length"; }
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

// A subrequest of a request whose body was discarded (a return's, a
// static file's) counts what discarding left of it: nginx copies
// headers_in, whose Content-Length the discard filter counted down, so a
// proxied include sends "Content-Length: 0" once the body all came, and
// no body.
func TestServeSubrequestDiscardedBody(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := serveProxyCase("subrequest of a discarded body", `server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    location /ssi/ {
        ssi on;
        default_type text/html;
        return 200 '[<!--# include virtual="/sub/inc" -->|<!--# include virtual="/cl" -->|<!--# echo var="content_length" default="-" -->]';
    }
    location = /cl { return 200 "$content_length $http_content_length $http_transfer_encoding"; }
    location /add/ {
        add_before_body /sub/before;
        addition_types text/plain;
        default_type text/plain;
        return 200 main;
    }
    location /sub/ { proxy_pass http://{{BACKEND}}; }
}
`)
	post := func(name, target, body string) {
		c.Requests = append(c.Requests, serveRaw(name, "POST "+target+" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"+
			"Content-Type: text/plain\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"+body))
	}
	post("ssi include of a POST", "/ssi/", "abc")
	post("ssi include of a POST with an empty body", "/ssi/", "")
	post("addition of a POST", "/add/", "hello")
	c.Requests = append(c.Requests,
		serveRaw("ssi include of a chunked POST", "POST /ssi/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"+
			"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n"),
		serveRaw("addition of a chunked POST", "POST /add/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"+
			"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"),
		serveRaw("HEAD with a body", "HEAD /ssi/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: 3\r\n\r\nabc"),
		serveRaw("HEAD of an addition", "HEAD /add/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: 3\r\n\r\nabc"),
		plainGet("ssi include of a GET", "/ssi/"))
	harness.Compare(t, c, want, got, serveAssets(t))
}
