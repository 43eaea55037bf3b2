package main

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// debianUnit is Debian's systemd unit for nginx (package nginx-common).
const debianUnit = "/lib/systemd/system/nginx.service"

// TestServiceUnits runs the commands of Debian's nginx.service with
// gonginx installed as /usr/sbin/nginx, and of examples/systemd's unit
// with gonginx where it names it: ExecStartPre (-t -q), ExecStart
// (Type=forking: the command returns once the daemon serves and its
// PIDFile is written), ExecReload (-s reload) and ExecStop
// (start-stop-daemon --retry QUIT/5), and between them the init script's
// "upgrade" (USR2, wait for both pid files, QUIT to .oldbin, matching the
// process by --name). Only the configuration and pid file paths are the
// test's own (-c appended, the PIDFile's path replaced).
func TestServiceUnits(t *testing.T) {
	unit, err := os.ReadFile(debianUnit)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is installed with nginx by .ci/run: %v", debianUnit, err)
		}
		t.Skipf("no %s (apt-get install nginx)", debianUnit)
	}
	t.Run("debian", func(t *testing.T) { runUnit(t, string(unit), "/usr/sbin/nginx", "nginx") })
	ours, err := os.ReadFile("../../examples/systemd/gonginx.service")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("examples", func(t *testing.T) { runUnit(t, string(ours), "/usr/local/bin/gonginx", "gonginx") })
}

// runUnit runs unit's commands with the binary installed as name in
// place of installed.
func runUnit(t *testing.T, unit, installed, name string) {
	ssd, err := exec.LookPath("start-stop-daemon")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	nginx := filepath.Join(dir, name)
	copyFile(t, binary, nginx)
	pidFile := filepath.Join(dir, "nginx.pid")
	addr := "127.0.0.1:" + freePort(t)
	conf := filepath.Join(dir, "nginx.conf")
	writeText := func(text string) {
		os.WriteFile(conf, []byte("pid "+pidFile+";\nerror_log "+filepath.Join(dir, "error.log")+" notice;\nevents {}\nhttp {\naccess_log off;\nserver {\nlisten "+
			addr+";\nlocation / { return 200 \""+text+"\"; }\n}\n}\n"), 0o644)
	}
	writeText("one")
	t.Cleanup(func() {
		for _, p := range []string{pidFile, pidFile + ".oldbin"} {
			if b, err := os.ReadFile(p); err == nil {
				if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
					syscall.Kill(pid, syscall.SIGKILL)
				}
			}
		}
	})

	commands := unitCommands(t, unit)
	run := func(key string) {
		t.Helper()
		args := commands[key]
		if len(args) == 0 {
			t.Fatalf("no %s in %s", key, debianUnit)
		}
		for i, a := range args {
			switch a {
			case installed:
				args[i] = nginx
			case "/run/nginx.pid":
				args[i] = pidFile
			}
		}
		if args[0] == nginx {
			args = append(args, "-c", conf)
		}
		out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
		if err != nil && !strings.HasPrefix(commandsRaw(unit, key), "-") {
			t.Fatalf("%s %q: %v\n%s", key, args, err, out)
		}
	}

	run("ExecStartPre")
	run("ExecStart")
	// Type=forking: the pid file names the daemon once ExecStart returns.
	master := readPid(t, pidFile)
	if syscall.Kill(master, 0) != nil {
		t.Fatalf("pid file names %d, not running", master)
	}
	waitServing(t, addr, "/", "one")

	writeText("two")
	run("ExecReload")
	waitServing(t, addr, "/", "two")

	// /etc/init.d/nginx upgrade, step by step.
	if out, err := exec.Command(ssd, "--stop", "--signal", "USR2", "--quiet", "--pidfile", pidFile, "--name", name).CombinedOutput(); err != nil {
		t.Fatalf("USR2: %v %s", err, out)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if nonEmpty(pidFile+".oldbin") && nonEmpty(pidFile) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the init script's upgrade would give up: no pid and .oldbin files")
		}
	}
	if out, err := exec.Command(ssd, "--stop", "--signal", "QUIT", "--quiet", "--pidfile", pidFile+".oldbin", "--name", name).CombinedOutput(); err != nil {
		t.Fatalf("QUIT to .oldbin: %v %s", err, out)
	}
	waitGone(t, master)
	waitServing(t, addr, "/", "two")
	upgraded := readPid(t, pidFile)
	if upgraded == master {
		t.Fatal("the pid file still names the old master")
	}

	run("ExecStop")
	waitGone(t, upgraded)
	if _, err := os.Stat(pidFile); !os.IsNotExist(err) {
		t.Errorf("pid file left after ExecStop: %v", err)
	}
}

// unitCommands reads the Exec* lines of a unit, split as systemd splits
// them (single and double quotes), without their "-" prefix.
func unitCommands(t *testing.T, unit string) map[string][]string {
	out := map[string][]string{}
	sc := bufio.NewScanner(strings.NewReader(unit))
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), "=")
		if !ok || !strings.HasPrefix(key, "Exec") {
			continue
		}
		out[key] = splitQuoted(strings.TrimPrefix(value, "-"))
	}
	return out
}

func commandsRaw(unit, key string) string {
	for _, line := range strings.Split(unit, "\n") {
		if v, ok := strings.CutPrefix(line, key+"="); ok {
			return v
		}
	}
	return ""
}

func splitQuoted(s string) []string {
	var args []string
	var cur strings.Builder
	var quote rune
	inArg := false
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, inArg = r, true
		case r == ' ' || r == '\t':
			if inArg {
				args = append(args, cur.String())
				cur.Reset()
				inArg = false
			}
		default:
			cur.WriteRune(r)
			inArg = true
		}
	}
	if inArg {
		args = append(args, cur.String())
	}
	return args
}

func readPid(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	pid, perr := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || perr != nil {
		t.Fatalf("pid file %s: %q %v", path, b, err)
	}
	return pid
}

func nonEmpty(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Size() > 0
}

func copyFile(t *testing.T, from, to string) {
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	out.Close()
}

// TestDockerExampleConfig: the image's configuration (examples/docker)
// passes -t with nginx's mime.types, moved from /etc/nginx to a temp dir
// (no Docker daemon is needed to check it).
func TestDockerExampleConfig(t *testing.T) {
	mime, err := os.ReadFile("/etc/nginx/mime.types")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("/etc/nginx/mime.types is installed with nginx by .ci/run: %v", err)
		}
		t.Skip("no /etc/nginx/mime.types (apt-get install nginx)")
	}
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "conf.d"), 0o755)
	os.WriteFile(filepath.Join(dir, "mime.types"), mime, 0o644)
	for _, f := range []string{"nginx.conf", "default.conf"} {
		b, err := os.ReadFile(filepath.Join("../../examples/docker", f))
		if err != nil {
			t.Fatal(err)
		}
		text := strings.ReplaceAll(string(b), "/etc/nginx/", dir+"/")
		text = strings.ReplaceAll(text, "listen 80;", "listen 127.0.0.1:"+freePort(t)+";")
		dst := filepath.Join(dir, f)
		if f == "default.conf" {
			dst = filepath.Join(dir, "conf.d", f)
		}
		os.WriteFile(dst, []byte(text), 0o644)
	}
	got := runBin(t, "-t", "-c", filepath.Join(dir, "nginx.conf"))
	if got.Code != 0 || strings.Contains(got.Stderr, "[warn]") {
		t.Errorf("-t on the image's configuration: %+v", got)
	}
}
