package difftest

// The process model, side by side: nginx and gonginx run the same full
// nginx.conf as a master with workers (daemon off, or on), and what can be
// seen from outside is compared: worker processes and their user, the pid
// file, the error log lines of start, worker death, reload and quit, the
// 403 for a root-only file once workers run as "user", and -t run by an
// unprivileged user. Each test leaves no process behind.

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
	"github.com/google/go-cmp/cmp"
)

// procImpl is one program of a process test.
type procImpl struct{ name, bin string }

func procImpls(t *testing.T) []procImpl {
	t.Helper()
	ng := serveNginx(t)
	gg := serveUnderTest(t)
	return []procImpl{{"nginx", ng.Bin}, {"gonginx", gg.Bin}}
}

// requireRoot fails in CI (which runs as root) and skips loudly elsewhere.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatal("the process tests need root (workers switch to \"user\"); CI runs as root")
	}
	t.Skip("!!! SKIPPING: the process tests need root (workers switch to \"user\") !!!")
}

// procDir is a prefix readable by unprivileged workers.
func procDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "difftest-proc-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// master is one running server started in the foreground.
type master struct {
	t      *testing.T
	cmd    *exec.Cmd
	dir    string
	exited chan struct{}
}

// startMaster writes conf ("DIR" and "PORT" replaced) and runs bin on it
// until the pid file names its pid and the port accepts.
func startMaster(t *testing.T, im procImpl, dir, conf string, port int) *master {
	t.Helper()
	writeConf(t, dir, conf, port)
	cmd := exec.Command(im.bin, "-p", dir+"/", "-c", filepath.Join(dir, "nginx.conf"))
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := harness.StartGuarded(cmd); err != nil {
		t.Fatal(err)
	}
	m := &master{t: t, cmd: cmd, dir: dir, exited: make(chan struct{})}
	go func() { cmd.Wait(); close(m.exited) }()
	t.Cleanup(func() {
		if t.Failed() {
			// What the master saw is the first thing to read of a
			// failure seen only under a loaded CI machine.
			b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("%s: children %v; error.log:\n%s", im.name, children(m.pid()), b)
		}
		m.kill()
	})
	waitUntil(t, im.name+" pid file", func() bool {
		select {
		case <-m.exited:
			// It will not write one: what it logged says why.
			b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("%s exited before writing its pid file (%v); error.log:\n%s", im.name, cmd.ProcessState, b)
		default:
		}
		return readPid(dir) == cmd.Process.Pid
	})
	waitUntil(t, im.name+" listening", func() bool { return dialOK(port) })
	return m
}

// kill stops what is left of the test's server: the master's whole
// process group.
func (m *master) kill() {
	select {
	case <-m.exited:
	default:
		syscall.Kill(-m.cmd.Process.Pid, syscall.SIGKILL)
		<-m.exited
	}
}

func (m *master) pid() int { return m.cmd.Process.Pid }

// quit sends SIGQUIT and waits for the master to exit.
func (m *master) quit() {
	m.t.Helper()
	syscall.Kill(m.pid(), syscall.SIGQUIT)
	select {
	case <-m.exited:
	case <-time.After(20 * time.Second):
		b, _ := os.ReadFile(filepath.Join(m.dir, "error.log"))
		m.t.Fatalf("%s did not exit on SIGQUIT; children %v; error.log:\n%s", m.cmd.Path, children(m.pid()), b)
	}
}

