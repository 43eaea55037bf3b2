package difftest

import (
	"strings"
	"testing"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// TestServeAttackRegexMatchLimit: a client's URI that sends a PCRE-only pattern (a lookahead:
// gonginx's backtracking engine) into catastrophic backtracking. PCRE stops at its match limit
// and nginx answers 500 for a location regex, a rewrite and an if, logging the alert
// `pcre2_match() failed: -47 on "URI" using "PATTERN"`; a map falls back to its default.
// A prefix match and the error_page of the 500 are compared too.
func TestServeAttackRegexMatchLimit(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	bomb := strings.Repeat("a", 40) + "b"
	c := serveProxyCase("regex match limit", `log_format plain "$request $status $body_bytes_sent $server_name";
map $uri $m { ~^/m/(?=a)(a+)+$ matched; ~^/m/ second; default def; }
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    error_log stderr info;
    access_log access.log plain;
    error_page 500 /err;
    location = /err { internal; return 500 "custom 500 uri=$uri\n"; }
    location ~ ^/l/(?=a)(a+)+$ { return 200 "loc\n"; }
    location /p/ {
        location ~ ^/p/(?=a)(a+)+$ { return 200 "inner\n"; }
        return 200 "p prefix\n";
    }
    location /r/ { rewrite ^/r/(?=a)(a+)+$ /x last; return 200 "r nomatch\n"; }
    location /i/ { if ($uri ~ ^/i/(?=a)(a+)+$) { return 200 "if\n"; } return 200 "i nomatch\n"; }
    location /m/ { return 200 "m=$m\n"; }
    location /x { return 200 "x\n"; }
    location / { return 200 "fallback\n"; }
}
server {
    listen 127.0.0.1:{{PORT}};
    server_name ~^(?=a)(a+)+$;
    location / { return 200 "regex server\n"; }
}
`,
		plainGet("location regex", "/l/"+bomb),
		plainGet("location regex matches", "/l/aaa"),
		plainGet("nested location regex", "/p/"+bomb),
		plainGet("rewrite", "/r/"+bomb),
		plainGet("rewrite matches", "/r/aa"),
		plainGet("if", "/i/"+bomb),
		plainGet("if matches", "/i/aa"),
		// A server_name regex at the limit: the request is closed, 500 in
		// the default server's log.
		serveRaw("server_name regex", "GET /s HTTP/1.1\r\nHost: "+bomb+"\r\nConnection: close\r\n\r\n"),
		serveRaw("server_name regex matches", "GET /s HTTP/1.1\r\nHost: aaa\r\nConnection: close\r\n\r\n"),
	)
	c.AccessLogFiles = []string{"access.log"}
	c.ErrorLog = true
	harness.Compare(t, c, want, got, serveAssets(t))
	// The map's alert names its pattern from memory nginx freed after the
	// map block (NULs here, anything elsewhere): compared without the log;
	// gonginx names the pattern (rewrite TestMapRegexMatchLimit).
	m := serveProxyCase("regex match limit map", strings.Replace(c.Config, "error_log stderr info;", "", 1),
		plainGet("map", "/m/"+bomb), plainGet("map matches", "/m/aa"))
	harness.Compare(t, m, want, got, serveAssets(t))
}
