package difftest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const procStopLogConf = `daemon off;
master_process MASTER;
worker_processes 1;
error_log DIR/error.log info;
pid DIR/nginx.pid;
events {}
http {
    log_format st '$request_uri $status';
    access_log DIR/access.log st buffer=64k;
    server {
        listen 127.0.0.1:PORT;
        location / { return 200 "ok"; }
        location = /big { root DIR; }
    }
}
`

// TestProcessFastStopLogsAnswered: a fast stop (SIGTERM) under a load of
// keep-alive requests ends the server at once, and every request whose
// response a client read in full has its access line: nginx logs a
// request in the event handler that makes its last write, and its exit
// comes between handlers. (What is cut, a request not yet answered, has
// none; how many there are is the race's.)
func TestProcessFastStopLogsAnswered(t *testing.T) {
	requireRoot(t)
	for _, master := range []string{"on", "off"} {
		t.Run("master "+master, func(t *testing.T) {
			got := map[string][]string{}
			for _, im := range procImpls(t) {
				got[im.name] = stopLogRun(t, im, master)
			}
			if diff := cmp.Diff(got["nginx"], got["gonginx"]); diff != "" {
				t.Errorf("(-nginx +gonginx):\n%s", diff)
			}
		})
	}
}

// stopLogRun sends SIGTERM to im while clients keep it busy, and returns
// what was seen: the exit, and the answered requests with no line.
func stopLogRun(t *testing.T, im procImpl, masterProcess string) []string {
	t.Helper()
	dir := procDir(t)
	port := freeTCPPort(t)
	conf := strings.ReplaceAll(procStopLogConf, "MASTER", masterProcess)
	if err := os.WriteFile(filepath.Join(dir, "big"), []byte(strings.Repeat("b", 20000)), 0o644); err != nil {
		t.Fatal(err)
	}
	m := startMaster(t, im, dir, conf, port)
	const clients, warm = 8, 30
	var (
		mu       sync.Mutex
		answered []string
		all      sync.WaitGroup
		warmed   sync.WaitGroup
	)
	for i := range clients {
		all.Add(1)
		warmed.Add(1)
		go func() {
			defer all.Done()
			var once sync.Once
			defer once.Do(warmed.Done)
			c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 5*time.Second)
			if err != nil {
				return
			}
			defer c.Close()
			br := bufio.NewReader(c)
			path := "/?"
			if i%2 == 1 {
				path = "/big?" // its body in more than one write
			}
			for n := 0; ; n++ {
				if n == warm {
					once.Do(warmed.Done)
				}
				uri := fmt.Sprintf("%sc=%d&n=%d", path, i, n)
				c.SetDeadline(time.Now().Add(10 * time.Second))
				if _, err := io.WriteString(c, "GET "+uri+" HTTP/1.1\r\nHost: localhost\r\n\r\n"); err != nil {
					return
				}
				if !readLengthResponse(br) {
					return
				}
				mu.Lock()
				answered = append(answered, uri)
				mu.Unlock()
			}
		}()
	}
	warmed.Wait()
	syscall.Kill(m.pid(), syscall.SIGTERM)
	select {
	case <-m.exited:
	case <-time.After(20 * time.Second):
		t.Fatalf("%s did not exit on SIGTERM", im.name)
	}
	all.Wait()
	access, _ := os.ReadFile(filepath.Join(dir, "access.log"))
	logged := map[string]bool{}
	for _, line := range strings.Split(string(access), "\n") {
		if uri, _, ok := strings.Cut(line, " "); ok {
			logged[uri] = true
		}
	}
	out := []string{"exit: " + m.cmd.ProcessState.String()}
	if len(answered) < clients*warm {
		out = append(out, fmt.Sprintf("only %d answered", len(answered)))
	}
	for _, uri := range answered {
		if !logged[uri] {
			out = append(out, "answered, no line: "+uri)
		}
	}
	return out
}

// readLengthResponse reads one whole response with net/http's reader.
func readLengthResponse(br *bufio.Reader) bool {
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return err == nil
}
