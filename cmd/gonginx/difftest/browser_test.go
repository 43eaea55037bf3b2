package difftest

import (
	"bufio"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
	"github.com/gonginx/gonginx/examples/article/backend"
	"github.com/google/go-cmp/cmp"
)

// browserCheckPage is served next to the article's page: it fetches the
// article's page and echoes a WebSocket message through the article's
// /api/socket/ location, and says how each went on the console.
const browserCheckPage = `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>browser check</title></head><body><script>
(async () => {
  try {
    const r = await fetch('/');
    const t = await r.text();
    console.log('BROWSERCHECK page ' + r.status + ' ' + (t.includes('<h1>gonginx article example</h1>') ? 'ok' : 'bad'));
  } catch (e) {
    console.log('BROWSERCHECK page error ' + e);
  }
  const ws = new WebSocket('wss://' + location.host + '/api/socket/echo');
  ws.onopen = () => ws.send('hello from chromium');
  ws.onmessage = (m) => { console.log('BROWSERCHECK ws ' + m.data); ws.close(); };
  ws.onerror = () => console.log('BROWSERCHECK ws error');
})();
</script></body></html>
`

// chromiumBin finds Debian's chromium; CI (which installs it in .ci/run)
// fails without it, elsewhere the test skips loudly.
func chromiumBin(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is required in CI (.ci/run installs it)")
	}
	t.Skip("!!! SKIPPING: chromium not found (apt-get install -y chromium); the real-browser check did NOT run !!!")
	return ""
}

// TestBrowserArticle: a real browser (headless Chromium) loads a page
// over h2 and over HTTP/1.1 from gonginx running the article's
// WebSocket config, fetches the article's page and echoes a WebSocket
// message through the proxy; the browser's console and gonginx's access
// log say what happened and over which protocol.
func TestBrowserArticle(t *testing.T) {
	chromium := chromiumBin(t)
	if serveBuildErr != nil {
		t.Fatal(serveBuildErr)
	}
	assets := serveAssets(t)
	// Workers started by root run as nobody (nginx's default user): the
	// prefix must be theirs to read, which t.TempDir's is not.
	dir, err := os.MkdirTemp("", "browser-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	for _, f := range []string{"server.pem", "server.key", "html/index.html"} {
		b, err := os.ReadFile(filepath.Join(assets, f))
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "html/browser-check.html"), []byte(browserCheckPage), 0o644)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go backend.Serve(ln, nil)

	// The article's config as it is, on free ports: one listen with
	// http2 (ALPN h2), one without (HTTP/1.1), and the backend's port.
	ports := browserFreePorts(t, 2)
	h2Port, h1Port := ports[0], ports[1]
	conf, err := os.ReadFile(filepath.Join(assets, "default.conf"))
	if err != nil {
		t.Fatal(err)
	}
	c := strings.Replace(string(conf), "listen 9000 ssl;",
		"listen 127.0.0.1:"+strconv.Itoa(h2Port)+" ssl http2;\n  listen 127.0.0.1:"+strconv.Itoa(h1Port)+" ssl;", 1)
	c = strings.Replace(c, "listen [::]:9000 ssl;", "", 1)
	c = strings.Replace(c, "127.0.0.1:32000", ln.Addr().String(), 1)
	if c == string(conf) || strings.Contains(c, ":9000 ") || strings.Contains(c, "listen 9000") {
		t.Fatal("default.conf changed: the listen lines were not found")
	}
	os.WriteFile(filepath.Join(dir, "default.conf"), []byte(c), 0o644)
	os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(`pid nginx.pid;
events {}
http {
    types { text/html html; }
    log_format check '$server_port $server_protocol "$request" $status';
    access_log access.log check;
    include default.conf;
}
`), 0o644)
	srv := exec.Command(serveGonginxBin, "-p", dir+"/", "-c", filepath.Join(dir, "nginx.conf"), "-g", "daemon off;")
	srv.Stderr = os.Stderr
	if err := harness.StartGuarded(srv); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { srv.Wait(); close(exited) }()
	defer func() {
		srv.Process.Signal(syscall.SIGTERM)
		<-exited
	}()
	// 15 s as the harness waits for a server: a loaded machine (load
	// 10-20 on 2 cores) starts one in seconds.
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(25 * time.Millisecond) {
		if nc, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(h1Port)); err == nil {
			nc.Close()
			break
		}
		select {
		case <-exited:
			t.Fatal("gonginx exited before listening")
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("gonginx is not listening after 15s")
		}
	}

	want := []string{"BROWSERCHECK page 200 ok", "BROWSERCHECK ws hello from chromium"}
	for _, port := range []int{h2Port, h1Port} {
		got := runChromium(t, chromium, "https://localhost:"+strconv.Itoa(port)+"/browser-check.html", len(want))
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("port %d: console (-want +got):\n%s", port, diff)
		}
	}

	// The access log: each page over its port's protocol; the WebSocket
	// over HTTP/1.1 on both (nginx 1.22 has no WebSocket over h2, so the
	// browser opens an HTTP/1.1 connection for it).
	srv.Process.Signal(syscall.SIGQUIT)
	<-exited
	log, _ := os.ReadFile(filepath.Join(dir, "access.log"))
	seen := map[string]bool{}
	for _, line := range strings.Split(string(log), "\n") {
		seen[line] = true
	}
	var missing []string
	for _, l := range []string{
		strconv.Itoa(h2Port) + ` HTTP/2.0 "GET /browser-check.html HTTP/2.0" 200`,
		strconv.Itoa(h2Port) + ` HTTP/2.0 "GET / HTTP/2.0" 200`,
		strconv.Itoa(h2Port) + ` HTTP/1.1 "GET /api/socket/echo HTTP/1.1" 101`,
		strconv.Itoa(h1Port) + ` HTTP/1.1 "GET /browser-check.html HTTP/1.1" 200`,
		strconv.Itoa(h1Port) + ` HTTP/1.1 "GET / HTTP/1.1" 200`,
		strconv.Itoa(h1Port) + ` HTTP/1.1 "GET /api/socket/echo HTTP/1.1" 101`,
	} {
		if !seen[l] {
			missing = append(missing, l)
		}
	}
	if len(missing) > 0 {
		t.Errorf("access log lacks %q; it has:\n%s", missing, log)
	}
}

