package nginxconf

import (
	"slices"
	"strings"
)

// Policy says what gonginx does with a directive that -t accepts, when it
// serves. It is the one table that -V, the start-up warning and the
// refusal to start all read: nothing that changes security or what a
// client or backend receives may be accepted and ignored.
type Policy uint8

const (
	// Refuse: not served yet; a server whose config uses it does not start,
	// naming file:line (-t still accepts it, as nginx -t does).
	Refuse Policy = iota
	// Served: gonginx gives it nginx's meaning.
	Served
	// Tuning: it only tunes performance or resource use, or it cannot take
	// effect without a directive that is refused; ignoring it changes no
	// response, so the server starts with one [warn] line naming it.
	Tuning
)

func (p Policy) String() string {
	return [...]string{"refuse", "served", "tuning"}[p]
}

// served lists the directives gonginx gives their nginx meaning. A
// package that starts serving one adds it here, with its tests.
var served = setOf(
	// core and events
	"daemon", "master_process", "user", "worker_processes", "worker_shutdown_timeout", "pid",
	"worker_rlimit_nofile", "worker_rlimit_core", "working_directory", "worker_priority",
	"error_log", "include",
	"load_module", "events", "worker_connections", "stream", "mail",
	// debug_connection (location/debug.go): a connection's lines, debug
	// ones too, go to every error log
	"debug_connection",
	// limit_req (location/limit: zones shared by the workers)
	"limit_req_zone", "limit_req", "limit_req_log_level", "limit_req_status", "limit_req_dry_run",
	"limit_conn_zone", "limit_conn", "limit_conn_log_level", "limit_conn_status", "limit_conn_dry_run",
	// HTTP/2 (rewrite/http2): push is accepted and not done (a server
	// need not push); the obsolete ones do nothing in nginx 1.22 either.
	"http2_max_concurrent_streams", "http2_chunk_size", "http2_body_preread_size",
	"http2_push", "http2_push_preload", "http2_idle_timeout", "http2_max_requests",
	"http2_recv_timeout", "http2_max_field_size", "http2_max_header_size",
	// http core
	"http", "server", "location", "listen", "server_name", "root", "alias", "types", "default_type",
	"error_page", "recursive_error_pages", "internal", "absolute_redirect", "server_name_in_redirect",
	"port_in_redirect", "server_tokens", "log_not_found", "etag", "if_modified_since",
	"client_max_body_size", "keepalive_timeout", "client_header_timeout", "send_timeout",
	"postpone_output",
	"lingering_close", "lingering_time", "lingering_timeout",
	"keepalive_requests", "keepalive_time", "keepalive_disable", "msie_padding", "msie_refresh", "post_action", "flv", "reset_timedout_connection",
	// mp4 (location/mp4: the cut by start and end, read as nginx reads it)
	"mp4", "mp4_buffer_size", "mp4_max_buffer_size", "mp4_start_key_frame",
	"client_body_timeout", "client_header_buffer_size", "large_client_header_buffers", "max_headers",
	"underscores_in_headers", "ignore_invalid_headers", "merge_slashes",
	"index", "try_files", "charset", "charset_types", "access_log", "log_format", "open_log_file_cache", "disable_symlinks", "max_ranges", "source_charset", "charset_map", "override_charset",
	"allow", "deny", "set_real_ip_from", "real_ip_header", "real_ip_recursive", "valid_referers",
	"modern_browser", "ancient_browser", "modern_browser_value", "ancient_browser_value",
	"secure_link", "secure_link_md5", "secure_link_secret",
	"userid", "userid_service", "userid_name", "userid_domain", "userid_path", "userid_p3p",
	"userid_expires", "userid_mark", "userid_flags", "limit_rate", "limit_rate_after", "client_body_buffer_size", "client_body_in_file_only",
	"stub_status", "mirror", "mirror_request_body", "log_subrequest",
	// WebDAV (location/dav.go)
	"dav_methods", "dav_access", "create_full_put_path", "min_delete_depth",
	// access
	"satisfy", "limit_except", "auth_basic", "auth_basic_user_file", "auth_request", "auth_request_set", "auth_delay",
	// content modules
	"slice",
	"autoindex", "autoindex_format", "autoindex_localtime", "autoindex_exact_size", "random_index", "empty_gif",
	// headers filter
	"add_header", "expires", "add_trailer", "chunked_transfer_encoding",
	// body filters
	"add_before_body", "add_after_body", "addition_types",
	"ssi", "ssi_types", "ssi_silent_errors", "ssi_value_length", "ssi_last_modified", "ssi_min_file_chunk",
	"subrequest_output_buffer_size",
	// sub filter
	"sub_filter", "sub_filter_once", "sub_filter_types", "sub_filter_last_modified",
	// the image filter (location/imagefilter; Debian's dynamic module)
	"image_filter", "image_filter_buffer", "image_filter_interlace", "image_filter_transparency",
	"image_filter_jpeg_quality", "image_filter_webp_quality", "image_filter_sharpen",
	// gzip, gunzip, gzip_static
	"gzip", "gzip_types", "gzip_min_length", "gzip_comp_level", "gzip_proxied", "gzip_vary",
	"gzip_disable", "gzip_http_version", "gzip_buffers", "gzip_static", "gunzip", "gunzip_buffers",
	// rewrite, map, geo, split_clients
	"rewrite", "return", "set", "if", "break", "map", "geo", "split_clients",
	// upstream
	"upstream", "ip_hash", "least_conn", "keepalive", "hash", "random", "zone",
	// proxy
	"resolver", "resolver_timeout",
	"proxy_pass", "proxy_set_header", "proxy_hide_header", "proxy_pass_header", "proxy_http_version", "proxy_buffering",
	"proxy_redirect", "proxy_pass_request_body", "proxy_pass_request_headers",
	"proxy_cookie_domain", "proxy_cookie_path", "proxy_cookie_flags",
	"proxy_limit_rate", "fastcgi_limit_rate", "scgi_limit_rate", "uwsgi_limit_rate",
	"proxy_bind", "fastcgi_bind", "scgi_bind", "uwsgi_bind", "memcached_bind",
	"proxy_store", "fastcgi_store", "scgi_store", "uwsgi_store",
	// a slow client's temporary file (upstream/tempfile.go)
	"proxy_temp_path", "fastcgi_temp_path", "scgi_temp_path", "uwsgi_temp_path",
	"proxy_max_temp_file_size", "fastcgi_max_temp_file_size", "scgi_max_temp_file_size", "uwsgi_max_temp_file_size",
	"proxy_store_access", "fastcgi_store_access", "scgi_store_access", "uwsgi_store_access",
	"proxy_request_buffering", "proxy_ignore_client_abort", "proxy_buffer_size",
	"proxy_connect_timeout", "proxy_read_timeout", "proxy_send_timeout",
	"proxy_next_upstream", "proxy_next_upstream_tries", "proxy_next_upstream_timeout",
	"proxy_method", "proxy_set_body", "proxy_intercept_errors", "proxy_ignore_headers",
	"proxy_ssl_verify", "proxy_ssl_trusted_certificate", "proxy_ssl_verify_depth", "proxy_ssl_name",
	"proxy_ssl_server_name", "proxy_ssl_protocols", "proxy_ssl_ciphers", "proxy_ssl_certificate",
	"proxy_ssl_certificate_key", "proxy_ssl_password_file", "proxy_ssl_crl", "proxy_ssl_session_reuse",
	"proxy_ssl_conf_command",
	// fastcgi
	"fastcgi_pass", "fastcgi_param", "fastcgi_index", "fastcgi_split_path_info",
	"fastcgi_pass_request_headers", "fastcgi_pass_request_body", "fastcgi_hide_header",
	"fastcgi_pass_header", "fastcgi_ignore_headers", "fastcgi_intercept_errors",
	"fastcgi_next_upstream", "fastcgi_next_upstream_tries", "fastcgi_next_upstream_timeout",
	"fastcgi_keep_conn", "fastcgi_connect_timeout", "fastcgi_send_timeout", "fastcgi_read_timeout",
	"fastcgi_request_buffering", "fastcgi_buffering", "fastcgi_ignore_client_abort",
	"fastcgi_catch_stderr",
	// scgi
	"scgi_pass", "scgi_param", "scgi_pass_request_headers", "scgi_pass_request_body",
	"scgi_hide_header", "scgi_pass_header", "scgi_ignore_headers", "scgi_intercept_errors",
	"scgi_next_upstream", "scgi_next_upstream_tries", "scgi_next_upstream_timeout",
	"scgi_connect_timeout", "scgi_send_timeout", "scgi_read_timeout",
	"scgi_request_buffering", "scgi_buffering", "scgi_ignore_client_abort",
	// uwsgi (uwsgi_ssl_* for suwsgi://)
	"uwsgi_ssl_verify", "uwsgi_ssl_trusted_certificate", "uwsgi_ssl_verify_depth", "uwsgi_ssl_name",
	"uwsgi_ssl_server_name", "uwsgi_ssl_protocols", "uwsgi_ssl_ciphers", "uwsgi_ssl_certificate",
	"uwsgi_ssl_certificate_key", "uwsgi_ssl_password_file", "uwsgi_ssl_crl", "uwsgi_ssl_session_reuse",
	"uwsgi_ssl_conf_command",
	"uwsgi_pass", "uwsgi_param", "uwsgi_modifier1", "uwsgi_modifier2", "uwsgi_string",
	"uwsgi_pass_request_headers", "uwsgi_pass_request_body",
	"uwsgi_hide_header", "uwsgi_pass_header", "uwsgi_ignore_headers", "uwsgi_intercept_errors",
	"uwsgi_next_upstream", "uwsgi_next_upstream_tries", "uwsgi_next_upstream_timeout",
	"uwsgi_connect_timeout", "uwsgi_send_timeout", "uwsgi_read_timeout",
	"uwsgi_request_buffering", "uwsgi_buffering", "uwsgi_ignore_client_abort",
	// the proxy cache, for each protocol (upstream/cache.go)
	"proxy_cache_path", "fastcgi_cache_path", "scgi_cache_path", "uwsgi_cache_path",
	"proxy_force_ranges", "fastcgi_force_ranges", "scgi_force_ranges", "uwsgi_force_ranges",
	"proxy_cache", "proxy_cache_key", "proxy_cache_valid", "proxy_cache_methods", "proxy_cache_min_uses", "proxy_cache_bypass", "proxy_no_cache", "proxy_cache_use_stale",
	"proxy_cache_lock", "proxy_cache_background_update", "proxy_cache_lock_age", "proxy_cache_lock_timeout", "proxy_cache_revalidate", "proxy_cache_convert_head", "proxy_cache_max_range_offset",
	"fastcgi_cache", "fastcgi_cache_key", "fastcgi_cache_valid", "fastcgi_cache_methods", "fastcgi_cache_min_uses", "fastcgi_cache_bypass", "fastcgi_no_cache", "fastcgi_cache_use_stale",
	"fastcgi_cache_lock", "fastcgi_cache_background_update", "fastcgi_cache_lock_age", "fastcgi_cache_lock_timeout", "fastcgi_cache_revalidate", "fastcgi_cache_max_range_offset",
	"scgi_cache", "scgi_cache_key", "scgi_cache_valid", "scgi_cache_methods", "scgi_cache_min_uses", "scgi_cache_bypass", "scgi_no_cache", "scgi_cache_use_stale",
	"scgi_cache_lock", "scgi_cache_background_update", "scgi_cache_lock_age", "scgi_cache_lock_timeout", "scgi_cache_revalidate", "scgi_cache_max_range_offset",
	"uwsgi_cache", "uwsgi_cache_key", "uwsgi_cache_valid", "uwsgi_cache_methods", "uwsgi_cache_min_uses", "uwsgi_cache_bypass", "uwsgi_no_cache", "uwsgi_cache_use_stale",
	"uwsgi_cache_lock", "uwsgi_cache_background_update", "uwsgi_cache_lock_age", "uwsgi_cache_lock_timeout", "uwsgi_cache_revalidate", "uwsgi_cache_max_range_offset",
	// gRPC (upstream/grpc.go, grpc_conn.go)
	"grpc_pass", "grpc_set_header", "grpc_hide_header", "grpc_pass_header", "grpc_ignore_headers", "grpc_bind",
	"grpc_next_upstream", "grpc_next_upstream_tries", "grpc_next_upstream_timeout", "grpc_intercept_errors",
	"grpc_connect_timeout", "grpc_send_timeout", "grpc_read_timeout", "grpc_buffer_size",
	"grpc_ssl_verify", "grpc_ssl_server_name", "grpc_ssl_verify_depth", "grpc_ssl_name", "grpc_ssl_ciphers",
	"grpc_ssl_protocols", "grpc_ssl_session_reuse", "grpc_ssl_password_file", "grpc_ssl_certificate",
	"grpc_ssl_certificate_key", "grpc_ssl_trusted_certificate", "grpc_ssl_crl", "grpc_ssl_conf_command",
	// memcached (upstream/memcached.go)
	"memcached_pass", "memcached_gzip_flag", "memcached_next_upstream", "memcached_next_upstream_tries",
	"memcached_next_upstream_timeout", "memcached_buffer_size", "memcached_connect_timeout",
	"memcached_send_timeout", "memcached_read_timeout",
	// ssl
	"ssl", "ssl_certificate", "ssl_certificate_key", "ssl_protocols", "ssl_ciphers",
	"ssl_prefer_server_ciphers", "ssl_ecdh_curve", "ssl_session_tickets", "ssl_reject_handshake",
	"ssl_password_file", "ssl_stapling", "ssl_stapling_file", "ssl_stapling_responder",
	"ssl_stapling_verify", "ssl_trusted_certificate", "ssl_session_ticket_key",
	"ssl_session_timeout", "ssl_verify_client", "ssl_verify_depth", "ssl_client_certificate", "ssl_crl",
	"ssl_ocsp", "ssl_ocsp_responder", "ssl_ocsp_cache", "ssl_session_cache", "ssl_conf_command",
	// the geoip module (rewrite/geoip.go: MaxMind's legacy databases)
	"geoip_country", "geoip_city", "geoip_org", "geoip_proxy", "geoip_proxy_recursive",
)

