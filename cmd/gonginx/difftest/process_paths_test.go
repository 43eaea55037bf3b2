package difftest

// The temp and cache directories, side by side: as ngx_create_paths, a
// master run as root makes every *_temp_path and *_cache_path directory
// (0700) and gives it to the workers' user, whether a proxy uses it or not.

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestProcessTempPathsOwner(t *testing.T) {
	requireRoot(t)
	const conf = `daemon off;
user www-data;
error_log DIR/error.log;
pid DIR/nginx.pid;
events {}
http {
    access_log off;
    client_body_temp_path DIR/body 1 2;
    proxy_temp_path DIR/proxy;
    fastcgi_temp_path DIR/fcgi;
    uwsgi_temp_path DIR/uwsgi;
    scgi_temp_path DIR/scgi;
    proxy_cache_path DIR/cache levels=1:2 keys_zone=z:1m;
    server {
        listen 127.0.0.1:PORT;
        location / { return 200 "x\n"; }
    }
}
`
	got := map[string][]string{}
	for _, im := range procImpls(t) {
		dir := procDir(t)
		m := startMaster(t, im, dir, conf, freeTCPPort(t))
		for _, d := range []string{"body", "proxy", "fcgi", "uwsgi", "scgi", "cache"} {
			fi, err := os.Stat(filepath.Join(dir, d))
			if err != nil {
				got[im.name] = append(got[im.name], d+" missing")
				continue
			}
			st := fi.Sys().(*syscall.Stat_t)
			got[im.name] = append(got[im.name], fmt.Sprintf("%s %d:%d %o", d, st.Uid, st.Gid, fi.Mode().Perm()))
		}
		m.quit()
	}
	if diff := cmp.Diff(got["nginx"], got["gonginx"]); diff != "" {
		t.Errorf("(-nginx +gonginx):\n%s", diff)
	}
}
