package difftest

import (
	"fmt"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/http2"
)

// An HTTP/2 client with 64 KB windows that reads nothing while the
// proxied response fills proxy_buffers (2 MB) and then needs a temporary
// file that cannot be made (proxy_temp_path is a regular file: open()
// fails with ENOTDIR, as a full disk fails the write): nginx logs the
// crit line and ends the request at once (the event pipe's NGX_ABORT),
// the stream reset with INTERNAL_ERROR behind the window's DATA. gonginx
// hung until send_timeout twice over: the relay wrote the buffers' worth
// to the stream, whose writes wait past 80 KB queued, so it never reached
// the file; and once it did, the feeder's write waiting for the window
// was not woken by the cut (a write deadline the stream's wait did not
// look at again). Its access log line counted the bytes queued for the
// window as sent ($body_bytes_sent 135097 where nginx's is 65535).
func TestServeH2ProxyTempFileFails(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	config := `log_format bytes 'ACCESS $status $body_bytes_sent';
server {
    listen 127.0.0.1:{{PORT}} LISTEN;
    server_name localhost;
    SSL
    error_log stderr warn;
    access_log /dev/stderr bytes;
    proxy_temp_path proxy_temp;
    proxy_buffers 32 64k;
    location / { proxy_pass http://{{BACKEND}}/; }
}
`
	plain := harness.Case{Name: "h2 temp file fails", Content: map[string]string{"proxy_temp": "a file, not a directory"},
		Config: strings.NewReplacer("LISTEN", "http2", "SSL", "").Replace(config)}
	tls := plain
	tls.Name, tls.Files = "h2 temp file fails tls", []string{"cert.pem", "key.pem"}
	tls.Config = strings.NewReplacer("LISTEN", "ssl http2", "SSL", "ssl_certificate {{CERT}}; ssl_certificate_key {{KEY}};").Replace(config)
	msg := regexp.MustCompile(`\[(crit|error|warn)\] \d+#\d+: (\*\d+ )?([^,]*)`)
	tmp := regexp.MustCompile(`[^"\s]*/proxy_temp/\d{10}\b`)
	access := regexp.MustCompile(`ACCESS .*`)
	run := func(im harness.Impl, c harness.Case, path string) string {
		be, err := harness.StartBackend()
		if err != nil {
			return "backend: " + err.Error()
		}
		defer be.Close()
		srv, err := harness.Start(c, im, serveAssets(t), be.Port)
		if err != nil {
			return "start: " + err.Error()
		}
		start := time.Now()
		end := h2Unread(h2Dialer(srv.Port, c.Files != nil), path)
		// The request ends promptly, not at send_timeout (60 s).
		end += fmt.Sprintf("; within 10 s: %v", time.Since(start) < 10*time.Second)
		// The access log's line ($body_bytes_sent: the DATA framed,
		// not what waited for the window), then the error log's.
		log := srv.Stop()
		lines := access.FindAllString(log, -1)
		for _, m := range msg.FindAllStringSubmatch(log, -1) {
			if !strings.Contains(m[3], "epoll_wait") { // the stop's
				lines = append(lines, m[1]+": "+tmp.ReplaceAllString(m[3], "proxy_temp/N"))
			}
		}
		return end + "; log: " + strings.Join(lines, " | ")
	}
	// Over TLS too. (A response being cached differs: nginx writes all
	// of it to its temporary file before sending, so the client gets no
	// DATA before the reset; gonginx's cache keeps a file of its own.)
	for _, tt := range []struct {
		c    harness.Case
		path string
	}{
		{plain, "/made?n=8388608"}, {tls, "/made?n=8388608"},
	} {
		t.Run(tt.c.Name+tt.path, func(t *testing.T) {
			a, b := atOnce(func() string { return run(want, tt.c, tt.path) }, func() string { return run(got, tt.c, tt.path) })
			if diff := cmp.Diff(a, b); diff != "" {
				t.Errorf("nginx vs gonginx (-nginx +gonginx):\n%s", diff)
			}
		})
	}
}