// tuning lists directives that change only performance or resource use,
// or log detail, never which response a client or backend gets.
var tuning = setOf(
	"worker_cpu_affinity", "timer_resolution", "pcre_jit", "thread_pool",
	"lock_file", "debug_points", "env", "multi_accept", "accept_mutex", "accept_mutex_delay", "use",
	"epoll_events", "worker_aio_requests",
	"sendfile", "sendfile_max_chunk", "tcp_nopush", "tcp_nodelay", "aio", "aio_write", "directio",
	"directio_alignment", "output_buffers", "read_ahead", "open_file_cache",
	"open_file_cache_valid", "open_file_cache_min_uses", "open_file_cache_errors",
	"open_file_cache_events",
	"types_hash_max_size", "types_hash_bucket_size", "server_names_hash_max_size",
	"server_names_hash_bucket_size", "variables_hash_max_size", "variables_hash_bucket_size",
	"map_hash_max_size", "map_hash_bucket_size", "referer_hash_max_size", "referer_hash_bucket_size",
	"proxy_headers_hash_max_size", "proxy_headers_hash_bucket_size",
	"client_body_in_single_buffer", "client_body_temp_path",
	"connection_pool_size", "request_pool_size",
	"send_lowat",
	"rewrite_log", "uninitialized_variable_warn",
	// Record sizes only; DHE suites (ssl_dhparam) serve only clients that
	// offer no ECDHE suite. ssl_early_data: crypto/tls declines 0-RTT
	// data, so a client sends its request after the handshake, as to nginx
	// with it off: the same response a round trip later, never a 425
	// ($ssl_early_data is empty, as for any request not sent early).
	"ssl_buffer_size", "ssl_dhparam", "ssl_early_data",
	// How much HTTP/2 reads at once and its memory; no push is made.
	"http2_recv_buffer_size", "http2_pool_size", "http2_streams_index_size",
	"http2_max_concurrent_pushes",
	// zlib's memory and when it starts: the body is the same gzip stream.
	"gzip_window", "gzip_hash", "postpone_gzipping", "gzip_no_buffer",
)

