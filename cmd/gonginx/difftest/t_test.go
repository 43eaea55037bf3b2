package difftest

// The -t differential test: every config under testdata/t goes through
// `nginx -t` and `gonginx -t`, and the exit code and each stderr line must
// match once the program name, nginx's log prefix and the temp directory
// are normalized. A case is testdata/t/NAME.conf, or a directory
// testdata/t/NAME/ whose nginx.conf may include the other files in it.
// Each case runs in a fresh copy with an example certificate (cert.pem,
// key.pem) generated beside it; "@MODULES@" in a config is replaced by the
// directory of nginx's dynamic modules (stream, mail).

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

const tCasesDir = "testdata/t"

// tNginxPrefix is the time/pid prefix of nginx's error log on stderr
// (Debian builds with --error-log-path=stderr), which stands where
// "nginx: " stands before the log is open.
var tNginxPrefix = regexp.MustCompile(`^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[(\w+)\] \d+#\d+: `)

// tResult is what -t said: exit code and normalized stderr lines.
type tResult struct {
	Code  int
	Lines []string
}

// tNormalize makes one program's output comparable with the other's.
func tNormalize(out []byte, prog string, paths map[string]string) []string {
	var lines []string
	for _, l := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		if l == "" {
			continue
		}
		l = tNginxPrefix.ReplaceAllString(l, prog+": [$1] ")
		if rest, ok := strings.CutPrefix(l, prog+": "); ok {
			l = "PROG: " + rest
		}
		// Longest path first, so a directory does not eat its file.
		keys := make([]string, 0, len(paths))
		for k := range paths {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return len(keys[i]) > len(keys[j]) })
		for _, k := range keys {
			l = strings.ReplaceAll(l, k, paths[k])
		}
		lines = append(lines, l)
	}
	return lines
}

// tRun runs one program's -t and normalizes its output.
func tRun(t *testing.T, prog, bin string, args []string, paths map[string]string) tResult {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	done := make(chan struct{})
	var out []byte
	go func() {
		out, _ = cmd.CombinedOutput()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("%s -t did not finish in 30s", prog)
	}
	return tResult{Code: cmd.ProcessState.ExitCode(), Lines: tNormalize(out, prog, paths)}
}

// tRequireNginx fails in CI and skips loudly elsewhere when nginx is missing.
func tRequireNginx(t *testing.T) string {
	t.Helper()
	const bin = "/usr/sbin/nginx"
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("nginx is required in CI (apt-get install -y nginx): %v", err)
		}
		t.Skipf("!!! SKIPPING the -t differential test: nginx not found at %s (apt-get install -y nginx) !!!", bin)
	}
	return bin
}

// tGonginx is the gonginx binary TestMain built; with DIFFTEST_SELF=1 it
// is nginx again, to check that the cases themselves are deterministic.
func tGonginx(t *testing.T) string {
	t.Helper()
	if os.Getenv("DIFFTEST_SELF") == "1" {
		return "/usr/sbin/nginx"
	}
	if serveBuildErr != nil {
		t.Fatal(serveBuildErr)
	}
	return serveGonginxBin
}

// tModulesDir is where nginx's dynamic modules are, or "".
func tModulesDir() string {
	for _, d := range []string{os.Getenv("GONGINX_NGINX_MODULES"), "/usr/lib/nginx/modules"} {
		if d == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(d, "ngx_stream_module.so")); err == nil {
			return d
		}
	}
	return ""
}

