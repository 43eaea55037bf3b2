package location

import (
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/google/go-cmp/cmp"
)

// testServer runs httpBody (with PORT replaced by a free loopback port)
// in-process and returns its address; the server stops with the test.
type testServer struct {
	srv  io.Closer
	addr string
	dir  string
	log  bytes.Buffer
}

// StartServer runs cfg on its sockets with package location/server,
// which imports this package: link_test.go, an external test file, sets
// it, so that these tests run requests through the real server.
var StartServer func(cfg *nginxconf.Config, errorLog io.Writer, listeners map[string]net.Listener) (io.Closer, error)

func startTest(t *testing.T, httpBody string) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ts := &testServer{addr: "127.0.0.1:" + port, dir: t.TempDir()}
	body := strings.ReplaceAll(httpBody, "PORT", port)
	body = strings.ReplaceAll(body, "DIR", ts.dir)
	path := filepath.Join(ts.dir, "nginx.conf")
	if err := os.WriteFile(path, []byte("events {}\nhttp {\naccess_log off;\n"+body+"\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := nginxconf.Load(path, nginxconf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := StartServer(cfg, &syncBuffer{b: &ts.log}, map[string]net.Listener{ts.addr: ln})
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	ts.srv = srv
	t.Cleanup(func() { srv.Close() })
	return ts
}

type syncBuffer struct{ b *bytes.Buffer }

func (s *syncBuffer) Write(p []byte) (int, error) { return len(p), nil }

func (ts *testServer) file(t *testing.T, name, content string) {
	t.Helper()
	p := filepath.Join(ts.dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// roundTrip sends raw and returns the response with Date and Server
// removed, read until the server closes (raw should ask for close).
func (ts *testServer) roundTrip(t *testing.T, raw string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", ts.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(c)
	return normalize(string(out))
}

func normalize(s string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(s, "\r\n") {
		if strings.HasPrefix(line, "Date: ") || strings.HasPrefix(line, "Last-Modified: ") || strings.HasPrefix(line, "ETag: ") {
			continue
		}
		b.WriteString(line)
	}
	return b.String()
}

func get(path string, headers ...string) string {
	return "GET " + path + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n" + strings.Join(headers, "") + "\r\n"
}

func TestStaticAndErrors(t *testing.T) {
	ts := startTest(t, `
types { text/html html; text/plain txt; image/png png; }
server {
  listen 127.0.0.1:PORT;
  root DIR/html;
  charset utf-8;
  location /ep/ { error_page 404 /err/404.html; }
  location /tf/ { try_files $uri $uri/ /index.html; }
  location /al/ { alias DIR/alias/; }
  location /r/ { return 301 /moved; }
  location /t/ { return 200 "hello"; }
  location /loop/ { rewrite ^ /loop/x last; }
}`)
	ts.file(t, "html/index.html", "hi\n")
	ts.file(t, "html/sub/a.txt", "a\n")
	ts.file(t, "html/err/404.html", "custom\n")
	ts.file(t, "html/img.PNG", "png")
	ts.file(t, "html/d.txt", "0123456789")
	ts.file(t, "alias/f.txt", "aliased\n")
	page := func(code string) string {
		b, err := os.ReadFile("testdata/pages/" + code + ".html")
		if err != nil {
			t.Fatal(err)
		}
		return strings.ReplaceAll(string(b), "nginx/1.22.1", Version)
	}
	p404, p403, p405, p301, p500 := page("404"), page("403"), page("405"), page("301"), page("500")
	cl := func(s string) string { return strconv.Itoa(len(s)) }
	tests := []struct{ name, req, want string }{
		{"index", get("/"), "HTTP/1.1 200 OK\r\nServer: gonginx/0.1.0\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 3\r\nConnection: close\r\nAccept-Ranges: bytes\r\n\r\nhi\n"},
		{"file", get("/sub/a.txt"), "HTTP/1.1 200 OK\r\nServer: gonginx/0.1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 2\r\nConnection: close\r\nAccept-Ranges: bytes\r\n\r\na\n"},
		{"type by extension, any case", get("/img.PNG"), "HTTP/1.1 200 OK\r\nServer: gonginx/0.1.0\r\nContent-Type: image/png\r\nContent-Length: 3\r\nConnection: close\r\nAccept-Ranges: bytes\r\n\r\npng"},
		{"404", get("/nope"), "HTTP/1.1 404 Not Found\r\nServer: gonginx/0.1.0\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: " + cl(p404) + "\r\nConnection: close\r\n\r\n" + p404},
		{"dir without slash", get("/sub?x=1"), "HTTP/1.1 301 Moved Permanently\r\nServer: gonginx/0.1.0\r\nContent-Type: text/html\r\nContent-Length: " + cl(p301) + "\r\nLocation: http://t:" + ts.addr[strings.LastIndexByte(ts.addr, ':')+1:] + "/sub/?x=1\r\nConnection: close\r\n\r\n" + p301},
		{"dir without index", get("/sub/"), "HTTP/1.1 403 Forbidden\r\nServer: gonginx/0.1.0\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: " + cl(p403) + "\r\nConnection: close\r\n\r\n" + p403},
		{"POST to a file", "POST /sub/a.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", "HTTP/1.1 405 Not Allowed\r\nServer: gonginx/0.1.0\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: " + cl(p405) + "\r\nConnection: close\r\n\r\n" + p405},
		{"HEAD", "HEAD /sub/a.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", "HTTP/1.1 200 OK\r\nServer: gonginx/0.1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 2\r\nConnection: close\r\nAccept-Ranges: bytes\r\n\r\n"},
		{"range", get("/d.txt", "Range: bytes=2-4\r\n"), "HTTP/1.1 206 Partial Content\r\nServer: gonginx/0.1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 3\r\nConnection: close\r\nContent-Range: bytes 2-4/10\r\n\r\n234"},
		{"error_page uri", get("/ep/x"), "HTTP/1.1 404 Not Found\r\nServer: gonginx/0.1.0\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 7\r\nConnection: close\r\n\r\ncustom\n"},
		{"try_files fallback", get("/tf/missing"), "HTTP/1.1 200 OK\r\nServer: gonginx/0.1.0\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 3\r\nConnection: close\r\nAccept-Ranges: bytes\r\n\r\nhi\n"},
		{"alias", get("/al/f.txt"), "HTTP/1.1 200 OK\r\nServer: gonginx/0.1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 8\r\nConnection: close\r\nAccept-Ranges: bytes\r\n\r\naliased\n"},
		{"return redirect", get("/r/"), "HTTP/1.1 301 Moved Permanently\r\nServer: gonginx/0.1.0\r\nContent-Type: text/html\r\nContent-Length: " + cl(p301) + "\r\nLocation: http://t:" + ts.addr[strings.LastIndexByte(ts.addr, ':')+1:] + "/moved\r\nConnection: close\r\n\r\n" + p301},
		{"return text", get("/t/"), "HTTP/1.1 200 OK\r\nServer: gonginx/0.1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"},
		{"rewrite cycle", get("/loop/"), "HTTP/1.1 500 Internal Server Error\r\nServer: gonginx/0.1.0\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: " + cl(p500) + "\r\nConnection: close\r\n\r\n" + p500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, ts.roundTrip(t, tt.req)); diff != "" {
				t.Errorf("response (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDefaultPages checks every built-in page byte for byte against the
// ones nginx 1.22 sent (testdata/pages, captured with "return CODE"), with
// gonginx's version in the footer, for both server_tokens settings.
func TestDefaultPages(t *testing.T) {
	files, err := filepath.Glob("testdata/pages/*.html")
	if err != nil || len(files) == 0 {
		t.Fatal("no pages", err)
	}
	for _, f := range files {
		base := filepath.Base(f)
		codeText, rest, _ := strings.Cut(base, ".")
		code, _ := strconv.Atoi(codeText)
		tokens := rest != "tokens-off.html"
		nginxPage, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		want := strings.ReplaceAll(string(nginxPage), "nginx/1.22.1", Version)
		want = strings.ReplaceAll(want, "<center>nginx</center>", "<center>gonginx</center>")
		got, _ := DefaultPage(code, tokens)
		if diff := cmp.Diff(want, string(got)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", base, diff)
		}
	}
}

func TestPlainHTTPToTLSPort(t *testing.T) {
	dir := t.TempDir()
	writeTestCert(t, dir)
	ts := startTest(t, `server { listen 127.0.0.1:PORT ssl; ssl_certificate `+dir+`/cert.pem; ssl_certificate_key `+dir+`/key.pem; }`)
	got := ts.roundTrip(t, get("/"))
	body, _ := DefaultPage(497, true)
	want := "HTTP/1.1 400 Bad Request\r\nServer: gonginx/0.1.0\r\nContent-Type: text/html\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\nConnection: close\r\n\r\n" + string(body)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// bodyOf returns the body of a raw response.
func bodyOf(resp string) string {
	_, body, _ := strings.Cut(resp, "\r\n\r\n")
	return body
}

func statusOf(resp string) string {
	line, _, _ := strings.Cut(resp, "\r\n")
	return line
}

// TestServerSelection: the behaviours checked against nginx 1.22 with the
// same config (exact, default_server, regex captures, wildcards, "").
func TestServerSelection(t *testing.T) {
	ts := startTest(t, `
server { listen 127.0.0.1:PORT; server_name first.com; return 200 "first $server_name"; }
server { listen 127.0.0.1:PORT default_server; server_name def.com; return 200 "default $server_name $host"; }
server { listen 127.0.0.1:PORT; server_name ~^(?<sub>[a-z]+)\.rx\.com$; return 200 "regex sub=$sub 1=$1"; }
server { listen 127.0.0.1:PORT; server_name *.wild.com; return 200 "wild $host"; }
server { listen 127.0.0.1:PORT; server_name www.tail.*; return 200 "tail"; }
server { listen 127.0.0.1:PORT; server_name ""; return 200 "empty name"; }
`)
	tests := []struct{ host, want string }{
		{"first.com", "first first.com"},
		{"FIRST.COM", "first first.com"},
		{"def.com", "default def.com def.com"},
		{"unknown", "default def.com unknown"},
		{"abc.rx.com", "regex sub=abc 1=abc"},
		{"x.wild.com", "wild x.wild.com"},
		{"a.b.wild.com", "wild a.b.wild.com"},
		{"www.tail.org", "tail"},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			got := bodyOf(ts.roundTrip(t, "GET / HTTP/1.1\r\nHost: "+tt.host+"\r\nConnection: close\r\n\r\n"))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if got := bodyOf(ts.roundTrip(t, "GET / HTTP/1.0\r\n\r\n")); got != "empty name" {
		t.Errorf("no Host: got %q, want the server named \"\"", got)
	}
}

// TestErrorPages: error_page variants as nginx 1.22 answered them.
func TestErrorPages(t *testing.T) {
	ts := startTest(t, `
server { listen 127.0.0.1:PORT; root DIR/html;
  location /e/ { error_page 500 502 503 504 /e/50x.html; return 503; }
  location /e2/ { error_page 404 = @x; }
  location /e3/ { error_page 404 =410 /e/50x.html; }
  location /e4/ { error_page 403 /i/secret.html; return 403; }
  location /e5/ { error_page 404 /e5/missing; }
  location /e6/ { error_page 404 http://example.com/nf; }
  location /i/ { internal; }
  location @x { return 201 "named $uri"; }
}`)
	ts.file(t, "html/e/50x.html", "err\n")
	ts.file(t, "html/i/secret.html", "secret\n")
	tests := []struct{ path, status, body string }{
		// The page is inside the location that returns 503 again: nginx
		// then sends its own page.
		{"/e/", "HTTP/1.1 503 Service Temporarily Unavailable", string(mustPage(503))},
		{"/e2/x", "HTTP/1.1 201 Created", "named /e2/x"},
		// The page's own location answers 503, which replaces =410 and is
		// not followed again (recursive_error_pages off).
		{"/e3/x", "HTTP/1.1 503 Service Temporarily Unavailable", string(mustPage(503))},
		{"/e4/", "HTTP/1.1 403 Forbidden", "secret\n"},
		{"/e5/x", "HTTP/1.1 404 Not Found", string(mustPage(404))},
		{"/e6/x", "HTTP/1.1 302 Moved Temporarily", string(mustPage(302))},
		{"/i/secret.html", "HTTP/1.1 404 Not Found", string(mustPage(404))},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp := ts.roundTrip(t, get(tt.path))
			if diff := cmp.Diff(tt.status+"\n"+tt.body, statusOf(resp)+"\n"+bodyOf(resp)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if resp := ts.roundTrip(t, get("/e6/x")); !strings.Contains(resp, "\r\nConnection: close\r\nLocation: http://example.com/nf\r\n") {
		t.Errorf("an absolute error_page URL goes after Connection, as nginx writes it: %q", resp)
	}
}

func mustPage(code int) []byte {
	b, _ := DefaultPage(code, true)
	return b
}

// TestMissingIndexCycle: the article's "try_files $uri /index.html" with
// no index.html is a redirection cycle for every URI, "/" included:
// nginx answers 500 (the "$uri" argument tests for a file, not a
// directory, whatever its value).
func TestMissingIndexCycle(t *testing.T) {
	ts := startTest(t, `server { listen 127.0.0.1:PORT; root DIR/html; location / { try_files $uri /index.html; } }`)
	os.MkdirAll(filepath.Join(ts.dir, "html"), 0o755)
	for _, p := range []string{"/", "/index.html", "/missing"} {
		if got := statusOf(ts.roundTrip(t, get(p))); got != "HTTP/1.1 500 Internal Server Error" {
			t.Errorf("%s: %s", p, got)
		}
	}
}

func TestExpectContinue(t *testing.T) {
	ts := startTest(t, `server { listen 127.0.0.1:PORT; location / { return 200 "ok"; } }`)
	resp := ts.roundTrip(t, "POST / HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbody")
	if !strings.HasPrefix(resp, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n") {
		t.Errorf("got %q", resp)
	}
}

// TestRanges: Range handling as nginx 1.22 answered the same requests.
func TestRanges(t *testing.T) {
	ts := startTest(t, `types { text/plain txt; } server { listen 127.0.0.1:PORT; root DIR/html; charset utf-8; }`)
	ts.file(t, "html/d.txt", "0123456789")
	page416 := string(mustPage(416))
	tests := []struct{ rng, want string }{
		{"bytes=2-4", "HTTP/1.1 206 Partial Content\r\nServer: gonginx/0.1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 3\r\nConnection: close\r\nContent-Range: bytes 2-4/10\r\n\r\n234"},
		{"Bytes= 2-3 ", "HTTP/1.1 206 Partial Content\r\nServer: gonginx/0.1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 2\r\nConnection: close\r\nContent-Range: bytes 2-3/10\r\n\r\n23"},
		{"bytes=-20", "HTTP/1.1 206 Partial Content\r\nServer: gonginx/0.1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 10\r\nConnection: close\r\nContent-Range: bytes 0-9/10\r\n\r\n0123456789"},
		{"bytes=0-5,3-8", "HTTP/1.1 200 OK\r\nServer: gonginx/0.1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 10\r\nConnection: close\r\nAccept-Ranges: bytes\r\n\r\n0123456789"},
		{"bytes=abc", "HTTP/1.1 416 Requested Range Not Satisfiable\r\nServer: gonginx/0.1.0\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: " + strconv.Itoa(len(page416)) + "\r\nConnection: close\r\nContent-Range: bytes */10\r\n\r\n" + page416},
		{"bytes=1-1,,2-2", "HTTP/1.1 416 Requested Range Not Satisfiable\r\nServer: gonginx/0.1.0\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: " + strconv.Itoa(len(page416)) + "\r\nConnection: close\r\nContent-Range: bytes */10\r\n\r\n" + page416},
	}
	for _, tt := range tests {
		t.Run(tt.rng, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, ts.roundTrip(t, get("/d.txt", "Range: "+tt.rng+"\r\n"))); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	got := ts.roundTrip(t, get("/d.txt", "Range: bytes=0-1,5-7\r\n"))
	head, body, _ := strings.Cut(got, "\r\n\r\n")
	b := head[strings.Index(head, "boundary=")+9:]
	b = b[:strings.IndexByte(b, '\r')]
	if len(b) != 20 {
		t.Fatalf("boundary %q: nginx pads it to 20 digits", b)
	}
	wantBody := "\r\n--" + b + "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Range: bytes 0-1/10\r\n\r\n01" +
		"\r\n--" + b + "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Range: bytes 5-7/10\r\n\r\n567" +
		"\r\n--" + b + "--\r\n"
	wantHead := "HTTP/1.1 206 Partial Content\r\nServer: gonginx/0.1.0\r\nContent-Type: multipart/byteranges; boundary=" + b +
		"\r\nContent-Length: " + strconv.Itoa(len(wantBody)) + "\r\nConnection: close"
	if diff := cmp.Diff(wantHead+"\r\n\r\n"+wantBody, head+"\r\n\r\n"+body); diff != "" {
		t.Errorf("multipart (-want +got):\n%s", diff)
	}
}
