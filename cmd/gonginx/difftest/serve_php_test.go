package difftest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// PHP-FPM, Debian's php-fpm, behind nginx and gonginx: one pool of the
// test's own serves a small front-controller app through Debian's
// snippets/fastcgi-php.conf, and both servers' responses are compared.

const phpFPMBin = "/usr/sbin/php-fpm8.2"

// startPHPFPM runs a php-fpm pool of 4 children on a free loopback port
// until the test ends (stopped by its pid).
func startPHPFPM(t testing.TB) string {
	t.Helper()
	return startPHPFPMChildren(t, 4)
}

// startPHPFPMChildren is startPHPFPM with n children: a kept FastCGI
// connection (fastcgi_keep_conn) holds one, idle in a keepalive pool or
// not, and one more waits in the backlog for a free child.
func startPHPFPMChildren(t testing.TB, n int) string {
	t.Helper()
	if _, err := os.Stat(phpFPMBin); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("php-fpm is required in CI (.ci/run installs it): %v", err)
		}
		t.Skipf("!!! SKIPPING: php-fpm not found at %s (apt-get install -y php-fpm); the PHP differential tests did NOT run !!!", phpFPMBin)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	user := ""
	if os.Geteuid() == 0 {
		user = "user = nobody\ngroup = nogroup\n"
	}
	conf := fmt.Sprintf(`[global]
pid = %[1]s/fpm.pid
error_log = %[1]s/fpm.log
daemonize = no
[app]
%[2]slisten = %[3]s
pm = static
pm.max_children = %[4]d
catch_workers_output = no
php_admin_value[log_errors] = On
php_admin_value[display_errors] = Off
php_admin_value[error_reporting] = E_ALL
php_admin_value[upload_tmp_dir] = /tmp
`, dir, user, addr, n)
	if err := os.WriteFile(filepath.Join(dir, "fpm.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(phpFPMBin, "--nodaemonize", "--fpm-config", filepath.Join(dir, "fpm.conf"), "-n", "-R")
	if err := harness.StartGuarded(cmd); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// SIGTERM: the master stops its workers before it exits (a
		// SIGKILL would leave them running).
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return addr
		}
		if i == 100 {
			log, _ := os.ReadFile(filepath.Join(dir, "fpm.log"))
			t.Fatalf("php-fpm does not listen on %s: %s", addr, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

const phpApp = `<?php
$pi = $_SERVER['PATH_INFO'] ?? '';
switch ($_GET['a'] ?? '') {
case 'redirect':
    header('Location: /index.php/target?from=redirect');
    exit;
case 'absolute':
    header('Location: http://example.com/elsewhere', true, 301);
    exit;
case 'status':
    http_response_code(418);
    echo "teapot\n";
    exit;
case 'headers':
    header('X-Multi: 1');
    header('X-Multi: 2', false);
    header('Content-Type: application/json');
    setcookie('c', 'v', 0, '/');
    echo '{"h":1}';
    exit;
case 'big':
    echo str_repeat("0123456789", 30000);
    exit;
case 'warn':
    error_log("app log line");
    echo "after\n";
    exit;
case 'fatal':
    undefined_function();
case 'length':
    header('Content-Length: 4');
    echo "abcdefgh";
    exit;
case 'slow':
    usleep(100000);
    echo "slow\n";
    exit;
case 'upload':
    foreach ($_FILES as $k => $f) {
        echo "$k: {$f['name']} {$f['size']} {$f['error']} " . md5_file($f['tmp_name']) . "\n";
    }
    foreach ($_POST as $k => $v) {
        echo "post $k=$v\n";
    }
    exit;
}
echo "script=" . $_SERVER['SCRIPT_NAME'] . " path_info=$pi method=" . $_SERVER['REQUEST_METHOD'] .
    " query=" . $_SERVER['QUERY_STRING'] . " uri=" . $_SERVER['REQUEST_URI'] . " host=" . $_SERVER['HTTP_HOST'] . "\n";
echo "body=" . file_get_contents('php://input') . "\n";
`

func TestServePHPFPM(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	fpm := startPHPFPM(t)
	snippet, err := os.ReadFile("/etc/nginx/snippets/fastcgi-php.conf")
	if err != nil {
		t.Fatal(err)
	}
	fcgiConf, err := os.ReadFile("/etc/nginx/fastcgi.conf")
	if err != nil {
		t.Fatal(err)
	}
	c := harness.Case{Name: "php-fpm", ErrorMessages: true,
		Content: map[string]string{
			"fastcgi.conf": string(fcgiConf), "snippets/fastcgi-php.conf": string(snippet),
			"html/index.php": phpApp, "html/static.txt": "static\n",
		},
		Config: `server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    root html;
    index index.php;
    location / {
        try_files $uri $uri/ /index.php?$args;
    }
    location ~ \.php(/|$) {
        include snippets/fastcgi-php.conf;
        fastcgi_pass ` + fpm + `;
    }
}
`}
	get := func(name, target string) harness.Request {
		return serveRaw(name, "GET "+target+" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
	}
	boundary := "XyZ"
	upload := "--" + boundary + "\r\nContent-Disposition: form-data; name=\"field\"\r\n\r\nvalue\r\n" +
		"--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\n" +
		"file contents here\r\n--" + boundary + "--\r\n"
	c.Requests = []harness.Request{
		get("front controller through try_files", "/some/pretty/url?x=1"),
		get("directory index", "/"),
		get("PATH_INFO", "/index.php/path/info?y=2"),
		get("a missing script", "/missing.php"),
		get("a static file", "/static.txt"),
		get("redirect", "/index.php?a=redirect"),
		get("absolute redirect with status", "/index.php?a=absolute"),
		get("status", "/index.php?a=status"),
		get("headers and cookies", "/index.php?a=headers"),
		get("big response", "/index.php?a=big"),
		get("error_log to stderr", "/index.php?a=warn"),
		get("fatal error", "/index.php?a=fatal"),
		get("Content-Length shorter than the body", "/index.php?a=length"),
		get("slow script", "/index.php?a=slow"),
		serveRaw("POST form body", "POST /index.php?a=echo HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 7\r\nConnection: close\r\n\r\nk=v&x=y"),
		serveRaw("upload", fmt.Sprintf("POST /index.php?a=upload HTTP/1.1\r\nHost: localhost\r\nContent-Type: multipart/form-data; boundary=%s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", boundary, len(upload), upload)),
		serveRaw("HEAD", "HEAD /index.php HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// BenchmarkServePHPFPM sends b.N keepalive requests for a small PHP script
// through nginx and through gonginx to one php-fpm pool (fastcgi_keep_conn
// with upstream keepalive), and reports throughput and the server's CPU
// time per request (php-fpm's own CPU is not counted).
func BenchmarkServePHPFPM(b *testing.B) {
	fpm := startPHPFPM(b)
	c := harness.Case{Config: `upstream fpm { server ` + fpm + `; keepalive 8; }
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    root html;
    location ~ \.php$ {
        fastcgi_pass fpm;
        fastcgi_keep_conn on;
        fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
        fastcgi_param QUERY_STRING $query_string;
        fastcgi_param REQUEST_METHOD $request_method;
        fastcgi_param REQUEST_URI $request_uri;
        fastcgi_param SCRIPT_NAME $fastcgi_script_name;
        fastcgi_param SERVER_PROTOCOL $server_protocol;
        fastcgi_param HTTP_HOST $host;
    }
}
`, Content: map[string]string{"html/hello.php": "<?php echo 'hello ', $_GET['n'] ?? '', \"\\n\";\n"}}
	for _, im := range []harness.Impl{serveNginx(b), serveUnderTest(b)} {
		b.Run(im.Name, func(b *testing.B) {
			srv, err := harness.Start(c, im, serveAssets(b), 1)
			if err != nil {
				b.Fatal(err)
			}
			defer srv.Stop()
			opt := harness.LoadOptions{Requests: 100, Concurrency: 4, MaxDuration: time.Minute,
				Path: "/hello.php?n=1", SNI: "localhost"}
			if _, err := harness.Load(srv, opt); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			opt.Requests = b.N
			res, err := harness.Load(srv, opt)
			if err != nil {
				b.Fatal(err)
			}
			if res.Errors > 0 {
				b.Errorf("%d of %d requests failed", res.Errors, b.N)
			}
			b.ReportMetric(res.ReqPerSec, "req/s")
			b.ReportMetric(float64(res.CPUPerRequest.Nanoseconds())/1e3, "server-µs/req")
		})
	}
}
