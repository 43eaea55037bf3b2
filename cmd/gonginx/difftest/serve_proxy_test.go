package difftest

import (
	"strings"
	"testing"
	"time"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// The proxy module's behaviour, nginx vs gonginx: what the client gets and what the backend
// receives for proxy_redirect, proxy_next_upstream, proxy_method, proxy_set_body,
// proxy_intercept_errors and proxy_pass inherited into "if".

func serveProxyCase(name, config string, requests ...harness.Request) harness.Case {
	return harness.Case{Name: name, Config: config, Requests: requests}
}

func plainGet(name, target string) harness.Request {
	return serveRaw(name, "GET "+target+" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
}

// proxy_redirect: the implicit default, variables on either side, ~ and ~* regexes with
// captures, a byte-for-byte (case-sensitive) prefix, off, and the Refresh header's url=.
func TestServeProxyRedirect(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := serveProxyCase("proxy_redirect", `server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    location /impl/ { proxy_pass http://{{BACKEND}}/; }
    location /impl-nouri/ { proxy_pass http://{{BACKEND}}; }
    location /expl/ { proxy_pass http://{{BACKEND}}/; proxy_redirect default; }
    location /var/ {
        set $v var_here;
        proxy_pass http://{{BACKEND}}/;
        proxy_redirect http://127.0.0.1:{{BACKEND_PORT}}/ /$v/;
    }
    location /varfrom/ {
        set $h 127.0.0.1;
        proxy_pass http://{{BACKEND}}/;
        proxy_redirect http://$h:{{BACKEND_PORT}}/ /replaced/;
    }
    location /re/ {
        proxy_pass http://{{BACKEND}}/;
        proxy_redirect ~^http://[^/]+/(SOCKET)/(.*)$ /re/$1-$2;
    }
    location /rei/ {
        proxy_pass http://{{BACKEND}}/;
        proxy_redirect ~*^http://[^/]+/(SOCKET)/(.*)$ /rei/$1-$2;
    }
    location /case/ {
        proxy_pass http://{{BACKEND}}/;
        proxy_redirect HTTP://127.0.0.1:{{BACKEND_PORT}}/ /x/;
    }
    location /two/ {
        proxy_pass http://{{BACKEND}}/;
        proxy_redirect http://nomatch/ /no/;
        proxy_redirect http://127.0.0.1:{{BACKEND_PORT}}/socket/ /second/;
    }
    location /off/ { proxy_pass http://{{BACKEND}}/; proxy_redirect off; }
}
`,
		plainGet("implicit default", "/impl/refresh"),
		plainGet("implicit default without URI part", "/impl-nouri/refresh"),
		plainGet("explicit default", "/expl/refresh"),
		plainGet("variable in replacement", "/var/refresh"),
		plainGet("variable in pattern", "/varfrom/refresh"),
		plainGet("regex is case-sensitive", "/re/refresh"),
		plainGet("caseless regex with captures", "/rei/refresh"),
		plainGet("prefix is case-sensitive", "/case/refresh"),
		plainGet("second rule", "/two/refresh"),
		plainGet("off", "/off/refresh"),
		plainGet("Location only", "/impl/redirect"),
	)
	harness.Compare(t, c, want, got, serveAssets(t))
}

// proxy_next_upstream: upstreams of the recording backend first and a server of the config
// itself (selected by Host: self) second, so the backend's view shows each try. Each case has
// its own upstream, so its first request starts at the backend.
func TestServeProxyNextUpstream(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	var ups strings.Builder
	for _, name := range []string{"n404", "n500", "post", "nidem", "off", "n403"} {
		ups.WriteString("upstream " + name + " { server {{BACKEND}}; server 127.0.0.1:{{PORT}}; }\n")
	}
	c := serveProxyCase("proxy_next_upstream", ups.String()+`upstream both {
    server {{BACKEND}};
    server {{BACKEND}};
}
upstream three {
    server {{BACKEND}};
    server {{BACKEND}};
    server {{BACKEND}};
}
upstream withdown {
    server {{BACKEND}};
    server 127.0.0.1:{{PORT}} down;
}
upstream withbackup {
    server {{BACKEND}};
    server 127.0.0.1:{{PORT}} backup;
}
server {
    listen 127.0.0.1:{{PORT}};
    server_name n404 n500 post nidem off n403 withbackup;
    location / { return 200 "self saw $request_method $request_uri $http_host\n"; }
}
server {
    listen 127.0.0.1:{{PORT}} default_server;
    server_name localhost;
    location /n404/ { proxy_pass http://n404/; proxy_next_upstream http_404; }
    location /n403/ { proxy_pass http://n403/; proxy_next_upstream http_403; }
    location /n500/ { proxy_pass http://n500/; proxy_next_upstream http_500 http_503; }
    location /post/ { proxy_pass http://post/; proxy_next_upstream http_404; }
    location /nidem/ { proxy_pass http://nidem/; proxy_next_upstream http_404 non_idempotent; }
    location /off/ { proxy_pass http://off/; proxy_next_upstream off; }
    location /both/ {
        proxy_pass http://both/;
        proxy_next_upstream http_404 http_429 http_502 http_504;
        error_page 404 = /log;
        proxy_intercept_errors on;
    }
    location /tries/ {
        proxy_pass http://three/;
        proxy_next_upstream http_404;
        proxy_next_upstream_tries 2;
        error_page 404 = /log;
        proxy_intercept_errors on;
    }
    location /down/ {
        proxy_pass http://withdown/;
        proxy_next_upstream http_404;
        error_page 404 = /log;
        proxy_intercept_errors on;
    }
    location /backup/ { proxy_pass http://withbackup/; proxy_next_upstream http_500; }
    location = /log { return 200 "tried $upstream_addr: $upstream_status\n"; }
}
`,
		plainGet("404 goes on to the next server", "/n404/status/404"),
		plainGet("a 404 server stays up", "/n404/status/404"),
		plainGet("403", "/n403/status/403"),
		plainGet("500 goes on", "/n500/status/500"),
		plainGet("500 took the server out", "/n500/status/200"),
		plainGet("and again", "/n500/status/200"),
		serveRaw("POST is not retried", "POST /post/status/404 HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi"),
		serveRaw("POST with non_idempotent", "POST /nidem/status/404 HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi"),
		plainGet("off", "/off/status/404"),
		plainGet("all tried, the last answer passed on", "/both/status/404"),
		plainGet("429", "/both/status/429"),
		plainGet("502", "/both/status/502"),
		plainGet("504", "/both/status/504"),
		plainGet("proxy_next_upstream_tries", "/tries/status/404"),
		plainGet("a down server is not a try", "/down/status/404"),
		plainGet("backup after a 500", "/backup/status/500"),
	)
	harness.Compare(t, c, want, got, serveAssets(t))
}

// proxy_method, proxy_set_body, proxy_intercept_errors and proxy_pass inherited into "if".
func TestServeProxyRequestRewrites(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := serveProxyCase("proxy request", `server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    proxy_method POST;
    location /method/ { proxy_pass http://{{BACKEND}}/; }
    location /method-var/ { set $m PUT; proxy_pass http://{{BACKEND}}/; proxy_method $m; }
    location /method-head/ { proxy_pass http://{{BACKEND}}/; proxy_method HEAD; }
    location /body/ { proxy_pass http://{{BACKEND}}/; proxy_set_body "body of $uri"; proxy_method GET; }
    location /body-empty/ { proxy_pass http://{{BACKEND}}/; proxy_set_body ""; proxy_method GET; }
    location /intercept/ {
        proxy_pass http://{{BACKEND}}/;
        proxy_method GET;
        proxy_intercept_errors on;
        error_page 500 502 = /caught;
        error_page 401 /caught;
    }
    location /nointercept/ {
        proxy_pass http://{{BACKEND}}/;
        proxy_method GET;
        error_page 500 /caught;
    }
    location = /caught { return 200 "caught $upstream_status\n"; }
    location /if/ {
        proxy_pass http://{{BACKEND}}/up/;
        proxy_method GET;
        if ($arg_x) {
            root /nonexistent;
        }
    }
}
`,
		plainGet("proxy_method from the server level", "/method/a"),
		plainGet("proxy_method from a variable", "/method-var/a"),
		plainGet("proxy_method HEAD", "/method-head/a"),
		serveRaw("proxy_set_body replaces the client's", "POST /body/a HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"),
		plainGet("proxy_set_body without a client body", "/body/b"),
		plainGet("proxy_set_body empty", "/body-empty/b"),
		plainGet("intercepted 500", "/intercept/status/500"),
		plainGet("intercepted 502", "/intercept/status/502"),
		plainGet("404 without error_page", "/intercept/status/404"),
		plainGet("intercepted 401 keeps WWW-Authenticate", "/intercept/auth"),
		plainGet("401 not intercepted", "/nointercept/auth"),
		plainGet("not intercepted", "/nointercept/status/500"),
		plainGet("if inherits proxy_pass", "/if/x?x=1"),
		plainGet("if not taken", "/if/x"),
	)
	harness.Compare(t, c, want, got, serveAssets(t))
}

// proxy_pass with a URI part sends the normalized URI, escaped again as nginx's
// ngx_escape_uri(NGX_ESCAPE_URI) when the client's had escapes (or the URI was changed).
func TestServeProxyURIPartEscaping(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := serveProxyCase("proxy_pass URI part", `server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    location /p/ { proxy_pass http://{{BACKEND}}/; }
    location /q/ { proxy_pass http://{{BACKEND}}/up/; }
    location /r/ { rewrite ^/r/(.*)$ /p/$1; }
    location /plain/ { proxy_pass http://{{BACKEND}}; }
    location /b/ { rewrite ^/b/(.*)$ /x/$1 break; proxy_pass http://{{BACKEND}}/up/; }
    location /e/ { error_page 404 /p/err%20x; return 404; }
    location /t/ { try_files /nonexistent /p/tried%20it?a=b; }
}
`,
		plainGet("percent", "/p/%25/"),
		plainGet("space", "/p/a%20b"),
		plainGet("question mark", "/p/a%3Fb?c=d"),
		plainGet("hash and quote", "/p/%23%22%3C%3E"),
		plainGet("utf-8", "/p/%ED%95%9C"),
		plainGet("raw utf-8", "/p/한"),
		plainGet("slash escaped", "/p/a%2Fb"),
		plainGet("dot segments", "/p/x/../a%20b"),
		plainGet("unescaped chars kept", "/p/a;b=c,d@e$f!g'h(i)*+&"),
		plainGet("escaped unreserved", "/p/%41%7E"),
		plainGet("deeper URI part", "/q/%25x"),
		plainGet("through rewrite", "/r/a%20b"),
		plainGet("no URI part", "/plain/a%20b"),
		plainGet("control and DEL", "/p/%01%7F"),
		plainGet("rewrite break drops the URI part", "/b/a%20b?k=v"),
		plainGet("error_page to a proxied location", "/e/x"),
		plainGet("try_files to a proxied location", "/t/x"),
	)
	harness.Compare(t, c, want, got, serveAssets(t))
}

// least_conn with idle servers: ties go round robin, so sequential requests alternate between
// the backend and the config's own server (weights 2:1 give backend, self, backend).
func TestServeProxyLeastConn(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := serveProxyCase("least_conn", `upstream lc {
    least_conn;
    server {{BACKEND}};
    server 127.0.0.1:{{PORT}};
}
upstream lcw {
    least_conn;
    server {{BACKEND}} weight=2;
    server 127.0.0.1:{{PORT}};
}
server {
    listen 127.0.0.1:{{PORT}};
    server_name lc lcw;
    location / { return 200 "self saw $request_uri\n"; }
}
server {
    listen 127.0.0.1:{{PORT}} default_server;
    server_name localhost;
    location /lc/ { proxy_pass http://lc/; }
    location /lcw/ { proxy_pass http://lcw/; }
}
`,
		plainGet("1", "/lc/1"), plainGet("2", "/lc/2"), plainGet("3", "/lc/3"), plainGet("4", "/lc/4"),
		plainGet("w1", "/lcw/1"), plainGet("w2", "/lcw/2"), plainGet("w3", "/lcw/3"), plainGet("w4", "/lcw/4"),
	)
	harness.Compare(t, c, want, got, serveAssets(t))
}

// proxy_pass with variables and no resolver: the host is looked up among the upstream{} blocks
// (no port given) and the upstreams proxy_pass URLs without variables made (host and port),
// else it must be an address; a name is a 502 with "no resolver defined to resolve NAME".
func TestServeProxyVariableHost(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := serveProxyCase("proxy_pass $host", `upstream named { server {{BACKEND}}; }
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    location /impl/ { proxy_pass http://localhost:{{BACKEND_PORT}}/; }
    location /var/ { proxy_pass http://$arg_h/x$is_args$args; }
    location = /log { return 200 "$upstream_addr\n"; }
}
`,
		plainGet("upstream name", "/var/?h=named"),
		plainGet("upstream name in another case", "/var/?h=NaMeD"),
		plainGet("upstream name with a port", "/var/?h=named:80"),
		plainGet("implicit upstream", "/var/?h=localhost:{{BACKEND_PORT}}"),
		plainGet("implicit upstream in another case", "/var/?h=LocalHost:{{BACKEND_PORT}}"),
		plainGet("implicit upstream, other port", "/var/?h=localhost:1"),
		plainGet("address", "/var/?h=127.0.0.1:{{BACKEND_PORT}}"),
		plainGet("unknown name", "/var/?h=unknown.invalid"),
	)
	c.ErrorLog = true
	harness.Compare(t, c, want, got, serveAssets(t))
}

// The $upstream_* variables in the access log, per server tried: lengths and byte counts
// exactly, times by shape ("-" for a try that did not get that far), headers and cookies of
// the backend's response (hidden ones too).
func TestServeProxyUpstreamVariables(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := serveProxyCase("upstream variables", `log_format up "$uri $upstream_addr $upstream_status len=$upstream_response_length recv=$upstream_bytes_received sent=$upstream_bytes_sent ct=$ct ht=$ht rt=$rt xl=$upstream_http_x_lower mixed=$upstream_http_x_mixed_case srv=$upstream_http_server ka=$upstream_http_keep_alive cookie=$upstream_cookie_B tr=$upstream_trailer_x";
map $upstream_connect_time $ct {
    "~^[0-9]+\.[0-9]{3}$" t;
    "~^-, [0-9]+\.[0-9]{3}$" "-, t";
    default $upstream_connect_time;
}
map $upstream_header_time $ht {
    "~^[0-9]+\.[0-9]{3}$" t;
    "~^-, [0-9]+\.[0-9]{3}$" "-, t";
    default $upstream_header_time;
}
map $upstream_response_time $rt {
    "~^[0-9]+\.[0-9]{3}$" t;
    "~^[0-9]+\.[0-9]{3}, [0-9]+\.[0-9]{3}$" "t, t";
    default $upstream_response_time;
}
upstream deadfirst {
    server 127.0.0.1:1;
    server {{BACKEND}};
}
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    access_log logs/up.log up;
    location = /logs/up.log { root .; access_log off; }
    location /up/ { proxy_pass http://{{BACKEND}}/; }
    location /dead/ { proxy_pass http://deadfirst/; }
    location /ret { return 200 "no upstream\n"; }
}
`,
		plainGet("headers", "/up/headers"),
		plainGet("chunked", "/up/chunked"),
		serveRaw("post", "POST /up/post HTTP/1.1\r\nHost: localhost\r\nContent-Length: 11\r\nConnection: close\r\n\r\nhello=world"),
		plainGet("head", "/up/status/204"),
		plainGet("a failed server first", "/dead/headers"),
		plainGet("no upstream", "/ret"),
		plainGet("log", "/logs/up.log"),
	)
	c.Content = map[string]string{"logs/.keep": ""}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// keepaliveProxyConf proxies every request through an upstream with kept
// connections (HTTP/1.1, no Connection header): the cases that show
// whether a backend connection was reused.
const keepaliveProxyConf = `upstream ka {
    server {{BACKEND}};
    keepalive 4;
}
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    location / {
        proxy_pass http://ka;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
    }
}
`

// A backend that sends more than it declared: with a Content-Length the extra bytes are cut
// off and the kept-alive connection is not reused; data after the last chunk likewise; a chunk
// longer than its size is an invalid response. Each is followed by a request that shows whether
// the backend connection was reused.
func TestServeProxyBodyOverrun(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := serveProxyCase("body overrun", keepaliveProxyConf,
		plainGet("first", "/reqno"),
		plainGet("reused", "/reqno"),
		plainGet("more than Content-Length", "/more-than-length"),
		plainGet("not reused after it", "/reqno"),
		plainGet("data after the last chunk", "/after-last-chunk"),
		plainGet("not reused after that", "/reqno"),
		plainGet("chunk longer than its size", "/chunk-too-long"),
		plainGet("not reused after an invalid chunk", "/reqno"),
		serveRaw("keep-alive client, more than Content-Length", "GET /more-than-length HTTP/1.1\r\nHost: localhost\r\n\r\nGET /reqno HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
	)
	c.Requests[len(c.Requests)-1].Responses = 2
	c.ErrorLog = true
	harness.Compare(t, c, want, got, serveAssets(t))
}

// Bytes a backend sends on a kept connection after a complete response, in
// a later segment and without closing (a body after a HEAD's head, extra
// bytes after a Content-Length body), make nginx close that connection
// (ngx_http_upstream_keepalive_close_handler): the next request goes on a
// new one and gets its own answer, not those bytes read as a response.
func TestServeProxyKeepaliveLateBytes(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	// Settle: the late bytes are written before the request ends (the
	// backend is busy until then); the pause lets the proxy see them.
	late := func(r harness.Request) harness.Request {
		r.Settle = 100 * time.Millisecond
		return r
	}
	c := serveProxyCase("keepalive late bytes", keepaliveProxyConf,
		plainGet("establish", "/reqno"),
		plainGet("reused", "/reqno"),
		late(serveRaw("HEAD, then a body late", "HEAD /late-extra HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")),
		plainGet("next: a new connection", "/reqno"),
		late(plainGet("Content-Length body, then more late", "/late-extra")),
		plainGet("next again: a new connection", "/reqno"),
	)
	c.ErrorLog = true
	harness.Compare(t, c, want, got, serveAssets(t))
}

// A WebSocket tunnel in the access log: $bytes_sent and $body_bytes_sent count what went to
// the client through the tunnel too, as nginx's connection counter does.
func TestServeProxyTunnelLog(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := serveProxyCase("tunnel log", `log_format tun "$request_uri $status $body_bytes_sent $request_length $upstream_status $upstream_bytes_sent $upstream_bytes_received $upstream_response_length";
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    access_log logs/tun.log tun;
    location = /logs/tun.log { root .; access_log off; }
    location /ws/ {
        proxy_pass http://{{BACKEND}}/;
        proxy_http_version 1.1;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection "upgrade";
    }
}
`,
		harness.Request{Name: "ws", Send: []string{strings.Replace(serveUpgrade("/ws/chat"), serveHost, "localhost", 1)}, WS: serveFrames()},
		harness.Request{Name: "ws backend hangs up", Send: []string{strings.Replace(serveUpgrade("/ws/ws-hangup"), serveHost, "localhost", 1)}, WS: serveFrames()[:1]},
		plainGet("log", "/logs/tun.log"),
	)
	c.Content = map[string]string{"logs/.keep": ""}
	harness.Compare(t, c, want, got, serveAssets(t))
}

// A tunnel that proxy_read_timeout ends: its error line and its log line are written at its end
// (the request's goroutine does not wait for the tunnel; the tunnel's end ends the request).
func TestServeProxyTunnelTimeout(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := serveProxyCase("tunnel timeout", `log_format tun "$request_uri $status $body_bytes_sent $upstream_status $upstream_bytes_sent $upstream_bytes_received";
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    access_log logs/tun.log tun;
    location = /logs/tun.log { root .; access_log off; }
    location /ws/ {
        proxy_pass http://{{BACKEND}}/;
        proxy_http_version 1.1;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection "upgrade";
        proxy_read_timeout 200ms;
    }
}
`,
		harness.Request{Name: "ws idle past proxy_read_timeout", Send: []string{strings.Replace(serveUpgrade("/ws/chat"), serveHost, "localhost", 1)},
			WS: serveFrames()[:1], Settle: 500 * time.Millisecond, AwaitClose: true},
		plainGet("log", "/logs/tun.log"),
	)
	c.Content = map[string]string{"logs/.keep": ""}
	c.ErrorLog = true
	harness.Compare(t, c, want, got, serveAssets(t))
}

// A kept-alive backend connection that the backend closes without answering: a GET goes again on
// a fresh connection, a POST already sent does not without non_idempotent (nginx-tests
// proxy_non_idempotent.t "keepalive post").
func TestServeProxyKeepaliveRetry(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := serveProxyCase("keepalive retry", `upstream ka {
    server {{BACKEND}};
    keepalive 4;
}
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    location / {
        proxy_pass http://ka;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        add_header X-Tried "$upstream_addr $upstream_status" always;
    }
    location /non/ {
        proxy_pass http://ka/;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_next_upstream error timeout non_idempotent;
        add_header X-Tried "$upstream_addr $upstream_status" always;
    }
}
`,
		plainGet("establish", "/reqno"),
		serveRaw("POST on a kept connection that hangs up", "POST /hangup HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi"),
		plainGet("establish again", "/reqno"),
		plainGet("GET on a kept connection that hangs up", "/hangup"),
		plainGet("and again", "/reqno"),
		serveRaw("POST with non_idempotent", "POST /non/hangup HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi"),
	)
	harness.Compare(t, c, want, got, serveAssets(t))
}

// proxy_request_buffering off with HTTP/1.1: a chunked body goes to the backend as it arrives,
// what is at hand as one chunk (nginx-tests proxy_request_buffering_chunked.t).
func TestServeProxyChunkedStreaming(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := serveProxyCase("chunked streaming", `server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    proxy_request_buffering off;
    location / {
        proxy_pass http://{{BACKEND}};
        proxy_http_version 1.1;
        add_header X-Body "$request_body" always;
    }
    location /v10/ { proxy_pass http://{{BACKEND}}; }
}
`,
		serveRaw("in one go", "POST /a HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\n01234\r\n4\r\nmany\r\n0\r\n\r\n"),
		harness.Request{Name: "in parts", Pause: 100 * time.Millisecond, Send: []string{
			"POST /b HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
			"5\r\n01234\r\n", "3\r\nabc\r\n2\r\nde\r\n", "5\r\n56789\r\n0\r\n\r\n"}},
		serveRaw("HTTP/1.0 to the backend: read first, sent with a length", "POST /v10/c HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\n01234\r\n0\r\n\r\n"),
	)
	harness.Compare(t, c, want, got, serveAssets(t))
}

// Proxy failures in the error log, worded as nginx's: the message, what the proxy was doing
// ("while connecting to upstream", "while reading response header from upstream", "while
// reading upstream") and the upstream it talked to.
func TestServeProxyErrorLog(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := serveProxyCase("proxy error log", `upstream dead {
    server 127.0.0.1:1;
    server 127.0.0.1:2;
}
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    location / { proxy_pass http://{{BACKEND}}; }
    location /dead/ { proxy_pass http://127.0.0.1:1/x/; }
    location /group/ { proxy_pass http://dead; }
    location /slow { proxy_pass http://{{BACKEND}}; proxy_read_timeout 100ms; }
}
`,
		plainGet("connection refused", "/dead/a?b=c"),
		plainGet("a group all refused", "/group/a"),
		plainGet("no live upstreams", "/group/b"),
		plainGet("hang-up before the head", "/hangup"),
		plainGet("body cut short", "/close-early"),
		plainGet("invalid chunk", "/chunk-too-long"),
		plainGet("read timeout", "/slow"),
	)
	c.ErrorLog = true
	harness.Compare(t, c, want, got, serveAssets(t))
}

// A request proxied again after an internal redirect: the $upstream_* variables separate the
// passes with " : " (and the tries within one with ", "), as nginx.
func TestServeProxyTwoPasses(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := serveProxyCase("two passes", `upstream two {
    server 127.0.0.1:1;
    server {{BACKEND}};
}
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    location /first/ {
        proxy_pass http://{{BACKEND}}/;
        proxy_intercept_errors on;
        error_page 500 = /second/fallback;
    }
    location /second/ {
        proxy_pass http://two/;
        add_header X-Tried "$upstream_addr|$upstream_status|$upstream_response_length|$upstream_bytes_sent" always;
    }
}
`,
		plainGet("intercepted, then proxied again", "/first/status/500"),
	)
	harness.Compare(t, c, want, got, serveAssets(t))
}

// proxy_pass_header Date and Server: the backend's are passed; a backend
// that sends none leaves the response with neither (the proxy's empty
// stand-ins are passed), inherited by a nested location.
func TestServeProxyPassDateServer(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := serveProxyCase("proxy_pass_header Date, Server", `server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    location /pass/ {
        proxy_pass http://{{BACKEND}}/;
        proxy_pass_header Date;
        proxy_pass_header Server;
        location /pass/nested/ { proxy_pass http://{{BACKEND}}/; }
    }
    location /date/ { proxy_pass http://{{BACKEND}}/; proxy_pass_header Date; }
    location /hidden/ { proxy_pass http://{{BACKEND}}/; }
}
`,
		plainGet("passed", "/pass/accel?h=Date:%20passed&h=Server:%20passed"),
		plainGet("passed, none sent", "/pass/plain"),
		plainGet("nested, none sent", "/pass/nested/plain"),
		plainGet("Date only, none sent", "/date/plain"),
		plainGet("hidden by default", "/hidden/accel?h=Date:%20passed&h=Server:%20passed"),
	)
	harness.Compare(t, c, want, got, serveAssets(t))
}