// tuningSuffixes are the per-protocol families (proxy_, fastcgi_, ...) of
// buffer and timeout settings.
var tuningSuffixes = []string{
	"_buffering", "_buffer_size", "_buffers", "_busy_buffers_size", "_temp_file_write_size",
	"_max_temp_file_size", "_connect_timeout", "_send_timeout", "_read_timeout", "_send_lowat",
	"_socket_keepalive", "_request_buffering",
}

// dependents take effect only through another directive of their module
// that is refused (gzip_types needs gzip on, uwsgi_param needs
// uwsgi_pass, ...): alone they change nothing, so they are tuning.
var dependents = []struct{ prefix, except string }{
	{"ssi_", ""},
	{"xslt_", "xslt_stylesheet"}, {"xml_entities", ""},
	{"charset_map", ""}, {"perl_modules", ""},
	{"perl_require", ""},
}

// defaults are nginx's values of refused directives that are not "off":
// a directive written with its default value changes nothing.
var defaults = map[string]string{}

// streamServed lists the directives of stream{} that gonginx serves
// (package location/stream); the others there are refused, or tuning
// when in streamTuning.
var streamServed = setOf(
	"server", "listen", "upstream", "least_conn", "hash", "random", "zone",
	"proxy_pass", "proxy_timeout", "proxy_connect_timeout", "proxy_next_upstream",
	"proxy_next_upstream_tries", "proxy_next_upstream_timeout", "proxy_protocol",
	"proxy_responses", "proxy_requests", "proxy_upload_rate", "proxy_download_rate",
	"proxy_bind", "proxy_half_close", "proxy_socket_keepalive", "proxy_buffer_size",
	"proxy_ssl", "proxy_ssl_verify", "proxy_ssl_trusted_certificate", "proxy_ssl_verify_depth",
	"proxy_ssl_name", "proxy_ssl_server_name", "proxy_ssl_protocols", "proxy_ssl_ciphers",
	"proxy_ssl_certificate", "proxy_ssl_certificate_key", "proxy_ssl_password_file",
	"proxy_ssl_crl", "proxy_ssl_session_reuse",
	"resolver", "resolver_timeout",
	"ssl_preread", "preread_buffer_size", "preread_timeout", "proxy_protocol_timeout",
	"map", "geo", "split_clients", "set", "return",
	"limit_conn_zone", "limit_conn", "limit_conn_log_level", "limit_conn_dry_run",
	"allow", "deny", "set_real_ip_from",
	"log_format", "access_log", "error_log",
	"ssl_certificate", "ssl_certificate_key", "ssl_protocols", "ssl_ciphers",
	"ssl_prefer_server_ciphers", "ssl_handshake_timeout", "ssl_password_file", "ssl_alpn",
	"ssl_verify_client", "ssl_client_certificate", "ssl_trusted_certificate", "ssl_verify_depth",
	"ssl_conf_command", "proxy_ssl_conf_command", "ssl_ecdh_curve",
	"ssl_session_cache", "ssl_session_timeout", "ssl_session_tickets", "ssl_session_ticket_key", "ssl_crl",
	"geoip_country", "geoip_city", "geoip_org",
)

