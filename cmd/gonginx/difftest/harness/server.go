package harness

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Impl is one server implementation under test.
type Impl struct {
	Name string
	Bin  string
	// Nginx wraps the fragment the way a stock Debian nginx.conf includes conf.d/*.conf and runs
	// nginx on the wrapper; otherwise Bin runs the fragment itself (gonginx -p DIR/ -c DIR/fragment.conf).
	Nginx bool
	// Override, when set, replaces the case's config and files for this implementation only
	// (the requests stay the same): used to check that the harness notices a difference.
	Override *Case
	// NginxEvents replaces the wrapper's "events {}" and NginxGlobal is added to -g; the load
	// test needs more than the default 512 worker_connections. Set for gonginx, it runs the same
	// wrapper as nginx (a fragment alone gets an empty events{}, gonginx counting connections as nginx).
	NginxEvents string
	NginxGlobal string
}

// NginxBin is where Debian's package installs nginx.
const NginxBin = "/usr/sbin/nginx"

// nginxWrapper is a stock-Debian-like nginx.conf around the fragment under test.
// Debian's logs at the http level to /var/log/nginx/access.log, which a
// fragment's own http-level access_log adds to; /dev/null keeps that (an
// "off" there would silence the fragment's line: off wins at its level)
// without writing to the shared file. Its format is not "combined", which
// gonginx's stock http block does not count as used (nginx compiles that
// format only when some access_log names it exactly).
const nginxWrapper = `{{EVENTS}}
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    log_format harness_null_format '$status';
    access_log /dev/null harness_null_format;
    error_log stderr;
    include fragment.conf;
}
`

// FixedTime is the mtime given to every copied file so ETag and Last-Modified match between runs.
var FixedTime = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

