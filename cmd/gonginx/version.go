package main

import (
	"fmt"
	"io"
	"runtime"
	"strings"

	"github.com/gonginx/gonginx/nginxconf"
)

const (
	nginxRelease   = "1.22.1" // the release whose behaviour gonginx follows
	gonginxVersion = "0.1.0"
)

// module is one of nginx's configure switches, decided by whether gonginx
// serves the module's key directive: stock modules it does not serve are
// "--without-...", optional ones it serves are "--with-...", as tools that
// read "nginx -V" (Test::Nginx's has_module, certbot) expect.
type module struct {
	flag  string // configure's name for it
	key   string // the directive that makes the module do anything
	stock bool   // built unless --without-
}

var modules = []module{
	{"http_ssl_module", "ssl_certificate", false},
	{"http_v2_module", "http2_push", false},
	{"http_realip_module", "set_real_ip_from", false},
	{"http_addition_module", "add_before_body", false},
	{"http_sub_module", "sub_filter", false},
	{"http_dav_module", "dav_methods", false},
	{"http_flv_module", "flv", false},
	{"http_mp4_module", "mp4", false},
	{"http_gunzip_module", "gunzip", false},
	{"http_gzip_static_module", "gzip_static", false},
	{"http_auth_request_module", "auth_request", false},
	{"http_random_index_module", "random_index", false},
	{"http_secure_link_module", "secure_link", false},
	{"http_slice_module", "slice", false},
	{"http_stub_status_module", "stub_status", false},
	{"http_charset_module", "charset", true},
	{"http_gzip_module", "gzip", true},
	{"http_ssi_module", "ssi", true},
	{"http_userid_module", "userid", true},
	{"http_access_module", "allow", true},
	{"http_auth_basic_module", "auth_basic", true},
	{"http_mirror_module", "mirror", true},
	{"http_autoindex_module", "autoindex", true},
	{"http_geo_module", "geo", true},
	{"http_map_module", "map", true},
	{"http_split_clients_module", "split_clients", true},
	{"http_referer_module", "valid_referers", true},
	{"http_rewrite_module", "rewrite", true},
	{"http_proxy_module", "proxy_pass", true},
	{"http_fastcgi_module", "fastcgi_pass", true},
	{"http_uwsgi_module", "uwsgi_pass", true},
	{"http_scgi_module", "scgi_pass", true},
	{"http_grpc_module", "grpc_pass", true},
	{"http_memcached_module", "memcached_pass", true},
	{"http_limit_conn_module", "limit_conn", true},
	{"http_limit_req_module", "limit_req", true},
	{"http_empty_gif_module", "empty_gif", true},
	{"http_browser_module", "modern_browser", true},
	{"http_upstream_hash_module", "hash", true},
	{"http_upstream_ip_hash_module", "ip_hash", true},
	{"http_upstream_least_conn_module", "least_conn", true},
	{"http_upstream_random_module", "random", true},
	{"http_upstream_keepalive_module", "keepalive", true},
	{"http_upstream_zone_module", "zone", true},
	{"http-cache", "proxy_cache", true},
	// geoip: a dynamic module in Debian's build (ngx_http_geoip_module.so).
	{"http_geoip_module=dynamic", "geoip_country", false},
	// image_filter: dynamic too (ngx_http_image_filter_module.so).
	{"http_image_filter_module=dynamic", "image_filter", false},
	// stream{}: Debian builds the core as a dynamic module (load_module
	// modules/ngx_stream_module.so), the rest into it.
	{"stream=dynamic", "stream:proxy_pass", false},
	{"stream_ssl_module", "stream:ssl_certificate", false},
	{"stream_ssl_preread_module", "stream:ssl_preread", false},
	{"stream_realip_module", "stream:set_real_ip_from", false},
	{"stream_access_module", "stream:allow", true},
	{"stream_geo_module", "stream:geo", true},
	{"stream_geoip_module=dynamic", "stream:geoip_country", false},
	{"stream_limit_conn_module", "stream:limit_conn", true},
	{"stream_map_module", "stream:map", true},
	{"stream_return_module", "stream:return", true},
	{"stream_set_module", "stream:set", true},
	{"stream_split_clients_module", "stream:split_clients", true},
	{"stream_upstream_hash_module", "stream:hash", true},
	{"stream_upstream_least_conn_module", "stream:least_conn", true},
	{"stream_upstream_random_module", "stream:random", true},
	{"stream_upstream_zone_module", "stream:zone", true},
	// mail{}: dynamic in Debian's build too (ngx_mail_module.so).
	{"mail=dynamic", "mail:auth_http", false},
	{"mail_ssl_module", "mail:ssl_certificate", false},
	{"mail_pop3_module", "mail:pop3_auth", true},
	{"mail_imap_module", "mail:imap_auth", true},
	{"mail_smtp_module", "mail:smtp_auth", true},
}

// configureArguments is nginx's "configure arguments:" line for what
// gonginx serves. The stream and mail modules are dynamic, loaded from
// Debian's modules path as nginx's.
func configureArguments() string {
	// --with-debug as Debian's build: error_log's debug level and
	// debug_connection write [debug] lines (location/debug.go).
	args := []string{"--conf-path=" + defaultConf, "--modules-path=/usr/lib/nginx/modules", "--with-debug"}
	for _, m := range modules {
		servedHere := nginxconf.PolicyOf(m.key) != nginxconf.Refuse
		if name, ok := strings.CutPrefix(m.key, "stream:"); ok {
			servedHere = nginxconf.StreamPolicyOf(name) != nginxconf.Refuse
		}
		if name, ok := strings.CutPrefix(m.key, "mail:"); ok {
			servedHere = nginxconf.MailPolicyOf(name) != nginxconf.Refuse
		}
		switch {
		case servedHere && !m.stock:
			args = append(args, "--with-"+m.flag)
		case !servedHere && m.stock:
			args = append(args, "--without-"+m.flag)
		}
	}
	return strings.Join(args, " ")
}

// printVersion writes -v's or -V's text, in nginx's shape first (tools
// parse it), then gonginx's own lines.
func printVersion(w io.Writer, verbose bool) {
	fmt.Fprintf(w, "nginx version: nginx/%s\n", nginxRelease)
	fmt.Fprintf(w, "gonginx version: gonginx/%s\n", gonginxVersion)
	if !verbose {
		return
	}
	// "with OpenSSL X" is what Test::Nginx and other tools read: TLS here
	// behaves as nginx 1.22 linked with it (names, defaults, security level).
	fmt.Fprintf(w, "built with Go %s crypto/tls (compatible with OpenSSL 3.0.19)\n", runtime.Version())
	fmt.Fprintln(w, "TLS SNI support enabled")
	fmt.Fprintln(w, "configure arguments: "+configureArguments())
	refused, tuning := nginxconf.NotServed()
	fmt.Fprintln(w, "accepted by -t, not served (refuse to start unless written with their default value): "+strings.Join(refused, " "))
	fmt.Fprintln(w, "accepted, tuning only (start with one [warn] line): "+strings.Join(tuning, " "))
	fmt.Fprintln(w, "accepted, doing nothing: http2_push http2_push_preload (HTTP/2 server push is not done)")
	fmt.Fprintln(w, "debug log: a request's line, URI, arguments, headers, location and end, not nginx's trace of its internals")
}
