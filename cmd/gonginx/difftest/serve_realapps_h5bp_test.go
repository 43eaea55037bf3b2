package difftest

import (
	"strings"
	"testing"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// h5bp's server-configs-nginx (github.com/h5bp/server-configs-nginx),
// its whole include tree: the http block of its nginx.conf (its own
// mime.types over the stock ones, charset_types, compression, expires
// and every security header chosen by map on $sent_http_content_type)
// with its test vhosts, plain and TLS.

// h5bpTree is the h5bp/ directory and mime.types, comments dropped.
var h5bpTree = map[string]string{
	"h5bp/basic.conf": `include h5bp/security/referrer-policy.conf;
include h5bp/security/x-content-type-options.conf;
include h5bp/security/x-frame-options.conf;
include h5bp/location/security_file_access.conf;
include h5bp/cross-origin/requests.conf;
`,
	"h5bp/cross-origin/requests.conf": `add_header Access-Control-Allow-Origin $cors;
`,
	"h5bp/cross-origin/resource_timing.conf": `add_header Timing-Allow-Origin "*";
`,
	"h5bp/errors/custom_errors.conf": `error_page 404 /404.html;
`,
	"h5bp/location/security_file_access.conf": `location ~* /\.(?!well-known\/) {
  deny all;
}
location ~* (?:#.*#|\.(?:bak|conf|dist|fla|in[ci]|log|orig|psd|sh|sql|sw[op])|~)$ {
  deny all;
}
`,
	"h5bp/location/web_performance_filename-based_cache_busting.conf": `location ~* (.+)\.(?:\w+)\.(avifs?|bmp|css|cur|gif|ico|jpe?g|jxl|m?js|a?png|svgz?|webp|webmanifest)$ {
  try_files $uri $1.$2;
}
`,
	"h5bp/location/web_performance_svgz-compression.conf": `location ~* \.svgz$ {
    gzip off;
    add_header Content-Encoding gzip;
    include h5bp/security/x-content-type-options.conf;
    include h5bp/security/content-security-policy.conf;
    include h5bp/security/referrer-policy.conf;
    include h5bp/security/permissions-policy.conf;
    include h5bp/security/cross-origin-policy.conf;
    include h5bp/cross-origin/requests.conf;
}
`,
	"h5bp/media_types/character_encodings.conf": `charset utf-8;
charset_types
    text/css
    text/plain
    text/vnd.wap.wml
    text/javascript
    text/markdown
    text/calendar
    text/x-component
    text/vcard
    text/cache-manifest
    text/vtt
    application/json
    application/manifest+json;
`,
	"h5bp/media_types/media_types.conf": `include mime.types;
default_type application/octet-stream;
`,
	"h5bp/security/content-security-policy.conf": `add_header Content-Security-Policy $content_security_policy always;
`,
	"h5bp/security/cross-origin-policy.conf": `add_header Cross-Origin-Embedder-Policy $coep_policy always;
add_header Cross-Origin-Opener-Policy $coop_policy always;
add_header Cross-Origin-Resource-Policy $corp_policy always;
`,
	"h5bp/security/permissions-policy.conf": `add_header Permissions-Policy $permissions_policy always;
`,
	"h5bp/security/referrer-policy.conf": `add_header Referrer-Policy $referrer_policy always;
`,
	"h5bp/security/server_software_information.conf": `server_tokens off;
`,
	"h5bp/security/strict-transport-security.conf": `add_header Strict-Transport-Security "max-age=16070400; includeSubDomains" always;
`,
	"h5bp/security/x-content-type-options.conf": `add_header X-Content-Type-Options nosniff always;
`,
	"h5bp/security/x-frame-options.conf": `add_header X-Frame-Options $x_frame_options always;
`,
	"h5bp/tls/certificate_files.conf": `ssl_certificate /etc/nginx/certs/default.crt;
ssl_certificate_key /etc/nginx/certs/default.key;
`,
	"h5bp/tls/ocsp_stapling.conf": `ssl_stapling on;
ssl_stapling_verify on;
resolver
  1.1.1.1 1.0.0.1 [2606:4700:4700::1111] [2606:4700:4700::1001]
  8.8.8.8 8.8.4.4 [2001:4860:4860::8888] [2001:4860:4860::8844]
  valid=60s;
resolver_timeout 2s;
`,
	"h5bp/tls/policy_balanced.conf": `ssl_protocols TLSv1.2;
ssl_ciphers EECDH+CHACHA20:EECDH+AES;
ssl_ecdh_curve X25519:prime256v1:secp521r1:secp384r1;
`,
	"h5bp/tls/policy_strict.conf": `ssl_protocols TLSv1.2 TLSv1.3;
ssl_ciphers EECDH+CHACHA20:EECDH+AES;
ssl_ecdh_curve X25519;
`,
	"h5bp/tls/ssl_engine.conf": `ssl_session_timeout 24h;
ssl_session_cache shared:SSL:10m;
keepalive_timeout 300s;
ssl_session_tickets off;
ssl_prefer_server_ciphers off;
`,
	"h5bp/web_performance/cache-control.conf": `add_header Cache-Control $cache_control;
`,
	"h5bp/web_performance/cache-file-descriptors.conf": `open_file_cache max=1000 inactive=20s;
open_file_cache_valid 30s;
open_file_cache_min_uses 2;
open_file_cache_errors on;
`,
	"h5bp/web_performance/cache_expiration.conf": `map $sent_http_content_type $expires {
  default                                 1y;
  ""                                      off;
  ~*image/svg\+xml                        1y;
  ~*image/vnd.microsoft.icon              1w;
  ~*image/x-icon                          1w;
  ~*application/manifest\+json            1w;
  ~*text/cache-manifest                   epoch;
  ~*application/atom\+xml                 1h;
  ~*application/rdf\+xml                  1h;
  ~*application/rss\+xml                  1h;
  ~*text/html                             epoch;
  ~*text/markdown                         epoch;
  ~*text/calendar                         epoch;
  ~*text/x-cross-domain-policy            1w;
  ~*json                                  epoch;
  ~*xml                                   epoch;
}
expires $expires;
`,
	"h5bp/web_performance/compression.conf": `gzip on;
gzip_comp_level 5;
gzip_min_length 256;
gzip_proxied any;
gzip_vary on;
gzip_types
  application/atom+xml
  application/geo+json
  application/javascript
  application/x-javascript
  application/json
  application/ld+json
  application/manifest+json
  application/rdf+xml
  application/rss+xml
  application/vnd.ms-fontobject
  application/wasm
  application/x-web-app-manifest+json
  application/xhtml+xml
  application/xml
  font/eot
  font/otf
  font/ttf
  image/bmp
  image/svg+xml
  image/vnd.microsoft.icon
  image/x-icon
  text/cache-manifest
  text/calendar
  text/css
  text/javascript
  text/markdown
  text/plain
  text/xml
  text/vcard
  text/vnd.rim.location.xloc
  text/vtt
  text/x-component
  text/x-cross-domain-policy;
`,
	"h5bp/web_performance/content_transformation.conf": `add_header Cache-Control "no-transform";
`,
	"h5bp/web_performance/pre-compressed_content_brotli.conf": `brotli_static on;
`,
	"h5bp/web_performance/pre-compressed_content_gzip.conf": `gzip_static on;
`,
	"mime.types": `types {
    application/atom+xml                  atom;
    application/json                      json map topojson;
    application/ld+json                   jsonld;
    application/rss+xml                   rss;
    application/geo+json                  geojson;
    application/xml                       xml;
    application/rdf+xml                   rdf;
    text/javascript                       js mjs;
    application/wasm                      wasm;
    application/manifest+json             webmanifest;
    application/x-web-app-manifest+json   webapp;
    text/cache-manifest                   appcache;
    audio/midi                            mid midi kar;
    audio/mp4                             aac f4a f4b m4a;
    audio/mpeg                            mp3;
    audio/ogg                             oga ogg opus;
    audio/x-realaudio                     ra;
    audio/x-wav                           wav;
    image/apng                            apng;
    image/avif                            avif avifs;
    image/bmp                             bmp;
    image/gif                             gif;
    image/jpeg                            jpeg jpg;
    image/jxl                             jxl;
    image/jxr                             jxr hdp wdp;
    image/png                             png;
    image/svg+xml                         svg svgz;
    image/tiff                            tif tiff;
    image/vnd.wap.wbmp                    wbmp;
    image/webp                            webp;
    image/x-jng                           jng;
    video/3gpp                            3gp 3gpp;
    video/mp4                             f4p f4v m4v mp4;
    video/mpeg                            mpeg mpg;
    video/ogg                             ogv;
    video/quicktime                       mov;
    video/webm                            webm;
    video/x-flv                           flv;
    video/x-mng                           mng;
    video/x-ms-asf                        asf asx;
    video/x-msvideo                       avi;
    image/x-icon                          cur ico;
    application/msword                                                         doc;
    application/vnd.ms-excel                                                   xls;
    application/vnd.ms-powerpoint                                              ppt;
    application/vnd.openxmlformats-officedocument.wordprocessingml.document    docx;
    application/vnd.openxmlformats-officedocument.spreadsheetml.sheet          xlsx;
    application/vnd.openxmlformats-officedocument.presentationml.presentation  pptx;
    font/woff                             woff;
    font/woff2                            woff2;
    application/vnd.ms-fontobject         eot;
    font/ttf                              ttf;
    font/collection                       ttc;
    font/otf                              otf;
    application/java-archive              ear jar war;
    application/mac-binhex40              hqx;
    application/octet-stream              bin deb dll dmg exe img iso msi msm msp safariextz;
    application/pdf                       pdf;
    application/postscript                ai eps ps;
    application/rtf                       rtf;
    application/vnd.google-earth.kml+xml  kml;
    application/vnd.google-earth.kmz      kmz;
    application/vnd.wap.wmlc              wmlc;
    application/x-7z-compressed           7z;
    application/x-bb-appworld             bbaw;
    application/x-bittorrent              torrent;
    application/x-chrome-extension        crx;
    application/x-cocoa                   cco;
    application/x-java-archive-diff       jardiff;
    application/x-java-jnlp-file          jnlp;
    application/x-makeself                run;
    application/x-opera-extension         oex;
    application/x-perl                    pl pm;
    application/x-pilot                   pdb prc;
    application/x-rar-compressed          rar;
    application/x-redhat-package-manager  rpm;
    application/x-sea                     sea;
    application/x-shockwave-flash         swf;
    application/x-stuffit                 sit;
    application/x-tcl                     tcl tk;
    application/x-x509-ca-cert            crt der pem;
    application/x-xpinstall               xpi;
    application/xhtml+xml                 xhtml;
    application/xslt+xml                  xsl;
    application/zip                       zip;
    text/calendar                         ics;
    text/css                              css;
    text/csv                              csv;
    text/html                             htm html shtml;
    text/markdown                         md markdown;
    text/mathml                           mml;
    text/plain                            txt;
    text/vcard                            vcard vcf;
    text/vnd.rim.location.xloc            xloc;
    text/vnd.sun.j2me.app-descriptor      jad;
    text/vnd.wap.wml                      wml;
    text/vtt                              vtt;
    text/x-component                      htc;
}
`,
}

// h5bpHTTP is the http block of h5bp's nginx.conf, the access log moved
// into the prefix.
const h5bpHTTP = `include h5bp/security/server_software_information.conf;
include h5bp/media_types/media_types.conf;
include h5bp/media_types/character_encodings.conf;
log_format  main  '$remote_addr - $remote_user [$time_local] "$request" '
                  '$status $body_bytes_sent "$http_referer" '
                  '"$http_user_agent" "$http_x_forwarded_for"';
access_log access.log main;
keepalive_timeout 20s;
sendfile on;
tcp_nopush on;
include h5bp/web_performance/compression.conf;
include h5bp/web_performance/cache_expiration.conf;
map $sent_http_content_type $cache_control {
  default                           "public, immutable, stale-while-revalidate";
  ""                                "no-store";
  ~*application/manifest\+json      "public";
  ~*text/cache-manifest             ""; # ` + "`no-cache`" + ` (*)
  ~*image/svg\+xml                  "public, immutable, stale-while-revalidate";
  ~*application/(atom|rdf|rss)\+xml "public, stale-while-revalidate";
  ~*text/html                       "private, must-revalidate";
  ~*text/markdown                   "private, must-revalidate";
  ~*text/calendar                   "private, must-revalidate";
  ~*json                            ""; # ` + "`no-cache`" + ` (*)
  ~*xml                             ""; # ` + "`no-cache`" + ` (*)
}
map $sent_http_content_type $x_frame_options {
  ~*text/html DENY;
}
map $sent_http_content_type $content_security_policy {
  ~*text/(html|javascript)|application/pdf|xml "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'; upgrade-insecure-requests";
}
map $sent_http_content_type $permissions_policy {
  ~*text/(html|javascript)|application/pdf|xml "accelerometer=(),autoplay=(),browsing-topics=(),camera=(),display-capture=(),document-domain=(),encrypted-media=(),fullscreen=(),geolocation=(),gyroscope=(),magnetometer=(),microphone=(),midi=(),payment=(),picture-in-picture=(),publickey-credentials-get=(),screen-wake-lock=(),sync-xhr=(self),usb=(),web-share=(),xr-spatial-tracking=()";
}
map $sent_http_content_type $referrer_policy {
  ~*text/(css|html|javascript)|application\/pdf|xml "strict-origin-when-cross-origin";
}
map $sent_http_content_type $coep_policy {
  ~*text/(html|javascript)|application/pdf|xml "require-corp";
}
map $sent_http_content_type $coop_policy {
  ~*text/(html|javascript)|application/pdf|xml "same-origin";
}
map $sent_http_content_type $corp_policy {
  ~*text/(html|javascript)|application/pdf|xml "same-origin";
}
map $sent_http_content_type $cors {
  ~*image/                        "*";
  ~*font/                         "*";
  ~*application/vnd.ms-fontobject "*";
  ~*application/x-font-ttf        "*";
  ~*application/font-woff         "*";
  ~*application/x-font-woff       "*";
  ~*application/font-woff2        "*";
}
`

// h5bpSite is the files of a small site under www/.
func h5bpSite() map[string]string {
	content := map[string]string{}
	for k, v := range h5bpTree {
		content[k] = v
	}
	// The harness's http block (Debian's nginx.conf) already sets
	// default_type, which may not be set twice at one level; h5bp's
	// mime.types then redefines the stock types (nginx warns).
	content["h5bp/media_types/media_types.conf"] = "include mime.types;\n"
	long := strings.Repeat("/* a line of a stylesheet to compress */\n", 20)
	for name, body := range map[string]string{
		"index.html":               "<!doctype html><title>h5bp</title>\n" + strings.Repeat("<p>paragraph</p>\n", 30),
		"404.html":                 "<!doctype html><title>Page Not Found</title>\n",
		"css/main.css":             long,
		"js/app.js":                strings.Repeat("console.log('app');\n", 20),
		"js/app.mjs":               "export {}\n",
		"img/logo.png":             "PNG",
		"img/logo.svg":             "<svg xmlns=\"http://www.w3.org/2000/svg\">" + strings.Repeat("<g/>", 100) + "</svg>",
		"img/logo.svgz":            "\x1f\x8b\x08\x00svgzbytes",
		"favicon.ico":              "ICO",
		"site.webmanifest":         `{"name":"h5bp"}`,
		"feed.rss":                 "<rss/>",
		"data.json":                `{"a":1}`,
		"doc.md":                   "# title\n",
		"fonts/f.woff2":            "wOF2",
		"robots.txt":               "User-agent: *\n",
		"humans.txt":               strings.Repeat("humans\n", 50),
		"offline.appcache":         "CACHE MANIFEST\n",
		"app.wasm":                 "\x00asm",
		"blob.bin":                 "BIN",
		"backup.sql":               "DROP\n",
		"config.conf":              "x\n",
		"#emacs#":                  "x\n",
		"index.html~":              "old\n",
		".git/config":              "[core]\n",
		".well-known/security.txt": "Contact: x\n",
		"test-pre-gzip/app.js":     "console.log('plain')\n",
		"test-pre-gzip/app.js.gz":  "\x1f\x8b\x08\x00pregz",
	} {
		content["www/"+name] = body
	}
	return content
}

func h5bpRequests(h string) []harness.Request {
	gz := "Accept-Encoding: gzip"
	return []harness.Request{
		appGet("home page", h, "/", gz),
		appGet("a stylesheet gzipped", h, "/css/main.css", gz),
		appGet("a stylesheet busted by name", h, "/css/main.20240102.css"),
		appGet("a script", h, "/js/app.js", gz),
		appGet("a module script", h, "/js/app.mjs"),
		appGet("a png", h, "/img/logo.png"),
		appGet("an svg gzipped", h, "/img/logo.svg", gz),
		appGet("an svgz", h, "/img/logo.svgz"),
		appGet("the favicon", h, "/favicon.ico"),
		appGet("the manifest", h, "/site.webmanifest"),
		appGet("a feed", h, "/feed.rss"),
		appGet("json", h, "/data.json"),
		appGet("markdown", h, "/doc.md"),
		appGet("a font", h, "/fonts/f.woff2"),
		appGet("robots", h, "/robots.txt"),
		appGet("a long text gzipped", h, "/humans.txt", gz),
		appGet("an appcache", h, "/offline.appcache"),
		appGet("wasm", h, "/app.wasm"),
		appGet("an unknown type", h, "/blob.bin"),
		appGet("a missing page: the custom 404", h, "/nope"),
		appGet("a missing image: the custom 404", h, "/img/none.png"),
		appGet("a dump denied", h, "/backup.sql"),
		appGet("a conf denied", h, "/config.conf"),
		appGet("an emacs autosave denied", h, "/%23emacs%23"),
		appGet("a backup tilde denied", h, "/index.html~"),
		appGet("git denied", h, "/.git/config"),
		appGet("well-known served", h, "/.well-known/security.txt"),
		appGet("pre-gzipped", h, "/test-pre-gzip/app.js", gz),
		appGet("pre-gzipped asked plain", h, "/test-pre-gzip/app.js"),
		appGet("a conditional GET", h, "/css/main.css", "If-Modified-Since: Tue, 02 Jan 2024 03:04:05 GMT"),
		appGet("a range", h, "/humans.txt", "Range: bytes=0-9"),
		appGet("two ranges", h, "/humans.txt", "Range: bytes=0-4,10-14"),
		appGet("a range of a gzipped answer: the whole body compressed", h, "/humans.txt", "Range: bytes=0-9", gz),
		appGet("If-Range with the ETag", h, "/humans.txt", "Range: bytes=5-9", `If-Range: "65937d25-15e"`),
		appGet("If-Range with another ETag", h, "/humans.txt", "Range: bytes=5-9", `If-Range: "other"`),
		appGet("an unsatisfiable range", h, "/humans.txt", "Range: bytes=9999-"),
		appGet("If-None-Match: a 304 with the maps' headers", h, "/css/main.css", `If-None-Match: "65937d25-320"`),
		appGet("a 304 of the home page", h, "/", "If-Modified-Since: Tue, 02 Jan 2024 03:04:05 GMT"),
		appReq("HEAD gzipped", "HEAD", h, "/css/main.css", gz),
		appGet("a directory without its slash", h, "/css"),
		appGet("a directory without an index", h, "/css/"),
		appGet("an encoded dot file", h, "/%2egit/config"),
		appGet("double slashes", h, "//img//logo.png"),
		appGet("a fragment in the target", h, "/index.html#top", gz),
		appReq("HEAD home", "HEAD", h, "/"),
		appReq("POST to a static file", "POST", h, "/index.html"),
		keptAlive("a visit on one connection", h, "/", "/css/main.css", "/js/app.js", "/nope", "/.git/config", "/img/logo.png", "/index.html x=1", "/"),
	}
}

func TestServeAppH5BP(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{Name: "h5bp", ErrorMessages: true, Content: h5bpSite(), Clock: harness.ClockRelative,
		Config: h5bpHTTP + `
server {
  listen 127.0.0.1:{{PORT}};
  server_name www.server.localhost;
  return 301 $scheme://server.localhost$request_uri;
}

server {
  listen 127.0.0.1:{{PORT}};
  server_name server.localhost;
  root www;
  include h5bp/basic.conf;
  gzip_min_length 1;
  include h5bp/security/content-security-policy.conf;
  include h5bp/security/permissions-policy.conf;
  include h5bp/security/cross-origin-policy.conf;
  include h5bp/web_performance/cache-control.conf;
  include h5bp/location/web_performance_filename-based_cache_busting.conf;
  include h5bp/location/web_performance_svgz-compression.conf;
  include h5bp/errors/custom_errors.conf;
  location ~* /test-pre-gzip {
    include h5bp/web_performance/pre-compressed_content_gzip.conf;
  }
}
`}
	h := "server.localhost"
	c.Requests = append(h5bpRequests(h), appGet("www redirected", "www.server.localhost", "/a?b=c"))
	harness.Compare(t, c, want, got, serveAssets(t))
}

// The TLS vhost: h5bp's TLS engine, balanced policy and HSTS.
func TestServeAppH5BPSecure(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	content := h5bpSite()
	content["h5bp/tls/certificate_files.conf"] = "ssl_certificate cert.pem;\nssl_certificate_key key.pem;\n"
	c := harness.Case{Name: "h5bp secure", ErrorMessages: true, Content: content, Clock: harness.ClockRelative,
		Files: []string{"cert.pem", "key.pem"}, TLS: true, SNI: "secure.server.localhost",
		Config: h5bpHTTP + `
server {
  listen 127.0.0.1:{{PORT}} ssl http2;
  server_name www.secure.server.localhost;
  include h5bp/tls/ssl_engine.conf;
  include h5bp/tls/certificate_files.conf;
  include h5bp/tls/policy_balanced.conf;
  return 301 $scheme://secure.server.localhost$request_uri;
}

server {
  listen 127.0.0.1:{{PORT}} ssl http2;
  server_name secure.server.localhost;
  include h5bp/tls/ssl_engine.conf;
  include h5bp/tls/certificate_files.conf;
  include h5bp/tls/policy_balanced.conf;
  root www;
  include h5bp/basic.conf;
  include h5bp/errors/custom_errors.conf;
  include h5bp/security/strict-transport-security.conf;
}
`}
	h := "secure.server.localhost"
	c.Requests = h5bpRequests(h)
	www := appGet("www redirected", "www.secure.server.localhost", "/a?b=c")
	www.SNI = "www.secure.server.localhost"
	c.Requests = append(c.Requests, www)
	harness.Compare(t, c, want, got, serveAssets(t))
	t.Run("h2", func(t *testing.T) {
		h2 := c
		h2.Requests = overH2(c.Requests)
		harness.Compare(t, h2, want, got, serveAssets(t))
	})
}