func writeConf(t *testing.T, dir, conf string, port int) {
	t.Helper()
	conf = strings.ReplaceAll(conf, "DIR", dir)
	conf = strings.ReplaceAll(conf, "PORT", strconv.Itoa(port))
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readPid(dir string) int {
	b, err := os.ReadFile(filepath.Join(dir, "nginx.pid"))
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

func dialOK(port int) bool {
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// waitUntil polls cond for at most 15 seconds.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for i := 0; i < 750; i++ {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// children lists the live (not zombie) processes whose parent is pid.
func children(pid int) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, state := procStat(n); ppid == pid && state != "Z" {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// procStat returns a process's parent and state ("" when it is gone).
func procStat(pid int) (ppid int, state string) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, ""
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, ""
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return 0, ""
	}
	ppid, _ = strconv.Atoi(f[1])
	return ppid, f[0]
}

func alive(pid int) bool {
	_, state := procStat(pid)
	return state != "" && state != "Z"
}

// uidOf is the real uid of a process.
func uidOf(pid int) int {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "Uid:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				n, _ := strconv.Atoi(f[0])
				return n
			}
		}
	}
	return -1
}

var (
	logPrefix = regexp.MustCompile(`^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d (\[\w+\]) \d+#\d+: `)
	bigNumber = regexp.MustCompile(`\b\d{3,}\b`)
	// Connection numbers: nginx counts across workers in shared memory.
	connNumber = regexp.MustCompile(`\] \*\d+ `)
)

// logLines reads an error log, keeps the lines matching keep, with the
// time, pids and ports replaced, sorted (workers log concurrently).
func logLines(t *testing.T, path string, keep *regexp.Regexp, dir string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		l = logPrefix.ReplaceAllString(l, "$1 ")
		if !keep.MatchString(l) {
			continue
		}
		l = strings.ReplaceAll(l, dir, "DIR")
		l = strings.Replace(l, " received from ", " received ", 1)
		l = bigNumber.ReplaceAllString(l, "N")
		l = connNumber.ReplaceAllString(l, "] *C ")
		l = strings.Replace(l, " received N,", " received,", 1)
		if strings.HasSuffix(l, " received N") { // a signal with no action
			l = strings.TrimSuffix(l, " N")
		}
		out = append(out, l)
	}
	slices.Sort(out)
	return out
}

// freeTCPPort picks a port for a server to listen on (TCP or UDP): free
// on 127.0.0.1 a moment ago, below the kernel's ephemeral range and not
// picked before by this process. A port the kernel chose (":0") is one
// any connection of the machine may take as its local port between the
// pick and the server's bind: under load (other packages' tests running)
// a server then failed to bind and never wrote its pid file.
func freeTCPPort(t *testing.T) int {
	t.Helper()
	pickedPorts.Lock()
	defer pickedPorts.Unlock()
	low := ephemeralLow()
	for range 1000 {
		p := 10000 + rand.IntN(low-10000)
		if pickedPorts.m[p] {
			continue
		}
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			continue
		}
		ln.Close()
		pc, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			continue
		}
		pc.Close()
		pickedPorts.m[p] = true
		return p
	}
	t.Fatal("no free port below the ephemeral range")
	return 0
}

var pickedPorts = struct {
	sync.Mutex
	m map[int]bool
}{m: map[int]bool{}}

// ephemeralLow is the first port of the kernel's ephemeral range
// (ip_local_port_range; 32768 when it cannot be read).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > 11000 {
				return n
			}
		}
	}
	return 32768
}

func get(t *testing.T, port int, path string) (int, string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n", path)
	b, _ := io.ReadAll(c)
	s := string(b)
	code := 0
	if f := strings.Fields(s); len(f) > 1 {
		code, _ = strconv.Atoi(f[1])
	}
	_, body, _ := strings.Cut(s, "\r\n\r\n")
	return code, body
}

