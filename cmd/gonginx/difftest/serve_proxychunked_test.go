package difftest

import (
	"testing"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// A backend's chunked response read at once reaches the client as one
// chunk (nginx's pipe passes the chunks of a read in one chain, the
// chunked filter makes one chunk of it), buffered or not; extensions and
// trailers are dropped; an HTTP/1.0 client gets the data alone. The log's
// $body_bytes_sent counts the client's chunk framing, so it shows how the
// body was chunked (the harness compares bodies decoded). A body within
// proxy_buffers, read whole before anything is written, is one chunk;
// unbuffered, each read of proxy_buffer_size is one. Bodies larger than
// proxy_buffers are left out: nginx's pipe then writes what its busy
// buffers allow, which the client's and backend's timing decide.
func TestServeProxyChunked(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	const locations = `
    location = /logs/bbs.log { root .; access_log off; }
    location /b/ { proxy_pass http://{{BACKEND}}/; }
    location /u/ { proxy_pass http://{{BACKEND}}/; proxy_buffering off; }
    location /k/ {
        proxy_pass http://{{BACKEND}}/;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
    }
`
	get10 := func(name, target string) harness.Request {
		return serveRaw(name, "GET "+target+" HTTP/1.0\r\nHost: localhost\r\n\r\n")
	}
	c := serveProxyCase("chunked responses", `log_format bbs "$request $status $body_bytes_sent";
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    access_log logs/bbs.log bbs;
`+locations+`}
`,
		plainGet("three chunks in one write", "/b/chunked"),
		plainGet("extensions and trailers", "/b/chunk-ext"),
		plainGet("HTTP/1.1 to the backend", "/k/chunked"),
		plainGet("a body of a few reads, within proxy_buffers", "/b/made?n=20000&chunked=1"),
		plainGet("within proxy_buffers, with a length", "/b/made?n=20000"),
		get10("HTTP/1.0 client", "/b/chunked"),
		get10("HTTP/1.0 client, extensions", "/b/chunk-ext"),
		plainGet("unbuffered", "/u/chunked"),
		plainGet("unbuffered, extensions and trailers", "/u/chunk-ext"),
		plainGet("unbuffered, a chunk per proxy_buffer_size read", "/u/made?n=20000&chunked=1"),
		plainGet("unbuffered, a body until close", "/u/made?n=20000&nolength=1"),
		get10("unbuffered, HTTP/1.0 client", "/u/chunked"),
		plainGet("log", "/logs/bbs.log"),
	)
	c.Content = map[string]string{"logs/.keep": ""}
	harness.Compare(t, c, want, got, serveAssets(t))

	// HTTP/2: a read's chunks go on as one DATA frame.
	h := "Host: localhost\r\n"
	h2get := func(name, target string) harness.Request {
		return harness.Request{Name: name, H2: true, Send: []string{"GET " + target + " HTTP/1.1\r\n" + h + "\r\n"}}
	}
	c2 := serveProxyCase("chunked responses, HTTP/2", `log_format bbs "$request $status $body_bytes_sent";
server {
    listen 127.0.0.1:{{PORT}} http2;
    server_name localhost;
    access_log logs/bbs.log bbs;
`+locations+`}
`,
		h2get("three chunks in one write", "/b/chunked"),
		h2get("extensions and trailers", "/b/chunk-ext"),
		h2get("unbuffered", "/u/chunked"),
		h2get("log", "/logs/bbs.log"),
	)
	c2.Content = map[string]string{"logs/.keep": ""}
	harness.Compare(t, c2, want, got, serveAssets(t))
}
