package nginxconf

import "strings"

// Check runs the checks nginx makes after the whole configuration is read
// and that need no module meaning. nginx makes them after it has printed
// "the configuration file X syntax is ok", so -t prints that line first
// and then Check's error (as for module compile errors). Today that is the events block a full
// nginx.conf must have; a fragment is wrapped in events{} by the loader.
// Checks that need meaning (listen addresses, locations, regexes,
// variables, certificates, upstreams) belong to the packages that compile
// those directives.
func Check(cfg *Config) error {
	hasEvents := false
	for _, d := range cfg.Tree {
		if d.Name == "events" {
			hasEvents = true
		}
	}
	if !hasEvents {
		// nginx prints this one without a place: it is found after parsing.
		return &Error{Msg: `no "events" section in configuration`}
	}
	if err := checkThreadPools(cfg.Tree); err != nil {
		return err
	}
	if err := checkFiles(cfg); err != nil {
		return err
	}
	return checkZones(cfg.Tree)
}

// checkZones finds shared memory zones that are used but never given a
// size: nginx adds a zone when it is first named, by a declaration or a
// use, and after parsing reports the first one still of size zero.
func checkZones(tree []*Directive) error {
	var order []string
	sized := map[string]bool{}
	mention := func(name string, hasSize bool) {
		if _, seen := sized[name]; !seen {
			order = append(order, name)
			sized[name] = false
		}
		if hasSize {
			sized[name] = true
		}
	}
	var walk func([]*Directive)
	walk = func(block []*Directive) {
		for _, d := range block {
			switch d.Name {
			case "limit_req_zone", "limit_conn_zone", "proxy_cache_path", "fastcgi_cache_path",
				"scgi_cache_path", "uwsgi_cache_path":
				for _, a := range d.Args {
					v, ok := strings.CutPrefix(a, "zone=")
					if !ok {
						v, ok = strings.CutPrefix(a, "keys_zone=")
					}
					if name, _, hasSize := strings.Cut(v, ":"); ok && name != "" {
						mention(name, hasSize)
					}
				}
			case "limit_req":
				for _, a := range d.Args {
					if name, ok := strings.CutPrefix(a, "zone="); ok {
						mention(name, false)
					}
				}
			case "zone": // upstream{}: "zone NAME [SIZE]"
				if len(d.Args) > 0 {
					mention(d.Args[0], len(d.Args) > 1)
				}
			case "limit_conn":
				if len(d.Args) > 0 {
					mention(d.Args[0], false)
				}
			case "proxy_cache", "fastcgi_cache", "scgi_cache", "uwsgi_cache":
				// A cache named by variables is looked up per request.
				if len(d.Args) > 0 && d.Args[0] != "off" && !strings.Contains(d.Args[0], "$") {
					mention(d.Args[0], false)
				}
			case "ssl_session_cache":
				for _, a := range d.Args {
					if rest, ok := strings.CutPrefix(a, "shared:"); ok {
						name, _, hasSize := strings.Cut(rest, ":")
						mention(name, hasSize)
					}
				}
			}
			if d.Block != nil {
				walk(d.Block)
			}
		}
	}
	walk(tree)
	for _, name := range order {
		if !sized[name] {
			return &Error{Msg: `zero size shared memory zone "` + name + `"`}
		}
	}
	return nil
}

// restricting names directives that decide who may get a response; a
// server that does not implement one must refuse to start rather than
// serve what nginx would refuse. Directives that only set variables
// (valid_referers, secure_link, geo, realip) or declare zones do not
// restrict by themselves and are not listed.
var restricting = map[string]bool{
	"allow": true, "deny": true, "satisfy": true, "internal": true, "limit_except": true,
	"auth_basic": true, "auth_basic_user_file": true, "auth_request": true,
	"limit_req": true, "limit_conn": true,
	"ssl_verify_client": true, "ssl_client_certificate": true, "ssl_crl": true, "ssl_ocsp": true,
}

// Restricts reports whether a directive restricts access (allow, deny,
// auth_basic, auth_request, limit_req, limit_conn, ssl_verify_client,
// internal, satisfy, limit_except, ...): a server that does not implement
// it must refuse to start, naming file:line. -t must not refuse: nginx
// -t accepts them.
func Restricts(name string) bool { return restricting[name] }

