package difftest

import (
	"strings"
	"testing"
	"time"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// nginx's buffered relay (the event pipe) passes the body on in whole
// buffers: the rest of the buffer the head was read into, then buffers of
// proxy_buffers' size; a partly filled one waits until it is full or the
// response ends, and the head waits with it (postpone_output). A client
// that gives up while the backend stalls was sent only the full buffers
// ($body_bytes_sent; with nothing sent, the status is 499); unbuffered, it was sent all that came.
func TestServeProxyBufferHold(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	gone := func(name, target string) harness.Request {
		r := plainGet(name, target)
		r.AwaitRequests, r.HangUpAfter = 1, 300*time.Millisecond
		return r
	}
	h2gone := func(name, target string) harness.Request {
		r := harness.Request{Name: name, H2: true, Send: []string{"GET " + target + " HTTP/1.1\r\nHost: localhost\r\n\r\n"}}
		r.AwaitRequests, r.CancelAfter = 1, 300*time.Millisecond
		return r
	}
	c := serveProxyCase("proxy buffer hold", `log_format held '$request $status $body_bytes_sent';
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    access_log logs/a.log held;
    location /p/ { proxy_pass http://{{BACKEND}}/; }
    location /b/ { proxy_pass http://{{BACKEND}}/; proxy_buffering off; }
    location /big/ { proxy_pass http://{{BACKEND}}/; proxy_buffer_size 8k; proxy_buffers 8 2k; proxy_busy_buffers_size 8k; }
    location /t/ { proxy_pass http://{{BACKEND}}/; proxy_read_timeout 500ms; }
}
`,
		gone("a partial first buffer", "/p/stall?n=100&sent=10"),
		gone("the first buffer full", "/p/stall?n=10000&sent=5000"),
		func() harness.Request {
			// The body comes 300 ms after the head: the hang-up well after.
			r := gone("the first buffer full, the body after the head", "/p/stall?n=10000&sent=5000&split=1")
			r.HangUpAfter = time.Second
			return r
		}(),
		gone("two buffers full", "/p/stall?n=20000&sent=9000"),
		gone("unbuffered", "/b/stall?n=100&sent=10"),
		gone("proxy_buffer_size 8k, proxy_buffers 8 2k", "/big/stall?n=20000&sent=11000"),
		plainGet("the backend times out: what was held goes out", "/t/stall?n=100&sent=10"),
		plainGet("whole", "/p/stall?n=100&sent=100"),
	)
	c.Content = map[string]string{"logs/.keep": ""}
	c.AccessLogFiles = []string{"logs/a.log"}
	harness.Compare(t, c, want, got, serveAssets(t))

	// HTTP/2 holds the body's buffers alike; its head is sent at once.
	c = serveProxyCase("proxy buffer hold h2", `log_format held '$request $status $body_bytes_sent';
server {
    listen 127.0.0.1:{{PORT}} http2;
    server_name localhost;
    access_log logs/a.log held;
    location /p/ { proxy_pass http://{{BACKEND}}/; }
}
`,
		h2gone("a partial first buffer", "/p/stall?n=100&sent=10"),
		h2gone("the first buffer full", "/p/stall?n=10000&sent=5000"),
	)
	c.Content = map[string]string{"logs/.keep": ""}
	c.AccessLogFiles = []string{"logs/a.log"}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// A chunked body in nginx's event pipe: a buffer's chunk data goes on
// once the buffer holds the bytes the chunk parser needs to get on (the
// rest of a chunk and a last chunk's 5 bytes), so a chunk's data split
// across reads waits for the rest of it; with nothing passed, the head
// waits too (postpone_output), under a cache's writing relay as well.
// Under a cache, the first buffer is shorter by the cache file's header.
// postpone_output's value decides which heads wait.
func TestServeProxyChunkedHold(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	gone := func(name, target string, pieces int) harness.Request {
		r := plainGet(name, target)
		r.AwaitRequests, r.AwaitFrames, r.HangUpAfter = 1, pieces, 700*time.Millisecond
		return r
	}
	c := serveProxyCase("proxy chunked hold", `log_format held '$request $status $body_bytes_sent';
proxy_cache_path cache keys_zone=held:1m;
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    access_log logs/a.log held;
    location /p/ { proxy_pass http://{{BACKEND}}/; proxy_http_version 1.1; }
    location /c/ {
        proxy_pass http://{{BACKEND}}/;
        proxy_http_version 1.1;
        proxy_cache held;
        proxy_cache_valid 200 1m;
        # Read on for the cache after the client went: the proxy ends
        # the response, not the harness's stop.
        proxy_read_timeout 1500ms;
    }
    location /z/ { proxy_pass http://{{BACKEND}}/; proxy_http_version 1.1; postpone_output 0; }
    location /h/ { proxy_pass http://{{BACKEND}}/; proxy_http_version 1.1; postpone_output 100; }
}
`,
		gone("the head alone", "/p/stall?chunked=1", 0),
		gone("a chunk's data split across reads", "/p/stall?p=10%0D%0A12345&p=678", 2),
		gone("the next read completes what the parser needs", "/p/stall?p=5%0D%0A12345%0D%0A&p=3%0D%0A12", 2),
		gone("a chunk's size line alone, then part of its data", "/p/stall?p=10%0D%0A&p=12345", 2),
		gone("under a cache: the head alone", "/c/stall?chunked=1", 0),
		gone("under a cache: a chunk's data split across reads", "/c/stall?p=10%0D%0A12345&p=678", 2),
		// nginx reads the head after the room a cache file's header
		// takes: the body's first buffer is that much shorter.
		gone("under a cache: the first buffer full", "/c/stall?n=10000&sent=5000", 0),
		gone("postpone_output 0: the head alone", "/z/stall?chunked=1", 0),
		gone("postpone_output 0: a part of a buffer", "/z/stall?n=100&sent=10", 0),
		gone("postpone_output 100: a part of a buffer", "/h/stall?n=100&sent=10", 0),
		plainGet("whole", "/p/chunked"),
	)
	c.Content = map[string]string{"logs/.keep": "", "cache/.keep": ""}
	c.AccessLogFiles = []string{"logs/a.log"}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// With fastcgi_keep_conn, nginx's event pipe parses a partly filled
// buffer once it holds the bytes the record parser needs to get on (a
// record's header, the rest of its data, its padding): a record's data
// split across reads waits for the rest of the record's data.
func TestServeFastCGIKeepConnHold(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	fcgi := startFCGIServer(t)
	gone := func(name, target string, pieces int) harness.Request {
		r := plainGet(name, target)
		r.HangUpAfter = time.Duration(pieces)*300*time.Millisecond + 700*time.Millisecond
		// Not awaited through the harness's backend: time for the
		// hang-up's handling before what follows.
		r.Settle = 500 * time.Millisecond
		return r
	}
	c := serveProxyCase("fastcgi keep_conn hold", `log_format held '$request $status $body_bytes_sent';
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    access_log logs/a.log held;
    location /k/ {
        fastcgi_pass `+fcgi.addr()+`;
        fastcgi_param DOCUMENT_URI $document_uri;
        fastcgi_keep_conn on;
    }
}
`,
		gone("a record's data split across reads", "/k/keepsplit1", 3),
		gone("a record's data whole, its padding not yet", "/k/keepsplit2", 3),
		gone("the first part with the head", "/k/keepsplit3", 2),
		gone("a record's header alone, then part of its data", "/k/keepsplit4", 3),
	)
	c.Content = map[string]string{"logs/.keep": ""}
	c.AccessLogFiles = []string{"logs/a.log"}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// A cache key too long for the room proxy_buffer_size leaves after the
// cache file's header: nginx logs it and serves the request without the
// cache (no MISS, no HIT after).
func TestServeProxyCacheKeyTooLong(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	long := "/k/x?" + strings.Repeat("k", 500)
	c := serveProxyCase("cache key too long", `log_format k '$status $body_bytes_sent "$upstream_cache_status"';
proxy_cache_path cache keys_zone=k:1m;
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    error_log stderr info;
    access_log logs/a.log k;
    location /k/ { proxy_pass http://{{BACKEND}}/; proxy_cache k; proxy_cache_valid 200 1m; proxy_buffer_size 1k; }
}
`,
		plainGet("the key leaves too little room", long),
		plainGet("again: not cached", long),
		// nginx turns HEAD into GET (proxy_cache_convert_head) before it
		// checks the key's room, and keeps it without the cache.
		serveRaw("HEAD with a long key", "HEAD "+long+" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
		plainGet("a short key is cached", "/k/x?short"),
		plainGet("a hit", "/k/x?short"),
	)
	c.Content = map[string]string{"logs/.keep": "", "cache/.keep": ""}
	c.ErrorLog = true
	c.AccessLogFiles = []string{"logs/a.log"}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// A response head must fit proxy_buffer_size, less what a cache keeps
// at the buffer's start (the cache file's header and key): a longer one
// is "upstream sent too big header" (502).
func TestServeProxyHeadBufferSize(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	// No $body_bytes_sent: the 502 page names the server.
	c := serveProxyCase("proxy_buffer_size bounds the head", `log_format h '$request $status';
proxy_cache_path cache keys_zone=h:1m;
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    error_log stderr info;
    access_log logs/a.log h;
    location /p/ { proxy_pass http://{{BACKEND}}/; }
    location /b/ {
        proxy_pass http://{{BACKEND}}/;
        proxy_buffer_size 16k;
        proxy_buffers 8 4k;
        proxy_busy_buffers_size 16k;
    }
    location /s/ { proxy_pass http://{{BACKEND}}/; proxy_buffer_size 1k; }
    location /c/ { proxy_pass http://{{BACKEND}}/; proxy_cache h; proxy_cache_valid 200 1m; }
}
`,
		plainGet("a 4000-byte header in the default 4k", "/p/made?hn=4000&n=10"),
		plainGet("a 4100-byte header past the default 4k", "/p/made?hn=4100&n=10"),
		plainGet("an 8000-byte header in 16k", "/b/made?hn=8000&n=10"),
		plainGet("a 900-byte header in 1k", "/s/made?hn=900&n=10"),
		plainGet("a 1000-byte header past 1k", "/s/made?hn=1000&n=10"),
		plainGet("under a cache, a 3000-byte header fits", "/c/made?hn=3000&n=10"),
		plainGet("under a cache, a 3700-byte header does not", "/c/made?hn=3700&n=10"),
	)
	c.Content = map[string]string{"logs/.keep": "", "cache/.keep": ""}
	c.ErrorLog = true
	c.AccessLogFiles = []string{"logs/a.log"}
	harness.Compare(t, c, want, got, serveAssets(t))
}
