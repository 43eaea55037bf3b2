package difftest

import (
	"testing"
	"time"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// A client's RST_STREAM CANCEL on a stream whose request waits on a
// backend: nginx logs "client canceled stream N" at info in the stream's
// request context with what the request was doing, then ends the request
// (499 in the access log).
func TestServeHTTP2ClientCancel(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	cancel := func(name, target string, await int) harness.Request {
		r := harness.Request{Name: name, H2: true, Send: []string{"GET " + target + " HTTP/1.1\r\nHost: localhost\r\n\r\n"}}
		r.AwaitRequests, r.CancelAfter = await, 300*time.Millisecond
		return r
	}
	// proxy_ignore_client_abort: the try goes on to its read timeout,
	// which the row waits out (its lines before the next row's). The
	// client closes its connection ~550 ms after the backend had the
	// request (the cancel, then 250 ms watching the connection), the
	// stream still open: nginx logs "client prematurely closed
	// connection" then the timeout. A 1 s timeout left that order to a
	// loaded machine's scheduling (the timeout first, no close line).
	// 1.5 s puts the timeout ~1 s after the close and still 0.5 s
	// before a .../together held alone answers (2 s), which would end
	// the try first (a row of its own: the answer to a canceled stream).
	ignored := func(name, target string) harness.Request {
		r := cancel(name, target, 1)
		r.Settle = 2 * time.Second
		return r
	}
	late := ignored("proxy_ignore_client_abort, the answer after the cancel", "/il/together?g=late&n=2")
	late.Settle = 3 * time.Second
	c := serveProxyCase("h2 client cancel", `log_format c '$request $status $body_bytes_sent';
proxy_cache_path cache keys_zone=cancel:1m;
server {
    listen 127.0.0.1:{{PORT}} http2;
    server_name localhost;
    error_log stderr info;
    access_log logs/a.log c;
    location /p/ { proxy_pass http://{{BACKEND}}/; }
    location /h/ { proxy_pass http://{{BACKEND}}/; proxy_buffer_size 128k; proxy_buffers 4 256k; }
    location /i/ { proxy_pass http://{{BACKEND}}/; proxy_ignore_client_abort on; proxy_read_timeout 1500ms; }
    location /il/ { proxy_pass http://{{BACKEND}}/; proxy_ignore_client_abort on; proxy_read_timeout 3s; }
    location /ib/ { proxy_pass http://{{BACKEND}}/; proxy_ignore_client_abort on; proxy_buffering off; proxy_read_timeout 1500ms; }
    location /c/ { proxy_pass http://{{BACKEND}}/; proxy_cache cancel; proxy_cache_valid 200 1m; proxy_read_timeout 1500ms; }
    location /b/ { proxy_pass http://{{BACKEND}}/; proxy_buffering off; }
    location = /sub.html { ssi on; root html; }
}
`,
		cancel("waiting on the backend's head", "/p/together?g=cancel&n=2", 1),
		cancel("waiting on the body", "/p/stall?n=100&sent=10", 1),
		cancel("unbuffered, waiting on the body", "/b/stall?n=100&sent=10", 1),
		cancel("a body held", "/h/stall?n=200000&sent=40000", 1),
		// nginx logs the reset as it reads it, with what the request
		// does then, and the try goes on.
		ignored("proxy_ignore_client_abort, waiting on the head", "/i/together?g=ica&n=2"),
		ignored("proxy_ignore_client_abort, waiting on the body", "/i/stall?n=100&sent=10"),
		ignored("proxy_ignore_client_abort, unbuffered", "/ib/stall?n=100&sent=10"),
		// The backend's answer (2 s) comes to the canceled stream of a
		// closed connection: nginx logs nothing of it.
		late,
		// A response being cached is read whole whatever the client does.
		ignored("a response being cached", "/c/stall?n=100&sent=10"),
		// An ssi include's try that ignores its client: nginx logs the
		// reset as it reads it, in the subrequest's context.
		ignored("a subrequest under proxy_ignore_client_abort", "/sub.html"),
	)
	c.Content = map[string]string{"logs/.keep": "", "cache/.keep": "",
		"html/sub.html": `before <!--# include virtual="/i/together?g=sub&n=2" --> after`}
	c.ErrorLog = true
	c.AccessLogFiles = []string{"logs/a.log"}
	harness.Compare(t, c, want, got, serveAssets(t))
}
