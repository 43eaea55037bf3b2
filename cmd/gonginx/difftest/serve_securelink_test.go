package difftest

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"testing"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// secure_link as nginx checks it: "hash,expires" from a variable, the
// base64url MD5 of secure_link_md5's value (nginx's lenient decoder:
// padding, a non-canonical last character, the wrong alphabet), expiry
// ("0" when past, not found when not a number), $secure_link_expires,
// and the older secure_link_secret form over the raw request URI;
// inheritance between levels (a secret drops inherited
// secure_link/secure_link_md5 and the other way round).
func TestServeSecureLink(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	const config = `server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    secure_link $arg_md5,$arg_e;
    secure_link_md5 "$secure_link_expires$uri secret";
    location / {
        return 200 "link=[$secure_link] expires=[$secure_link_expires]\n";
    }
    location /noexp/ {
        secure_link $arg_md5;
        secure_link_md5 "$uri secret";
        return 200 "link=[$secure_link] expires=[$secure_link_expires]\n";
    }
    location /guard/ {
        if ($secure_link = "") { return 403; }
        if ($secure_link = "0") { return 410; }
        return 200 "ok\n";
    }
    location /p/ {
        secure_link_secret s3cr3t;
        if ($secure_link = "") { return 403 "no\n"; }
        return 200 "link=[$secure_link]\n";
    }
    # The variables keep their first value for the request; an internal
    # redirect forgets the expiry read (nginx's module context).
    location /redir/ {
        secure_link $arg_md5,$arg_e;
        secure_link_md5 "$uri secret";
        set $x "v:$secure_link";
        try_files /nope /final/;
    }
    location /final/ {
        secure_link $arg_other;
        secure_link_md5 other;
        return 200 "final link=[$secure_link] expires=[$secure_link_expires]\n";
    }
    location /p/inner/ {
        secure_link $arg_md5;
        return 200 "inner link=[$secure_link]\n";
    }
}
`
	sum := func(s string) string {
		h := md5.Sum([]byte(s))
		return base64.RawURLEncoding.EncodeToString(h[:])
	}
	old := func(link string) string {
		h := md5.Sum([]byte(link + "s3cr3t"))
		return hex.EncodeToString(h[:])
	}
	req := func(target string) harness.Request {
		return harness.Request{Name: target, Send: []string{"GET " + target + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"}}
	}
	good := sum("2147483647/f secret")
	past := sum("1000/f secret")
	padded := base64.URLEncoding.EncodeToString(func() []byte { h := md5.Sum([]byte("2147483647/f secret")); return h[:] }())
	var reqs []harness.Request
	for _, target := range []string{
		"/f", "/f?md5=" + good + "&e=2147483647", "/f?md5=" + good + "&e=2147483646", "/f?md5=" + past + "&e=1000",
		"/f?md5=" + padded + "&e=2147483647", "/f?md5=" + good[:21] + "x&e=2147483647", "/f?md5=" + good + "==junk&e=2147483647",
		"/f?md5=" + good + "&e=0", "/f?md5=" + good + "&e=-1", "/f?md5=" + good + "&e=", "/f?md5=" + good + "&e=1x",
		"/f?md5=" + good + "&e=99999999999999999999", "/f?md5=%2B%2F&e=5", "/f?md5=" + good + "AAAA&e=2147483647",
		"/noexp/a?md5=" + sum("/noexp/a secret"), "/noexp/a?md5=" + sum("/noexp/b secret"),
		"/guard/?md5=" + sum("2147483647/guard/ secret") + "&e=2147483647", "/guard/?md5=" + sum("1/guard/ secret") + "&e=1", "/guard/",
		"/p/" + old("file.txt") + "/file.txt", "/p/" + old("file.txt") + "/other.txt", "/p/" + old("a/b?c=1") + "/a/b?c=1",
		"/p/" + old("x") + "/", "/p/short/file.txt", "/p/inner/?md5=1",
	} {
		reqs = append(reqs, req(target))
	}
	harness.Compare(t, harness.Case{Name: "secure_link", Config: config, Requests: reqs}, want, got, serveAssets(t))
}
