package difftest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// The response directives of real configs at every level they may be
// written (http, server, location, nested location, "if" in a location
// and in a server), compared with nginx 1.22: add_header (a level with
// any replaces every inherited one, "always"), expires, etag,
// if_modified_since and max_ranges, each inherited on its own.

// hostGet is a GET to a named server of the case, with extra header lines.
func hostGet(name, host, target string, extra ...string) harness.Request {
	h := ""
	for _, x := range extra {
		h += x + "\r\n"
	}
	return serveRaw(name, "GET "+target+" HTTP/1.1\r\nHost: "+host+"\r\nConnection: close\r\n"+h+"\r\n")
}

const (
	imsExact  = "If-Modified-Since: Tue, 02 Jan 2024 03:04:05 GMT" // harness.FixedTime
	imsLater  = "If-Modified-Since: Wed, 03 Jan 2024 00:00:00 GMT"
	imsBefore = "If-Modified-Since: Mon, 01 Jan 2024 00:00:00 GMT"
)

func TestServeHeadersInheritance(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{
		Name: "headers inheritance",
		// The fragment's top level is nginx's http block.
		Config: `add_header X-Http "http $uri";
expires max;
etag off;
if_modified_since before;
max_ranges 1;
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    root html;
    location / { }
    location /own/ { add_header X-Own o; expires epoch; }
    location /if/ {
        if ($arg_a) { }
        if ($arg_b) { add_header X-If-B b; }
        if ($arg_c) { expires off; }
    }
    location /ifown/ {
        add_header X-Loc l;
        add_header X-Loc-Always la always;
        if ($arg_a) { set $x 1; }
        if ($arg_b) { add_header X-If-B b always; }
    }
    location /nest/ {
        add_header X-Nest n;
        etag on;
        location /nest/in/ { }
        location /nest/own/ {
            add_header X-Inner i;
            expires off;
            if_modified_since exact;
            max_ranges 0;
        }
    }
    location /up/ { proxy_pass http://{{BACKEND}}/; }
    location /ret/ { return 200 "ret\n"; }
    location /imsoff/ {
        if_modified_since off;
        location /imsoff/nolm/ { add_header Last-Modified ""; add_header ETag ""; if_modified_since exact; }
    }
    location /ifproxy/ {
        add_header X-L l;
        if ($arg_a) { add_header X-I i; expires epoch; proxy_pass http://{{BACKEND}}; }
        if ($arg_b) { proxy_pass http://{{BACKEND}}; }
        return 200 "no if\n";
    }
    location ~ ^/re/ {
        add_header X-Re r;
        location ~ ^/re/in/ { if ($arg_a) { add_header X-Re-If ri always; } return 404; }
        return 200 "re\n";
    }
    location /special/ {
        add_header Content-Type text/x-added;
        add_header Content-Length 1;
        add_header Server added;
        add_header Date added;
        add_header Location /added;
        add_header Connection added;
        add_header Transfer-Encoding added;
        add_header Accept-Ranges added;
        add_header Content-Encoding added;
        add_header Vary added;
        add_header WWW-Authenticate added;
        add_header x-lower l;
        add_header X-Sent "[$sent_http_content_type] [$sent_http_location] [$sent_http_server] [$sent_http_date]";
    }
    location /trailer/ {
        add_trailer X-T t;
        if ($arg_a) { add_trailer X-If-T it; }
        if ($arg_b) { }
    }
    location /s/ {
        add_header Cache-Control foo;
        add_header Cache-Control bar;
        add_header Link "</a>";
        add_header Link "</b>";
        add_header Foo foo;
        add_header Foo bar;
        add_header X-Sent-CC $sent_http_cache_control;
        add_header X-Sent-Link $sent_http_link;
        add_header X-Sent-Foo $sent_http_foo;
        add_header X-Sent-Expires $sent_http_expires;
        add_header X-Sent-Later $sent_http_x_later;
        add_header X-Later later;
        return 204;
    }
}
server {
    listen 127.0.0.1:{{PORT}};
    server_name srv;
    root html;
    add_header X-Srv s;
    expires epoch;
    etag on;
    if_modified_since exact;
    # add_header and expires are not allowed in a server's "if".
    if ($arg_s) { set $srv_if 1; }
    location / { }
    location /loc/ { add_header X-Loc2 l; expires off; etag off; max_ranges 2; }
    location /ifloc/ { if ($arg_a) { expires max; } }
}
`,
		Content: map[string]string{
			"html/f.txt":          "0123456789\n",
			"html/own/f.txt":      "0123456789\n",
			"html/if/f.txt":       "0123456789\n",
			"html/ifown/f.txt":    "0123456789\n",
			"html/nest/f.txt":     "0123456789\n",
			"html/nest/in/f.txt":  "0123456789\n",
			"html/nest/own/f.txt": "0123456789\n",
			"html/loc/f.txt":      "0123456789\n",
			"html/imsoff/f.txt":   "0123456789\n",
			"html/imsoff/nolm/f":  "0123456789\n",
			"html/trailer/f.txt":  "0123456789\n",
			"html/special/f.txt":  "0123456789\n",
			"html/ifloc/f.txt":    "0123456789\n",
		},
		Requests: []harness.Request{
			hostGet("http level", "localhost", "/f.txt"),
			hostGet("http level 404", "localhost", "/nope"),
			hostGet("http level ims exact", "localhost", "/f.txt", imsExact),
			hostGet("http level ims later (before)", "localhost", "/f.txt", imsLater),
			hostGet("http level ims earlier", "localhost", "/f.txt", imsBefore),
			hostGet("http level one range", "localhost", "/f.txt", "Range: bytes=0-1"),
			hostGet("http level two ranges", "localhost", "/f.txt", "Range: bytes=0-1,4-5"),
			hostGet("location replaces", "localhost", "/own/f.txt"),
			hostGet("if inherits", "localhost", "/if/f.txt?a=1"),
			hostGet("if replaces", "localhost", "/if/f.txt?b=1"),
			hostGet("if expires off", "localhost", "/if/f.txt?c=1"),
			hostGet("if not taken", "localhost", "/if/f.txt"),
			hostGet("location level", "localhost", "/ifown/f.txt"),
			hostGet("location level 404", "localhost", "/ifown/nope"),
			hostGet("if inherits location's", "localhost", "/ifown/f.txt?a=1"),
			hostGet("if inherits location's 404", "localhost", "/ifown/nope?a=1"),
			hostGet("if replaces location's", "localhost", "/ifown/f.txt?b=1"),
			hostGet("if replaces location's 404", "localhost", "/ifown/nope?b=1"),
			hostGet("nested location level", "localhost", "/nest/f.txt"),
			hostGet("nested inherits", "localhost", "/nest/in/f.txt"),
			hostGet("nested inherits ims", "localhost", "/nest/in/f.txt", imsLater),
			hostGet("nested own", "localhost", "/nest/own/f.txt"),
			hostGet("nested own ims exact", "localhost", "/nest/own/f.txt", imsExact),
			hostGet("nested own ims later", "localhost", "/nest/own/f.txt", imsLater),
			hostGet("nested own range", "localhost", "/nest/own/f.txt", "Range: bytes=0-1"),
			hostGet("proxied", "localhost", "/up/caching"),
			hostGet("return", "localhost", "/ret/x"),
			hostGet("proxied range", "localhost", "/up/caching", "Range: bytes=0-1"),
			hostGet("proxied if-modified-since", "localhost", "/up/caching", "If-Modified-Since: Mon, 28 Sep 1970 06:00:00 GMT"),
			hostGet("proxied if-none-match", "localhost", "/up/caching", `If-None-Match: "up"`),
			hostGet("return range", "localhost", "/ret/x", "Range: bytes=0-1"),
			serveRaw("HTTP/1.0 if", "GET /ifown/f.txt?b=1 HTTP/1.0\r\n\r\n"),
			serveRaw("HEAD if 404", "HEAD /ifown/nope?b=1 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
			hostGet("$sent_http_ of add_header's own lines", "localhost", "/s/"),
			hostGet("if_modified_since off", "localhost", "/imsoff/f.txt", imsExact),
			hostGet("if_modified_since off, if-unmodified-since", "localhost", "/imsoff/f.txt", "If-Unmodified-Since: Mon, 01 Jan 2024 00:00:00 GMT"),
			hostGet("if_modified_since off, if-none-match", "localhost", "/imsoff/f.txt", `If-None-Match: "65937d25-b"`),
			hostGet("Last-Modified removed, still compared", "localhost", "/imsoff/nolm/f", imsExact),
			hostGet("max_ranges 1 with if-range", "localhost", "/f.txt", "Range: bytes=0-1,4-5", "If-Range: Tue, 02 Jan 2024 03:04:05 GMT"),
			hostGet("add_trailer inherited by if", "localhost", "/trailer/f.txt?b=1"),
			hostGet("headers nginx writes itself, added again", "localhost", "/special/f.txt"),
			hostGet("headers nginx writes itself, added again, range", "localhost", "/special/f.txt", "Range: bytes=0-1"),
			hostGet("headers nginx writes itself, added again, redirect", "localhost", "/special"),
			hostGet("proxy_pass in an if with its own headers", "localhost", "/ifproxy/caching?a=1"),
			hostGet("proxy_pass in an if inheriting", "localhost", "/ifproxy/caching?b=1"),
			hostGet("if not taken, return", "localhost", "/ifproxy/caching"),
			hostGet("regex location", "localhost", "/re/x"),
			hostGet("nested regex location inherits", "localhost", "/re/in/x"),
			hostGet("nested regex location's if, always", "localhost", "/re/in/x?a=1"),
			hostGet("add_trailer replaced in if", "localhost", "/trailer/f.txt?a=1"),
			hostGet("add_trailer 404 in if", "localhost", "/trailer/nope?a=1"),
			hostGet("server level", "srv", "/f.txt"),
			hostGet("server level ims later", "srv", "/f.txt", imsLater),
			hostGet("server level ims exact", "srv", "/f.txt", imsExact),
			hostGet("http level ims in the future", "localhost", "/f.txt", "If-Modified-Since: Fri, 01 Jan 2100 00:00:00 GMT"),
			hostGet("http level ims invalid", "localhost", "/f.txt", "If-Modified-Since: yesterday"),
			hostGet("http level ims with a length", "localhost", "/f.txt", imsExact+"; length=11"),
			hostGet("http level ims in RFC 850 form", "localhost", "/f.txt", "If-Modified-Since: Tuesday, 02-Jan-24 03:04:05 GMT"),
			hostGet("http level ims in asctime form", "localhost", "/f.txt", "If-Modified-Since: Tue Jan  2 03:04:05 2024"),
			hostGet("server level ims with a length", "srv", "/f.txt", imsExact+"; length=11"),
			hostGet("server level if-none-match", "srv", "/f.txt", `If-None-Match: "65937d25-b"`),
			hostGet("server if left by the location", "srv", "/f.txt?s=1"),
			hostGet("server level location", "srv", "/loc/f.txt"),
			hostGet("server level location two ranges", "srv", "/loc/f.txt", "Range: bytes=0-1,4-5"),
			hostGet("server level location three ranges", "srv", "/loc/f.txt", "Range: bytes=0-1,4-5,7-8"),
			hostGet("server level if in location", "srv", "/ifloc/f.txt?a=1"),
			hostGet("server level 404", "srv", "/nope"),
		},
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// Which statuses add_header (without "always") and expires apply to,
// for return, return with text, and proxied responses; and add_trailer's
// statuses.
func TestServeHeadersStatuses(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	codes := []int{200, 201, 202, 204, 206, 301, 302, 303, 304, 307, 308, 400, 401, 403, 404, 405, 410, 429, 500, 502, 503, 504}
	var locs strings.Builder
	var reqs []harness.Request
	for _, code := range codes {
		fmt.Fprintf(&locs, "    location = /r/%d { return %d; }\n", code, code)
		fmt.Fprintf(&locs, "    location = /t/%d { return %d \"text\"; }\n", code, code)
		reqs = append(reqs,
			plainGet(fmt.Sprintf("return %d", code), fmt.Sprintf("/r/%d", code)),
			plainGet(fmt.Sprintf("return %d text", code), fmt.Sprintf("/t/%d", code)),
			plainGet(fmt.Sprintf("proxied %d", code), fmt.Sprintf("/up/status/%d", code)),
		)
	}
	reqs = append(reqs,
		plainGet("error_page =200", "/ep/x"),
		plainGet("$status in return text", "/st/"),
		plainGet("$status in an error page's return text", "/epst/x"),
		plainGet("$status in an error page =200", "/epst200/x"),
		plainGet("$status in an error page =302", "/epst302/x"),
		plainGet("$status set in rewrite", "/setst/"),
		plainGet("error_page to a proxied 201", "/ep201/x"),
		plainGet("intercepted 404", "/int/status/404"),
		serveRaw("HEAD 404", "HEAD /r/404 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
		serveRaw("HTTP/1.0 500", "GET /r/500 HTTP/1.0\r\n\r\n"),
		serveRaw("400: no Host", "GET /r/200 HTTP/1.1\r\n\r\n"),
		serveRaw("400: bad request line", "GET /r/200 HTTP/1.1 x\r\nHost: localhost\r\n\r\n"),
		serveRaw("400: bad header", "GET /r/200 HTTP/1.1\r\nHost: localhost\r\nBad Header\r\n\r\n"),
		serveRaw("414", "GET /"+strings.Repeat("u", 9000)+" HTTP/1.1\r\nHost: localhost\r\n\r\n"),
		serveRaw("494", "GET /r/200 HTTP/1.1\r\nHost: localhost\r\nX-Big: "+strings.Repeat("h", 9000)+"\r\n\r\n"),
		serveRaw("501 transfer-encoding", "GET /r/200 HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: gzip\r\n\r\n"),
		serveRaw("405 to a static file", "POST /static.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx"),
	)
	c := harness.Case{
		Name: "headers statuses",
		Config: `log_format st "$status $request_method";
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    access_log logs/st.log st;
    add_header X-Safe s;
    add_header X-Always a always;
    add_header X-Status $status always;
    expires epoch;
    add_trailer X-Trailer t;
    add_trailer X-Trailer-Always ta always;
` + locs.String() + `    location /up/ { proxy_pass http://{{BACKEND}}/; }
    location /int/ { proxy_pass http://{{BACKEND}}/; proxy_intercept_errors on; error_page 404 =200 /t/200; }
    location /ep/ { error_page 404 =200 /t/404; }
    location /ep201/ { error_page 404 = /up/status/201; }
    location /st/ { return 200 "status=$status\n"; }
    location /epst/ { error_page 404 /st/; }
    location /epst200/ { error_page 404 =200 /st/; }
    location /epst302/ { error_page 404 =302 /st/; }
    location /setst/ { set $s $status; add_header X-Set $s always; return 200 "$s\n"; }
}
`,
		Content:        map[string]string{"html/static.txt": "static\n", "logs/.keep": ""},
		AccessLogFiles: []string{"logs/st.log"},
		Requests:       reqs,
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// add_header, expires and add_trailer leave subrequests alone (nginx's
// headers filter passes them by): what an ssi include's own location
// adds is not in its $sent_http_*.
func TestServeHeadersSubrequest(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{
		Name: "headers in subrequests",
		Config: `server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    root html;
    location / { ssi on; add_header X-Main m; }
    location /inc/ {
        ssi on;
        add_header X-Sub s;
        expires max;
        add_trailer X-Sub-Trailer t;
    }
}
`,
		Content: map[string]string{
			"html/main.html":    `main:<!--#include virtual="/inc/sub.html" -->|<!--#echo var="sent_http_x_main" default="none" -->` + "\n",
			"html/inc/sub.html": `sub:<!--#echo var="sent_http_x_sub" default="none" -->,<!--#echo var="sent_http_expires" default="none" -->,<!--#echo var="sent_http_cache_control" default="none" -->` + "\n",
		},
		Requests: []harness.Request{
			plainGet("include", "/main.html"),
			plainGet("the included page itself", "/inc/sub.html"),
		},
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}