// The same with proxy_cache: nginx writes each buffer of a response it
// caches to its temporary file before the client gets it, so the file
// that cannot be made fails the first buffer: the client has the head
// and no DATA before the reset, whatever its window, and the cache keeps
// nothing (the next request goes to the backend again).
func TestServeH2ProxyCacheTempFileFails(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := harness.Case{Name: "h2 cache temp file fails", Content: map[string]string{"proxy_temp": "a file, not a directory"},
		Config: `log_format bytes 'ACCESS $status $body_bytes_sent $upstream_cache_status';
proxy_cache_path cache keys_zone=c:1m;
server {
    listen 127.0.0.1:{{PORT}} http2;
    server_name localhost;
    error_log stderr warn;
    access_log /dev/stderr bytes;
    proxy_temp_path proxy_temp;
    proxy_cache c;
    proxy_cache_valid 200 1h;
    location / { proxy_pass http://{{BACKEND}}/; }
}
`}
	msg := regexp.MustCompile(`\[(crit|error|warn|alert)\] \d+#\d+: (\*\d+ )?([^,]*)`)
	tmp := regexp.MustCompile(`[^"\s]*/proxy_temp/\d{10}\b`)
	access := regexp.MustCompile(`ACCESS .*`)
	run := func(im harness.Impl, path string) string {
		be, err := harness.StartBackend()
		if err != nil {
			return "backend: " + err.Error()
		}
		defer be.Close()
		srv, err := harness.Start(c, im, serveAssets(t), be.Port)
		if err != nil {
			return "start: " + err.Error()
		}
		end := h2Unread(h2Dialer(srv.Port, false), path)
		end += "; again: " + h2Unread(h2Dialer(srv.Port, false), path)
		heads, _ := be.Seen()
		end += fmt.Sprintf("; backend requests %d", heads)
		log := srv.Stop()
		lines := access.FindAllString(log, -1)
		for _, m := range msg.FindAllStringSubmatch(log, -1) {
			if !strings.Contains(m[3], "epoll_wait") {
				lines = append(lines, m[1]+": "+tmp.ReplaceAllString(m[3], "proxy_temp/N"))
			}
		}
		return end + "; log: " + strings.Join(lines, " | ")
	}
	t.Run("http1", func(t *testing.T) {
		// Over HTTP/1 the head, then the connection closed.
		h1 := c
		h1.Config = strings.Replace(c.Config, " http2;", ";", 1)
		h1.Requests = []harness.Request{plainGet("small", "/made?n=100"), plainGet("large", "/made?n=300000")}
		h1.ErrorLog = true
		harness.Compare(t, h1, want, got, serveAssets(t))
	})
	for _, path := range []string{"/made?n=100", "/made?n=30000", "/made?n=8388608"} {
		t.Run(path, func(t *testing.T) {
			a, b := atOnce(func() string { return run(want, path) }, func() string { return run(got, path) })
			if diff := cmp.Diff(a, b); diff != "" {
				t.Errorf("nginx vs gonginx (-nginx +gonginx):\n%s", diff)
			}
		})
	}
}

// h2Unread asks for path with the default 64 KB windows and never opens
// them: what comes within 10 s (the status, the DATA's length, how the
// stream or connection ended).
func h2Unread(dial func() (net.Conn, error), path string) string {
	conn, err := dial()
	if err != nil {
		return "dial: " + err.Error()
	}
	defer conn.Close()
	fr := h2Get(conn, path, 0)
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	status, n := "", 0
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return fmt.Sprintf("status %s, %d bytes, then %v", status, n, err)
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				fr.WriteSettingsAck()
			}
		case *http2.MetaHeadersFrame:
			status = f.PseudoValue("status")
		case *http2.DataFrame:
			n += len(f.Data())
			if f.StreamEnded() {
				return fmt.Sprintf("status %s, %d bytes, then END_STREAM", status, n)
			}
		case *http2.RSTStreamFrame:
			return fmt.Sprintf("status %s, %d bytes, then RST_STREAM %v", status, n, f.ErrCode)
		case *http2.GoAwayFrame:
			return fmt.Sprintf("status %s, %d bytes, then GOAWAY %v", status, n, f.ErrCode)
		}
	}
}
