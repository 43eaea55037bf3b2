package difftest

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const procLimitConnConf = `daemon off;
worker_processes 2;
error_log DIR/error.log info;
pid DIR/nginx.pid;
events {}
http {
    access_log off;
    limit_req_zone $binary_remote_addr zone=re2:32k rate=1r/m;
    limit_conn_zone $binary_remote_addr$arg_c zone=conn:32k;
    server {
        listen 127.0.0.1:PORT;
        server_name x;
        root DIR/html;
        add_header X-LC "[$limit_conn_status]" always;
        location / { limit_conn conn 1; }
        location /dry { limit_conn conn 1; limit_conn_dry_run on; limit_conn_log_level warn; }
        location /probe { limit_conn conn 1; }
        location /w { limit_conn conn 1; proxy_pass http://127.0.0.1:PORT/req2; }
        location /req2 { limit_req zone=re2 burst=2; }
    }
}
`

// TestProcessLimitConnShared: limit_conn counts a request in progress in
// memory both workers share, until it ends. A request held by a proxied
// subrequest that limit_req delays counts against its key: another
// request of the key is refused (503, "limiting connections"), one of
// another key is not, a dry run only logs; when the held client goes
// away its count goes too.
func TestProcessLimitConnShared(t *testing.T) {
	requireRoot(t)
	keep := regexp.MustCompile(`limiting connections`)
	got := map[string][]string{}
	for _, im := range procImpls(t) {
		dir := procDir(t)
		if err := os.MkdirAll(filepath.Join(dir, "html"), 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"index.html", "dry", "req2", "probe"} {
			if err := os.WriteFile(filepath.Join(dir, "html", f), []byte("ok\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		port := freeTCPPort(t)
		m := startMaster(t, im, dir, procLimitConnConf, port)
		waitUntil(t, im.name+" 2 workers", func() bool { return len(children(m.pid())) == 2 })
		var out []string
		add := func(path string) {
			code, _ := get(t, port, path)
			out = append(out, path+" "+strconv.Itoa(code))
		}
		add("/")
		add("/req2") // charges re2: the next /req2 waits a minute
		held, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(held, "GET /w HTTP/1.0\r\nHost: x\r\n\r\n")
		waitUntil(t, im.name+" the held request delayed", func() bool {
			b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			return strings.Contains(string(b), "delaying request")
		})
		add("/")
		add("/?c=2")
		add("/dry")
		held.Close()
		// The count goes when the held request ends (its client gone).
		// How many probes are refused before it does is timing (with two
		// workers, nginx too): their log lines are left out.
		waitUntil(t, im.name+" the held request's count released", func() bool {
			c, _ := get(t, port, "/probe")
			return c == 200
		})
		add("/")
		m.quit()
		for _, l := range logLines(t, filepath.Join(dir, "error.log"), keep, dir) {
			if !strings.Contains(l, "GET /probe") {
				out = append(out, l)
			}
		}
		got[im.name] = out
	}
	if d := cmp.Diff(got["nginx"], got["gonginx"]); d != "" {
		t.Errorf("(-nginx +gonginx):\n%s", d)
	}
	want := []string{"/ 200", "/req2 200", "/ 503", "/?c=2 200", "/dry 200"}
	if g := got["gonginx"]; len(g) < len(want) || !cmp.Equal(want, g[:len(want)]) {
		t.Errorf("gonginx: %q", g)
	}
}
