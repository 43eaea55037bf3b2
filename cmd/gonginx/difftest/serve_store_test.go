package difftest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// proxy_store and proxy_store_access, nginx vs gonginx: the config's own server is the backend;
// what was stored is served back from the store (its Last-Modified is the backend's) and read
// after the run.
func TestServeProxyStore(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := serveProxyCase("proxy_store", `server {
    listen 127.0.0.1:{{PORT}};
    server_name self;
    location / { root html; }
    location /gen/ { return 200 "generated $uri\n"; }
    location /close/ { sub_filter x y; alias html/; }
}
server {
    listen 127.0.0.1:{{PORT}} default_server;
    server_name localhost;
    proxy_set_header Host self;
    location /s/ {
        root store;
        proxy_store on;
        proxy_store_access group:rw all:r;
        proxy_pass http://127.0.0.1:{{PORT}}/;
    }
    location /gen/ {
        root store;
        proxy_store on;
        proxy_pass http://127.0.0.1:{{PORT}};
    }
    location /v/ {
        proxy_store stored/var/$arg_n.txt;
        proxy_pass http://127.0.0.1:{{PORT}}/close/;
    }
    location /files/ { alias store/; }
}
`,
		plainGet("stored", "/s/a.html"),
		plainGet("stored deeper", "/s/sub/b.html"),
		plainGet("404 not stored", "/s/none.html"),
		serveRaw("HEAD not stored", "HEAD /s/c.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
		plainGet("generated", "/gen/x"),
		plainGet("variable path, close-delimited body", "/v/a.html?n=one"),
		plainGet("read back", "/files/s/a.html"),
		plainGet("read back deeper", "/files/s/sub/b.html"),
		plainGet("not there", "/files/s/none.html"),
		plainGet("HEAD's not there", "/files/s/c.html"),
	)
	c.Content = map[string]string{"html/a.html": "A page\n", "html/sub/b.html": "B page\n", "html/c.html": "C page\n"}
	// Files stored without a Last-Modified have the time of the run: read after it.
	c.AccessLogFiles = []string{"store/s/a.html", "store/gen/x", "stored/var/one.txt"}
	c.Setup = func(dir string) error {
		// Where the workers (nobody) may make files and directories.
		for _, d := range []string{"store", "stored"} {
			if err := os.Mkdir(filepath.Join(dir, d), 0o777); err != nil {
				return err
			}
			if err := os.Chmod(filepath.Join(dir, d), 0o777); err != nil {
				return err
			}
		}
		return nil
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}
