package difftest

import (
	"testing"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// Serving differences found by running configurations from public
// repositories under both servers, each reduced to the lines that show it.

// try_files is not inherited (ngx_http_try_files_module has no merge): a
// server-level try_files, as Rails and Redmine deployments write it,
// serves only requests no location matches; the named location it falls
// back to proxies without trying again, and a prefix location serves
// without trying at all. gonginx inherited it, so the named location
// tried again without end (stack overflow, the whole process gone).
func TestServeTryFilesNotInherited(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{
		Name: "try_files not inherited",
		Config: `server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    try_files $uri/index.html $uri @app;
    location /static/ { }
    location @app { proxy_pass http://{{BACKEND}}; }
}
`,
		Requests: []harness.Request{
			plainGet("a missing file goes to the named location once", "/users/1?x=y"),
			plainGet("a prefix location does not try", "/static/missing.css"),
		},
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// A proxy_pass URL with variables whose URI part is only arguments gets
// a "/" (ngx_http_proxy_eval), as Laravel Octane's published site writes
// "proxy_pass http://octane$suffix" with $suffix "?$query_string".
func TestServeProxyPassArgsOnlyURI(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{
		Name: "proxy_pass arguments-only URI",
		Config: `server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    location / {
        set $suffix "";
        if ($arg_a) { set $suffix ?$query_string; }
        proxy_pass http://{{BACKEND}}$suffix;
    }
}
`,
		Requests: []harness.Request{
			plainGet("arguments only", "/index.php?a=b"),
			plainGet("no arguments", "/index.php"),
		},
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}
