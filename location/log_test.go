package location

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite/http1"
	"github.com/google/go-cmp/cmp"
)

// TestAccessLogFormats runs requests through log_format/access_log and
// compares the files with what nginx 1.22 wrote for the same
// configuration and the same bytes (times masked).
func TestAccessLogFormats(t *testing.T) {
	ts := startTest(t, `
server_tokens off;
log_format t1 '$remote_addr - $remote_user "$request" $status $body_bytes_sent '
              '$bytes_sent $request_length $connection_requests $pipe "$http_x_t" "$upstream_addr" "$upstream_status"';
log_format j escape=json '{"r":"$request","x":"$http_x_t","s":$status}';
map $uri $loggable { /skip 0; default 1; }
server {
    listen 127.0.0.1:PORT;
    root DIR/html;
    access_log DIR/a.log t1 buffer=4k flush=1s;
    access_log DIR/j.log j if=$loggable;
    location /off { access_log off; return 204; }
    location /loc { access_log DIR/loc.log; return 200 "abc"; }
    location /skip { return 200 "s"; }
}`)
	ts.file(t, "html/index.html", "hello\n")
	for _, raw := range []string{
		"GET / HTTP/1.1\r\nHost: t\r\nX-T: a\"b\\c\tz\x01\x1f\x7f\xc3\xa9\r\nConnection: close\r\n\r\n",
		"GET /off HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
		"GET /loc?x=1 HTTP/1.1\r\nHost: t\r\nReferer: http://r/\r\nUser-Agent: ua\r\nConnection: close\r\n\r\n",
		"GET /skip HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
		"GET /nofile HTTP/1.0\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: t\r\n\r\nGET /skip HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
	} {
		ts.roundTrip(t, raw)
	}
	// Recorded from nginx 1.22, except that "Server: gonginx" and the
	// 404 page's "gonginx" are 2 bytes longer than nginx's: nginx wrote
	// $bytes_sent 228, 136, 289, 233, 136 and $body_bytes_sent 146 for the 404.
	want := map[string]string{
		"a.log": `127.0.0.1 - - "GET / HTTP/1.1" 200 6 230 65 1 . "a\x22b\x5Cc\x09z\x01\x1F\x7F\xC3\xA9" "-" "-"
127.0.0.1 - - "GET /skip HTTP/1.1" 200 1 138 50 1 . "-" "-" "-"
127.0.0.1 - - "GET /nofile HTTP/1.0" 404 148 293 24 1 . "-" "-" "-"
127.0.0.1 - - "GET / HTTP/1.1" 200 6 235 27 1 . "-" "-" "-"
127.0.0.1 - - "GET /skip HTTP/1.1" 200 1 138 50 2 p "-" "-" "-"
`,
		"j.log": "{\"r\":\"GET / HTTP/1.1\",\"x\":\"a\\\"b\\\\c\\tz\\u0001\\u001F\x7f\xc3\xa9\",\"s\":200}\n" +
			`{"r":"GET /nofile HTTP/1.0","x":"","s":404}
{"r":"GET / HTTP/1.1","x":"","s":200}
`,
		"loc.log": `127.0.0.1 - - [TIME] "GET /loc?x=1 HTTP/1.1" 200 3 "http://r/" "ua"
`,
	}
	timeRE := regexp.MustCompile(`\[\d\d/\w\w\w/\d{4}:\d\d:\d\d:\d\d [-+]\d{4}\]`)
	got := map[string]string{}
	for name := range want {
		b, err := os.ReadFile(filepath.Join(ts.dir, name))
		if err != nil {
			t.Fatal(err)
		}
		got[name] = timeRE.ReplaceAllString(string(b), "[TIME]")
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("access logs (-want +got):\n%s", diff)
	}
}

// TestAccessLogInheritance: a level with access_log lines replaces the
// inherited ones; a level without inherits them; "off" at a level wins over
// that level's other lines (startTest puts "access_log off" in http, so the
// http line here is off too). Checked with nginx 1.22.
func TestAccessLogInheritance(t *testing.T) {
	ts := startTest(t, `
log_format short '$request_method $uri $status';
access_log DIR/http.log short;
server {
    listen 127.0.0.1:PORT;
    access_log DIR/srv.log short;
    location /a { return 200; }
    location /b { access_log DIR/b.log short; access_log DIR/b2.log short; return 200; }
    location /c { access_log off; access_log DIR/c.log short; return 200; }
}`)
	for _, p := range []string{"/a", "/b", "/c"} {
		ts.roundTrip(t, get(p))
	}
	want := map[string]string{
		"http.log": "",
		"srv.log":  "GET /a 200\n",
		"b.log":    "GET /b 200\n",
		"b2.log":   "GET /b 200\n",
		"c.log":    "",
	}
	got := map[string]string{}
	for name := range want {
		b, _ := os.ReadFile(filepath.Join(ts.dir, name))
		got[name] = string(b)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("access logs (-want +got):\n%s", diff)
	}
}

