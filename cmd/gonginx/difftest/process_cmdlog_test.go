package difftest

// The log of -e, side by side: nginx opens it before it reads the
// configuration (ngx_log_init), so "-t" and "-s" create the file and log
// there what they report ("signal process started", the warning, the
// error), besides the "nginx: [level] ..." copy on stderr; "-e stderr"
// gets the log's own form alone. Timestamps, pids and the program's name
// are normalised away.

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestProcessCommandLineLog(t *testing.T) {
	const good = "pid logs/nginx.pid;\nevents {}\nhttp { server { listen 127.0.0.1:PORT; } }\n"
	const bad = "pid logs/nginx.pid;\nevents {}\nhttp { server { listen 127.0.0.1:PORT; }\nbogus; }\n"
	const warn = "pid logs/nginx.pid;\nevents {}\nhttp { server { listen 127.0.0.1:PORT; server_name a; } server { listen 127.0.0.1:PORT; server_name a; } }\n"
	const startBad = "error_log logs/error.log;\npid logs/nginx.pid;\nevents {}\nhttp { client_body_temp_path missing/body; server { listen 127.0.0.1:PORT; } }\n"
	tests := []struct {
		name, conf, pid string // pid: the pid file's content ("" none)
		args            []string
	}{
		{"test to file", good, "", []string{"-t", "-e", "logs/e.log"}},
		{"test error to file", bad, "", []string{"-t", "-e", "logs/e.log"}},
		{"test warning to file", warn, "", []string{"-t", "-e", "logs/e.log"}},
		{"test error to stderr", bad, "", []string{"-t", "-e", "stderr"}},
		{"test error quiet", bad, "", []string{"-t", "-q", "-e", "logs/e.log"}},
		{"test absolute -e", good, "", []string{"-t", "-e", "DIR/abs.log"}},
		{"test -e in a missing directory", bad, "", []string{"-t", "-e", "nodir/e.log"}},
		{"signal without pid file", good, "", []string{"-s", "reload", "-e", "logs/e.log"}},
		{"signal dead pid", good, "3999999", []string{"-s", "reopen", "-e", "logs/e.log"}},
		{"signal bad pid", good, "abc", []string{"-s", "quit", "-e", "stderr"}},
		{"signal empty pid file", good, "\n", []string{"-s", "stop", "-e", "logs/e.log"}},
		{"signal broken config", bad, "3999999", []string{"-s", "reload", "-e", "logs/e.log"}},
		{"-g without parameter", good, "", []string{"-t", "-g"}},
		// A start that fails before ngx_init_cycle opens the
		// configuration's logs: the error is -e's, error_log's file is
		// not made.
		{"start error to -e", startBad, "", []string{"-e", "logs/e.log"}},
		{"start error to -e stderr", startBad, "", []string{"-e", "stderr"}},
	}
	ims := procImpls(t)
	port := freeTCPPort(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, im := range ims {
				got = append(got, runCommandLine(t, im, tt.conf, tt.pid, tt.args, port))
			}
			if diff := cmp.Diff(got[0], got[1]); diff != "" {
				t.Errorf("%v (-nginx +gonginx):\n%s", tt.args, diff)
			}
		})
	}
}

var logStamp = regexp.MustCompile(`(?m)^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d (\[\w+\]) \d+#\d+: `)

// runCommandLine runs bin with args (and -p DIR/ -c conf/nginx.conf) in
// a fresh prefix DIR and returns what it shows: exit code, stdout,
// stderr and each file it left, normalised.
func runCommandLine(t *testing.T, im procImpl, conf, pid string, args []string, port int) string {
	t.Helper()
	dir := procDir(t)
	os.MkdirAll(filepath.Join(dir, "conf"), 0o755)
	os.MkdirAll(filepath.Join(dir, "logs"), 0o755)
	writeConf(t, filepath.Join(dir, "conf"), conf, port)
	if pid != "" {
		os.WriteFile(filepath.Join(dir, "logs/nginx.pid"), []byte(pid), 0o644)
	}
	full := []string{"-p", dir + "/", "-c", "conf/nginx.conf"}
	for _, a := range args {
		full = append(full, strings.ReplaceAll(a, "DIR", dir))
	}
	cmd := exec.Command(im.bin, full...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	code := 0
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	out := []string{fmt.Sprintf("exit %d", code), "stdout:\n" + stdout.String(), "stderr:\n" + stderr.String()}
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || path == filepath.Join(dir, "conf/nginx.conf") {
			return nil
		}
		b, _ := os.ReadFile(path)
		out = append(out, path+":\n"+string(b))
		return nil
	})
	s := strings.Join(out, "\n")
	s = strings.ReplaceAll(s, dir, "DIR")
	s = strings.ReplaceAll(s, "gonginx: ", "nginx: ")
	return logStamp.ReplaceAllString(s, "$1 ")
}
