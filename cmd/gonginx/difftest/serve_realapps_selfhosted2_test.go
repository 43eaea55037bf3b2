package difftest

import (
	"strings"
	"testing"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// More self-hosted applications' documented proxy sites: MinIO's S3 API
// and console, Plex, code-server, Portainer and Keycloak under subpaths,
// Kibana, Prometheus and Alertmanager behind auth_basic, Rocket.Chat,
// Ghost, Redmine in front of Puma, served by both servers.

// MinIO's documented site: invalid header names passed on, no body limit,
// request and response buffering off, chunked_transfer_encoding off,
// keepalive to the upstream; the console under /minio/ui/ by rewrite.
func TestServeAppMinIO(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{Name: "minio", ErrorMessages: true,
		Config: `upstream minio_s3 {
   least_conn;
   server {{BACKEND}};
   keepalive 8;
}

upstream minio_console {
   least_conn;
   server {{BACKEND}};
}

server {
   listen       127.0.0.1:{{PORT}};
   server_name  minio.example.net;

   # Allow special characters in headers
   ignore_invalid_headers off;
   # Allow any size file to be uploaded.
   # Set to a value such as 1000m; to restrict file size to a specific value
   client_max_body_size 0;
   # Disable buffering
   proxy_buffering off;
   proxy_request_buffering off;

   location / {
      proxy_set_header Host $http_host;
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;

      proxy_connect_timeout 300;
      # Default is HTTP/1, keepalive is only enabled in HTTP/1.1
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      chunked_transfer_encoding off;

      proxy_pass http://minio_s3; # This uses the upstream directive definition to load balance
   }

   location /minio/ui/ {
      rewrite ^/minio/ui/(.*) /$1 break;
      proxy_set_header Host $http_host;
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-NginX-Proxy true;

      # This is necessary to pass the correct IP to be hashed
      real_ip_header X-Real-IP;

      proxy_connect_timeout 300;

      # To support websockets in MinIO versions released after January 2023
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection "upgrade";
      # Some environments may encounter CORS errors (Kubernetes + Nginx Ingress)
      # Uncomment the following line to set the Origin request to an empty string
      # proxy_set_header Origin '';

      chunked_transfer_encoding off;

      proxy_pass http://minio_console; # This uses the upstream directive definition to load balance
   }
}
`}
	h := "minio.example.net"
	put := withBody("a PUT object", "PUT", h, "/bucket/dir/obj.bin?x-id=PutObject", "application/octet-stream", "0123456789",
		"x-amz-content-sha256: UNSIGNED-PAYLOAD", "x-amz-meta-my_key: v", "X-Amz-Meta-Dotted.Name: d")
	chunkedPut := chunkedBody("a chunked PUT (aws-chunked)", "PUT", h, "/bucket/stream.bin",
		"5;chunk-signature=abc\r\nhello\r\n", "0;chunk-signature=def\r\n\r\n")
	c.Requests = []harness.Request{
		appGet("list buckets", h, "/"),
		appGet("list objects with encoded prefix", h, "/bucket?list-type=2&prefix=a%2Fb%20c&delimiter=%2F"),
		put,
		chunkedPut,
		appGet("a ranged GET", h, "/bucket/dir/obj.bin", "Range: bytes=2-5"),
		appReq("HEAD object", "HEAD", h, "/bucket/dir/obj.bin"),
		appGet("a chunked answer sent as it is (chunked_transfer_encoding off)", h, "/bucket/chunked"),
		appGet("an answer without a length", h, "/bucket/nolength"),
		appGet("a header with an underscore passed", h, "/bucket/x", "X_Custom_Header: kept"),
		appReq("DELETE object", "DELETE", h, "/bucket/dir/obj.bin"),
		// (Within the stream's first window over HTTP/2: the harness's
		// client sends a body in one DATA frame, not minding windows.)
		withBody("a PUT with Expect: 100-continue, unbuffered", "PUT", h, "/bucket/big.bin", "application/octet-stream",
			strings.Repeat("0123456789abcdef", 4000), "Expect: 100-continue"),
		appGet("console", h, "/minio/ui/"),
		appGet("console asset", h, "/minio/ui/static/js/main.js"),
		wsUp("console websocket", h, "/minio/ui/ws/objectManager"),
	}
	harness.Compare(t, c, want, got, serveAssets(t))
	compareH2C(t, c, want, got)
}

// Plex's widely shared site (keepalive upstream, gzip for proxied
// answers, Plex headers passed by name, Connection "upgrade" for all),
// code-server's (Accept-Encoding forced to gzip), Portainer under a
// subpath with its WebSocket path, Keycloak under /auth/ with large
// proxy buffers, Kibana under /kibana/ with the prefix stripped by URI.
func TestServeAppMediaAndAdmin(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{Name: "plex code-server portainer keycloak kibana", ErrorMessages: true,
		Config: `upstream plex_backend {
    server {{BACKEND}};
    keepalive 32;
}

server {
    listen 127.0.0.1:{{PORT}};
    server_name plex.example.com;

    send_timeout 100m;

    gzip on;
    gzip_vary on;
    gzip_min_length 1000;
    gzip_proxied any;
    gzip_types text/plain text/css text/xml application/xml text/javascript application/x-javascript image/svg+xml;
    gzip_disable "MSIE [1-6]\.";

    client_max_body_size 100M;

    proxy_set_header Host $host;
    proxy_set_header X-Real-IP $remote_addr;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_set_header X-Forwarded-Proto $scheme;
    proxy_set_header Sec-WebSocket-Extensions $http_sec_websocket_extensions;
    proxy_set_header Sec-WebSocket-Key $http_sec_websocket_key;
    proxy_set_header Sec-WebSocket-Version $http_sec_websocket_version;

    proxy_set_header X-Plex-Client-Identifier $http_x_plex_client_identifier;
    proxy_set_header X-Plex-Device $http_x_plex_device;
    proxy_set_header X-Plex-Device-Name $http_x_plex_device_name;
    proxy_set_header X-Plex-Platform $http_x_plex_platform;
    proxy_set_header X-Plex-Platform-Version $http_x_plex_platform_version;
    proxy_set_header X-Plex-Product $http_x_plex_product;
    proxy_set_header X-Plex-Token $http_x_plex_token;
    proxy_set_header X-Plex-Version $http_x_plex_version;
    proxy_set_header X-Plex-Nocache $http_x_plex_nocache;
    proxy_set_header X-Plex-Provides $http_x_plex_provides;
    proxy_set_header X-Plex-Device-Vendor $http_x_plex_device_vendor;
    proxy_set_header X-Plex-Model $http_x_plex_model;

    proxy_http_version 1.1;
    proxy_set_header Upgrade $http_upgrade;
    proxy_set_header Connection "upgrade";

    proxy_redirect off;
    proxy_buffering off;

    location / {
        proxy_pass http://plex_backend;
    }
}

server {
    listen 127.0.0.1:{{PORT}};
    server_name code.example.com;

    location / {
      proxy_pass http://{{BACKEND}}/;
      proxy_set_header Host $host;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection upgrade;
      proxy_set_header Accept-Encoding gzip;
    }
}

upstream portainer {
    server {{BACKEND}};
}

upstream keycloak {
    server {{BACKEND}};
}

server {
    listen 127.0.0.1:{{PORT}};
    server_name ops.example.com;

    location /portainer/ {
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_pass http://portainer/;
    }
    location /portainer/api/websocket/ {
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection "upgrade";
        proxy_http_version 1.1;
        proxy_pass http://portainer/api/websocket/;
    }

    location /auth/ {
        proxy_pass http://keycloak/auth/;
        proxy_set_header Host $host;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header X-Forwarded-Host $host;
        proxy_set_header X-Forwarded-Port $server_port;
        proxy_buffer_size 128k;
        proxy_buffers 4 256k;
        proxy_busy_buffers_size 256k;
    }

    location /kibana/ {
        proxy_pass http://{{BACKEND}}/;
        proxy_http_version 1.1;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection 'upgrade';
        proxy_set_header Host $host;
        proxy_cache_bypass $http_upgrade;
    }
}
`}
	p, cs, o := "plex.example.com", "code.example.com", "ops.example.com"
	c.Requests = []harness.Request{
		appGet("plex library", p, "/library/sections?X-Plex-Token=t", "X-Plex-Client-Identifier: abc", "X-Plex-Product: Plex Web"),
		appGet("plex large text gzipped", p, "/made?ct=text/xml&n=4000", "Accept-Encoding: gzip"),
		appGet("plex small text not gzipped", p, "/made?ct=text/xml&n=100", "Accept-Encoding: gzip"),
		appGet("plex old MSIE not gzipped", p, "/made?ct=text/xml&n=4000", "Accept-Encoding: gzip", "User-Agent: Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)"),
		appGet("plex stream with Range", p, "/library/parts/1/file.mkv", "Range: bytes=100-"),
		wsUp("plex websocket", p, "/:/websockets/notifications?X-Plex-Token=t", "Sec-WebSocket-Extensions: permessage-deflate"),
		appGet("code-server", cs, "/?folder=/home/coder", "Accept-Encoding: br"),
		wsUp("code-server websocket", cs, "/stable-abc/?reconnectionToken=r&skipWebSocketFrames=false"),
		appGet("portainer", o, "/portainer/"),
		appGet("portainer api", o, "/portainer/api/endpoints?limit=10"),
		appGet("portainer without the slash", o, "/portainer"),
		wsUp("portainer exec websocket", o, "/portainer/api/websocket/exec?id=abc&endpointId=1"),
		appGet("keycloak realm", o, "/auth/realms/master/protocol/openid-connect/auth?client_id=x&redirect_uri=https%3A%2F%2Fa%2Fcb"),
		appGet("keycloak large header answer", o, "/auth/made?hn=20000"),
		appGet("keycloak redirect rewritten by the default proxy_redirect", o, "/auth/redirect"),
		appGet("kibana", o, "/kibana/app/home"),
		wsUp("kibana upgrade", o, "/kibana/socket"),
	}
	harness.Compare(t, c, want, got, serveAssets(t))
	compareH2C(t, c, want, got)
}

// Prometheus and Alertmanager behind basic auth (one htpasswd, a realm
// each, the health endpoint left open with auth_basic off), Rocket.Chat's
// documented site (WebSocket by Connection "upgrade", X-Nginx-Proxy),
// Ghost's (well-known allowed, large bodies), Redmine in front of Puma by
// try_files to a named location.
func TestServeAppMonitoringAndChat(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{Name: "monitoring and chat", ErrorMessages: true,
		Content: map[string]string{
			"htpasswd":                   "admin:{PLAIN}secret\nviewer:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n",
			"redmine/public/favicon.ico": "ICO",
			"redmine/public/stylesheets/application.css": "b{}\n",
			"ghost/.well-known/acme-challenge/t":         "t.thumb",
		},
		Config: `server {
    listen 127.0.0.1:{{PORT}};
    server_name monitor.example.com;

    location /prometheus/ {
        auth_basic "Prometheus";
        auth_basic_user_file htpasswd;
        proxy_pass http://{{BACKEND}}/prometheus/;
    }

    location /alertmanager/ {
        auth_basic "Alertmanager";
        auth_basic_user_file htpasswd;
        proxy_pass http://{{BACKEND}}/;
    }

    location = /prometheus/-/healthy {
        auth_basic off;
        proxy_pass http://{{BACKEND}};
    }
}

upstream rocketchat_backend {
  server {{BACKEND}};
}

server {
    listen 127.0.0.1:{{PORT}};
    server_name chat.example.com;

    location / {
        proxy_pass http://rocketchat_backend/;
        proxy_http_version 1.1;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection "upgrade";
        proxy_set_header Host $http_host;

        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto http;
        proxy_set_header X-Nginx-Proxy true;

        proxy_redirect off;
    }
}

server {
    listen 127.0.0.1:{{PORT}};
    server_name blog.example.com;
    root ghost;

    location / {
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header Host $http_host;
        proxy_pass http://127.0.0.1:{{BACKEND_PORT}};
    }

    location ~ /.well-known {
        allow all;
    }

    client_max_body_size 50m;
}

upstream puma {
  server {{BACKEND}} fail_timeout=0;
}

server {
  listen 127.0.0.1:{{PORT}};
  server_name redmine.example.com;
  root redmine/public;

  try_files $uri/index.html $uri @puma;

  location @puma {
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_set_header Host $http_host;
    proxy_redirect off;
    proxy_pass http://puma;
  }

  error_page 500 502 503 504 /500.html;
  client_max_body_size 10M;
  keepalive_timeout 10;
}
`}
	m, ch, b, r := "monitor.example.com", "chat.example.com", "blog.example.com", "redmine.example.com"
	admin, viewer := "Authorization: Basic YWRtaW46c2VjcmV0", "Authorization: Basic dmlld2VyOnBhc3N3b3Jk"
	c.Requests = []harness.Request{
		appGet("prometheus without credentials", m, "/prometheus/graph"),
		appGet("prometheus as admin", m, "/prometheus/api/v1/query?query=up", admin),
		appGet("prometheus as viewer by SHA", m, "/prometheus/api/v1/query?query=up", viewer),
		appGet("prometheus with a wrong password", m, "/prometheus/graph", "Authorization: Basic YWRtaW46d3Jvbmc="),
		appGet("prometheus with an unknown user", m, "/prometheus/graph", "Authorization: Basic bm9ib2R5Ong="),
		appGet("prometheus with a malformed header", m, "/prometheus/graph", "Authorization: Basic !!!"),
		appGet("prometheus health open", m, "/prometheus/-/healthy"),
		appGet("alertmanager as admin", m, "/alertmanager/api/v2/alerts", admin),
		withBody("alertmanager silence POST", "POST", m, "/alertmanager/api/v2/silences", "application/json", `{"matchers":[]}`, admin),
		appGet("rocket.chat", ch, "/home"),
		wsUp("rocket.chat websocket", ch, "/websocket"),
		appGet("rocket.chat sockjs", ch, "/sockjs/info?cb=abc"),
		appGet("ghost", b, "/my-post/"),
		appGet("ghost admin redirect kept", b, "/redirect"),
		appGet("ghost well-known", b, "/.well-known/acme-challenge/t"),
		withBody("ghost image upload", "POST", b, "/ghost/api/admin/images/upload/", "image/png", "PNGDATA"),
		appGet("redmine favicon", r, "/favicon.ico"),
		appGet("redmine stylesheet", r, "/stylesheets/application.css"),
		appGet("redmine issues through puma", r, "/issues?set_filter=1"),
		appGet("redmine a 502 from puma: no 500.html, the built-in page", r, "/status/502"),
		withBody("redmine form", "POST", r, "/login", "application/x-www-form-urlencoded", "username=a&password=b"),
	}
	harness.Compare(t, c, want, got, serveAssets(t))
	compareH2C(t, c, want, got)
}
