package difftest

import (
	"testing"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// The browser module: $modern_browser and $ancient_browser by
// modern_browser (each browser's mark and version, Opera unreachable
// unless named, "unlisted"), ancient_browser (substrings, netscape4), the
// values, inheritance of each list as a whole, the value kept across an
// internal redirect, and nginx's own quirk: a list written at the http
// level is never prepared, so it reads a version at the browser's index
// into the User-Agent (every usual client comes out ancient).
func TestServeBrowser(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	const show = `"m=[$modern_browser] a=[$ancient_browser] msie=[$msie]\n"`
	const config = `
modern_browser gecko 1.0;
modern_browser msie 6.0;
ancient_browser Lynx netscape4;
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    location /http/ { return 200 ` + show + `; }
    location /own/ {
        modern_browser opera 9.0;
        modern_browser safari 400;
        modern_browser konqueror 3.4.1;
        modern_browser_value "yes";
        ancient_browser_value "old";
        return 200 ` + show + `;
    }
    location /unlisted/ {
        modern_browser unlisted;
        return 200 ` + show + `;
    }
    location /mixed/ {
        modern_browser MSIE 5.5;
        modern_browser gecko 0.9.1;
        modern_browser gecko 2;
        modern_browser unlisted;
        ancient_browser Chrome "Firefox/1";
        location /mixed/inner/ {
            ancient_browser_value inner-old;
            return 200 ` + show + `;
        }
        return 200 ` + show + `;
    }
    location /redir/ {
        modern_browser unlisted;
        set $x $modern_browser;
        try_files /nope /final/;
    }
    location /final/ {
        return 200 ` + show + `;
    }
    location /if/ {
        modern_browser msie 7;
        modern_browser unlisted;
        if ($ancient_browser) {
            return 403;
        }
        return 200 "modern\n";
    }
}
server {
    listen 127.0.0.1:{{PORT}};
    server_name srv;
    modern_browser gecko 1.0;
    modern_browser msie 6.0;
    ancient_browser_value ancient;
    location / { return 200 ` + show + `; }
    location /ancient/ {
        ancient_browser netscape4;
        return 200 ` + show + `;
    }
}
`
	uas := []string{
		"\x00", "",
		"Mozilla/5.0 (X11; U; Linux i686; en-US; rv:1.0.0) Gecko/20020610",
		"Mozilla/5.0 (X11; rv:0.9) Gecko", "Mozilla/5.0 (X11; rv:0.9.1) Gecko", "Mozilla/5.0 (X11; rv:0.9.2) Gecko",
		"Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)", "Mozilla/4.0 (compatible; MSIE 5.5; Windows NT 5.1)",
		"Mozilla/4.0 (compatible; MSIE 7.0b; Windows NT 6.0)", "Mozilla/4.0 (compatible; MSIE 10)",
		"Lynx/2.8.9rel.1 libwww-FM/2.14", "Mozilla/4.72 [en] (X11; U; Linux 2.2.14 i686)", "Mozilla/4.7",
		"Opera/9.01 (X11; FreeBSD 6 i386; U; en)", "Opera/8.5 (X11; Linux i686; U; en)",
		"Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.0; en) Opera 8.0",
		"Mozilla/5.0 (Macintosh; U; PPC Mac OS X; en) AppleWebKit/418 (KHTML, like Gecko) Safari/417.9.3",
		"Mozilla/5.0 (compatible; Konqueror/3.5; FreeBSD) KHTML/3.5.1 (like Gecko)",
		"Mozilla/5.0 (compatible; Konqueror/3.4.1; Linux)", "Mozilla/5.0 (compatible; Konqueror/3.4; Linux)",
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
		"Mozilla/5.0 (Windows NT 10.0; rv:120.0) Gecko/20100101 Firefox/120.0",
		"Mozilla/5.0 (Windows; U; rv:1.8) Gecko Firefox/1.5",
		"curl/8.1", "123456789", "1.2.3.4.5", "xx9999", "xxx.5", "MSIE", "Mozilla/4.0 (compatible; MSIE ",
		"Mozilla/5.0 (rv:99999999999999999999)", "Mozilla/5.0 (rv:1.99.99.99.99)",
	}
	var reqs []harness.Request
	for _, host := range []string{"localhost", "srv"} {
		paths := []string{"/http/", "/own/", "/unlisted/", "/mixed/", "/mixed/inner/", "/redir/", "/if/"}
		if host == "srv" {
			paths = []string{"/", "/ancient/"}
		}
		for _, p := range paths {
			for _, ua := range uas {
				s := "GET " + p + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n"
				if ua != "\x00" {
					s += "User-Agent: " + ua + "\r\n"
				}
				reqs = append(reqs, harness.Request{Name: host + p + " " + ua, Send: []string{s + "\r\n"}})
			}
		}
	}
	// Only the first User-Agent line counts.
	reqs = append(reqs, harness.Request{Name: "two user-agents", Send: []string{"GET /own/ HTTP/1.1\r\nHost: localhost\r\n" +
		"Connection: close\r\nUser-Agent: curl/8\r\nUser-Agent: Opera/9.5\r\n\r\n"}})
	harness.Compare(t, harness.Case{Name: "browser", Config: config, Requests: reqs}, want, got, serveAssets(t))
}
