package difftest

import (
	"testing"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// Sites built on server-level rewrites and chained maps: WordPress
// multisite (subdirectories), PrestaShop's documented site, and
// OnlyOffice's proxy, served by both servers.

// WordPress multisite in subdirectories (the nginx.com recipe): the blog
// path from a map with a named capture, its id from a map of that,
// uploaded files by try_files into blogs.dir or ms-files.php, an internal
// alias, and "if (!-e $request_filename)" rewrites at server level.
func TestServeAppWordPressMultisite(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	fpm := startPHPFPM(t)
	content := fcgiParamsContent(t)
	content["wp/index.php"] = phpApp
	content["wp/wp-login.php"] = phpApp
	content["wp/wp-admin/index.php"] = phpApp
	content["wp/wp-includes/ms-files.php"] = phpApp
	content["wp/wp-includes/js/jquery.js"] = "jq\n"
	content["wp/wp-content/blogs.dir/-999/files/2024/pic.png"] = "PNG-999"
	content["wp/wp-content/themes/t/style.css"] = "b{}\n"
	c := harness.Case{Name: "wordpress multisite", Content: content, ErrorMessages: true, Clock: harness.ClockRelative,
		Config: `map $uri $blogname{
    ~^(?P<blogpath>/[^/]+/)files/(.*)       $blogpath ;
}

map $blogname $blogid{
    default -999;
}

server {
    listen 127.0.0.1:{{PORT}};
    server_name example.com ;

    root wp;
    index index.php;

    location ~ ^(/[^/]+/)?files/(.+) {
        try_files /wp-content/blogs.dir/$blogid/files/$2 /wp-includes/ms-files.php?file=$2 ;
        access_log off;     log_not_found off; expires max;
    }

    #avoid php readfile()
    location ^~ /blogs.dir {
        internal;
        alias wp/wp-content/blogs.dir ;
        access_log off;     log_not_found off; expires max;
    }

    if (!-e $request_filename) {
        rewrite /wp-admin$ $scheme://$host$request_uri/ permanent;
        rewrite ^(/[^/]+)?(/wp-.*) $2 last;
        rewrite ^(/[^/]+)?(/.*\.php) $2 last;
    }

    location / {
        try_files $uri $uri/ /index.php?$args ;
    }

    location ~ \.php$ {
        try_files $uri =404;
        include fastcgi_params;
        fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
        fastcgi_pass ` + fpm + `;
    }

    error_log stderr;
}
`}
	h := "example.com"
	c.Requests = []harness.Request{
		appGet("main site", h, "/"),
		appGet("a post", h, "/2024/01/hello-world/"),
		appGet("a sub-site home", h, "/blog2/"),
		appGet("a sub-site admin without the slash", h, "/blog2/wp-admin"),
		appGet("a sub-site admin", h, "/blog2/wp-admin/"),
		appGet("a sub-site login", h, "/blog2/wp-login.php?action=lostpassword"),
		appGet("a sub-site script under the root", h, "/blog2/wp-includes/js/jquery.js"),
		appGet("a sub-site theme file", h, "/blog2/wp-content/themes/t/style.css"),
		appGet("an uploaded file in blogs.dir", h, "/blog2/files/2024/pic.png"),
		appGet("an uploaded file through ms-files.php", h, "/blog2/files/2024/none.png"),
		appGet("main site files", h, "/files/2024/pic.png"),
		appGet("blogs.dir asked for directly", h, "/blogs.dir/-999/files/2024/pic.png"),
		appGet("a missing php under a sub-site", h, "/blog2/none.php"),
		appGet("the admin redirect keeps the query", h, "/blog3/wp-admin?x=1"),
	}
	harness.Compare(t, c, want, got, serveAssets(t))
	compareH2C(t, c, want, got)
}

// PrestaShop's documented site: image URLs rewritten at server level with
// several captures, the webservice API, admin by "if" in a location, an
// error page with arguments, nested locations refusing scripts in
// upload folders, the split path checked by try_files, fastcgi_keep_conn.
func TestServeAppPrestaShop(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	fpm := startPHPFPM(t)
	content := fcgiParamsContent(t)
	content["shop/index.php"] = phpApp
	content["shop/webservice/dispatcher.php"] = phpApp
	content["shop/admin-dev/index.php"] = phpApp
	content["shop/img/p/1/2/3/123-home_default.jpg"] = "JPG123"
	content["shop/img/p/4/4-large.jpg"] = "JPG4"
	content["shop/img/c/shoes.jpg"] = "JPGC"
	content["shop/img/evil.php"] = "<?php echo 'evil';"
	content["shop/upload/doc.pdf"] = "%PDF"
	content["shop/themes/x/font.woff2"] = "wOF2"
	content["shop/config/settings.inc.php"] = "<?php echo 'db';"
	content["shop/themes/x/tpl/page.tpl"] = "{block}"
	content["shop/modules/m/vendor/x.php"] = "<?php"
	c := harness.Case{Name: "prestashop", Content: content, ErrorMessages: true,
		Config: `server {
    listen 127.0.0.1:{{PORT}};
    server_name shop.example.com;

    root shop;
    index index.php;

    # Cloudflare / Max CDN fix
    location ~* \.(eot|otf|ttf|woff|woff2)$ {
        add_header Access-Control-Allow-Origin *;
    }

    # Force pdf files to be downloaded
    location ~* \.pdf$ {
        add_header Content-Disposition Attachment;
        add_header X-Content-Type-Options nosniff;
    }

    # Force files in upload directory to be downloaded
    location ~ ^/upload/ {
        add_header Content-Disposition Attachment;
        add_header X-Content-Type-Options nosniff;
    }

    location = /favicon.ico {
        auth_basic off;
        allow all;
        log_not_found off;
        access_log off;
    }

    location = /robots.txt {
        auth_basic off;
        allow all;
        log_not_found off;
        access_log off;
    }

    # Images
    rewrite ^/(\d)(-[\w-]+)?/.+\.jpg$ /img/p/$1/$1$2.jpg last;
    rewrite ^/(\d)(\d)(-[\w-]+)?/.+\.jpg$ /img/p/$1/$2/$1$2$3.jpg last;
    rewrite ^/(\d)(\d)(\d)(-[\w-]+)?/.+\.jpg$ /img/p/$1/$2/$3/$1$2$3$4.jpg last;
    rewrite ^/c/([\w.-]+)/.+\.jpg$ /img/c/$1.jpg last;

    # AlphaImageLoader for IE and FancyBox.
    rewrite ^images_ie/?([^/]+)\.(gif|jpe?g|png)$ js/jquery/plugins/fancybox/images/$1.$2 last;

    # Web service API.
    rewrite ^/api/?(.*)$ /webservice/dispatcher.php?url=$1 last;

    # Installation sandbox.
    rewrite ^(/install(?:-dev)?/sandbox)/.* /$1/test.php last;

    location /admin-dev/ {
        if (!-e $request_filename) {
            rewrite ^/.*$ /admin-dev/index.php last;
        }
    }

    location / {
        try_files $uri $uri/ /index.php$is_args$args;
    }

    error_page 404 /index.php?controller=404;

    # Deny access to .htaccess .DS_Store htpasswd etc files
    location ~ /\. {
        deny all;
    }

    # Source code directories
    location ~ ^/(app|bin|cache|classes|config|controllers|docs|localization|override|src|tests|tools|translations|var|vendor)/ {
        deny all;
    }

    # vendor in modules directory
    location ~ ^/modules/.*/vendor/ {
        deny all;
    }

    # Prevent exposing other sensitive files
    location ~ \.(log|tpl|twig|sass|yml)$ {
        deny all;
    }

    # Prevent injection of PHP files
    location /img {
        location ~ \.php$ {
            deny all;
        }
    }

    location /upload {
        location ~ \.php$ {
            deny all;
        }
    }

    location ~ [^/]\.php(/|$) {
        # Split $uri to $fastcgi_script_name and $fastcgi_path_info
        fastcgi_split_path_info ^(.+?\.php)(/.*)$;

        # Ensure that the requested PHP script exists before passing it
        # to the PHP-FPM.
        try_files $fastcgi_script_name =404;

        # Environment variables for PHP
        fastcgi_index index.php;

        include fastcgi_params;

        fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
        fastcgi_param PATH_INFO $fastcgi_path_info;
        fastcgi_param HTTP_PROXY "";

        fastcgi_keep_conn on;
        fastcgi_read_timeout 30s;
        fastcgi_send_timeout 30s;

        client_max_body_size 10M;

        fastcgi_pass ` + fpm + `;
    }

    error_log stderr;
}
`}
	h := "shop.example.com"
	c.Requests = []harness.Request{
		appGet("home", h, "/"),
		appGet("a product", h, "/men/1-1-hummingbird-printed-t-shirt.html#/1-size-s"),
		appGet("a three-digit product image", h, "/123-home_default/mug.jpg"),
		appGet("a one-digit product image", h, "/4-large/x.jpg"),
		appGet("a missing product image: the 404 page with arguments", h, "/56-large/x.jpg"),
		appGet("a category image", h, "/c/shoes/category.jpg"),
		appGet("the webservice", h, "/api/products/1?output_format=JSON"),
		appGet("the webservice root", h, "/api"),
		appGet("the admin", h, "/admin-dev/"),
		appGet("an admin controller", h, "/admin-dev/index.php?controller=AdminLogin"),
		appGet("an admin route rewritten", h, "/admin-dev/sell/catalog/products"),
		appGet("a script in img", h, "/img/evil.php"),
		appGet("a pdf download", h, "/upload/doc.pdf"),
		appGet("a font with CORS", h, "/themes/x/font.woff2"),
		appGet("config denied", h, "/config/settings.inc.php"),
		appGet("a template denied", h, "/themes/x/tpl/page.tpl"),
		appGet("a module's vendor", h, "/modules/m/vendor/x.php"),
		appGet("the sandbox", h, "/install/sandbox/anything"),
		appGet("a missing page", h, "/no-such-page"),
		withBody("a cart POST", "POST", h, "/cart", "application/x-www-form-urlencoded", "add=1&id_product=1"),
	}
	harness.Compare(t, c, want, got, serveAssets(t))
	compareH2C(t, c, want, got)
}

// OnlyOffice Document Server's proxy: maps whose values are other
// variables, chained (the forwarded host and scheme with fallbacks), set
// at http level for every proxy, and a virtual path prefix passed in
// X-Forwarded-Host.
func TestServeAppOnlyOffice(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{Name: "onlyoffice", ErrorMessages: true,
		Config: `map $http_host $this_host {
  "" $host;
  default $http_host;
}
map $http_x_forwarded_proto $the_scheme {
  default $http_x_forwarded_proto;
  "" $scheme;
}
map $http_x_forwarded_host $the_host {
  default $http_x_forwarded_host;
  "" $this_host;
}
map $http_upgrade $proxy_connection {
  default upgrade;
  "" close;
}

upstream docservice {
  server {{BACKEND}};
}

proxy_set_header Host $http_host;
proxy_set_header Upgrade $http_upgrade;
proxy_set_header Connection $proxy_connection;
proxy_set_header X-Forwarded-Host $the_host;
proxy_set_header X-Forwarded-Proto $the_scheme;
proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;

server {
  listen 127.0.0.1:{{PORT}};
  server_tokens off;

  location / {
    proxy_pass http://docservice;
    proxy_http_version 1.1;
  }

  location /ds-vpath/ {
    proxy_pass http://docservice/;
    proxy_http_version 1.1;
    proxy_set_header Host $http_host;
    proxy_set_header Upgrade $http_upgrade;
    proxy_set_header Connection $proxy_connection;
    proxy_set_header X-Forwarded-Host $the_host/ds-vpath;
    proxy_set_header X-Forwarded-Proto $the_scheme;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
  }
}
`}
	h := "office.example.com"
	c.Requests = []harness.Request{
		appGet("the api script", h, "/web-apps/apps/api/documents/api.js"),
		appGet("behind a proxy that forwards host and scheme", h, "/healthcheck", "X-Forwarded-Host: docs.example.org", "X-Forwarded-Proto: https"),
		appGet("the virtual path", h, "/ds-vpath/web-apps/apps/api/documents/api.js"),
		appGet("the virtual path behind a proxy", h, "/ds-vpath/coauthoring/CommandService.ashx", "X-Forwarded-Host: docs.example.org"),
		serveRaw("HTTP/1.0 without a Host: the map's fallback", "GET /ds-vpath/info HTTP/1.0\r\n\r\n"),
		wsUp("the editor's websocket", h, "/ds-vpath/7.5.1-x/doc/abc/c/?EIO=4&transport=websocket"),
		withBody("a conversion request", "POST", h, "/ConvertService.ashx", "application/json", `{"async":false}`),
	}
	harness.Compare(t, c, want, got, serveAssets(t))
	compareH2C(t, c, want, got)
}

// Apps put under a subpath whose pages do not know it, as guides do it:
// Pi-hole's admin under /pihole/ with its links, cookies and redirects
// rewritten (sub_filter on uncompressed answers, proxy_cookie_path,
// proxy_redirect), qBittorrent's Host pinned, Transmission's session
// header passed and its RPC by exact paths.
func TestServeAppSubpathRewriting(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{Name: "subpath rewriting", ErrorMessages: true,
		Config: `upstream pihole {
    server {{BACKEND}};
}

server {
    listen 127.0.0.1:{{PORT}};
    server_name home.example.com;

    location /pihole/ {
        proxy_pass http://pihole/admin/;
        proxy_set_header Accept-Encoding "";
        sub_filter '<a href="/admin/' '<a href="/pihole/';
        sub_filter 'src="/admin/' 'src="/pihole/';
        sub_filter_once off;
        sub_filter_types text/css application/javascript;
        proxy_cookie_path /admin/ /pihole/;
        proxy_redirect /admin/ /pihole/;
    }

    location /qbt/ {
        proxy_pass         http://127.0.0.1:{{BACKEND_PORT}}/;
        proxy_http_version 1.1;
        proxy_set_header   Host               127.0.0.1:{{BACKEND_PORT}};
        proxy_set_header   X-Forwarded-Host   $http_host;
        proxy_set_header   X-Forwarded-For    $remote_addr;
        proxy_cookie_path  /                  "/; Secure";
    }

    location /transmission/ {
        proxy_read_timeout 300;
        proxy_pass_header  X-Transmission-Session-Id;
        proxy_set_header   X-Forwarded-Host $host;
        proxy_set_header   X-Forwarded-Server $host;
        proxy_set_header   X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_pass         http://127.0.0.1:{{BACKEND_PORT}}/transmission/web/;
    }

    location /rpc {
        proxy_pass         http://127.0.0.1:{{BACKEND_PORT}}/transmission/rpc;
    }

    location /upload {
        proxy_pass         http://127.0.0.1:{{BACKEND_PORT}}/transmission/upload;
    }
}
`}
	h := "home.example.com"
	page := "/pihole/typed?ct=text/html&body=" +
		"%3Chtml%3E%3Ca+href%3D%22%2Fadmin%2Fx%22%3Ex%3C%2Fa%3E%3Cimg+src%3D%22%2Fadmin%2Fi.png%22%3E%3Ca+href%3D%22%2Fadmin%2Fy%22%3Ey%3C%2Fa%3E%3C%2Fhtml%3E"
	c.Requests = []harness.Request{
		appGet("a page with links rewritten", h, page, "Accept-Encoding: gzip"),
		appGet("a stylesheet rewritten", h, "/pihole/typed?ct=text/css&body=a%7Bbackground:url(src=%22/admin/x.png%22)%7D"),
		appGet("a json answer untouched", h, "/pihole/typed?ct=application/json&body=%7B%22u%22:%22%3Ca+href%3D%22/admin/%22%7D"),
		appGet("a cookie path rewritten", h, "/pihole/accel?h=Set-Cookie:+PHPSESSID%3Dx%3B+path%3D%2Fadmin%2F%3B+HttpOnly"),
		appGet("a redirect rewritten", h, "/pihole/accel?s=302&h=Location:+/admin/login.php"),
		appGet("an absolute redirect kept", h, "/pihole/accel?s=302&h=Location:+http://other/admin/"),
		appGet("qbittorrent", h, "/qbt/api/v2/app/version"),
		appGet("qbittorrent cookie made secure", h, "/qbt/accel?h=Set-Cookie:+SID%3Dabc%3B+HttpOnly%3B+path%3D%2F"),
		appGet("transmission web", h, "/transmission/index.html"),
		appGet("transmission session header passed", h, "/transmission/accel?s=409&h=X-Transmission-Session-Id:+abc"),
		withBody("transmission rpc", "POST", h, "/rpc", "application/json", `{"method":"session-get"}`, "X-Transmission-Session-Id: abc"),
		withBody("transmission upload", "POST", h, "/upload?X-Transmission-Session-Id=abc", "application/x-bittorrent", "d8:announce"),
		appGet("rpc with more after it", h, "/rpcx/y"),
	}
	harness.Compare(t, c, want, got, serveAssets(t))
	compareH2C(t, c, want, got)
}
