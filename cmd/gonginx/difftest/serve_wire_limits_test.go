package difftest

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// headerLimitRequests generates requests around the edges of nginx's header buffers: a request
// line or a header line near the large buffer size (414 / 400 "Request Header Or Cookie Too
// Large" past it), heads that need every large buffer, and counts around max_headers. Lines are
// never split across buffers, so where each line ends decides how many buffers a head takes.
func headerLimitRequests(rng *rand.Rand, small, large, n int) []harness.Request {
	var out []harness.Request
	add := func(name, uri string, headers []string) {
		var b strings.Builder
		b.WriteString("GET " + uri + " HTTP/1.1\r\nHost: a\r\n")
		for _, h := range headers {
			b.WriteString(h + "\r\n")
		}
		b.WriteString("Connection: close\r\n\r\n")
		out = append(out, serveRaw(name, b.String()))
	}
	// header builds one "X-N: vvv" line of exactly size bytes with its CRLF.
	header := func(i, size int) string {
		name := fmt.Sprintf("X-%d: ", i)
		if size-2 < len(name) {
			size = len(name) + 2
		}
		return name + strings.Repeat("v", size-2-len(name))
	}
	// The request line: "GET " + uri + " HTTP/1.1\r\n" is len(uri)+15 bytes.
	for _, d := range []int{-2, -1, 0, 1, 2} {
		add(fmt.Sprintf("request line %+d of large", d), "/"+strings.Repeat("u", large+d-16), nil)
	}
	// One header line around the large buffer size.
	for _, d := range []int{-1, 0, 1} {
		add(fmt.Sprintf("header line %+d of large", d), "/", []string{header(0, large+d)})
	}
	// Heads that fill the buffers: lines of one size, as many as fit and one more.
	for k := 0; k < 12; k++ {
		size := 20 + rng.Intn(large-20)
		count := (small+n*large)/size - 2 + rng.Intn(5)
		var hs []string
		for i := 0; i < count; i++ {
			hs = append(hs, header(i, size))
		}
		add(fmt.Sprintf("%d lines of %d", count, size), "/", hs)
	}
	// Random line sizes.
	for k := 0; k < 12; k++ {
		var hs []string
		total := 0
		for i := 0; total < small+n*large; i++ {
			size := 8 + rng.Intn(large/2)
			hs = append(hs, header(i, size))
			total += size
		}
		cut := len(hs) - rng.Intn(len(hs)/2+1)
		add(fmt.Sprintf("random heads %d", k), "/", hs[:cut])
	}
	return out
}

// Header buffer accounting as nginx's ngx_http_alloc_large_header_buffer does it, and Debian
// nginx 1.22's max_headers (1000 by default): generated heads around every limit, under the
// default limits and small ones, compared status by status with nginx.
func TestServeWireHeaderLimits(t *testing.T) {
	t.Parallel()
	nginx := serveNginx(t)
	gonginx := serveUnderTest(t)
	rng := rand.New(rand.NewSource(1))
	configs := []struct {
		name                string
		directives          string
		small, large, count int
	}{
		{"defaults", "", 1024, 8192, 4},
		{"small buffers", "client_header_buffer_size 100; large_client_header_buffers 3 512;", 100, 512, 3},
		{"odd sizes", "client_header_buffer_size 333; large_client_header_buffers 2 1000; max_headers 20;", 333, 1000, 2},
	}
	for _, cf := range configs {
		t.Run(cf.name, func(t *testing.T) {
			reqs := headerLimitRequests(rng, cf.small, cf.large, cf.count)
			if cf.name == "defaults" {
				for _, n := range []int{998, 999, 1200} {
					hs := make([]string, n)
					for i := range hs {
						hs[i] = fmt.Sprintf("X-H-%d: v", i)
					}
					reqs = append(reqs, serveRaw(fmt.Sprintf("%d headers", n+2),
						"GET / HTTP/1.1\r\nHost: a\r\n"+strings.Join(hs, "\r\n")+"\r\nConnection: close\r\n\r\n"))
				}
			}
			c := harness.Case{Name: "limits", Config: `server {
    listen 127.0.0.1:{{PORT}};
    ` + cf.directives + `
    location / { return 200 "ok\n"; }
}
`, Requests: reqs}
			harness.Compare(t, c, nginx, gonginx, serveAssets(t))
		})
	}
}

// The header limits of the server a request's host selects apply from the line after the one
// that names it (the request line's absolute URI, else the Host header), as nginx reads
// large_client_header_buffers, max_headers, underscores_in_headers and ignore_invalid_headers
// from r->srv_conf once ngx_http_set_virtual_server switched it; client_header_buffer_size is
// always the default server's.
func TestServeWireHeaderLimitsByHost(t *testing.T) {
	t.Parallel()
	nginx := serveNginx(t)
	gonginx := serveUnderTest(t)
	line := func(i, size int) string {
		name := fmt.Sprintf("X-%d: ", i)
		return name + strings.Repeat("v", size-2-len(name)) + "\r\n"
	}
	lines := func(n, size int) string {
		var b strings.Builder
		for i := 0; i < n; i++ {
			b.WriteString(line(i, size))
		}
		return b.String()
	}
	req := func(name, target, host, headers string) harness.Request {
		return serveRaw(name, "GET "+target+" HTTP/1.1\r\nHost: "+host+"\r\n"+headers+"Connection: close\r\n\r\n")
	}
	c := harness.Case{Name: "by host", Config: `server {
    listen 127.0.0.1:{{PORT}} default_server;
    client_header_buffer_size 200;
    large_client_header_buffers 2 600;
    max_headers 10;
    location / { return 200 "default $http_x_u\n"; }
}
server {
    listen 127.0.0.1:{{PORT}};
    server_name big;
    large_client_header_buffers 4 2k;
    max_headers 50;
    underscores_in_headers on;
    location / { return 200 "big $http_x_u\n"; }
}
`, Requests: []harness.Request{
		req("default: a 700-byte line", "/", "small", line(0, 700)),
		req("big: a 700-byte line", "/", "big", line(0, 700)),
		req("big: a 700-byte line before Host", "/", "big", "")},
	}
	c.Requests[2].Send[0] = "GET / HTTP/1.1\r\n" + line(0, 700) + "Host: big\r\nConnection: close\r\n\r\n"
	c.Requests = append(c.Requests,
		req("default: 20 headers", "/", "small", lines(20, 30)),
		req("big: 20 headers", "/", "big", lines(20, 30)),
		req("big: 60 headers", "/", "big", lines(60, 30)),
		req("default: 3 buffers' worth", "/", "small", lines(3, 590)),
		req("big: 3 buffers' worth", "/", "big", lines(3, 590)),
		req("big: 6 KB", "/", "big", lines(12, 500)),
		req("big: underscore", "/", "big", "X_U: under\r\n"),
		req("default: underscore", "/", "small", "X_U: under\r\n"),
		serveRaw("absolute URI selects big", "GET http://big/ HTTP/1.1\r\nHost: small\r\n"+line(0, 700)+"Connection: close\r\n\r\n"),
		serveRaw("absolute URI selects default", "GET http://small/ HTTP/1.1\r\nHost: big\r\n"+line(0, 700)+"Connection: close\r\n\r\n"),
	)
	harness.Compare(t, c, nginx, gonginx, serveAssets(t))
}
