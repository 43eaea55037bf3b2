package difftest

import (
	"testing"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// realip as nginx applies it: the client address taken from X-Real-IP,
// X-Forwarded-For or another header only when the peer is trusted, the
// walk right to left through trusted proxies with real_ip_recursive, and
// what follows from the new address: $remote_addr and $remote_port,
// allow/deny, $proxy_add_x_forwarded_for for the backend, the access log
// and the error log's "client:". Spoofing attempts (an untrusted peer, a
// forged left part of the list, junk items) must not change the address.
func TestServeRealIP(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	const config = `map $remote_port $rport { "" none; "~^[0-9]+$" num; default "[$remote_port]"; }
map $realip_remote_port $rrport { "~^[0-9]+$" num; default "[$realip_remote_port]"; }
log_format realip "$uri $remote_addr $rport $realip_remote_addr $rrport $status";
server {
    listen 127.0.0.1:{{PORT}};
    listen [::1]:{{PORT}};
    server_name localhost;
    access_log logs/realip.log realip;
    set_real_ip_from 127.0.0.1;
    set_real_ip_from ::1;
    real_ip_header X-Forwarded-For;
    location / {
        return 200 "addr=$remote_addr port=$rport realip=$realip_remote_addr rport=$rrport\n";
    }
    location /rec/ {
        set_real_ip_from 127.0.0.0/8;
        set_real_ip_from 10.0.0.0/8;
        set_real_ip_from 2001:db8::/32;
        set_real_ip_from ::1;
        real_ip_recursive on;
        return 200 "addr=$remote_addr port=$rport realip=$realip_remote_addr\n";
    }
    location /norec/ {
        set_real_ip_from 127.0.0.0/8;
        set_real_ip_from 10.0.0.0/8;
        return 200 "addr=$remote_addr port=$rport\n";
    }
    location /xreal/ {
        real_ip_header X-Real-IP;
        return 200 "addr=$remote_addr port=$rport\n";
    }
    location /custom/ {
        real_ip_header X-Client;
        return 200 "addr=$remote_addr port=$rport\n";
    }
    location /untrusted/ {
        set_real_ip_from 192.0.2.1;
        return 200 "addr=$remote_addr\n";
    }
    location /deny/ {
        deny 203.0.113.7;
        allow all;
        return 200 "allowed $remote_addr\n";
    }
    location /allow/ {
        allow 198.51.100.0/24;
        deny all;
        return 200 "allowed $remote_addr\n";
    }
    location /up/ {
        proxy_pass http://{{BACKEND}}/;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Real-IP $remote_addr;
    }
}
server {
    listen 127.0.0.1:{{PORT}};
    server_name sub;
    access_log logs/realip.log realip;
    # Only the auth subrequest's location trusts the peer: nginx leaves
    # the main request's address alone.
    location /main/ {
        auth_request /auth;
        return 200 "main addr=$remote_addr realip=$realip_remote_addr\n";
    }
    location = /auth {
        set_real_ip_from 127.0.0.1;
        real_ip_header X-Forwarded-For;
        empty_gif; # "return" would end it in the rewrite phase, before preaccess
    }
}
server {
    listen 127.0.0.1:{{PORT}};
    server_name postread;
    set_real_ip_from 127.0.0.1;
    real_ip_header X-Real-IP;
    # The server's settings apply at post-read, before the location's
    # (which would trust no one) are read.
    location / {
        set_real_ip_from 192.0.2.1;
        real_ip_header X-Other;
        return 200 "addr=$remote_addr\n";
    }
}
`
	get := func(target string, headers ...string) string {
		s := "GET " + target + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
		for _, h := range headers {
			s += h + "\r\n"
		}
		return s + "\r\n"
	}
	req := func(name, target string, headers ...string) harness.Request {
		return harness.Request{Name: name, Send: []string{get(target, headers...)}}
	}
	c := harness.Case{
		Name:           "realip",
		Config:         config,
		ErrorLog:       true,
		Content:        map[string]string{"logs/.keep": ""},
		AccessLogFiles: []string{"logs/realip.log"},
		Requests: []harness.Request{
			req("no header", "/"),
			req("xff one", "/", "X-Forwarded-For: 192.0.2.10"),
			req("xff with port", "/", "X-Forwarded-For: 192.0.2.10:8080"),
			req("xff list last", "/", "X-Forwarded-For: 1.1.1.1, 192.0.2.10"),
			req("xff trailing sep", "/", "X-Forwarded-For: 1.1.1.1, 192.0.2.10 ,, "),
			req("xff junk last", "/", "X-Forwarded-For: 1.1.1.1, junk"),
			req("xff ipv6", "/", "X-Forwarded-For: 2001:DB8:0:0:0:0:0:1"),
			req("xff ipv6 port", "/", "X-Forwarded-For: [2001:db8::5]:443"),
			req("xff v4 mapped", "/", "X-Forwarded-For: ::ffff:192.0.2.1"),
			req("xff v4 compat", "/", "X-Forwarded-For: ::192.0.2.1"),
			req("xff lenient v4", "/", "X-Forwarded-For: 010.1..2"),
			req("xff two lines", "/", "X-Forwarded-For: 1.1.1.1", "X-Forwarded-For: 2.2.2.2"),
			req("x-real-ip ignored", "/", "X-Real-IP: 3.3.3.3"),
			req("rec walks trusted", "/rec/", "X-Forwarded-For: 203.0.113.9, 10.1.1.1, 10.2.2.2"),
			req("rec spoofed left", "/rec/", "X-Forwarded-For: 10.9.9.9, 203.0.113.9, 10.1.1.1"),
			req("rec all trusted", "/rec/", "X-Forwarded-For: 10.9.9.9, 10.1.1.1"),
			req("rec junk in middle", "/rec/", "X-Forwarded-For: 203.0.113.9, bad, 10.1.1.1"),
			req("rec two lines", "/rec/", "X-Forwarded-For: 203.0.113.9, 10.0.0.2", "X-Forwarded-For: 10.1.1.1"),
			req("rec two lines untrusted", "/rec/", "X-Forwarded-For: 10.0.0.2", "X-Forwarded-For: 203.0.113.9, 10.1.1.1"),
			req("rec v6", "/rec/", "X-Forwarded-For: 2001:db8::1:0:0:1, 2001:db8::2"),
			req("norec takes last only", "/norec/", "X-Forwarded-For: 203.0.113.9, 10.1.1.1"),
			req("xreal", "/xreal/", "X-Real-IP: 198.51.100.4", "X-Real-IP: 198.51.100.5"),
			req("xreal port", "/xreal/", "X-Real-IP: 198.51.100.4:65535"),
			req("xreal bad port", "/xreal/", "X-Real-IP: 198.51.100.4:65536"),
			req("custom", "/custom/", "x-client: 198.51.100.6"),
			req("untrusted peer", "/untrusted/", "X-Forwarded-For: 198.51.100.6"),
			req("deny spoofed", "/deny/", "X-Forwarded-For: 203.0.113.7"),
			req("deny other", "/deny/", "X-Forwarded-For: 203.0.113.8"),
			req("allow net", "/allow/", "X-Forwarded-For: 198.51.100.77"),
			req("allow refused", "/allow/", "X-Forwarded-For: 198.51.101.77"),
			req("backend sees", "/up/x", "X-Forwarded-For: 1.1.1.1, 198.51.100.9"),
			{Name: "ipv6 peer", Send: []string{get("/", "X-Forwarded-For: 192.0.2.99")}, IPv6: true},
			{Name: "subrequest", Send: []string{"GET /main/ HTTP/1.1\r\nHost: sub\r\nConnection: close\r\nX-Forwarded-For: 192.0.2.77\r\n\r\n"}},
			{Name: "post-read", Send: []string{"GET / HTTP/1.1\r\nHost: postread\r\nConnection: close\r\nX-Real-IP: 192.0.2.55\r\n\r\n"}},
		},
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}