// tuning names directives that change only performance or resource use,
// never which response a client gets.
var tuning = map[string]bool{
	"worker_processes": true, "worker_rlimit_nofile": true, "worker_rlimit_core": true, "worker_priority": true,
	"worker_cpu_affinity": true, "worker_shutdown_timeout": true, "timer_resolution": true, "pcre_jit": true,
	"thread_pool": true, "worker_connections": true, "multi_accept": true, "accept_mutex": true,
	"accept_mutex_delay": true, "use": true, "worker_aio_requests": true, "lock_file": true,
	"sendfile": true, "sendfile_max_chunk": true, "tcp_nopush": true, "tcp_nodelay": true, "aio": true,
	"aio_write": true, "directio": true, "directio_alignment": true, "output_buffers": true,
	"postpone_output": true, "read_ahead": true, "open_file_cache": true, "open_file_cache_valid": true,
	"open_file_cache_min_uses": true, "open_file_cache_errors": true, "open_log_file_cache": true,
	"types_hash_max_size": true, "types_hash_bucket_size": true, "server_names_hash_max_size": true,
	"server_names_hash_bucket_size": true, "variables_hash_max_size": true, "variables_hash_bucket_size": true,
	"map_hash_max_size": true, "map_hash_bucket_size": true, "proxy_headers_hash_max_size": true,
	"proxy_headers_hash_bucket_size": true, "client_body_buffer_size": true, "client_header_buffer_size": true,
	"connection_pool_size": true, "request_pool_size": true, "reset_timedout_connection": true,
	"lingering_close": true, "lingering_time": true, "lingering_timeout": true, "keepalive_disable": true,
	"ssl_buffer_size": true, "ssl_session_cache": true, "ssl_session_timeout": true, "ssl_session_tickets": true,
	"ssl_prefer_server_ciphers": true, "ssl_ecdh_curve": true,
	"gzip_comp_level": true, "gzip_buffers": true, "gzip_min_length": true, "gzip_window": true,
	"gzip_hash": true, "gzip_no_buffer": true, "gunzip_buffers": true,
	"http2_chunk_size": true, "http2_body_preread_size": true, "http2_recv_buffer_size": true,
	"http2_pool_size": true, "http2_streams_index_size": true, "resolver_timeout": true,
	"keepalive": true, "keepalive_requests": true, "keepalive_timeout": true, "keepalive_time": true,
	"send_lowat": true, "subrequest_output_buffer_size": true,
}

// tuningSuffixes are the per-protocol families (proxy_, fastcgi_, uwsgi_,
// scgi_, grpc_, memcached_) of buffer and timeout settings.
var tuningSuffixes = []string{
	"_buffering", "_buffer_size", "_buffers", "_busy_buffers_size", "_temp_file_write_size",
	"_max_temp_file_size", "_connect_timeout", "_send_timeout", "_read_timeout", "_send_lowat",
	"_socket_keepalive", "_request_buffering",
}

// TuningOnly reports whether a directive only tunes performance (buffers,
// timeouts, hash sizes, worker and cache knobs): a server that ignores it
// serves the same responses, so it may start with a one-line [warn].
func TuningOnly(name string) bool {
	if tuning[name] {
		return true
	}
	for _, p := range []string{"proxy", "fastcgi", "uwsgi", "scgi", "grpc", "memcached"} {
		if rest, ok := strings.CutPrefix(name, p); ok {
			for _, s := range tuningSuffixes {
				if rest == s {
					return true
				}
			}
		}
	}
	return false
}

// checkThreadPools makes ngx_thread_pool_init_conf's check: a pool named
// by "aio threads=NAME" must be declared by thread_pool ("default" is
// always there).
func checkThreadPools(tree []*Directive) error {
	pools := map[string]bool{"default": true}
	for _, d := range tree {
		if d.Name == "thread_pool" && len(d.Args) > 0 {
			pools[d.Args[0]] = true
		}
	}
	var bad *Directive
	var walk func([]*Directive)
	walk = func(block []*Directive) {
		for _, d := range block {
			if bad != nil {
				return
			}
			if d.Name == "aio" && len(d.Args) == 1 {
				if name, ok := strings.CutPrefix(d.Args[0], "threads="); ok && !strings.Contains(name, "$") && !pools[name] {
					bad = d
					return
				}
			}
			walk(d.Block)
		}
	}
	walk(tree)
	if bad != nil {
		return &Error{Msg: `unknown thread pool "` + bad.Args[0][len("threads="):] + `"`, File: bad.File, Line: bad.EndLine}
	}
	return nil
}
