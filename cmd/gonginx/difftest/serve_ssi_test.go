package difftest

import (
	"strings"
	"testing"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// ssi: every command with its parameters, malformed commands and their
// error text (and ssi_silent_errors, config errmsg), includes of static
// files, of locations with ssi on themselves, of proxied bodies (the
// backend sees the subrequest), set= and stub=, escaped and unsafe URIs,
// ssi_types, ssi_value_length, ssi_last_modified, HEAD and empty files;
// the error log's messages too.
func TestServeSSI(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	get := func(name, target string, extra ...string) harness.Request {
		h := ""
		for _, x := range extra {
			h += x + "\r\n"
		}
		return serveRaw(name, "GET "+target+" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"+h+"\r\n")
	}
	c := harness.Case{
		Name: "ssi",
		Config: `server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    root html;
    location / { ssi on; }
    location /plain/ { }
    location /silent/ { ssi on; ssi_silent_errors on; }
    location /types/ { ssi on; ssi_types text/plain; }
    location /short/ { ssi on; ssi_value_length 8; }
    location /lm/ { ssi on; ssi_last_modified on; }
    location /up/ { ssi on; proxy_pass http://{{BACKEND}}/; }
    location /sub/ { proxy_pass http://{{BACKEND}}/; }
    location /ret/ { return 200 "ret $uri $args\n"; }
    location /small/ { ssi on; subrequest_output_buffer_size 4; }
    location /tiny/ { subrequest_output_buffer_size 2; }
    location /weak/ { set $http_x_weak "set"; set $plain_set "set"; }
    location /ifssi/ { if ($arg_on) { ssi on; } }
    location /anytype/ { ssi on; ssi_types *; }
    location /ims/ { ssi on; if_modified_since before; }
    location /imslm/ { ssi on; ssi_last_modified on; if_modified_since before; }
    location /upssi/ { ssi on; ssi_types text/plain; proxy_pass http://{{BACKEND}}/; }
    location /sent/ { ssi on; add_header X-A a; }
}
`,
		Content: map[string]string{
			"html/echo.html": `a<!--#echo var="arg_a" -->b<!--#echo var="arg_none" -->c<!--#echo var="arg_none" default="dflt" -->` +
				`<!--#set var="v" value="<q&'\"x>" --><!--#echo var="v" encoding="none" -->|<!--#echo var="v" encoding="url" -->|` +
				`<!--#echo var="v" -->|<!--#echo var="v" encoding="entity" -->|<!--#echo var="v" encoding="bad" -->` + "\n",
			"html/set.html": `<!--#set var="x" value="$arg_a-${uri}-\$-\\-\q" --><!--#echo var="x" encoding="none" -->` +
				`<!--#set var="X2" value='single' --><!--#echo var="x2" -->` + "\n",
			"html/if.html": `<!--#if expr="$arg_if" -->IF<!--#elif expr="$arg_elif = yes" -->ELIF<!--#elif expr="$arg_elif != /^n(o+)$/" -->NOTNO<!--#else -->ELSE <!--#echo var="1" --><!--#endif -->` +
				`|<!--#if expr="$arg_re = /(?P<word>[a-z]+)-(\d+)/" --><!--#echo var="word" -->:<!--#echo var="2" -->:<!--#echo var="0" --><!--#endif -->` + "\n",
			"html/errors.html": `1<!--#nope -->2<!--#echo -->3<!--#echo var="a" var="b" -->4<!--#echo what="x" -->` +
				`5<!--#echo var=x -->6<!--#echo var="x"y -->7<!--#echo var="x" --->8-->9<!--#else -->10<!--#if expr="a b" -->` +
				`11<!--#set var="v" value="$" -->12<!--#set var="v" value="${uri" -->13<!--#include -->14` +
				`<!--#include virtual="/a" file="/b" -->15<!--#include virtual="/a" set="x" stub="y" -->16` +
				`<!--#include file="/a" wait="yes" -->17<!--#include virtual="/a" wait="maybe" -->18` +
				`<!--#include virtual="/a" stub="none" -->19<!--#config errmsg="[E]" --><!--#nope -->20<!--#endif -->` +
				`21<!--#if expr="/x" -->22<!--#` + "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" + ` -->23<!--#echo var="x" -- >24-->25` +
				`<!-- plain comment -->26<!--x--><!- -><!--#-->27<` + "\n",
			"html/silent/e.html": `a<!--#nope -->b<!--#echo var=x -->c` + "\n",
			"html/inc.html":      `[<!--#include virtual="/part.html" -->|<!--#include file="part.html" -->|<!--#include virtual="/ret/x?a=1&b" -->|<!--#include virtual="/nested.html?q=2" -->|<!--#include virtual="/nope.html" -->]` + "\n",
			"html/part.html":     "PART",
			"html/nested.html":   `(<!--#echo var="arg_q" -->:<!--#echo var="set_by_parent" -->)`,
			"html/setinc.html":   `<!--#set var="set_by_parent" value="P" --><!--#include virtual="/nested.html?q=3" set="got" -->[<!--#echo var="got" -->]<!--#include virtual="/nope" set="got" -->[<!--#echo var="got" -->]` + "\n",
			"html/stub.html":     `<!--#block name="one" -->STUB<!--#if expr="$arg_s" -->S<!--#else -->NOS<!--#endif --><!--#echo var="arg_s" --><!--#endblock -->[<!--#include virtual="/nope?$args" stub="one" -->|<!--#include virtual="/empty.html" stub="one" -->|<!--#include virtual="/part.html" stub="one" -->|<!--#include virtual="/plain/nope" stub="one" -->]` + "\n",
			"html/empty.html":    "",
			"html/escaped.html":  `<!--#include virtual="/p%61rt.html" -->|<!--#include virtual="/x/../part.html" -->|<!--#include virtual="/x/%2e%2e/part.html" -->|<!--#include virtual="../part.html" -->` + "\n",
			// nginx runs a subrequest after the commands that follow it
			// (its error log line comes later): one per document.
			"html/escaped2.html":   `<!--#include virtual="/part.html%3fx" -->` + "\n",
			"html/types/t.txt":     `txt <!--#echo var="arg_a" -->` + "\n",
			"html/types/t.html":    `html <!--#echo var="arg_a" -->` + "\n",
			"html/types/t.css":     `css <!--#echo var="arg_a" -->` + "\n",
			"html/short/v.html":    `<!--#set var="v" value="12345678" --><!--#echo var="v" -->|<!--#set var="w" value="123456789" -->` + "\n",
			"html/lm/f.html":       `lm <!--#echo var="arg_a" -->` + "\n",
			"html/plain/page.html": `plain <!--#echo var="arg_a" -->` + "\n",
			"html/up.html":         `up[<!--#include virtual="/sub/headers?from=ssi" -->]` + "\n",
			"html/small/s.html":    `<!--#include virtual="/part.html" set="v" -->[<!--#echo var="v" -->]` + "\n",
			"html/toobig.html":     `before<!--#include virtual="/tiny/p.html" set="v" -->[<!--#echo var="v" -->]` + "\n",
			"html/tiny/p.html":     "PART",
			"html/weak.html":       `[<!--#echo var="http_x_weak" -->|<!--#echo var="plain_set" -->]` + "\n",
			"html/ifssi/f.html":    `if <!--#echo var="arg_on" -->` + "\n",
			"html/anytype/f.bin":   `bin <!--#echo var="arg_a" -->` + "\n",
			"html/date.html":       `<!--#config timefmt="%Y|%C|%y|%Z|%%|%q" --><!--#echo var="date_gmt" -->|<!--#echo var="date_local" -->|<!--#set var="d" value="x$date_gmt" --><!--#echo var="d" -->` + "\n",
			"html/ims/f.html":      `ims <!--#echo var="arg_a" -->` + "\n",
			"html/imslm/f.html":    `imslm <!--#echo var="arg_a" -->` + "\n",
			// Openings cut by the end of nginx's 32 KiB file buffers.
			"html/big1.html": strings.Repeat("x", 32766) + `<!--#echo var="arg_a" -->y` + "\n",
			"html/big2.html": strings.Repeat("x", 32766) + `<!<!--#echo var="arg_a" -->` + "\n",
			"html/big3.html": strings.Repeat("x", 32766) + `<!<!--#echo var="arg_a" -->`,
			"html/big4.html": strings.Repeat("x", 32767) + `<!-x<!--#echo var="arg_a" -->` + "\n",
			"html/cut.html":  `text<!--#echo var="arg_a`,
			// No name of the configuration is a $sent_http_* one: ssi's
			// echo finds them by name as the page is filtered.
			"html/sent/s.html": `<!--#echo var="sent_http_content_type" -->|<!--#echo var="sent_http_x_a" -->|` +
				`<!--#echo var="sent_http_last_modified" -->|<!--#echo var="sent_http_connection" -->|<!--#echo var="sent_http_server" -->` + "\n",
		},
		ErrorMessages: true,
		Requests: []harness.Request{
			get("echo", "/echo.html?a=A%20B"),
			get("echo empty argument", "/echo.html?a="),
			get("set", "/set.html?a=1"),
			get("if", "/if.html?if=1"),
			get("elif", "/if.html?elif=yes"),
			get("elif regex", "/if.html?elif=maybe"),
			get("else", "/if.html?elif=nooo"),
			get("captures", "/if.html?re=abc-123"),
			get("errors", "/errors.html"),
			get("silent errors", "/silent/e.html"),
			get("includes", "/inc.html"),
			get("include set", "/setinc.html"),
			get("stub", "/stub.html?s=1"),
			get("stub else", "/stub.html"),
			get("escaped and unsafe", "/escaped.html"),
			get("escaped question mark", "/escaped2.html"),
			get("ssi_types", "/types/t.txt?a=1"),
			get("ssi_types keeps text/html", "/types/t.html?a=1"),
			get("ssi_types other", "/types/t.css?a=1"),
			get("ssi_value_length", "/short/v.html"),
			get("ssi_last_modified", "/lm/f.html?a=1"),
			get("ssi off", "/plain/page.html?a=1"),
			get("proxied include", "/up.html", "X-Client: c"),
			get("proxied page", "/up/ssi?a=1"),
			get("subrequest_output_buffer_size", "/small/s.html"),
			get("empty file", "/empty.html"),
			get("ssi on in if", "/ifssi/f.html?on=1"),
			get("ssi on in if, not taken", "/ifssi/f.html"),
			get("ssi_types *", "/anytype/f.bin?a=1"),
			get("timefmt", "/date.html"),
			get("304", "/ims/f.html", "If-Modified-Since: Fri, 01 Jan 2038 00:00:00 GMT"),
			get("304 with ssi_last_modified", "/imslm/f.html", "If-Modified-Since: Fri, 01 Jan 2038 00:00:00 GMT"),
			get("not modified since long ago", "/ims/f.html", "If-Modified-Since: Fri, 01 Jan 1971 00:00:00 GMT"),
			get("proxied response filtered", "/upssi/x?a=1"),
			get("set= output too big", "/toobig.html"),
			get("a set variable not set here", "/weak.html", "X-Weak: header"),
			get("cut at end", "/cut.html?a=1"),
			get("sent_http_ by name", "/sent/s.html"),
			get("opening across buffers", "/big1.html?a=1"),
			get("opening lost across buffers", "/big2.html?a=1"),
			get("opening lost at the end", "/big3.html?a=1"),
			get("opening kept across buffers", "/big4.html?a=1"),
			get("range", "/echo.html", "Range: bytes=0-1"),
			serveRaw("HEAD", "HEAD /echo.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
			serveRaw("HTTP/1.0", "GET /inc.html HTTP/1.0\r\n\r\n"),
		},
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}
