package difftest

import (
	"testing"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// Directives of the core module that shape every response, compared
// with nginx 1.22 at each level they may be written: server_tokens,
// chunked_transfer_encoding, types and default_type, index, stub_status.
// (gonginx names itself "gonginx" where nginx says "nginx"; the harness
// keeps only whether the token carries a version.)

func TestServeServerTokens(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{
		Name: "server_tokens",
		Config: `server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    location / { return 200 "on\n"; }
    location /off/ { server_tokens off; }
    location /build/ { server_tokens build; }
    location /ep/ { server_tokens off; error_page 404 /on404; }
    location /on404 { return 404; }
    location /up/ { server_tokens off; proxy_pass http://{{BACKEND}}/; }
    location /var/ { server_tokens off; add_header X-Server "[$sent_http_server]"; return 200 "x\n"; }
}
server {
    listen 127.0.0.1:{{PORT}};
    server_name off;
    server_tokens off;
    location / { }
    location /on/ { server_tokens on; }
    location /redir { return 301 /elsewhere; }
}
`,
		Requests: []harness.Request{
			plainGet("on", "/"),
			plainGet("on 404", "/nope/"),
			plainGet("off 404", "/off/x"),
			plainGet("build 404", "/build/x"),
			plainGet("off: error_page to a location with it on", "/ep/x"),
			plainGet("off proxied", "/up/status/500"),
			plainGet("$sent_http_server", "/var/"),
			hostGet("server off 404", "off", "/x"),
			hostGet("server off, location on", "off", "/on/x"),
			hostGet("server off redirect", "off", "/redir"),
			serveRaw("server off HEAD 404", "HEAD /x HTTP/1.1\r\nHost: off\r\nConnection: close\r\n\r\n"),
			serveRaw("HTTP/0.9 on", "GET /nope/\r\n"),
			serveRaw("HTTP/0.9 off", "GET /off/x\r\n"),
			serveRaw("400 in the default server", "GET / HTTP/1.1\r\n\r\n"),
			serveRaw("400 in server off", "GET /x HTTP/1.1\r\nHost: off\r\nHost: off\r\n\r\n"),
		},
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// chunked_transfer_encoding off at the server, on again in a location
// and through an "if": a body of unknown length then ends with the
// connection.
func TestServeChunkedTransferEncoding(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{
		Name: "chunked_transfer_encoding",
		Config: `server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    chunked_transfer_encoding off;
    location /up/ { proxy_pass http://{{BACKEND}}/; }
    location /on/ { chunked_transfer_encoding on; proxy_pass http://{{BACKEND}}/; }
    location /if/ {
        chunked_transfer_encoding on;
        if ($arg_a) { }
        proxy_pass http://{{BACKEND}}/;
    }
    location /ret/ { return 200 "ret\n"; }
    location /sub/ { sub_filter a b; proxy_pass http://{{BACKEND}}/; }
}
`,
		Requests: []harness.Request{
			plainGet("off: proxied chunked", "/up/chunked"),
			// A keep-alive request: the body's end is the connection's.
			// (Not pipelined: whether a request sent on behind it is
			// read and dropped or answered with a reset is a race.)
			serveRaw("off: proxied chunked, keep-alive asked", "GET /up/chunked HTTP/1.1\r\nHost: localhost\r\n\r\n"),
			plainGet("off: proxied with length", "/up/status/200"),
			plainGet("off: sub_filter drops the length", "/sub/status/200"),
			plainGet("on: proxied chunked", "/on/chunked"),
			plainGet("on through if", "/if/chunked?a=1"),
			serveRaw("HTTP/1.0", "GET /on/chunked HTTP/1.0\r\n\r\n"),
			plainGet("return", "/ret/"),
		},
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// types and default_type at the http (the fragment's top level: added to
// the stock mime.types, a duplicate extension replaced), server and
// location levels, a location's "if" inheriting them, and the type of
// return's text; index with several names, variables and an absolute
// last name.
func TestServeTypesAndIndex(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{
		Name: "types and index",
		Config: `types { text/x-http-level txt xyz; }
index first.html index.html;
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    root html;
    location / { }
    location /idx/ { index a.html b.html c.html; }
    location /idxvar/ { index $arg_i.html fallback.html; }
    location /idxabs/ { index missing.html /idxabs/target.txt; }
    location /idxvarabs/ { index $arg_i /idxvarabs/last.txt; }
    location /idxdir/ { index sub; }
    location /idxnone/ { index none.html; }
}
server {
    listen 127.0.0.1:{{PORT}};
    server_name srv;
    root html;
    types { text/x-srv txt; application/x-srv-html html; text/x-caps CAPS; }
    default_type text/x-srv-default;
    location / { }
    location /loc/ { types { text/x-loc txt; } }
    location /locdef/ { default_type text/x-loc-default; }
    location /empty/ { types { } default_type text/x-none; }
    location /if/ { types { text/x-iftype txt; } if ($arg_a) { } }
    location /ifret/ { default_type text/x-ifret; if ($arg_a) { return 200 "if\n"; } }
    location /ret/ { types { text/x-r txt; } return 200 "r\n"; }
    # An "if" block inherits every setting of its location.
    location /all/ {
        alias html/allsrc/;
        index two.html;
        types { text/x-all txt; }
        default_type text/x-all-default;
        etag off;
        if_modified_since before;
        max_ranges 1;
        chunked_transfer_encoding off;
        server_tokens off;
        charset utf-8;
        charset_types text/x-all;
        expires epoch;
        add_header X-All a;
        if ($arg_a) { }
    }
}
`,
		Content: map[string]string{
			"html/a.txt":                 "a\n",
			"html/index.html":            "index\n",
			"html/allsrc/a.txt":          "all\n",
			"html/allsrc/two.html":       "two\n",
			"html/allsrc/noext":          "noext\n",
			"html/a.xyz":                 "xyz\n",
			"html/a.html":                "html\n",
			"html/a.TXT":                 "upper\n",
			"html/a.caps":                "caps\n",
			"html/a.tar.gz":              "gz\n",
			"html/noext":                 "none\n",
			"html/.txt":                  "dot\n",
			"html/d.txt/f":               "in a dir with a dot\n",
			"html/loc/a.txt":             "loc\n",
			"html/loc/a.html":            "loc html\n",
			"html/locdef/a.txt":          "locdef\n",
			"html/locdef/noext":          "locdef none\n",
			"html/empty/a.txt":           "empty\n",
			"html/if/a.txt":              "if\n",
			"html/ifret/a.txt":           "ifret\n",
			"html/idx/b.html":            "b\n",
			"html/idx/c.html":            "c\n",
			"html/idxvar/x.html":         "x\n",
			"html/idxvar/fallback.html":  "fallback\n",
			"html/idxabs/target.txt":     "target\n",
			"html/idxvarabs/y":           "y\n",
			"html/idxvarabs/last.txt":    "last\n",
			"html/idxdir/sub/index.html": "sub\n",
		},
		ErrorLog: true,
		Requests: []harness.Request{
			plainGet("http types", "/a.txt"),
			plainGet("http types, second extension", "/a.xyz"),
			plainGet("http level keeps mime.types", "/a.html"),
			plainGet("upper-case extension", "/a.TXT"),
			plainGet("two dots", "/a.tar.gz"),
			plainGet("no extension", "/noext"),
			plainGet("dot file", "/.txt"),
			plainGet("dot in a directory", "/d.txt/f"),
			hostGet("server types", "srv", "/a.txt"),
			hostGet("server types replace mime.types", "srv", "/a.xyz"),
			hostGet("server types html", "srv", "/a.html"),
			hostGet("server types upper-case in types", "srv", "/a.caps"),
			hostGet("server types upper-case file", "srv", "/a.TXT"),
			hostGet("server default_type", "srv", "/noext"),
			hostGet("location types", "srv", "/loc/a.txt"),
			hostGet("location types, default_type inherited", "srv", "/loc/a.html"),
			hostGet("location default_type, types inherited", "srv", "/locdef/a.txt"),
			hostGet("location default_type", "srv", "/locdef/noext"),
			hostGet("empty types", "srv", "/empty/a.txt"),
			hostGet("if inherits types", "srv", "/if/a.txt?a=1"),
			hostGet("if return text", "srv", "/ifret/a.txt?a=1"),
			hostGet("return text typed by extension", "srv", "/ret/a.txt"),
			hostGet("return text, no extension", "srv", "/ret/x"),
			hostGet("server 404 page", "srv", "/nope.txt"),
			hostGet("everything inherited by if", "srv", "/all/a.txt?a=1"),
			hostGet("everything inherited by if: index", "srv", "/all/?a=1"),
			hostGet("everything inherited by if: no extension", "srv", "/all/noext?a=1"),
			hostGet("everything inherited by if: 404", "srv", "/all/nope?a=1"),
			hostGet("everything inherited by if: ranges", "srv", "/all/a.txt?a=1", "Range: bytes=0-0,2-2"),
			hostGet("everything inherited by if: ims later", "srv", "/all/a.txt?a=1", "If-Modified-Since: Wed, 03 Jan 2024 00:00:00 GMT"),
			hostGet("everything, no if", "srv", "/all/a.txt"),
			plainGet("index: http level", "/"),
			hostGet("index: http level through a server's types", "srv", "/"),
			plainGet("index: first missing", "/idx/"),
			plainGet("index: variable", "/idxvar/?i=x"),
			plainGet("index: variable missing", "/idxvar/?i=nope"),
			plainGet("index: variable empty", "/idxvar/"),
			plainGet("index: variable absolute, not last", "/idxvar/?i=/idx/b"),
			plainGet("index: variable absolute, missing", "/idxvar/?i=/idx/nope"),
			plainGet("index: variable with a slash inside", "/idxvar/?i=sub/x"),
			plainGet("index: absolute last", "/idxabs/"),
			plainGet("index: variable names a file", "/idxvarabs/?i=y"),
			plainGet("index: variable to absolute", "/idxvarabs/?i=nope"),
			plainGet("index: a directory", "/idxdir/"),
			plainGet("index: none", "/idxnone/"),
			plainGet("index: missing dir", "/idxnone/nodir/"),
		},
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// stub_status and the $connections_* variables on single connections
// (counts of concurrent ones would race).
func TestServeStubStatus(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{
		Name: "stub_status",
		Config: `server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    location = /vars {
        return 200 "active=$connections_active reading=$connections_reading writing=$connections_writing waiting=$connections_waiting\n";
    }
    location = /hdr {
        add_header X-Conn "$connections_active $connections_reading $connections_writing $connections_waiting";
        return 204;
    }
    location = /status { stub_status; }
    location = /status-on { stub_status on; add_header X-S s; expires epoch; }
    location = /status-charset { stub_status; charset utf-8; charset_types text/plain; }
}
server {
    listen 127.0.0.1:{{PORT}};
    server_name srv;
    # At the server level: requests no location takes.
    stub_status;
    location /x/ { return 200 "x\n"; }
}
`,
		Requests: []harness.Request{
			// The harness's own probe for the port may still be closing
			// (its goroutine racing this request's): a first request lets
			// it finish.
			hostGet("first", "srv", "/x/"),
			plainGet("variables", "/vars"),
			plainGet("in add_header", "/hdr"),
			{Name: "variables, kept alive", Send: []string{
				"GET /vars HTTP/1.1\r\nHost: localhost\r\n\r\nGET /vars HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"}, Responses: 2},
			serveRaw("HEAD", "HEAD /status HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
			serveRaw("POST", "POST /status HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi"),
			plainGet("headers and expires", "/status-on"),
			plainGet("charset", "/status-charset"),
			serveRaw("400: no Host", "GET / HTTP/1.1\r\n\r\n"),
			serveRaw("400: bad request line", "GET\r\n\r\n"),
			serveRaw("HTTP/0.9", "GET /x/\r\n"),
			serveRaw("400: two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
			serveRaw("status after bad requests", "GET /status HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
			hostGet("server level, no location", "srv", "/"),
			hostGet("server level, a location", "srv", "/x/"),
		},
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// server_tokens at the http level, turned on again by a server.
func TestServeServerTokensHTTPLevel(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{
		Name: "server_tokens http level",
		Config: `server_tokens off;
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    location / { }
}
server {
    listen 127.0.0.1:{{PORT}};
    server_name on;
    server_tokens on;
    location / { }
}
`,
		Requests: []harness.Request{
			plainGet("http off", "/x"),
			hostGet("server on", "on", "/x"),
			serveRaw("400 in the default server", "GET / HTTP/1.1\r\n\r\n"),
			serveRaw("HTTP/0.9", "GET /x\r\n"),
		},
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}
