package difftest

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// gzipOf is s gzipped (gzip_static's .gz files).
func gzipOf(s string) string {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(s))
	zw.Close()
	return b.String()
}

// The gzip family: when the gzip filter compresses (gzip_types,
// gzip_min_length, status, Accept-Encoding and its q-values, HTTP
// version, gzip_disable, gzip_proxied for a request with Via), what it
// does to the head (Content-Encoding, no Content-Length or Accept-Ranges,
// a weak ETag, Vary), gzip_static on and always, gunzip, and $gzip_ratio
// in the access log. Bodies are compared inflated: zlib and gonginx's
// compressor need not write the same bytes.
func TestServeGzip(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	req := func(name, line string, extra ...string) harness.Request {
		h := ""
		for _, x := range extra {
			h += x + "\r\n"
		}
		return serveRaw(name, line+"\r\nHost: localhost\r\nConnection: close\r\n"+h+"\r\n")
	}
	get := func(name, target string, extra ...string) harness.Request {
		return req(name, "GET "+target+" HTTP/1.1", extra...)
	}
	gz := func(name, target string, extra ...string) harness.Request {
		return get(name, target, append([]string{"Accept-Encoding: gzip, deflate"}, extra...)...)
	}
	page := strings.Repeat("<p>a page that compresses well</p>\n", 20)
	c := harness.Case{
		Name: "gzip",
		Config: `log_format gz "$uri $status gz=$gzr ce=$sent_http_content_encoding cl=$cl";
# An error page's length depends on the server's name.
map "$status:$sent_http_content_length" $cl {
    "~^[345]" page;
    default $sent_http_content_length;
}
map $gzip_ratio $gzr {
    "" none;
    "~^[0-9]+\.[0-9][0-9]$" ratio;
    default "other $gzip_ratio";
}
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    root html;
    access_log logs/gz.log gz;
    access_log logs/packed.log gz gzip=5 buffer=4k flush=1m;
    gzip on;
    location / { }
    location /types/ { gzip_types text/plain application/json; gzip_types text/css; }
    location /any/ { gzip_types *; }
    location /min/ { gzip_min_length 1000; }
    location /vary/ { gzip_vary on; }
    location /v10/ { gzip_http_version 1.0; }
    location /level/ { gzip_comp_level 9; gzip_buffers 4 8k; }
    location /off/ { gzip off; gzip_vary on; }
    location /if/ {
        if ($arg_off) { gzip off; }
    }
    location /disable/ {
        gzip_disable msie6 "^curl" degradation;
        location /disable/inner/ { gzip_disable "wget"; }
    }
    location /up/ { proxy_pass http://{{BACKEND}}/; gzip_vary on; }
    location /px/ { proxy_pass http://{{BACKEND}}/; gzip_proxied expired no-cache no-store private auth; }
    location /pxany/ { proxy_pass http://{{BACKEND}}/; gzip_proxied any; }
    location /pxlm/ { proxy_pass http://{{BACKEND}}/; gzip_proxied no_last_modified no_etag; }
    location /pxoff/ { proxy_pass http://{{BACKEND}}/; gzip_proxied off any; }
    location /static/ { gzip_static on; gzip_vary on; }
    location /novary/ { gzip_static on; }
    location /always/ { gzip_static always; }
    location /agunzip/ { gzip_static always; gunzip on; gzip_vary on; }
    location /cs/ { gzip_static on; charset utf-8; }
    location /gunzip/ { proxy_pass http://{{BACKEND}}/; gunzip on; }
    location /sv/ { gzip_static on; gzip_vary on; error_page 404 /tiny404.html; }
    location = /tiny404.html { gzip_vary on; }
    location /ret/ {
        gzip_types text/plain;
        location /ret/text { return 200 "a returned text that is long enough to be compressed\n"; }
        location /ret/403 { return 403; }
        location /ret/302 { return 302 /elsewhere; }
        location /ret/500 { return 500; }
    }
    location /ai/ { autoindex on; }
    location /aijson/ { autoindex on; autoindex_format json; gzip_types application/json; }
    location /subgz/ { sub_filter compresses COMPRESSES; gzip_vary on; }
    location /gunsub/ { proxy_pass http://{{BACKEND}}/; gunzip on; sub_filter family FAMILY; }
    location /ssigz/ { ssi on; }
    location /exp/ { expires max; gzip_proxied expired no-cache; }
    location /expold/ { expires epoch; gzip_proxied expired; }
}
`,
		Content: map[string]string{
			"logs/.keep":                "",
			"html/index.html":           page,
			"html/small.html":           "tiny\n",
			"html/types/f.txt":          page,
			"html/types/f.json":         page,
			"html/types/f.css":          page,
			"html/types/f.html":         page,
			"html/types/f.bin":          page,
			"html/any/f.bin":            page,
			"html/min/f.html":           page,
			"html/vary/f.html":          page,
			"html/vary/small.html":      "tiny\n",
			"html/v10/f.html":           page,
			"html/level/f.html":         page,
			"html/off/f.html":           page,
			"html/if/f.html":            page,
			"html/disable/f.html":       page,
			"html/disable/inner/f.html": page,
			"html/static/a.html":        page,
			"html/static/a.html.gz":     gzipOf("gzip_static's own\n"),
			"html/static/b.html":        page,
			"html/static/b.txt":         page,
			"html/static/dir.gz/x":      "x",
			"html/novary/a.html":        page,
			"html/novary/a.html.gz":     gzipOf("gzip_static's own\n"),
			"html/always/a.html.gz":     gzipOf("always\n"),
			"html/agunzip/a.html.gz":    gzipOf("inflated by gunzip\n"),
			"html/agunzip/bad.html.gz":  "not gzip at all",
			"html/cs/a.html":            page,
			"html/cs/a.html.gz":         gzipOf("charset\n"),
			"html/sv/x.html.gz":         gzipOf("only the .gz\n"),
			"html/tiny404.html":         "tiny\n",
			"html/ai/a.txt":             "a\n",
			"html/ai/b.txt":             "b\n",
			"html/aijson/a.txt":         "a\n",
			"html/subgz/f.html":         page,
			"html/ssigz/f.html":         "<!--# include virtual=\"/index.html\" --><!--# echo var=\"uri\" -->\n" + page,
			"html/exp/f.html":           page,
			"html/expold/f.html":        page,
		},
		Setup: func(dir string) error {
			mtime := time.Date(2001, 9, 9, 1, 46, 40, 0, time.UTC)
			return filepath.Walk(filepath.Join(dir, "html"), func(p string, _ os.FileInfo, err error) error {
				if err != nil {
					return err
				}
				return os.Chtimes(p, mtime, mtime)
			})
		},
		AccessLogFiles: []string{"logs/gz.log", "logs/packed.log"},
		ErrorMessages:  true,
		Requests: []harness.Request{
			get("no Accept-Encoding", "/index.html"),
			gz("gzip", "/index.html"),
			get("gzip alone", "/index.html", "Accept-Encoding: gzip"),
			get("upper case", "/index.html", "Accept-Encoding: GZIP"),
			get("second", "/index.html", "Accept-Encoding: deflate, gzip"),
			get("x-gzip is not gzip", "/index.html", "Accept-Encoding: x-gzip"),
			get("gzipx is not gzip", "/index.html", "Accept-Encoding: gzipx, deflate"),
			get("q=0", "/index.html", "Accept-Encoding: gzip;q=0"),
			get("q=0.000", "/index.html", "Accept-Encoding: deflate, gzip; q=0.000"),
			get("q=0.5", "/index.html", "Accept-Encoding: gzip;q=0.5"),
			get("q=1.000", "/index.html", "Accept-Encoding: gzip;q=1.000, br"),
			get("q=1.0001", "/index.html", "Accept-Encoding: gzip;q=1.0001"),
			get("q=2", "/index.html", "Accept-Encoding: gzip;q=2"),
			get("first header counts", "/index.html", "Accept-Encoding: br", "Accept-Encoding: gzip"),
			req("HEAD", "HEAD /index.html HTTP/1.1", "Accept-Encoding: gzip"),
			req("HTTP/1.0", "GET /index.html HTTP/1.0", "Accept-Encoding: gzip"),
			req("HTTP/1.0 with gzip_http_version 1.0", "GET /v10/f.html HTTP/1.0", "Accept-Encoding: gzip"),
			gz("range: the whole body, compressed", "/index.html", "Range: bytes=0-9"),
			gz("If-None-Match with the weak ETag", "/index.html", `If-None-Match: W/"3b9aca00-2bc"`),
			gz("If-None-Match with the strong ETag", "/index.html", `If-None-Match: "3b9aca00-2bc"`),
			gz("below gzip_min_length", "/small.html"),
			gz("404", "/nope.html"),
			gz("types: text/plain", "/types/f.txt"),
			gz("types: json", "/types/f.json"),
			gz("types: second line adds", "/types/f.css"),
			gz("types: text/html always", "/types/f.html"),
			gz("types: other", "/types/f.bin"),
			gz("types *", "/any/f.bin"),
			gz("min_length 1000", "/min/f.html"),
			gz("vary", "/vary/f.html"),
			get("vary without Accept-Encoding", "/vary/f.html"),
			gz("vary below min length", "/vary/small.html"),
			gz("level 9", "/level/f.html"),
			gz("off", "/off/f.html"),
			gz("if off", "/if/f.html?off=1"),
			gz("if not taken", "/if/f.html"),
			gz("disable: curl", "/disable/f.html", "User-Agent: curl/8.0"),
			gz("disable: msie6", "/disable/f.html", "User-Agent: Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)"),
			gz("disable: msie6 SV1", "/disable/f.html", "User-Agent: Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1)"),
			gz("disable: degradation is a regex", "/disable/f.html", "User-Agent: Degradation-bot"),
			gz("disable: other agent", "/disable/f.html", "User-Agent: Mozilla/5.0"),
			gz("disable inner: msie6 inherited", "/disable/inner/f.html", "User-Agent: Mozilla/4.0 (compatible; MSIE 5.5; Windows 98)"),
			gz("disable inner: regexes replaced", "/disable/inner/f.html", "User-Agent: curl/8.0"),
			gz("disable inner: own regex", "/disable/inner/f.html", "User-Agent: Wget/1.21"),
			gz("proxied", "/up/made"),
			get("proxied without Accept-Encoding", "/up/made"),
			gz("proxied chunked", "/up/made?chunked=1&n=5000"),
			gz("proxied until close", "/up/made?nolength=1&n=3000"),
			gz("proxied short", "/up/made?n=10"),
			gz("proxied charset", "/up/made?ct=text/html;%20charset=utf-8"),
			gz("proxied other parameter", "/up/made?ct=text/html;%20level=1"),
			gz("proxied no type", "/up/made?ct=-"),
			gz("proxied 404", "/up/made?status=404"),
			gz("proxied 403", "/up/made?status=403"),
			gz("proxied 500", "/up/made?status=500"),
			gz("proxied 206", "/up/made?status=206"),
			gz("proxied encoded", "/up/made?gz=1"),
			gz("proxied Accept-Ranges", "/up/made?h=Accept-Ranges:%20bytes"),
			gz("proxied with its own Vary", "/up/made?h=Vary:%20Cookie"),
			gz("proxied Content-Encoding identity", "/up/made?h=Content-Encoding:%20identity"),
			req("proxied HEAD", "HEAD /up/made HTTP/1.1", "Accept-Encoding: gzip"),
			req("gunzip HEAD", "HEAD /gunzip/made?gz=1 HTTP/1.1"),
			gz("proxied ETag", "/up/made?h=ETag:%20%22abc%22"),
			gz("proxied weak ETag", "/up/made?h=ETag:%20W/%22abc%22"),
			gz("proxied unquoted ETag", "/up/made?h=ETag:%20abc"),
			gz("Via: gzip_proxied off", "/up/made", "Via: 1.1 cache"),
			gz("Via: off any", "/pxoff/made", "Via: 1.1 cache"),
			gz("Via: any", "/pxany/made", "Via: 1.1 cache"),
			gz("Via: nothing said", "/px/made", "Via: 1.1 cache"),
			gz("Via: auth", "/px/made", "Via: 1.1 cache", "Authorization: Basic eDp5"),
			gz("Via: expired", "/px/made?h=Expires:%20Thu,%2001%20Jan%201998%2000:00:00%20GMT", "Via: 1.1 cache"),
			gz("Via: not expired", "/px/made?h=Expires:%20Thu,%2001%20Jan%202099%2000:00:00%20GMT", "Via: 1.1 cache"),
			gz("Via: bad Expires", "/px/made?h=Expires:%200", "Via: 1.1 cache"),
			gz("Via: no-cache", "/px/made?h=Cache-Control:%20public,%20no-cache", "Via: 1.1 cache"),
			gz("Via: private", "/px/made?h=Cache-Control:%20max-age=0&h=Cache-Control:%20private", "Via: 1.1 cache"),
			gz("Via: public", "/px/made?h=Cache-Control:%20public", "Via: 1.1 cache"),
			gz("Via: no-cache=x is not no-cache", "/px/made?h=Cache-Control:%20no-cache=x", "Via: 1.1 cache"),
			gz("Via: no Last-Modified", "/pxlm/made", "Via: 1.1 cache"),
			gz("Via: Last-Modified", "/pxlm/made?h=Last-Modified:%20Mon,%2028%20Sep%201970%2006:00:00%20GMT", "Via: 1.1 cache"),
			gz("Via: ETag", "/pxlm/made?h=ETag:%20%22x%22", "Via: 1.1 cache"),
			gz("Via: static file's ETag", "/pxlm/../index.html", "Via: 1.1 cache"),
			gz("Via: expires max", "/exp/f.html", "Via: 1.1 cache"),
			gz("Via: expires epoch", "/expold/f.html", "Via: 1.1 cache"),
			gz("gzip_static", "/static/a.html"),
			get("gzip_static without gzip", "/static/a.html"),
			req("gzip_static HEAD", "HEAD /static/a.html HTTP/1.1", "Accept-Encoding: gzip"),
			gz("gzip_static 304", "/static/a.html", `If-None-Match: "3b9aca00-2c"`),
			gz("gzip_static range", "/static/a.html", "Range: bytes=0-3"),
			gz("gzip_static without a .gz", "/static/b.html"),
			get("gzip_static without a .gz, without gzip", "/static/b.html"),
			gz("gzip_static, type not gzipped", "/static/b.txt"),
			gz("gzip_static: a directory .gz", "/static/dir"),
			gz("gzip_static dir", "/static/"),
			get("gzip_static without vary", "/novary/a.html"),
			req("gzip_static POST", "POST /static/a.html HTTP/1.1", "Accept-Encoding: gzip", "Content-Length: 0"),
			get("gzip_static always", "/always/a.html"),
			get("gzip_static always, no file", "/always/b.html"),
			get("always + gunzip", "/agunzip/a.html"),
			gz("always + gunzip, client takes gzip", "/agunzip/a.html"),
			req("always + gunzip HEAD", "HEAD /agunzip/a.html HTTP/1.1"),
			get("always + gunzip, bad .gz", "/agunzip/bad.html"),
			gz("gzip_static and charset", "/cs/a.html"),
			get("charset without gzip", "/cs/a.html"),
			get("gunzip", "/gunzip/made?gz=1&n=3000"),
			gz("gunzip, client takes gzip", "/gunzip/made?gz=1"),
			get("gunzip two members", "/gunzip/made?gz=two"),
			get("gunzip chunked", "/gunzip/made?gz=1&chunked=1&n=5000"),
			get("gunzip 404", "/gunzip/made?gz=1&status=404"),
			get("gunzip plain", "/gunzip/made"),
			get("gunzip ETag", "/gunzip/made?gz=1&h=ETag:%20%22e%22&h=Accept-Ranges:%20bytes"),
			get("gunzip bad", "/gunzip/made?gz=bad"),
			gz("autoindex", "/ai/"),
			gz("autoindex json", "/aijson/"),
			gz("return text", "/ret/text"),
			gz("return 403", "/ret/403"),
			gz("return 302", "/ret/302"),
			gz("return 500", "/ret/500"),
			serveRaw("gunzip HTTP/0.9", "GET /gunzip/made?gz=1\r\n"),
			serveRaw("gzip HTTP/0.9", "GET /index.html\r\n"),
			get("an internal redirect tests gzip afresh", "/sv/x.html"),
			gz("an internal redirect tests gzip afresh, gzip", "/sv/x.html"),
			gz("sub_filter then gzip", "/subgz/f.html"),
			get("sub_filter without gzip", "/subgz/f.html"),
			get("gunzip then sub_filter", "/gunsub/made?gz=1&n=300"),
			gz("gzip body, client takes gzip: sub_filter", "/gunsub/made?gz=1&n=300"),
			gz("ssi then gzip", "/ssigz/f.html"),
			get("gunzip truncated", "/gunzip/made?gz=trunc"),
		},
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// Debian's stock nginx.conf turns gzip on: its http block, read from the
// system at test time (the includes of conf.d and sites-enabled and the
// log paths left out, mime.types and default_type as the harness's
// wrapper has them already), with the stock default site on a test port,
// serves as nginx does.
func TestServeDebianStockGzip(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	stock, err := os.ReadFile("/etc/nginx/nginx.conf")
	if err != nil {
		t.Fatalf("Debian's nginx.conf: %v", err)
	}
	var httpBlock []string
	depth, inHTTP := 0, false
	for _, line := range strings.Split(string(stock), "\n") {
		code := strings.TrimSpace(line)
		if i := strings.Index(code, "#"); i >= 0 {
			code = strings.TrimSpace(code[:i])
		}
		switch {
		case !inHTTP && strings.HasPrefix(code, "http {"):
			inHTTP, depth = true, 1
			continue
		case !inHTTP || code == "":
			continue
		}
		depth += strings.Count(code, "{") - strings.Count(code, "}")
		if depth == 0 {
			break
		}
		if strings.HasPrefix(code, "include /etc/nginx/conf.d") || strings.HasPrefix(code, "include /etc/nginx/sites-enabled") ||
			strings.HasPrefix(code, "access_log") || strings.HasPrefix(code, "error_log") ||
			code == "include /etc/nginx/mime.types;" || code == "default_type application/octet-stream;" {
			continue
		}
		httpBlock = append(httpBlock, code)
	}
	if !slices.Contains(httpBlock, "gzip on;") {
		t.Fatalf("the stock http block has no \"gzip on;\": %q", httpBlock)
	}
	c := harness.Case{
		Name: "Debian's stock nginx.conf",
		Config: strings.Join(httpBlock, "\n") + `
server {
    listen 127.0.0.1:{{PORT}} default_server;
    root /var/www/html;
    index index.html index.htm index.nginx-debian.html;
    server_name _;
    location / {
        try_files $uri $uri/ =404;
    }
}
`,
		Requests: []harness.Request{
			serveRaw("index", "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
			serveRaw("index gzipped", "GET / HTTP/1.1\r\nHost: localhost\r\nAccept-Encoding: gzip, deflate, br\r\nConnection: close\r\n\r\n"),
			serveRaw("HEAD gzipped", "HEAD /index.nginx-debian.html HTTP/1.1\r\nHost: localhost\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n"),
			serveRaw("404 gzipped", "GET /nope HTTP/1.1\r\nHost: localhost\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n"),
		},
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}
