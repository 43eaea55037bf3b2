package difftest

import (
	"strings"
	"testing"
	"time"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// http2Config serves the same locations over cleartext HTTP/2 ("listen ...
// http2", prior knowledge) and, in TestServeHTTP2TLS, over TLS with ALPN.
const http2Config = `map $status $bbs { ~^2 $body_bytes_sent; default page; }
log_format h2 "$request $status $http2 $server_protocol $request_length $bbs $content_length [$http_cookie]";
server {
    listen 127.0.0.1:{{PORT}} LISTEN;
    server_name www.my-api.com;
    SSL
    access_log logs/h2.log h2;
    client_max_body_size 1k;
    location / {
        add_header X-Cookie "$http_cookie";
        return 200 "h2=$http2 proto=$server_protocol req=$request host=$host uri=$uri args=$args\n";
    }
    location /html/ {
        root .;
    }
    location /gzip/ {
        gzip on;
        gzip_min_length 0;
        gzip_types text/plain;
        return 200 "` + "compressible " + `compressible compressible\n";
    }
    location /up/ {
        proxy_pass http://{{BACKEND}}/;
    }
    location /unbuffered/ {
        proxy_request_buffering off;
        proxy_http_version 1.1;
        proxy_pass http://{{BACKEND}}/;
    }
    location /redirect {
        return 301 /there;
    }
    location /missing {
        root .;
    }
}
`

func http2Requests() []harness.Request {
	h := "Host: www.my-api.com\r\n"
	get := func(target string) string { return "GET " + target + " HTTP/1.1\r\n" + h + "\r\n" }
	base := ":method: GET\r\n:scheme: http\r\n:path: /\r\n"
	return []harness.Request{
		{Name: "return", H2: true, Send: []string{get("/a?b=c")}},
		{Name: "several streams", H2: true, Send: []string{get("/x"), get("/html/index.html"), get("/missing/x")}},
		{Name: "head", H2: true, Send: []string{"HEAD /html/index.html HTTP/1.1\r\n" + h + "\r\n"}},
		{Name: "cookies", H2: true, Send: []string{"GET /c HTTP/1.1\r\n" + h + "Cookie: a=1\r\nCookie: b=2\r\n\r\n"}},
		{Name: "gzip", H2: true, Send: []string{"GET /gzip/ HTTP/1.1\r\n" + h + "Accept-Encoding: gzip\r\n\r\n"}},
		{Name: "redirect", H2: true, Send: []string{get("/redirect")}},
		{Name: "proxied", H2: true, Send: []string{"GET /up/headers HTTP/1.1\r\n" + h + "Cookie: a=1\r\nCookie: b=2\r\n\r\n"}},
		{Name: "proxied post", H2: true, Send: []string{"POST /up/post HTTP/1.1\r\n" + h + "Content-Length: 11\r\n\r\nhello=world"}},
		{Name: "proxied post without length", H2: true, Send: []string{"POST /up/post HTTP/1.1\r\n" + h + "\r\nhello=world"}},
		{Name: "unbuffered post without length", H2: true, Send: []string{"POST /unbuffered/post HTTP/1.1\r\n" + h + "\r\nhello=world"}},
		{Name: "body shorter than its length", H2: true, Send: []string{"POST /up/post HTTP/1.1\r\n" + h + "Content-Length: 20\r\n\r\nhello=world"}},
		{Name: "too large body", H2: true, Send: []string{"POST /up/post HTTP/1.1\r\n" + h + "Content-Length: 2000\r\n\r\n" + strings.Repeat("x", 2000)}},
		{Name: "too large body without length", H2: true, Send: []string{"POST /up/post HTTP/1.1\r\n" + h + "\r\n" + strings.Repeat("x", 2000)}},
		{Name: "no :authority", H2: true, Send: []string{base + "\r\n"}},
		{Name: "unknown pseudo-header", H2: true, Send: []string{base + ":authority: x\r\n:foo: bar\r\n\r\n"}},
		{Name: "no :scheme", H2: true, Send: []string{":method: GET\r\n:path: /\r\n:authority: x\r\n\r\n"}},
		{Name: "upper-case field name", H2: true, Send: []string{base + ":authority: x\r\nX-Foo: 1\r\n\r\n", get("/after")}},
		{Name: "invalid method", H2: true, Send: []string{":method: get\r\n:scheme: http\r\n:path: /\r\n:authority: x\r\n\r\n"}},
		{Name: "authority and host", H2: true, Send: []string{base + ":authority: x\r\nhost: y\r\n\r\n"}},
		// Streams after the connection idled past gonginx's grace (it
		// parked, with its HPACK table: the encoder indexes the fields).
		{Name: "streams after idle", H2: true, Send: []string{get("/i1?a=b"), get("/i2?a=b"), get("/up/headers")}, Pause: 300 * time.Millisecond},
		// The client leaves while the backend thinks: 499 in the log, the
		// backend's connection closed (nginx's check_broken_connection).
		{Name: "client gone while proxied", H2: true, Send: []string{get("/up/slow")}, AwaitRequests: 1, HangUpAfter: 100 * time.Millisecond},
	}
}

// HTTP/2 with prior knowledge on "listen ... http2": the same phases,
// filters, variables, proxy and log as HTTP/1, and nginx's answers to
// malformed requests (a 400, or RST_STREAM PROTOCOL_ERROR).
func TestServeHTTP2(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{
		Name:           "http2 cleartext",
		Config:         strings.NewReplacer("LISTEN", "http2", "SSL", "").Replace(http2Config),
		Files:          serveArticleFiles,
		Content:        map[string]string{"logs/.keep": ""},
		AccessLogFiles: []string{"logs/h2.log"},
		Requests:       append(http2Requests(), harness.Request{Name: "http/1 on an http2 port", Send: []string{"GET / HTTP/1.1\r\nHost: x\r\n\r\n"}}),
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// HTTP/2 over TLS, chosen by ALPN; a client that offers only http/1.1 gets
// HTTP/1.1 on the same socket.
func TestServeHTTP2TLS(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	reqs := http2Requests()
	h1 := tlsGet("http/1.1 by alpn", serveHost)
	h1.ALPN = []string{"http/1.1"}
	h1.ShowTLS = true
	c := harness.Case{
		Name:           "http2 tls",
		Config:         strings.NewReplacer("LISTEN", "ssl http2", "SSL", "ssl_certificate {{CERT}}; ssl_certificate_key {{KEY}};").Replace(http2Config),
		Files:          serveArticleFiles,
		Content:        map[string]string{"logs/.keep": ""},
		TLS:            true,
		SNI:            serveHost,
		AccessLogFiles: []string{"logs/h2.log"},
		Requests:       append(reqs, h1),
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}
