package upstream

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// X-Accel-* headers as nginx's upstream module reads them: a redirect is
// reported to the caller (location follows it) with nothing written and
// the backend's body dropped, after proxy_intercept_errors decided;
// proxy_ignore_headers turns each off; X-Accel-Limit-Rate and
// X-Accel-Charset apply to whatever answers. The backend connection is
// kept only when no body follows the head. Checked against nginx by
// TestServeProxyAccelRedirect and TestServeProxyAccelHeaders.
func TestProxyAccelHeaders(t *testing.T) {
	const keep = `proxy_pass http://u; proxy_http_version 1.1; proxy_set_header Connection "";`
	tests := []struct {
		name, response, location string
		wantBody                 string
		wantConns                int    // backend connections for two requests
		http                     string // more http{} directives
	}{
		{"redirect, body dropped", "HTTP/1.1 200 OK\r\nX-Accel-Redirect: /in?a=1\r\nContent-Length: 4\r\n\r\nbody",
			keep, "redirect to /in?a=1 charset= rate=0", 2, ""},
		{"redirect, 204 kept", "HTTP/1.1 204 No Content\r\nX-Accel-Redirect: /in\r\n\r\n",
			keep, "redirect to /in charset= rate=0", 1, ""},
		{"redirect, empty body kept", "HTTP/1.1 200 OK\r\nX-Accel-Redirect: /in\r\nContent-Length: 0\r\n\r\n",
			keep, "redirect to /in charset= rate=0", 1, ""},
		{"redirect, HTTP/1.0 not kept", "HTTP/1.0 204 No Content\r\nX-Accel-Redirect: /in\r\n\r\n",
			keep, "redirect to /in charset= rate=0", 2, ""},
		{"the first of two", "HTTP/1.1 200 OK\r\nX-Accel-Redirect: /one\r\nX-Accel-Redirect: /two\r\nContent-Length: 0\r\n\r\n",
			keep, "redirect to /one charset= rate=0", 1, ""},
		{"from a 500", "HTTP/1.1 500 Oops\r\nX-Accel-Redirect: @named\r\nContent-Length: 0\r\n\r\n",
			keep, "redirect to @named charset= rate=0", 1, ""},
		{"intercepted first", "HTTP/1.1 404 Not Found\r\nX-Accel-Redirect: /in\r\nContent-Length: 0\r\n\r\n",
			keep + " proxy_intercept_errors on; error_page 404 /e;", "", 1, ""},
		{"ignored", "HTTP/1.1 200 OK\r\nX-Accel-Redirect: /in\r\nContent-Length: 4\r\n\r\nbody",
			keep + " proxy_ignore_headers X-Accel-Redirect;", "body", 1, ""},
		{"ignored and passed", "HTTP/1.1 200 OK\r\nX-Accel-Redirect: /in\r\nContent-Length: 4\r\n\r\nbody",
			keep + " proxy_ignore_headers x-accel-redirect; proxy_pass_header X-Accel-Redirect;", "body", 1, ""},
		{"charset and rate", "HTTP/1.1 200 OK\r\nX-Accel-Redirect: /in\r\nX-Accel-Charset: koi8-r\r\nX-Accel-Limit-Rate: 50000\r\nX-Accel-Limit-Rate: 1k\r\nContent-Length: 0\r\n\r\n",
			keep, "redirect to /in charset=koi8-r rate=50000", 1, ""},
		{"ignored at the http level", "HTTP/1.1 200 OK\r\nX-Accel-Redirect: /in\r\nContent-Length: 4\r\n\r\nbody",
			keep, "body", 1, "proxy_ignore_headers X-Accel-Redirect;"},
		{"a level with its own replaces it", "HTTP/1.1 200 OK\r\nX-Accel-Redirect: /in\r\nContent-Length: 0\r\n\r\n",
			keep + " proxy_ignore_headers X-Accel-Charset;", "redirect to /in charset= rate=0", 1, "proxy_ignore_headers X-Accel-Redirect;"},
		{"charset and rate ignored", "HTTP/1.1 200 OK\r\nX-Accel-Redirect: /in\r\nX-Accel-Charset: koi8-r\r\nX-Accel-Limit-Rate: 50000\r\nContent-Length: 0\r\n\r\n",
			keep + " proxy_ignore_headers X-Accel-Charset; proxy_ignore_headers X-Accel-Limit-Rate;", "redirect to /in charset= rate=0", 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			be := newBackend(t, tt.response)
			ps := newProxyServer(t, "upstream u { server "+be.addr()+"; keepalive 2; } "+tt.http, tt.location, "/")
			ps.served = make(chan int, 2)
			var bodies []string
			for i := 0; i < 2; i++ {
				got := roundTrip(t, ps.ln.Addr().String(), "GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
				_, body, _ := strings.Cut(got, "\r\n\r\n")
				if strings.Contains(got, "X-Accel-Redirect") != strings.Contains(tt.location, "proxy_pass_header") {
					t.Errorf("X-Accel-Redirect shown to the client: %q", got)
				}
				bodies = append(bodies, body)
				<-ps.served
			}
			if diff := cmp.Diff([]string{tt.wantBody, tt.wantBody}, bodies); diff != "" {
				t.Errorf("client bodies (-want +got):\n%s", diff)
			}
			if got := be.connCount(); got != tt.wantConns {
				t.Errorf("backend connections = %d, want %d", got, tt.wantConns)
			}
		})
	}
}

func TestAtoi(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"12000", 12000, true}, {"", 0, false}, {"1k", 0, false}, {" 1", 0, false},
		{"-1", 0, false}, {"9223372036854775807", 1<<63 - 1, true}, {"9223372036854775808", 0, false},
	}
	for _, tt := range tests {
		n, ok := atoi([]byte(tt.in))
		if diff := cmp.Diff([2]any{tt.want, tt.ok}, [2]any{n, ok}); diff != "" {
			t.Errorf("atoi(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}
