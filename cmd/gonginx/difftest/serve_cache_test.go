package difftest

import (
	"testing"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// The proxy cache, nginx vs gonginx: sequences of requests with $upstream_cache_status in a
// header, and what the backend receives (nothing on a hit). Expiry is made without waiting:
// "X-Accel-Expires: @1" stores an entry already expired, so the next request for its key finds
// it EXPIRED (stale for proxy_cache_use_stale, revalidated with proxy_cache_revalidate).
func TestServeProxyCache(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	// The cache's temporary files in the case's own directory: in the
	// compiled-in /var/lib/nginx/proxy, which every nginx shares, a file
	// left there (a killed nginx's 0000000001) made nginx's first one
	// collide and its temp number jump by a random step, which the
	// multipart boundary of "several ranges on the hit" shows.
	c := serveProxyCase("proxy_cache", `proxy_cache_path cache levels=1:2 keys_zone=z:1m;
proxy_temp_path proxy_temp;
log_format cs "$request_uri $status $upstream_cache_status";
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    access_log logs/cs.log cs;
    add_header X-Cache $upstream_cache_status always;
    proxy_cache z;
    proxy_cache_valid 200 404 1m;
    location /c/ { proxy_pass http://{{BACKEND}}/; }
    location /by/ { proxy_pass http://{{BACKEND}}/; proxy_cache_bypass $arg_nocache; proxy_no_cache $arg_nostore; }
    location /k/ {
        proxy_pass http://{{BACKEND}}/;
        proxy_cache_key $arg_k;
        proxy_cache_use_stale http_500 error;
        proxy_cache_revalidate on;
    }
    location /off/ { proxy_pass http://{{BACKEND}}/; proxy_cache off; }
    location /m/ { proxy_pass http://{{BACKEND}}/m/; proxy_cache_min_uses 2; }
    location /ign/ { proxy_pass http://{{BACKEND}}/; proxy_ignore_headers Set-Cookie Cache-Control; }
    location /bg/ {
        proxy_pass http://{{BACKEND}}/;
        proxy_cache_key $arg_k;
        proxy_cache_use_stale updating;
        proxy_cache_background_update on;
    }
    location = /bgpage.html { ssi on; root html; }
    location = /bgpage2.html { ssi on; root html; }
    location /bg2/ {
        proxy_pass http://{{BACKEND}}/;
        proxy_cache_key $arg_k;
        proxy_cache_use_stale updating;
        proxy_cache_background_update on;
        log_subrequest on;
    }
    location /icpt/ {
        proxy_pass http://{{BACKEND}}/;
        proxy_intercept_errors on;
        error_page 404 = /ret/404;
    }
    location /ret/ { return 200 "error page $uri $upstream_cache_status\n"; }
    location /nh/ { proxy_pass http://{{BACKEND}}/; proxy_cache_convert_head off; }
    location /fr/ { proxy_pass http://{{BACKEND}}/; proxy_cache off; proxy_force_ranges on; }
    location /mro/ { proxy_pass http://{{BACKEND}}/; proxy_cache_max_range_offset 2; }
    location /dead/ { proxy_pass http://127.0.0.1:1/; proxy_cache_key $arg_k; proxy_cache_use_stale error; }
}
`,
		plainGet("a miss", "/c/a"),
		plainGet("a hit: the backend sees nothing", "/c/a"),
		serveRaw("HEAD from the cache", "HEAD /c/a HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
		serveRaw("HEAD first: GET sent, stored", "HEAD /c/h HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
		plainGet("then GET hits", "/c/h"),
		serveRaw("convert_head off: HEAD sent, its head stored", "HEAD /nh/h HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
		plainGet("convert_head off: GET gets that head", "/nh/h"),
		serveRaw("the client's conditionals are not passed", "GET /c/cond HTTP/1.1\r\nHost: localhost\r\nIf-Modified-Since: Thu, 01 Jan 1970 00:00:01 GMT\r\nRange: bytes=0-1\r\nConnection: close\r\n\r\n"),
		serveRaw("POST is not cached", "POST /c/a HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi"),
		plainGet("a 404 cached", "/c/status/404"),
		plainGet("a 404 hit", "/c/status/404"),
		plainGet("a 500: not valid", "/c/status/500"),
		plainGet("a 500 again", "/c/status/500"),
		plainGet("Cache-Control no-cache", "/c/accel?h=Cache-Control:%20no-cache"),
		plainGet("Cache-Control no-cache again", "/c/accel?h=Cache-Control:%20no-cache"),
		plainGet("Cache-Control max-age=0", "/c/accel?h=Cache-Control:%20max-age=0"),
		plainGet("Cache-Control max-age=0 again", "/c/accel?h=Cache-Control:%20max-age=0"),
		plainGet("Set-Cookie", "/c/accel?h=Set-Cookie:%20a=1"),
		plainGet("Set-Cookie again", "/c/accel?h=Set-Cookie:%20a=1"),
		plainGet("Set-Cookie ignored", "/ign/accel?h=Set-Cookie:%20a=1&h=Cache-Control:%20private"),
		plainGet("Set-Cookie ignored: a hit", "/ign/accel?h=Set-Cookie:%20a=1&h=Cache-Control:%20private"),
		plainGet("X-Accel-Expires 0", "/c/accel?h=X-Accel-Expires:%200"),
		plainGet("X-Accel-Expires 0 again", "/c/accel?h=X-Accel-Expires:%200"),
		plainGet("Expires in the past", "/c/accel?h=Expires:%20Thu,%2001%20Jan%201970%2000:00:01%20GMT"),
		plainGet("Expires in the past again", "/c/accel?h=Expires:%20Thu,%2001%20Jan%201970%2000:00:01%20GMT"),
		plainGet("Vary *", "/c/accel?h=Vary:%20*"),
		plainGet("Vary * again", "/c/accel?h=Vary:%20*"),
		serveRaw("Vary: one value", "GET /c/accel?h=Vary:%20X-V HTTP/1.1\r\nHost: localhost\r\nX-V: 1\r\nConnection: close\r\n\r\n"),
		serveRaw("Vary: the same value hits", "GET /c/accel?h=Vary:%20X-V HTTP/1.1\r\nHost: localhost\r\nX-V: 1\r\nConnection: close\r\n\r\n"),
		serveRaw("Vary: another value misses", "GET /c/accel?h=Vary:%20X-V HTTP/1.1\r\nHost: localhost\r\nX-V: 2\r\nConnection: close\r\n\r\n"),
		serveRaw("Vary: that value hits", "GET /c/accel?h=Vary:%20X-V HTTP/1.1\r\nHost: localhost\r\nX-V: 2\r\nConnection: close\r\n\r\n"),
		serveRaw("Vary: the first still hits", "GET /c/accel?h=Vary:%20X-V HTTP/1.1\r\nHost: localhost\r\nX-V: 1\r\nConnection: close\r\n\r\n"),
		plainGet("bypass", "/by/b?nocache=1"),
		plainGet("after bypass: stored", "/by/b"),
		plainGet("no_cache: not stored", "/by/n?nostore=1"),
		plainGet("no_cache: a miss", "/by/n"),
		plainGet("cache off", "/off/a"),
		plainGet("min_uses 2: first", "/m/a"),
		plainGet("min_uses 2: second stores", "/m/a"),
		plainGet("min_uses 2: hit", "/m/a"),
		plainGet("stored expired", "/k/accel?k=s&h=X-Accel-Expires:%20@1"),
		plainGet("expired, the backend's 500: stale", "/k/status/500?k=s"),
		plainGet("expired: fetched again", "/k/accel?k=e&h=X-Accel-Expires:%20@1&b=first"),
		plainGet("expired again", "/k/accel?k=e&b=second"),
		plainGet("a fresh one now", "/k/accel?k=e&b=third"),
		plainGet("stored expired with an ETag", "/k/accel?k=r&h=X-Accel-Expires:%20@1&h=ETag:%20%22t1%22&h=Last-Modified:%20Mon,%2028%20Sep%201970%2006:00:00%20GMT"),
		plainGet("revalidated by a 304", "/k/accel?k=r&s=304&b="),
		plainGet("revalidated: a hit now", "/k/accel?k=r&b=other"),
		serveRaw("not modified from the cache", "GET /k/accel?k=r HTTP/1.1\r\nHost: localhost\r\nIf-None-Match: \"t1\"\r\nConnection: close\r\n\r\n"),
		plainGet("range stored", "/c/accel?h=Accept-Ranges:%20bytes&b=0123456789"),
		serveRaw("range from the cache", "GET /c/accel?h=Accept-Ranges:%20bytes&b=0123456789 HTTP/1.1\r\nHost: localhost\r\nRange: bytes=2-4\r\nConnection: close\r\n\r\n"),
		serveRaw("a range on a miss", "GET /c/accel?h=Accept-Ranges:%20bytes&b=abcdefghij HTTP/1.1\r\nHost: localhost\r\nRange: bytes=1-3\r\nConnection: close\r\n\r\n"),
		serveRaw("several ranges on the hit", "GET /c/accel?h=Accept-Ranges:%20bytes&b=abcdefghij HTTP/1.1\r\nHost: localhost\r\nRange: bytes=0-1,5-\r\nConnection: close\r\n\r\n"),
		serveRaw("If-Range with the wrong ETag", "GET /c/accel?h=Accept-Ranges:%20bytes&b=abcdefghij HTTP/1.1\r\nHost: localhost\r\nRange: bytes=1-3\r\nIf-Range: \"x\"\r\nConnection: close\r\n\r\n"),
		serveRaw("a range past the end", "GET /c/accel?h=Accept-Ranges:%20bytes&b=abcdefghij HTTP/1.1\r\nHost: localhost\r\nRange: bytes=20-\r\nConnection: close\r\n\r\n"),
		serveRaw("proxy_force_ranges, not cached", "GET /fr/accel?b=0123456789 HTTP/1.1\r\nHost: localhost\r\nRange: bytes=-3\r\nConnection: close\r\n\r\n"),
		serveRaw("proxy_force_ranges, past the end", "GET /fr/accel?b=0123456789 HTTP/1.1\r\nHost: localhost\r\nRange: bytes=30-\r\nConnection: close\r\n\r\n"),
		serveRaw("proxy_force_ranges, several: one only", "GET /fr/accel?b=0123456789 HTTP/1.1\r\nHost: localhost\r\nRange: bytes=0-1,3-4\r\nConnection: close\r\n\r\n"),
		serveRaw("a range above max_range_offset: passed on", "GET /mro/accel?b=0123456789 HTTP/1.1\r\nHost: localhost\r\nRange: bytes=5-\r\nConnection: close\r\n\r\n"),
		serveRaw("a range below it: kept back", "GET /mro/accel?b=0123456789&x=1 HTTP/1.1\r\nHost: localhost\r\nRange: bytes=1-\r\nConnection: close\r\n\r\n"),
		plainGet("a chunked response", "/c/chunked"),
		plainGet("a chunked response hit", "/c/chunked"),
		plainGet("no length", "/c/nolength"),
		plainGet("no length hit", "/c/nolength"),
		plainGet("background: stored expired", "/bg/accel?k=bg&h=X-Accel-Expires:%20@1&b=old"),
		plainGet("background: stale, then fetched", "/bg/accel?k=bg&b=new"),
		plainGet("background: the new one", "/bg/accel?k=bg&b=newer"),
		plainGet("background in ssi: stored expired", "/bg/accel?k=bgs&h=X-Accel-Expires:%20@1&b=old"),
		plainGet("background in ssi: the page has the stale one; the update, after it, gets the page's headers", "/bgpage.html"),
		plainGet("background in ssi: updated", "/bg/accel?k=bgs&b=newer"),
		plainGet("two includes of one stale key: stored expired", "/bg2/accel?k=bg2&h=X-Accel-Expires:%20@1&b=old"),
		plainGet("two includes of one stale key: the first STALE, its queued update keeps the key updating, the second UPDATING: one fetch", "/bgpage2.html"),
		plainGet("two includes of one stale key: updated once", "/bg2/accel?k=bg2&b=newer"),
		plainGet("an intercepted 404", "/icpt/status/404"),
		plainGet("an intercepted 404 cached", "/icpt/status/404"),
		plainGet("dead backend: stale on error", "/dead/x?k=s"),
		plainGet("dead backend: no entry", "/dead/x?k=none"),
	)
	c.Content = map[string]string{"logs/.keep": "", "proxy_temp/.keep": "", "html/bgpage.html": "a <!--#include virtual=\"/bg/accel?k=bgs&b=new\" --> z\n",
		"html/bgpage2.html": "a <!--#include virtual=\"/bg2/accel?k=bg2&b=new\" --> <!--#include virtual=\"/bg2/accel?k=bg2&b=new\" --> z\n"}
	c.AccessLogFiles = []string{"logs/cs.log"}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// The slice module over the proxy cache, nginx vs gonginx: the location proxies to a static
// location of the same server, which answers each $slice_range with a 206; the client gets the
// whole body or its ranges, each slice cached on its own.
func TestServeSlice(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	get := func(name, target, extra string) harness.Request {
		return serveRaw(name, "GET "+target+" HTTP/1.1\r\nHost: localhost\r\n"+extra+"Connection: close\r\n\r\n")
	}
	c := serveProxyCase("slice", `proxy_cache_path cache keys_zone=s:1m;
log_format sl "$request_uri $status $upstream_cache_status $slice_range";
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    access_log logs/sl.log sl;
    location /files/ { root html; access_log off; }
    location /s/ {
        slice 4;
        proxy_pass http://127.0.0.1:{{PORT}}/files/;
        proxy_cache s;
        proxy_cache_key $uri$is_args$args$slice_range;
        proxy_set_header Range $slice_range;
        proxy_cache_valid 200 206 1h;
        add_header X-Cache $upstream_cache_status;
    }
    location /p/ {
        slice 3;
        proxy_pass http://127.0.0.1:{{PORT}}/files/;
        proxy_set_header Range $slice_range;
    }
}
`,
		get("whole", "/s/t.txt", ""),
		get("whole, cached", "/s/t.txt", ""),
		get("a range inside one slice", "/s/t.txt", "Range: bytes=5-6\r\n"),
		get("a range across slices", "/s/t.txt", "Range: bytes=3-10\r\n"),
		get("a suffix range", "/s/t.txt", "Range: bytes=-5\r\n"),
		get("an open range", "/s/t.txt?o", "Range: bytes=13-\r\n"),
		get("several ranges: the whole", "/s/t.txt", "Range: bytes=0-1,4-5\r\n"),
		get("If-None-Match", "/s/t.txt", "If-None-Match: *\r\n"),
		get("uncached slices", "/p/t.txt", ""),
		get("uncached, a range", "/p/t.txt", "Range: bytes=4-8\r\n"),
		serveRaw("HEAD", "HEAD /s/t.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
	)
	c.Content = map[string]string{"logs/.keep": "", "html/files/t.txt": "0123456789abcdefghij"}
	c.AccessLogFiles = []string{"logs/sl.log"}
	harness.Compare(t, c, want, got, serveAssets(t))
}
