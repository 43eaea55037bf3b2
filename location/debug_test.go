package location

import (
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDebugLog: a location's error_log of level debug gets the request's
// debug lines (and its other lines); one of level info beside it gets
// none of them; a location without one writes none.
func TestDebugLog(t *testing.T) {
	ts := startTest(t, `
server {
    listen 127.0.0.1:PORT;
    root DIR/html;
    location /d {
        error_log DIR/debug.log debug;
        error_log DIR/info.log info;
    }
    location /quiet { error_log DIR/quiet.log info; return 204; }
}`)
	ts.roundTrip(t, "GET /d/x?a=1 HTTP/1.1\r\nHost: t\r\nX-A: b\r\nConnection: close\r\n\r\n")
	ts.roundTrip(t, "GET /quiet HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
	prefix := regexp.MustCompile(`(?m)^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[(\w+)\] \d+#\d+: \*\d+ `)
	read := func(name string) string {
		b, _ := os.ReadFile(filepath.Join(ts.dir, name))
		return strings.ReplaceAll(prefix.ReplaceAllString(string(b), "[$1] "), ts.dir, "DIR")
	}
	want := map[string]string{
		// The lines before the location is chosen went to the server's
		// logs (the main one here), as nginx's do.
		"debug.log": `[debug] using configuration "/d"
[error] open() "DIR/html/d/x" failed (2: No such file or directory), client: 127.0.0.1, server: , request: "GET /d/x?a=1 HTTP/1.1", host: "t"
[debug] http finalize request: 404, "/d/x?a=1"
[debug] http log handler
[debug] http close request
`,
		"info.log":  `[error] open() "DIR/html/d/x" failed (2: No such file or directory), client: 127.0.0.1, server: , request: "GET /d/x?a=1 HTTP/1.1", host: "t"` + "\n",
		"quiet.log": "",
	}
	got := map[string]string{}
	for name := range want {
		got[name] = read(name)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("error logs (-want +got):\n%s", d)
	}
}

func TestDebugConnectionsMatch(t *testing.T) {
	d := &DebugConnections{Unix: true}
	for _, p := range []string{"10.0.0.0/8", "::1/128", "192.0.2.7/32"} {
		d.Prefixes = append(d.Prefixes, mustPrefix(t, p))
	}
	got := map[string]bool{}
	for _, a := range []string{"10.1.2.3", "11.0.0.1", "::1", "::2", "192.0.2.7", "::ffff:10.0.0.1", "unix:", "bad"} {
		got[a] = d.Match(a)
	}
	want := map[string]bool{"10.1.2.3": true, "11.0.0.1": false, "::1": true, "::2": false, "192.0.2.7": true,
		"::ffff:10.0.0.1": true, "unix:": true, "bad": false}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	var none *DebugConnections
	if none.Match("::1") {
		t.Error("no debug_connection matched ::1")
	}
}

func mustPrefix(t *testing.T, s string) netip.Prefix {
	t.Helper()
	p, err := netip.ParsePrefix(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// The rejected header line as nginx shows it (the first as nginx 1.22.1
// logged it, the others as ngx_http_parse_header_line stops on them).
func TestInvalidHeaderText(t *testing.T) {
	got := []string{
		invalidHeaderText([]byte("X\x01Bad: y")),
		invalidHeaderText([]byte("Bad Name: y")),
		invalidHeaderText([]byte("X: a\x00b")),
		invalidHeaderText([]byte("X\x7f: y")),
		invalidHeaderText([]byte(": v")),
		invalidHeaderText([]byte("Host: sw\reep")),
		invalidHeaderText([]byte("X\rA: 1")),
	}
	want := []string{`X\x01...`, `Bad\x20...`, `X: a\x00...`, `X\x7f...`, `\x3a...`, `Host: sw\x0d...`, `X\x0d...`}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}
