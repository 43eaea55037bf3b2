package nginxconf

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestReadTimeChecks: checks nginx's handlers make as they read a
// directive, so that an error in a later line comes before any error
// nginx finds once the whole file is read (messages as nginx 1.22's).
func TestReadTimeChecks(t *testing.T) {
	const http = "events {}\nhttp {\nserver {\nlisten 127.0.0.1:19020;\n"
	const stream = "load_module /usr/lib/nginx/modules/ngx_stream_module.so;\nevents {}\nstream {\nserver {\n"
	tests := []struct {
		name, conf, want string
	}{
		{"location outside", http + "location /x {\nlocation /y {}\n}\n}\n}\n", `location "/y" is outside location "/x" in D/nginx.conf:6`},
		{"location in regex outside", http + "location ~ /x {\nlocation /y {}\n}\n}\n}\n", `location "/y" is outside location "/x" in D/nginx.conf:6`},
		{"location inside exact", http + "location = /x {\nlocation /x {}\n}\n}\n}\n", `location "/x" cannot be inside the exact location "/x" in D/nginx.conf:6`},
		{"location inside named", http + "location @x {\nlocation /y {}\n}\n}\n}\n", `location "/y" cannot be inside the named location "@x" in D/nginx.conf:6`},
		{"named location nested", http + "location /x {\nlocation @y {}\n}\n}\n}\n", `named location "@y" can be on the server level only in D/nginx.conf:6`},
		{"regex location nested anywhere", http + "location /x {\nlocation ~ /y {}\nlocation /x/z {}\n}\n}\n}\n", ""},
		{"proxy_pass prefix", http + "location / {\nproxy_pass htp://a;\n}\n}\n}\n", `invalid URL prefix in D/nginx.conf:6`},
		{"proxy_pass no host", http + "location / {\nproxy_pass http://;\n}\n}\n}\n", `no host in upstream "" in D/nginx.conf:6`},
		{"proxy_pass first colon", http + "location / {\nproxy_pass http://a:80:90/x;\n}\n}\n}\n", `invalid port in upstream "a:80:90/x" in D/nginx.conf:6`},
		{"proxy_pass v6", http + "location / {\nproxy_pass http://[zz]:80;\n}\n}\n}\n", `invalid IPv6 address in upstream "[zz]:80" in D/nginx.conf:6`},
		{"proxy_pass unix", http + "location / {\nproxy_pass http://unix:;\n}\n}\n}\n", `no path in the unix domain socket in upstream "unix:" in D/nginx.conf:6`},
		{"proxy_pass variables later", http + "location / {\nproxy_pass htp://$host;\n}\n}\n}\n", ""},
		{"proxy_pass uri in regex", http + "location ~ /x {\nproxy_pass http://a/;\n}\n}\n}\n",
			`"proxy_pass" cannot have URI part in location given by regular expression, or inside named location, or inside "if" statement, or inside "limit_except" block in D/nginx.conf:6`},
		{"proxy_pass uri in limit_except", http + "location /x {\nlimit_except GET {\nproxy_pass http://a?b;\n}\n}\n}\n}\n",
			`"proxy_pass" cannot have URI part in location given by regular expression, or inside named location, or inside "if" statement, or inside "limit_except" block in D/nginx.conf:7`},
		{"proxy_pass uri in prefix inside regex", http + "location ~ /x {\nlocation /x/y {\nproxy_pass http://127.0.0.1/z;\n}\n}\n}\n}\n", ""},
		{"proxy_redirect one word", http + "location / {\nproxy_redirect a;\n}\n}\n}\n", `invalid parameter "a" in D/nginx.conf:6`},
		{"proxy_redirect default first", http + "location / {\nproxy_redirect default;\nproxy_pass http://a;\n}\n}\n}\n",
			`"proxy_redirect default" should be placed after the "proxy_pass" directive in D/nginx.conf:6`},
		{"proxy_redirect default with variables", http + "location / {\nproxy_pass http://a$uri;\nproxy_redirect default;\n}\n}\n}\n",
			`"proxy_redirect default" cannot be used with "proxy_pass" directive with variables in D/nginx.conf:7`},
		{"proxy_redirect off then more", http + "location / {\nproxy_redirect off;\nproxy_redirect a b;\n}\n}\n}\n", `"proxy_redirect" directive is duplicate in D/nginx.conf:7`},
		{"directio", http + "directio 1q;\n}\n}\n", `"directio" directive invalid value in D/nginx.conf:5`},
		{"aio on", http + "aio on;\n}\n}\n", `"aio on" is unsupported on this platform in D/nginx.conf:5`},
		{"aio bad", http + "aio sendfile;\n}\n}\n", `"aio" directive invalid value in D/nginx.conf:5`},
		{"sub_filter empty", http + "sub_filter '' x;\n}\n}\n", `empty search pattern in D/nginx.conf:5`},
		{"stream listen port", stream + "listen 127.0.0.1:99999 bogus;\nreturn x;\n}\n}\n", `invalid port in "127.0.0.1:99999" of the "listen" directive in D/nginx.conf:5`},
		{"stream listen range", stream + "listen 19093-19092;\nreturn x;\n}\n}\n", `invalid port range in "19093-19092" of the "listen" directive in D/nginx.conf:5`},
		{"stream listen no host", stream + "listen :80;\nreturn x;\n}\n}\n", `no host in ":80" of the "listen" directive in D/nginx.conf:5`},
		{"stream listen no port", stream + "listen 127.0.0.1;\nreturn x;\n}\n}\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeTree(t, map[string]string{"nginx.conf": tt.conf})
			_, err := Load(dir+"nginx.conf", Options{Prefix: dir})
			got := ""
			if err != nil {
				got = strings.ReplaceAll(err.Error(), strings.TrimSuffix(dir, "/"), "D")
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
