package difftest

// An address in use, side by side: as ngx_open_listening_sockets, the
// bind is tried five times 500ms apart, each failure logged at emerg,
// then "still could not bind()"; at start the lines go to the
// configuration's error log and to stderr and the command fails; at a
// reload they go to the error log and the old configuration serves on.

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestProcessBindRetry(t *testing.T) {
	requireRoot(t)
	busy, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := strconv.Itoa(busy.Addr().(*net.TCPAddr).Port)
	const conf = `daemon off;
error_log DIR/error.log notice;
pid DIR/nginx.pid;
events {}
http {
    access_log off;
    server {
        listen 127.0.0.1:PORT;
        location / { return 200 "one\n"; }
    }
}
`
	withBusy := strings.Replace(conf, "listen 127.0.0.1:PORT;", "listen 127.0.0.1:PORT; listen 127.0.0.1:"+busyPort+";", 1)
	normalise := func(s, dir string) string {
		s = strings.ReplaceAll(s, dir, "DIR")
		s = strings.ReplaceAll(s, "gonginx: ", "nginx: ")
		return strings.ReplaceAll(s, ":"+busyPort+" ", ":BUSY ")
	}
	keep := regexp.MustCompile(`\[emerg\]|reconfiguring|bind`)
	type outcome struct {
		StartCode           int
		StartStderr         string
		StartLog, ReloadLog []string
		Body                string
	}
	got := map[string]outcome{}
	for _, im := range procImpls(t) {
		var o outcome
		dir := procDir(t)
		writeConf(t, dir, withBusy, freeTCPPort(t))
		cmd := exec.Command(im.bin, "-p", dir+"/", "-c", filepath.Join(dir, "nginx.conf"))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); ok {
			o.StartCode = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		o.StartStderr = normalise(stderr.String(), dir)
		for _, l := range logLines(t, filepath.Join(dir, "error.log"), keep, dir) {
			o.StartLog = append(o.StartLog, normalise(l, dir))
		}

		dir = procDir(t)
		port := freeTCPPort(t)
		m := startMaster(t, im, dir, conf, port)
		writeConf(t, dir, withBusy, port)
		syscall.Kill(m.pid(), syscall.SIGHUP)
		waitUntil(t, im.name+" bind given up", func() bool {
			b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			return bytes.Contains(b, []byte("still could not bind()"))
		})
		_, o.Body = get(t, port, "/")
		m.quit()
		for _, l := range logLines(t, filepath.Join(dir, "error.log"), keep, dir) {
			o.ReloadLog = append(o.ReloadLog, normalise(l, dir))
		}
		got[im.name] = o
	}
	if diff := cmp.Diff(got["nginx"], got["gonginx"]); diff != "" {
		t.Errorf("(-nginx +gonginx):\n%s", diff)
	}
	if o := got["gonginx"]; o.StartCode != 1 || len(o.ReloadLog) != 13 || o.Body != "one\n" {
		t.Errorf("gonginx: %+v", o)
	}
}
