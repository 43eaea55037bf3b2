package difftest

import (
	"net/url"
	"testing"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// The charset filter on proxied responses: the charset a backend's
// Content-Type names is the source (recoded when override_charset is on),
// source_charset recodes a backend's body that names none, and the type
// nginx tests against charset_types stops before "; charset=". Also a
// subrequest's body recoded to the main response's charset (addition).
func TestServeCharsetProxiedFilter(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	typed := func(name, loc, ct, body string) harness.Request {
		q := url.Values{"ct": {ct}, "body": {body}}.Encode()
		return serveRaw(name, "GET "+loc+"typed?"+q+" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
	}
	c := harness.Case{
		Name:     "charset proxied",
		ErrorLog: true,
		Config: `charset_map koi8-r utf-8 {
    C1 D0B0;
    C2 D0B1;
}
charset_map B A {
    58 59;
}
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    location /keep/ { proxy_pass http://{{BACKEND}}/; charset utf-8; }
    location /over/ { proxy_pass http://{{BACKEND}}/; charset utf-8; override_charset on; }
    location /overb/ { proxy_pass http://{{BACKEND}}/; charset A; override_charset on; }
    location /src/ { proxy_pass http://{{BACKEND}}/; charset utf-8; source_charset koi8-r; }
    location /srcvar/ { proxy_pass http://{{BACKEND}}/; charset A; source_charset $arg_s; }
    location /types/ { proxy_pass http://{{BACKEND}}/; charset utf-8; charset_types text/plain; }
    location /main/ {
        charset utf-8;
        source_charset koi8-r;
        add_after_body /part/p.html;
    }
    location /part/ { }
    location /off/ { proxy_pass http://{{BACKEND}}/; }
    location /offssi/ { proxy_pass http://{{BACKEND}}/; ssi on; }
    location /incc/ { source_charset C; }
}
`,
		Content: map[string]string{
			"html/main/m.html": "main\xc1\n",
			"html/part/p.html": "part\xc2\n",
			"html/incc/x.html": "XX",
		},
		Requests: []harness.Request{
			typed("own charset kept", "/keep/", "text/html; charset=koi8-r", "a\xc1"),
			typed("no charset: named", "/keep/", "text/html", "a\xc1"),
			typed("other parameter", "/keep/", "text/html; q=1", "a"),
			typed("override recodes", "/over/", "text/html; charset=koi8-r", "a\xc1\xc2"),
			typed("override quoted", "/over/", `text/html; charset="koi8-r"`, "a\xc1"),
			typed("override same charset", "/over/", "text/html; charset=UTF-8", "a"),
			typed("override without a map", "/over/", "text/html; charset=latin1", "a"),
			typed("override one-byte", "/overb/", "text/html; charset=B", "XXX"),
			typed("override not in types", "/over/", "image/png; charset=koi8-r", "a\xc1"),
			typed("source_charset", "/src/", "text/html", "a\xc1\xc2"),
			typed("source_charset, backend names its own", "/src/", "text/html; charset=koi8-r", "a\xc1"),
			typed("source_charset variable", "/srcvar/", "text/html", "XYX"),
			typed("source_charset variable names a map", "/srcvar/?s=B", "text/html", "XYX"),
			typed("types test stops at charset", "/types/", "text/plain; charset=koi8-r", "a"),
			typed("types test includes other parameters", "/types/", "text/plain; q=1", "a"),
			staticGet("subrequest recoded to main's charset", "/main/m.html"),
			// charset off: nothing to do, unless an include asks for the
			// charset the backend named (no map between it and C: logged).
			typed("charset off", "/off/", "text/html; charset=koi8-r", "a\xc1"),
			typed("charset off, an include recodes to the backend's", "/offssi/", "text/html; charset=koi8-r",
				`a<!--#include virtual="/incc/x.html" -->b`),
		},
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}
