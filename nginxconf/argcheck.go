package nginxconf

import (
	"os"
	"os/user"
	"strings"
)

// This file holds the value checks of nginx's generic setters (checkValue),
// of a few core handlers (customCheck) and of the post handlers
// (postCheck), with the messages nginx 1.22 prints.

// checkValue runs the value checks of nginx's generic setter for cmd.
func checkValue(cmd *Command, d *Directive) *Error {
	invalid := func() *Error { return d.errorf("%q directive invalid value", d.Name) }
	a := d.Args
	switch cmd.Slot {
	case SlotFlag:
		if !strings.EqualFold(a[0], "on") && !strings.EqualFold(a[0], "off") {
			return d.errorf("invalid value %q in %q directive, it must be \"on\" or \"off\"", a[0], d.Name)
		}
	case SlotNum:
		n, ok := ParseNumber(a[0])
		if !ok {
			return d.errorf("%q directive invalid number", d.Name)
		}
		if b := cmd.Bounds; b != nil {
			if b[1] == -1 && n < b[0] {
				return d.errorf("value must be equal to or greater than %d", b[0])
			}
			if b[1] != -1 && (n < b[0] || n > b[1]) {
				return d.errorf("value must be between %d and %d", b[0], b[1])
			}
		}
	case SlotSize:
		if _, ok := ParseSize(a[0]); !ok {
			return invalid()
		}
	case SlotOff:
		if _, ok := ParseOffset(a[0]); !ok {
			return invalid()
		}
	case SlotMsec:
		if _, ok := ParseTime(a[0], false); !ok {
			return invalid()
		}
	case SlotSec:
		if _, ok := ParseTime(a[0], true); !ok {
			return invalid()
		}
	case SlotBufs:
		if n, ok := ParseNumber(a[0]); !ok || n == 0 {
			return invalid()
		}
		if n, ok := ParseSize(a[1]); !ok || n == 0 {
			return invalid()
		}
	case SlotEnum:
		if !containsFold(cmd.Values, a[0]) {
			return d.errorf("invalid value %q", a[0])
		}
	case SlotBitmask:
		// Values set twice only warn (bitmaskWarnings).
		for _, v := range a {
			if !containsFold(cmd.Values, v) {
				return d.errorf("invalid value %q", v)
			}
		}
	case SlotPath:
		total := 0
		for _, v := range a[1:] {
			n, ok := ParseNumber(v)
			if !ok || n == 0 || n > 2 {
				return invalid()
			}
			total += int(n)
		}
	case SlotComplexValueSize:
		if !strings.Contains(a[0], "$") {
			if _, ok := ParseSize(a[0]); !ok {
				return invalid()
			}
		}
	case SlotFileCacheValid:
		last := a[len(a)-1]
		if _, ok := ParseTime(last, true); !ok {
			return d.errorf("invalid time value %q", last)
		}
		for _, v := range a[:len(a)-1] {
			if v == "any" {
				continue
			}
			if n, ok := ParseNumber(v); !ok || n < 100 || n > 599 {
				return d.errorf("invalid status %q", v)
			}
		}
	case SlotAccess:
		for _, v := range a {
			who, right, ok := strings.Cut(v, ":")
			if !ok || (who != "user" && who != "group" && who != "all") || (right != "r" && right != "rw") {
				return d.errorf("invalid value %q", v)
			}
		}
	}
	if cmd.PostCheck {
		return postCheck(d)
	}
	switch cmd.Slot {
	case SlotCustom:
		return customCheck(cmd, d)
	case SlotUpstreamParam:
		// ngx_http_upstream_param_set_slot
		if len(a) == 3 && a[2] != "if_not_empty" {
			return d.errorf("invalid parameter %q", a[2])
		}
	case SlotUpstreamBind:
		return checkBind(d)
	}
	return nil
}

