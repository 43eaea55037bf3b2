package nginxconf

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPolicyNamesAreDirectives(t *testing.T) {
	for _, set := range []map[string]bool{served, tuning} {
		for n := range set {
			if Lookup(n) == nil {
				t.Errorf("policy names unknown directive %q", n)
			}
		}
	}
	for n := range defaults {
		if Lookup(n) == nil || PolicyOf(n) != Refuse {
			t.Errorf("defaults names %q, which is not a refused directive", n)
		}
	}
}

func TestPolicyOf(t *testing.T) {
	want := map[string]Policy{
		"proxy_pass": Served, "rewrite": Served, "allow": Served, "listen": Served,
		"proxy_buffers": Tuning, "fastcgi_read_timeout": Served, "fastcgi_buffers": Tuning, "fastcgi_cache": Served, "fastcgi_cache_key": Served, "gzip_comp_level": Served,
		"gzip_types": Served, "gzip_window": Tuning, "postpone_gzipping": Tuning, "fastcgi_param": Served, "sendfile": Tuning, "worker_priority": Served, "worker_cpu_affinity": Tuning, "worker_rlimit_nofile": Served, "user": Served,
		"gzip": Served, "gzip_static": Served, "gunzip": Served, "fastcgi_pass": Served, "add_header": Served, "expires": Served, "add_trailer": Served, "sub_filter": Served, "sub_filter_types": Served, "xslt_stylesheet": Refuse,
		"auth_basic": Served, "limit_req": Served, "limit_conn": Served, "proxy_method": Served, "proxy_cache": Served, "proxy_cache_background_update": Served,
		"ssl_verify_client": Served, "ssl_crl": Served, "ssl_verify_depth": Served, "ssl_ocsp": Served, "limit_except": Served, "stream": Served, "resolver": Served,
		"ssl": Served, "ssl_reject_handshake": Served, "ssl_prefer_server_ciphers": Served,
		"ssl_ecdh_curve": Served, "ssl_session_tickets": Served, "ssl_password_file": Served,
		"ssl_client_certificate": Served, "ssl_stapling": Served, "ssl_stapling_file": Served, "ssl_conf_command": Served,
		"ssl_session_cache": Served, "ssl_early_data": Tuning, "ssl_dhparam": Tuning,
	}
	got := map[string]Policy{}
	for n := range want {
		got[n] = PolicyOf(n)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("PolicyOf (-want +got):\n%s", d)
	}
}

func TestServable(t *testing.T) {
	tests := []struct {
		name, conf string
		tuning     []string
		err        string
	}{
		{"served and tuning", "events {} http { sendfile on; server { listen 80; location / { proxy_pass http://a; proxy_buffers 4 8k; } } }",
			[]string{"sendfile", "proxy_buffers"}, ""},
		{"default values change nothing", "http { gzip off; satisfy all; server { autoindex off; proxy_next_upstream error timeout; } }",
			nil, ""},
		{"refused, with its place", "http {\n server {\n  xslt_stylesheet x.xsl;\n }\n}", nil,
			`"xslt_stylesheet" directive is not supported by gonginx in t.conf:3`},
		{"inside if", "http { server { location / { if ($x) { sendfile on; } } } }", []string{"sendfile"}, ""},
		{"data blocks are not directives", "http { types { add_header x; } map $a $b { gzip 1; } }", nil, ""},
		{"stream served", "stream { upstream u { server a:1; least_conn; } server { listen 1 udp; proxy_pass u; tcp_nodelay on; } }",
			[]string{"tcp_nodelay"}, ""},
		{"stream serves geoip", "stream { geoip_country a; geoip_city b utf8; geoip_org c; server {\n listen 1; } }", nil, ""},
		{"an http name refused in stream", "stream { server {\n listen 1;\n proxy_set_header a b; } }", nil,
			`"proxy_set_header" directive is not supported by gonginx in t.conf:3`},
		{"mail served", "mail { auth_http a:1; ssl_dhparam d.pem; server { listen 1 ssl proxy_protocol; protocol smtp; resolver 127.0.0.1; xclient off; } }",
			[]string{"ssl_dhparam"}, ""},
		{"an http name refused in mail", "mail { server {\n listen 1;\n protocol imap;\n proxy_pass a; } }", nil,
			`"proxy_pass" directive is not supported by gonginx in t.conf:4`},
		{"PROXY protocol is served", "http { server { listen 80 proxy_protocol; real_ip_header proxy_protocol; } }", nil, ""},
		{"plain http2", "http { server { listen 80 http2; listen 443 ssl http2; } }", nil, ""},
		{"syslog", "error_log syslog:server=127.0.0.1; http { access_log syslog:server=127.0.0.1; }", nil, ""},
		{"gzip log", "http { access_log /x combined gzip=4; }", nil, ""},
		{"memory log", "error_log memory:1m; http { error_log memory:2m; }", []string{"error_log memory:"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse("t.conf", []byte(tt.conf), Options{})
			if err != nil {
				t.Fatal(err)
			}
			tuningMet, err := Servable(f.Tree)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if d := cmp.Diff(tt.err, gotErr); d != "" {
				t.Errorf("error (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tt.tuning, tuningMet); err == nil && d != "" {
				t.Errorf("tuning (-want +got):\n%s", d)
			}
		})
	}
}

func TestNotServedIsSortedAndDisjoint(t *testing.T) {
	refused, tuningOnly := NotServed()
	seen := map[string]bool{}
	for _, list := range [][]string{refused, tuningOnly} {
		for i, n := range list {
			if seen[n] || PolicyOf(n) == Served || (i > 0 && list[i-1] >= n) {
				t.Errorf("NotServed lists %q wrongly", n)
			}
			seen[n] = true
		}
	}
	if len(refused) == 0 || len(tuningOnly) == 0 {
		t.Fatal("NotServed lists nothing")
	}
}
