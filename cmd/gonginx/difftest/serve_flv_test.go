package difftest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// The flv module, nginx vs gonginx: ?start=N (the FLV header, then the
// file from N), with ranges, HEAD, conditional requests, bad starts and
// methods.
func TestServeFLV(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	var body strings.Builder
	for i := 0; i < 100; i++ {
		fmt.Fprintf(&body, "X%03dXXXXXX", i)
	}
	get := func(name, target, extra string) harness.Request {
		return serveRaw(name, "GET "+target+" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"+extra+"\r\n")
	}
	c := harness.Case{Name: "flv", Config: `server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    location / { flv; }
    location /plain/ { alias html/; }
    # flv is the location's handler: not inherited by a nested location,
    # kept by an if block, lost to a limit_except block that applies
    # (nginx takes the handler from the block's configuration then).
    location /nest/ {
        alias html/;
        flv;
        location /nest/in/ { alias html/; }
        if ($arg_x) { }
    }
    location /lim/ {
        alias html/;
        flv;
        limit_except POST { allow all; }
    }
}
`,
		Content: map[string]string{"html/t.flv": body.String(), "html/d/index.html": "i\n"},
		Requests: []harness.Request{
			get("whole", "/t.flv", ""),
			get("start", "/t.flv?start=100", ""),
			get("start among other args", "/t.flv?a=1&START=990", ""),
			get("start past the end", "/t.flv?start=1000", ""),
			get("start not a number", "/t.flv?start=1x", ""),
			get("start zero", "/t.flv?start=0", ""),
			get("range in the header", "/t.flv?start=100", "Range: bytes=0-9\r\n"),
			get("suffix range", "/t.flv?start=100", "Range: bytes=-10\r\n"),
			get("two ranges", "/t.flv?start=100", "Range: bytes=0-4,20-29\r\n"),
			get("range past the header", "/t.flv?start=100", "Range: bytes=10-40\r\n"),
			get("if-none-match", "/t.flv?start=100", "If-None-Match: *\r\n"),
			serveRaw("HEAD", "HEAD /t.flv?start=100 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
			serveRaw("POST", "POST /t.flv HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx"),
			get("directory", "/d", ""),
			get("index", "/d/", ""),
			get("missing", "/none.flv?start=5", ""),
			// The flv handler discards the body (answering Expect) before
			// it opens the file.
			get("expect, missing", "/none.flv?start=5", "Content-Length: 5\r\nExpect: 100-continue\r\n\r\nhello"),
			get("expect, start", "/t.flv?start=100", "Content-Length: 5\r\nExpect: 100-continue\r\n\r\nhello"),
			get("not flv", "/plain/t.flv?start=100", ""),
			get("nested location: not flv", "/nest/in/t.flv?start=100", ""),
			get("if block: flv", "/nest/t.flv?start=100&x=1", ""),
			get("no if: flv", "/nest/t.flv?start=100", ""),
			get("limit_except: not flv", "/lim/t.flv?start=100", ""),
			serveRaw("limit_except passed: flv", "POST /lim/t.flv?start=100 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
		},
		ErrorMessages: true,
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}
