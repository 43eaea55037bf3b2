package difftest

import (
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const procCacheConf = `daemon off;
worker_processes 2;
error_log DIR/error.log info;
pid DIR/nginx.pid;
events {}
http {
    access_log off;
    proxy_cache_path DIR/cache levels=1:2 keys_zone=z:1m;
    server {
        listen 127.0.0.1:PORT;
        location /c/ {
            proxy_pass http://127.0.0.1:PORT/b/;
            proxy_cache z;
            proxy_cache_valid 200 1h;
        }
        location /b/ { return 200 "made at $msec\n"; }
    }
}
`

// TestProcessCacheSurvives: a cached response is shared by two workers
// and is still the one served after a reload and after a restart (the
// cache files are the index), as nginx's.
func TestProcessCacheSurvives(t *testing.T) {
	requireRoot(t)
	got := map[string][]bool{}
	for _, im := range procImpls(t) {
		dir := procDir(t)
		port := freeTCPPort(t)
		m := startMaster(t, im, dir, procCacheConf, port)
		_, first := get(t, port, "/c/x")
		var same []bool
		for i := 0; i < 4; i++ { // either worker answers
			_, body := get(t, port, "/c/x")
			same = append(same, body == first)
		}
		// nginx's cache manager and loader are children too: the old
		// ones all go on a reload.
		old := children(m.pid())
		syscall.Kill(m.pid(), syscall.SIGHUP)
		waitUntil(t, im.name+" new workers", func() bool {
			now := children(m.pid())
			for _, pid := range old {
				if slices.Contains(now, pid) {
					return false
				}
			}
			return len(now) >= 2
		})
		_, body := get(t, port, "/c/x")
		same = append(same, body == first)
		m.quit()
		startMaster(t, im, dir, procCacheConf, port)
		_, body = get(t, port, "/c/x")
		same = append(same, body == first, strings.HasPrefix(first, "made at "))
		got[im.name] = same
	}
	if d := cmp.Diff(got["nginx"], got["gonginx"]); d != "" {
		t.Errorf("(-nginx +gonginx):\n%s", d)
	}
	if slices.Contains(got["gonginx"], false) {
		t.Errorf("gonginx: a request did not get the cached response: %v", got["gonginx"])
	}
}
