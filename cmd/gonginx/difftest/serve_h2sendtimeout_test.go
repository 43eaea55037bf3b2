package difftest

import (
	"errors"
	"io"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
	"github.com/google/go-cmp/cmp"
)

// An HTTP/2 client that opens its windows wide and reads nothing: once
// the socket has taken no more for send_timeout, nginx finalizes the
// connection (ngx_http_v2_write_handler's timeout), and its request
// logs no timeout of its own. gonginx kept the connection until
// keepalive_timeout and logged "client timed out" for the request.
func TestServeH2SendTimeout(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	be, err := harness.StartBackend()
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	c := harness.Case{Name: "h2 send_timeout", Config: `server {
    listen 127.0.0.1:{{PORT}} http2;
    server_name localhost;
    error_log stderr info;
    send_timeout 1s;
    proxy_temp_path proxy_temp;
    location / { proxy_buffering off; proxy_pass http://{{BACKEND}}/; }
    location /b/ { proxy_pass http://{{BACKEND}}/; }
}
`, Content: map[string]string{"proxy_temp/.keep": ""}}
	// The log lines' messages, without their time, pid and request; a
	// temporary file's name without the server's prefix and number.
	msg := regexp.MustCompile(`\[(info|error|warn)\] \d+#\d+: (\*\d+ )?([^,]*)`)
	tmp := regexp.MustCompile(`\S*/proxy_temp/\d+`)
	run := func(im harness.Impl, path string) string {
		srv, err := harness.Start(c, im, serveAssets(t), be.Port)
		if err != nil {
			return "start: " + err.Error()
		}
		end := stallH2(srv.Port, path, be)
		var lines []string
		for _, m := range msg.FindAllStringSubmatch(srv.Stop(), -1) {
			if !strings.Contains(m[3], "epoll_wait") { // the stop's
				lines = append(lines, m[1]+": "+tmp.ReplaceAllString(m[3], "proxy_temp/N"))
			}
		}
		return end + "; log: " + strings.Join(lines, " | ")
	}
	// Unbuffered, and buffered: the backend's rest goes to the buffers
	// and the temporary file while the socket takes nothing.
	for _, path := range []string{"/made?n=33554432", "/b/made?n=33554432"} {
		t.Run(path, func(t *testing.T) {
			a, b := atOnce(func() string { return run(want, path) }, func() string { return run(got, path) })
			if diff := cmp.Diff(a, b); diff != "" {
				t.Errorf("nginx vs gonginx (-nginx +gonginx):\n%s", diff)
			}
		})
	}
}

// stallH2 asks for path with the windows opened to 2^31-1, reads nothing
// for 3 s, then reads on for 8 s more: "closed" when the server ended the
// connection by then. For a buffered path (/b/) the 3 s start once the
// backend has sent its whole response (waited for up to 20 s): nginx's
// pipe arms send_timeout again at each read from the backend, so on a
// loaded machine, where the backend's 32 MB take seconds, nginx's stream
// outlived the stall and gonginx's, armed from its first waiting write,
// did not. That difference, for a backend still sending, is open.
func stallH2(port int, path string, be *harness.Backend) string {
	// A small receive buffer: the server's socket takes no more within
	// moments, not after the megabytes a loopback socket grows to (on a
	// loaded machine the backend filled those slower than the stall's
	// first second: nginx never blocked for send_timeout, and stayed open).
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 16384) })
		return nil
	}}
	conn, err := d.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return "dial: " + err.Error()
	}
	defer conn.Close()
	h2Get(conn, path, 1<<31-1)
	if strings.HasPrefix(path, "/b/") {
		awaitBackendDone(be, 20*time.Second)
	}
	time.Sleep(3 * time.Second)
	conn.SetReadDeadline(time.Now().Add(8 * time.Second))
	if _, err := io.Copy(io.Discard, conn); errors.Is(err, os.ErrDeadlineExceeded) {
		return "open"
	}
	return "closed"
}
