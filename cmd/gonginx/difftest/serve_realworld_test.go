package difftest

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// Serving differences found by running configurations from public
// repositories under both servers, each reduced to the lines that show it.

// try_files is not inherited (ngx_http_try_files_module has no merge): a
// server-level try_files, as Rails and Redmine deployments write it,
// serves only requests no location matches; the named location it falls
// back to proxies without trying again, and a prefix location serves
// without trying at all. gonginx inherited it, so the named location
// tried again without end (stack overflow, the whole process gone).
func TestServeTryFilesNotInherited(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{
		Name: "try_files not inherited",
		Config: `server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    try_files $uri/index.html $uri @app;
    location /static/ { }
    location @app { proxy_pass http://{{BACKEND}}; }
}
`,
		Requests: []harness.Request{
			plainGet("a missing file goes to the named location once", "/users/1?x=y"),
			plainGet("a prefix location does not try", "/static/missing.css"),
		},
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// A proxy_pass URL with variables whose URI part is only arguments gets
// a "/" (ngx_http_proxy_eval), as Laravel Octane's published site writes
// "proxy_pass http://octane$suffix" with $suffix "?$query_string".
func TestServeProxyPassArgsOnlyURI(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{
		Name: "proxy_pass arguments-only URI",
		Config: `server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    location / {
        set $suffix "";
        if ($arg_a) { set $suffix ?$query_string; }
        proxy_pass http://{{BACKEND}}$suffix;
    }
}
`,
		Requests: []harness.Request{
			plainGet("arguments only", "/index.php?a=b"),
			plainGet("no arguments", "/index.php"),
		},
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// The proxy's Content-Length comes from the request's headers whether or
// not a body goes with it (ngx_http_proxy_create_request takes
// headers_in.content_length_n): proxy_pass_request_body off, as
// Discourse's avatar proxy writes it, and an auth_request subrequest,
// whose copy of the headers keeps the main request's length with an
// empty body (PeerTube's check-auth falls back to a named location that
// does not clear it). Such a backend waits for a body that never comes;
// the client gives up. The length also meets client_max_body_size in the
// subrequest's location. gonginx sent no Content-Length in both.
func TestServeBodylessContentLength(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{
		Name: "body-less Content-Length",
		Config: `server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    location = /auth { internal; proxy_pass http://{{BACKEND}}/auth-check; }
    location = /auth-cleared {
        internal;
        client_max_body_size 10;
        proxy_set_header Content-Length "";
        proxy_pass http://{{BACKEND}}/auth-check;
    }
    location /up/ { auth_request /auth; proxy_pass http://{{BACKEND}}; }
    location /small/ { auth_request /auth-cleared; proxy_pass http://{{BACKEND}}; }
    location /nobody/ { proxy_pass_request_body off; proxy_pass http://{{BACKEND}}; }
}
`,
	}
	post := func(name, target, te string, body string) harness.Request {
		h := "Content-Length: " + strconv.Itoa(len(body))
		if te != "" {
			h = "Transfer-Encoding: chunked"
			body = fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(body), body)
		}
		return serveRaw(name, "POST "+target+" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"+h+"\r\n\r\n"+body)
	}
	waiting := func(r harness.Request) harness.Request {
		r.AwaitRequests, r.HangUpAfter, r.Settle = 1, 200*time.Millisecond, 300*time.Millisecond
		return r
	}
	c.Requests = []harness.Request{
		waiting(post("auth_request: the subrequest says 5 bytes", "/up/a", "", "hello")),
		post("auth_request, chunked: no length in the subrequest", "/up/b", "chunked", "hello"),
		plainGet("auth_request, no body", "/up/c"),
		post("auth_request: Content-Length cleared", "/small/a", "", "hello"),
		post("auth_request: past the subrequest's client_max_body_size", "/small/b", "", "hello, more than ten bytes"),
		waiting(post("pass_request_body off: 5 bytes said, none sent", "/nobody/a", "", "hello")),
		waiting(post("pass_request_body off, chunked: the length read", "/nobody/b", "chunked", "hello")),
		plainGet("pass_request_body off, no body", "/nobody/c"),
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// Where a Location that proxy_redirect rewrote is written: nginx's HTTP/1
// header filter gives the Location its own place (before Connection) only
// to make a relative one absolute; an absolute one, or a relative one under
// absolute_redirect off, stays where the backend had it among its headers.
// The HTTP/2 filter writes any rewritten one in its own place. LinuxServer's
// SWAG proxy.conf, included by its hundreds of app sites, rewrites
// "http://" to "$scheme://"; gonginx wrote every rewritten Location in
// the HTTP/1 head's own place.
func TestServeProxyRedirectPlacement(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{
		Name: "proxy_redirect placement",
		Config: `server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    location /scheme/ { proxy_pass http://{{BACKEND}}; proxy_redirect http:// $scheme://; }
    location /https/ { proxy_pass http://{{BACKEND}}; proxy_redirect http:// https://; }
    location /rel/ { proxy_pass http://{{BACKEND}}; proxy_redirect http://127.0.0.1:{{BACKEND_PORT}}/ /; }
    location /relkept/ {
        absolute_redirect off;
        proxy_pass http://{{BACKEND}};
        proxy_redirect http://127.0.0.1:{{BACKEND_PORT}}/ /;
    }
    location /none/ { proxy_pass http://{{BACKEND}}; }
}
`,
	}
	const between = "/made?status=302&h=X-Before:1&h=Location:http://127.0.0.1:{{BACKEND_PORT}}/x&h=X-After:2"
	for _, p := range []string{"scheme", "https", "rel", "relkept", "none"} {
		c.Requests = append(c.Requests,
			plainGet(p, "/"+p+"/redirect"),
			plainGet(p+", between other headers", "/"+p+between))
	}
	harness.Compare(t, c, want, got, serveAssets(t))
	t.Run("h2", func(t *testing.T) {
		h2 := c
		h2.Config = strings.Replace(c.Config, "listen 127.0.0.1:{{PORT}};", "listen 127.0.0.1:{{PORT}} http2;", 1)
		h2.Requests = nil
		for _, r := range c.Requests {
			r.H2 = true
			r.Send = []string{strings.Replace(r.Send[0], "Connection: close\r\n", "", 1)}
			h2.Requests = append(h2.Requests, r)
		}
		harness.Compare(t, h2, want, got, serveAssets(t))
	})
}
