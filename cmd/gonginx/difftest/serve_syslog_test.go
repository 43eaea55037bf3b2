package difftest

import (
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
	"github.com/google/go-cmp/cmp"
)

// syslog: access_log and error_log lines sent to a syslog server of the
// test's own, as nginx sends them: PRI from facility and severity (an
// error line's own level, an access line's severity=), the header with
// and without the host name, tags, log formats, if=, two logs to one
// server, and error lines of a location's own error_log at its level.
func TestServeSyslog(t *testing.T) {
	t.Parallel()
	const config = `log_format plain "$request_uri $status";
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    location /a {
        access_log syslog:server=127.0.0.1:{{SYSLOG}} plain;
        return 200 "a\n";
    }
    location /user {
        access_log syslog:server=127.0.0.1:{{SYSLOG}},facility=user,severity=alert,tag=acc_1;
        return 204;
    }
    location /nohost {
        access_log syslog:server=127.0.0.1:{{SYSLOG}},nohostname,tag=nh plain;
        return 200;
    }
    location /two {
        access_log syslog:server=127.0.0.1:{{SYSLOG}},tag=one plain;
        access_log syslog:server=127.0.0.1:{{SYSLOG}},tag=two plain if=$arg_both;
        return 200;
    }
    location /missing {
        access_log off;
        error_log syslog:server=127.0.0.1:{{SYSLOG}},facility=local1,severity=debug,tag=err;
    }
    location /quiet {
        access_log off;
        error_log syslog:server=127.0.0.1:{{SYSLOG}} crit;
    }
}
`
	requests := []string{"/a?x=1", "/user", "/nohost", "/two", "/two?both=1", "/missing/file", "/quiet/file"}
	run := func(im harness.Impl) []string {
		udp, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer udp.Close()
		port := strconv.Itoa(udp.LocalAddr().(*net.UDPAddr).Port)
		c := harness.Case{Name: "syslog", Config: strings.ReplaceAll(config, "{{SYSLOG}}", port)}
		srv, err := harness.Start(c, im, serveAssets(t), 0)
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Stop()
		client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		var got []string
		for _, uri := range requests {
			resp, err := client.Get("http://127.0.0.1:" + strconv.Itoa(srv.Port) + uri)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			got = append(got, uri+" → "+strings.Join(readDatagrams(udp), " | "))
		}
		return normalizeSyslog(got, srv.Port)
	}
	want, got := run(serveNginx(t)), run(serveUnderTest(t))
	if testing.Verbose() {
		t.Logf("nginx:\n%s", strings.Join(want, "\n"))
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("syslog messages differ (-nginx +gonginx):\n%s", d)
	}
}

// readDatagrams reads what arrives until the socket has been quiet a
// moment (a request's lines are sent before its connection closes).
func readDatagrams(c net.PacketConn) []string {
	var out []string
	b := make([]byte, 8192)
	wait := time.Second
	for {
		c.SetReadDeadline(time.Now().Add(wait))
		n, _, err := c.ReadFrom(b)
		if err != nil {
			return out
		}
		out = append(out, string(b[:n]))
		wait = 200 * time.Millisecond
	}
}

var (
	syslogTime   = regexp.MustCompile(`[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d `)
	errorLinePid = regexp.MustCompile(`\d{4}/\d\d/\d\d \d\d:\d\d:\d\d (\[\w+\]) \d+#\d+: \*\d+ `)
	prefixDir    = regexp.MustCompile(`"/[^"]*/html/`)
	timeLocal    = regexp.MustCompile(`\[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [-+]\d{4}\]`)
)

func normalizeSyslog(lines []string, port int) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		l = syslogTime.ReplaceAllString(l, "TIME ")
		l = errorLinePid.ReplaceAllString(l, "$1 ")
		l = timeLocal.ReplaceAllString(l, "[TIME_LOCAL]")
		l = prefixDir.ReplaceAllString(l, `"PREFIX/html/`)
		out[i] = strings.ReplaceAll(l, strconv.Itoa(port), "PORT")
	}
	return out
}
