package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestTestAwayFromServer: -t on a checkout. --map reads /etc/nginx from
// ./nginx (includes by absolute path, certificates); without --lenient
// what only the server has fails as nginx -t fails; with it, a missing
// include, certificate or key and a host name that does not resolve here
// are warnings, and --format github names the checkout's files.
func TestTestAwayFromServer(t *testing.T) {
	repo := t.TempDir()
	write := func(rel, text string) {
		p := filepath.Join(repo, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("nginx/nginx.conf", "events {}\nhttp {\n    include /etc/nginx/conf.d/*.conf;\n    include /etc/nginx/snippets/missing.conf;\n}\n")
	write("nginx/conf.d/app.conf", `upstream app { server gonginx-test-backend:8080; }
server {
    listen 127.0.0.1:1 ssl;
    ssl_certificate /etc/nginx/tls/cert.pem;
    ssl_certificate_key /etc/letsencrypt/live/x/privkey.pem;
    location / { proxy_pass http://app; }
}
`)
	write("nginx/tls/cert.pem", "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n")
	run := func(args ...string) result {
		t.Helper()
		return runBinIn(t, repo, append([]string{"-t", "-c", "nginx/nginx.conf", "--map", "/etc/nginx=./nginx"}, args...)...)
	}
	strict := run()
	if strict.Code != 1 || !strings.Contains(strict.Stderr, "[emerg] ") {
		t.Errorf("--map alone must fail as nginx -t: %+v", strict)
	}
	lenient := run("--lenient", "-q")
	want := []string{
		`gonginx: [warn] open() "/etc/nginx/snippets/missing.conf" failed (2: No such file or directory), taken as empty (--lenient) in /etc/nginx/nginx.conf:4`,
		`gonginx: [warn] cannot load certificate key "/etc/letsencrypt/live/x/privkey.pem" (2: No such file or directory), not checked (--lenient) in /etc/nginx/conf.d/app.conf:5`,
		`gonginx: [warn] host "gonginx-test-backend" not found here, taken as 127.0.0.1 (--lenient)`,
	}
	if d := cmp.Diff(want, strings.Split(strings.TrimSpace(lenient.Stderr), "\n")); d != "" || lenient.Code != 0 {
		t.Errorf("--lenient (exit %d) -want +got:\n%s", lenient.Code, d)
	}
	gh := run("--lenient", "-q", "--format", "github")
	if !strings.Contains(gh.Stdout, "::warning file=nginx/conf.d/app.conf,line=5,title=gonginx nginx-t::cannot load certificate key") {
		t.Errorf("github annotations do not name the checkout's file:\n%s", gh.Stdout)
	}
}
