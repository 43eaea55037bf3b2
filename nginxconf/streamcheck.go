package nginxconf

import (
	"strconv"
	"strings"
)

// The checks of mail and stream blocks once read (their servers, their
// variables), and of map entries, as their modules' handlers make them.

// mailPorts are the ports that choose a mail server's protocol when it
// has no "protocol" directive (ngx_mail_core_listen).
var mailPorts = map[string]string{
	"143": "imap", "993": "imap", "110": "pop3", "995": "pop3", "25": "smtp", "465": "smtp", "587": "smtp",
}

// checkMailServers makes the merge checks of the mail block: each server
// needs a protocol (given or chosen by a listen port), then each needs
// an auth_http of its own or of the mail block.
func checkMailServers(mail []*Directive) *Error {
	var servers []*Directive
	for _, s := range mail {
		if s.Name == "server" {
			servers = append(servers, s)
		}
	}
	where := func(s *Directive) string { return " for server in " + s.File + ":" + strconv.Itoa(s.EndLine) }
	for _, s := range servers {
		if !hasDirective(s.Block, "protocol") && !listensOnMailPort(s.Block) {
			return &Error{Msg: "unknown mail protocol" + where(s)}
		}
	}
	if err := checkSSLCerts(mail, servers); err != nil {
		return err
	}
	if hasDirective(mail, "auth_http") {
		return nil
	}
	for _, s := range servers {
		if !hasDirective(s.Block, "auth_http") {
			return &Error{Msg: `no "auth_http" is defined` + where(s)}
		}
	}
	return nil
}

func listensOnMailPort(block []*Directive) bool {
	for _, d := range block {
		if d.Name != "listen" || len(d.Args) == 0 {
			continue
		}
		a := d.Args[0]
		port := a
		if i := strings.LastIndexByte(a, ':'); i >= 0 && !strings.HasPrefix(a, "unix:") {
			port = a[i+1:]
		}
		if mailPorts[port] != "" {
			return true
		}
	}
	return false
}

// checkStreamPass checks a stream proxy_pass address as ngx_parse_url
// does when the directive is read.
func checkStreamPass(d *Directive) *Error {
	a := d.Args[0]
	if strings.Contains(a, "$") {
		return nil
	}
	// ngx_stream_upstream_add's ngx_parse_url, no URI part; a missing
	// port is the upstream init's error, once the block is read.
	if _, msg := parseUpstreamURL(a, false); msg != "" {
		return d.errorf(`%s in upstream "%s"`, msg, a)
	}
	return nil
}

// mapCheck follows the entries of a map block as ngx_http_map and
// ngx_stream_map do: parameter count, the value's variable syntax, one
// default, no key twice (exact or wildcard; regex keys are left alone).
type mapCheck struct {
	hostnames, hasDefault bool
	exact                 map[string]bool
}

func (m *mapCheck) entry(d *Directive) []*Error {
	if len(d.Args) == 0 && (d.Name == "hostnames" || d.Name == "volatile") {
		m.hostnames = m.hostnames || d.Name == "hostnames"
		return nil
	}
	if len(d.Args) != 1 {
		return []*Error{entryErr(d, "invalid number of the map parameters")}
	}
	// The value is compiled before the key is looked at.
	if msg := complexSyntax(d.Args[0]); msg != "" {
		return []*Error{entryErr(d, "%s", msg)}
	}
	key := d.Name
	switch {
	case key == "default":
		if m.hasDefault {
			return []*Error{entryErr(d, "duplicate default map parameter")}
		}
		m.hasDefault = true
		return nil
	case strings.HasPrefix(key, "~"):
		return nil
	case strings.HasPrefix(key, "\\"):
		key = key[1:]
	}
	low := strings.ToLower(key)
	if m.hostnames && strings.HasPrefix(low, ".") {
		if m.exact[low[1:]] || m.exact[low] {
			return []*Error{entryErr(d, "conflicting parameter %q", low)}
		}
		m.exact[low[1:]], m.exact[low] = true, true
		return nil
	}
	if m.exact[low] {
		return []*Error{entryErr(d, "conflicting parameter %q", low)}
	}
	m.exact[low] = true
	return nil
}

func (m *mapCheck) end(*Directive, int) *Error { return nil }

// streamGeoIPVariables are the variables of the stream geoip module,
// known when its object is loaded.
var streamGeoIPVariables = map[string]bool{
	"geoip_country_code": true, "geoip_country_code3": true, "geoip_country_name": true,
	"geoip_city_continent_code": true, "geoip_city_country_code": true, "geoip_city_country_code3": true,
	"geoip_city_country_name": true, "geoip_region": true, "geoip_region_name": true, "geoip_city": true,
	"geoip_postal_code": true, "geoip_latitude": true, "geoip_longitude": true, "geoip_dma_code": true,
	"geoip_area_code": true, "geoip_org": true,
}

