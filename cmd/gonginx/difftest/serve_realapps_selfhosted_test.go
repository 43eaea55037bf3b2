package difftest

import (
	"strconv"
	"strings"
	"testing"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// Self-hosted applications' documented reverse-proxy setups (Jellyfin,
// Home Assistant, Grafana under a subpath, Gitea, Vaultwarden, Immich,
// Matrix Synapse, Odoo, MinIO, Plex, code-server, Portainer, Keycloak),
// addresses moved to the test's backend, served by both servers.

// wsUp is a WebSocket upgrade to a named host with the test frames' first two.
func wsUp(name, host, target string, extra ...string) harness.Request {
	h := ""
	for _, x := range extra {
		h += x + "\r\n"
	}
	return harness.Request{Name: name, Send: []string{"GET " + target + " HTTP/1.1\r\nHost: " + host +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + serveWSKey +
		"\r\nSec-WebSocket-Version: 13\r\n" + h + "\r\n"}, WS: serveFrames()[:2]}
}

// withBody is a request with a body and its Content-Length.
func withBody(name, method, host, target, ctype, body string, extra ...string) harness.Request {
	r := appReq(name, method, host, target, append([]string{"Content-Type: " + ctype, "Content-Length: " + strconv.Itoa(len(body))}, extra...)...)
	r.Send[0] += body
	return r
}

// chunkedBody is a request whose body comes chunked (S3 clients, git pushes).
func chunkedBody(name, method, host, target string, chunks ...string) harness.Request {
	body := ""
	for _, c := range chunks {
		body += strconv.FormatInt(int64(len(c)), 16) + "\r\n" + c + "\r\n"
	}
	r := appReq(name, method, host, target, "Transfer-Encoding: chunked")
	r.Send[0] += body + "0\r\n\r\n"
	return r
}

// Jellyfin's documented site: the upstream named by a variable (set, then
// proxy_pass http://$jellyfin:8096 with a URI in one location), a redirect
// of / to /web/, security headers at server level, the /socket WebSocket.
func TestServeAppJellyfin(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{Name: "jellyfin", ErrorMessages: true, Config: `server {
    listen 127.0.0.1:{{PORT}};
    server_name jellyfin.example.com;

    client_max_body_size 20M;

    set $jellyfin 127.0.0.1;

    add_header X-Content-Type-Options "nosniff";
    add_header Permissions-Policy "accelerometer=(), ambient-light-sensor=(), battery=(), bluetooth=(), camera=(), clipboard-read=(), display-capture=(), document-domain=(), encrypted-media=(), gamepad=(), geolocation=(), gyroscope=(), hid=(), idle-detection=(), interest-cohort=(), keyboard-map=(), local-fonts=(), magnetometer=(), microphone=(), payment=(), publickey-credentials-get=(), serial=(), sync-xhr=(), usb=(), xr-spatial-tracking=()" always;
    add_header Content-Security-Policy "default-src https: data: blob: ; img-src 'self' https://* ; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline' https://www.gstatic.com https://www.youtube.com blob:; worker-src 'self' blob:; connect-src 'self'; object-src 'none'; frame-ancestors 'self'";

    location = / {
        return 302 http://$host/web/;
    }

    location / {
        proxy_pass http://$jellyfin:{{BACKEND_PORT}};
        proxy_set_header Host $host;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header X-Forwarded-Protocol $scheme;
        proxy_set_header X-Forwarded-Host $http_host;

        proxy_buffering off;
    }

    location = /web/ {
        proxy_pass http://$jellyfin:{{BACKEND_PORT}}/web/index.html;
        proxy_set_header Host $host;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header X-Forwarded-Protocol $scheme;
        proxy_set_header X-Forwarded-Host $http_host;
    }

    location /socket {
        proxy_pass http://$jellyfin:{{BACKEND_PORT}};
        proxy_http_version 1.1;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection "upgrade";
        proxy_set_header Host $host;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header X-Forwarded-Protocol $scheme;
        proxy_set_header X-Forwarded-Host $http_host;
    }
}
`}
	h := "jellyfin.example.com"
	c.Requests = []harness.Request{
		appGet("root redirects to web", h, "/"),
		appGet("the web client", h, "/web/"),
		appGet("the web client with a query", h, "/web/?from=x"),
		appGet("an API call", h, "/Users/Me?api_key=k", "X-Emby-Authorization: MediaBrowser Client=\"Jellyfin Web\""),
		appGet("a stream with Range", h, "/Videos/1/stream.mp4?static=true", "Range: bytes=0-99"),
		appGet("an error from the app keeps add_header always only", h, "/status/404"),
		appGet("a redirect from the app", h, "/redirect"),
		withBody("an image upload", "POST", h, "/Items/1/Images/Primary", "image/png", "PNGDATA"),
		wsUp("the socket", h, "/socket?api_key=k&deviceId=d"),
		appGet("an encoded path passed as the client sent it", h, "/Items/a%20b/Download?x=%2F"),
		keptAlive("a session on one connection", h, "/", "/web/", "/Users/Me", "/Items/1/Images/Primary PNGDATA", "/status/404", "/redirect", "/web/"),
	}
	harness.Compare(t, c, want, got, serveAssets(t))
	compareH2C(t, c, want, got)
}

// Home Assistant's documented site: plain HTTP sent to HTTPS, the app
// over TLS with proxy_redirect http:// https://, buffering off at server
// level, WebSocket by map.
func TestServeAppHomeAssistant(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{Name: "home assistant", ErrorMessages: true, Files: []string{"cert.pem", "key.pem"}, TLS: true, SNI: "ha.example.com",
		Config: `map $http_upgrade $connection_upgrade {
    default upgrade;
    ''      close;
}

server {
    listen 127.0.0.1:{{PORT}} ssl http2;
    server_name ha.example.com;

    ssl_certificate {{CERT}};
    ssl_certificate_key {{KEY}};
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_prefer_server_ciphers on;
    ssl_ciphers "EECDH+AESGCM:EDH+AESGCM:AES256+EECDH:AES256+EDH:!aNULL";
    ssl_session_cache shared:SSL:10m;

    add_header Strict-Transport-Security "max-age=31536000; includeSubdomains";

    proxy_buffering off;

    location / {
        proxy_pass http://{{BACKEND}};
        proxy_set_header Host $host;
        proxy_redirect http:// https://;
        proxy_http_version 1.1;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection $connection_upgrade;
    }
}
`}
	h := "ha.example.com"
	c.Requests = []harness.Request{
		appGet("the frontend", h, "/lovelace/0"),
		appGet("an API call with a bearer", h, "/api/states", "Authorization: Bearer abc"),
		appGet("a redirect rewritten to https", h, "/redirect"),
		appGet("a refresh rewritten too", h, "/refresh"),
		appGet("the event stream", h, "/api/stream/chunked", "Accept: text/event-stream"),
		withBody("a service call", "POST", h, "/api/services/light/turn_on", "application/json", `{"entity_id":"light.k"}`),
		wsUp("the websocket API", h, "/api/websocket"),
	}
	harness.Compare(t, c, want, got, serveAssets(t))
	t.Run("h2", func(t *testing.T) {
		h2 := c
		h2.Requests = overH2(c.Requests)
		harness.Compare(t, h2, want, got, serveAssets(t))
	})
}

// Grafana's documented subpath setup: rewrite ... break strips /grafana/
// before proxy_pass to an upstream without a URI, the Live WebSocket in a
// longer prefix; and Gitea's documented subpath, "rewrite ^ $request_uri"
// then a capture of the still-encoded path into proxy_pass ...$uri.
func TestServeAppGrafanaGiteaSubpath(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{Name: "grafana gitea", ErrorMessages: true, Content: map[string]string{"www/index.html": "home\n"},
		Config: `map $http_upgrade $connection_upgrade {
  default upgrade;
  '' close;
}

upstream grafana {
  server {{BACKEND}};
}

server {
  listen 127.0.0.1:{{PORT}};
  server_name tools.example.com;
  root www;
  index index.html index.htm;

  location /grafana/ {
    rewrite  ^/grafana/(.*)  /$1 break;
    proxy_set_header Host $host;
    proxy_pass http://grafana;
  }

  # Proxy Grafana Live WebSocket connections.
  location /grafana/api/live/ {
    rewrite  ^/grafana/(.*)  /$1 break;
    proxy_http_version 1.1;
    proxy_set_header Upgrade $http_upgrade;
    proxy_set_header Connection $connection_upgrade;
    proxy_set_header Host $host;
    proxy_pass http://grafana;
  }

  location ~ ^/(gitea|v2)($|/) {
    client_max_body_size 512M;

    # make nginx use unescaped URI, keep "%2F" as-is, remove the "/gitea" sub-path prefix, pass "/v2" as-is.
    rewrite ^ $request_uri;
    rewrite ^(/gitea)?(/.*) $2 break;
    proxy_pass http://{{BACKEND}}$uri;

    # other common HTTP headers, see the "Nginx" config section above
    proxy_set_header Connection $http_connection;
    proxy_set_header Upgrade $http_upgrade;
    proxy_set_header Host $host;
    proxy_set_header X-Real-IP $remote_addr;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_set_header X-Forwarded-Proto $scheme;
  }
}
`}
	h := "tools.example.com"
	c.Requests = []harness.Request{
		appGet("home", h, "/"),
		appGet("grafana dashboard", h, "/grafana/d/abc/overview?orgId=1&refresh=5s"),
		appGet("grafana root", h, "/grafana/"),
		appGet("grafana without the slash", h, "/grafana"),
		appGet("grafana encoded path", h, "/grafana/api/datasources/proxy/1/api%2Fv1?q=a%20b"),
		wsUp("grafana live", h, "/grafana/api/live/ws"),
		appGet("gitea repo", h, "/gitea/user/repo/src/branch/main"),
		appGet("gitea with an encoded slash kept", h, "/gitea/api/v1/repos/o/r/contents/a%2Fb.txt?ref=main"),
		appGet("gitea bare prefix", h, "/gitea"),
		appGet("registry v2", h, "/v2/o/img/manifests/latest"),
		appGet("gitea dot segments", h, "/gitea/a/../b"),
		chunkedBody("a git push body chunked", "POST", h, "/gitea/o/r.git/git-receive-pack", "PACK", "data"),
		appGet("not gitea", h, "/giteax/"),
		wsUp("gitea websocket with Connection passed", h, "/gitea/-/ws"),
	}
	harness.Compare(t, c, want, got, serveAssets(t))
	compareH2C(t, c, want, got)
}

// Vaultwarden's wiki site: a zone'd upstream with keepalive, a map that
// empties Connection when not upgrading (keepalive kept), a large body
// limit; Immich's documented site: every proxy header at server level,
// Connection "upgrade" always, long timeouts.
func TestServeAppVaultwardenImmich(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{Name: "vaultwarden immich", ErrorMessages: true,
		Config: `upstream vaultwarden-default {
  zone vaultwarden-default 64k;
  server {{BACKEND}};
  keepalive 2;
}

map $http_upgrade $connection_upgrade {
    default upgrade;
    ''      "";
}

server {
    listen 127.0.0.1:{{PORT}};
    server_name vault.example.com;

    client_max_body_size 525M;

    location / {
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;

      proxy_set_header Host $host;
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;

      proxy_pass http://vaultwarden-default;
    }
}

server {
    listen 127.0.0.1:{{PORT}};
    server_name photos.example.com;

    client_max_body_size 50000M;

    proxy_set_header Host              $host;
    proxy_set_header X-Real-IP         $remote_addr;
    proxy_set_header X-Forwarded-For   $proxy_add_x_forwarded_for;
    proxy_set_header X-Forwarded-Proto $scheme;

    proxy_http_version 1.1;
    proxy_set_header   Upgrade    $http_upgrade;
    proxy_set_header   Connection "upgrade";
    proxy_redirect     off;

    proxy_read_timeout 600s;
    proxy_send_timeout 600s;
    send_timeout       600s;

    location / {
        proxy_pass http://{{BACKEND}};
    }

    location = /.well-known/immich {
        proxy_pass http://{{BACKEND}};
    }
}
`}
	v, p := "vault.example.com", "photos.example.com"
	keep := func(name, target string) harness.Request {
		return serveRaw(name, "GET "+target+" HTTP/1.1\r\nHost: "+v+"\r\n\r\n", "GET /reqno HTTP/1.1\r\nHost: "+v+"\r\nConnection: close\r\n\r\n")
	}
	second := keep("two on one connection reuse the upstream one", "/reqno")
	second.Responses = 2
	c.Requests = []harness.Request{
		appGet("vault web", v, "/#/vault"),
		withBody("vault login", "POST", v, "/identity/connect/token", "application/x-www-form-urlencoded", "grant_type=password&username=u"),
		second,
		wsUp("vault notifications hub", v, "/notifications/hub?access_token=t"),
		appGet("vault admin", v, "/admin"),
		appGet("immich app", p, "/photos"),
		appGet("immich well-known", p, "/.well-known/immich"),
		appGet("immich redirect kept as sent", p, "/redirect"),
		withBody("immich upload", "POST", p, "/api/assets", "application/octet-stream", "JPEGBYTES"),
		wsUp("immich socket.io", p, "/api/socket.io/?EIO=4&transport=websocket"),
		appGet("immich thumbnail with Range", p, "/api/assets/1/thumbnail", "Range: bytes=2-"),
	}
	harness.Compare(t, c, want, got, serveAssets(t))
	compareH2C(t, c, want, got)
}

// Matrix Synapse's documented site: a regex location for /_matrix and
// /_synapse/client passing the URI untouched (the docs say nginx must not
// canonicalise it), the federation port as default_server, and the
// .well-known delegation answered by return with JSON and CORS.
func TestServeAppMatrixSynapse(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{Name: "synapse", ErrorMessages: true,
		Config: `server {
    listen 127.0.0.1:{{PORT}} default_server;
    server_name matrix.example.com;

    location ~ ^(/_matrix|/_synapse/client) {
        # note: do not add a path (even a single /) after the port in proxy_pass,
        # otherwise nginx will canonicalise the URI and cause signature verification
        # errors.
        proxy_pass http://{{BACKEND}};
        proxy_set_header X-Forwarded-For $remote_addr;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header Host $host;

        # Nginx by default only allows file uploads up to 1M in size
        # Increase client_max_body_size to match max_upload_size defined in homeserver.yaml
        client_max_body_size 50M;

        # Synapse responses may be chunked, which is an HTTP/1.1 feature.
        proxy_http_version 1.1;
    }
}

server {
    listen 127.0.0.1:{{PORT}};
    server_name example.com;

    location /.well-known/matrix/client {
        return 200 '{"m.homeserver": {"base_url": "https://matrix.example.com"}}';
        default_type application/json;
        add_header Access-Control-Allow-Origin *;
    }

    location /.well-known/matrix/server {
        return 200 '{"m.server": "matrix.example.com:443"}';
        default_type application/json;
    }

    location / {
        return 301 https://matrix.example.com$request_uri;
    }
}
`}
	m, d := "matrix.example.com", "example.com"
	c.Requests = []harness.Request{
		appGet("client versions", m, "/_matrix/client/versions"),
		appGet("a room state with encoded sigils", m, "/_matrix/client/v3/rooms/%21abc%3Aexample.com/state/m.room.member/%40u%3Aexample.com"),
		appGet("federation with dot segments and double slashes kept", m, "/_matrix/federation/v1/event//x/../y?a=%2e"),
		appGet("synapse admin not proxied", m, "/_synapse/admin/v1/users"),
		appGet("synapse client", m, "/_synapse/client/oidc/callback?code=1"),
		appGet("chunked sync", m, "/_matrix/client/v3/sync/chunked"),
		withBody("media upload", "POST", m, "/_matrix/media/v3/upload?filename=a.png", "image/png", "PNGDATA"),
		appGet("well-known client", d, "/.well-known/matrix/client"),
		appGet("well-known server", d, "/.well-known/matrix/server"),
		appReq("well-known HEAD", "HEAD", d, "/.well-known/matrix/client"),
		appGet("delegating domain redirect", d, "/some/page?x=1"),
		appGet("an unknown host goes to the default server", "other.example.com", "/_matrix/key/v2/server"),
	}
	harness.Compare(t, c, want, got, serveAssets(t))
	compareH2C(t, c, want, got)
}

// Odoo's documented site: two upstreams (HTTP and the longpolling /
// websocket worker), proxy_cookie_flags on session_id, HSTS by add_header,
// static files from the addons tree with try_files to a named location,
// a CSP chosen by map on $sent_http_content_type, gzip types.
func TestServeAppOdoo(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{Name: "odoo", ErrorMessages: true, Clock: harness.ClockRelative,
		Content: map[string]string{
			"odoo/addons/web/static/src/img/logo.png": "PNGDATA",
			"odoo/addons/web/static/src/js/boot.js":   "var odoo = {};\n" + strings.Repeat("// padding line for gzip\n", 40),
		},
		Config: `upstream odoo {
  server {{BACKEND}};
}
upstream odoochat {
  server {{BACKEND}};
}
map $http_upgrade $connection_upgrade {
  default upgrade;
  ''      close;
}
map $sent_http_content_type $content_type_csp {
    default "";
    ~image/ "default-src 'none'";
}

server {
  listen 127.0.0.1:{{PORT}};
  server_name odoo.example.com;

  proxy_read_timeout 720s;
  proxy_connect_timeout 720s;
  proxy_send_timeout 720s;

  location /websocket {
    proxy_pass http://odoochat;
    proxy_set_header Upgrade $http_upgrade;
    proxy_set_header Connection $connection_upgrade;
    proxy_set_header X-Forwarded-Host $http_host;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_set_header X-Forwarded-Proto $scheme;
    proxy_set_header X-Real-IP $remote_addr;

    add_header Strict-Transport-Security "max-age=31536000; includeSubDomains";
    proxy_cookie_flags session_id samesite=lax secure;
  }

  location /longpolling {
    proxy_pass http://odoochat;
  }

  location / {
    proxy_set_header X-Forwarded-Host $http_host;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_set_header X-Forwarded-Proto $scheme;
    proxy_set_header X-Real-IP $remote_addr;
    proxy_redirect off;
    proxy_pass http://odoo;

    add_header Strict-Transport-Security "max-age=31536000; includeSubDomains";
    proxy_cookie_flags session_id samesite=lax secure;
  }

  location @odoo {
    proxy_set_header X-Forwarded-Host $http_host;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_set_header X-Forwarded-Proto $scheme;
    proxy_set_header X-Real-IP $remote_addr;
    proxy_redirect off;
    proxy_pass http://odoo;
  }

  # Serve static files right away
  location ~ ^/[^/]+/static/.+$ {
    root odoo;
    try_files /addons$uri @odoo;
    expires 24h;
    add_header Content-Security-Policy $content_type_csp;
  }

  gzip_types text/css text/scss text/plain text/xml application/xml application/json application/javascript;
  gzip on;
}
`}
	h := "odoo.example.com"
	c.Requests = []harness.Request{
		appGet("the web client", h, "/web#action=1"),
		appGet("a session cookie flagged", h, "/accel?h=Set-Cookie:+session_id%3Dabc%3B+Path%3D%2F&h=Set-Cookie:+other%3D1%3B+Path%3D%2F"),
		appGet("a session cookie already secure", h, "/accel?h=Set-Cookie:+session_id%3Dabc%3B+Secure%3B+HttpOnly%3B+SameSite%3DStrict"),
		appGet("a static image with its CSP", h, "/web/static/src/img/logo.png"),
		appGet("a static script gzipped without CSP", h, "/web/static/src/js/boot.js", "Accept-Encoding: gzip"),
		appGet("a static file from the app", h, "/web/static/src/missing.css"),
		appGet("longpolling", h, "/longpolling/poll?x=1"),
		wsUp("websocket", h, "/websocket"),
		withBody("a JSON-RPC call", "POST", h, "/web/dataset/call_kw", "application/json", `{"jsonrpc":"2.0"}`),
		appGet("a JSON answer gzipped", h, "/made?ct=application/json&n=300", "Accept-Encoding: gzip"),
	}
	harness.Compare(t, c, want, got, serveAssets(t))
	compareH2C(t, c, want, got)
}
