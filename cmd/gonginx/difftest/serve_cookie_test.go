package difftest

import (
	"testing"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// proxy_cookie_domain, proxy_cookie_path and proxy_cookie_flags, nginx vs gonginx: the config's
// own server sends the Set-Cookie headers the request names (c1, c2), the proxied locations
// rewrite them.
func TestServeProxyCookie(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := serveProxyCase("proxy_cookie", `map $arg_k $c1 {
        0 "s=1; Domain=example.org; Path=/app/x";
        1 "s=1; domain=shop.com";
        2 "s=1;  Domain = other.org ;Path=/apps";
        3 "a=1; Path=/app/";
        4 "a=1; Secure; HttpOnly; SameSite=Strict";
        5 "re1=1; Secure; HttpOnly; SameSite=None; Domain=x.com";
        6 "v=1";
        7 "both=1; Secure; samesite=none";
        8 "e=; ;Path=";
        9 "s=1; Domain=a.test; Path=/a.test/q";
        10 "s=1; Domain=; Path=/p";
        11 "a=1; Domain=example.org; Path=/app/";
}
map $arg_k $c2 {
        0 "t=2;domain=.EXAMPLE.org";
        1 "s=2; Domain=.shop.com ;path=/cap/a/b";
        2 "nameonly; Domain=example.org";
        3 "A=2; secure; SameSite=lax; HttpOnly";
        4 "a=2; samesite";
        5 "rex=; secure";
        6 "w=1; SameSite=Strict";
        7 "both=2";
        8 "  x = y ; Path = /app/z ";
        9 "s=2; Path=/b";
        10 "";
        11 "re=1; Secure";
}
server {
    listen 127.0.0.1:{{PORT}};
    server_name backend;
    location / {
        add_header Set-Cookie $c1;
        add_header Set-Cookie $c2;
        return 200 "ok\n";
    }
}
server {
    listen 127.0.0.1:{{PORT}} default_server;
    server_name localhost;
    proxy_set_header Host backend;
    proxy_cookie_domain example.org .site.test;
    proxy_cookie_domain ~^(.+)\.com$ $1.net;
    proxy_cookie_path /app/ /;
    proxy_cookie_path ~*^/CAP/(.*)$ /x/$1;
    proxy_cookie_flags a secure httponly samesite=strict;
    proxy_cookie_flags ~^re nosecure nohttponly nosamesite;
    proxy_cookie_flags $arg_n samesite=lax unknown;
    proxy_cookie_flags both secure nosecure samesite=none;
    location / { proxy_pass http://127.0.0.1:{{PORT}}; }
    location /var/ {
        proxy_pass http://127.0.0.1:{{PORT}};
        proxy_cookie_domain $arg_from $arg_to;
        proxy_cookie_path $arg_from $arg_to;
    }
    location /off/ {
        proxy_pass http://127.0.0.1:{{PORT}};
        proxy_cookie_domain off;
        proxy_cookie_path off;
        proxy_cookie_flags off;
    }
}
`,
		plainGet("domain", "/?k=0"),
		plainGet("domain regex", "/?k=1"),
		plainGet("no match", "/?k=2"),
		plainGet("flags added", "/?k=3"),
		plainGet("flags kept", "/?k=4"),
		plainGet("flags removed", "/?k=5"),
		plainGet("flags from a variable, unknown flag", "/?k=6&n=v"),
		plainGet("secure and nosecure", "/?k=7"),
		plainGet("empty value and spaces", "/?k=8"),
		plainGet("variables", "/var/?k=9&from=a.test&to=b.test"),
		plainGet("variables with an empty pattern", "/var/?k=10&to=E"),
		plainGet("off", "/off/?k=11"),
	)
	harness.Compare(t, c, want, got, serveAssets(t))
}
