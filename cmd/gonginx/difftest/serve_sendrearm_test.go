package difftest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
	"github.com/google/go-cmp/cmp"
)

// A client that reads nothing for 2.5 s, with send_timeout 1s, behind a
// backend that sends 8 MB and then a few bytes every 300 ms for 3 s more:
// with proxy_buffering on, nginx's event pipe arms send_timeout again at
// each read from the backend, so the client is not timed out while the
// backend sends, and then gets the whole body. gonginx armed it once, from
// its first write that waited, and cut the client at 1 s. Unbuffered, the
// backend's 8 MB are not read past the buffer, nothing more comes, and
// both time the client out.
func TestServeSendTimeoutRearm(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{Name: "send_timeout rearm", Config: `server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    send_timeout 1s;
    error_log stderr info;
    proxy_temp_path proxy_temp;
    location / { proxy_pass http://{{BACKEND}}/; }
    location /u/ { proxy_buffering off; proxy_pass http://{{BACKEND}}/; }
}
`, Content: map[string]string{"proxy_temp/.keep": ""}}
	// The log lines' messages, without their time, pid, request and the
	// temporary file's name.
	logMsg := regexp.MustCompile(`\[(info|warn)\] \d+#\d+: (\*\d+ )?([^,/]*)`)
	pieces := "p=c8000000"
	for i := 0; i < 10; i++ {
		pieces += "&p=c10"
	}
	pieces += "&p=0%0D%0A%0D%0A"
	run := func(im harness.Impl, path string) string {
		be, err := harness.StartBackend()
		if err != nil {
			return err.Error()
		}
		defer be.Close()
		srv, err := harness.Start(c, im, serveAssets(t), be.Port)
		if err != nil {
			return "start: " + err.Error()
		}
		d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
			rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 16384) })
			return nil
		}}
		conn, err := d.Dial("tcp", "127.0.0.1:"+strconv.Itoa(srv.Port))
		if err != nil {
			return err.Error()
		}
		defer conn.Close()
		io.WriteString(conn, "GET "+path+"?"+pieces+" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
		time.Sleep(2500 * time.Millisecond)
		conn.SetReadDeadline(time.Now().Add(8 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			return "response: " + err.Error()
		}
		n, err := io.Copy(io.Discard, resp.Body)
		log := srv.Stop()
		var lines []string
		for _, m := range logMsg.FindAllStringSubmatch(log, -1) {
			lines = append(lines, m[1]+": "+m[3])
		}
		return fmt.Sprintf("whole body %v; %s", n == 8000100 && err == nil, strings.Join(lines, " | "))
	}
	for _, path := range []string{"/stall", "/u/stall"} {
		t.Run(path, func(t *testing.T) {
			a, b := atOnce(func() string { return run(want, path) }, func() string { return run(got, path) })
			if diff := cmp.Diff(a, b); diff != "" {
				t.Errorf("nginx vs gonginx (-nginx +gonginx):\n%s", diff)
			}
		})
	}
}