// process is one running server, stopped by pid.
type process struct {
	cmd    *exec.Cmd
	out    *lockedBuffer
	exited chan struct{}
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (im Impl) command(dir string) (*exec.Cmd, error) {
	cmd, err := im.commandIn(dir)
	if err != nil {
		return nil, err
	}
	// Relative paths a config names outside the prefix (a unix socket
	// "unix:a.sock") are the run's own.
	cmd.Dir = dir
	if frag, _ := os.ReadFile(filepath.Join(dir, "fragment.conf")); bytes.Contains(frag, []byte("listen unix:")) {
		// Sockets the root master binds, workers running as nobody
		// connect to: made with umask 0 so nobody may.
		cmd.Args = append([]string{"/bin/sh", "-c", `umask 0; exec "$0" "$@"`}, cmd.Args...)
		cmd.Path = "/bin/sh"
	}
	return cmd, nil
}

func (im Impl) commandIn(dir string) (*exec.Cmd, error) {
	if im.Nginx || im.NginxEvents != "" {
		conf := filepath.Join(dir, "nginx.conf")
		events := im.NginxEvents
		if events == "" {
			events = "events {}"
		}
		if err := os.WriteFile(conf, []byte(strings.Replace(nginxWrapper, "{{EVENTS}}", events, 1)), 0o644); err != nil {
			return nil, fmt.Errorf("write nginx wrapper: %w", err)
		}
		return exec.Command(im.Bin, "-p", dir+"/", "-c", conf,
			"-g", "daemon off; pid "+filepath.Join(dir, "nginx.pid")+"; error_log stderr; "+im.NginxGlobal), nil
	}
	// In the foreground (nginx's default is to detach), so stop() can signal it by pid.
	return exec.Command(im.Bin, "-p", dir+"/", "-c", filepath.Join(dir, "fragment.conf"), "-g", "daemon off;"), nil
}

// start runs im on dir and waits until 127.0.0.1:port accepts connections
// on a socket of im's processes.
func (im Impl) start(dir string, port int) (*process, error) {
	cmd, err := im.command(dir)
	if err != nil {
		return nil, err
	}
	p := &process{cmd: cmd, out: &lockedBuffer{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	// Own process group: if the server ignores SIGTERM, its workers go with it on SIGKILL.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := StartGuarded(cmd); err != nil {
		return nil, fmt.Errorf("start %s: %w", im.Name, err)
	}
	go func() { cmd.Wait(); close(p.exited) }()
	addr := "127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-p.exited:
			return nil, fmt.Errorf("%s exited before listening on %s (%v):\n%s", im.Name, addr, cmd.ProcessState, p.out.String())
		default:
		}
		// The listener must be the server's own before the one probe
		// connection is made: a probe that reached it too early and had to
		// be made again was a second "client closed connection" line, and a
		// connection number more, in the server's log only. The dial's
		// time is long for the same reason: on a loaded machine a connect
		// the kernel completed could time out in the dialer, and the next
		// probe was a second connection.
		if listenersOwned(cmd.Process.Pid, port) {
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err == nil {
				c.Close()
				return p, nil
			}
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("%s not listening on %s after 15s:\n%s", im.Name, addr, p.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop sends SIGTERM to the server's pid, and SIGKILL to its own process group if it lingers.
func (p *process) stop() {
	pid := p.cmd.Process.Pid
	_ = syscall.Kill(pid, syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		<-p.exited
	}
}

// freePort returns a port that was free on all addresses (both IPv4 and IPv6) a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", ":0")
	if err != nil {
		return 0, fmt.Errorf("pick a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// prepare makes a prefix dir readable by nginx's unprivileged workers, with the case's files.
func prepare(c Case, assets, fragment string) (string, error) {
	dir, err := os.MkdirTemp("", "difftest-")
	if err != nil {
		return "", fmt.Errorf("temp dir: %w", err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return dir, fmt.Errorf("chmod %s: %w", dir, err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "html"), 0o755); err != nil {
		return dir, fmt.Errorf("html dir: %w", err)
	}
	for _, name := range c.Files {
		data, err := os.ReadFile(filepath.Join(assets, name))
		if err != nil {
			return dir, fmt.Errorf("case file: %w", err)
		}
		if err := writeFixed(filepath.Join(dir, name), data); err != nil {
			return dir, err
		}
	}
	for name, content := range c.Content {
		if err := writeFixed(filepath.Join(dir, name), []byte(content)); err != nil {
			return dir, err
		}
	}
	// The directories made for those files get FixedTime too: autoindex
	// lists them with their mtime (the JSON and XML formats to the
	// second), and the two runs' prefixes are made a moment apart.
	err = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() || p == dir {
			return err
		}
		return os.Chtimes(p, FixedTime, FixedTime)
	})
	if err != nil {
		return dir, fmt.Errorf("chtimes: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "fragment.conf"), []byte(ownTempPaths(fragment)), 0o644); err != nil {
		return dir, fmt.Errorf("write fragment: %w", err)
	}
	if c.Setup != nil {
		if err := c.Setup(dir); err != nil {
			return dir, fmt.Errorf("case setup: %w", err)
		}
	}
	return dir, nil
}

// tempPathKinds are the http temp paths whose compiled-in defaults
// (/var/lib/nginx/...) every run of either server would otherwise share.
var tempPathKinds = []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"}

// ownTempPaths gives each top-level server block of an http fragment the
// run's own temp paths (in its prefix dir) for the kinds the fragment does
// not name: in the shared defaults, parallel runs' files (and one left by a
// killed run) collide on their numbered names, and nginx then numbers on at
// random, which shows in what temp numbers feed (a multipart boundary).
func ownTempPaths(fragment string) string {
	var set strings.Builder
	for _, kind := range tempPathKinds {
		if !strings.Contains(fragment, kind+"_temp_path") {
			set.WriteString(" " + kind + "_temp_path " + kind + "_temp;")
		}
	}
	if set.Len() == 0 {
		return fragment
	}
	lines := strings.SplitAfter(fragment, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "server {") && strings.TrimSpace(l) == "server {" {
			lines[i] = strings.TrimRight(l, "\n") + set.String() + "\n"
		}
	}
	return strings.Join(lines, "")
}

func writeFixed(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("mkdir for %s: %w", path, err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chtimes(path, FixedTime, FixedTime); err != nil {
		return fmt.Errorf("chtimes %s: %w", path, err)
	}
	return nil
}
