package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestDefaultAccessLog: with no access_log at any level a server logs
// "combined" lines to logs/access.log under the prefix (nginx's
// NGX_HTTP_LOG_PATH), its directory made when missing; a configuration
// whose every server has its own access_log opens no such file.
func TestDefaultAccessLog(t *testing.T) {
	for _, tt := range []struct {
		name, server string
		want         bool
	}{
		{"none configured", "", true},
		{"every server has one", "access_log own.log;", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			addr := "127.0.0.1:" + freePort(t)
			dir := t.TempDir()
			conf := filepath.Join(dir, "nginx.conf")
			os.WriteFile(conf, []byte("daemon off;\nmaster_process off;\npid nginx.pid;\nevents {}\nhttp {\nserver {\nlisten "+addr+";\n"+tt.server+
				"\nlocation / { return 200 ok; }\n}\n}\n"), 0o644)
			cmd := exec.Command(binary, "-p", dir, "-c", conf)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { cmd.Process.Kill(); cmd.Wait() }()
			waitServing(t, addr, "/x", "ok")
			path := filepath.Join(dir, "logs", "access.log")
			var b []byte
			for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				if b, _ = os.ReadFile(path); len(b) > 0 || !tt.want {
					break
				}
			}
			if !tt.want {
				if _, err := os.Stat(path); !os.IsNotExist(err) {
					t.Errorf("%s made though unused: %v", path, err)
				}
				return
			}
			combined := regexp.MustCompile(`^127\.0\.0\.1 - - \[[^]]+\] "GET /x HTTP/1\.1" 200 2 "-" "-"$`)
			if line := strings.Split(string(b), "\n")[0]; !combined.MatchString(line) {
				t.Errorf("logs/access.log: %q", b)
			}
		})
	}
}
