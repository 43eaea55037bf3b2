package difftest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const procCacheConf = `daemon off;
worker_processes 2;
error_log DIR/error.log info;
pid DIR/nginx.pid;
events {}
http {
    access_log off;
    # Temporary files of its own: nginx's default, /var/lib/nginx/proxy,
    # is shared with every other run on the machine.
    proxy_temp_path DIR/proxy_temp;
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

const procCacheLockConf = `daemon off;
error_log DIR/error.log info;
pid DIR/nginx.pid;
events {}
http {
    access_log off;
    # Temporary files of its own: nginx's default, /var/lib/nginx/proxy,
    # is shared with every other run on the machine.
    proxy_temp_path DIR/proxy_temp;
    proxy_cache_path DIR/cache keys_zone=z:1m;
    server {
        listen 127.0.0.1:PORT;
        location / {
            proxy_pass http://127.0.0.1:UPSTREAM;
            proxy_cache z;
            proxy_cache_lock on;
            proxy_cache_lock_timeout 100ms;
        }
    }
}
`

// TestProcessCacheLockOrder: of two requests for one key sent on two
// connections one right after the other, the first takes
// proxy_cache_lock, as nginx's one event loop takes them in the order
// they came (gonginx runs connections on goroutines in any order; the
// accept order is kept up to the lock). The backend holds its first
// request: the second, its lock wait timed out, is fetched on its own
// ("cache lock timeout") and not cached; the first is.
func TestProcessCacheLockOrder(t *testing.T) {
	requireRoot(t)
	keep := regexp.MustCompile(`cache lock`)
	got := map[string][]string{}
	for _, im := range procImpls(t) {
		release := make(chan struct{})
		bport := lockBackend(t, release)
		dir := procDir(t)
		port := freeTCPPort(t)
		m := startMaster(t, im, dir, strings.ReplaceAll(procCacheLockConf, "UPSTREAM", strconv.Itoa(bport)), port)
		send := func() net.Conn {
			c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
			if err != nil {
				t.Fatal(err)
			}
			c.SetDeadline(time.Now().Add(10 * time.Second))
			fmt.Fprintf(c, "GET /x HTTP/1.0\r\nHost: localhost\r\n\r\n")
			return c
		}
		body := func(c net.Conn) string {
			defer c.Close()
			b, _ := io.ReadAll(c)
			_, body, _ := strings.Cut(string(b), "\r\n\r\n")
			return body
		}
		first, second := send(), send()
		out := []string{"second: " + body(second)}
		close(release)
		out = append(out, "first: "+body(first))
		_, cached := get(t, port, "/x")
		out = append(out, "then: "+cached)
		m.quit()
		got[im.name] = append(out, logLines(t, filepath.Join(dir, "error.log"), keep, dir)...)
	}
	if d := cmp.Diff(got["nginx"], got["gonginx"]); d != "" {
		t.Errorf("(-nginx +gonginx):\n%s", d)
	}
}

// lockBackend answers each request with "request N" (N counting from
// 1), holding the first until release is closed.
func lockBackend(t *testing.T, release chan struct{}) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var n atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(20 * time.Second))
				br := bufio.NewReader(c)
				for {
					l, err := br.ReadString('\n')
					if err != nil {
						return
					}
					if l == "\r\n" {
						break
					}
				}
				k := n.Add(1)
				if k == 1 {
					select {
					case <-release:
					case <-time.After(15 * time.Second):
					}
				}
				b := fmt.Sprintf("request %d\n", k)
				fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nCache-Control: max-age=300\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(b), b)
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}
