package difftest

import (
	"testing"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

func msieGet(name, target, ua string) harness.Request {
	return serveRaw(name, "GET "+target+" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nUser-Agent: "+ua+"\r\n\r\n")
}

// msie_refresh, nginx vs gonginx: redirects to MSIE become a 200 page
// with a meta Refresh (return, error_page's URL, a directory's
// redirect, inside an SSI include), others keep their 30x.
func TestServeMSIERefresh(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	const msie = "Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 6.1)"
	c := harness.Case{Name: "msie_refresh", Config: `server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    msie_refresh on;
    location / { }
    location /r { return 301 text; }
    location /abs { return 302 http://example.com/a"b<c>; }
    location /space { return 301 "space "; }
    location /ep { return 301; error_page 301 text; }
    location /ep404 { error_page 404 http://example.com/nf; }
    location /off { msie_refresh off; return 301 text; }
    location /s.html { ssi on; }
    location /code { return 307 /x; }
}
`,
		Content: map[string]string{"html/dir/index.html": "i\n", "html/s.html": "X<!--#include virtual=\"/r\" -->X\n"},
		Requests: []harness.Request{
			msieGet("return 301", "/r", msie),
			msieGet("absolute, escaped", "/abs", msie),
			msieGet("space", "/space", msie),
			msieGet("error_page URL", "/ep", msie),
			msieGet("error_page for 404", "/ep404", msie),
			msieGet("off", "/off", msie),
			msieGet("directory redirect", "/dir", msie),
			msieGet("307 untouched", "/code", msie),
			msieGet("ssi include", "/s.html", msie),
			msieGet("not MSIE", "/r", "Mozilla/5.0 Gecko/20100101 Firefox/115.0"),
			msieGet("Opera claiming MSIE", "/r", "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1) Opera 8.50"),
			serveRaw("HEAD", "HEAD /r HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nUser-Agent: "+msie+"\r\n\r\n"),
		},
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}
