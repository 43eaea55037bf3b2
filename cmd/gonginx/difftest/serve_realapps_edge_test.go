package difftest

import (
	"strings"
	"testing"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// Edge recipes of real configs (CORS, rate limits, blocklists and auth,
// a proxy cache with an SPA), served by both servers.

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

// Exploit-blocking snippets in the style Nginx Proxy Manager includes in
// every proxy host: dozens of "if ($query_string ~ ...)" tests setting
// flags, whose PCRE patterns use \b, \s, escaped quotes and dollars,
// byte ranges (\x00-\x20\x7f-\xff on $host), counted repetition, then
// one return per flag. The regexes must match as nginx's PCRE does.
func TestServeAppBlockExploits(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{Name: "block exploits",
		Content: map[string]string{"html/index.html": "ok\n", "block.conf": `set $block_sql 0;
if ($query_string ~ "union.*select.*\(") { set $block_sql 1; }
if ($query_string ~ "(or|and).*[\s]*[0-9]+[\s]*[=<>]+[\s]*[0-9]+") { set $block_sql 1; }
if ($query_string ~ "[\s]*['\"` + "`" + `][\s]*(or|and)[\s]*['\"` + "`" + `][\s]*[=<>]") { set $block_sql 1; }
if ($query_string ~ "(sleep|benchmark|waitfor)\s*\(") { set $block_sql 1; }
if ($query_string ~ "(\$ne|\$gt|\$regex|\$where)") { set $block_sql 1; }
if ($block_sql = 1) { return 403; }

set $block_file 0;
if ($query_string ~ "[a-zA-Z0-9_]=(https?|ftp)://") { set $block_file 1; }
if ($query_string ~ "(\.\./)|(\.\.%2f)|(%2e%2e%2f)") { set $block_file 1; }
if ($query_string ~ "(%00|%0a|%0d|%09|%20$)") { set $block_file 1; }
if ($block_file = 1) { return 403; }

set $block_common 0;
if ($query_string ~ "(<|%3C).*script.*(>|%3E)") { set $block_common 1; }
if ($query_string ~ "GLOBALS(=|\[|\%[0-9A-Z]{0,2})") { set $block_common 1; }
if ($query_string ~ "(` + "`" + `|%60|\$\(|%24%28|\|\||&&|;|%3B)") { set $block_common 1; }
if ($query_string ~ "(\{\{|\}\}|\{%|%\}|\$\{|\}$)") { set $block_common 1; }
if ($query_string ~ "\b(viagra|casino|poker)\b") { set $block_common 1; }
if ($query_string ~* "\b(weight.?loss|diet.?pill)\b") { set $block_common 1; }
if ($block_common = 1) { return 403; }

set $block_agent 0;
if ($http_user_agent ~ "^-$|^$|^\.$") { set $block_agent 1; }
if ($http_user_agent ~ "(<|>|\||&|'|\"|;|\$|\(|\)|` + "`" + `|\{|\})") { set $block_agent 1; }
if ($http_user_agent ~ "(sqlmap|nikto|gobuster)") { set $block_agent 1; }
if ($block_agent = 1) { return 403; }

set $block_other 0;
if ($host ~ "[\x00-\x20\x7f-\xff]") { set $block_other 1; }
if ($content_length ~ "^[0-9]{8,}$") { set $block_other 2; }
if ($args ~ "^([^&]*&){5,}") { set $block_other 1; }
if ($request_uri ~ "(\.php|\.asp|\.jsp)$") { set $block_other 3; }
if ($block_other = 1) { return 403; }
if ($block_other = 2) { return 413; }
if ($block_other = 3) { return 404; }
`},
		Config: `server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost *.test;
    root html;
    include block.conf;
    location / { }
}
`}
	get := func(name, target, ua string, extra ...string) harness.Request {
		h := ""
		for _, x := range extra {
			h += x + "\r\n"
		}
		return serveRaw(name, "GET "+target+" HTTP/1.1\r\nHost: localhost\r\nUser-Agent: "+ua+"\r\nConnection: close\r\n"+h+"\r\n")
	}
	const ua = "Mozilla/5.0"
	for _, q := range []string{"q=hello", "id=1%20union%20select%20(1)", "a=1 or 1=1", "x='or'=", "q=sleep(5)", "q=sleep%20(5)", "q=$ne",
		"u=http://evil", "f=../../x", "a=b%20", "s=%3Cscript%3E", "GLOBALS[x]=1", "c=$(id)", "c=a;b", "t={{7*7}}", "t=x}",
		"q=viagra", "q=Viagra", "q=viagras", "q=weight-loss", "q=WEIGHTLOSS", "a=1&b=2&c=3&d=4&e=5&f=6", "x=\xc3\xa9", "x=\xff"} {
		c.Requests = append(c.Requests, get("query "+q, "/index.html?"+q, ua))
	}
	for _, a := range []string{"", "-", ".", "Mozilla (compatible; X)", "sqlmap/1.7", "curl/8.0"} {
		c.Requests = append(c.Requests, get("agent "+a, "/index.html", a))
	}
	c.Requests = append(c.Requests,
		get("a script path", "/wp-login.php", ua),
		get("a host with a non-ASCII name", "/index.html", ua, "X-Pad: 1"),
		get("a huge declared length", "/index.html", ua, "Content-Length: 123456789"),
	)
	c.Requests[len(c.Requests)-2].Send[0] = strings.Replace(c.Requests[len(c.Requests)-2].Send[0], "Host: localhost", "Host: caf\xc3\xa9.test", 1)
	harness.Compare(t, c, want, got, serveAssets(t))
}