func TestAccessLogConfigErrors(t *testing.T) {
	tests := []struct {
		conf string
		want string
	}{
		{"log_format x escape=xml '$status';", `unknown log format escaping "xml"`},
		{"access_log /dev/null nosuch;", `unknown log format "nosuch"`},
		{"log_format x '$nosuchvar';", `unknown "nosuchvar" variable`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "nginx.conf")
			os.WriteFile(path, []byte("events {}\nhttp {\n"+tt.conf+"\n}\n"), 0o644)
			cfg, err := nginxconf.Load(path, nginxconf.Options{})
			if err == nil {
				_, err = Compile(cfg, Options{})
			}
			got := ""
			if err != nil {
				got = err.Error()
			}
			if !strings.HasPrefix(got, tt.want) {
				t.Errorf("got %q, want prefix %q", got, tt.want)
			}
		})
	}
}

// BenchmarkServeAccessLog serves a request and writes its log_format line
// (to /dev/null): steady state must not allocate.
func BenchmarkServeAccessLog(b *testing.B) {
	rt := compileConf(b, `log_format main '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
	'"$http_referer" "$http_user_agent" $request_time $bytes_sent $request_length $connection_requests $pipe';
	server { listen 127.0.0.1:19300; access_log /dev/null main; location / { return 200 "ok"; } }`)
	info := &http1.ConnInfo{RemoteAddr: "127.0.0.1", RemotePort: 5000, Local: http1.AddrText("127.0.0.1"), ServerPort: 80}
	c := http1.NewConn(&loopConn{req: []byte("GET /x HTTP/1.1\r\nHost: a\r\nUser-Agent: bench\r\n\r\n")}, info)
	x := newExchange(rt, c, NewLogger(io.Discard))
	addr := rt.Sockets[0].AddrFor(net.IPv4(127, 0, 0, 1))
	b.ReportAllocs()
	for b.Loop() {
		req, err := c.ReadRequest()
		if err != nil {
			b.Fatal(err)
		}
		x.serve(addr, req)
		x.accessLog()
	}
}

// TestAccessLogRejected: requests answered 400/505 by the parser are
// logged, with the line as received when it could not be parsed (lines
// recorded from nginx 1.22).
func TestAccessLogRejected(t *testing.T) {
	ts := startTest(t, `
log_format t1 '"$request" $status "$http_host"';
server { listen 127.0.0.1:PORT; access_log DIR/a.log t1; return 200 ok; }`)
	for i, raw := range []string{
		"GET /x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
		"FOO BAR\r\n\r\n",
		"GET /a b HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /%00 HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /x HTTP/2.0\r\nHost: a\r\n\r\n",
	} {
		ts.roundTrip(t, raw)
		// A request whose head's rest is unread closes lingering (as
		// nginx's): its line is written when the linger sees the
		// client's close, after roundTrip returns; wait for it so the
		// lines keep the requests' order.
		readLogWhen(t, filepath.Join(ts.dir, "a.log"), i+1)
	}
	want := `"GET /x HTTP/1.1" 400 "a"
"FOO BAR" 400 "-"
"GET /a b HTTP/1.1" 400 "-"
"GET /%00 HTTP/1.1" 400 "-"
"GET /x HTTP/2.0" 505 "-"
`
	got := readLogWhen(t, filepath.Join(ts.dir, "a.log"), strings.Count(want, "\n"))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("access log (-want +got):\n%s", diff)
	}
}

// readLogWhen reads the log at path once it has n lines, or after 5 s.
func readLogWhen(t *testing.T, path string, n int) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, err := os.ReadFile(path)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if strings.Count(string(b), "\n") >= n || time.Now().After(deadline) {
			return string(b)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// An error line is cut to nginx's NGX_MAX_ERROR_STR: 2048 bytes with its
// newline.
func TestErrorLineCut(t *testing.T) {
	l := NewLogger(io.Discard)
	long := l.line("error", strings.Repeat("x", 5000))
	short := l.line("error", "short")
	got := []any{len(long), long[len(long)-1], strings.HasSuffix(string(short), ": short\n")}
	if diff := cmp.Diff([]any{2048, byte('\n'), true}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