// customCheck runs the pure value checks of a few module handlers that
// configs often get wrong, with the messages nginx 1.22 prints (each
// observed with nginx -t). Checks that need meaning (listen, locations,
// upstreams, variables) live in the packages that compile the directive.
func customCheck(cmd *Command, d *Directive) *Error {
	a := d.Args
	// d.Name is cmd.Name; the module tells same-named entries apart.
	switch m := cmd.Module; {
	case d.Name == "worker_processes" && m == "ngx_core_module":
		if _, ok := ParseNumber(a[0]); !ok && a[0] != "auto" {
			return d.errorf("%q directive invalid value", d.Name)
		}
	case d.Name == "worker_priority" && m == "ngx_core_module":
		v := a[0]
		if v != "" && (v[0] == '-' || v[0] == '+') {
			v = v[1:]
		}
		if _, ok := ParseNumber(v); !ok {
			return d.errorf("%q directive invalid number", d.Name)
		}
	case d.Name == "worker_cpu_affinity" && m == "ngx_core_module":
		return checkCPUAffinity(d)
	case d.Name == "worker_connections" && m == "ngx_event_core_module":
		if _, ok := ParseNumber(a[0]); !ok {
			return d.errorf("invalid number %q", a[0])
		}
	case d.Name == "use" && m == "ngx_event_core_module":
		if a[0] != "epoll" && a[0] != "poll" && a[0] != "select" {
			return d.errorf("invalid event type %q", a[0])
		}
	case d.Name == "keepalive_timeout" && m == "ngx_http_core_module":
		if _, ok := ParseTime(a[0], false); !ok {
			return d.errorf("%q directive invalid value", d.Name)
		}
		if len(a) == 2 {
			if _, ok := ParseTime(a[1], true); !ok {
				return d.errorf("%q directive invalid value", d.Name)
			}
		}
	case d.Name == "user" && m == "ngx_core_module":
		return checkUser(d)
	default:
		return moreChecks(cmd, d)
	case d.Name == "try_files" && m == "ngx_http_try_files_module":
		// ngx_http_core_try_files: a last "=code" must be a number <= 999.
		if last := a[len(a)-1]; strings.HasPrefix(last, "=") {
			if n, ok := ParseNumber(last[1:]); !ok || n > 999 {
				return d.errorf("invalid code %q", last)
			}
		}
	case d.Name == "error_page" && m == "ngx_http_core_module":
		return checkErrorPage(d)
	case d.Name == "server_name" && m == "ngx_http_core_module":
		for _, v := range a {
			if v != "" && (v[0] == '*' && (len(v) < 3 || v[1] != '.') || v[0] == '.' && len(v) < 2) {
				return d.errorf("server name %q is invalid", v)
			}
			if v == "~" {
				return d.errorf("empty regex in server name %q", v)
			}
		}
	case d.Name == "geo" && (m == "ngx_http_geo_module" || m == "ngx_stream_geo_module"):
		for _, v := range a {
			if err := checkVarName(d, v); err != nil {
				return err
			}
		}
	case d.Name == "split_clients" && (m == "ngx_http_split_clients_module" || m == "ngx_stream_split_clients_module"):
		if a[1] == "$" {
			return d.errorf("invalid variable name %q", a[1])
		}
		return checkVarName(d, a[1])
	case d.Name == "error_log" && (m == "ngx_core_module" || m == "ngx_errlog_module" || m == "ngx_http_core_module" ||
		m == "ngx_stream_core_module" || m == "ngx_mail_core_module"):
		if err := checkSyslog(d, a[0]); err != nil {
			return err
		}
		return checkLogLevels(d)
	case d.Name == "ssl_session_cache" && (m == "ngx_http_ssl_module" || m == "ngx_stream_ssl_module" ||
		m == "ngx_mail_ssl_module"):
		for _, v := range a {
			if !validSessionCache(v) {
				return d.errorf("invalid session cache %q", v)
			}
		}
	}
	return nil
}

// checkCPUAffinity checks the masks as ngx_set_cpu_affinity reads them:
// "auto" first (then at most one mask), each mask of '0' and '1' read
// from its last character, spaces skipped.
func checkCPUAffinity(d *Directive) *Error {
	masks := d.Args
	if masks[0] == "auto" {
		if len(masks) > 2 {
			return d.errorf("invalid number of arguments in %q directive", d.Name)
		}
		masks = masks[1:]
	}
	for _, m := range masks {
		if len(m) > 1024 {
			return d.errorf(`"worker_cpu_affinity" supports up to 1024 CPUs only`)
		}
		for j := len(m) - 1; j >= 0; j-- {
			if c := m[j]; c != ' ' && c != '0' && c != '1' {
				return d.errorf("invalid character %q in \"worker_cpu_affinity\"", string(c))
			}
		}
	}
	return nil
}

