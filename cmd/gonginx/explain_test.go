package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestExplain: gonginx explain runs a request through the compiled
// configuration without a server and reports each decision; JSON with -J.
func TestExplain(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "html")
	os.MkdirAll(root, 0o755)
	os.WriteFile(filepath.Join(root, "index.html"), []byte("hi\n"), 0o644)
	conf := filepath.Join(dir, "nginx.conf")
	os.WriteFile(conf, []byte(`events {}
http {
    server {
        listen 127.0.0.1:18080;
        server_name example.com *.example.org;
        root `+root+`;
        rewrite ^/old/(.*)$ /new/$1 last;
        location / { try_files $uri /index.html; }
        location ~ \.php$ { return 403; }
        location /new/ {
            proxy_set_header X-Part $1;
            proxy_pass http://127.0.0.1:9/app/;
        }
    }
    server { listen 127.0.0.1:18080; server_name other.test; return 404; }
}
`), 0o644)
	steps := func(args ...string) []explainStep {
		t.Helper()
		got := runBin(t, append([]string{"explain", "-c", conf, "-J"}, args...)...)
		if got.Code != 0 {
			t.Fatalf("explain %v: %+v", args, got)
		}
		var x explanation
		if err := json.Unmarshal([]byte(got.Stdout), &x); err != nil {
			t.Fatal(err)
		}
		for i := range x.Steps {
			x.Steps[i].Detail = strings.ReplaceAll(x.Steps[i].Detail, conf, "F")
			x.Steps[i].Detail = strings.ReplaceAll(x.Steps[i].Detail, root, "ROOT")
		}
		if len(x.Response) == 0 {
			t.Fatalf("no response: %+v", x)
		}
		return append(x.Steps, explainStep{"response", x.Response[0]})
	}
	tests := []struct {
		name string
		args []string
		want []explainStep
	}{
		{"rewrite to the proxy", []string{"http://www.example.org:18080/old/page?a=1"}, []explainStep{
			{"server", `server_name example.com *.example.org (F:3): server_name, leading wildcard, matches "www.example.org"`},
			{"rewrite", `rewrite ^/old/(.*)$ /new/$1 last (F:7): matches: URI is now "/new/page", args "a=1"`},
			{"uri", `find the location of "/new/page"`},
			{"location", "location /new/ (F:10): longest prefix, kept unless a regex location matches"},
			{"location", `location ~ \.php$ (F:9): no match`},
			{"location", "chosen: location /new/ (F:10)"},
			{"content", "the backend of the location (proxy_pass, fastcgi_pass, ...)"},
			{"upstream", "http://127.0.0.1:9 would receive:\nGET /app/page?a=1 HTTP/1.0\r\nX-Part: page\r\nHost: 127.0.0.1:9\r\nConnection: close\r\n\r\n"},
			{"response", "HTTP/1.1 502 Bad Gateway"},
		}},
		{"default server, regex location", []string{"-X", "POST", "http://127.0.0.1:18080/a.php"}, []explainStep{
			{"server", `server_name example.com *.example.org (F:3): no server_name matches "127.0.0.1": the address's default server`},
			{"rewrite", `rewrite ^/old/(.*)$ /new/$1 last (F:7): no match for "/a.php"`},
			{"uri", `find the location of "/a.php"`},
			{"location", "location / (F:8): longest prefix, kept unless a regex location matches"},
			{"location", `location ~ \.php$ (F:9): matches, the first regex in order to match wins`},
			{"location", `chosen: location ~ \.php$ (F:9)`},
			{"rewrite", `return 403 (F:9): returns 403 ""`},
			{"response", "HTTP/1.1 403 Forbidden"},
		}},
		{"Host header picks the server", []string{"-H", "Host: other.test", "http://127.0.0.1:18080/"}, []explainStep{
			{"server", `server_name other.test (F:15): server_name, exact name, matches "other.test"`},
			{"rewrite", `return 404 (F:15): returns 404 ""`},
			{"response", "HTTP/1.1 404 Not Found"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := cmp.Diff(tt.want, steps(tt.args...)); d != "" {
				t.Errorf("-want +got:\n%s", d)
			}
		})
	}
	text := runBin(t, "explain", "-c", conf, "http://example.com:18080/missing")
	for _, want := range []string{"try_files  tests file \"" + root + "/missing\"", "redirect   internal redirect to \"/index.html\"", "response   HTTP/1.1 200 OK", "body       3 bytes"} {
		if !strings.Contains(text.Stdout, want) {
			t.Errorf("text output lacks %q:\n%s", want, text.Stdout)
		}
	}
	if bad := runBin(t, "explain", "-c", conf, "ftp://x/"); bad.Code != 1 || !strings.Contains(bad.Stderr, "URL must be http://") {
		t.Errorf("bad URL: %+v", bad)
	}
}