// streamTuning are stream directives that change no byte a client or a
// backend gets.
var streamTuning = setOf(
	"tcp_nodelay", "variables_hash_max_size", "variables_hash_bucket_size", "map_hash_max_size",
	"map_hash_bucket_size", "open_log_file_cache", "proxy_upstream_buffer", "proxy_downstream_buffer",
	"ssl_dhparam",
)

// mailServed lists the directives of mail{} that gonginx serves
// (package location/mail); the others there are refused, or tuning when
// in mailTuning.
var mailServed = setOf(
	"include", "server", "listen", "protocol", "timeout", "server_name", "error_log", "max_errors",
	"auth_http", "auth_http_timeout", "auth_http_header",
	"proxy", "proxy_buffer", "proxy_timeout", "proxy_pass_error_message",
	"pop3_auth", "pop3_capabilities", "imap_auth", "imap_capabilities", "imap_client_buffer",
	"smtp_auth", "smtp_capabilities", "smtp_client_buffer", "smtp_greeting_delay", "xclient", "proxy_smtp_auth",
	// TLS (location/mail/tls.go)
	"ssl", "starttls", "ssl_certificate", "ssl_certificate_key", "ssl_password_file", "ssl_protocols",
	"ssl_ciphers", "ssl_prefer_server_ciphers", "ssl_session_cache", "ssl_session_tickets",
	"ssl_session_ticket_key", "ssl_session_timeout", "ssl_conf_command", "ssl_ecdh_curve",
	// client certificates (location/mail/verify.go)
	"ssl_verify_client", "ssl_verify_depth", "ssl_client_certificate", "ssl_trusted_certificate", "ssl_crl",
	"auth_http_pass_client_cert",
	// the SMTP client's name (location/mail/smtp.go, upstream/resolver/ptr.go)
	"resolver", "resolver_timeout",
	// the PROXY protocol (location/mail/proxyproto.go)
	"proxy_protocol", "set_real_ip_from",
)