// checkCachePath checks the parameters of a *_cache_path directive as
// ngx_http_file_cache_set_slot does; each message quotes the parameter.
func checkCachePath(d *Directive) *Error {
	zone := false
	for _, v := range d.Args[1:] {
		key, val, hasEq := strings.Cut(v, "=")
		if !hasEq {
			return d.errorf("invalid parameter %q", v)
		}
		ok := true
		switch key {
		case "levels":
			if !validLevels(val) {
				return d.errorf(`invalid "levels" %q`, v)
			}
			continue
		case "use_temp_path":
			if val != "on" && val != "off" {
				return d.errorf(`invalid use_temp_path value %q, it must be "on" or "off"`, v)
			}
			continue
		case "keys_zone":
			name, size, found := strings.Cut(val, ":")
			n, okN := ParseSize(size)
			if !found || !okN {
				return d.errorf("invalid keys zone size %q", v)
			}
			if n < 8192 {
				return d.errorf("keys zone %q is too small", v)
			}
			zone = zone || name != ""
			continue
		case "inactive", "manager_sleep", "manager_threshold", "loader_sleep", "loader_threshold":
			_, ok = ParseTime(val, key == "inactive")
		case "max_size", "min_free":
			_, ok = ParseOffset(val)
		case "loader_files", "manager_files":
			_, ok = ParseNumber(val)
		default:
			return d.errorf("invalid parameter %q", v)
		}
		if !ok {
			return d.errorf("invalid "+key+" value %q", v)
		}
	}
	if !zone {
		return d.errorf(`%q must have "keys_zone" parameter`, d.Name)
	}
	return nil
}

// validLevels reports whether "1:2"-style cache levels are one to three
// digits 1 or 2 separated by colons.
func validLevels(v string) bool {
	parts := strings.Split(v, ":")
	if len(parts) > 3 {
		return false
	}
	for _, p := range parts {
		if p != "1" && p != "2" {
			return false
		}
	}
	return true
}

// checkErrorPage checks "error_page code ... [=[response]] uri" as
// ngx_http_core_error_page does, before it compiles the uri.
func checkErrorPage(d *Directive) *Error {
	a := d.Args
	codes := a[:len(a)-1]
	if o := codes[len(codes)-1]; strings.HasPrefix(o, "=") {
		if len(codes) == 1 {
			return d.errorf("invalid value %q", o)
		}
		if _, ok := ParseNumber(o[1:]); len(o) > 1 && !ok {
			return d.errorf("invalid value %q", o)
		}
		codes = codes[:len(codes)-1]
	}
	for _, c := range codes {
		n, ok := ParseNumber(c)
		if !ok || n == 499 {
			return d.errorf("invalid value %q", c)
		}
		if n < 300 || n > 599 {
			return d.errorf("value %q must be between 300 and 599", c)
		}
	}
	return nil
}

// checkUser looks up the user and group as ngx_set_user does when run as
// root; nginx names the failing libc call. The group defaults to the
// user's name (Debian has no "nobody" group, so "user nobody;" fails).
// As a non-root user nginx only warns that the directive is ignored.
func checkUser(d *Directive) *Error {
	a := d.Args
	if os.Geteuid() != 0 {
		e := d.errorf(`the "user" directive makes sense only if the master process runs with super-user privileges, ignored`)
		e.Warn = true
		return e
	}
	if _, err := user.Lookup(a[0]); err != nil {
		return d.errorf("getpwnam(%q) failed", a[0])
	}
	group := a[0]
	if len(a) == 2 {
		group = a[1]
	}
	if _, err := user.LookupGroup(group); err != nil {
		return d.errorf("getgrnam(%q) failed", group)
	}
	return nil
}

