package difftest

import (
	"testing"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// proxy_bind, nginx vs gonginx: the config's own server tells the address the proxied
// connection came from. An address that is not an address is logged and not bound; one that
// cannot be bound ends the request with 500, logged at crit.
func TestServeProxyBind(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := serveProxyCase("proxy_bind", `server {
    listen 127.0.0.1:{{PORT}};
    server_name self;
    location / { return 200 "from $remote_addr\n"; }
}
server {
    listen 127.0.0.1:{{PORT}} default_server;
    server_name localhost;
    proxy_set_header Host self;
    proxy_bind 127.0.0.2;
    location / { proxy_pass http://127.0.0.1:{{PORT}}; }
    location /own/ { proxy_bind 127.0.0.3; proxy_pass http://127.0.0.1:{{PORT}}; }
    location /off/ { proxy_bind off; proxy_pass http://127.0.0.1:{{PORT}}; }
    location /var/ { proxy_bind $arg_b; proxy_pass http://127.0.0.1:{{PORT}}; }
    location /fcgi/ { fastcgi_bind 127.0.0.4; fastcgi_pass 127.0.0.1:{{PORT}}; }
}
`,
		plainGet("inherited", "/x"),
		plainGet("own", "/own/x"),
		plainGet("off", "/off/x"),
		plainGet("variable", "/var/x?b=127.0.0.5"),
		plainGet("variable with a port 0", "/var/x?b=127.0.0.6:0"),
		plainGet("empty variable", "/var/x"),
		plainGet("not an address", "/var/x?b=localhost"),
		plainGet("an address that cannot be bound", "/var/x?b=192.0.2.1"),
	)
	c.ErrorLog = true
	harness.Compare(t, c, want, got, serveAssets(t))
}
