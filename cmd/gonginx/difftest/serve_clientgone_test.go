package difftest

import (
	"testing"
	"time"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// A client that hangs up while its response's body is relayed and the
// backend, having sent part of it, sends nothing more: nginx's upstream
// broken connection check on the client's read event sees it at once,
// logs it ("epoll_wait() reported that client prematurely closed
// connection, so upstream connection is closed too", with the socket's
// error for a reset, "while reading upstream" or, unbuffered before the
// backend's next read, "while sending to client") and closes the backend
// connection; the access log keeps the response's status once bytes of
// it went out. Buffered, unbuffered with the part in the head's read or
// in a read of its own, and FastCGI unbuffered.
//
// Buffered (proxy and FastCGI), what went out is nginx's event pipe's
// whole buffers (TestServeProxyBufferHold).
func TestServeClientGoneWhileAwaitingBody(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	fcgi := startFCGIServer(t)
	gone := func(name, target string) harness.Request {
		r := plainGet(name, target)
		// A second after the backend has the request: the part of the
		// body sent is at the client by then, unread (so its close is a
		// reset).
		r.AwaitRequests, r.HangUpAfter = 1, time.Second
		return r
	}
	fcgiGone := gone("fastcgi", "/php/stall")
	fcgiGone.AwaitRequests, fcgiGone.HangUpAfter = 0, time.Second
	// Not awaited through the harness's backend: time for the hang-up's
	// handling before what follows (a stop would cut it short).
	fcgiGone.Settle = 500 * time.Millisecond
	fcgiBuffered := fcgiGone
	fcgiBuffered.Name, fcgiBuffered.Send = "fastcgi buffered: nothing sent", plainGet("", "/phpb/stall").Send
	c := serveProxyCase("client gone awaiting the body", `log_format gone '$request $status $body_bytes_sent $upstream_status';
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    error_log stderr info;
    access_log gone.log gone;
    location /p/ { proxy_pass http://{{BACKEND}}/; }
    location /nb/ {
        proxy_pass http://{{BACKEND}}/;
        proxy_buffering off;
    }
    location /php/ {
        fastcgi_pass `+fcgi.addr()+`;
        fastcgi_param DOCUMENT_URI $document_uri;
        fastcgi_buffering off;
    }
    location /phpb/ {
        fastcgi_pass `+fcgi.addr()+`;
        fastcgi_param DOCUMENT_URI $document_uri;
    }
}
`,
		gone("buffered", "/p/stall?n=100000&sent=20000"),
		gone("unbuffered, the part with the head", "/nb/stall?n=100&sent=10"),
		gone("unbuffered, the part in a read of its own", "/nb/stall?n=100&sent=10&split=1"),
		fcgiGone,
		fcgiBuffered,
	)
	c.ErrorLog = true
	c.AccessLogFiles = []string{"gone.log"}
	harness.Compare(t, c, want, got, serveAssets(t))
}
