package difftest

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// Applications' published nginx configurations, as their users deploy
// them (paths and ports moved into the test's prefix), served by nginx
// and gonginx with the requests each application's clients send.

// appGet is a GET to a named host, closing the connection.
func appGet(name, host, target string, extra ...string) harness.Request {
	return hostGet(name, host, target, extra...)
}

func appReq(name, method, host, target string, extra ...string) harness.Request {
	h := ""
	for _, x := range extra {
		h += x + "\r\n"
	}
	return serveRaw(name, method+" "+target+" HTTP/1.1\r\nHost: "+host+"\r\nConnection: close\r\n"+h+"\r\n")
}

// overH2 is the same requests as HTTP/2 streams over ALPN "h2", one
// connection each (without the HTTP/1 Connection header, which a stream
// must not carry); WebSocket upgrades stay HTTP/1.1.
func overH2(reqs []harness.Request) []harness.Request {
	var out []harness.Request
	for _, r := range reqs {
		if r.WS != nil || len(r.Send) != 1 || strings.Contains(r.Send[0], "Upgrade:") {
			continue
		}
		r.H2 = true
		r.Send = []string{strings.Replace(r.Send[0], "Connection: close\r\n", "", 1)}
		out = append(out, r)
	}
	return out
}

// fcgiParamsContent is Debian's fastcgi_params and fastcgi.conf, for configs that include them.
func fcgiParamsContent(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, f := range []string{"fastcgi_params", "fastcgi.conf"} {
		b, err := os.ReadFile("/etc/nginx/" + f)
		if err != nil {
			t.Fatal(err)
		}
		out[f] = string(b)
	}
	return out
}

// Symfony's documented minimum: index.php is the only script, reached
// only internally through try_files; any other .php is a 404.
func TestServeAppSymfony(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	fpm := startPHPFPM(t)
	content := fcgiParamsContent(t)
	content["public/index.php"] = phpApp
	content["public/other.php"] = "<?php echo 'other';"
	content["public/build/app.css"] = "body{}\n"
	c := harness.Case{Name: "symfony", Content: content, Clock: harness.ClockRelative, ErrorMessages: true,
		Config: `server {
    listen 127.0.0.1:{{PORT}};
    server_name symfony.example.com;
    root public;

    location / {
        try_files $uri /index.php$is_args$args;
    }

    location /bundles {
        try_files $uri =404;
    }

    location ~ ^/index\.php(/|$) {
        fastcgi_pass ` + fpm + `;
        fastcgi_split_path_info ^(.+\.php)(/.*)$;
        include fastcgi_params;
        fastcgi_param SCRIPT_FILENAME $realpath_root$fastcgi_script_name;
        fastcgi_param DOCUMENT_ROOT $realpath_root;
        internal;
    }

    location ~ \.php$ {
        return 404;
    }

    error_log stderr;
}
`}
	h := "symfony.example.com"
	c.Requests = []harness.Request{
		appGet("home", h, "/"),
		appGet("a route with a query", h, "/blog/post-1?page=2&sort=desc"),
		appGet("a static asset", h, "/build/app.css"),
		appGet("a missing asset under bundles", h, "/bundles/x.js"),
		appGet("index.php asked for directly", h, "/index.php"),
		appGet("index.php with a path asked for directly", h, "/index.php/blog"),
		appGet("another script", h, "/other.php"),
		appReq("POST to a route", "POST", h, "/login", "Content-Type: application/x-www-form-urlencoded", "Content-Length: 7"),
		appGet("an encoded route", h, "/caf%C3%A9/a%20b?q=%2F"),
	}
	c.Requests[7].Send[0] += "u=a&p=b"
	harness.Compare(t, c, want, got, serveAssets(t))
}

