package difftest

import (
	"crypto/tls"
	"regexp"
	"strconv"
	"testing"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// Stock configurations as they ship (the official Docker image's
// nginx.conf and default.conf, Debian's default site), TLS as the Mozilla
// generator and certbot write it, and a CDN origin's maps, geo,
// split_clients, limits and real_ip together, served by both servers.

// mainStatusBytes is the status and $body_bytes_sent of a "main" line.
var mainStatusBytes = regexp.MustCompile(`" (\d{3}) (\d+) "`)

// maskMainLog hides $time_local and, for the server's own pages (the
// 301, 400, 404, 405 and 416 of these cases; the backend's answers keep their
// size), the server token's length in $body_bytes_sent.
func maskMainLog(l, token string) string {
	l = timeLocal.ReplaceAllString(l, "[TIME]")
	return mainStatusBytes.ReplaceAllStringFunc(l, func(m string) string {
		f := mainStatusBytes.FindStringSubmatch(m)
		n, _ := strconv.Atoi(f[2])
		switch f[1] {
		case "301", "400", "404", "405", "416":
			return `" ` + f[1] + " " + strconv.Itoa(n-len(token)) + `+token "`
		}
		return m
	})
}

// The official Docker image: its nginx.conf's http block (the "main" log
// format, sendfile, keepalive_timeout) with default.conf, both address
// families, the 50x page; and Debian's default site beside it.
func TestServeAppDockerDefault(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{Name: "docker default", ErrorMessages: true, AccessLogFiles: []string{"access.log"},
		Mask: maskMainLog,
		Content: map[string]string{
			"html/index.html": "<h1>Welcome to nginx!</h1>\n", "html/50x.html": "<h1>An error occurred.</h1>\n",
			"debian/index.nginx-debian.html": "<h1>Welcome to nginx on Debian!</h1>\n", "debian/sub/index.htm": "sub\n",
		},
		Config: `log_format  main  '$remote_addr - $remote_user [$time_local] "$request" '
                  '$status $body_bytes_sent "$http_referer" '
                  '"$http_user_agent" "$http_x_forwarded_for"';

access_log  access.log  main;

sendfile        on;
#tcp_nopush     on;

keepalive_timeout  65;

#gzip  on;

server {
    listen       127.0.0.1:{{PORT}};
    listen  [::1]:{{PORT}};
    server_name  localhost;

    #access_log  /var/log/nginx/host.access.log  main;

    location / {
        root   html;
        index  index.html index.htm;
    }

    #error_page  404              /404.html;

    # redirect server error pages to the static page /50x.html
    #
    error_page   500 502 503 504  /50x.html;
    location = /50x.html {
        root   html;
    }

    # proxy the PHP scripts to Apache listening on 127.0.0.1:80
    #
    location ~ \.php$ {
        proxy_pass   http://127.0.0.1:{{BACKEND_PORT}};
    }
}

server {
	listen 127.0.0.1:{{PORT}} default_server;
	listen [::1]:{{PORT}} default_server;

	root debian;

	# Add index.php to the list if you are using PHP
	index index.html index.htm index.nginx-debian.html;

	server_name _;

	location / {
		# First attempt to serve request as file, then
		# as directory, then fall back to displaying a 404.
		try_files $uri $uri/ =404;
	}
}
`}
	d, o := "localhost", "anything.example"
	v6 := appGet("welcome over IPv6", d, "/", "Referer: http://x/", "User-Agent: curl/8.0")
	v6.IPv6 = true
	c.Requests = []harness.Request{
		appGet("welcome", d, "/", "User-Agent: Mozilla/5.0", "X-Forwarded-For: 1.2.3.4"),
		v6,
		appGet("index.html", d, "/index.html"),
		appGet("a missing page", d, "/nope"),
		appGet("the 50x page itself", d, "/50x.html"),
		appGet("a script to Apache", d, "/info.php?x=1"),
		appGet("a script whose Apache fails: the 50x page", d, "/status/502.php"),
		appReq("HEAD", "HEAD", d, "/"),
		appReq("a POST to the welcome page", "POST", d, "/"),
		appGet("debian welcome for any host", o, "/"),
		appGet("debian subdirectory without slash", o, "/sub"),
		appGet("debian subdirectory", o, "/sub/"),
		appGet("debian missing", o, "/missing"),
		appGet("debian dot dot", o, "/sub/../index.nginx-debian.html"),
		serveRaw("no Host at all in HTTP/1.0", "GET / HTTP/1.0\r\n\r\n"),
	}
	harness.Compare(t, c, want, got, serveAssets(t))
	compareH2C(t, c, want, got)
}

// ffdhe2048 is RFC 7919's group, as the Mozilla generator has it fetched
// into ssl_dhparam.
const ffdhe2048 = `-----BEGIN DH PARAMETERS-----
MIIBCAKCAQEA//////////+t+FRYortKmq/cViAnPTzx2LnFg84tNpWp4TZBFGQz
+8yTnc4kmz75fS/jY2MMddj2gbICrsRhetPfHtXV/WVhJDP1H18GbtCFY2VVPe0a
87VXE15/V8k1mE8McODmi3fipona8+/och3xWKE2rec1MKzKT0g6eXq8CrGCsyT7
YdEIqUuyyOP7uWrat2DX9GgdT0Kj3jlN9K5W7edjcrsZCwenyO4KbXCeAvzhzffi
7MA0BM0oNC9hkXL+nOmFg/+OTxIy7vKBg8P+OxtMb61zO7X8vC7CIAXFjvGDfRaD
ssbzSibBsu/6iGtCOGEoXJf//////////wIBAg==
-----END DH PARAMETERS-----
`

// The Mozilla SSL configuration generator's "intermediate" output for
// nginx 1.22 (dhparam, stapling with a trusted chain and a resolver,
// HSTS always), and certbot's options-ssl-nginx.conf with the server
// block certbot edits (its "managed by Certbot" lines) and a webroot
// ACME challenge location.
func TestServeAppMozillaCertbot(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	content := map[string]string{
		"dhparam.pem": ffdhe2048, "ssl-dhparams.pem": ffdhe2048,
		"letsencrypt/options-ssl-nginx.conf": `# This file contains important security parameters. If you modify this file
# manually, Certbot will be unable to automatically provide future security
# updates. Instead, Certbot will print and log an error message with a path to
# the up-to-date file that you will need to refer to when manually updating
# this file. Contents are based on https://ssl-config.mozilla.org

ssl_session_cache shared:le_nginx_SSL:10m;
ssl_session_timeout 1440m;
ssl_session_tickets off;

ssl_protocols TLSv1.2 TLSv1.3;
ssl_prefer_server_ciphers off;

ssl_ciphers "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384";
`,
		"www/index.html": "certbot site\n", "moz/index.html": "mozilla site\n",
		"letsencrypt-webroot/.well-known/acme-challenge/tok123": "tok123.thumbprint",
	}
	c := harness.Case{Name: "mozilla certbot", ErrorMessages: true, Content: content, Files: []string{"cert.pem", "key.pem"}, TLS: true, SNI: "moz.example.com",
		Config: `server {
    listen 127.0.0.1:{{PORT}} ssl http2;
    server_name moz.example.com;
    root moz;

    ssl_certificate {{CERT}};
    ssl_certificate_key {{KEY}};
    ssl_session_timeout 1d;
    ssl_session_cache shared:MozSSL:10m;  # about 40000 sessions
    ssl_session_tickets off;

    # curl https://ssl-config.mozilla.org/ffdhe2048.txt > /path/to/dhparam
    ssl_dhparam dhparam.pem;

    # intermediate configuration
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305;
    ssl_prefer_server_ciphers off;

    # HSTS (ngx_http_headers_module is required) (63072000 seconds)
    add_header Strict-Transport-Security "max-age=63072000" always;

    # OCSP stapling
    ssl_stapling on;
    ssl_stapling_verify on;

    # verify chain of trust of OCSP response using Root CA and Intermediate certs
    ssl_trusted_certificate {{CERT}};

    # replace with the IP address of your resolver
    resolver 127.0.0.1;
}

server {
    server_name certbot.example.com;
    root www;

    location ^~ /.well-known/acme-challenge/ {
        default_type "text/plain";
        root letsencrypt-webroot;
    }

    listen 127.0.0.1:{{PORT}} ssl; # managed by Certbot
    ssl_certificate {{CERT}}; # managed by Certbot
    ssl_certificate_key {{KEY}}; # managed by Certbot
    include letsencrypt/options-ssl-nginx.conf; # managed by Certbot
    ssl_dhparam ssl-dhparams.pem; # managed by Certbot
}
`}
	m, cb := "moz.example.com", "certbot.example.com"
	suites := []uint16{tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
		tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA}
	tls12 := func(name, host string, ciphers []uint16) harness.Request {
		r := appGet(name, host, "/")
		r.SNI, r.TLSMax, r.Ciphers, r.ShowTLS = host, tls.VersionTLS12, ciphers, true
		return r
	}
	h2 := appGet("h2 by ALPN", m, "/")
	h2.H2 = true
	h2.Send[0] = "GET / HTTP/1.1\r\nHost: " + m + "\r\n\r\n"
	cbGet := func(name, target string) harness.Request {
		r := appGet(name, cb, target)
		r.SNI = cb
		return r
	}
	c.Requests = []harness.Request{
		appGet("mozilla home", m, "/"),
		appGet("mozilla 404 keeps HSTS", m, "/none"),
		tls12("TLS 1.2: the client's order is kept", m, suites),
		tls12("TLS 1.2: a CBC suite only is refused", m, suites[3:]),
		{Name: "TLS 1.1 refused", Send: []string{"GET / HTTP/1.1\r\nHost: " + m + "\r\n\r\n"}, TLSMax: tls.VersionTLS11, ShowTLS: true},
		h2,
		cbGet("certbot home", "/"),
		cbGet("certbot challenge", "/.well-known/acme-challenge/tok123"),
		cbGet("certbot missing challenge", "/.well-known/acme-challenge/none"),
		tls12("certbot TLS 1.2 by the client's order", cb, suites[1:]),
	}
	harness.Compare(t, c, want, got, serveAssets(t))
	compareH2C(t, c, want, got)
}

// certbot's port-80 block: the redirect in an "if" on $host, then
// return 404 for any other name; a webroot challenge served beside it.
func TestServeAppCertbotRedirect(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{Name: "certbot redirect", ErrorMessages: true,
		Content: map[string]string{"letsencrypt-webroot/.well-known/acme-challenge/tok": "tok.thumb"},
		Config: `server {
    if ($host = www.example.com) {
        return 301 https://$host$request_uri;
    } # managed by Certbot


    if ($host = example.com) {
        return 301 https://$host$request_uri;
    } # managed by Certbot


    listen 127.0.0.1:{{PORT}};
    server_name example.com www.example.com;

    location ^~ /.well-known/acme-challenge/ {
        default_type "text/plain";
        root letsencrypt-webroot;
    }
    return 404; # managed by Certbot
}
`}
	c.Requests = []harness.Request{
		appGet("apex", "example.com", "/a/b?c=d"),
		appGet("www", "www.example.com", "/"),
		appGet("apex with a port", "example.com:80", "/x"),
		appGet("upper case host", "EXAMPLE.com", "/x"),
		appGet("challenge on the apex: the if wins", "example.com", "/.well-known/acme-challenge/tok"),
		appGet("another name: return 404 at server level", "other.example.com", "/.well-known/acme-challenge/tok"),
		serveRaw("HTTP/1.0 without Host", "GET / HTTP/1.0\r\n\r\n"),
	}
	harness.Compare(t, c, want, got, serveAssets(t))
	compareH2C(t, c, want, got)
}

// A CDN origin as guides assemble it: the client's address from
// X-Forwarded-For through trusted hops (real_ip_recursive), a geo allow
// list that exempts from limit_req by an empty key from map, a geo with
// its own proxy/proxy_recursive on X-Forwarded-For and one of ranges on
// $realip_remote_addr, a canary upstream by split_clients, the scheme
// from X-Forwarded-Proto by map, limit_conn and limit_req answering 429.
func TestServeAppCDNOrigin(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{Name: "cdn origin", ErrorMessages: true, ErrorMask: wholeExcess, Content: map[string]string{"static/app.css": "b{}\n"},
		Config: `geo $allowlisted {
    default        0;
    10.0.0.0/8     1;
    192.168.0.0/16 1;
    203.0.113.7    1;
}

map $allowlisted $limit_key {
    0     $binary_remote_addr;
    1     "";
}

limit_req_zone  $limit_key          zone=perip:10m  rate=1r/m;
limit_conn_zone $binary_remote_addr zone=conns:10m;

geo $client_country {
    proxy           127.0.0.0/8;
    proxy_recursive;
    default         ZZ;
    198.51.100.0/24 AU;
    203.0.113.0/24  DE;
}

geo $realip_remote_addr $edge {
    ranges;
    default                 unknown;
    127.0.0.0-127.0.0.255   loopback-edge;
    10.0.0.0-10.255.255.255 private-edge;
}

split_clients "${remote_addr}canary" $pool {
    0.1%  canary;
    *     stable;
}

upstream stable {
    server {{BACKEND}};
}

upstream canary {
    server {{BACKEND}};
}

map $http_x_forwarded_proto $origin_scheme {
    default $scheme;
    https   https;
    http    http;
}

server {
    listen 127.0.0.1:{{PORT}};
    server_name origin.example.com;

    set_real_ip_from 127.0.0.1;
    set_real_ip_from 10.0.0.0/8;
    set_real_ip_from 2001:db8::/32;
    real_ip_header   X-Forwarded-For;
    real_ip_recursive on;

    limit_req zone=perip burst=1 nodelay;
    limit_req_status 429;
    limit_req_log_level warn;
    limit_conn conns 20;
    limit_conn_status 429;

    error_page 429 = @too_many;

    if ($origin_scheme = http) {
        return 301 https://$host$request_uri;
    }

    location / {
        proxy_pass http://$pool;
        proxy_set_header Host $host;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $origin_scheme;
        proxy_set_header X-Pool $pool;
        proxy_set_header X-Country $client_country;
        proxy_set_header X-Edge $edge;
        proxy_set_header X-Allowlisted $allowlisted;
        proxy_set_header X-Realip-Remote $realip_remote_addr;
    }

    location /static/ {
        root .;
        add_header X-Client $remote_addr;
        add_header X-Country $client_country;
    }

    location @too_many {
        default_type application/json;
        return 429 '{"error":"rate limited","client":"$remote_addr"}';
    }
}
`}
	h := "origin.example.com"
	xf := func(name, target, xff string, extra ...string) harness.Request {
		return appGet(name, h, target, append([]string{"X-Forwarded-For: " + xff, "X-Forwarded-Proto: https"}, extra...)...)
	}
	c.Requests = []harness.Request{
		xf("a client through one edge", "/page", "198.51.100.20"),
		xf("the same client again: the burst", "/page", "198.51.100.20"),
		xf("the same client a third time: 429 by the named location", "/page", "198.51.100.20"),
		xf("a client through two trusted hops", "/page", "203.0.113.50, 10.1.2.3"),
		xf("an untrusted hop stops the walk", "/page", "198.51.100.99, 203.0.113.9, 10.1.2.3"),
		xf("an allowlisted client is never limited", "/page", "203.0.113.7"),
		xf("allowlisted again", "/page", "203.0.113.7"),
		xf("allowlisted a third time", "/page", "203.0.113.7"),
		xf("an IPv6 client", "/page", "2001:db8::1, 2001:db8::2"),
		xf("a garbage header", "/page", "not-an-address"),
		xf("an empty member", "/page", "198.51.100.21,,10.0.0.1"),
		xf("static without limits", "/static/app.css", "198.51.100.20"),
		xf("static for another client", "/static/app.css", "192.0.2.1"),
		appGet("no forwarded proto: the scheme stays http and redirects", h, "/page", "X-Forwarded-For: 192.0.2.5"),
		appGet("forwarded proto http redirects", h, "/page?a=1", "X-Forwarded-For: 192.0.2.6", "X-Forwarded-Proto: http"),
		appGet("no forwarded for at all", h, "/page", "X-Forwarded-Proto: https"),
	}
	harness.Compare(t, c, want, got, serveAssets(t))
	compareH2C(t, c, want, got)
}
