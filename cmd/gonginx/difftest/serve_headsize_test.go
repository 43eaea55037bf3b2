package difftest

import (
	"testing"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// A FastCGI head must fit fastcgi_buffer_size as nginx reads it: the raw
// records (their 8-byte headers and padding too), not the decoded
// header bytes; a buffer past 32k takes a head past 32k.
func TestServeFastCGIHeadBufferSize(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	fcgi := startFCGIServer(t)
	c := serveProxyCase("fastcgi_buffer_size bounds the raw head", `log_format h '$request $status';
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    error_log stderr info;
    access_log logs/a.log h;
    location /s/ {
        fastcgi_pass `+fcgi.addr()+`;
        fastcgi_param DOCUMENT_URI $document_uri;
        fastcgi_buffer_size 1k;
    }
    location /k/ {
        fastcgi_pass `+fcgi.addr()+`;
        fastcgi_param DOCUMENT_URI $document_uri;
        fastcgi_buffer_size 1k;
        fastcgi_keep_conn on;
    }
    location /l/ {
        fastcgi_pass `+fcgi.addr()+`;
        fastcgi_param DOCUMENT_URI $document_uri;
        fastcgi_buffer_size 64k;
        fastcgi_buffers 4 64k;
    }
}
`,
		plainGet("one record, its head well in 1k", "/s/hone990"),
		// nginx 1.22's pipe reads first into its full head buffer: a
		// read of nothing, taken as the backend's close.
		plainGet("one record, its head ending at the buffer's end", "/s/hone1005"),
		plainGet("one record, its head and a body byte filling the buffer", "/s/hone1004"),
		// A stderr before any stdout that ends where a read ended: nginx
		// reads on from its buffer's start.
		plainGet("a stderr record, then later a head: both in 1k", "/s/errthen500"),
		plainGet("a stderr record past 1k, then later a head", "/s/errthen1500"),
		plainGet("keep_conn: its head ending at the buffer's end", "/k/hone1005"),
		plainGet("keep_conn: its head and a body byte filling the buffer", "/k/hone1004"),
		plainGet("one record, its head past the buffer with its record header", "/s/hone1010"),
		plainGet("100-byte records, the head in 1k with their headers", "/s/hrec850"),
		plainGet("100-byte records, the head past 1k with their headers", "/s/hrec930"),
		plainGet("a 40000-byte head in 64k", "/l/hone40000"),
		plainGet("a 60000-byte head in 100-byte records past 64k", "/l/hrec60000"),
		plainGet("a 70000-byte head past 64k", "/l/hrec70000"),
	)
	c.Content = map[string]string{"logs/.keep": ""}
	c.ErrorLog = true
	c.AccessLogFiles = []string{"logs/a.log"}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// proxy_buffer_size past the 32k of a response buffer takes a head past
// 32k, as nginx reads the head into a buffer of that size.
func TestServeProxyHeadBufferSizeLarge(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := serveProxyCase("proxy_buffer_size past 32k", `log_format h '$request $status $upstream_cache_status';
proxy_cache_path cache keys_zone=h:1m;
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    error_log stderr info;
    access_log logs/a.log h;
    location /l/ { proxy_pass http://{{BACKEND}}/; proxy_buffer_size 64k; proxy_buffers 4 64k; }
    location /u/ { proxy_pass http://{{BACKEND}}/; proxy_buffer_size 64k; proxy_buffers 4 64k; proxy_buffering off; }
    location /p/ { proxy_pass http://{{BACKEND}}/; }
    location /pu/ { proxy_pass http://{{BACKEND}}/; proxy_buffering off; }
    location /c/ { proxy_pass http://{{BACKEND}}/; proxy_cache h; proxy_cache_key k$arg_k; proxy_cache_valid 200 1m; }
}
`,
		// header_start with the key "k1": 336 + len("\nKEY: k1\n").
		plainGet("under a cache, a head ending at the buffer's end less the key", "/c/made?hn=3676&n=10&k=1"),
		plainGet("again: not cached", "/c/made?hn=3676&n=10&k=1"),
		plainGet("under a cache, a byte shorter: cached", "/c/made?hn=3675&n=10&k=2"),
		plainGet("a hit", "/c/made?hn=3675&n=10&k=2"),
		// nginx 1.22's pipe reads first into its full head buffer: a
		// read of nothing, taken as the backend's close.
		plainGet("a head ending at the 4k buffer's end", "/p/made?hn=4021&n=10"),
		plainGet("a head ending at the 4k buffer's end, chunked", "/p/made?hn=4013&n=10&chunked=1"),
		plainGet("a head ending at the 4k buffer's end, unbuffered", "/pu/made?hn=4021&n=10"),
		plainGet("a head ending a byte before the buffer's end", "/p/made?hn=4020&n=10"),
		plainGet("a 40000-byte header in 64k", "/l/made?hn=40000&n=100"),
		plainGet("a 40000-byte header in 64k, then a long body", "/l/made?hn=40000&n=200000"),
		plainGet("a 40000-byte header unbuffered", "/u/made?hn=40000&n=100000"),
		plainGet("a 70000-byte header past 64k", "/l/made?hn=70000&n=10"),
		plainGet("a 4000-byte header after them", "/l/made?hn=4000&n=10"),
	)
	c.Content = map[string]string{"logs/.keep": "", "cache/.keep": ""}
	c.ErrorLog = true
	c.AccessLogFiles = []string{"logs/a.log"}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// A gRPC response's header block must fit grpc_buffer_size, where nginx
// reads the frames that carry it: a longer one is "upstream sent too big
// header" (502).
func TestServeGRPCHeadBufferSize(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	be := startH2Backend(t, nil)
	c := serveProxyCase("grpc_buffer_size bounds the head", `log_format h '$request $status';
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    error_log stderr info;
    access_log logs/a.log h;
    location /g/ { grpc_pass grpc://`+be.addr()+`; }
    location /l/ { grpc_pass grpc://`+be.addr()+`; grpc_buffer_size 16k; }
}
`,
		plainGet("a 2000-byte header in the default 4k", "/g/hbig2000"),
		plainGet("an 8000-byte header past the default 4k", "/g/hbig8000"),
		plainGet("an 8000-byte header in 16k", "/l/hbig8000"),
		plainGet("a 30000-byte header past 16k", "/l/hbig30000"),
	)
	c.Content = map[string]string{"logs/.keep": ""}
	c.ErrorLog = true
	c.AccessLogFiles = []string{"logs/a.log"}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// An SCGI or uwsgi head must fit scgi_buffer_size or uwsgi_buffer_size,
// past 32k too.
func TestServeSCGIHeadBufferSize(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	sc, uw := startSCGIServer(t), startCGIServer(t, true)
	c := serveProxyCase("scgi and uwsgi buffer sizes bound the head", `log_format h '$request $status';
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    error_log stderr info;
    access_log logs/a.log h;
    location /s/ { scgi_pass `+sc.addr()+`; scgi_param DOCUMENT_URI $document_uri; }
    location /sl/ { scgi_pass `+sc.addr()+`; scgi_param DOCUMENT_URI $document_uri; scgi_buffer_size 64k; scgi_buffers 4 64k; }
    location /u/ { uwsgi_pass `+uw.addr()+`; uwsgi_param DOCUMENT_URI $document_uri; }
    location /ul/ { uwsgi_pass `+uw.addr()+`; uwsgi_param DOCUMENT_URI $document_uri; uwsgi_buffer_size 64k; uwsgi_buffers 4 64k; }
}
`,
		plainGet("scgi: a 1000-byte header in the default 4k", "/s/hbig1000"),
		plainGet("scgi: a 4100-byte header past it", "/s/hbig4100"),
		plainGet("scgi: a head ending at the buffer's end: read as the close", "/s/hbig4059"),
		plainGet("uwsgi: a head ending at the buffer's end: read as the close", "/u/hbig4059"),
		plainGet("scgi: a 40000-byte header in 64k", "/sl/hbig40000"),
		plainGet("scgi: a 70000-byte header past 64k", "/sl/hbig70000"),
		plainGet("uwsgi: a 4100-byte header past the default 4k", "/u/hbig4100"),
		plainGet("uwsgi: a 40000-byte header in 64k", "/ul/hbig40000"),
		plainGet("uwsgi: a 70000-byte header past 64k", "/ul/hbig70000"),
	)
	c.Content = map[string]string{"logs/.keep": ""}
	c.ErrorLog = true
	c.AccessLogFiles = []string{"logs/a.log"}
	harness.Compare(t, c, want, got, serveAssets(t))
}