// checkLogLevels checks error_log's levels as ngx_log_set_levels does:
// one of the error levels, or any debug_* levels (a --with-debug build).
func checkLogLevels(d *Directive) *Error {
	errLevels := []string{"emerg", "alert", "crit", "error", "warn", "notice", "info", "debug"}
	debugLevels := []string{"debug_core", "debug_alloc", "debug_mutex", "debug_event", "debug_http", "debug_mail", "debug_stream"}
	haveErr, haveDebug := false, false
	for _, v := range d.Args[1:] {
		switch {
		case contains(errLevels, v):
			if haveErr || haveDebug {
				return d.errorf("duplicate log level %q", v)
			}
			haveErr = true
		case contains(debugLevels, v):
			if haveErr {
				return d.errorf("invalid log level %q", v)
			}
			haveDebug = true
		default:
			return d.errorf("invalid log level %q", v)
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// validSessionCache reports whether v is off, none, builtin[:N] or
// shared:NAME:SIZE.
func validSessionCache(v string) bool {
	switch v {
	case "off", "none", "builtin":
		return true
	}
	if n, ok := strings.CutPrefix(v, "builtin:"); ok {
		_, ok := ParseNumber(n)
		return ok
	}
	if rest, ok := strings.CutPrefix(v, "shared:"); ok {
		name, size, ok := strings.Cut(rest, ":")
		if !ok || name == "" {
			return false
		}
		n, ok := ParseSize(size)
		return ok && n > 0
	}
	return false
}

// postCheck runs the module-specific checks nginx's post handlers do on a
// generic slot's value (the value itself already parsed).
func postCheck(d *Directive) *Error {
	size := func() int64 { n, _ := ParseSize(d.Args[0]); return n }
	switch d.Name {
	case "starttls":
		// ngx_mail_ssl_starttls sets the value with the enum setter.
		if !containsFold([]string{"off", "on", "only"}, d.Args[0]) {
			return d.errorf("invalid value %q", d.Args[0])
		}
	case "gzip_window", "gzip_hash":
		allowed, top := "512, 1k, 2k, 4k, 8k, 16k, or 32k", int64(32<<10)
		if d.Name == "gzip_hash" {
			allowed, top = "512, 1k, 2k, 4k, 8k, 16k, 32k, 64k, or 128k", 128<<10
		}
		n := size()
		if n < 512 || n > top || n&(n-1) != 0 {
			return d.errorf("%q directive must be "+allowed, d.Name)
		}
	case "connection_pool_size", "request_pool_size", "http2_pool_size":
		n := size()
		if n < 112 {
			return d.errorf("the pool size must be no less than 112")
		}
		if n%16 != 0 {
			return d.errorf("the pool size must be a multiple of 16")
		}
	case "send_lowat", "proxy_send_lowat", "fastcgi_send_lowat":
		w := d.errorf("%q is not supported, ignored", d.Name)
		w.Warn = true
		return w
	case "http2_recv_buffer_size":
		if size() <= 32 {
			return d.errorf("%q directive value is too small", d.Name)
		}
	case "http2_body_preread_size":
		if size() > 1<<31-1 {
			return d.errorf("the maximum body preread buffer size is 2147483647")
		}
	case "http2_streams_index_size":
		if n, _ := ParseNumber(d.Args[0]); n&(n-1) != 0 {
			return d.errorf("%q directive must be a power of two", d.Name)
		}
	case "proxy_cache_path", "fastcgi_cache_path", "uwsgi_cache_path", "scgi_cache_path":
		return checkCachePath(d)
	case "http2_chunk_size":
		if size() == 0 {
			return d.errorf("the http2 chunk size cannot be zero")
		}
	}
	return nil
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// bitmaskWarnings are ngx_conf_set_bitmask_slot's warnings for d: a value
// whose bit is set already, by an earlier value of d or by the same
// directive earlier in the block (before; the setter keeps the field and
// has no "is duplicate" check), each warned of, up to the first value
// that is not valid.
func bitmaskWarnings(cmd *Command, d *Directive, before []*Directive) []*Error {
	var set []string
	for _, b := range before {
		if b.Name == d.Name {
			set = append(set, b.Args...)
		}
	}
	var out []*Error
	for _, v := range d.Args {
		if !containsFold(cmd.Values, v) {
			break
		}
		if containsFold(set, v) {
			w := d.errorf("duplicate value %q", v)
			w.Warn = true
			out = append(out, w)
			continue
		}
		set = append(set, v)
	}
	return out
}
