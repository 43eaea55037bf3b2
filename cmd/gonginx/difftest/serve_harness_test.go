package difftest

import (
	"strings"
	"testing"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// The harness itself, checked against real nginx alone: the same config twice must compare
// equal, and a config that differs in what clients or the backend see must show a difference.
func TestServeHarnessSelfCheck(t *testing.T) {
	t.Parallel()
	nginx := serveNginx(t)
	const base = `server {
    listen 127.0.0.1:{{PORT}} ssl;
    server_name www.my-api.com;
    ssl_certificate {{CERT}};
    ssl_certificate_key {{KEY}};
    location / { try_files $uri /index.html; }
    location ^~ /api/ {
        proxy_pass http://{{BACKEND}}/up/;
        proxy_http_version 1.1;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection "upgrade";
    }
}
`
	requests := []harness.Request{
		serveGet("static", "/"),
		serveGet("missing", "/nope"),
		serveGet("proxied", "/api/x?y=1"),
		serveRaw("bad", "GET / HTTP/1.1\r\n\r\n"),
		{Name: "ws", Send: []string{serveUpgrade("/api/chat")}, WS: serveFrames()},
	}
	c := harness.Case{Name: "self", Config: base, Files: serveArticleFiles, TLS: true, SNI: serveHost, Requests: requests}

	same, err := harness.Diffs(c, nginx, nginx, serveAssets(t))
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range same {
		if d != "" {
			t.Errorf("nginx vs nginx, same config, request %q differs:\n%s", requests[i].Name, d)
		}
	}

	// Each change is visible to exactly one observer: a response header, the static body, the
	// backend's request line, a request header, the tunnel.
	changed := strings.NewReplacer(
		"location / {", "location / { add_header X-Changed 1;",
		"/up/;", "/other/;",
	).Replace(base)
	other := c
	other.Config = changed
	other.Content = map[string]string{"html/index.html": "different page\n"}
	diffs, err := harness.Diffs(c, nginx, harness.Impl{Name: "nginx-changed", Bin: nginx.Bin, Nginx: true, Override: &other}, serveAssets(t))
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{true, true, true, false, true} {
		if got := diffs[i] != ""; got != want {
			t.Errorf("nginx vs changed nginx, request %q: diff reported = %v, want %v\n%s", requests[i].Name, got, want, diffs[i])
		}
	}
}
