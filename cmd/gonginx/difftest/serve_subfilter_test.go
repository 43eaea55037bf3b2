package difftest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// sub_filter on every kind of response: static files (whole, HEAD,
// HTTP/1.0, ranges, 304, an empty file, a type not listed, a file large
// enough to cross many buffers), return, error pages and proxied bodies
// (buffered and not, chunked across the pattern); several patterns,
// sub_filter_once, variables in patterns and replacements,
// sub_filter_last_modified with the backend's ETag, and inheritance.
func TestServeSubFilter(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	get := func(name, target string, extra ...string) harness.Request {
		h := ""
		for _, x := range extra {
			h += x + "\r\n"
		}
		return serveRaw(name, "GET "+target+" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"+h+"\r\n")
	}
	big := strings.Repeat("abpatternyzA", 8000) + strings.Repeat("0123456789abcdef", 5000)
	c := harness.Case{
		Name: "sub_filter",
		Config: `server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    root html;
    default_type text/plain;
    sub_filter_types text/plain;
    sub_filter hello "HI($uri)";
    location / { }
    location /many/ {
        sub_filter_once off;
        sub_filter a 1;
        sub_filter AB 2;
        sub_filter "$arg_p" "[$arg_p]";
    }
    location /once/ {
        sub_filter a 1;
        sub_filter b 2;
    }
    location /lm/ {
        sub_filter_last_modified on;
        sub_filter x y;
    }
    location /types/ {
        sub_filter_types application/json;
    }
    location /any/ {
        sub_filter_types *;
    }
    location /ret/ {
        sub_filter_once off;
        sub_filter l L;
        return 200 "ret hello $arg_x\n";
    }
    location /ret204/ {
        return 204;
    }
    location /redir/ {
        sub_filter_types *;
        return 302 /hello/;
    }
    location /ep/ {
        error_page 404 /ep/page.html;
    }
    location /dyn/ {
        sub_filter_once off;
        sub_filter "$arg_a" "<$arg_a>";
        sub_filter "$arg_b" "<x$arg_b>";
    }
    location /dynuc/ {
        # Lowercased, the variable's name too.
        sub_filter "X$ARG_A" "<$arg_a>";
    }
    location /big/ {
        sub_filter_once off;
        sub_filter abpatternyz +;
        sub_filter 89abcdef01 -;
    }
    location /ssi/ {
        ssi on;
        sub_filter_once off;
        sub_filter notfoo bar;
        sub_filter "is n" "IS N";
    }
    location /add/ {
        sub_filter_once off;
        sub_filter "t t" "T T";
        add_after_body /add/after.txt;
        add_before_body /ssi/not.html;
        addition_types text/plain;
    }
    location /ctparam/ {
        sub_filter_types text/html;
        default_type 'text/html; charset=koi8-r';
        return 200 "hello\n";
    }
    location /ctproxied/ {
        sub_filter_types text/html;
        proxy_pass http://127.0.0.1:{{PORT}}/ctparam/;
    }
    location /bigproxied/ {
        sub_filter_once off;
        sub_filter abpatternyz +;
        sub_filter 89abcdef01 -;
        proxy_pass http://127.0.0.1:{{PORT}}/raw/;
        sub_filter_types *;
    }
    location /raw/ {
        alias html/big/;
        sub_filter_types text/html;
    }
    location /up/ {
        proxy_pass http://{{BACKEND}}/;
        sub_filter_once off;
        sub_filter_last_modified on;
        sub_filter "o c" "[o c]";
        sub_filter backend BE;
        sub_filter caching CACHING;
    }
    location /upnobuf/ {
        proxy_pass http://{{BACKEND}}/;
        proxy_buffering off;
        sub_filter_once off;
        sub_filter "o c" "[o c]";
        sub_filter "y\n" "Y";
    }
    location /upoff/ {
        proxy_pass http://{{BACKEND}}/;
        sub_filter status STATUS;
        sub_filter caching CACHING;
    }
}
`,
		Content: map[string]string{
			"html/f.txt":         "hello hello world\n",
			"html/f.html":        "<p>Hello</p> hello\n",
			"html/f.bin":         "hello\n",
			"html/f.json":        "{\"hello\": 1}\n",
			"html/empty.txt":     "",
			"html/many/f.txt":    "aAbB ab AB a-b xyz XYZ\n",
			"html/once/f.txt":    "a b a b\n",
			"html/lm/f.txt":      "xxx\n",
			"html/types/f.json":  "{\"hello\": 1}\n",
			"html/types/f.txt":   "hello\n",
			"html/any/f.bin":     "hello\n",
			"html/ep/page.html":  "error hello page\n",
			"html/dyn/f.txt":     "axbxcx ABXB\n",
			"html/big/f.txt":     big,
			"html/ssi/i.html":    "<!--#include virtual=\"/ssi/not.html\" --> truncated, notfoo",
			"html/ssi/not.html":  "response is not",
			"html/add/f.txt":     "text t",
			"html/add/after.txt": "t tail",
		},
		// A fixed mtime makes Last-Modified and ETag the same under both
		// servers.
		Setup: func(dir string) error {
			mtime := time.Date(2001, 9, 9, 1, 46, 40, 0, time.UTC)
			return filepath.Walk(filepath.Join(dir, "html"), func(p string, _ os.FileInfo, err error) error {
				if err != nil {
					return err
				}
				return os.Chtimes(p, mtime, mtime)
			})
		},
		Requests: []harness.Request{
			get("static text", "/f.txt"),
			get("static html, caseless", "/f.html"),
			get("type not listed", "/f.bin"),
			get("empty file", "/empty.txt"),
			serveRaw("head", "HEAD /f.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
			serveRaw("HTTP/1.0", "GET /f.txt HTTP/1.0\r\n\r\n"),
			get("range", "/f.txt", "Range: bytes=0-3"),
			get("304 by ETag", "/f.txt", `If-None-Match: "3b9aca00-12"`),
			get("304 by date", "/f.txt", "If-Modified-Since: Sun, 09 Sep 2001 01:46:40 GMT"),
			get("many patterns", "/many/f.txt"),
			get("many patterns, one a variable", "/many/f.txt?p=xYz"),
			get("once each", "/once/f.txt"),
			get("last modified kept, weak ETag", "/lm/f.txt"),
			get("own types", "/types/f.json"),
			get("own types leave text/plain", "/types/f.txt"),
			get("any type", "/any/f.bin"),
			get("return", "/ret/?x=hello"),
			get("return 204", "/ret204/"),
			get("redirect body", "/redir/"),
			get("error page", "/ep/nope"),
			get("variable patterns", "/dyn/f.txt?a=b&b=C"),
			get("variable patterns, one empty", "/dyn/f.txt?b=b"),
			get("variable patterns all empty", "/dyn/f.txt?b="),
			get("variable patterns, case", "/dyn/f.txt?a=AXB"),
			get("pattern's variable name lowercased", "/dynuc/f.txt?a=B"),
			get("across buffers", "/big/f.txt"),
			get("a type with parameters is not text/html", "/ctparam/"),
			get("a proxied type's charset is not part of it", "/ctproxied/"),
			get("proxied, across buffers", "/bigproxied/f.txt"),
			get("ssi include ends in a partial match", "/ssi/i.html"),
			get("addition around", "/add/f.txt"),
			get("proxied chunked", "/up/chunked"),
			get("proxied with ETag", "/up/caching"),
			get("proxied 404", "/up/status/404"),
			get("proxied default", "/up/x"),
			get("unbuffered", "/upnobuf/chunked"),
			get("inherited lines", "/upoff/status/200"),
			get("inherited, no ETag kept", "/upoff/caching"),
		},
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}