const procWorkersConf = `daemon off;
worker_processes 2;
error_log DIR/error.log info;
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

// TestProcessWorkers: worker_processes 2 gives two workers running as
// nobody; a worker killed with SIGKILL is replaced and logged as an
// alert; SIGQUIT stops all and removes the pid file.
func TestProcessWorkers(t *testing.T) {
	requireRoot(t)
	keep := regexp.MustCompile(`worker process|shutting down|\[alert\]|\[emerg\]|\] exit$`)
	got := map[string][]string{}
	for _, im := range procImpls(t) {
		dir := procDir(t)
		port := freeTCPPort(t)
		m := startMaster(t, im, dir, procWorkersConf, port)
		var workers []int
		waitUntil(t, im.name+" 2 workers", func() bool { workers = children(m.pid()); return len(workers) == 2 })
		// A worker is root while it starts (nginx's forked one too).
		waitUntil(t, im.name+" workers running as nobody (65534)", func() bool {
			return uidOf(workers[0]) == 65534 && uidOf(workers[1]) == 65534
		})
		if uid := uidOf(m.pid()); uid != 0 {
			t.Errorf("%s: master runs as uid %d, want root", im.name, uid)
		}
		syscall.Kill(workers[0], syscall.SIGKILL)
		waitUntil(t, im.name+" worker replaced", func() bool {
			now := children(m.pid())
			return len(now) == 2 && !slices.Contains(now, workers[0])
		})
		if code, body := get(t, port, "/"); code != 200 || body != "up\n" {
			t.Errorf("%s after respawn: %d %q", im.name, code, body)
		}
		all := append(children(m.pid()), workers...)
		m.quit()
		for _, w := range all {
			if alive(w) {
				t.Errorf("%s: worker %d left behind after quit", im.name, w)
			}
		}
		if _, err := os.Stat(filepath.Join(dir, "nginx.pid")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: pid file left behind (%v)", im.name, err)
		}
		got[im.name] = logLines(t, filepath.Join(dir, "error.log"), keep, dir)
	}
	if diff := cmp.Diff(got["nginx"], got["gonginx"]); diff != "" {
		t.Errorf("error log (-nginx +gonginx):\n%s", diff)
	}
	if !slices.Contains(got["gonginx"], "[alert] worker process N exited on signal 9") {
		t.Errorf("no alert for the killed worker: %q", got["gonginx"])
	}
}

// TestProcessReload: a configuration that fails to load on SIGHUP changes
// nothing (same worker, same answer, the error logged); a good one starts
// a new worker, the old one quits.
func TestProcessReload(t *testing.T) {
	requireRoot(t)
	conf := func(text string) string {
		return strings.Replace(strings.Replace(procWorkersConf, "worker_processes 2;", "worker_processes 1;", 1), `"up\n"`, `"`+text+`\n"`, 1)
	}
	// The event method's line: ngx_event_module_init runs in each cycle
	// made, the start's and the good reload's, not the failed one's.
	keep := regexp.MustCompile(`worker process|reconfiguring|shutting down|event method|\[alert\]|\[emerg\]`)
	got := map[string][]string{}
	for _, im := range procImpls(t) {
		dir := procDir(t)
		port := freeTCPPort(t)
		m := startMaster(t, im, dir, conf("one"), port)
		var first []int
		waitUntil(t, im.name+" a worker", func() bool { first = children(m.pid()); return len(first) == 1 })

		writeConf(t, dir, conf("two")+"bogus;\n", port)
		syscall.Kill(m.pid(), syscall.SIGHUP)
		waitUntil(t, im.name+" reload error logged", func() bool {
			b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			return strings.Contains(string(b), `unknown directive "bogus"`)
		})
		if now := children(m.pid()); !slices.Equal(now, first) {
			t.Errorf("%s: workers changed on a failed reload: %v -> %v", im.name, first, now)
		}
		if code, body := get(t, port, "/"); code != 200 || body != "one\n" {
			t.Errorf("%s after a failed reload: %d %q", im.name, code, body)
		}

		writeConf(t, dir, conf("two"), port)
		syscall.Kill(m.pid(), syscall.SIGHUP)
		waitUntil(t, im.name+" new worker serving", func() bool {
			now := children(m.pid())
			_, body := get(t, port, "/")
			return len(now) == 1 && now[0] != first[0] && body == "two\n"
		})
		m.quit()
		got[im.name] = logLines(t, filepath.Join(dir, "error.log"), keep, dir)
	}
	if diff := cmp.Diff(got["nginx"], got["gonginx"]); diff != "" {
		t.Errorf("error log (-nginx +gonginx):\n%s", diff)
	}
}

// TestProcessUserDenied is the security proof: started by root, workers
// run as "user", so a symlink or alias to a file only root may read gets
// 403 and nginx's error line, not the file.
func TestProcessUserDenied(t *testing.T) {
	requireRoot(t)
	const conf = `user nobody nogroup;
