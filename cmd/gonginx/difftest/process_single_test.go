package difftest

// master_process off, side by side: the single process logs each signal
// as ngx_signal_handler and ngx_single_process_cycle do ("reconfiguring",
// the event method of a cycle made, "reopening logs" with the error log
// reopened after it was renamed, SIGUSR2 and SIGWINCH logged and not
// acted on); gonginx keeps serving through all of them.

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestProcessSingleSignals(t *testing.T) {
	requireRoot(t)
	const conf = `master_process off;
daemon off;
error_log DIR/error.log notice;
pid DIR/nginx.pid;
events {}
http {
    access_log off;
    server {
        listen 127.0.0.1:PORT;
        location / { return 200 "up\n"; }
    }
}
`
	type outcome struct {
		Old, New []string // error.log.1 (renamed before SIGUSR1), error.log
		Codes    []int
	}
	// nginx's single process leaks connections at each reload
	// ("worker_connections are not enough" later): a bug of nginx's, not
	// copied, so those lines are left out.
	keep := regexp.MustCompile(`^\[(notice|warn|emerg|crit)\]`)
	got := map[string]outcome{}
	for _, im := range procImpls(t) {
		dir := procDir(t)
		port := freeTCPPort(t)
		m := startMaster(t, im, dir, conf, port)
		errLog := filepath.Join(dir, "error.log")
		var o outcome
		signalAndWait := func(sig syscall.Signal, path, line string) {
			t.Helper()
			syscall.Kill(m.pid(), sig)
			waitUntil(t, im.name+" "+line, func() bool {
				b, _ := os.ReadFile(path)
				return regexp.MustCompile(regexp.QuoteMeta(line)).Match(b)
			})
			code, _ := get(t, port, "/")
			o.Codes = append(o.Codes, code)
		}
		signalAndWait(syscall.SIGHUP, errLog, "reconfiguring")
		writeConf(t, dir, conf+"bogus;\n", port)
		signalAndWait(syscall.SIGHUP, errLog, `unknown directive "bogus"`)
		writeConf(t, dir, conf, port)
		os.Rename(errLog, errLog+".1")
		syscall.Kill(m.pid(), syscall.SIGUSR1)
		waitUntil(t, im.name+" error log reopened", func() bool { _, err := os.Stat(errLog); return err == nil })
		signalAndWait(syscall.SIGUSR2, errLog, "SIGUSR2")
		signalAndWait(syscall.SIGWINCH, errLog, "SIGWINCH")
		time.Sleep(100 * time.Millisecond)
		m.quit()
		leak := func(l string) bool { return strings.Contains(l, "worker_connections") }
		o.Old = slices.DeleteFunc(logLines(t, errLog+".1", keep, dir), leak)
		o.New = slices.DeleteFunc(logLines(t, errLog, keep, dir), leak)
		got[im.name] = o
	}
	if want := []int{200, 200, 200, 200}; !slices.Equal(got["gonginx"].Codes, want) {
		t.Errorf("gonginx answers %v, want %v", got["gonginx"].Codes, want)
	}
	// nginx's leak refuses requests after its reload: only the logs compare.
	ng, gg := got["nginx"], got["gonginx"]
	ng.Codes, gg.Codes = nil, nil
	if diff := cmp.Diff(ng, gg); diff != "" {
		t.Errorf("(-nginx +gonginx):\n%s", diff)
	}
}