// browserFreePorts returns n distinct free ports: each listener stays open
// until all are chosen (one closed at once was given again: "a duplicate
// listen" in gonginx's config).
func browserFreePorts(t *testing.T, n int) []int {
	var ports []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// runChromium opens url in headless Chromium and returns the page's
// BROWSERCHECK console lines, once n have come (or after a minute); then
// it stops the browser and its helpers (their own process group).
//
// It takes a second or two here; it once loaded nothing in 15 s under a
// full test run on a loaded machine (its first start: browser, zygote,
// GPU, network and renderer processes want CPU seconds that load 20 on
// 2 cores gives slowly). A browser that works ends the wait at once.
func runChromium(t *testing.T, bin, url string, n int) []string {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless=new", "--no-sandbox", "--disable-gpu",
		"--ignore-certificate-errors", "--no-first-run", "--disable-extensions", "--disable-sync",
		"--disable-background-networking", "--user-data-dir="+t.TempDir(),
		"--enable-logging=stderr", "--v=0", url)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := harness.StartGuarded(cmd); err != nil {
		t.Fatal(err)
	}
	var got, all []string
	sc := bufio.NewScanner(stderr)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for len(got) < n && sc.Scan() {
		line := sc.Text()
		all = append(all, line)
		// [pid:tid:time:INFO:CONSOLE(n)] "BROWSERCHECK ...", source: URL (n)
		if i := strings.Index(line, `"BROWSERCHECK `); i >= 0 && strings.Contains(line, "CONSOLE") {
			msg := line[i+1:]
			if j := strings.Index(msg, `", source:`); j >= 0 {
				msg = msg[:j]
			}
			got = append(got, msg)
		}
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	go func() {
		for sc.Scan() { // drain until the pipe closes
		}
	}()
	cmd.Wait()
	if len(got) < n {
		t.Logf("chromium's stderr (%v):\n%s", time.Since(start).Round(time.Millisecond), strings.Join(all, "\n"))
	}
	return got
}