daemon off;
error_log DIR/error.log;
pid DIR/nginx.pid;
events {}
http {
    access_log off;
    server {
        listen 127.0.0.1:PORT;
        root DIR/html;
        location /alias/ { alias DIR/private/; }
    }
}
`
	type answer struct {
		Path   string
		Status int
		Body   string
	}
	got := map[string][]answer{}
	logs := map[string][]string{}
	for _, im := range procImpls(t) {
		dir := procDir(t)
		for _, d := range []string{"html", "private"} {
			if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		secret := filepath.Join(dir, "private", "shadow")
		if err := os.WriteFile(secret, []byte("root:secret\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(secret, filepath.Join(dir, "html", "link")); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "html", "ok.txt"), []byte("public\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		port := freeTCPPort(t)
		m := startMaster(t, im, dir, conf, port)
		for _, p := range []string{"/link", "/alias/shadow", "/ok.txt"} {
			code, body := get(t, port, p)
			if code != 200 {
				body = "" // error pages carry the server's name
			}
			got[im.name] = append(got[im.name], answer{p, code, body})
		}
		m.quit()
		logs[im.name] = logLines(t, filepath.Join(dir, "error.log"), regexp.MustCompile(`\[error\]`), dir)
	}
	want := []answer{{"/link", 403, ""}, {"/alias/shadow", 403, ""}, {"/ok.txt", 200, "public\n"}}
	if diff := cmp.Diff(want, got["gonginx"]); diff != "" {
		t.Errorf("gonginx answers (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(got["nginx"], got["gonginx"]); diff != "" {
		t.Errorf("answers (-nginx +gonginx):\n%s", diff)
	}
	if diff := cmp.Diff(logs["nginx"], logs["gonginx"]); diff != "" {
		t.Errorf("error log (-nginx +gonginx):\n%s", diff)
	}
}

// TestProcessDaemon: without "daemon off" the command returns once the
// server runs detached; the pid file names the detached master, which
// -s quit stops with its workers.
func TestProcessDaemon(t *testing.T) {
	requireRoot(t)
	const conf = `error_log DIR/error.log;