// Laravel's documented server block: front controller, favicon and
// robots quiet, 404s handed to index.php, dot files denied.
func TestServeAppLaravel(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	fpm := startPHPFPM(t)
	content := fcgiParamsContent(t)
	content["public/index.php"] = phpApp
	content["public/robots.txt"] = "User-agent: *\n"
	content["public/.env"] = "APP_KEY=secret\n"
	content["public/.well-known/security.txt"] = "Contact: x\n"
	content["public/css/app.css"] = "body{color:red}\n"
	c := harness.Case{Name: "laravel", Content: content, Clock: harness.ClockRelative,
		Config: `server {
    listen 127.0.0.1:{{PORT}};
    server_name laravel.example.com;
    root public;

    add_header X-Frame-Options "SAMEORIGIN";
    add_header X-Content-Type-Options "nosniff";

    index index.php;

    charset utf-8;

    location / {
        try_files $uri $uri/ /index.php?$query_string;
    }

    location = /favicon.ico { access_log off; log_not_found off; }
    location = /robots.txt  { access_log off; log_not_found off; }

    error_page 404 /index.php;

    location ~ ^/index\.php(/|$) {
        fastcgi_pass ` + fpm + `;
        fastcgi_param SCRIPT_FILENAME $realpath_root$fastcgi_script_name;
        include fastcgi_params;
        fastcgi_hide_header X-Powered-By;
    }

    location ~ /\.(?!well-known).* {
        deny all;
    }

    location ~* \.(jpg|jpeg|png|gif|ico|css|js|woff|woff2)$ {
        expires 1y;
        add_header Cache-Control "public, immutable";
    }
}
`}
	h := "laravel.example.com"
	c.Requests = []harness.Request{
		appGet("home", h, "/"),
		appGet("a route", h, "/users/42?tab=posts"),
		appGet("favicon missing", h, "/favicon.ico"),
		appGet("robots", h, "/robots.txt"),
		appGet("dot env denied", h, "/.env"),
		appGet("well-known served", h, "/.well-known/security.txt"),
		appGet("css with expires", h, "/css/app.css"),
		appGet("missing css goes to index.php by error_page", h, "/css/missing.css"),
		appGet("a php path not index", h, "/foo.php"),
		appGet("headers from the app", h, "/index.php?a=headers"),
		appGet("a status from the app", h, "/index.php?a=status"),
		appReq("HEAD home", "HEAD", h, "/"),
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// WordPress with a FastCGI page cache, the usual skip rules, and the
// security blocks guides publish (xmlrpc, dot files, uploads' scripts).
func TestServeAppWordPressCache(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	fpm := startPHPFPM(t)
	content := fcgiParamsContent(t)
	content["wp/index.php"] = phpApp
	content["wp/wp-login.php"] = "<?php echo 'login ', $_SERVER['REQUEST_METHOD'], \"\\n\";"
	content["wp/xmlrpc.php"] = "<?php echo 'xmlrpc';"
	content["wp/.htaccess"] = "deny\n"
	content["wp/wp-content/uploads/evil.php"] = "<?php echo 'evil';"
	content["wp/wp-content/uploads/pic.png"] = "PNGDATA"
	content["wp/wp-config.php"] = "<?php echo 'config';"
	c := harness.Case{Name: "wordpress cache", Content: content, Clock: harness.ClockRelative,
		Config: `fastcgi_cache_path wpcache levels=1:2 keys_zone=WORDPRESS:10m inactive=60m;
fastcgi_cache_key "$scheme$request_method$host$request_uri";
fastcgi_cache_use_stale error timeout invalid_header http_500;
fastcgi_ignore_headers Cache-Control Expires Set-Cookie;

server {
    listen 127.0.0.1:{{PORT}};
    server_name blog.example.com www.blog.example.com;
    root wp;
    index index.php;

    set $skip_cache 0;
    if ($request_method = POST) {
        set $skip_cache 1;
    }
    if ($query_string != "") {
        set $skip_cache 1;
    }
    if ($request_uri ~* "/wp-admin/|/xmlrpc.php|wp-.*.php|/feed/|index.php|sitemap(_index)?.xml") {
        set $skip_cache 1;
    }
    if ($http_cookie ~* "comment_author|wordpress_[a-f0-9]+|wp-postpass|wordpress_no_cache|wordpress_logged_in") {
        set $skip_cache 1;
    }

    location = /favicon.ico { log_not_found off; access_log off; }
    location = /robots.txt { allow all; log_not_found off; access_log off; }

    location = /xmlrpc.php { deny all; access_log off; log_not_found off; }
    location ~ /\.ht { deny all; }
    location ~* /(?:uploads|files)/.*\.php$ { deny all; }
    location ~* wp-config.php { deny all; }

    location / {
        try_files $uri $uri/ /index.php?$args;
    }

    location ~ \.php$ {
        try_files $uri =404;
        fastcgi_split_path_info ^(.+\.php)(/.+)$;
        include fastcgi.conf;
        fastcgi_intercept_errors on;
        fastcgi_pass ` + fpm + `;
        fastcgi_cache_bypass $skip_cache;
        fastcgi_no_cache $skip_cache;
        fastcgi_cache WORDPRESS;
        fastcgi_cache_valid 200 60m;
        add_header X-FastCGI-Cache $upstream_cache_status;
    }

    location ~* \.(js|css|png|jpg|jpeg|gif|ico|svg)$ {
        expires max;
        log_not_found off;
    }
}
`}
	h := "blog.example.com"
	c.Requests = []harness.Request{
		appGet("a permalink: miss", h, "/2024/01/hello-world/"),
		appGet("the permalink again: hit", h, "/2024/01/hello-world/"),
		appGet("with a query: bypass", h, "/2024/01/hello-world/?p=1"),
		appGet("a logged-in cookie: bypass", h, "/2024/01/hello-world/", "Cookie: wordpress_logged_in_abc=1"),
		appReq("POST comment: bypass", "POST", h, "/wp-login.php", "Content-Length: 0"),
		appGet("xmlrpc denied", h, "/xmlrpc.php"),
		appReq("xmlrpc POST denied", "POST", h, "/xmlrpc.php", "Content-Length: 0"),
		appGet(".htaccess denied", h, "/.htaccess"),
		appGet("a script in uploads denied", h, "/wp-content/uploads/evil.php"),
		appGet("an image in uploads", h, "/wp-content/uploads/pic.png"),
		appGet("wp-config denied", h, "/wp-config.php"),
		appGet("a missing script", h, "/nope.php"),
		appGet("an app error intercepted", h, "/index.php?a=status"),
		appGet("a missing image", h, "/wp-content/uploads/none.png"),
		appGet("the feed", h, "/feed/"),
		appGet("the other host name", "www.blog.example.com", "/2024/01/hello-world/"),
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// Django behind gunicorn as its deployment docs show it: static and
// media by alias, everything else try_files to a named proxy location.
func TestServeAppDjango(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{Name: "django", Clock: harness.ClockRelative,
		Content: map[string]string{
			"site/static/css/base.css": "body{}\n", "site/media/a.jpg": "JPEG", "site/html/500.html": "oops\n",
			"site/html/robots.txt": "robots\n",
		},
		Config: `upstream app_server {
    server {{BACKEND}} fail_timeout=0;
}

server {
    listen 127.0.0.1:{{PORT}} default_server;
    return 444;
}

server {
    listen 127.0.0.1:{{PORT}};
    client_max_body_size 4G;
    server_name django.example.com;
    keepalive_timeout 5;

    root site/html;

    location /static/ {
        alias site/static/;
    }
    location /media {
        alias site/media;
    }

    location / {
        try_files $uri @proxy_to_app;
    }

    location @proxy_to_app {
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header Host $http_host;
        proxy_redirect off;
        proxy_pass http://app_server;
    }

    error_page 500 502 503 504 /500.html;
    location = /500.html {
        root site/html;
    }
}
`}
	h := "django.example.com"
	c.Requests = []harness.Request{
		appGet("a view", h, "/admin/login/?next=/admin/"),
		appGet("static", h, "/static/css/base.css"),
		appGet("static missing", h, "/static/css/none.css"),
		appGet("media", h, "/media/a.jpg"),
		appGet("media prefix without slash", h, "/mediaa.jpg"),
		appGet("a file in root", h, "/robots.txt"),
		appGet("a backend 500 passed", h, "/status/500"),
		appGet("a backend redirect passed as is", h, "/redirect"),
		appGet("unknown host: 444", "other.example.com", "/"),
		appReq("POST with body", "POST", h, "/api/items/", "Content-Type: application/json", "Content-Length: 9"),
		appGet("X-Forwarded-For appended", h, "/xff", "X-Forwarded-For: 10.0.0.1"),
	}
	c.Requests[9].Send[0] += `{"a":"b"}`
	harness.Compare(t, c, want, got, serveAssets(t))
}

// Jenkins' documented reverse proxy: static rewrite, userContent from
// disk with a fallback rewrite, the app through an upstream with
// keepalive, WebSocket upgrade map, buffering off.
func TestServeAppJenkins(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{Name: "jenkins", Clock: harness.ClockRelative,
		Content: map[string]string{
			"jenkins/war/css/style.css": "war css\n", "jenkins/home/userContent/readme.txt": "user content\n",
		},
		Config: `upstream jenkins {
    keepalive 32;
    server {{BACKEND}};
}

map $http_upgrade $connection_upgrade {
    default upgrade;
    '' close;
}

server {
    listen 127.0.0.1:{{PORT}};
    server_name jenkins.example.com;

    root jenkins/war/;

    ignore_invalid_headers off;

    location ~ "^/static/[0-9a-fA-F]{8}\/(.*)$" {
        rewrite "^/static/[0-9a-fA-F]{8}\/(.*)" /$1 last;
    }

    location /userContent {
        root jenkins/home/;
        if (!-f $request_filename) {
            rewrite (.*) /$1 last;
            break;
        }
        sendfile on;
    }

    location / {
        sendfile off;
        proxy_pass http://jenkins;
        proxy_redirect default;
        proxy_http_version 1.1;

        proxy_set_header Connection $connection_upgrade;
        proxy_set_header Upgrade $http_upgrade;

        proxy_set_header Host $http_host;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_max_temp_file_size 0;

        client_max_body_size 10m;
        client_body_buffer_size 128k;

        proxy_connect_timeout 90;
        proxy_send_timeout 90;
        proxy_read_timeout 90;
        proxy_buffering off;
        proxy_request_buffering off;
        proxy_set_header Connection "";
    }
}
`}
	h := "jenkins.example.com"
	c.Requests = []harness.Request{
		appGet("dashboard", h, "/"),
		appGet("a static resource rewritten to the root", h, "/static/abcdef12/css/style.css"),
		appGet("a static resource missing", h, "/static/abcdef12/css/none.css"),
		appGet("userContent from disk", h, "/userContent/readme.txt"),
		appGet("userContent missing: rewritten", h, "/userContent/missing.txt"),
		appGet("an invalid header name passed", h, "/job/x/api/json", "X_Jenkins_Crumb: abc"),
		appReq("a chunked upload unbuffered", "POST", h, "/job/x/build", "Transfer-Encoding: chunked"),
		{Name: "websocket (Connection reset to empty)", Send: []string{"GET /wsagents/ HTTP/1.1\r\nHost: " + h + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + serveWSKey + "\r\nSec-WebSocket-Version: 13\r\n\r\n"}},
		appGet("a backend redirect rewritten", h, "/redirect"),
	}
	c.Requests[6].Send[0] += "5\r\nhello\r\n0\r\n\r\n"
	harness.Compare(t, c, want, got, serveAssets(t))
}

// Nextcloud's recommended server block (its admin manual), over TLS with
// php-fpm: the .well-known redirects, the denied paths, the rewrite of
// scripts that are not entry points to index.php, PATH_INFO, the asset
// cache headers with the immutable map, and a types block beside
// mime.types.
func TestServeAppNextcloud(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	fpm := startPHPFPM(t)
	content := fcgiParamsContent(t)
	content["nc/index.php"] = phpApp
	content["nc/remote.php"] = phpApp
	content["nc/status.php"] = phpApp
	content["nc/cron.php"] = phpApp
	content["nc/apps/files/js/main.js"] = "console.log(1)\n"
	content["nc/core/js/mod.mjs"] = "export {}\n"
	content["nc/core/img/a.wasm"] = "\x00asm"
	content["nc/core/fonts/f.woff2"] = "woff2"
	content["nc/config/config.php"] = "<?php $CONFIG = [];"
	content["nc/.htaccess"] = "x\n"
	content["nc/.well-known/acme-challenge/tok"] = "token\n"
	content["nc/robots.txt"] = "User-agent: *\nDisallow: /\n"
	c := harness.Case{Name: "nextcloud", Content: content, Clock: harness.ClockRelative, Files: []string{"cert.pem", "key.pem"}, TLS: true, SNI: "cloud.example.com",
		Config: `upstream php-handler {
    server ` + fpm + `;
}

map $arg_v $asset_immutable {
    "" "";
    default ", immutable";
}

server {
    listen 127.0.0.1:{{PORT}} ssl http2;
    server_name cloud.example.com;

    root nc;

    ssl_certificate     {{CERT}};
    ssl_certificate_key {{KEY}};

    server_tokens off;

    client_max_body_size 512M;
    client_body_timeout 300s;
    fastcgi_buffers 64 4K;

    gzip on;
    gzip_vary on;
    gzip_comp_level 4;
    gzip_min_length 256;
    gzip_proxied expired no-cache no-store private no_last_modified no_etag auth;
    gzip_types application/atom+xml text/javascript application/javascript application/json application/ld+json application/manifest+json application/rss+xml application/vnd.geo+json application/vnd.ms-fontobject application/wasm application/x-font-ttf application/x-web-app-manifest+json application/xhtml+xml application/xml font/opentype image/bmp image/svg+xml image/x-icon text/cache-manifest text/css text/plain text/vcard text/vnd.rim.location.xloc text/vtt text/x-component text/x-cross-domain-policy;

    client_body_buffer_size 512k;

    add_header Referrer-Policy                   "no-referrer"       always;
    add_header X-Content-Type-Options            "nosniff"           always;
    add_header X-Frame-Options                   "SAMEORIGIN"        always;
    add_header X-Permitted-Cross-Domain-Policies "none"              always;
    add_header X-Robots-Tag                      "noindex, nofollow" always;
    add_header X-XSS-Protection                  "1; mode=block"     always;

    fastcgi_hide_header X-Powered-By;

    include /etc/nginx/mime.types;
    types {
        text/javascript mjs;
    }

    index index.php index.html /index.php$request_uri;

    location = / {
        if ( $http_user_agent ~ ^DavClnt ) {
            return 302 /remote.php/webdav/$is_args$args;
        }
    }

    location = /robots.txt {
        allow all;
        log_not_found off;
        access_log off;
    }

    location ^~ /.well-known {
        location = /.well-known/carddav { return 301 /remote.php/dav/; }
        location = /.well-known/caldav  { return 301 /remote.php/dav/; }

        location /.well-known/acme-challenge    { try_files $uri $uri/ =404; }
        location /.well-known/pki-validation    { try_files $uri $uri/ =404; }

        return 301 /index.php$request_uri;
    }

    location ~ ^/(?:build|tests|config|lib|3rdparty|templates|data)(?:$|/)  { return 404; }
    location ~ ^/(?:\.|autotest|occ|issue|indie|db_|console)                { return 404; }

    location ~ \.php(?:$|/) {
        rewrite ^/(?!index|remote|public|cron|core\/ajax\/update|status|ocs\/v[12]|updater\/.+|ocs-provider\/.+|.+\/richdocumentscode(_arm64)?\/proxy) /index.php$request_uri;

        fastcgi_split_path_info ^(.+?\.php)(/.*)$;
        set $path_info $fastcgi_path_info;

        try_files $fastcgi_script_name =404;

        include fastcgi_params;
        fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
        fastcgi_param PATH_INFO $path_info;
        fastcgi_param HTTPS on;

        fastcgi_param modHeadersAvailable true;
        fastcgi_param front_controller_active true;
        fastcgi_pass php-handler;

        fastcgi_intercept_errors on;
        fastcgi_request_buffering off;

        fastcgi_max_temp_file_size 0;
    }

    location ~ \.(?:css|js|mjs|svg|gif|png|jpg|ico|wasm|tflite|map|ogg|flac)$ {
        try_files $uri /index.php$request_uri;
        add_header Cache-Control "public, max-age=15778463$asset_immutable";
        access_log off;

        location ~ \.wasm$ {
            default_type application/wasm;
        }
    }

    location ~ \.woff2?$ {
        try_files $uri /index.php$request_uri;
        expires 7d;
        access_log off;
    }

    location /remote {
        return 301 /remote.php$request_uri;
    }

    location / {
        try_files $uri $uri/ /index.php$request_uri;
    }
}
`}
	h := "cloud.example.com"
	c.Requests = []harness.Request{
		appGet("root: index.php", h, "/"),
		appGet("root from a WebDAV client", h, "/?x=1", "User-Agent: DavClnt"),
		appGet("login route", h, "/login?redirect_url=/apps/files"),
		appGet("apps route", h, "/apps/files/"),
		appGet("caldav redirect", h, "/.well-known/caldav"),
		appGet("carddav redirect", h, "/.well-known/carddav"),
		appGet("acme token", h, "/.well-known/acme-challenge/tok"),
		appGet("acme missing", h, "/.well-known/acme-challenge/none"),
		appGet("other well-known", h, "/.well-known/webfinger?resource=acct:a"),
		appGet("config denied", h, "/config/config.php"),
		appGet("data denied", h, "/data"),
		appGet("htaccess denied", h, "/.htaccess"),
		appGet("occ denied", h, "/occ"),
		appGet("status.php", h, "/status.php"),
		appGet("remote.php with path info", h, "/remote.php/dav/files/admin/"),
		appReq("PROPFIND on remote.php", "PROPFIND", h, "/remote.php/dav/files/admin/", "Depth: 1", "Content-Length: 0"),
		appGet("a script that is not an entry point", h, "/apps/foo/ajax/x.php?y=1"),
		appGet("ocs v2", h, "/ocs/v2.php/cloud/capabilities?format=json", "OCS-APIRequest: true"),
		appGet("a js asset", h, "/apps/files/js/main.js"),
		appGet("a js asset versioned: immutable", h, "/apps/files/js/main.js?v=abc"),
		appGet("a js asset gzipped", h, "/apps/files/js/main.js", "Accept-Encoding: gzip"),
		appGet("an mjs asset typed by the types block", h, "/core/js/mod.mjs"),
		appGet("a wasm asset", h, "/core/img/a.wasm"),
		appGet("a missing asset: index.php", h, "/core/css/none.css"),
		appGet("a font", h, "/core/fonts/f.woff2"),
		appGet("remote without .php", h, "/remote/dav"),
		appGet("robots", h, "/robots.txt"),
		appGet("an app error intercepted", h, "/index.php?a=status"),
		appGet("index.php redirect", h, "/index.php?a=redirect"),
	}
	harness.Compare(t, c, want, got, serveAssets(t))
	// Browsers reach "listen ... ssl http2" over HTTP/2.
	t.Run("h2", func(t *testing.T) {
		h2 := c
		h2.Requests = overH2(c.Requests)
		harness.Compare(t, h2, want, got, serveAssets(t))
	})
}

// The CORS preflight recipe (enable-cors.org style) with an origin map,
// and a method allow-list by if.
func TestServeAppCORS(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{Name: "cors", Clock: harness.ClockRelative,
		Config: `map $http_origin $cors_origin {
    default "";
    "~^https?://(www\.)?example\.com(:[0-9]+)?$" $http_origin;
    "https://app.example.org" $http_origin;
}

server {
    listen 127.0.0.1:{{PORT}};
    server_name api.example.com;

    if ($request_method !~ ^(GET|HEAD|POST|PUT|DELETE|OPTIONS)$) {
        return 405;
    }

    location /api/ {
        if ($request_method = 'OPTIONS') {
            add_header 'Access-Control-Allow-Origin' $cors_origin;
            add_header 'Access-Control-Allow-Methods' 'GET, POST, PUT, DELETE, OPTIONS';
            add_header 'Access-Control-Allow-Headers' 'DNT,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,Range,Authorization';
            add_header 'Access-Control-Max-Age' 1728000;
            add_header 'Content-Type' 'text/plain; charset=utf-8';
            add_header 'Content-Length' 0;
            return 204;
        }
        add_header 'Access-Control-Allow-Origin' $cors_origin always;
        add_header 'Access-Control-Allow-Credentials' 'true' always;
        add_header 'Access-Control-Expose-Headers' 'Content-Length,Content-Range' always;
        add_header Vary Origin always;
        proxy_pass http://{{BACKEND}}/v1/;
        proxy_set_header Host $host;
    }

    location / {
        return 404 '{"error":"not found"}';
        default_type application/json;
    }
}
`}
	h := "api.example.com"
	c.Requests = []harness.Request{
		appReq("preflight from an allowed origin", "OPTIONS", h, "/api/items", "Origin: https://www.example.com", "Access-Control-Request-Method: PUT"),
		appReq("preflight from another origin", "OPTIONS", h, "/api/items", "Origin: https://evil.example.net"),
		appGet("GET from an allowed origin", h, "/api/items?page=1", "Origin: https://app.example.org"),
		appGet("GET without an origin", h, "/api/items"),
		appGet("a backend error still gets CORS headers", h, "/api/status/500", "Origin: http://example.com:8080"),
		appReq("PATCH refused by the method list", "PATCH", h, "/api/items/1", "Content-Length: 0"),
		appReq("TRACE refused", "TRACE", h, "/"),
		appGet("JSON 404", h, "/nothing"),
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// Rate and connection limits as guides configure them against login
// brute force, with the 429 status and a JSON error page.
func TestServeAppRateLimit(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{Name: "rate limit", Clock: harness.ClockRelative,
		Content: map[string]string{"html/index.html": "home\n", "html/429.json": "{\"error\":\"slow down\"}\n"},
		Config: `limit_req_zone $binary_remote_addr zone=login:10m rate=1r/m;
limit_req_zone $binary_remote_addr zone=api:10m rate=1r/m;
limit_conn_zone $binary_remote_addr zone=addr:10m;
limit_req_status 429;
limit_conn_status 429;
limit_req_log_level warn;

server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    root html;
    limit_conn addr 20;

    error_page 429 /429.json;
    location = /429.json { internal; default_type application/json; }

    location = /login {
        limit_req zone=login burst=2 nodelay;
        proxy_pass http://{{BACKEND}};
    }
    location /api/ {
        limit_req zone=api;
        proxy_pass http://{{BACKEND}};
    }
    location / { }
}
`}
	c.Requests = []harness.Request{
		plainGet("login 1", "/login"),
		plainGet("login 2 (burst)", "/login"),
		plainGet("login 3 (burst)", "/login"),
		plainGet("login 4: limited", "/login"),
		plainGet("api 1", "/api/x"),
		plainGet("api 2: limited", "/api/x"),
		plainGet("static not limited", "/"),
		plainGet("the error page is internal", "/429.json"),
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// A blocklist by geo and map (bad bots, banned addresses), return 444,
// basic auth with satisfy any for an admin area, and stub_status.
func TestServeAppBlocklistAuth(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{Name: "blocklist auth", Clock: harness.ClockRelative,
		Content: map[string]string{"html/index.html": "home\n", "html/admin/index.html": "admin\n",
			"htpasswd": "admin:{PLAIN}secret\nops:$apr1$q2G1HZ4x$2nOy1D4ucyh4gwZq9Ewxu/\n"},
		Config: `geo $blocked_ip {
    default 0;
    10.0.0.0/8 1;
    192.0.2.1 1;
}

geo $trusted {
    default 0;
    127.0.0.1 1;
}

map $http_user_agent $bad_bot {
    default 0;
    ~*(semrush|ahrefs|mj12bot) 1;
    "~*^python-requests" 1;
    "" 1;
}

map $request_uri $blocked_path {
    default 0;
    ~*\.(git|svn|env) 1;
    ~*/wp-login\.php 1;
}

server {
    listen 127.0.0.1:{{PORT}};
    server_name site.example.com;
    root html;

    if ($bad_bot) { return 444; }
    if ($blocked_ip) { return 403; }
    if ($blocked_path) { return 404; }

    location / { }

    location /admin/ {
        satisfy any;
        deny 127.0.0.2;
        allow 192.0.2.0/24;
        deny all;
        auth_basic "Admin area";
        auth_basic_user_file htpasswd;
    }

    location /private/ {
        if ($trusted = 0) { return 403; }
        auth_basic "Private";
        auth_basic_user_file htpasswd;
        alias html/admin/;
    }

    location = /nginx_status {
        stub_status;
        access_log off;
        allow 10.1.0.0/16;
        deny all;
    }
}
`}
	h := "site.example.com"
	c.Requests = []harness.Request{
		appGet("home", h, "/", "User-Agent: Mozilla/5.0"),
		appGet("a bad bot: 444", h, "/", "User-Agent: Mozilla/5.0 (compatible; SemrushBot/7)"),
		serveRaw("no user agent: 444", "GET / HTTP/1.1\r\nHost: "+h+"\r\nConnection: close\r\n\r\n"),
		appGet("python-requests: 444", h, "/", "User-Agent: python-requests/2.31"),
		appGet("a .git probe", h, "/.git/config", "User-Agent: Mozilla/5.0"),
		appGet("wp-login probe", h, "/blog/wp-login.php?x", "User-Agent: Mozilla/5.0"),
		appGet("admin without credentials", h, "/admin/", "User-Agent: Mozilla/5.0"),
		appGet("admin with plain credentials", h, "/admin/", "User-Agent: Mozilla/5.0", "Authorization: "+basicAuth("admin", "secret")),
		appGet("admin with a wrong password", h, "/admin/", "User-Agent: Mozilla/5.0", "Authorization: "+basicAuth("admin", "nope")),
		appGet("admin with an apr1 password", h, "/admin/", "User-Agent: Mozilla/5.0", "Authorization: "+basicAuth("ops", "password")),
		appGet("private from a trusted address", h, "/private/", "User-Agent: Mozilla/5.0", "Authorization: "+basicAuth("admin", "secret")),
		appGet("stub_status denied", h, "/nginx_status", "User-Agent: Mozilla/5.0"),
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// A proxy_cache for static assets in front of an app, with the cache
// status header, stale serving, and the h5bp gzip block; an SPA's history
// fallback beside it; error_page chains to a named location and an
// internal page.
func TestServeAppProxyCacheSPA(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{Name: "proxy cache spa", Clock: harness.ClockRelative,
		Content: map[string]string{
			"dist/index.html":     "<!doctype html><div id=app></div>\n",
			"dist/assets/app.js":  "console.log('spa');\n" + string(make([]byte, 0)),
			"dist/assets/app.css": "body{margin:0}\n",
			"errors/50x.html":     "maintenance\n",
			"errors/404.html":     "not here\n",
		},
		Config: `proxy_cache_path cache levels=1:2 keys_zone=static:10m max_size=100m inactive=7d use_temp_path=off;

gzip on;
gzip_comp_level 5;
gzip_min_length 256;
gzip_proxied any;
gzip_vary on;
gzip_types application/atom+xml application/javascript application/json application/xml text/css text/plain text/xml;

server {
    listen 127.0.0.1:{{PORT}};
    server_name app.example.com;
    root dist;

    location / {
        try_files $uri $uri/ /index.html;
    }

    location = /index.html {
        add_header Cache-Control "no-cache";
    }

    location /assets/ {
        expires 1y;
        add_header Cache-Control "public, immutable";
        access_log off;
        try_files $uri =404;
    }

    location /media/ {
        proxy_pass http://{{BACKEND}};
        proxy_cache static;
        proxy_cache_valid 200 302 60m;
        proxy_cache_valid 404 1m;
        proxy_cache_use_stale error timeout updating http_500 http_502 http_503 http_504;
        proxy_cache_lock on;
        proxy_ignore_headers Set-Cookie;
        proxy_hide_header Set-Cookie;
        add_header X-Cache-Status $upstream_cache_status;
    }

    location /api/ {
        proxy_pass http://{{BACKEND}};
        proxy_intercept_errors on;
        error_page 404 = @spa;
        error_page 500 502 503 504 /50x.html;
    }

    location @spa {
        rewrite ^ /index.html last;
    }

    location = /50x.html {
        root errors;
        internal;
    }
}
`}
	h := "app.example.com"
	c.Requests = []harness.Request{
		appGet("the shell", h, "/"),
		appGet("a client route falls back to the shell", h, "/settings/profile"),
		appGet("an asset", h, "/assets/app.js", "Accept-Encoding: gzip, deflate, br"),
		appGet("a missing asset is a 404", h, "/assets/none.js"),
		appGet("media: a miss", h, "/media/logo.svg"),
		appGet("media: a hit", h, "/media/logo.svg"),
		appGet("media with a cookie header: a miss", h, "/media/headers"),
		appGet("media headers again: a hit, cookies hidden", h, "/media/headers"),
		appGet("media 404 cached", h, "/media/status/404"),
		appGet("media 404 hit", h, "/media/status/404"),
		appGet("media gzipped by the proxy", h, "/media/made?ct=application/json&n=2000", "Accept-Encoding: gzip"),
		appGet("an api 404 to the SPA", h, "/api/status/404"),
		appGet("an api 502 to the maintenance page", h, "/api/status/502"),
		appGet("the maintenance page is internal", h, "/50x.html"),
		appReq("HEAD the shell", "HEAD", h, "/"),
		appGet("index.html with If-Modified-Since", h, "/index.html", imsExact),
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// Mastodon's shipped site (dist/nginx.conf): static files straight from
// public/ in nested locations, the app through a cache, the streaming
// API unbuffered, WebSocket upgrades by map, one error page for all.
func TestServeAppMastodon(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{Name: "mastodon", Clock: harness.ClockRelative, Files: []string{"cert.pem", "key.pem"}, TLS: true, SNI: "social.example.com",
		Content: map[string]string{
			"public/sw.js": "self.addEventListener('x',()=>{})\n", "public/packs/app.js": "pack\n",
			"public/system/media/1.png": "PNG", "public/500.html": "<h1>oops</h1>\n",
		},
		Config: `map $http_upgrade $connection_upgrade {
  default upgrade;
  ''      close;
}

upstream backend {
    server {{BACKEND}} fail_timeout=0;
}

upstream streaming {
    server {{BACKEND}} fail_timeout=0;
}

proxy_cache_path cache levels=1:2 keys_zone=CACHE:10m inactive=7d max_size=1g;

server {
  listen 127.0.0.1:{{PORT}} ssl http2;
  server_name social.example.com;

  ssl_protocols TLSv1.2 TLSv1.3;
  ssl_ciphers HIGH:!MEDIUM:!LOW:!aNULL:!NULL:!SHA;
  ssl_prefer_server_ciphers on;
  ssl_session_cache shared:SSL:10m;
  ssl_session_tickets off;
  ssl_certificate     {{CERT}};
  ssl_certificate_key {{KEY}};

  keepalive_timeout    70;
  sendfile             on;
  client_max_body_size 80m;

  root public;

  gzip on;
  gzip_disable "msie6";
  gzip_vary on;
  gzip_proxied any;
  gzip_comp_level 6;
  gzip_buffers 16 8k;
  gzip_http_version 1.1;
  gzip_types text/plain text/css application/json application/javascript text/xml application/xml application/xml+rss text/javascript image/svg+xml image/x-icon;

  location / {
    location = /sw.js {
      add_header Cache-Control "public, max-age=604800, must-revalidate";
      add_header Strict-Transport-Security "max-age=63072000; includeSubDomains";
      try_files $uri =404;
    }

    location ~ ^/(assets|avatars|emoji|headers|packs|shortcuts|sounds)/ {
      add_header Cache-Control "public, max-age=2419200, must-revalidate";
      add_header Strict-Transport-Security "max-age=63072000; includeSubDomains";
      try_files $uri =404;
    }

    location /system/ {
      add_header Cache-Control "public, max-age=2419200, immutable";
      add_header Strict-Transport-Security "max-age=63072000; includeSubDomains";
      try_files $uri =404;
    }

    proxy_set_header Host $host;
    proxy_set_header X-Real-IP $remote_addr;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_set_header X-Forwarded-Proto $scheme;
    proxy_set_header Proxy "";
    proxy_pass_header Server;

    proxy_pass http://backend;
    proxy_buffering on;
    proxy_redirect off;
    proxy_http_version 1.1;
    proxy_set_header Upgrade $http_upgrade;
    proxy_set_header Connection $connection_upgrade;

    proxy_cache CACHE;
    proxy_cache_valid 200 7d;
    proxy_cache_valid 410 24h;
    proxy_cache_use_stale error timeout updating http_500 http_502 http_503 http_504;
    add_header X-Cached $upstream_cache_status;

    tcp_nodelay on;
  }

  location ^~ /api/v1/streaming {
    proxy_set_header Host $host;
    proxy_set_header X-Real-IP $remote_addr;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_set_header X-Forwarded-Proto $scheme;
    proxy_set_header Proxy "";

    proxy_pass http://streaming;
    proxy_buffering off;
    proxy_redirect off;
    proxy_http_version 1.1;
    proxy_set_header Upgrade $http_upgrade;
    proxy_set_header Connection $connection_upgrade;

    add_header Strict-Transport-Security "max-age=63072000; includeSubDomains";

    tcp_nodelay on;
  }

  error_page 404 500 501 502 503 504 /500.html;
}
`}
	h := "social.example.com"
	c.Requests = []harness.Request{
		appGet("home timeline page: a miss", h, "/home"),
		appGet("again: a hit", h, "/home"),
		appGet("the service worker", h, "/sw.js"),
		appGet("a pack", h, "/packs/app.js", "Accept-Encoding: gzip"),
		appGet("a missing pack: the error page", h, "/packs/none.js"),
		appGet("a media file", h, "/system/media/1.png"),
		appGet("the server header passed", h, "/headers"),
		appGet("a 410 cached", h, "/users/gone/status/410"),
		appGet("a 500 from the app: the error page", h, "/status/500"),
		appGet("an API call with Proxy set", h, "/api/v1/instance", "Proxy: http://evil"),
		{Name: "streaming websocket", Send: []string{"GET /api/v1/streaming?stream=user HTTP/1.1\r\nHost: " + h + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + serveWSKey + "\r\nSec-WebSocket-Version: 13\r\n\r\n"}, WS: serveFrames()[:2]},
		appGet("streaming SSE chunked", h, "/api/v1/streaming/chunked"),
	}
	harness.Compare(t, c, want, got, serveAssets(t))
	// Browsers reach "listen ... ssl http2" over HTTP/2.
	t.Run("h2", func(t *testing.T) {
		h2 := c
		h2.Requests = overH2(c.Requests)
		harness.Compare(t, h2, want, got, serveAssets(t))
	})
}

// Discourse's sample (config/nginx.sample.conf): a root from a variable,
// nested regex locations that break out of rewrites, X-Accel-Mapping,
// an internal backups prefix, a 204 favicon, ETag off.
func TestServeAppDiscourse(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{Name: "discourse", Clock: harness.ClockRelative,
		Content: map[string]string{
			"public/assets/app.js": "discourse asset\n", "public/assets/app.js.gz": "not really gzip",
			"public/assets/font.woff2": "woff", "public/uploads/default/1.png": "PNG",
			"public/backups/db.tar.gz": "secret", "public/robots.txt": "robots\n",
			"public/plugins/p.js": "plugin\n",
		},
		Setup: func(dir string) error {
			// The config's $public is absolute; it is the prefix's public/.
			return nil
		},
		Config: `types {
    text/csv csv;
}

upstream discourse {
  server {{BACKEND}};
}

proxy_cache_path cache keys_zone=one:10m max_size=200m;

map $http_x_forwarded_proto $thescheme {
  default $scheme;
  https https;
}

server {
  listen 127.0.0.1:{{PORT}};
  gzip on;
  gzip_vary on;
  gzip_min_length 1000;
  gzip_comp_level 5;
  gzip_types application/json text/css application/x-javascript application/javascript;

  server_name forum.example.com;
  server_tokens off;
  sendfile on;
  keepalive_timeout 65;
  client_max_body_size 10m;

  set $public public;

  etag off;

  location ^~ /backups/ {
    internal;
  }

  location /favicon.ico {
    return 204;
    access_log off;
    log_not_found off;
  }

  location / {
    root $public;
    add_header ETag "";

    location ~* assets/.*\.(eot|ttf|woff|woff2|ico)$ {
      expires 1y;
      add_header Cache-Control public,immutable;
      add_header Access-Control-Allow-Origin *;
    }

    location = /srv/status {
      access_log off;
      log_not_found off;
      proxy_set_header Host $http_host;
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $thescheme;
      proxy_pass http://discourse;
      break;
    }

    location ~ ^/assets/(?<asset_path>.+)$ {
      expires 1y;
      gzip_static on;
      add_header Cache-Control public,immutable;
      break;
    }

    location ~ ^/plugins/ {
      expires 1y;
      add_header Cache-Control public,immutable;
    }

    location ~ /_?emoji.*\.(png|gif|jpg|jpeg)$/ {
      expires 1y;
      add_header Cache-Control public,immutable;
    }

    location ~ ^/uploads/ {
      proxy_set_header Host $http_host;
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $thescheme;
      proxy_set_header X-Sendfile-Type X-Accel-Redirect;
      proxy_set_header X-Accel-Mapping $public/=/downloads/;
      expires 1y;
      add_header Cache-Control public,immutable;

      location ~ /stylesheet-cache/ {
          try_files $uri =404;
      }
      location ~* \.(gif|png|jpg|jpeg|bmp|tif|tiff|svg|ico|webp)$ {
          try_files $uri =404;
      }
      location ~ /_?optimized/ {
          try_files $uri =404;
      }

      proxy_pass http://discourse;
      break;
    }

    location ~ ^/(letter_avatar/|user_avatar|highlight-js|stylesheets|favicon/proxied) {
      proxy_set_header Host $http_host;
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $thescheme;
      proxy_ignore_headers "Set-Cookie";
      proxy_hide_header "Set-Cookie";
      proxy_cache one;
      proxy_cache_valid 200 301 302 7d;
      proxy_cache_valid any 1m;
      proxy_pass http://discourse;
      break;
    }

    location /letter_avatar_proxy/ {
      proxy_method GET;
      proxy_pass_request_headers off;
      proxy_pass_request_body off;
      proxy_ignore_headers "Set-Cookie";
      proxy_hide_header "Set-Cookie";
      proxy_cache one;
      proxy_cache_key $uri;
      proxy_cache_valid 200 7d;
      proxy_cache_valid 404 1m;
      proxy_set_header Connection "";
      proxy_pass http://{{BACKEND}}/;
      break;
    }

    location /message-bus/ {
      proxy_set_header Host $http_host;
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $thescheme;
      proxy_http_version 1.1;
      proxy_buffering off;
      proxy_pass http://discourse;
      break;
    }

    try_files $uri @discourse;
  }

  location /downloads/ {
    internal;
    alias $public/;
  }

  location @discourse {
    proxy_set_header Host $http_host;
    proxy_set_header X-Real-IP $remote_addr;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_set_header X-Forwarded-Proto $thescheme;
    proxy_pass http://discourse;
  }
}
`}
	h := "forum.example.com"
	c.Requests = []harness.Request{
		appGet("a topic page", h, "/t/hello/1"),
		appGet("a file in public", h, "/robots.txt"),
		appGet("favicon: 204", h, "/favicon.ico"),
		appGet("backups are internal", h, "/backups/db.tar.gz"),
		appGet("an asset", h, "/assets/app.js"),
		appGet("an asset, gzip_static", h, "/assets/app.js", "Accept-Encoding: gzip"),
		appGet("a font asset", h, "/assets/font.woff2"),
		appGet("a missing asset", h, "/assets/none.js"),
		appGet("a plugin", h, "/plugins/p.js"),
		appGet("an upload image from disk", h, "/uploads/default/1.png"),
		appGet("an upload by the app with X-Accel-Mapping", h, "/uploads/default/original/1X/a.pdf", "X-Forwarded-Proto: https"),
		appGet("status", h, "/srv/status"),
		appGet("user avatar cached: miss", h, "/user_avatar/forum/bob/45/1.png"),
		appGet("user avatar cached: hit", h, "/user_avatar/forum/bob/45/1.png"),
		appReq("letter avatar proxy: POST becomes GET, no headers", "POST", h, "/letter_avatar_proxy/v4/letter/b/45.png", "X-Secret: 1", "Content-Length: 4"),
		appGet("message bus", h, "/message-bus/abc/poll"),
		appGet("downloads are internal", h, "/downloads/robots.txt"),
		appGet("a csv typed by the types block", h, "/export.csv"),
	}
	c.Requests[14].Send[0] += "body"
	// The backend is told of a body it does not get and waits: the client gives up.
	c.Requests[14].AwaitRequests, c.Requests[14].HangUpAfter, c.Requests[14].Settle = 1, 200*time.Millisecond, 300*time.Millisecond
	harness.Compare(t, c, want, got, serveAssets(t))
}

// PeerTube's shipped site (support/nginx/peertube): try_files /dev/null
// to named locations, auth_request against an internal location that
// proxies, limit_except, regex captures in alias and try_files, CORS
// preflights in if, rewrite ... break with try_files, $limit_rate.
func TestServeAppPeerTube(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{Name: "peertube", Clock: harness.ClockRelative,
		Content: map[string]string{
			"pt/peertube-latest/client/dist/assets/images/logo.svg": "<svg/>",
			"pt/peertube-latest/client/dist/main.js":                "main\n",
			"pt/storage/thumbnails/t1.jpg":                          "JPG",
			"pt/storage/videos/v1.mp4":                              "MP4DATA0123456789",
			"pt/storage/streaming-playlists/hls/x-fragmented.mp4":   "HLS",
		},
		Config: `upstream backend {
  server {{BACKEND}};
}

server {
  listen 127.0.0.1:{{PORT}};
  server_name tube.example.com;

  location ^~ '/.well-known/acme-challenge' {
    default_type "text/plain";
    root certbot;
  }

  location @api {
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_set_header Host            $host;
    proxy_set_header X-Real-IP       $remote_addr;
    client_max_body_size  100k;
    proxy_connect_timeout 10m;
    proxy_send_timeout    10m;
    proxy_read_timeout    10m;
    send_timeout          10m;
    proxy_pass http://backend;
  }

  location / {
    try_files /dev/null @api;
  }

  location = /check-auth {
    internal;
    proxy_set_header Content-Length "";
    proxy_pass_request_body off;
    try_files /dev/null @api;
  }

  location = /api/v1/videos/upload {
    limit_except POST HEAD { deny all; }
    auth_request /check-auth;
    client_max_body_size                      8G;
    add_header            X-File-Maximum-Size 8G always;
    try_files /dev/null @api;
  }

  location @api_websocket {
    proxy_http_version 1.1;
    proxy_set_header   X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_set_header   Host            $host;
    proxy_set_header   X-Real-IP       $remote_addr;
    proxy_set_header   Upgrade         $http_upgrade;
    proxy_set_header   Connection      "upgrade";
    proxy_pass http://backend;
  }

  location /socket.io {
    try_files /dev/null @api_websocket;
  }

  root pt/storage;

  gzip              on;
  gzip_vary         on;
  gzip_types        text/css application/javascript font/truetype font/opentype application/vnd.ms-fontobject image/svg+xml;
  gzip_min_length   1000;
  gzip_buffers      16 8k;
  gzip_comp_level   2;
  reset_timedout_connection on;

  location ~ ^/client/(assets/images/(icons/icon-36x36\.png|logo\.svg|favicon\.png))$ {
    add_header Cache-Control "public, max-age=31536000, immutable";
    root pt;
    try_files /storage/client-overrides/$1 /peertube-latest/client/dist/$1 @api;
  }

  location ~ ^/client/(.*\.(js|css|png|svg|woff2|otf|ttf|woff|eot))$ {
    add_header Cache-Control "public, max-age=31536000, immutable";
    alias pt/peertube-latest/client/dist/$1;
  }

  location ~ ^/static/(thumbnails|avatars)/ {
    if ($request_method = 'OPTIONS') {
      add_header Access-Control-Allow-Origin  '*';
      add_header Access-Control-Allow-Methods 'GET, OPTIONS';
      add_header Access-Control-Max-Age       1728000;
      add_header Content-Type                 'text/plain charset=UTF-8';
      add_header Content-Length               0;
      return 204;
    }
    add_header Access-Control-Allow-Origin    '*';
    add_header Cache-Control                  "public, max-age=7200";
    rewrite ^/static/(.*)$ /$1 break;
    try_files $uri @api;
  }

  location ~ ^/static/(webseed|redundancy|streaming-playlists)/ {
    limit_rate_after            5M;
    set $peertube_limit_rate    800k;
    if ($request_uri ~ -fragmented.mp4$) {
      set $peertube_limit_rate  5M;
    }
    set $limit_rate $peertube_limit_rate;

    if ($request_method = 'GET') {
      add_header Access-Control-Allow-Origin  '*';
      access_log off;
    }

    sendfile on;
    sendfile_max_chunk 1M;
    aio threads;

    rewrite ^/static/webseed/(.*)$ /videos/$1 break;
    rewrite ^/static/(.*)$         /$1        break;
    try_files $uri @api;
  }
}
`}
	h := "tube.example.com"
	c.Requests = []harness.Request{
		appGet("the app", h, "/videos/watch/abc"),
		appGet("an API call", h, "/api/v1/videos?count=10"),
		appReq("an upload, authorized", "POST", h, "/api/v1/videos/upload", "Authorization: Bearer x", "Content-Length: 5"),
		appReq("an upload with PUT: denied", "PUT", h, "/api/v1/videos/upload", "Content-Length: 0"),
		appReq("an upload, the auth check refuses", "POST", h, "/api/v1/videos/upload?x=/status/401", "Content-Length: 0"),
		appGet("check-auth is internal", h, "/check-auth"),
		{Name: "socket.io websocket", Send: []string{"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: " + h + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + serveWSKey + "\r\nSec-WebSocket-Version: 13\r\n\r\n"}, WS: serveFrames()[:1]},
		appGet("a client image by try_files on a capture", h, "/client/assets/images/logo.svg"),
		appGet("a client script by alias on a capture", h, "/client/main.js"),
		appGet("a missing client script", h, "/client/none.js"),
		appGet("a thumbnail", h, "/static/thumbnails/t1.jpg"),
		appReq("a thumbnail preflight", "OPTIONS", h, "/static/thumbnails/t1.jpg"),
		appGet("a missing thumbnail to the app", h, "/static/thumbnails/none.jpg"),
		appGet("a webseed video", h, "/static/webseed/v1.mp4"),
		appGet("a webseed video range", h, "/static/webseed/v1.mp4", "Range: bytes=3-6"),
		appGet("an HLS fragment", h, "/static/streaming-playlists/hls/x-fragmented.mp4"),
		appGet("acme challenge missing", h, "/.well-known/acme-challenge/x"),
	}
	c.Requests[2].Send[0] += "video"
	// The auth subrequest tells the backend of the upload's 5 bytes and
	// sends none: the backend waits, the client gives up.
	c.Requests[2].AwaitRequests, c.Requests[2].HangUpAfter, c.Requests[2].Settle = 1, 200*time.Millisecond, 300*time.Millisecond
	harness.Compare(t, c, want, got, serveAssets(t))
}

// Smaller shipped sites and popular snippets: GitLab's source install
// (try_files to a named location, gzip_static assets), Zammad's (a
// WebSocket path, gzip in the proxied location), Pleroma's media cache
// (206 cached, client aborts ignored), expires by a map on the response's
// type, and Grafana under a sub-path with rewrite ... break.
func TestServeAppSmallSites(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{Name: "small sites", Clock: harness.ClockRelative,
		Content: map[string]string{
			"gitlab/public/assets/app.css": "gitlab css\n", "gitlab/public/assets/app.css.gz": "gz bytes",
			"gitlab/public/help/index.html": "help\n", "gitlab/public/about.html": "about\n",
			"gitlab/public/502.html":    "gitlab is down\n",
			"zammad/public/assets/z.js": "zammad\n", "zammad/public/robots.txt": "robots\n",
			"typed/page.html": "<p>page</p>\n", "typed/s.css": "a{}\n", "typed/i.png": "PNG", "typed/d.bin": "bin",
		},
		Config: `upstream gitlab { server {{BACKEND}}; }
upstream zammad-railsserver { server {{BACKEND}}; }
upstream zammad-websocket { server {{BACKEND}}; }

proxy_cache_path media-cache levels=1:2 keys_zone=pleroma_media_cache:10m max_size=10g inactive=720m use_temp_path=off;

map $sent_http_content_type $expires {
    default                    off;
    text/html                  epoch;
    text/css                   max;
    application/javascript     max;
    ~image/                    1h;
}

server {
  listen 127.0.0.1:{{PORT}} default_server;
  server_name gitlab.example.com;
  server_tokens off;
  root gitlab/public;
  client_max_body_size 20m;

  location / {
    try_files $uri $uri/index.html $uri.html @gitlab;
  }

  location @gitlab {
    proxy_read_timeout      300;
    proxy_connect_timeout   300;
    proxy_redirect          off;
    proxy_set_header    Host                $http_host;
    proxy_set_header    X-Real-IP           $remote_addr;
    proxy_set_header    X-Forwarded-For     $proxy_add_x_forwarded_for;
    proxy_set_header    X-Forwarded-Proto   $scheme;
    proxy_set_header    X-Frame-Options     SAMEORIGIN;
    proxy_pass http://gitlab;
  }

  location ~ ^/(assets)/ {
    root gitlab/public;
    gzip_static on;
    expires max;
    add_header Cache-Control public;
  }

  error_page 502 /502.html;
}

server {
    listen 127.0.0.1:{{PORT}};
    server_name zammad.example.com;
    server_tokens off;
    root zammad/public;
    client_max_body_size 50M;

    location ~ ^/(assets/|robots.txt|humans.txt|favicon.ico|apple-touch-icon.png) {
        expires max;
    }

    location /ws {
        proxy_http_version 1.1;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection "Upgrade";
        proxy_set_header CLIENT_IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_read_timeout 86400;
        proxy_pass http://zammad-websocket;
    }

    location / {
        proxy_set_header Host $http_host;
        proxy_set_header CLIENT_IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header X-Forwarded-User "";
        proxy_read_timeout 300;
        proxy_pass http://zammad-railsserver;
        gzip on;
        gzip_types text/plain text/xml text/css image/svg+xml application/javascript application/x-javascript application/json application/xml;
        gzip_proxied any;
    }
}

server {
    listen 127.0.0.1:{{PORT}};
    server_name pleroma.example.com;
    gzip_vary on;
    gzip_proxied any;
    gzip_comp_level 6;
    gzip_buffers 16 8k;
    gzip_http_version 1.1;
    gzip_types text/plain text/css application/json application/javascript text/xml application/xml application/xml+rss text/javascript application/activity+json application/atom+xml;
    client_max_body_size 16m;

    location / {
        proxy_http_version 1.1;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection "upgrade";
        proxy_set_header Host $http_host;
        proxy_pass http://{{BACKEND}};
        client_max_body_size 16m;
    }

    location ~ ^/(media|proxy) {
        proxy_cache pleroma_media_cache;
        proxy_cache_key    $host$uri$is_args$args;
        proxy_http_version 1.1;
        proxy_cache_valid  200 206 301 304 1h;
        proxy_cache_lock on;
        proxy_ignore_client_abort on;
        proxy_buffering on;
        chunked_transfer_encoding on;
        proxy_ignore_headers Cache-Control;
        proxy_hide_header Cache-Control;
        proxy_pass http://{{BACKEND}};
    }
}

server {
    listen 127.0.0.1:{{PORT}};
    server_name typed.example.com;
    root typed;
    expires $expires;
    location /grafana/ {
        rewrite ^/grafana/(.*) /$1 break;
        proxy_set_header Host $host;
        proxy_pass http://{{BACKEND}};
    }
}
`}
	g, z, p, ty := "gitlab.example.com", "zammad.example.com", "pleroma.example.com", "typed.example.com"
	c.Requests = []harness.Request{
		appGet("gitlab: a project page", g, "/group/project/-/issues?state=opened"),
		appGet("gitlab: a directory's index.html", g, "/help"),
		appGet("gitlab: a page by $uri.html", g, "/about"),
		appGet("gitlab: an asset", g, "/assets/app.css"),
		appGet("gitlab: an asset, gzip_static", g, "/assets/app.css", "Accept-Encoding: gzip"),
		appGet("gitlab: a 502 from the app", g, "/status/502"),
		appGet("gitlab: an unknown host goes to the default", "other.example.com", "/about"),
		appGet("zammad: an asset", z, "/assets/z.js"),
		appGet("zammad: robots", z, "/robots.txt"),
		appGet("zammad: the app, gzipped", z, "/api/v1/tickets/made?ct=application/json&n=3000", "Accept-Encoding: gzip", "X-Forwarded-User: admin"),
		{Name: "zammad: websocket", Send: []string{"GET /ws HTTP/1.1\r\nHost: " + z + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + serveWSKey + "\r\nSec-WebSocket-Version: 13\r\n\r\n"}, WS: serveFrames()[:1]},
		appGet("pleroma: the app", p, "/api/v1/timelines/public"),
		appGet("pleroma: media, a miss", p, "/media/caching"),
		appGet("pleroma: media, a hit without Cache-Control", p, "/media/caching"),
		appGet("pleroma: media, a range on a miss", p, "/media/r.bin", "Range: bytes=0-3"),
		appGet("pleroma: media, the range again", p, "/media/r.bin", "Range: bytes=2-5"),
		appGet("typed: html epoch", ty, "/page.html"),
		appGet("typed: css max", ty, "/s.css"),
		appGet("typed: png 1h", ty, "/i.png"),
		appGet("typed: other off", ty, "/d.bin"),
		appGet("typed: a 404 html", ty, "/none.html"),
		appGet("typed: grafana sub-path", ty, "/grafana/api/dashboards/uid/x?orgId=1"),
		appGet("typed: grafana sub-path, a proxied image typed", ty, "/grafana/made?ct=image/png"),
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// HTTPS with the snippets guides publish: HTTP on the TLS port sent to
// https by error_page 497, HSTS always, ssl_reject_handshake for unknown
// names, a default server that closes with 444.
func TestServeAppTLSSnippets(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{Name: "tls snippets", Files: []string{"cert.pem", "key.pem"}, TLS: true, SNI: "secure.example.com",
		Content: map[string]string{"html/index.html": "secure\n"},
		Config: `ssl_protocols TLSv1.2 TLSv1.3;
ssl_prefer_server_ciphers off;
ssl_session_timeout 1d;
ssl_session_cache shared:MozSSL:10m;
ssl_session_tickets off;

server {
    listen 127.0.0.1:{{PORT}} ssl http2 default_server;
    server_name _;
    ssl_reject_handshake on;
}

server {
    listen 127.0.0.1:{{PORT}} ssl http2;
    server_name secure.example.com;
    ssl_certificate {{CERT}};
    ssl_certificate_key {{KEY}};
    root html;

    add_header Strict-Transport-Security "max-age=63072000; includeSubDomains; preload" always;
    add_header X-Content-Type-Options nosniff;

    error_page 497 https://$host:$server_port$request_uri;

    if ($host != "secure.example.com") {
        return 444;
    }

    location / {
        try_files $uri $uri/ =404;
    }
}
`}
	h := "secure.example.com"
	c.Requests = []harness.Request{
		appGet("home", h, "/"),
		appGet("a 404 keeps HSTS", h, "/none"),
		{Name: "plain HTTP on the TLS port: 497 redirect", Plain: true, Send: []string{"GET /a?b=c HTTP/1.1\r\nHost: " + h + "\r\nConnection: close\r\n\r\n"}},
		{Name: "an unknown name: handshake refused", SNI: "", NoSNI: true, Send: []string{"GET / HTTP/1.1\r\nHost: " + h + "\r\nConnection: close\r\n\r\n"}},
		appGet("another Host header: the default server answers (its if is not reached)", "evil.example.com", "/"),
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}
