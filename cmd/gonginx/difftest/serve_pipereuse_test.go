package difftest

import (
	"testing"
	"time"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// nginx's event pipe reuses a buffer once the client was sent it: the
// head's buffer (proxy_buffer_size, whole now) and proxy_buffers' ones go
// back to its list of free buffers in the order they were sent, after a
// partly filled one, and are read into before a new one is allocated. So
// where a body is held after its first buffers depends on both sizes and
// on proxy_busy_buffers_size (which splits what is sent at once).
func TestServeProxyBufferReuse(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	gone := func(name, target string, pieces int) harness.Request {
		r := plainGet(name, target)
		// After the backend wrote its last piece: the pieces' sleeps,
		// stretched on a loaded machine, do not eat the proxy's time.
		r.AwaitRequests, r.AwaitFrames, r.HangUpAfter = 1, pieces, 700*time.Millisecond
		return r
	}
	c := serveProxyCase("proxy buffer reuse", `log_format held '$request $status $body_bytes_sent';
proxy_cache_path cache keys_zone=reuse:1m;
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    access_log logs/a.log held;
    location /big/ { proxy_pass http://{{BACKEND}}/; proxy_buffer_size 8k; proxy_buffers 8 2k; proxy_busy_buffers_size 12k; }
    location /busy/ { proxy_pass http://{{BACKEND}}/; proxy_buffer_size 8k; proxy_buffers 8 2k; proxy_busy_buffers_size 8k; }
    location /small/ { proxy_pass http://{{BACKEND}}/; proxy_buffer_size 2k; proxy_buffers 4 8k; }
    location /few/ { proxy_pass http://{{BACKEND}}/; proxy_buffer_size 4k; proxy_buffers 3 2k; proxy_busy_buffers_size 4k; }
    location /ch/ { proxy_pass http://{{BACKEND}}/; proxy_http_version 1.1; proxy_buffer_size 8k; proxy_buffers 8 2k; proxy_busy_buffers_size 12k; }
    location /large/ { proxy_pass http://{{BACKEND}}/; proxy_buffers 4 64k; }
    location /huge/ { proxy_pass http://{{BACKEND}}/; proxy_buffer_size 128k; proxy_buffers 4 256k; }
    location /c/ {
        proxy_pass http://{{BACKEND}}/;
        proxy_buffer_size 8k;
        proxy_buffers 8 2k;
        proxy_busy_buffers_size 8k;
        proxy_cache reuse;
        proxy_cache_valid 200 1m;
        proxy_read_timeout 1500ms;
    }
}
`,
		gone("the head's buffer read into again", "/big/stall?n=40000&sent=11000&more=3000&more=5000", 2),
		gone("sent apart: the head's buffer after the next", "/busy/stall?n=40000&sent=11000&more=3000&more=5000", 2),
		gone("a head's buffer smaller than proxy_buffers'", "/small/stall?n=40000&sent=3000&more=9000&more=2000", 2),
		gone("all buffers taken within a read", "/few/stall?n=60000&sent=30000&more=3000&more=9000", 2),
		// A chunked body: its raw buffers alike.
		gone("chunked: the head's buffer read into again", "/ch/stall?p=c11000&p=c3000&p=c5000", 3),
		gone("chunked, sent apart", "/ch/stall?p=c3000&p=c9000&p=c2000&p=c7000", 4),
		// Buffers larger than a read's: a part of one waits still.
		gone("proxy_buffers 4 64k, 40000 bytes", "/large/stall?n=200000&sent=40000", 0),
		// 100000 bytes in one write reach nginx as the kernel splits
		// them, which its first read may or may not find whole (69563
		// bytes passed on a quiet machine, 73659 on a loaded one): in
		// two writes apart, what it passes does not hang on that.
		gone("proxy_buffers 4 64k, 100000 bytes in two writes", "/large/stall?n=200000&sent=65400&more=34600", 1),
		gone("proxy_buffer_size 128k, 40000 bytes: nothing passed", "/huge/stall?n=200000&sent=40000", 0),
		// Written to the cache's temporary file, a buffer goes to the
		// end of the free list.
		gone("under a cache", "/c/stall?n=40000&sent=11000&more=3000&more=5000", 2),
	)
	c.Content = map[string]string{"logs/.keep": "", "cache/.keep": ""}
	c.AccessLogFiles = []string{"logs/a.log"}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// FastCGI's buffers past 32k hold a body as nginx's do.
func TestServeFastCGIBufferHold(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	fcgi := startFCGIServer(t)
	gone := func(name, target string) harness.Request {
		r := plainGet(name, target)
		r.HangUpAfter = 700 * time.Millisecond
		r.Settle = 500 * time.Millisecond
		return r
	}
	c := serveProxyCase("fastcgi buffer hold", `log_format held '$request $status $body_bytes_sent';
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    access_log logs/a.log held;
    location /f/ { fastcgi_pass `+fcgi.addr()+`; fastcgi_param DOCUMENT_URI $document_uri; }
    location /l/ { fastcgi_pass `+fcgi.addr()+`; fastcgi_param DOCUMENT_URI $document_uri; fastcgi_buffers 4 64k; }
    location /h/ { fastcgi_pass `+fcgi.addr()+`; fastcgi_param DOCUMENT_URI $document_uri; fastcgi_buffer_size 128k; fastcgi_buffers 4 256k; }
}
`,
		gone("fastcgi_buffers 8 4k", "/f/bigstall"),
		gone("fastcgi_buffers 4 64k", "/l/bigstall"),
		gone("fastcgi_buffer_size 128k", "/h/bigstall"),
		gone("a part of the first buffer", "/f/stall"),
		gone("fastcgi_buffer_size 128k, a part of the first buffer", "/h/stall"),
	)
	c.Content = map[string]string{"logs/.keep": ""}
	c.AccessLogFiles = []string{"logs/a.log"}
	harness.Compare(t, c, want, got, serveAssets(t))
}
