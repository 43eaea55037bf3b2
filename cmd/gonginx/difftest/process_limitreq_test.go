package difftest

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const procLimitConf = `daemon off;
worker_processes 2;
error_log DIR/error.log;
pid DIR/nginx.pid;
events {}
http {
    access_log off;
    limit_req_zone $server_name zone=one:32k rate=1r/m;
    server {
        listen 127.0.0.1:PORT;
        server_name x;
        location / { limit_req zone=one burst=2 nodelay; root DIR/html; }
    }
}
`

// TestProcessLimitReqShared: two workers count in one limit_req zone, as
// nginx's workers share its memory: ten requests, each on a connection of
// its own (taken by either worker), get three 200s between them, and the
// seven rejections are logged.
func TestProcessLimitReqShared(t *testing.T) {
	requireRoot(t)
	keep := regexp.MustCompile(`limiting requests`)
	codes, logs := map[string][]int{}, map[string]int{}
	for _, im := range procImpls(t) {
		dir := procDir(t)
		if err := os.MkdirAll(filepath.Join(dir, "html"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "html", "index.html"), []byte("ok\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		port := freeTCPPort(t)
		m := startMaster(t, im, dir, procLimitConf, port)
		waitUntil(t, im.name+" 2 workers", func() bool { return len(children(m.pid())) == 2 })
		for range 10 {
			code, _ := get(t, port, "/")
			codes[im.name] = append(codes[im.name], code)
		}
		m.quit()
		logs[im.name] = len(logLines(t, filepath.Join(dir, "error.log"), keep, dir))
	}
	want := []int{200, 200, 200, 503, 503, 503, 503, 503, 503, 503}
	if d := cmp.Diff(map[string][]int{"nginx": want, "gonginx": want}, codes); d != "" {
		t.Errorf("codes (-want +got):\n%s", d)
	}
	if d := cmp.Diff(map[string]int{"nginx": 7, "gonginx": 7}, logs); d != "" {
		t.Errorf("\"limiting requests\" lines (-want +got):\n%s", d)
	}
}