pid DIR/nginx.pid;
events {}
http {
    access_log off;
    server {
        listen 127.0.0.1:PORT;
        location / { return 200 "detached\n"; }
    }
}
`
	for _, im := range procImpls(t) {
		dir := procDir(t)
		port := freeTCPPort(t)
		writeConf(t, dir, conf, port)
		args := []string{"-p", dir + "/", "-c", filepath.Join(dir, "nginx.conf")}
		cmd := exec.Command(im.bin, args...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", im.name, err, out)
		}
		pid := readPid(dir)
		if pid == 0 || pid == cmd.Process.Pid || !alive(pid) {
			t.Fatalf("%s: pid file holds %d (command was %d)", im.name, pid, cmd.Process.Pid)
		}
		t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
		if _, state := procStat(pid); state == "" {
			t.Fatalf("%s: no process %d", im.name, pid)
		}
		if sid, _ := syscall.Getpgid(pid); sid != pid {
			t.Errorf("%s: detached master %d is in process group %d, want its own session", im.name, pid, sid)
		}
		if code, body := get(t, port, "/"); code != 200 || body != "detached\n" {
			t.Errorf("%s: %d %q", im.name, code, body)
		}
		workers := children(pid)
		if len(workers) != 1 {
			t.Errorf("%s: %d workers, want 1", im.name, len(workers))
		}
		if out, err := exec.Command(im.bin, append(args, "-s", "quit")...).CombinedOutput(); err != nil {
			t.Fatalf("%s -s quit: %v\n%s", im.name, err, out)
		}
		waitUntil(t, im.name+" detached master gone", func() bool { return !alive(pid) })
		for _, w := range workers {
			if alive(w) {
				t.Errorf("%s: worker %d left behind", im.name, w)
			}
		}
	}
}

// TestProcessTestUnprivileged runs -t as nobody: nginx -t binds the
// listening sockets, so port 80 fails; "user" is ignored with a warning.
func TestProcessTestUnprivileged(t *testing.T) {
	requireRoot(t)
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Fatal("setpriv (util-linux) is needed to run -t as nobody")
	}
	cases := []struct{ name, conf string }{
		{"port 80", "events {}\nhttp {\n    access_log off;\n    server { listen 80; }\n}\n"},
		{"free port", "events {}\nhttp {\n    access_log off;\n    server { listen 127.0.0.1:PORT; }\n}\n"},
		{"user", "user nobody nogroup;\nevents {}\nhttp {\n    access_log off;\n    server { listen 127.0.0.1:PORT; }\n}\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := map[string]tResult{}
			for _, im := range procImpls(t) {
				dir := procDir(t)
				// A copy nobody may run (the build's temp dir is private).
				bin := filepath.Join(dir, im.name)
				data, err := os.ReadFile(im.bin)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(bin, data, 0o755); err != nil {
					t.Fatal(err)
				}
				run := filepath.Join(dir, "run")
				if err := os.Mkdir(run, 0o777); err != nil {
					t.Fatal(err)
				}
				os.Chmod(run, 0o777)
				writeConf(t, dir, tc.conf, freeTCPPort(t))
				args := []string{"--reuid=nobody", "--regid=nogroup", "--clear-groups", bin, "-t",
					"-p", dir + "/", "-c", filepath.Join(dir, "nginx.conf"),
					"-g", "pid " + filepath.Join(run, "nginx.pid") + "; error_log stderr;"}
				got[im.name] = tRun(t, im.name, "setpriv", args, map[string]string{dir: "DIR"})
			}
			if diff := cmp.Diff(got["nginx"], got["gonginx"]); diff != "" {
				t.Errorf("-t as nobody (-nginx +gonginx):\n%s", diff)
			}
		})
	}
}

// TestProcessReopen: after the logs are moved away, SIGUSR1 makes new
// files, owned by the workers' user as nginx's master leaves them, and the
// next lines go there.
func TestProcessReopen(t *testing.T) {
	requireRoot(t)
	const conf = `daemon off;
error_log DIR/error.log notice;
pid DIR/nginx.pid;
events {}
http {
    log_format plain "$request_method $uri $status";
    access_log DIR/access.log plain;
    server {
        listen 127.0.0.1:PORT;
        location / { return 200 "x\n"; }
    }
}
`
	type state struct {
		Old, New        string
		OldOwner, Owner int
		ErrorLogOwner   int
		// The reopen's lines, in either error log (a worker may log
		// after it holds the new one).
		Lines []string
	}
	owner := func(path string) int {
		fi, err := os.Stat(path)
		if err != nil {
			return -1
		}
		return int(fi.Sys().(*syscall.Stat_t).Uid)
	}
	got := map[string]state{}
	for _, im := range procImpls(t) {
		dir := procDir(t)
		port := freeTCPPort(t)
		m := startMaster(t, im, dir, conf, port)
		get(t, port, "/before")
		log := filepath.Join(dir, "access.log")
		waitUntil(t, im.name+" first line", func() bool { b, _ := os.ReadFile(log); return len(b) > 0 })
		os.Rename(log, log+".1")
		os.Rename(filepath.Join(dir, "error.log"), filepath.Join(dir, "error.log.1"))
		syscall.Kill(m.pid(), syscall.SIGUSR1)
		workers := children(m.pid())
		waitUntil(t, im.name+" worker holding the new log", func() bool {
			ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", workers[0]))
			for _, e := range ents {
				if l, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", workers[0], e.Name())); l == log {
					return true
				}
			}
			return false
		})
		get(t, port, "/after")
		waitUntil(t, im.name+" second line", func() bool { b, _ := os.ReadFile(log); return len(b) > 0 })
		m.quit()
		old, _ := os.ReadFile(log + ".1")
		cur, _ := os.ReadFile(log)
		keep := regexp.MustCompile(`reopening|SIGUSR1`)
		lines := append(logLines(t, filepath.Join(dir, "error.log.1"), keep, dir), logLines(t, filepath.Join(dir, "error.log"), keep, dir)...)
		slices.Sort(lines)
		got[im.name] = state{string(old), string(cur), owner(log + ".1"), owner(log), owner(filepath.Join(dir, "error.log")), lines}
	}
	want := state{"GET /before 200\n", "GET /after 200\n", 0, 65534, 65534, got["nginx"].Lines}
	if diff := cmp.Diff(want, got["gonginx"]); diff != "" {
		t.Errorf("gonginx (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(got["nginx"], got["gonginx"]); diff != "" {
		t.Errorf("(-nginx +gonginx):\n%s", diff)
	}
}

// TestProcessWorkerLimits: worker_priority, worker_rlimit_nofile,
// worker_rlimit_core and working_directory apply to workers (every thread
// of a gonginx worker), not to the master, as in nginx.
func TestProcessWorkerLimits(t *testing.T) {
	requireRoot(t)
	const conf = `daemon off;
