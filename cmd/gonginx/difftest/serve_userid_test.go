package difftest

import (
	"testing"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// userid as nginx runs it: the client's cookie read ($uid_got; too short
// or invalid ones logged and ignored), sent back only to add a missing
// mark, replaced when $uid_reset asks, and a fresh uid's cookie with
// every attribute. Fresh uids hold the time, pid and a sequencer, so the
// responses carrying one are compared through a proxy that shows their
// shape only.
func TestServeUserid(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	const config = `map $upstream_http_set_cookie $cookie_shape {
    "" none;
    "~^uid=[A-Za-z0-9+/]{22}t=; expires=Thu, 31-Dec-37 23:55:55 GMT; domain=example.com; path=/p; secure; httponly; samesite=none$" fresh-max;
    "~^uid=[A-Za-z0-9+/]{22}==; path=/$" fresh;
    default "other:$upstream_http_set_cookie";
}
map $upstream_http_x_set $set_shape {
    "" none;
    "~^uid=[0-9A-F]{32}$" set;
    default "other:$upstream_http_x_set";
}
map $arg_reset $uid_reset {
    default 0;
    1 1;
    log log;
}
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    userid on;
    add_header X-Got $uid_got;
    add_header X-Set $uid_set;
    location / {
        userid_mark t;
        userid_expires max;
        userid_domain example.com;
        userid_path /p;
        userid_flags secure httponly samesite=none;
        userid_p3p 'CP="NOI"';
        return 200 "got=[$uid_got]\n";
    }
    location /plain/ {
        return 200 "got=[$uid_got]\n";
    }
    location /log/ {
        userid log;
        return 200 "got=[$uid_got] set=[$uid_set]\n";
    }
    location /off/ {
        userid off;
        return 200 "got=[$uid_got]\n";
    }
    location /v1/ {
        userid v1;
        userid_name other;
        return 200 "got=[$uid_got]\n";
    }
    location /via/ {
        userid off;
        proxy_pass http://127.0.0.1:{{PORT}}/;
        proxy_hide_header Set-Cookie;
        proxy_hide_header X-Set;
        add_header X-Cookie-Shape $cookie_shape;
        add_header X-Set-Shape $set_shape;
    }
}
`
	const uid = "CgAAAWLxR2Qk7mR3AwQFAg" // 22 characters, no mark
	req := func(target string, headers ...string) harness.Request {
		s := "GET " + target + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
		for _, h := range headers {
			s += h + "\r\n"
		}
		return harness.Request{Name: target, Send: []string{s + "\r\n"}}
	}
	c := harness.Case{
		Name:     "userid",
		Config:   config,
		ErrorLog: true,
		Requests: []harness.Request{
			req("/", "Cookie: uid="+uid+"t="),
			req("/", "Cookie: a=1; uid="+uid+"=="),
			req("/plain/", "Cookie: uid="+uid+"=="),
			req("/plain/", "Cookie: UID = "+uid),
			req("/log/", "Cookie: uid="+uid),
			req("/off/", "Cookie: uid="+uid),
			req("/v1/", "Cookie: other="+uid+"AA"),
			req("/via/", "Cookie: uid=short"),
			req("/via/", "Cookie: uid=!!!!!!!!!!!!!!!!!!!!!!!!"),
			req("/via/"),
			req("/via/plain/"),
			req("/via/log/"),
			req("/via/?reset=1", "Cookie: uid="+uid+"t="),
			req("/via/?reset=log", "Cookie: uid="+uid+"t="),
			req("/via/?reset=0", "Cookie: uid="+uid+"t="),
			// Error responses get the header filters too.
			{Name: "400 without Host", Send: []string{"GET / HTTP/1.1\r\nCookie: uid=" + uid + "==\r\n\r\n"}},
			req("/plain/missing.html", "Cookie: uid="+uid+"=="),
		},
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}
