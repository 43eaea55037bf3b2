package location

import (
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// A backend's X-Accel-Redirect followed as nginx 1.22 does (checked
// against it by difftest's TestServeProxyAccelRedirect): the carried
// headers (not ETag or others; the type, whatever proxy_hide_header
// says), arguments of its own, named locations, the method, unsafe URIs,
// the cycle limit, a special response dropping the carried type and
// Accept-Ranges, X-Accel-Charset.
var contentLength = regexp.MustCompile(`Content-Length: \d+\r\n`)

func TestAccelRedirect(t *testing.T) {
	carried := "Set-Cookie: a=1\r\nContent-Disposition: attachment\r\nAccept-Ranges: parrots\r\nContent-Type: text/blah\r\nETag: \"e\"\r\nX-Other: x\r\n"
	tests := []struct {
		name, xar, request, want string
	}{
		{"a static file", "/files/a.txt", get("/p/"),
			"HTTP/1.1 200 OK\r\nServer: gonginx/0.1.0\r\nContent-Type: text/blah\r\nConnection: close\r\n" +
				"Set-Cookie: a=1\r\nContent-Disposition: attachment\r\nAccept-Ranges: parrots\r\nAccept-Ranges: bytes\r\n\r\na file\n"},
		{"args of its own, method GET", "/ret/x?a=1", "POST /p/?q=2 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\nhi",
			"HTTP/1.1 200 OK\r\nServer: gonginx/0.1.0\r\nContent-Type: text/blah\r\nConnection: close\r\n" +
				"Set-Cookie: a=1\r\nContent-Disposition: attachment\r\nAccept-Ranges: parrots\r\n\r\n/ret/x a=1 GET /p/?q=2 xar=/ret/x?a=1"},
		{"no args", "/ret/y", get("/p/?q=2"),
			"HTTP/1.1 200 OK\r\nServer: gonginx/0.1.0\r\nContent-Type: text/blah\r\nConnection: close\r\n" +
				"Set-Cookie: a=1\r\nContent-Disposition: attachment\r\nAccept-Ranges: parrots\r\n\r\n/ret/y  GET /p/?q=2 xar=/ret/y"},
		{"named", "@named", get("/p/"),
			"HTTP/1.1 200 OK\r\nServer: gonginx/0.1.0\r\nContent-Type: text/blah\r\nConnection: close\r\n" +
				"Set-Cookie: a=1\r\nContent-Disposition: attachment\r\nAccept-Ranges: parrots\r\n\r\nnamed /p/"},
		{"unsafe", "/ret/..", get("/p/"),
			"HTTP/1.1 404 Not Found\r\nServer: gonginx/0.1.0\r\nContent-Type: text/html\r\nConnection: close\r\n" +
				"Set-Cookie: a=1\r\nContent-Disposition: attachment\r\n\r\n" + string(mustPage(404))},
		// Eleven backends answered (ten redirects made, the eleventh refused);
		// the 500 drops only the last
		// Accept-Ranges (nginx's headers_out.accept_ranges).
		{"cycle", "/p/", get("/p/"),
			"HTTP/1.1 500 Internal Server Error\r\nServer: gonginx/0.1.0\r\nContent-Type: text/html\r\nConnection: close\r\n" +
				strings.Repeat("Set-Cookie: a=1\r\nContent-Disposition: attachment\r\nAccept-Ranges: parrots\r\n", 10) +
				"Set-Cookie: a=1\r\nContent-Disposition: attachment\r\n\r\n" + string(mustPage(500))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			backend := oneResponseBackend(t, "HTTP/1.1 200 OK\r\nX-Accel-Redirect: "+tt.xar+"\r\n"+carried+"\r\nbody")
			ts := startTest(t, `server { listen 127.0.0.1:PORT; root DIR/html;
  location /p/ { proxy_pass http://`+backend+`; proxy_hide_header Set-Cookie; }
  location /files/ { }
  location /ret/ { return 200 "$uri $args $request_method $request_uri xar=$upstream_http_x_accel_redirect"; }
  location @named { return 200 "named $uri"; }
}`)
			ts.file(t, "html/files/a.txt", "a file\n")
			got := contentLength.ReplaceAllString(ts.roundTrip(t, tt.request), "")
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

// X-Accel-Charset overrides the charset filter for what answers, with a
// charset the configuration names.
func TestAccelCharset(t *testing.T) {
	tests := []struct{ name, headers, wantType string }{
		{"known", "X-Accel-Charset: koi8-r\r\nContent-Type: text/plain\r\n", "text/plain; charset=koi8-r"},
		{"as the backend spells it", "X-Accel-Charset: KOI8-R\r\nContent-Type: text/plain\r\n", "text/plain; charset=KOI8-R"},
		{"unknown", "X-Accel-Charset: nonesuch\r\nContent-Type: text/plain\r\n", "text/plain"},
		{"the type's own, the same", "X-Accel-Charset: koi8-r\r\nContent-Type: text/plain; charset=\"koi8-r\"\r\n", "text/plain; charset=koi8-r"},
		{"the type's own, another", "X-Accel-Charset: koi8-r\r\nContent-Type: text/plain; charset=utf-8\r\n", "text/plain; charset=utf-8"},
		{"on a redirected file", "X-Accel-Charset: koi8-r\r\nX-Accel-Redirect: /files/a.txt\r\n", "text/plain; charset=koi8-r"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			backend := oneResponseBackend(t, "HTTP/1.1 200 OK\r\n"+tt.headers+"\r\nok")
			ts := startTest(t, `server { listen 127.0.0.1:PORT; root DIR/html;
  location /p/ { proxy_pass http://`+backend+`; }
  location /files/ { }
  location /cs/ { charset koi8-r; }
}`)
			ts.file(t, "html/files/a.txt", "a file\n")
			resp := ts.roundTrip(t, get("/p/"))
			got := ""
			for _, line := range strings.Split(resp, "\r\n") {
				if v, ok := strings.CutPrefix(line, "Content-Type: "); ok {
					got = v
				}
			}
			if d := cmp.Diff(tt.wantType, got); d != "" {
				t.Errorf("Content-Type (-want +got):\n%s\n%s", d, resp)
			}
		})
	}
}

func TestCharsetParam(t *testing.T) {
	tests := []struct{ in, base, charset string }{
		{"text/html", "text/html", ""},
		{"text/html; charset=utf-8", "text/html", "utf-8"},
		{"text/html;charset=\"utf-8\"", "text/html", "utf-8"},
		{"text/html; q=1; CHARSET=koi8-r", "text/html; q=1", "koi8-r"},
		{"text/html; q=1", "text/html; q=1", ""},
	}
	for _, tt := range tests {
		b, c, _ := charsetParam([]byte(tt.in))
		if d := cmp.Diff([2]string{tt.base, tt.charset}, [2]string{string(b), string(c)}); d != "" {
			t.Errorf("charsetParam(%q) (-want +got):\n%s", tt.in, d)
		}
	}
}