worker_priority -5;
worker_rlimit_nofile 1234;
worker_rlimit_core 10m;
working_directory DIR/wd;
error_log DIR/error.log;
pid DIR/nginx.pid;
events {}
http {
    access_log off;
    server {
        listen 127.0.0.1:PORT;
        location / { return 200 "x\n"; }
    }
}
`
	limits := func(pid int) []string {
		b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/limits")
		var out []string
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "Max open files") || strings.HasPrefix(l, "Max core file size") {
				out = append(out, strings.Join(strings.Fields(l), " "))
			}
		}
		cwd, _ := os.Readlink("/proc/" + strconv.Itoa(pid) + "/cwd")
		out = append(out, "cwd "+filepath.Base(cwd))
		// The nice value of every thread (field 19 of each task's stat).
		nice := map[string]bool{}
		tasks, _ := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
		for _, task := range tasks {
			b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/task/" + task.Name() + "/stat")
			st := string(b)
			if f := strings.Fields(st[strings.LastIndexByte(st, ')')+1:]); len(f) > 16 {
				nice[f[16]] = true
			}
		}
		for n := range nice {
			out = append(out, "nice "+n)
		}
		return out
	}
	got := map[string][]string{}
	for _, im := range procImpls(t) {
		dir := procDir(t)
		if err := os.Mkdir(filepath.Join(dir, "wd"), 0o755); err != nil {
			t.Fatal(err)
		}
		port := freeTCPPort(t)
		m := startMaster(t, im, dir, conf, port)
		var workers []int
		waitUntil(t, im.name+" worker", func() bool { workers = children(m.pid()); return len(workers) == 1 })
		// A worker that answered has finished its set-up (limits, user,
		// chdir); one just forked may not have.
		if code, _ := get(t, port, "/"); code != 200 {
			t.Fatalf("%s: status %d", im.name, code)
		}
		got[im.name] = limits(workers[0])
		if l := limits(m.pid()); slices.Equal(l, got[im.name]) {
			t.Errorf("%s: the master has the workers' limits: %q", im.name, l)
		}
		m.quit()
	}
	want := []string{"Max core file size 10485760 10485760 bytes", "Max open files 1234 1234 files", "cwd wd", "nice -5"}
	if diff := cmp.Diff(want, got["gonginx"]); diff != "" {
		t.Errorf("gonginx worker (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(got["nginx"], got["gonginx"]); diff != "" {
		t.Errorf("worker (-nginx +gonginx):\n%s", diff)
	}
}

// TestProcessRespawnKeepsConfig: a worker respawned after the files were
// edited on disk (no reload yet) serves the configuration being served, as
// nginx's forked worker does.
func TestProcessRespawnKeepsConfig(t *testing.T) {
	conf := strings.Replace(procWorkersConf, "worker_processes 2;", "worker_processes 1;\ninclude DIR/answer.conf;", 1)
	conf = strings.Replace(conf, `location / { return 200 "up\n"; }`, `location / { return 200 "$answer\n"; }`, 1)
	conf = strings.Replace(conf, "    access_log off;", "    access_log off;\n    map $uri $answer { include DIR/map/*.conf; }", 1)
	got := map[string][]string{}
	for _, im := range procImpls(t) {
		dir := procDir(t)
		os.WriteFile(filepath.Join(dir, "answer.conf"), []byte("# nothing\n"), 0o644)
		os.Mkdir(filepath.Join(dir, "map"), 0o755)
		os.WriteFile(filepath.Join(dir, "map", "a.conf"), []byte("default one;\n"), 0o644)
		port := freeTCPPort(t)
		m := startMaster(t, im, dir, conf, port)
		var first []int
		waitUntil(t, im.name+" worker", func() bool { first = children(m.pid()); return len(first) == 1 })
		_, before := get(t, port, "/")
		// Edited, not reloaded: the include and a globbed file change.
		os.WriteFile(filepath.Join(dir, "answer.conf"), []byte("bogus;\n"), 0o644)
		os.WriteFile(filepath.Join(dir, "map", "a.conf"), []byte("default two;\n"), 0o644)
		os.WriteFile(filepath.Join(dir, "map", "b.conf"), []byte("/x three;\n"), 0o644)
		syscall.Kill(first[0], syscall.SIGKILL)
		waitUntil(t, im.name+" respawned", func() bool {
			now := children(m.pid())
			return len(now) == 1 && now[0] != first[0]
		})
		_, after := get(t, port, "/")
		_, x := get(t, port, "/x")
		got[im.name] = []string{before, after, x}
		m.quit()
	}
	if diff := cmp.Diff([]string{"one\n", "one\n", "one\n"}, got["gonginx"]); diff != "" {
		t.Errorf("gonginx (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(got["nginx"], got["gonginx"]); diff != "" {
		t.Errorf("(-nginx +gonginx):\n%s", diff)
	}
}

// TestProcessSharedCounters: with two workers, $connection numbers stay
// unique and stub_status counts every worker's connections, as nginx's
// counters in shared memory.
func TestProcessSharedCounters(t *testing.T) {
	conf := strings.Replace(procWorkersConf, `location / { return 200 "up\n"; }`,
		`location / { return 200 "$connection\n"; }
        location = /status { stub_status; }`, 1)
	type result struct {
		Distinct, Connections int
		Accepted              bool
	}
	got := map[string]result{}
	for _, im := range procImpls(t) {
		dir := procDir(t)
		port := freeTCPPort(t)
		m := startMaster(t, im, dir, conf, port)
		waitUntil(t, im.name+" 2 workers", func() bool { return len(children(m.pid())) == 2 })
		const n = 40
		seen := map[string]bool{}
		for i := 0; i < n; i++ {
			_, body := get(t, port, "/")
			seen[body] = true
		}
		_, status := get(t, port, "/status")
		// "server accepts handled requests\n A H R": at least every
		// connection of this loop, whichever worker took it.
		accepted := 0
		if f := strings.Fields(strings.SplitN(status, "\n", 4)[2]); len(f) == 3 {
			accepted, _ = strconv.Atoi(f[0])
		}
		got[im.name] = result{len(seen), n, accepted > n}
		m.quit()
	}
	if diff := cmp.Diff(result{40, 40, true}, got["gonginx"]); diff != "" {
		t.Errorf("gonginx (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(got["nginx"], got["gonginx"]); diff != "" {
		t.Errorf("(-nginx +gonginx):\n%s", diff)
	}
}