// mailTuning are mail directives that change no byte a client or a
// backend gets.
var mailTuning = setOf("ssl_dhparam")

// MailPolicyOf is the policy for a directive inside mail{}.
func MailPolicyOf(name string) Policy {
	switch {
	case mailServed[name]:
		return Served
	case mailTuning[name]:
		return Tuning
	}
	return Refuse
}

// StreamPolicyOf is the policy for a directive inside stream{}.
func StreamPolicyOf(name string) Policy {
	switch {
	case streamServed[name]:
		return Served
	case streamTuning[name]:
		return Tuning
	}
	return Refuse
}

// PolicyOf is the policy for a directive name of the http and main
// contexts (stream{} and mail{} have their own, StreamPolicyOf and
// MailPolicyOf).
func PolicyOf(name string) Policy {
	switch {
	case served[name]:
		return Served
	case tuning[name]:
		return Tuning
	}
	for _, p := range []string{"proxy", "fastcgi", "uwsgi", "scgi", "grpc", "memcached"} {
		if rest, ok := strings.CutPrefix(name, p); ok && slices.Contains(tuningSuffixes, rest) {
			return Tuning
		}
	}
	for _, d := range dependents {
		if strings.HasPrefix(name, d.prefix) && name != d.except {
			return Tuning
		}
	}
	return Refuse
}