// streamVariables are the variables of nginx 1.22's stream modules in
// Debian's build.
var streamVariables = map[string]bool{
	"binary_remote_addr": true, "bytes_received": true, "bytes_sent": true, "connection": true,
	"hostname": true, "msec": true, "nginx_version": true, "pid": true, "protocol": true,
	"proxy_protocol_addr": true, "proxy_protocol_port": true, "proxy_protocol_server_addr": true,
	"proxy_protocol_server_port": true, "remote_addr": true, "remote_port": true, "server_addr": true,
	"server_port": true, "session_time": true, "status": true, "time_iso8601": true, "time_local": true,
	"upstream_addr": true, "upstream_bytes_received": true, "upstream_bytes_sent": true,
	"upstream_connect_time": true, "upstream_first_byte_time": true, "upstream_session_time": true,
	"realip_remote_addr": true, "realip_remote_port": true,
	"ssl_preread_protocol": true, "ssl_preread_server_name": true, "ssl_preread_alpn_protocols": true,
	"ssl_alpn_protocol": true, "ssl_cipher": true, "ssl_ciphers": true, "ssl_client_cert": true,
	"ssl_client_escaped_cert": true, "ssl_client_fingerprint": true, "ssl_client_i_dn": true,
	"ssl_client_raw_cert": true, "ssl_client_s_dn": true, "ssl_client_serial": true,
	"ssl_client_v_end": true, "ssl_client_v_remain": true, "ssl_client_v_start": true,
	"ssl_client_verify": true, "ssl_curves": true, "ssl_protocol": true, "ssl_server_name": true,
	"ssl_session_id": true, "ssl_session_reused": true, "ssl_curve": true, "limit_conn_status": true,
}

// checkStreamVariables reports the first variable a stream{} block uses
// that no module and no set, map, geo, split_clients or named capture
// defines, as ngx_stream_variables_init_vars does (without a place).
func checkStreamVariables(stream []*Directive, geoip bool) *Error {
	defined := map[string]bool{}
	var used []string
	var walk func(block []*Directive, raw bool)
	walk = func(block []*Directive, raw bool) {
		for _, d := range block {
			switch {
			case raw:
				// A map/geo/split_clients entry: a regex key may name
				// captures; the value may use variables.
				if strings.HasPrefix(d.Name, "~") {
					for _, n := range captureNames(d.Name) {
						defined[n] = true
					}
				}
				for _, a := range d.Args {
					used = append(used, varNames(a)...)
				}
				continue
			case d.Name == "set" && len(d.Args) > 0:
				defined[strings.ToLower(strings.TrimPrefix(d.Args[0], "$"))] = true
				used = append(used, varNames(strings.Join(d.Args[1:], " "))...)
			case d.Name == "map" || d.Name == "geo" || d.Name == "split_clients":
				if len(d.Args) > 0 {
					defined[strings.ToLower(strings.TrimPrefix(d.Args[len(d.Args)-1], "$"))] = true
					for _, a := range d.Args[:len(d.Args)-1] {
						used = append(used, varNames(a)...)
					}
				}
				if d.Name != "geo" { // geo values are plain strings
					walk(d.Block, true)
				}
				continue
			default:
				for _, a := range d.Args {
					used = append(used, varNames(a)...)
				}
			}
			walk(d.Block, false)
		}
	}
	walk(stream, false)
	for _, n := range used {
		if !defined[n] && !streamVariables[n] && !(geoip && streamGeoIPVariables[n]) {
			return &Error{Msg: `unknown "` + n + `" variable`}
		}
	}
	return nil
}

// varNames lists the variable names a value refers to ($name, ${name}),
// lowercased; captures ($1) are not variables.
func varNames(v string) []string {
	var out []string
	for i := 0; i < len(v); i++ {
		if v[i] != '$' {
			continue
		}
		j := i + 1
		brace := j < len(v) && v[j] == '{'
		if brace {
			j++
		}
		k := j
		for k < len(v) && isWordByte(v[k]) {
			k++
		}
		if name := v[j:k]; name != "" && (name[0] < '0' || name[0] > '9') {
			out = append(out, strings.ToLower(name))
		}
		i = k - 1
	}
	return out
}

// captureNames lists the named captures of a regex: (?<n>, (?P<n>, (?'n'.
func captureNames(re string) []string {
	var out []string
	for _, open := range []string{"(?<", "(?P<", "(?'"} {
		for rest := re; ; {
			i := strings.Index(rest, open)
			if i < 0 {
				break
			}
			rest = rest[i+len(open):]
			j := 0
			for j < len(rest) && isWordByte(rest[j]) {
				j++
			}
			if j > 0 {
				out = append(out, strings.ToLower(rest[:j]))
			}
		}
	}
	return out
}

func isWordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
