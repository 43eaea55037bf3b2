package difftest

import (
	"testing"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// The charset filter recoding proxied responses: a backend's own charset kept,
// or replaced and the body recoded with override_charset; a backend
// without one recoded from source_charset; utf-8 recodes losing the
// length; and the recode running below sub_filter, which sees the bytes
// before they are recoded; X-Accel-Charset recoding a proxied body.
func TestServeCharsetProxiedRecode(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	get := func(name, target string) harness.Request {
		return serveRaw(name, "GET "+target+" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
	}
	c := harness.Case{
		Name:          "charset proxied recode",
		ErrorMessages: true,
		Config: `charset_map B A {
    58 59; # X -> Y
}
charset_map koi8-r utf-8 {
    C1 D0B0;
    C2 D0B1;
}
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    # What the proxied locations fetch.
    location /a/ { charset A; }
    location /plain/ { }
    location /quoted/ { default_type 'text/html; charset="A"'; return 200 "YYXX"; }
    location /params/ { default_type 'text/html; foo=bar'; return 200 "YYXX"; }
    location /unknown/ { default_type 'text/html; charset=nosuch'; return 200 "YYXX"; }
    location /moved/ { charset A; charset_types *; return 302 /elsewhere; }
    location /k/ { charset koi8-r; }
    location /xa/ { alias html/plain/; add_header X-Accel-Charset A; }
    location /xu/ { alias html/k/; add_header X-Accel-Charset utf-8; }

    location /override/ {
        charset B;
        override_charset on;
        proxy_pass http://127.0.0.1:{{PORT}}/;
    }
    location /keep/ {
        charset B;
        proxy_pass http://127.0.0.1:{{PORT}}/;
    }
    location /source/ {
        charset A;
        source_charset B;
        proxy_pass http://127.0.0.1:{{PORT}}/;
    }
    location /name/ {
        charset A;
        charset_types *;
        proxy_pass http://127.0.0.1:{{PORT}}/;
    }
    location /utf/ {
        charset utf-8;
        override_charset on;
        proxy_pass http://127.0.0.1:{{PORT}}/;
    }
    location /accel/ {
        source_charset B;
        proxy_pass http://127.0.0.1:{{PORT}}/;
    }
    location /accelk/ {
        source_charset koi8-r;
        proxy_pass http://127.0.0.1:{{PORT}}/;
    }
    location /sub/ {
        charset A;
        source_charset B;
        sub_filter_once off;
        sub_filter X Z;
        proxy_pass http://127.0.0.1:{{PORT}}/;
    }
    location /onlyvar/ {
        alias html/plain/;
        # No location names the pair: every map is usable all the same.
        charset $arg_c;
        source_charset B;
    }
    location /subfile/ {
        alias html/plain/;
        charset A;
        source_charset B;
        sub_filter_once off;
        sub_filter X Z;
    }
}
`,
		Content: map[string]string{
			"html/a/t.html":     "XXYY",
			"html/plain/t.html": "XXYY",
			"html/plain/t.txt":  "XXYY",
			"html/k/t.html":     "ab\xc1\xc2",
		},
		Requests: []harness.Request{
			get("override: recoded from the backend's charset", "/override/a/t.html"),
			get("override: quoted charset", "/override/quoted/"),
			get("override: no map to an unknown charset", "/override/unknown/"),
			get("override: the same charset renamed", "/override/plain/t.html"),
			get("kept without override", "/keep/a/t.html"),
			get("kept with other parameters", "/keep/params/"),
			get("source_charset for a backend without one", "/source/plain/t.html"),
			get("source_charset, type not listed", "/source/plain/t.txt"),
			get("source_charset, backend names one", "/source/a/t.html"),
			get("named only", "/name/plain/t.txt"),
			get("named, with other parameters", "/name/params/"),
			get("a 302 names no charset", "/name/moved/"),
			get("to utf-8 loses the length", "/utf/k/t.html"),
			get("X-Accel-Charset recodes from source_charset", "/accel/xa/t.html"),
			get("X-Accel-Charset to utf-8", "/accelk/xu/t.html"),
			get("sub_filter before the recode, proxied", "/sub/plain/t.html"),
			get("charset variable, a map no location names", "/onlyvar/t.html?c=A"),
			get("sub_filter before the recode, static", "/subfile/t.html"),
		},
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// Subrequests' bodies (ssi includes, addition) are recoded to the charset
// the main response names, from their own source charset
// (ngx_http_main_request_charset).
func TestServeCharsetSubrequests(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	get := func(name, target string) harness.Request {
		return serveRaw(name, "GET "+target+" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
	}
	page := `a<!--#include virtual="/inc/x.html" -->b<!--#include virtual="/incsame/x.html" -->` +
		`c<!--#include virtual="/incnone/x.html" -->d<!--#include virtual="/incother/x.html" -->` +
		`e<!--#include virtual="/incup/" -->f`
	c := harness.Case{
		Name:          "charset subrequests",
		ErrorMessages: true,
		Config: `charset_map B A {
    58 59; # X -> Y
}
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    location /main/ { ssi on; charset A; }
    location /mainnone/ { ssi on; }
    location /mainrecoded/ { ssi on; charset A; source_charset B; }
    location /inc/ { source_charset B; }
    location /incsame/ { source_charset A; }
    location /incnone/ { }
    location /incother/ { source_charset C; }
    location /incup/ { proxy_pass http://127.0.0.1:{{PORT}}/rawb/; }
    location /rawb/ { default_type 'text/html; charset=B'; return 200 "XX"; }
    location /add/ {
        charset A;
        add_after_body /inc/x.html;
    }
}
`,
		Content: map[string]string{
			"html/main/p.html":        page,
			"html/mainnone/p.html":    page,
			"html/mainrecoded/p.html": "X" + page,
			"html/inc/x.html":         "XX",
			"html/incsame/x.html":     "XX",
			"html/incnone/x.html":     "XX",
			"html/incother/x.html":    "XX",
			"html/add/p.html":         "XX",
		},
		Requests: []harness.Request{
			get("main names a charset", "/main/p.html"),
			get("main names none", "/mainnone/p.html"),
			get("main recoded too", "/mainrecoded/p.html"),
			get("addition", "/add/p.html"),
		},
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}