// tCopyCase copies a case (file or directory) into dir as dir/nginx.conf
// plus its other files, and writes an example certificate.
func tCopyCase(t *testing.T, src, dir, modules string) {
	t.Helper()
	copyFile := func(from, to string) {
		data, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		data = []byte(strings.ReplaceAll(string(data), "@MODULES@", modules))
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if fi, err := os.Stat(src); err == nil && fi.IsDir() {
		err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
			if err != nil || fi.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(src, p)
			copyFile(p, filepath.Join(dir, rel))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	} else {
		copyFile(src, filepath.Join(dir, "nginx.conf"))
	}
	for _, sub := range []string{"logs", "html"} {
		os.MkdirAll(filepath.Join(dir, sub), 0o755)
	}
	tWriteCert(t, dir)
}

// tWriteCert writes a self-signed example certificate for localhost as
// cert.pem and key.pem.
func tWriteCert(t *testing.T, dir string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost", "example.com"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "cert.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
}

// tProgName is the name a binary prints before its messages.
func tProgName(bin string) string { return filepath.Base(bin) }

// tCompare runs both programs with the same arguments and reports any
// difference, line by line.
func tCompare(t *testing.T, nginx, gonginx tResult) {
	t.Helper()
	if nginx.Code != gonginx.Code {
		t.Errorf("exit code: nginx %d, gonginx %d", nginx.Code, gonginx.Code)
	}
	n := max(len(nginx.Lines), len(gonginx.Lines))
	for i := 0; i < n; i++ {
		var a, b string
		if i < len(nginx.Lines) {
			a = nginx.Lines[i]
		}
		if i < len(gonginx.Lines) {
			b = gonginx.Lines[i]
		}
		if a != b {
			t.Errorf("line %d:\n  nginx:   %q\n  gonginx: %q", i+1, a, b)
		}
	}
	if t.Failed() {
		t.Logf("nginx said:\n  %s\ngonginx said:\n  %s", strings.Join(nginx.Lines, "\n  "), strings.Join(gonginx.Lines, "\n  "))
	}
}

// tCaseNames lists the cases under testdata/t.
func tCaseNames(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(tCasesDir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() || strings.HasSuffix(e.Name(), ".conf") {
			names = append(names, e.Name())
		}
	}
	return names
}

func TestTDifferential(t *testing.T) {
	// Beside the serving tests (free ports): its cases listen on fixed
	// ports (18080, ...), one after another, and the other -t tests that
	// bind fixed ports do not call t.Parallel.
	t.Parallel()
	nginxBin := tRequireNginx(t)
	gonginxBin := tGonginx(t)
	modules := tModulesDir()
	names := tCaseNames(t)
	if len(names) < 80 {
		t.Errorf("only %d -t cases; the issue asks for at least 80", len(names))
	}
	for _, name := range names {
		t.Run(strings.TrimSuffix(name, ".conf"), func(t *testing.T) {
			src := filepath.Join(tCasesDir, name)
			if strings.HasPrefix(name, "stream_") || strings.HasPrefix(name, "mail_") {
				if modules == "" {
					t.Skipf("!!! nginx's stream/mail modules are not installed (apt-get install libnginx-mod-stream libnginx-mod-mail, or set GONGINX_NGINX_MODULES); case not compared !!!")
				}
			}
			dir := t.TempDir()
			tCopyCase(t, src, dir, modules)
			conf := filepath.Join(dir, "nginx.conf")
			args := []string{"-t", "-p", dir + "/", "-c", conf}
			paths := map[string]string{dir: "DIR"}
			want := tRun(t, "nginx", nginxBin, args, paths)
			got := tRun(t, tProgName(gonginxBin), gonginxBin, args, paths)
			if testing.Verbose() {
				t.Logf("nginx (exit %d):\n  %s", want.Code, strings.Join(want.Lines, "\n  "))
			}
			tCompare(t, want, got)
		})
	}
}

// TestTSystemConfigs runs both programs on the configs Debian's nginx
// package installs, read from the system at test time.
func TestTSystemConfigs(t *testing.T) {
	nginxBin := tRequireNginx(t)
	gonginxBin := tGonginx(t)
	t.Run("etc-nginx-nginx.conf", func(t *testing.T) {
		const conf = "/etc/nginx/nginx.conf"
		if _, err := os.Stat(conf); err != nil {
			t.Fatalf("Debian's %s is missing: %v", conf, err)
		}
		args := []string{"-t", "-c", conf}
		tCompare(t, tRun(t, "nginx", nginxBin, args, nil), tRun(t, tProgName(gonginxBin), gonginxBin, args, nil))
	})
	t.Run("sites-available-default", func(t *testing.T) {
		const site = "/etc/nginx/sites-available/default"
		if _, err := os.Stat(site); err != nil {
			t.Fatalf("Debian's %s is missing: %v", site, err)
		}
		// nginx reads the site as nginx.conf includes it; gonginx reads
		// the fragment itself, as a conf.d file is meant to be used.
		dir := t.TempDir()
		wrapper := filepath.Join(dir, "nginx.conf")
		os.MkdirAll(filepath.Join(dir, "logs"), 0o755)
		text := "events {}\nhttp {\ninclude /etc/nginx/mime.types;\ninclude " + site + ";\n}\n"
		if err := os.WriteFile(wrapper, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		want := tRun(t, "nginx", nginxBin, []string{"-t", "-p", dir + "/", "-c", wrapper}, map[string]string{wrapper: "CONF", dir: "DIR"})
		conf := site
		if os.Getenv("DIFFTEST_SELF") == "1" {
			conf = wrapper // nginx cannot read a fragment by itself
		}
		got := tRun(t, tProgName(gonginxBin), gonginxBin, []string{"-t", "-p", dir + "/", "-c", conf}, map[string]string{conf: "CONF", dir: "DIR"})
		tCompare(t, want, got)
	})
}

// TestTFragmentStockTypes: a conf.d fragment read by gonginx itself warns
// as nginx does when Debian's nginx.conf includes it after the stock
// mime.types: every extension listed again, with the file and line of the
// list that repeats it (an include of mime.types names mime.types).
func TestTFragmentStockTypes(t *testing.T) {
	nginxBin := tRequireNginx(t)
	gonginxBin := tGonginx(t)
	fragments := map[string]string{
		"include-mime-types": "include /etc/nginx/mime.types;\nserver {\n    listen 127.0.0.1:18080;\n}\n",
		"types-block": "types {\n    text/plain html txt;\n    application/x-gonginx gnx;\n}\n" +
			"server {\n    listen 127.0.0.1:18080;\n    types { text/html html; }\n}\n",
		"no-duplicates": "types { application/x-gonginx gnx; }\nserver { listen 127.0.0.1:18080; }\n",
		// A docker-compose service name that does not resolve here: the
		// *_pass hosts are resolved at the end of http{}, before the
		// server's certificate is loaded, also for a fragment.
		"pass-host-before-certificate": "server {\n    listen 127.0.0.1:18443 ssl;\n" +
			"    ssl_certificate missing.pem;\n    ssl_certificate_key missing.key;\n" +
			"    location ~ \\.php$ { fastcgi_pass php.invalid:9000; }\n}\n",
	}
	for name, text := range fragments {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			os.MkdirAll(filepath.Join(dir, "logs"), 0o755)
			os.MkdirAll(filepath.Join(dir, "conf.d"), 0o755)
			site := filepath.Join(dir, "conf.d", "site.conf")
			if err := os.WriteFile(site, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			wrapper := filepath.Join(dir, "nginx.conf")
			stock := "events {}\nhttp {\n    include /etc/nginx/mime.types;\n    default_type application/octet-stream;\n    include " +
				filepath.Join(dir, "conf.d", "*.conf") + ";\n}\n"
			if err := os.WriteFile(wrapper, []byte(stock), 0o644); err != nil {
				t.Fatal(err)
			}
			conf := site
			if os.Getenv("DIFFTEST_SELF") == "1" {
				conf = wrapper
			}
			want := tRun(t, "nginx", nginxBin, []string{"-t", "-p", dir + "/", "-c", wrapper}, map[string]string{wrapper: "CONF", dir: "DIR"})
			got := tRun(t, tProgName(gonginxBin), gonginxBin, []string{"-t", "-p", dir + "/", "-c", conf}, map[string]string{wrapper: "CONF", dir: "DIR"})
			// gonginx names the file it was given in its closing lines.
			for i, l := range got.Lines {
				got.Lines[i] = strings.Replace(l, "file DIR/conf.d/site.conf ", "file CONF ", 1)
			}
			tCompare(t, want, got)
		})
	}
}
