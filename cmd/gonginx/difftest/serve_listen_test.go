package difftest

import (
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
	"github.com/google/go-cmp/cmp"
)

// ssShow runs ss with args and the port's filter, or fails (skips outside
// CI) when iproute2 is missing.
func ssShow(t *testing.T, port int, args ...string) string {
	t.Helper()
	args = append(args, "sport = :"+strconv.Itoa(port))
	out, err := exec.Command("ss", args...).Output()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("ss (iproute2) is required in CI: %v", err)
		}
		t.Skipf("ss (iproute2) not usable: %v", err)
	}
	return string(out)
}

var (
	ssSkmem = regexp.MustCompile(`rb(\d+),t\d+,tb(\d+)`)
	ssTimer = regexp.MustCompile(`timer:\((\w+),\d+(min|sec|ms)`)
)

// listenView is what ss shows of a server's listening socket (backlog,
// buffer sizes) and of a connection it accepted (its keep-alive timer).
func listenView(t *testing.T, port int) []string {
	t.Helper()
	var view []string
	lst := strings.Fields(ssShow(t, port, "-ltnHm"))
	if len(lst) < 3 {
		t.Fatalf("no listening socket on %d", port)
	}
	view = append(view, "backlog "+lst[2])
	if m := ssSkmem.FindStringSubmatch(strings.Join(lst, " ")); m != nil {
		view = append(view, "rcvbuf "+m[1], "sndbuf "+m[2])
	}
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("GET / HTTP/1.1\r\n")) // a head under way: the connection stays
	timer := "no timer"
	for i := 0; i < 50; i++ { // until the server has accepted it
		out := ssShow(t, port, "-tnoH", "state", "established")
		if out != "" {
			if m := ssTimer.FindStringSubmatch(out); m != nil {
				timer = m[1] + " in " + m[2] // Go's own keep-alive would be secs
			}
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	return append(view, "accepted "+timer)
}

// The listen options as ss sees them under nginx and gonginx: the
// backlog (nginx's 511 by default, backlog=), rcvbuf/sndbuf, and the
// keep-alive an accepted connection inherits (none by default, where
// Go's accept would start one; so_keepalive's).
func TestServeListenOptions(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	for _, tc := range []struct{ name, args string }{
		{"defaults", ""},
		{"options", "backlog=37 rcvbuf=96k sndbuf=40k so_keepalive=30m:10:5 deferred fastopen=3 reuseport"},
		{"keepalive on", "so_keepalive=on"},
		{"keepalive off", "so_keepalive=off"},
	} {
		c := harness.Case{Name: "listen " + tc.name, Config: "server {\n    listen 127.0.0.1:{{PORT}} " + tc.args + ";\n    return 200 ok;\n}\n"}
		var views [2][]string
		for i, im := range []harness.Impl{want, got} {
			srv, err := harness.Start(c, im, serveAssets(t), 0)
			if err != nil {
				t.Fatal(err)
			}
			views[i] = listenView(t, srv.Port)
			srv.Stop()
		}
		if diff := cmp.Diff(views[0], views[1]); diff != "" {
			t.Errorf("%s: what ss shows (-nginx +gonginx):\n%s", tc.name, diff)
		}
	}
}

// Plain HTTP to a TLS port: nginx's 400 "The plain HTTP request was
// sent to HTTPS port" (status 497 inside, for error_page), keep-alive
// or not, and error_page 497 redirecting or answering.
func TestServePlainHTTPToHTTPS(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	plain := func(name, raw string) harness.Request {
		r := serveRaw(name, raw)
		r.Plain = true
		return r
	}
	c := harness.Case{
		Name: "plain http to https",
		Config: `log_format st "$request $status";
server {
    listen 127.0.0.1:{{PORT}} ssl;
    server_name localhost;
    ssl_certificate {{CERT}};
    ssl_certificate_key {{KEY}};
    access_log logs/st.log st;
    location / { return 200 "tls\n"; }
}
server {
    listen 127.0.0.1:{{PORT}} ssl;
    server_name redirect;
    ssl_certificate {{CERT}};
    ssl_certificate_key {{KEY}};
    access_log logs/st.log st;
    error_page 497 =301 https://$host:$server_port$request_uri;
}
server {
    listen 127.0.0.1:{{PORT}} ssl;
    server_name page;
    ssl_certificate {{CERT}};
    ssl_certificate_key {{KEY}};
    access_log logs/st.log st;
    error_page 497 /497.html;
    location = /497.html { return 200 "use https\n"; }
}
`,
		Files:          serveArticleFiles,
		TLS:            true,
		SNI:            "localhost",
		ErrorLog:       true,
		Content:        map[string]string{"logs/.keep": ""},
		AccessLogFiles: []string{"logs/st.log"},
		Requests: []harness.Request{
			plain("plain", "GET /x HTTP/1.1\r\nHost: localhost\r\n\r\n"),
			plain("plain close", "GET /x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
			plain("plain head", "HEAD /x HTTP/1.1\r\nHost: localhost\r\n\r\n"),
			plain("plain 1.0", "GET /x HTTP/1.0\r\n\r\n"),
			plain("plain bad request", "GET /x HTTP/1.1\r\n\r\n"),
			plain("redirect", "GET /a?b=c HTTP/1.1\r\nHost: redirect\r\n\r\n"),
			plain("page", "GET /a HTTP/1.1\r\nHost: page\r\n\r\n"),
			serveRaw("tls", "GET /x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
		},
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}
