package location

import "testing"

// realip walking X-Forwarded-For, then allow/deny and $remote_addr on the
// address it took: the address text is reused while it repeats.
func BenchmarkServeRealIP(b *testing.B) {
	benchServe(b, `server { listen 127.0.0.1:19300; set_real_ip_from 127.0.0.0/8; set_real_ip_from 10.0.0.0/8;
		real_ip_header X-Forwarded-For; real_ip_recursive on; deny 192.0.2.1; allow all;
		location / { return 200 "$remote_addr $remote_port $realip_remote_addr"; } }`,
		"GET /x HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 198.51.100.7, 10.1.1.1, 10.2.2.2\r\n\r\n", nil)
}

// $invalid_referer through exact, wildcard and regex entries.
func BenchmarkServeReferer(b *testing.B) {
	benchServe(b, `server { listen 127.0.0.1:19300; server_name a;
		location / { valid_referers none blocked server_names exact.test *.head.test www.tail.* ~\.example\.org/;
		if ($invalid_referer) { return 403; } return 200 "ok"; } }`,
		"GET /x HTTP/1.1\r\nHost: a\r\nReferer: http://www.Example.org/page\r\n\r\n", nil)
}

// $secure_link with an expiry.
func BenchmarkServeSecureLink(b *testing.B) {
	benchServe(b, `server { listen 127.0.0.1:19300; secure_link $arg_md5,$arg_e; secure_link_md5 "$secure_link_expires$uri secret";
		location / { return 200 "$secure_link $secure_link_expires"; } }`,
		"GET /f?md5=AAAAAAAAAAAAAAAAAAAAAA&e=2147483647 HTTP/1.1\r\nHost: a\r\n\r\n", nil)
}

// The userid filter re-marking a client's cookie, and making new ones.
func BenchmarkServeUserid(b *testing.B) {
	b.Run("re-mark", func(b *testing.B) {
		benchServe(b, `server { listen 127.0.0.1:19300; userid on; userid_mark t; userid_p3p 'CP="x"';
			location / { return 200 "$uid_got $uid_set"; } }`,
			"GET /x HTTP/1.1\r\nHost: a\r\nCookie: a=1; uid=CgAAAWLxR2Qk7mR3AwQFAg==\r\n\r\n", nil)
	})
	b.Run("new", func(b *testing.B) {
		benchServe(b, `server { listen 127.0.0.1:19300; userid on; userid_expires 1d;
			location / { return 200 "$uid_set"; } }`,
			"GET /x HTTP/1.1\r\nHost: a\r\n\r\n", nil)
	})
}
