package difftest

import (
	"os"
	"strings"
	"testing"

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
