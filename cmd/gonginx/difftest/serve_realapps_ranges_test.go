package difftest

import (
	"strings"
	"testing"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// Ranges of answers that real sites' caching headers dress: a proxy
// cache's hits (the range filter serves them) and proxy_force_ranges, with
// expires and add_header chosen by map on $sent_http_content_type, as
// h5bp's and CDN origins' configs set them; a header showing $status as
// the headers filter sees it (200 above the range filter).
func TestServeAppRangesDressed(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{Name: "ranges dressed", Clock: harness.ClockRelative, ErrorMessages: true,
		AccessLogFiles: []string{"ranges.log"}, Mask: func(l, token string) string {
			// Under /files/ the length was read first by add_header, for
			// the file: nginx keeps a variable's value for the request.
			if strings.Contains(l, " /files/") {
				return l
			}
			return maskMainLog(l, token)
		},
		Content: map[string]string{
			"files/a.txt": "0123456789abcdefghijklmnopqrstuvwxyz\n", "files/empty.txt": "", "files/p.html": "<p>hi</p>\n",
			"pre/app.css": "body{color:red}\n", "pre/app.css.gz": "\x1f\x8b\x08\x00gzipped-css-bytes",
		},
		Config: `proxy_cache_path rcache levels=1:2 keys_zone=rcache:1m;

map $sent_http_content_type $expires_by_type {
    default    1y;
    ""         off;
    ~text/html epoch;
}

map $sent_http_content_type $cc_by_type {
    default    "public, immutable";
    ""         "no-store";
    ~text/html "private";
}

# $sent_http_content_length, not $body_bytes_sent: two gzip encoders
# need not make the same bytes.
log_format ranges '"$request" $status $sent_http_content_length "$sent_http_content_range"';

server {
    listen 127.0.0.1:{{PORT}};
    server_name media.example.com;
    access_log ranges.log ranges;

    gzip on;
    gzip_vary on;
    gzip_types text/plain;
    gzip_min_length 1;
    gzip_proxied any;

    expires $expires_by_type;
    add_header Cache-Control $cc_by_type;
    add_header X-Always yes always;

    location /cached/ {
        proxy_pass http://{{BACKEND}}/;
        proxy_cache rcache;
        proxy_cache_valid 200 10m;
        add_header Cache-Control $cc_by_type;
        add_header X-Cache $upstream_cache_status always;
    }

    location /files/ {
        root .;
        charset utf-8;
        charset_types text/plain text/css;
        add_header X-Range-Always $http_range always;
        add_header X-Status-Seen $status always;
        add_header X-Type-Seen $sent_http_content_type always;
        add_header X-Length-Seen $sent_http_content_length always;
    }

    location /pre/ {
        root .;
        gzip_static on;
    }

    location /forced/ {
        proxy_pass http://{{BACKEND}}/;
        proxy_force_ranges on;
    }
}
`}
	h := "media.example.com"
	obj := "/cached/made?ct=text/plain&n=200"
	c.Requests = []harness.Request{
		appGet("a miss", h, obj),
		appGet("a hit with a range", h, obj, "Range: bytes=0-9"),
		appGet("a hit with an unsatisfiable range", h, obj, "Range: bytes=5000-"),
		appGet("a hit with two ranges", h, obj, "Range: bytes=0-1,5-6"),
		appGet("a hit with a range and gzip", h, obj, "Range: bytes=0-9", "Accept-Encoding: gzip"),
		appGet("a file: a suffix range", h, "/files/a.txt", "Range: bytes=-5"),
		appGet("a file: a zero suffix", h, "/files/a.txt", "Range: bytes=-0"),
		appGet("a file: zero and last", h, "/files/a.txt", "Range: bytes=0-0,-1"),
		appGet("a file: overlapping ranges", h, "/files/a.txt", "Range: bytes=0-10,5-15"),
		appGet("a file: ranges past the end", h, "/files/a.txt", "Range: bytes=30-100"),
		appGet("a file: a bad unit", h, "/files/a.txt", "Range: items=0-1"),
		appGet("a file: a range and a matching If-None-Match", h, "/files/a.txt", "Range: bytes=0-1", `If-None-Match: "65937d25-25"`),
		appGet("a file: a range and an older If-Modified-Since", h, "/files/a.txt", "Range: bytes=0-1", "If-Modified-Since: Mon, 01 Jan 2024 00:00:00 GMT"),
		appGet("a file: If-Range by date", h, "/files/a.txt", "Range: bytes=0-1", "If-Range: Tue, 02 Jan 2024 03:04:05 GMT"),
		appReq("a file: HEAD with a range", "HEAD", h, "/files/a.txt", "Range: bytes=0-1"),
		appGet("an empty file with a range", h, "/files/empty.txt", "Range: bytes=0-1"),
		appGet("an html file unsatisfiable", h, "/files/p.html", "Range: bytes=500-"),
		appGet("a pre-gzipped file with a range", h, "/pre/app.css", "Range: bytes=0-3", "Accept-Encoding: gzip"),
		appGet("a pre-gzipped file unsatisfiable", h, "/pre/app.css", "Range: bytes=900-", "Accept-Encoding: gzip"),
		appGet("the plain one unsatisfiable", h, "/pre/app.css", "Range: bytes=900-"),
		appGet("forced ranges", h, "/forced/made?ct=text/plain&n=200", "Range: bytes=10-19"),
		appGet("forced, unsatisfiable", h, "/forced/made?ct=text/plain&n=200", "Range: bytes=900-"),
		appGet("forced, an html answer unsatisfiable", h, "/forced/made?ct=text/html&n=200", "Range: bytes=900-"),
		appGet("forced, chunked: no length, no ranges", h, "/forced/made?ct=text/plain&n=200&chunked=1", "Range: bytes=10-19"),
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// Microcaching in front of WordPress as guides publish it: a cache skip
// by map on the cookie, the backend's Cache-Control, Expires and
// Set-Cookie ignored for caching, stale while updating in the
// background, the lock, HEAD converted, the status in a header.
func TestServeAppMicrocache(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{Name: "microcache", ErrorMessages: true,
		Config: `proxy_cache_path microcache levels=1:2 keys_zone=microcache:10m inactive=600s max_size=100m;

map $http_cookie $no_cache {
    default 0;
    ~SESS 1;
    ~wordpress_logged_in 1;
}

map $request_method $purge_method {
    PURGE   1;
    default 0;
}

server {
    listen 127.0.0.1:{{PORT}};
    server_name blog.example.com;

    location / {
        proxy_pass http://{{BACKEND}};
        proxy_set_header Host $host;

        proxy_cache microcache;
        proxy_cache_key $scheme$host$request_method$request_uri;
        proxy_cache_valid 200 301 302 10m;
        proxy_cache_valid 404 1m;
        proxy_cache_use_stale error timeout updating http_500 http_502 http_503 http_504;
        proxy_cache_background_update on;
        proxy_cache_lock on;
        proxy_cache_revalidate on;
        proxy_cache_min_uses 1;
        proxy_cache_bypass $no_cache $arg_nocache;
        proxy_no_cache $no_cache;
        proxy_ignore_headers Cache-Control Expires Set-Cookie;
        proxy_hide_header Set-Cookie;

        add_header X-Cache-Status $upstream_cache_status;
    }

    location /wp-admin/ {
        proxy_pass http://{{BACKEND}};
        proxy_set_header Host $host;
        add_header X-Cache-Status $upstream_cache_status;
    }
}
`}
	h := "blog.example.com"
	c.Requests = []harness.Request{
		appGet("a page with cookies and no-cache: a miss", h, "/headers"),
		appGet("again: a hit despite the backend's headers", h, "/headers"),
		appGet("a logged-in reader: bypassed", h, "/headers", "Cookie: wordpress_logged_in_abc=1"),
		appGet("bypassed by argument", h, "/headers?nocache=1"),
		appGet("a page with Expires in the past: a miss", h, "/caching"),
		appGet("again: a hit", h, "/caching"),
		appGet("a conditional request on a hit", h, "/caching", `If-None-Match: "up"`),
		appReq("HEAD: a miss, fetched as GET", "HEAD", h, "/page-head"),
		appGet("then GET: a miss, the method is in the key", h, "/page-head"),
		appGet("a 404 cached", h, "/status/404"),
		appGet("a 404 hit", h, "/status/404"),
		appGet("a 500 not cached", h, "/status/500"),
		withBody("a comment POST: not cached", "POST", h, "/wp-comments-post.php", "application/x-www-form-urlencoded", "comment=hi"),
		appGet("the admin: never cached", h, "/wp-admin/index.php"),
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}
