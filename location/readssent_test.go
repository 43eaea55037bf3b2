package location

import "testing"

// A configuration keeps each written head for $sent_http_* only when
// something can read it: a name of the configuration (log_format,
// add_header, map, if, set...) or ssi, which looks names up as it
// filters a page.
func TestRouterReadsSent(t *testing.T) {
	srv := func(loc string) string {
		return "server { listen 127.0.0.1:8080; location / { " + loc + " } }"
	}
	tests := []struct {
		name, conf string
		want       bool
	}{
		{"none", srv("return 200;"), false},
		{"other variables", `log_format f "$status $sent_trailer_x $upstream_http_x";` + srv(`access_log off; add_header X $http_x;`), false},
		{"ssi off", srv("ssi off;"), false},
		{"log_format", `log_format f "$sent_http_x_a";` + srv(""), true},
		{"named one", `log_format f "$sent_http_content_type";` + srv(""), true},
		{"add_header", srv("add_header X $sent_http_location;"), true},
		{"map source", `map $sent_http_x $m { default 1; }` + srv(""), true},
		{"if", srv(`if ($sent_http_x) { return 204; }`), true},
		{"ssi on", srv("ssi on;"), true},
		{"ssi on in if", srv(`if ($arg_a) { ssi on; }`), true},
	}
	for _, tt := range tests {
		if got := compileConf(t, tt.conf).readsSent; got != tt.want {
			t.Errorf("%s: readsSent = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// A backend's head is copied whole for $upstream_http_* and
// $upstream_cookie_* only when something can read them: a name of the
// configuration or ssi.
func TestRouterReadsUpstream(t *testing.T) {
	srv := func(loc string) string {
		return "server { listen 127.0.0.1:8080; location / { " + loc + " } }"
	}
	tests := []struct {
		name, conf string
		want       bool
	}{
		{"none", srv("proxy_pass http://127.0.0.1:9;"), false},
		{"other variables", `log_format f "$sent_http_x $upstream_status $upstream_trailer_x";` + srv(`access_log off;`), false},
		{"ssi off", srv("ssi off;"), false},
		{"log_format", `log_format f "$upstream_http_x_a";` + srv(""), true},
		{"cookie", srv("add_header X $upstream_cookie_a;"), true},
		{"map source", `map $upstream_http_x $m { default 1; }` + srv(""), true},
		{"proxy_set_header", srv("proxy_pass http://127.0.0.1:9; proxy_set_header X $upstream_http_x;"), true},
		{"ssi on", srv("ssi on;"), true},
	}
	for _, tt := range tests {
		if got := compileConf(t, tt.conf).readsUpstream; got != tt.want {
			t.Errorf("%s: readsUpstream = %v, want %v", tt.name, got, tt.want)
		}
	}
}
