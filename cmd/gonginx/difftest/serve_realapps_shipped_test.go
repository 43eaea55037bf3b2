package difftest

import (
	"strings"
	"testing"
	"time"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// Sites that applications ship for nginx (Mastodon, Discourse, PeerTube,
// GitLab, Zammad, Pleroma) and TLS snippets, served by both servers.

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
	t.Run("h2", func(t *testing.T) {
		h2 := c
		h2.Config = strings.Replace(c.Config, "listen 127.0.0.1:{{PORT}};", "listen 127.0.0.1:{{PORT}} http2;", 1)
		h2.Requests = overH2(c.Requests)
		harness.Compare(t, h2, want, got, serveAssets(t))
	})
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
	t.Run("h2", func(t *testing.T) {
		h2 := c
		h2.Config = strings.Replace(c.Config, "listen 127.0.0.1:{{PORT}};", "listen 127.0.0.1:{{PORT}} http2;", 1)
		h2.Requests = overH2(c.Requests)
		harness.Compare(t, h2, want, got, serveAssets(t))
	})
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