// isDefault reports whether d is written with nginx's default value, so
// that not serving it changes nothing ("gzip off", "satisfy all").
func isDefault(d *Directive) bool {
	want, ok := defaults[d.Name]
	if !ok {
		want = "off"
	}
	return strings.Join(d.Args, " ") == want
}

// dataBlocks hold data, not directives: their lines are not looked up.
var dataBlocks = setOf("types", "map", "geo", "split_clients", "charset_map")

// Servable walks the tree as gonginx would serve it. It returns the first
// directive (or argument) that must refuse to start, as an *Error naming
// file:line, and the tuning directives met, in the order first seen.
func Servable(tree []*Directive) (tuningMet []string, err error) {
	seen := map[string]bool{}
	inStream, inMail := false, false
	var walk func([]*Directive) error
	walk = func(block []*Directive) error {
		for _, d := range block {
			if d.Name == "#" {
				continue
			}
			policy := PolicyOf(d.Name)
			if inStream {
				policy = StreamPolicyOf(d.Name)
			}
			if inMail {
				policy = MailPolicyOf(d.Name)
			}
			if d.Name == "stream" && !inStream && !inMail {
				inStream = true
				err := walk(d.Block)
				inStream = false
				if err != nil {
					return err
				}
				continue
			}
			if d.Name == "mail" && !inStream && !inMail {
				inMail = true
				err := walk(d.Block)
				inMail = false
				if err != nil {
					return err
				}
				continue
			}
			switch policy {
			case Refuse:
				if isDefault(d) {
					continue
				}
				return &Error{Msg: `"` + d.Name + `" directive is not supported by gonginx`, File: d.File, Line: d.EndLine}
			case Tuning:
				if !seen[d.Name] {
					seen[d.Name] = true
					tuningMet = append(tuningMet, d.Name)
				}
				continue
			}
			if what := unservedArg(d); what != "" && !inMail {
				return &Error{Msg: what + ` of "` + d.Name + `" directive is not supported by gonginx`, File: d.File, Line: d.EndLine}
			}
			// nginx's in-memory debug log is read from a core dump:
			// its lines are not kept, which start-up says once.
			if d.Name == "error_log" && len(d.Args) > 0 && strings.HasPrefix(d.Args[0], "memory:") && !seen["error_log memory:"] {
				seen["error_log memory:"] = true
				tuningMet = append(tuningMet, "error_log memory:")
			}
			if !dataBlocks[d.Name] {
				if err := walk(d.Block); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return tuningMet, walk(tree)
}

// unservedArg names the part of a served directive that is not served
// yet ("" when all of it is).
func unservedArg(d *Directive) string {
	switch d.Name {
	case "proxy_bind", "fastcgi_bind", "scgi_bind", "uwsgi_bind", "memcached_bind", "grpc_bind":
		// IP_TRANSPARENT: binding to an address not the host's.
		if len(d.Args) > 1 && d.Args[1] == "transparent" {
			return `the "transparent" parameter`
		}
	}
	return ""
}

// NotServed lists, sorted, the directive names of the http and main
// contexts that -t accepts but gonginx does not serve, with their policy.
func NotServed() (refused, tuningOnly []string) {
	seen := map[string]bool{}
	for _, c := range commandTable {
		if seen[c.Name] || c.Ctx&(MainConf|EventConf|HTTPMainConf|HTTPSrvConf|HTTPLocConf|HTTPUpsConf|HTTPSifConf|HTTPLifConf|HTTPLmtConf) == 0 {
			continue
		}
		seen[c.Name] = true
		switch PolicyOf(c.Name) {
		case Refuse:
			refused = append(refused, c.Name)
		case Tuning:
			tuningOnly = append(tuningOnly, c.Name)
		}
	}
	slices.Sort(refused)
	slices.Sort(tuningOnly)
	return refused, tuningOnly
}

func setOf(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}
