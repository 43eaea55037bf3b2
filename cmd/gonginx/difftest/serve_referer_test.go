package difftest

import (
	"testing"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// valid_referers and $invalid_referer as nginx computes them: none,
// blocked, server_names (with a regex name), exact names with a URI
// prefix, head and tail wildcards through nginx's wildcard hash, ~regexes
// against the referer without its scheme, inheritance (a level's own
// list replaces its parent's names but inherits its regexes), and a
// server's list inherited by its locations.
func TestServeReferer(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	const config = `server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost www.site.test ~^re\d+\.site\.test$ *.star.test;
    location / {
        valid_referers none blocked server_names exact.test exact.test:8080
            other.test/gallery/ .dot.test *.head.test www.tail.* a.b.c.*
            *.x.head.test ~\.example\.org/pics;
        return 200 "invalid=[$invalid_referer]\n";
    }
    location /nested/ {
        location /nested/own/ {
            valid_referers only.test;
            return 200 "own invalid=[$invalid_referer]\n";
        }
        return 200 "nested invalid=[$invalid_referer]\n";
    }
    location /regexonly/ {
        valid_referers ~^good\.;
        location /regexonly/inner/ {
            valid_referers inner.test;
            return 200 "inner invalid=[$invalid_referer]\n";
        }
        return 200 "regexonly invalid=[$invalid_referer]\n";
    }
    # $invalid_referer keeps its first value for the request.
    location /refredir/ {
        valid_referers good.test;
        set $x "v:$invalid_referer";
        try_files /nope /reffinal/;
    }
    location /reffinal/ {
        valid_referers bad.test;
        return 200 "final invalid=[$invalid_referer]\n";
    }
    location /deny/ {
        valid_referers server_names;
        if ($invalid_referer) {
            return 403;
        }
        return 200 "ok\n";
    }
}
server {
    listen 127.0.0.1:{{PORT}};
    server_name httplevel;
    valid_referers none http-level.example.com ~\.httpre\.;
    location / {
        return 200 "http-level invalid=[$invalid_referer]\n";
    }
}
`
	req := func(target, ref string) harness.Request {
		s := "GET " + target + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
		if ref != "\x00" {
			s += "Referer: " + ref + "\r\n"
		}
		return harness.Request{Name: target + " " + ref, Send: []string{s + "\r\n"}}
	}
	var reqs []harness.Request
	for _, ref := range []string{
		"\x00", "", "junk", "http://i.r", "ftp://exact.test/", "http://exact.test", "HTTPS://EXACT.TEST/x",
		"http://exact.test:8080/", "http://exact.testx/", "http://other.test/", "http://other.test/gallery/1",
		"http://other.test:81/gallery/", "http://other.test/Gallery/", "http://dot.test/", "http://a.dot.test/",
		"http://head.test/", "http://a.head.test", "http://a.b.head.test/", "http://x.head.test/", "http://a.x.head.test/",
		"http://www.tail.com/", "http://www.tail/", "http://www.tail.co.uk/", "http://a.b.c.d/", "http://a.b.c/",
		"http://localhost/", "http://www.site.test/", "http://re12.site.test/", "http://re.site.test/",
		"http://a.star.test/", "http://star.test/", "http://www.example.org/pics/1", "http://www.EXAMPLE.org/PICS",
		"http://" + string(make([]byte, 0)) + "/", "http://:80/", "http://" + repeat("a", 256) + "/",
		"http://" + repeat("a", 255) + "/", "http://http-level.example.com/", "http://x.httpre.y/",
	} {
		reqs = append(reqs, req("/", ref))
	}
	for _, r := range [][2]string{
		{"/nested/", "http://exact.test/"}, {"/nested/own/", "http://exact.test/"}, {"/nested/own/", "http://only.test/"},
		{"/nested/own/", "http://www.example.org/pics"}, {"/nested/own/", "\x00"},
		{"/regexonly/", "http://good.test/"}, {"/regexonly/", "http://bad.test/"}, {"/regexonly/", "\x00"},
		{"/regexonly/inner/", "http://good.test/"}, {"/regexonly/inner/", "http://inner.test/"},
		{"/refredir/", "http://good.test/"}, {"/refredir/", "http://bad.test/"}, {"/reffinal/", "http://bad.test/"},
		{"/deny/", "http://localhost/"}, {"/deny/", "http://evil.test/"}, {"/deny/", "\x00"},
	} {
		reqs = append(reqs, req(r[0], r[1]))
	}
	for _, ref := range []string{"\x00", "http://http-level.example.com/", "http://x.httpre.y/", "http://other/"} {
		r := req("/", ref)
		r.Send[0] = "GET / HTTP/1.1\r\nHost: httplevel\r\nConnection: close\r\n" + r.Send[0][len("GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"):]
		r.Name = "httplevel " + ref
		reqs = append(reqs, r)
	}
	harness.Compare(t, harness.Case{Name: "referer", Config: config, Requests: reqs}, want, got, serveAssets(t))
}

func repeat(s string, n int) string {
	b := make([]byte, 0, len(s)*n)
	for i := 0; i < n; i++ {
		b = append(b, s...)
	}
	return string(b)
}
