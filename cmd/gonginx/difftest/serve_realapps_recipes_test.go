package difftest

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// magentoSample is Magento 2's nginx.conf.sample (its 2.0 form), which a
// server includes after setting $MAGE_ROOT and $MAGE_MODE: a root and
// an alias from a variable, "if" with rewrite ... last in nested regex
// locations, PHP_VALUE with \n escapes in a quoted string. The -t case
// real_magento_sample holds it.
const magentoSample = "testdata/t/real_magento_sample/nginx.conf.sample"

func TestServeAppMagento(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	fcgi := startFCGIServer(t)
	content := fcgiParamsContent(t)
	sample, err := os.ReadFile(magentoSample)
	if err != nil {
		t.Fatal(err)
	}
	content["nginx.conf.sample"] = string(sample)
	for _, f := range []string{"pub/index.php", "pub/get.php", "pub/static.php", "pub/cron.php",
		"setup/index.php", "setup/pub/app.js", "setup/config.php"} {
		content["mage/"+f] = "<?php\n"
	}
	content["mage/pub/static/frontend/theme/en_US/css/styles.css"] = "body{}\n"
	content["mage/pub/static/frontend/theme/en_US/data.csv"] = "a,b\n"
	content["mage/pub/media/catalog/product/p.jpg"] = "JPEG"
	content["mage/pub/media/customer/secret.txt"] = "secret\n"
	content["mage/pub/media/theme_customization/x.xml"] = "<x/>\n"
	c := harness.Case{Name: "magento", Content: content, Clock: harness.ClockRelative,
		Config: `upstream fastcgi_backend {
    server ` + fcgi.addr() + `;
}
server {
    listen 127.0.0.1:{{PORT}};
    server_name shop.example.com;
    set $MAGE_ROOT mage;
    set $MAGE_MODE production;
    include nginx.conf.sample;
}
`}
	h := "shop.example.com"
	c.Requests = []harness.Request{
		appGet("a category page", h, "/women/tops.html?color=red"),
		appGet("home", h, "/"),
		appGet("a static css (version stripped, file exists)", h, "/static/version1700000000/frontend/theme/en_US/css/styles.css"),
		appGet("a static css on disk", h, "/static/frontend/theme/en_US/css/styles.css"),
		appGet("a static css to static.php", h, "/static/version1/frontend/theme/en_US/css/missing.css"),
		appGet("a static csv on disk", h, "/static/frontend/theme/en_US/data.csv"),
		appGet("a static csv to static.php", h, "/static/frontend/theme/en_US/none.csv"),
		appGet("a static other to static.php", h, "/static/frontend/theme/en_US/requirejs-config"),
		appGet("a media image", h, "/media/catalog/product/p.jpg"),
		appGet("a missing media image to get.php", h, "/media/catalog/product/none.jpg?w=1"),
		appGet("customer media denied", h, "/media/customer/secret.txt"),
		appGet("theme customization xml denied", h, "/media/theme_customization/x.xml"),
		appGet("cron denied", h, "/cron.php"),
		appGet("setup index", h, "/setup/index.php"),
		appGet("setup other denied", h, "/setup/config.php"),
		appGet("setup pub", h, "/setup/pub/app.js"),
		appGet("pub alias", h, "/pub/media/catalog/product/p.jpg"),
		appGet("pub alias denied", h, "/pub/media/customer/secret.txt"),
		appGet("a report script", h, "/errors/report.php?id=1"),
		appGet("an unknown script", h, "/other.php"),
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// Idioms from hosting guides: a maintenance switch by a file's existence
// with a 503 page through a named location, www and https canonical
// redirects, per-domain roots from a regex server_name's captures,
// hotlink protection by valid_referers, a language redirect by map,
// split_clients A/B, limit_except, and the Drupal front controller.
func TestServeAppHostingIdioms(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	fcgi := startFCGIServer(t)
	content := fcgiParamsContent(t)
	for k, v := range map[string]string{
		"sites/alpha.test/index.html": "alpha\n", "sites/beta.test/index.html": "beta\n",
		"sites/beta.test/maintenance.html": "down for maintenance\n",
		"img/logo.png":                     "PNG", "img/en/index.html": "english\n", "img/fr/index.html": "français\n",
		"drupal/index.php": "<?php", "drupal/update.php": "<?php", "drupal/core/misc/drupal.js": "js\n",
		"drupal/sites/default/files/styles/thumb/a.jpg": "JPG", "drupal/sites/default/files/evil.php": "<?php",
		"drupal/.htaccess": "x", "drupal/vendor/x/y.php": "<?php",
	} {
		content[k] = v
	}
	c := harness.Case{Name: "hosting idioms", Content: content, Clock: harness.ClockRelative,
		Config: `map $http_accept_language $lang {
    default en;
    ~*^fr fr;
    ~*^en en;
}

split_clients "${remote_addr}AAA" $variant {
    50% "a";
    *   "b";
}

server {
    listen 127.0.0.1:{{PORT}};
    server_name www.alpha.test;
    return 301 $scheme://alpha.test$request_uri;
}

server {
    listen 127.0.0.1:{{PORT}};
    server_name ~^(?<sub>www\.)?(?<domain>[a-z]+\.test)$;
    root sites/$domain;

    if (-f $document_root/maintenance.html) {
        return 503;
    }
    error_page 503 @maintenance;
    location @maintenance {
        rewrite ^(.*)$ /maintenance.html break;
    }

    location / {
        add_header X-Variant $variant;
        add_header X-Domain "$sub|$domain";
        try_files $uri $uri/ =404;
    }

    location /upload {
        limit_except GET HEAD { deny all; }
        return 200 "upload ok\n";
    }
}

server {
    listen 127.0.0.1:{{PORT}};
    server_name img.test;
    root img;

    location = / {
        return 302 /$lang/;
    }

    location ~* \.(png|jpe?g|gif)$ {
        valid_referers none blocked server_names *.img.test ~\.google\.;
        if ($invalid_referer) {
            return 403;
        }
    }
}

server {
    listen 127.0.0.1:{{PORT}};
    server_name drupal.test;
    root drupal;

    location = /favicon.ico { log_not_found off; access_log off; }
    location ~* \.(txt|log)$ { deny all; }
    location ~ \..*/.*\.php$ { return 403; }
    location ~ ^/sites/.*/private/ { return 403; }
    location ~ ^/sites/[^/]+/files/.*\.php$ { deny all; }
    location ~* ^/.well-known/ { allow all; }
    location ~ (^|/)\. { return 403; }
    location / { try_files $uri /index.php?$query_string; }
    location @rewrite { rewrite ^ /index.php; }
    location ~ /vendor/.*\.php$ { deny all; return 404; }
    location ~ '\.php$|^/update.php' {
        fastcgi_split_path_info ^(.+?\.php)(|/.*)$;
        try_files $fastcgi_script_name =404;
        include fastcgi_params;
        fastcgi_param HTTP_PROXY "";
        fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
        fastcgi_param PATH_INFO $fastcgi_path_info;
        fastcgi_param QUERY_STRING $query_string;
        fastcgi_intercept_errors on;
        fastcgi_pass ` + fcgi.addr() + `;
    }
    location ~ ^/sites/.*/files/styles/ { try_files $uri @rewrite; }
    location ~ ^(/[a-z\-]+)?/system/files/ { try_files $uri /index.php?$query_string; }
    location ~* \.(js|css|png|jpg|jpeg|gif|ico|svg)$ {
        try_files $uri @rewrite;
        expires max;
        log_not_found off;
    }
}
`}
	c.Requests = []harness.Request{
		appGet("www to the bare domain", "www.alpha.test", "/a?b=c"),
		appGet("a regex server name's root", "alpha.test", "/"),
		appGet("its captures", "alpha.test", "/index.html"),
		appGet("maintenance: 503 page", "beta.test", "/"),
		appGet("maintenance: any path", "www.beta.test", "/x/y"),
		appReq("limit_except: POST denied", "POST", "alpha.test", "/upload", "Content-Length: 0"),
		appReq("limit_except: HEAD allowed", "HEAD", "alpha.test", "/upload"),
		appGet("language redirect: fr", "img.test", "/", "Accept-Language: fr-FR,fr;q=0.9"),
		appGet("language redirect: default", "img.test", "/", "Accept-Language: de"),
		appGet("the french page", "img.test", "/fr/"),
		appGet("an image without a referer", "img.test", "/logo.png"),
		appGet("an image from the site", "img.test", "/logo.png", "Referer: http://www.img.test/page"),
		appGet("an image from google", "img.test", "/logo.png", "Referer: https://www.google.com/search"),
		appGet("an image hotlinked", "img.test", "/logo.png", "Referer: http://evil.example/"),
		appGet("an image, referer blocked by a proxy", "img.test", "/logo.png", "Referer: ***"),
		appGet("drupal: a node", "drupal.test", "/node/1?page=2"),
		appGet("drupal: update.php with a path", "drupal.test", "/update.php/selection"),
		appGet("drupal: core js", "drupal.test", "/core/misc/drupal.js"),
		appGet("drupal: an image style generated", "drupal.test", "/sites/default/files/styles/thumb/b.jpg?itok=x"),
		appGet("drupal: an image style on disk", "drupal.test", "/sites/default/files/styles/thumb/a.jpg"),
		appGet("drupal: a script in files", "drupal.test", "/sites/default/files/evil.php"),
		appGet("drupal: htaccess", "drupal.test", "/.htaccess"),
		appGet("drupal: a txt file", "drupal.test", "/CHANGELOG.txt"),
		appGet("drupal: vendor php", "drupal.test", "/vendor/x/y.php"),
		appGet("drupal: private system files", "drupal.test", "/system/files/doc.pdf"),
		appGet("drupal: a php path with a dot dir", "drupal.test", "/a.b/c.php"),
		appGet("drupal: a missing script", "drupal.test", "/none.php"),
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// Health checks and headers as configs write them, mistakes included:
// add_header of Content-Type, Server, Date or Content-Length beside the
// server's own, return with a text and default_type, a JSON status,
// a header from a variable that is empty.
func TestServeAppHealthHeaders(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{Name: "health headers", Clock: harness.ClockRelative,
		Content: map[string]string{"html/index.html": "home\n"},
		Config: `server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    root html;

    location = /health {
        access_log off;
        add_header Content-Type text/plain;
        return 200 'ok';
    }
    location = /healthz {
        default_type text/plain;
        return 200 "healthy\n";
    }
    location = /status.json {
        default_type application/json;
        add_header Cache-Control "no-store" always;
        return 200 '{"status":"up","host":"$hostname","addr":"$remote_addr","uri":"$request_uri"}';
    }
    location = /ip {
        add_header Content-Type "text/plain; charset=utf-8";
        return 200 "$remote_addr\n";
    }
    location /mistakes/ {
        add_header Server "my-server";
        add_header Date "yesterday";
        add_header Content-Length 3;
        add_header X-Empty $http_x_none;
        add_header Last-Modified "Mon, 01 Jan 2024 00:00:00 GMT";
        add_header ETag '"mine"';
        expires 1h;
        add_header Cache-Control "private";
        alias html/;
    }
    location = /teapot {
        return 418;
    }
    location = /moved {
        return 301 /new-home;
    }
    location = /code-only-redirect {
        return 302;
    }
    location = /text-302 {
        return 302 "just text";
    }
    location = /empty {
        return 204;
    }
}
`}
	c.Requests = []harness.Request{
		plainGet("health with a second Content-Type", "/health"),
		serveRaw("HEAD health", "HEAD /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
		plainGet("healthz", "/healthz"),
		plainGet("a JSON status with variables", "/status.json?x=1"),
		plainGet("the client's address", "/ip"),
		plainGet("headers the server sets itself, added again", "/mistakes/index.html"),
		plainGet("the same with If-None-Match", "/mistakes/index.html"),
		plainGet("an unusual status", "/teapot"),
		plainGet("a relative redirect", "/moved"),
		plainGet("a redirect status without a URL", "/code-only-redirect"),
		plainGet("a redirect to a text", "/text-302"),
		plainGet("204", "/empty"),
	}
	c.Requests[6].Send[0] = strings.Replace(c.Requests[6].Send[0], "\r\n\r\n", "\r\nIf-None-Match: \"mine\"\r\n\r\n", 1)
	harness.Compare(t, c, want, got, serveAssets(t))
}

// The shape of LinuxServer SWAG's app sites (its reverse-proxy-confs):
// each location includes a shared proxy.conf (proxy_redirect http:// to
// $scheme://, X-Forwarded-* and X-Original-* headers, next_upstream on
// 5xx, cache bypass by cookie without a cache) and proxies to
// $upstream_proto://$upstream_app:$upstream_port. A variable host that
// names an upstream{} matches it only without a port; with one, the
// resolver is asked.
func TestServeAppSwagStyle(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{Name: "swag style", Files: []string{"cert.pem", "key.pem"}, TLS: true, SNI: "ha.example.com", ErrorMessages: true,
		Content: map[string]string{
			"proxy.conf": `proxy_next_upstream error timeout invalid_header http_500 http_502 http_503;
proxy_buffers 32 4k;
proxy_connect_timeout 240;
proxy_http_version 1.1;
proxy_read_timeout 240;
proxy_redirect http:// $scheme://;
proxy_cache_bypass $cookie_session;
proxy_no_cache $cookie_session;
proxy_set_header Connection $connection_upgrade;
proxy_set_header Early-Data $ssl_early_data;
proxy_set_header Host $host;
proxy_set_header Proxy "";
proxy_set_header Upgrade $http_upgrade;
proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
proxy_set_header X-Forwarded-Host $host;
proxy_set_header X-Forwarded-Method $request_method;
proxy_set_header X-Forwarded-Port $server_port;
proxy_set_header X-Forwarded-Proto $scheme;
proxy_set_header X-Forwarded-Ssl on;
proxy_set_header X-Forwarded-Uri $request_uri;
proxy_set_header X-Original-URL $scheme://$http_host$request_uri;
proxy_set_header X-Real-IP $remote_addr;
`,
			"resolver.conf": "resolver 127.0.0.1 valid=30s;\nresolver_timeout 1s;\n",
		},
		Config: `map $http_upgrade $connection_upgrade { default upgrade; '' close; }
upstream app_group { server {{BACKEND}}; }

server {
    listen 127.0.0.1:{{PORT}} ssl;
    server_name ha.*;
    ssl_certificate {{CERT}};
    ssl_certificate_key {{KEY}};
    client_max_body_size 0;

    location / {
        include proxy.conf;
        include resolver.conf;
        set $upstream_app 127.0.0.1;
        set $upstream_port {{BACKEND_PORT}};
        set $upstream_proto http;
        proxy_pass $upstream_proto://$upstream_app:$upstream_port;
    }

    location ~ ^/(api|local|media)/ {
        include proxy.conf;
        include resolver.conf;
        set $upstream_app 127.0.0.1;
        set $upstream_port {{BACKEND_PORT}};
        set $upstream_proto http;
        if ($http_user_agent ~ Web0S) {
            add_header Access-Control-Allow-Origin "luna://com.webos.service.config" always;
        }
        proxy_pass $upstream_proto://$upstream_app:$upstream_port;
    }

    location /group/ {
        include proxy.conf;
        set $upstream_app app_group;
        proxy_pass http://$upstream_app;
    }

    location /group-port/ {
        include proxy.conf;
        include resolver.conf;
        set $upstream_app app_group;
        proxy_pass http://$upstream_app:{{BACKEND_PORT}};
    }
}
`}
	h := "ha.example.com"
	c.Requests = []harness.Request{
		appGet("the app", h, "/lovelace/0"),
		appGet("an API call with a session cookie", h, "/api/states?x=1", "Cookie: session=abc"),
		appGet("a backend redirect: http:// to https://", h, "/auth/redirect"),
		appGet("a refresh redirect", h, "/auth/refresh"),
		appGet("a 500: no other server to try", h, "/api/status/500"),
		appGet("a webOS client gets its CORS header", h, "/api/x", "User-Agent: Mozilla/5.0 (Web0S; Linux/SmartTV)"),
		{Name: "websocket", Send: []string{"GET /api/websocket HTTP/1.1\r\nHost: " + h + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + serveWSKey + "\r\nSec-WebSocket-Version: 13\r\n\r\n"}, WS: serveFrames()[:2]},
		appGet("a variable host naming an upstream", h, "/group/a"),
		appGet("the same with a port: resolved, and not found", h, "/group-port/a"),
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// Forward authentication as Authelia's and SWAG's snippets set it up: an
// auth_request to an internal location that proxies to the portal, its
// 401 sent by error_page to a named location that redirects to the
// sign-in URL the portal gave (auth_request_set from
// $upstream_http_location), its Set-Cookie passed on, and the user's
// Remote-* headers passed to the app.
func TestServeAppForwardAuth(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{Name: "forward auth", ErrorMessages: true,
		Config: `map $cookie_authelia_session $authz_target {
    default "/made?status=401&h=Location:https://auth.example.com/?rd=https%3A%2F%2Fapp.example.com%2F&h=Set-Cookie:authelia_session=new";
    good    "/made?status=200&h=Remote-User:bob&h=Remote-Groups:admins,dev&h=Remote-Email:bob@example.com&h=Set-Cookie:refresh=1";
    forbid  "/made?status=403";
    broken  "/made?status=500";
}

server {
    listen 127.0.0.1:{{PORT}};
    server_name app.example.com;

    location = /authelia/api/authz/auth-request {
        internal;
        proxy_pass http://{{BACKEND}}$authz_target;
        proxy_set_header X-Original-Method $request_method;
        proxy_set_header X-Original-URL $scheme://$http_host$request_uri;
        proxy_set_header X-Forwarded-For $remote_addr;
        auth_request_set $set_cookie $upstream_http_set_cookie;
        add_header Set-Cookie $set_cookie;
        proxy_pass_request_body off;
        proxy_set_header Content-Length "";
    }

    location @authelia_proxy_signin {
        internal;
        auth_request_set $set_cookie $upstream_http_set_cookie;
        add_header Set-Cookie $set_cookie;
        auth_request_set $signin_url $upstream_http_location;
        return 302 $signin_url;
    }

    location / {
        auth_request /authelia/api/authz/auth-request;
        error_page 401 = @authelia_proxy_signin;
        auth_request_set $user $upstream_http_remote_user;
        auth_request_set $groups $upstream_http_remote_groups;
        auth_request_set $email $upstream_http_remote_email;
        auth_request_set $set_cookie $upstream_http_set_cookie;
        auth_request_set $signin_url $upstream_http_location;
        proxy_set_header Remote-User $user;
        proxy_set_header Remote-Groups $groups;
        proxy_set_header Remote-Email $email;
        add_header Set-Cookie $set_cookie;
        proxy_pass http://{{BACKEND}};
    }
}
`}
	h := "app.example.com"
	c.Requests = []harness.Request{
		appGet("no session: to the portal", h, "/dashboard?tab=1"),
		appGet("a good session: the app with the user's headers", h, "/dashboard?tab=1", "Cookie: authelia_session=good"),
		appReq("a good session: a POST with its body", "POST", h, "/api/items", "Cookie: authelia_session=good", "Content-Type: application/json", "Content-Length: 9"),
		appGet("the portal forbids", h, "/admin", "Cookie: authelia_session=forbid"),
		appGet("the portal fails", h, "/", "Cookie: authelia_session=broken"),
		appGet("the auth location is internal", h, "/authelia/api/authz/auth-request"),
		appReq("HEAD with a good session", "HEAD", h, "/", "Cookie: authelia_session=good"),
	}
	c.Requests[2].Send[0] += `{"a":"b"}`
	harness.Compare(t, c, want, got, serveAssets(t))
}

// error_page recipes from answers and guides: POST to a static file
// served by "error_page 405 =200 $uri", a 404 turned into the SPA shell
// with =200, 403 and 404 to a named fallback that proxies (the body goes
// along), a chain of named locations under recursive_error_pages (the
// first location to handle an error with it off ends the chain, r->error_page),
// and an intercepted backend 404 for a POST (the page is fetched as GET).
func TestServeAppErrorPageRecipes(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{Name: "error_page recipes", BackendDown: false,
		Content: map[string]string{
			"html/form.html": "<form>\n", "html/index.html": "<div id=app>\n", "html/custom404.html": "custom not found\n",
			"html/private/x.html": "private\n",
		},
		Config: `upstream down { server 127.0.0.1:1; }
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    root html;

    location /static/ {
        alias html/;
        error_page 405 =200 $uri;
    }
    location /spa/ {
        alias html/;
        error_page 404 =200 /index.html;
    }
    location /private/ {
        deny all;
        error_page 403 404 = @fallback;
    }
    location /maybe/ {
        error_page 403 404 = @fallback;
    }
    location @fallback {
        proxy_pass http://{{BACKEND}};
    }
    location /chain/ {
        recursive_error_pages on;
        proxy_pass http://down;
        error_page 502 = @second;
    }
    location @second {
        proxy_pass http://down;
        error_page 502 = @third;
    }
    location @third {
        return 200 "third\n";
    }
    location /late/ {
        proxy_pass http://down;
        error_page 502 = @recursive;
    }
    location @recursive {
        recursive_error_pages on;
        proxy_pass http://down;
        error_page 502 = @third;
    }
    location /norecurse/ {
        proxy_pass http://down;
        error_page 502 = @second;
    }
    location /api/ {
        proxy_pass http://{{BACKEND}};
        proxy_intercept_errors on;
        error_page 404 /custom404.html;
    }
}
`}
	post := func(name, target, body string) harness.Request {
		return serveRaw(name, "POST "+target+" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"+body)
	}
	c.Requests = []harness.Request{
		post("POST to a static file: 405 made 200", "/static/form.html", "a=b"),
		plainGet("GET the static file", "/static/form.html"),
		plainGet("a missing SPA route: the shell with 200", "/spa/settings/profile"),
		plainGet("a denied path to the fallback", "/private/x.html"),
		post("a POST to a missing path: the fallback gets the body", "/maybe/submit", "k=v"),
		plainGet("a chain of named locations", "/chain/x"),
		plainGet("without recursive_error_pages", "/norecurse/x"),
		plainGet("recursive_error_pages on only where the second error falls", "/late/x"),
		post("an intercepted 404 for a POST", "/api/status/404", "x=1"),
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// oauth2-proxy's documented nginx setup: auth_request to /oauth2/auth,
// a 401 made 403 on the sign-in page by error_page, the user's headers and
// token from auth_request_set, its Set-Cookie passed on, and the cookie
// splitting "if" blocks its docs add (evaluated before the subrequest).
func TestServeAppOAuth2Proxy(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{Name: "oauth2-proxy", ErrorMessages: true,
		Config: `map $cookie__oauth2_proxy $oauth_target {
    default "/made?status=401&h=Set-Cookie:_oauth2_proxy_csrf=x;%20Path=/";
    valid   "/made?status=202&h=X-Auth-Request-User:alice&h=X-Auth-Request-Email:alice@example.com&h=X-Auth-Request-Access-Token:tok123&h=Set-Cookie:_oauth2_proxy=valid;%20Path=/;%20HttpOnly";
}

server {
    listen 127.0.0.1:{{PORT}};
    server_name app.example.com;

    location /oauth2/ {
        proxy_pass       http://{{BACKEND}};
        proxy_set_header Host                    $host;
        proxy_set_header X-Real-IP               $remote_addr;
        proxy_set_header X-Auth-Request-Redirect $request_uri;
    }
    location = /oauth2/auth {
        proxy_pass       http://{{BACKEND}}$oauth_target;
        proxy_set_header Host             $host;
        proxy_set_header X-Real-IP        $remote_addr;
        proxy_set_header X-Forwarded-Uri  $request_uri;
        proxy_set_header Content-Length   "";
        proxy_pass_request_body           off;
    }

    location / {
        auth_request /oauth2/auth;
        error_page 401 =403 /oauth2/sign_in;

        auth_request_set $user   $upstream_http_x_auth_request_user;
        auth_request_set $email  $upstream_http_x_auth_request_email;
        proxy_set_header X-User  $user;
        proxy_set_header X-Email $email;

        auth_request_set $token  $upstream_http_x_auth_request_access_token;
        proxy_set_header X-Access-Token $token;

        auth_request_set $auth_cookie $upstream_http_set_cookie;
        add_header Set-Cookie $auth_cookie;

        auth_request_set $auth_cookie_name_upstream_1 $upstream_cookie_auth_cookie_name_1;

        if ($auth_cookie ~* "(; .*)") {
            set $auth_cookie_name_0 $auth_cookie;
            set $auth_cookie_name_1 "auth_cookie_name_1=$auth_cookie_name_upstream_1$1";
        }

        if ($auth_cookie_name_upstream_1) {
            add_header Set-Cookie $auth_cookie_name_0;
            add_header Set-Cookie $auth_cookie_name_1;
        }

        proxy_pass http://{{BACKEND}}/app/;
    }
}
`}
	h := "app.example.com"
	c.Requests = []harness.Request{
		appGet("not signed in: the sign-in page with 403", h, "/reports?q=1"),
		appGet("signed in: the app with the user's headers", h, "/reports?q=1", "Cookie: _oauth2_proxy=valid"),
		appReq("signed in: a POST", "POST", h, "/api/save", "Cookie: _oauth2_proxy=valid", "Content-Length: 3"),
		appGet("the sign-in page itself", h, "/oauth2/sign_in?rd=/x"),
		appGet("the callback", h, "/oauth2/callback?code=abc&state=xyz"),
		appGet("the auth endpoint from outside", h, "/oauth2/auth"),
	}
	c.Requests[2].Send[0] += "a=b"
	harness.Compare(t, c, want, got, serveAssets(t))
}

// An origin behind Cloudflare as guides set it up: the client's address
// from CF-Connecting-IP for trusted proxies only, then a geo blocklist,
// a country map from CF-IPCountry, a per-client rate limit keyed on the
// real address, and the address passed on to the app.
func TestServeAppCloudflareOrigin(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{Name: "cloudflare origin", ErrorMessages: true, ErrorMask: wholeExcess,
		Config: `set_real_ip_from 127.0.0.0/8;
set_real_ip_from 173.245.48.0/20;
real_ip_header CF-Connecting-IP;

geo $blocked {
    default 0;
    203.0.113.0/24 1;
}

map $http_cf_ipcountry $country_allowed {
    default 1;
    XX 0;
    T1 0;
}

limit_req_zone $binary_remote_addr zone=perclient:1m rate=1r/m;
limit_req_status 429;

server {
    listen 127.0.0.1:{{PORT}};
    server_name origin.example.com;

    if ($blocked) { return 403; }
    if ($country_allowed = 0) { return 451; }

    location / {
        limit_req zone=perclient burst=1 nodelay;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Country $http_cf_ipcountry;
        proxy_pass http://{{BACKEND}};
    }
}
`}
	h := "origin.example.com"
	c.Requests = []harness.Request{
		appGet("a visitor", h, "/", "CF-Connecting-IP: 198.51.100.7", "CF-IPCountry: DE", "X-Forwarded-For: 198.51.100.7"),
		appGet("the same visitor again (burst)", h, "/a", "CF-Connecting-IP: 198.51.100.7", "CF-IPCountry: DE"),
		appGet("the same visitor: limited", h, "/b", "CF-Connecting-IP: 198.51.100.7", "CF-IPCountry: DE"),
		appGet("another visitor is not limited", h, "/", "CF-Connecting-IP: 198.51.100.8", "CF-IPCountry: FR"),
		appGet("a blocked address", h, "/", "CF-Connecting-IP: 203.0.113.9"),
		appGet("Tor exit country", h, "/", "CF-Connecting-IP: 198.51.100.9", "CF-IPCountry: T1"),
		appGet("an IPv6 visitor", h, "/", "CF-Connecting-IP: 2001:db8::1", "CF-IPCountry: US"),
		appGet("a malformed header: the peer's address stays", h, "/", "CF-Connecting-IP: not-an-ip"),
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// Jitsi Meet's Debian site (doc/debian/jitsi-meet): SSI in config.js for
// per-room variables set in regex locations, room names rewritten to the
// app's index, static directories by alias on two captures, BOSH and
// XMPP WebSocket proxies with a $prefix only some locations set (a
// warning in the error log), regexes with quote characters unquoted.
func TestServeAppJitsiMeet(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{Name: "jitsi meet", Files: []string{"cert.pem", "key.pem"}, TLS: true, SNI: "meet.example.com", Clock: harness.ClockRelative, ErrorMessages: true,
		Content: map[string]string{
			"jitsi/index.html":               "<html>meet</html>\n",
			"jitsi/libs/app.bundle.js":       "app()\n",
			"jitsi/libs/external_api.min.js": "api()\n",
			"jitsi/css/all.css":              "body{}\n",
			"jitsi/static/404.html":          "jitsi 404\n",
			"meet-config.js":                 "var config = { hosts: { domain: 'meet.example.com', muc: 'conference.<!--# echo var=\"subdomain\" default=\"\" -->meet.example.com' }, bosh: '//meet.example.com/<!--# echo var=\"subdir\" default=\"\" -->http-bind' };\n",
		},
		Config: `server_names_hash_bucket_size 64;

server {
    listen 127.0.0.1:{{PORT}} ssl;
    server_name meet.example.com;

    ssl_protocols TLSv1.2;
    ssl_prefer_server_ciphers on;
    ssl_certificate {{CERT}};
    ssl_certificate_key {{KEY}};

    add_header Strict-Transport-Security "max-age=31536000";

    root jitsi;

    ssi on;
    ssi_types application/x-javascript application/javascript;

    index index.html index.htm;
    error_page 404 /static/404.html;

    gzip on;
    gzip_types text/plain text/css application/javascript application/json;

    location ~* \.(js|css|png|ico)$ {
       expires 30d;
       add_header Cache-Control "public";
       etag on;
    }

    location = /config.js {
        alias meet-config.js;
    }

    location = /external_api.js {
        alias jitsi/libs/external_api.min.js;
    }

    location ~ ^/(libs|css|static|images|fonts|lang|sounds|connection_optimization|.well-known)/(.*)$
    {
        add_header 'Access-Control-Allow-Origin' '*';
        alias jitsi/$1/$2;
    }

    location = /http-bind {
        proxy_pass      http://{{BACKEND}}/http-bind;
        proxy_set_header X-Forwarded-For $remote_addr;
        proxy_set_header Host $http_host;
    }

    location = /xmpp-websocket {
        proxy_pass http://{{BACKEND}}/xmpp-websocket?prefix=$prefix&$args;
        proxy_http_version 1.1;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection "upgrade";
        proxy_set_header Host $http_host;
        tcp_nodelay on;
    }

    location ~ ^/([^/?&:'"]+)$ {
        try_files $uri @root_path;
    }

    location @root_path {
        rewrite ^/(.*)$ / break;
    }

    location ~ ^/([^/?&:'"]+)/config.js$
    {
       set $subdomain "$1.";
       set $subdir "$1/";

       alias meet-config.js;
    }

    location ~ ^/([^/?&:'"]+)/(.*)$ {
        set $subdomain "$1.";
        set $subdir "$1/";
        rewrite ^/([^/?&:'"]+)/(.*)$ /$2;
    }

    location ~ ^/([^/?&:'"]+)/http-bind {
        set $subdomain "$1.";
        set $subdir "$1/";
        set $prefix "$1";

        rewrite ^/(.*)$ /http-bind;
    }

    location ~ ^/([^/?&:'"]+)/xmpp-websocket {
        set $subdomain "$1.";
        set $subdir "$1/";
        set $prefix "$1";

        rewrite ^/(.*)$ /xmpp-websocket;
    }
}
`}
	h := "meet.example.com"
	ws := func(name, target string) harness.Request {
		return harness.Request{Name: name, Send: []string{"GET " + target + " HTTP/1.1\r\nHost: " + h + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + serveWSKey + "\r\nSec-WebSocket-Version: 13\r\n\r\n"}, WS: serveFrames()[:1]}
	}
	c.Requests = []harness.Request{
		appGet("the app", h, "/"),
		appGet("a room", h, "/MyMeeting"),
		appGet("config.js through SSI", h, "/config.js"),
		appGet("a room's config.js with its variables", h, "/team/config.js"),
		appGet("a room's static file rewritten", h, "/team/libs/app.bundle.js"),
		appGet("a library", h, "/libs/app.bundle.js", "Accept-Encoding: gzip"),
		appGet("the external API", h, "/external_api.js"),
		appGet("a stylesheet", h, "/css/all.css"),
		appGet("a missing static file: the 404 page", h, "/static/none.js"),
		appReq("BOSH", "POST", h, "/http-bind?room=x", "Content-Type: text/xml", "Content-Length: 7"),
		appReq("BOSH for a tenant", "POST", h, "/team/http-bind", "Content-Type: text/xml", "Content-Length: 7"),
		ws("XMPP WebSocket (no $prefix set)", "/xmpp-websocket?room=x"),
		ws("XMPP WebSocket for a tenant", "/team/xmpp-websocket?room=y"),
	}
	c.Requests[9].Send[0] += "<body/>"
	c.Requests[10].Send[0] += "<body/>"
	harness.Compare(t, c, want, got, serveAssets(t))
}

// The gRPC gateway recipe of nginx's blog: every error status sent by
// error_page to an internal location that answers a gRPC status in
// headers with 204 (an unreachable backend: UNAVAILABLE), over h2c; a
// body past client_max_body_size keeps the built-in 413 page.
func TestServeAppGRPCErrorPages(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{Name: "grpc error pages", Config: `server {
    listen 127.0.0.1:{{PORT}} http2;
    server_name localhost;
    location /helloworld.Greeter {
        grpc_pass grpc://127.0.0.1:1;
        error_page 400 = /error400grpc;
        error_page 401 = /error401grpc;
        error_page 403 = /error403grpc;
        error_page 404 = /error404grpc;
        error_page 405 = /error405grpc;
        error_page 408 = /error408grpc;
        error_page 413 = /error413grpc;
        error_page 414 = /error414grpc;
        error_page 415 = /error415grpc;
        error_page 426 = /error426grpc;
        error_page 495 = /error495grpc;
        error_page 496 = /error496grpc;
        error_page 497 = /error497grpc;
        error_page 500 = /error500grpc;
        error_page 501 = /error501grpc;
        error_page 502 = /error502grpc;
        error_page 503 = /error503grpc;
        error_page 504 = /error504grpc;
    }
    location = /error502grpc {
        internal;
        default_type application/grpc;
        add_header grpc-status 14;
        add_header content-length 0;
        add_header grpc-message "unavailable";
        return 204;
    }
    location = /error413grpc {
        internal;
        default_type application/grpc;
        add_header grpc-status 8;
        add_header grpc-message "request message too large";
        return 204;
    }
    location = /error404grpc {
        internal;
        default_type application/grpc;
        add_header grpc-status 12;
        add_header grpc-message unimplemented;
        return 204;
    }
    client_max_body_size 10;
}
`}
	body := "\x00\x00\x00\x00\x05hello"
	big := "\x00\x00\x00\x00\x14hello hello hello he"
	c.Requests = []harness.Request{
		{Name: "backend down: 502 page", H2: true, Send: []string{"POST /helloworld.Greeter/SayHello HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/grpc\r\nTE: trailers\r\nContent-Length: 10\r\n\r\n" + body}},
		{Name: "too large: 413 page", H2: true, Send: []string{"POST /helloworld.Greeter/SayHello HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/grpc\r\nTE: trailers\r\nContent-Length: 25\r\n\r\n" + big}},
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}
