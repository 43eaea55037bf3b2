package difftest

import (
	"os"
	"strings"
	"testing"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// fastcgi_cache, scgi_cache and uwsgi_cache, nginx vs gonginx: the proxy
// cache's machinery under the other protocols, each with its backend of
// the tests' own (which echoes the params it got, so a hit shows the
// first request's): a miss then a hit, a 404 stored by *_cache_valid, a
// 500 not stored, a bypass, HEAD (passed as HEAD: these modules have no
// convert_head) and a GET after it.
func TestServeCGICache(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	fcgi, scgi, uwsgi := startFCGIServer(t), startSCGIServer(t), startCGIServer(t, true)
	content := map[string]string{}
	for _, f := range []string{"fastcgi_params", "scgi_params", "uwsgi_params"} {
		b, err := os.ReadFile("/etc/nginx/" + f)
		if err != nil {
			t.Fatal(err)
		}
		content[f] = string(b)
	}
	loc := func(prefix, mod, addr string) string {
		return strings.NewReplacer("PREFIX", prefix, "MOD", mod, "ADDR", addr).Replace(`
    location /PREFIX/ {
        MOD_pass ADDR;
        include MOD_params;
        MOD_cache PREFIX;
        MOD_cache_key $uri$is_args$args;
        MOD_cache_valid 200 404 1m;
        MOD_cache_bypass $arg_by;
        MOD_no_cache $arg_no;
        MOD_cache_methods GET HEAD;
    }`)
	}
	var reqs []harness.Request
	for _, p := range []string{"f", "s", "u"} {
		reqs = append(reqs,
			plainGet(p+": a miss", "/"+p+"/a"),
			plainGet(p+": a hit", "/"+p+"/a"),
			plainGet(p+": a 404 stored", "/"+p+"/status"),
			plainGet(p+": the 404 hit", "/"+p+"/status"),
			plainGet(p+": a 500", "/"+p+"/e500"),
			plainGet(p+": a 500 again", "/"+p+"/e500"),
			plainGet(p+": bypass", "/"+p+"/a?by=1"),
			plainGet(p+": no_cache", "/"+p+"/n?no=1"),
			plainGet(p+": no_cache: a miss again", "/"+p+"/n?no=1"),
			serveRaw(p+": HEAD stored", "HEAD /"+p+"/h HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
			plainGet(p+": GET after HEAD", "/"+p+"/h"),
		)
	}
	c := harness.Case{Name: "cgi cache", Content: content, Requests: reqs,
		Config: `fastcgi_cache_path fcache keys_zone=f:1m;
scgi_cache_path scache keys_zone=s:1m;
uwsgi_cache_path ucache keys_zone=u:1m;
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    add_header X-Cache $upstream_cache_status always;` +
			loc("f", "fastcgi", fcgi.addr()) + loc("s", "scgi", scgi.addr()) + loc("u", "uwsgi", uwsgi.addr()) + `
}
`}
	harness.Compare(t, c, want, got, serveAssets(t))
}
