package difftest

import (
	"net/url"
	"strings"
	"testing"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// X-Accel-Redirect and the other X-Accel-* headers a backend steers the proxy with, nginx vs
// gonginx: the internal redirect (URI and arguments, named locations, the method, unsafe URIs,
// the cycle limit), the backend headers carried over, proxy_ignore_headers, proxy_pass_header and
// proxy_hide_header, proxy_intercept_errors deciding first, the backend connection kept or not,
// X-Accel-Charset and X-Accel-Limit-Rate. The backend's /accel answers with the headers its
// query names.

// accelTarget is the backend's /accel under prefix, answering with the headers given
// ("Name: value") and an optional "s=NNN" status.
func accelTarget(prefix, status string, headers ...string) string {
	q := url.Values{}
	for _, h := range headers {
		q.Add("h", h)
	}
	if status != "" {
		q.Set("s", status)
	}
	return prefix + "accel?" + q.Encode()
}

func TestServeProxyAccelRedirect(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	carried := []string{"Set-Cookie: a=1", "Set-Cookie: b=2", "Content-Disposition: attachment",
		"Cache-Control: no-cache", "Cache-Control: private", "Expires: fake", "Accept-Ranges: parrots",
		"Content-Type: text/blah", "X-Other: dropped", `ETag: "e"`, "Last-Modified: Mon, 28 Sep 1970 06:00:00 GMT",
		"Vary: Accept", "Link: </a>", "Content-Encoding: identity"}
	xar := func(v string, more ...string) []string { return append([]string{"X-Accel-Redirect: " + v}, more...) }
	c := serveProxyCase("X-Accel-Redirect", `log_format xar "$request_method $uri ?$args $is_args $request_uri $status us=$upstream_status xar=$upstream_http_x_accel_redirect lr=$limit_rate";
upstream keep {
    server {{BACKEND}};
    keepalive 2;
}
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    access_log logs/xar.log xar;
    location /p/ { proxy_pass http://{{BACKEND}}/; }
    location /ka/ {
        proxy_pass http://keep/;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
    }
    location /kai/ {
        proxy_pass http://keep/;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_intercept_errors on;
        error_page 404 /ret/kai;
    }
    location /icpt2/ {
        proxy_pass http://{{BACKEND}}/;
        proxy_intercept_errors on;
        error_page 404 = /again/echo;
    }
    location /pe/ { proxy_pass http://{{BACKEND}}/; error_page 404 /files/err.html; }
    location /ign/ {
        proxy_pass http://{{BACKEND}}/;
        proxy_ignore_headers X-Accel-Redirect x-accel-charset;
        proxy_ignore_headers X-Accel-Limit-Rate;
    }
    location /ignpass/ {
        proxy_pass http://{{BACKEND}}/;
        proxy_ignore_headers X-Accel-Redirect;
        proxy_pass_header X-Accel-Redirect;
        proxy_pass_header X-Accel-Expires;
    }
    location /pass/ { proxy_pass http://{{BACKEND}}/; proxy_pass_header X-Accel-Redirect; }
    location /hide/ { proxy_pass http://{{BACKEND}}/; proxy_hide_header Set-Cookie; proxy_hide_header Content-Type; }
    location /icpt/ {
        proxy_pass http://{{BACKEND}}/;
        proxy_intercept_errors on;
        error_page 404 = /ret/intercepted;
    }
    location = /loop { proxy_pass http://{{BACKEND}}/accel?h=X-Accel-Redirect:%20/loop&h=Accept-Ranges:%20x&h=Set-Cookie:%20c=1; }
    location /files/ { root html; }
    location /internal/ { internal; return 200 "internal $uri\n"; }
    location /ret/ {
        return 200 "ret uri=$uri args=$args is_args=$is_args ru=$request_uri m=$request_method xar=$upstream_http_x_accel_redirect\n";
    }
    location /again/ { proxy_pass http://{{BACKEND}}/; }
    location /post/ { error_page 405 = /ret/405; return 405; }
    location /cs/ { charset koi8-r; return 200 "charset\n"; }
    location @named { return 200 "named uri=$uri args=$args m=$request_method\n"; }
    location /r301/ { return 301 /elsewhere; }
    location /lvl/ {
        proxy_ignore_headers X-Accel-Redirect;
        location /lvl/inh/ { proxy_pass http://{{BACKEND}}/; }
        location /lvl/own/ { proxy_pass http://{{BACKEND}}/; proxy_ignore_headers X-Accel-Charset; }
    }
    location /epx/ { error_page 404 = /p/accel?h=X-Accel-Redirect:%20/ret/fromep; return 404; }
    location /epx201/ { error_page 404 =201 /p/accel?h=X-Accel-Redirect:%20/ret/fromep; return 404; }
    location /epxf/ { error_page 404 /p/accel?h=X-Accel-Redirect:%20/files/missing; return 404; }
    location /ssi/ { ssi on; root html; }
    location /tf/ { try_files /nonexistent /ret/tf; }
    location /tfa/ { try_files /nonexistent /ret/tf?x=1; }
    location /ep/ { error_page 404 /ret/ep; return 404; }
    location /ix/ { index /ret/ix; }
}
`,
		plainGet("to a static file, with the carried headers", accelTarget("/p/", "", xar("/files/a.txt", carried...)...)),
		plainGet("to a static file, a range", accelTarget("/p/", "", xar("/files/a.txt", carried...)...)),
		plainGet("arguments of its own", accelTarget("/p/", "", xar("/ret/x?a=1&b=2")...)+"&client=1"),
		plainGet("no arguments: none", accelTarget("/p/", "", xar("/ret/y")...)),
		plainGet("an empty '?'", accelTarget("/p/", "", xar("/ret/y?")...)),
		plainGet("escaped", accelTarget("/p/", "", xar("/ret/a%20b%3Fc?d=%20")...)),
		plainGet("dots kept", accelTarget("/p/", "", xar("/ret/./x//y")...)),
		serveRaw("POST becomes GET", "POST "+accelTarget("/p/", "", xar("/ret/post")...)+" HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"),
		serveRaw("HEAD stays HEAD", "HEAD "+accelTarget("/p/", "", xar("/ret/head")...)+" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
		plainGet("unsafe: 404 keeps the cookies, drops Accept-Ranges", accelTarget("/p/", "", xar("/ret/../x", carried...)...)),
		plainGet("unsafe once unescaped", accelTarget("/p/", "", xar("/ret/.%2e")...)),
		plainGet("unsafe: NUL", accelTarget("/p/", "", xar("/ret/%00")...)),
		plainGet("unsafe: error_page", accelTarget("/pe/", "", xar("..", carried...)...)),
		plainGet("empty", accelTarget("/p/", "", xar("")...)),
		plainGet("a missing file", accelTarget("/p/", "", xar("/files/missing", carried...)...)),
		plainGet("named location", accelTarget("/p/", "", xar("@named", carried...)...)),
		plainGet("unknown named location", accelTarget("/p/", "", xar("@nowhere")...)),
		plainGet("an internal location", accelTarget("/p/", "", xar("/internal/x")...)),
		plainGet("to a return 301", accelTarget("/p/", "", xar("/r301/x", carried...)...)),
		plainGet("to a directory without its slash", accelTarget("/p/", "", xar("/files?a=b", carried...)...)),
		plainGet("to a directory", accelTarget("/p/", "", xar("/files/", carried...)...)),
		plainGet("an absolute URL", accelTarget("/p/", "", xar("http://example.com/files/a.txt")...)),
		plainGet("no leading slash", accelTarget("/p/", "", xar("files/a.txt")...)),
		plainGet("a '?' first", accelTarget("/p/", "", xar("?a=1")...)),
		serveRaw("HEAD to a static file", "HEAD "+accelTarget("/p/", "", xar("/files/a.txt", carried...)...)+" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
		plainGet("in an ssi include", "/ssi/page.html"),
		plainGet("proxy_ignore_headers inherited", accelTarget("/lvl/inh/", "", xar("/ret/inh")...)),
		plainGet("proxy_ignore_headers of its own level", accelTarget("/lvl/own/", "", xar("/ret/own")...)),
		serveRaw("HTTP/1.0 to a static file", "GET "+accelTarget("/p/", "", xar("/files/a.txt", carried...)...)+" HTTP/1.0\r\n\r\n"),
		harness.Request{Name: "keep-alive, then another request", Send: []string{"GET " + accelTarget("/p/", "", xar("/ret/ka1")...) + " HTTP/1.1\r\nHost: localhost\r\n\r\n" +
			"GET /ret/second HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"}, Responses: 2},
		plainGet("from an error_page =", "/epx/x"),
		plainGet("from an error_page =201", "/epx201/x"),
		plainGet("from an error_page to a missing file", "/epxf/x"),
		plainGet("the first of two", accelTarget("/p/", "", xar("/ret/first", "X-Accel-Redirect: /ret/second")...)),
		plainGet("proxied again", accelTarget("/p/", "", xar("/again/headers", carried...)...)),
		serveRaw("POST proxied again", "POST "+accelTarget("/p/", "", xar("/again/echo")...)+" HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"),
		serveRaw("chunked POST proxied again", "POST "+accelTarget("/p/", "", xar("/again/echo")...)+" HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
		serveRaw("a POST in a temporary file proxied again", "POST "+accelTarget("/p/", "", xar("/again/echo")...)+" HTTP/1.1\r\nHost: localhost\r\nContent-Length: 40000\r\nConnection: close\r\n\r\n"+strings.Repeat("0123456789", 4000)),
		serveRaw("POST intercepted, proxied again", "POST /icpt2/status/404 HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"),
		plainGet("from a 404 and a 500", accelTarget("/p/", "404", xar("/ret/from404")...)),
		plainGet("from a 500", accelTarget("/p/", "500", xar("/ret/from500")...)),
		plainGet("intercepted first", accelTarget("/icpt/", "404", xar("/ret/not-followed")...)),
		plainGet("not intercepted", accelTarget("/icpt/", "403", xar("/ret/followed")...)),
		plainGet("proxy_ignore_headers", accelTarget("/ign/", "", xar("/ret/ignored", carried...)...)),
		plainGet("ignored and passed", accelTarget("/ignpass/", "", xar("/ret/ignored", "X-Accel-Expires: 10", "X-Accel-Buffering: no")...)),
		plainGet("proxy_pass_header does not stop it", accelTarget("/pass/", "", xar("/ret/passed")...)),
		plainGet("proxy_hide_header does not apply", accelTarget("/hide/", "", xar("/ret/hidden", carried...)...)),
		plainGet("the cycle limit", "/loop"),
		plainGet("kept alive: no body", accelTarget("/ka/", "204", xar("/ret/ka")...)),
		plainGet("the same connection", "/ka/reqno"),
		plainGet("not kept: a body", accelTarget("/ka/", "", xar("/ret/ka")...)),
		plainGet("a new connection", "/ka/reqno"),
		plainGet("intercepted, no body: kept", "/kai/accel?s=404&b="),
		plainGet("the same connection after it", "/kai/reqno"),
		plainGet("intercepted with a body: not kept", "/kai/status/404"),
		plainGet("a new connection after it", "/kai/reqno"),
		serveRaw("error_page makes POST a GET", "POST /post/x HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
		plainGet("try_files drops the args", "/tf/?q=1"),
		plainGet("try_files replaces them", "/tfa/?q=1"),
		plainGet("error_page drops them", "/ep/?q=1"),
		plainGet("index keeps them", "/ix/?q=1"),
	)
	c.Content = map[string]string{"logs/.keep": "", "html/files/a.txt": "a file\n", "html/files/err.html": "error page\n",
		"html/ssi/page.html": "before <!--# include virtual=\"/p/accel?h=X-Accel-Redirect%3A+%2Fret%2Fsub&h=Set-Cookie%3A+s%3D1\" --> after\n"}
	c.AccessLogFiles = []string{"logs/xar.log"}
	c.ErrorLog = true
	// A range of the static file: the carried Accept-Ranges and the file's own.
	c.Requests[1].Send = []string{strings.Replace(c.Requests[1].Send[0], "\r\n\r\n", "\r\nRange: bytes=0-1\r\n\r\n", 1)}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// X-Accel-Charset, X-Accel-Limit-Rate, X-Accel-Expires and X-Accel-Buffering without a redirect.
func TestServeProxyAccelHeaders(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := serveProxyCase("X-Accel-*", `log_format lr "$uri lr=$limit_rate";
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    access_log logs/lr.log lr;
    location = /logs/lr.log { root .; access_log off; }
    location /p/ { proxy_pass http://{{BACKEND}}/; }
    location /ign/ { proxy_pass http://{{BACKEND}}/; proxy_ignore_headers X-Accel-Charset X-Accel-Limit-Rate; }
    location /src/ { proxy_pass http://{{BACKEND}}/; source_charset koi8-r; }
    location /files/ { root html; }
    location /cs/ { charset koi8-r; return 200 "charset\n"; }
    location /w/ { charset windows-1251; return 200 "charset\n"; }
}
`,
		plainGet("charset", accelTarget("/p/", "", "X-Accel-Charset: koi8-r")),
		plainGet("charset as the backend spells it", accelTarget("/p/", "", "X-Accel-Charset: KOI8-R")),
		plainGet("unknown charset", accelTarget("/p/", "", "X-Accel-Charset: nonesuch")),
		plainGet("empty charset", accelTarget("/p/", "", "X-Accel-Charset:")),
		plainGet("the type's own charset, the same", accelTarget("/p/", "", "Content-Type: text/html; charset=koi8-r", "X-Accel-Charset: koi8-r")),
		plainGet("the type's own charset, another", accelTarget("/p/", "", "Content-Type: text/html; charset=windows-1251", "X-Accel-Charset: koi8-r")),
		plainGet("source_charset", accelTarget("/src/", "", "X-Accel-Charset: windows-1251")),
		plainGet("the last of two", accelTarget("/p/", "", "X-Accel-Charset: nonesuch", "X-Accel-Charset: windows-1251")),
		plainGet("ignored", accelTarget("/ign/", "", "X-Accel-Charset: koi8-r", "X-Accel-Limit-Rate: 100000")),
		plainGet("charset on a redirected static file", accelTarget("/p/", "", "X-Accel-Charset: koi8-r", "X-Accel-Redirect: /files/a.txt")),
		plainGet("charset on an error page", accelTarget("/p/", "", "X-Accel-Charset: koi8-r", "X-Accel-Redirect: /files/missing")),
		plainGet("limit rate", accelTarget("/p/lr1", "", "X-Accel-Limit-Rate: 100000")),
		plainGet("limit rate, invalid", accelTarget("/p/lr2", "", "X-Accel-Limit-Rate: 10k")),
		plainGet("limit rate, the last valid", accelTarget("/p/lr3", "", "X-Accel-Limit-Rate: 200000", "X-Accel-Limit-Rate: x")),
		plainGet("expires and buffering hidden", accelTarget("/p/", "", "X-Accel-Expires: 10", "X-Accel-Buffering: no")),
		// No variable of this configuration reads the backend's head: its
		// headers are kept for the redirect all the same.
		plainGet("a redirect carries the backend's headers", accelTarget("/p/", "", "X-Accel-Redirect: /files/a.txt",
			"Set-Cookie: a=1", "Cache-Control: no-cache", "Content-Type: text/blah", "Content-Disposition: attachment", "X-Other: dropped")),
		plainGet("log", "/logs/lr.log"),
	)
	c.Content = map[string]string{"logs/.keep": "", "html/files/a.txt": "a file\n"}
	c.ErrorLog = true
	harness.Compare(t, c, want, got, serveAssets(t))
}
