package main

import (
	"bytes"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var binary string

// TestMain builds the binary once into a temp dir for the CLI tests.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gonginx-cli-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "gonginx")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		os.RemoveAll(dir)
		panic("go build: " + err.Error() + "\n" + string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	Code   int
	Stdout string
	Stderr string
}

func runBin(t *testing.T, args ...string) result {
	t.Helper()
	return runBinIn(t, "", args...)
}

// runBinIn runs the binary in dir ("": the test's own).
func runBinIn(t *testing.T, dir string, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, out.String(), errb.String()}
}

func writeConf(t *testing.T, body string) (dir, path string) {
	t.Helper()
	dir = t.TempDir()
	path = filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, path
}

func TestTestFlag(t *testing.T) {
	tests := []struct {
		name  string
		conf  string
		flags []string
		want  result
	}{
		{"ok", "events {}\nhttp {\nserver {\nlisten 127.0.0.1:19200;\n}\n}\n", []string{"-t"},
			result{0, "", "gonginx: the configuration file F syntax is ok\ngonginx: configuration file F test is successful\n"}},
		{"quiet", "events {}\nhttp {\nserver {\nlisten 127.0.0.1:19200;\n}\n}\n", []string{"-t", "-q"},
			result{0, "", ""}},
		{"grouped flags", "events {}\nhttp {\nserver {\nlisten 127.0.0.1:19200;\n}\n}\n", []string{"-tq"},
			result{0, "", ""}},
		{"duplicate location", "events {}\nhttp {\nserver {\nlisten 127.0.0.1:19200;\nlocation /x {}\nlocation /x {}\n}\n}\n", []string{"-t"},
			result{1, "", "gonginx: [emerg] duplicate location \"/x\" in F:6\ngonginx: configuration file F test failed\n"}},
		{"syntax", "events {}\nhttp {\nserver {\n}\n}\n}\n", []string{"-t"},
			result{1, "", "gonginx: [emerg] unexpected \"}\" in F:6\ngonginx: configuration file F test failed\n"}},
		{"warning", "events {}\nhttp {\nserver { listen 127.0.0.1:19200; server_name a; }\nserver { listen 127.0.0.1:19200; server_name a; }\n}\n", []string{"-t"},
			result{0, "", "gonginx: [warn] conflicting server name \"a\" on 127.0.0.1:19200, ignored\ngonginx: the configuration file F syntax is ok\ngonginx: configuration file F test is successful\n"}},
		{"warning kept with -q", "events {}\nhttp {\nserver { listen 127.0.0.1:19200; server_name a; }\nserver { listen 127.0.0.1:19200; server_name a; }\n}\n", []string{"-tq"},
			result{0, "", "gonginx: [warn] conflicting server name \"a\" on 127.0.0.1:19200, ignored\n"}},
		{"missing events", "http {\n}\n", []string{"-t"},
			result{1, "", "gonginx: the configuration file F syntax is ok\ngonginx: [emerg] no \"events\" section in configuration\ngonginx: configuration file F test failed\n"}},
		{"dump", "events {}\n", []string{"-T"},
			result{0, "# configuration file F:\nevents {}\n\n", "gonginx: the configuration file F syntax is ok\ngonginx: configuration file F test is successful\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, path := writeConf(t, tt.conf)
			got := runBin(t, append(tt.flags, "-c", path)...)
			got.Stdout = strings.ReplaceAll(got.Stdout, path, "F")
			got.Stderr = strings.ReplaceAll(got.Stderr, path, "F")
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestOptions(t *testing.T) {
	tests := []struct {
		args []string
		want result
	}{
		{[]string{"-v"}, result{0, "", "nginx version: nginx/1.22.1\ngonginx version: gonginx/0.1.0\n"}},
		{[]string{"-x"}, result{1, "", "gonginx: invalid option: \"x\"\n"}},
		{[]string{"foo"}, result{1, "", "gonginx: invalid option: \"foo\"\n"}},
		{[]string{"-p"}, result{1, "", "gonginx: option \"-p\" requires directory name\n"}},
		{[]string{"-c"}, result{1, "", "gonginx: option \"-c\" requires file name\n"}},
		{[]string{"-s", "bogus"}, result{1, "", "gonginx: invalid option: \"-s bogus\"\n"}},
		{[]string{"-t", "-c", "/nonexistent/nginx.conf"}, result{1, "", "gonginx: [emerg] open() \"/nonexistent/nginx.conf\" failed (2: No such file or directory)\ngonginx: configuration file /nonexistent/nginx.conf test failed\n"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			if diff := cmp.Diff(tt.want, runBin(t, tt.args...)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if got := runBin(t, "-h"); got.Code != 0 || !strings.HasPrefix(got.Stderr, "nginx version: nginx/1.22.1\ngonginx version: gonginx/0.1.0\nUsage: gonginx [-?hvVtTqJ]") {
		t.Errorf("-h: %+v", got)
	}
	// -V in nginx's shape, for tools that parse it (Test::Nginx, certbot),
	// then the policy lists.
	v := runBin(t, "-V").Stderr
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`^nginx version: nginx/1\.22\.1\ngonginx version: gonginx/0\.1\.0\n`),
		regexp.MustCompile(`\nTLS SNI support enabled\n`),
		regexp.MustCompile(`\nconfigure arguments: .*--with-http_ssl_module .*--with-http_gunzip_module --with-http_gzip_static_module`),
		regexp.MustCompile(`\naccepted by -t, not served .*: (.* )?perl perl_set `),
		regexp.MustCompile(`\naccepted, tuning only .*: .* sendfile `),
		regexp.MustCompile(`\nconfigure arguments: .*--with-http_flv_module --with-http_mp4_module `),
	} {
		if !want.MatchString(v) {
			t.Errorf("-V lacks %s:\n%s", want, v)
		}
	}
	if strings.Contains(v, " image_filter ") {
		t.Errorf("-V says image_filter is not served:\n%s", v)
	}
	for _, served := range []string{"http_proxy_module", "http_rewrite_module", "http_access_module", "http_map_module", "http_gzip_module"} {
		if strings.Contains(v, served) {
			t.Errorf("-V says %s is not served", served)
		}
	}
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

func httpGet(addr, path string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
	b, err := io.ReadAll(c)
	return string(b), err
}

// waitServing polls until addr answers path with a body ending in want.
func waitServing(t *testing.T, addr, path, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := httpGet(addr, path)
		if err == nil && strings.HasSuffix(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: want body %q, got %q (%v)", path, want, got, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestServeReloadAndStop runs the binary: a SIGHUP with a broken config
// keeps the old one serving, a good one is picked up, -s quit stops it
// through the pid file.
func TestServeReloadAndStop(t *testing.T) {
	port := freePort(t)
	addr := "127.0.0.1:" + port
	conf := func(text string) string {
		return "daemon off;\npid nginx.pid;\nevents {}\nhttp {\naccess_log off;\nserver {\nlisten " + addr + ";\nlocation / { return 200 \"" + text + "\"; }\n}\n}\n"
	}
	dir, path := writeConf(t, conf("one"))
	cmd := exec.Command(binary, "-c", path)
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var waitErr error
	exited := make(chan struct{})
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			cmd.Process.Kill()
			<-exited
		}
	})
	waitServing(t, addr, "/", "one")
	pid, err := os.ReadFile(filepath.Join(dir, "nginx.pid"))
	if err != nil || strings.TrimSpace(string(pid)) != strconv.Itoa(cmd.Process.Pid) {
		t.Fatalf("pid file: %q %v", pid, err)
	}

	os.WriteFile(path, []byte(conf("two")+"}\n"), 0o644)
	cmd.Process.Signal(syscall.SIGHUP)
	// The master logs the refusal once it has read the file: wait for
	// that line rather than a while, then the old config still serves.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if log := stderr.String(); strings.Contains(log, ": unexpected \"}\" in "+path+":11\n") && strings.Contains(log, " [emerg] ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("bad reload not logged: %q", stderr.String())
		}
	}
	if got, _ := httpGet(addr, "/"); !strings.HasSuffix(got, "one") {
		t.Fatalf("after bad reload: %q", got)
	}

	os.WriteFile(path, []byte(conf("two")), 0o644)
	cmd.Process.Signal(syscall.SIGHUP)
	waitServing(t, addr, "/", "two")

	if got := runBin(t, "-s", "quit", "-c", path); got.Code != 0 {
		t.Fatalf("-s quit: %+v", got)
	}
	select {
	case <-exited:
		if waitErr != nil {
			t.Fatalf("exit: %v\n%s", waitErr, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("did not stop on -s quit")
	}
	if _, err := os.Stat(filepath.Join(dir, "nginx.pid")); !os.IsNotExist(err) {
		t.Errorf("pid file left behind: %v", err)
	}
}

// lockedBuffer is written by exec's copying goroutine while the test reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
