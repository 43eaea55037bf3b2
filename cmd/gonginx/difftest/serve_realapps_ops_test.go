package difftest

import (
	"testing"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// Operations tools' shipped sites: Zabbix's frontend (its package's
// nginx.conf), Pi-hole's documented nginx setup, Sentry's self-hosted
// nginx.conf and Harbor's registry proxy, served by both servers.

// Zabbix's frontend as its package ships it (absolute script paths from
// the frontend root, deny-and-return lists, intercepted errors, large
// FastCGI buffers) and Pi-hole's: auth_basic on the admin and its
// scripts, a prefix location literally named "/*.js".
func TestServeAppZabbixPihole(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	fpm := startPHPFPM(t)
	content := fcgiParamsContent(t)
	content["zabbix/index.php"] = phpApp
	content["zabbix/zabbix.php"] = phpApp
	content["zabbix/api_jsonrpc.php"] = phpApp
	content["zabbix/conf/zabbix.conf.php"] = "<?php echo 'db password';"
	content["zabbix/include/db.inc.php"] = "<?php echo 'inc';"
	content["zabbix/assets/styles/blue-theme.css"] = "b{}\n"
	content["zabbix/.htaccess"] = "x\n"
	content["zabbix/vendor/autoload.php"] = "<?php"
	content["pihole/admin/index.php"] = phpApp
	content["pihole/admin/api.php"] = phpApp
	content["pihole/pihole/index.js"] = "var x;\n"
	content["pihole/*.js/index.html"] = "star js dir\n"
	content["pihole/.htpasswd"] = "admin:{PLAIN}pi\n"
	content["htpasswd"] = "admin:{PLAIN}pi\n"
	c := harness.Case{Name: "zabbix pihole", Content: content, ErrorMessages: true, Clock: harness.ClockRelative,
		Config: `server {
        listen          127.0.0.1:{{PORT}};
        server_name     zabbix.example.com;

        root    zabbix;

        index   index.php;

        location = /favicon.ico {
                log_not_found   off;
        }

        location / {
                try_files       $uri $uri/ =404;
        }

        location /assets {
                access_log      off;
                expires         10d;
        }

        location ~ /\.ht {
                deny            all;
        }

        location ~ /(api\/|conf[^\.]|include|locale) {
                deny            all;
                return          404;
        }

        location /vendor {
                deny            all;
                return          404;
        }

        location ~ [^/]\.php(/|$) {
                fastcgi_pass    ` + fpm + `;
                fastcgi_split_path_info ^(.+\.php)(/.+)$;
                fastcgi_index   index.php;

                fastcgi_param   DOCUMENT_ROOT   $document_root;
                fastcgi_param   SCRIPT_FILENAME $document_root$fastcgi_script_name;
                fastcgi_param   PATH_TRANSLATED $document_root$fastcgi_script_name;

                include fastcgi_params;
                fastcgi_param   QUERY_STRING    $query_string;
                fastcgi_param   REQUEST_METHOD  $request_method;
                fastcgi_param   CONTENT_TYPE    $content_type;
                fastcgi_param   CONTENT_LENGTH  $content_length;

                fastcgi_intercept_errors        on;
                fastcgi_ignore_client_abort     off;
                fastcgi_connect_timeout         60;
                fastcgi_send_timeout            180;
                fastcgi_read_timeout            180;
                fastcgi_buffer_size             128k;
                fastcgi_buffers                 4 256k;
                fastcgi_busy_buffers_size       256k;
                fastcgi_temp_file_write_size    256k;
        }
}

server {
        listen 127.0.0.1:{{PORT}};
        server_name pi.hole;

        root pihole;
        index pihole/index.php index.php index.html index.htm;

        location / {
                expires max;
                try_files $uri $uri/ =404;
        }

        location ~ \.php$ {
                include fastcgi_params;
                fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
                fastcgi_pass ` + fpm + `;
                fastcgi_param FQDN true;
                auth_basic "Restricted"; # For Basic Auth
                auth_basic_user_file htpasswd; # For Basic Auth
        }

        location /*.js {
                index pihole/index.js;
                auth_basic "Restricted"; # For Basic Auth
                auth_basic_user_file htpasswd; # For Basic Auth
        }

        location /admin {
                root pihole;
                index index.php index.html index.htm;
                auth_basic "Restricted"; # For Basic Auth
                auth_basic_user_file htpasswd; # For Basic Auth
        }

        location ~ /\.ht {
                deny all;
        }
}
`}
	z, p := "zabbix.example.com", "pi.hole"
	auth := "Authorization: Basic YWRtaW46cGk="
	c.Requests = []harness.Request{
		appGet("zabbix login", z, "/"),
		appGet("zabbix action", z, "/zabbix.php?action=dashboard.view"),
		withBody("zabbix api", "POST", z, "/api_jsonrpc.php", "application/json-rpc", `{"jsonrpc":"2.0","method":"apiinfo.version","id":1}`),
		appGet("zabbix conf denied by return", z, "/conf/zabbix.conf.php"),
		appGet("zabbix include denied by return", z, "/include/db.inc.php"),
		appGet("zabbix locale", z, "/locale/en_US/x.po"),
		appGet("zabbix vendor", z, "/vendor/autoload.php"),
		appGet("zabbix htaccess", z, "/.htaccess"),
		appGet("zabbix asset", z, "/assets/styles/blue-theme.css"),
		appGet("zabbix missing asset", z, "/assets/none.css"),
		appGet("zabbix favicon missing", z, "/favicon.ico"),
		appGet("zabbix app error intercepted", z, "/index.php?a=status"),
		appGet("zabbix missing script", z, "/none.php"),
		appGet("pihole block page", p, "/"),
		appGet("pihole admin without credentials", p, "/admin/"),
		appGet("pihole admin with credentials", p, "/admin/", auth),
		appGet("pihole admin without the slash", p, "/admin", auth),
		appGet("pihole api with credentials", p, "/admin/api.php?summary", auth),
		appGet("pihole a script without credentials", p, "/admin/api.php?summary"),
		appGet("pihole the literal star-js prefix", p, "/*.js/", auth),
		appGet("pihole star-js without credentials", p, "/*.js/"),
		appGet("pihole any js", p, "/ad.js"),
		appGet("pihole htpasswd", p, "/.htpasswd"),
	}
	harness.Compare(t, c, want, got, serveAssets(t))
	compareH2C(t, c, want, got)
}

// Sentry's self-hosted nginx.conf (keepalive upstreams for relay and the
// web app, next_upstream on non-idempotent requests, a regex for the
// numbered store API, Content-Disposition hidden on static files) and
// Harbor's (the registry under /v2/ unbuffered both ways, retired paths
// answered 404, chunked bodies passed on).
func TestServeAppSentryHarbor(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{Name: "sentry harbor", ErrorMessages: true,
		Config: `proxy_redirect off;
proxy_buffer_size 128k;
proxy_buffers 4 256k;
proxy_busy_buffers_size 256k;
proxy_http_version 1.1;
proxy_set_header Connection '';
proxy_set_header Host $host;
proxy_set_header X-Forwarded-For $remote_addr;
proxy_set_header X-Forwarded-Proto $scheme;
proxy_next_upstream error timeout invalid_header http_502 http_503 non_idempotent;
proxy_next_upstream_tries 2;

upstream relay {
    server {{BACKEND}};
    keepalive 2;
}

upstream sentry {
    server {{BACKEND}};
    keepalive 2;
}

server {
    listen 127.0.0.1:{{PORT}};
    server_name sentry.example.com;
    client_max_body_size 100M;

    location /api/store/ {
        proxy_pass http://relay;
    }
    location ~ ^/api/[1-9]\d*/ {
        proxy_pass http://relay;
    }
    location / {
        proxy_pass http://sentry;
    }
    location /_static/ {
        proxy_pass http://sentry;
        proxy_hide_header Content-Disposition;
    }
}

upstream core {
    server {{BACKEND}};
}

upstream portal {
    server {{BACKEND}};
}

server {
    listen 127.0.0.1:{{PORT}};
    server_name harbor.example.com;
    server_tokens off;
    client_max_body_size 0;
    chunked_transfer_encoding on;

    add_header X-Frame-Options DENY;
    add_header Content-Security-Policy "frame-ancestors 'none'";

    location / {
      proxy_pass http://portal/;
      proxy_set_header Host $http_host;
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_buffering off;
      proxy_request_buffering off;
    }

    location /c/ {
      proxy_pass http://core/c/;
      proxy_set_header Host $host;
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_buffering off;
      proxy_request_buffering off;
    }

    location /v1/ {
      return 404;
    }

    location /v2/ {
      proxy_pass http://core/v2/;
      proxy_set_header Host $http_host;
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_buffering off;
      proxy_request_buffering off;
      proxy_send_timeout 900;
      proxy_read_timeout 900;
    }

    location /service/ {
      proxy_pass http://core/service/;
      proxy_set_header Host $host;
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_buffering off;
      proxy_request_buffering off;
    }

    location /service/notifications {
      return 404;
    }
}
`}
	s, hb := "sentry.example.com", "harbor.example.com"
	second := serveRaw("two on one connection: the upstream connection kept", "GET /reqno HTTP/1.1\r\nHost: "+s+"\r\n\r\n", "GET /reqno HTTP/1.1\r\nHost: "+s+"\r\nConnection: close\r\n\r\n")
	second.Responses = 2
	c.Requests = []harness.Request{
		appGet("sentry app", s, "/organizations/acme/issues/?project=1"),
		withBody("sentry store", "POST", s, "/api/store/", "application/json", `{"event_id":"1"}`, "X-Sentry-Auth: Sentry sentry_key=k"),
		withBody("sentry envelope", "POST", s, "/api/12/envelope/", "application/x-sentry-envelope", "{}\n{}\n"),
		appGet("sentry api not numbered", s, "/api/0/projects/"),
		appGet("sentry static with Content-Disposition hidden", s, "/_static/accel?h=Content-Disposition:+attachment&h=X-Kept:+1"),
		appGet("sentry a 502 retried once", s, "/status/502"),
		withBody("sentry a POST 503 retried (non_idempotent)", "POST", s, "/status/503", "application/json", "{}"),
		second,
		appGet("harbor portal", hb, "/harbor/projects"),
		appGet("harbor v1 retired", hb, "/v1/_ping"),
		appGet("harbor v2 base", hb, "/v2/"),
		appGet("harbor v2 manifest", hb, "/v2/library/nginx/manifests/latest", "Accept: application/vnd.docker.distribution.manifest.v2+json"),
		chunkedBody("harbor blob upload chunked", "PATCH", hb, "/v2/library/nginx/blobs/uploads/uuid-1", "layerbytes-1", "layerbytes-2"),
		withBody("harbor blob upload put", "PUT", hb, "/v2/library/nginx/blobs/uploads/uuid-1?digest=sha256%3Aabc", "application/octet-stream", "rest"),
		appGet("harbor service token", hb, "/service/token?service=harbor-registry&scope=repository%3Alibrary%2Fnginx%3Apull"),
		appGet("harbor notifications retired", hb, "/service/notifications"),
		appGet("harbor c login", hb, "/c/login"),
		appGet("harbor an error from core keeps add_header off", hb, "/v2/status/401"),
	}
	harness.Compare(t, c, want, got, serveAssets(t))
	compareH2C(t, c, want, got)
}
