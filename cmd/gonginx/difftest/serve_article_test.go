package difftest

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// The article's two configs, served by nginx and by gonginx, must look the same to clients and
// to the upstream.
//
// What real nginx 1.22.1 does with them (run DIFFTEST_SELF=1 DIFFTEST_DUMP=1 go test -run
// TestServeArticle -v to see it), where it differs from what the article's prose suggests:
//
//   - The rewrite is right about the path (wss://host/api/socket/test reaches the backend as
//     /socket/test) but the QUERY STRING IS LOST: proxy_pass with variables sends exactly the URI
//     the variables build, and $3 holds no args, so /api/socket/a/b?x=1&y=2 arrives as
//     "GET /socket/a/b". (Without variables nginx would have appended the args.)
//   - $3 comes from the decoded $uri and proxy_pass puts it on the wire as is: /api/socket/a%20b
//     reaches the backend as "GET /socket/a b HTTP/1.1" (a raw space in the request line),
//     %3F becomes a real "?" (so the backend sees a query), %2F a "/", %25 a bare "%", and
//     UTF-8 escapes arrive as raw UTF-8 bytes.
//   - The article says a request for https://test/api/socket or wss://test/api/socket matches
//     "location ^~ /api/socket/" and is rewritten to http://127.0.0.1:32000/api/socket. Neither
//     holds: /api/socket without the slash does not match that prefix, and nginx answers 301 to
//     https://www.my-api.com:PORT/api/socket/ (the auto-redirect a proxy_pass location ending in
//     "/" gets), so the backend sees nothing and wss://.../api/socket gets no tunnel; and for
//     /api/socket/<x> the backend sees /socket/<x>, never /api/socket.
//   - First version: the backend sees "HTTP/1.0", "Host: 127.0.0.1:32000", "Connection: close"
//     and no Upgrade header, and answers normally: the WebSocket client gets 200, not 101 — as
//     the article says, the upgrade needs the two extra headers.
//   - WebSocket version: every proxied request, WebSocket or not, carries "Connection: upgrade";
//     "Upgrade" is sent only when the client sent one (an empty $http_upgrade drops the header).
//     Header order at the backend: Upgrade, Connection, Host, then the client's headers in their
//     order and case, minus Connection, Keep-Alive, TE, Expect and names with "_" (dropped
//     silently); headers the client listed in Connection (X-Hop) are still forwarded.
//   - An HTTP/1.0 client that sends the Upgrade headers gets a working tunnel too.
//   - /api/socket/../x is resolved to /x before matching and served from html; /api/x/../socket/y
//     is proxied as /socket/y.

// serveArticleFiles are copied from examples/article into each server's prefix.
var serveArticleFiles = []string{"cert.pem", "key.pem", "server.pem", "server.key", "html/index.html"}

const serveHost = "www.my-api.com"

// serveGet is a plain browser-like GET with the usual headers.
func serveGet(name, target string) harness.Request {
	return serveRaw(name, "GET "+target+" HTTP/1.1\r\nHost: "+serveHost+"\r\nUser-Agent: difftest\r\nAccept: */*\r\n\r\n")
}

func serveRaw(name string, parts ...string) harness.Request {
	return harness.Request{Name: name, Send: parts}
}

const serveWSKey = "dGhlIHNhbXBsZSBub25jZQ=="

func serveUpgrade(target string) string {
	return "GET " + target + " HTTP/1.1\r\nHost: " + serveHost + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + serveWSKey + "\r\nSec-WebSocket-Version: 13\r\nOrigin: https://" + serveHost + "\r\n\r\n"
}

// serveFrames are echoed through a working tunnel: text, binary, UTF-8, a frame with a 64-bit
// length, a ping, and the closing handshake.
func serveFrames() []harness.Frame {
	big := bytes.Repeat([]byte("0123456789abcdef"), 70000/16+1)[:70000]
	return []harness.Frame{
		{Op: harness.OpText, Payload: []byte("hello")},
		{Op: harness.OpBinary, Payload: []byte{0, 1, 2, 0xff}},
		{Op: harness.OpText, Payload: []byte("안녕하세요")},
		{Op: harness.OpBinary, Payload: big},
		{Op: harness.OpPing, Payload: []byte("p")},
		{Op: harness.OpClose, Payload: []byte{0x03, 0xe8, 'b', 'y', 'e'}},
	}
}

// serveArticleRequests is the request list both article configs are checked with.
func serveArticleRequests() []harness.Request {
	longURI := "/api/socket/" + strings.Repeat("a", 9000)
	okURI := "/api/socket/" + strings.Repeat("b", 3000)
	longHeader := "X-Long: " + strings.Repeat("h", 9000)
	h := "Host: " + serveHost + "\r\n"
	return []harness.Request{
		// Static side: location / with try_files $uri /index.html.
		serveGet("root", "/"),
		serveGet("index", "/index.html"),
		serveGet("missing falls back to index", "/missing"),
		serveGet("missing dir", "/missing/deep/"),
		serveGet("index with slash", "/index.html/"),
		serveGet("query on static", "/?x=1"),
		serveRaw("conditional get", "GET /index.html HTTP/1.1\r\n"+h+"If-None-Match: \"6593778d-1c5\"\r\nIf-Modified-Since: Tue, 02 Jan 2024 03:04:05 GMT\r\n\r\n"),
		serveRaw("range", "GET /index.html HTTP/1.1\r\n"+h+"Range: bytes=0-9\r\n\r\n"),

		// Proxied side: location ^~ /api/socket/ with rewrite ... break and proxy_pass with $2/$3.
		// The article says /api/socket/test is rewritten to /socket/test; the backend's view shows
		// exactly what arrives (request line, Host, Connection, header order).
		serveGet("socket test", "/api/socket/test"),
		// The query string: proxy_pass with variables sends the URI exactly as built by the
		// variables, and $3 comes from the (decoded) $uri; nginx appends the original args because
		// rewrite ... break keeps them.
		serveGet("socket query", "/api/socket/a/b?x=1&y=2"),
		serveGet("socket no slash", "/api/socket"),
		serveGet("socket slash", "/api/socket/"),
		serveGet("socket uppercase", "/API/socket/x"),
		serveGet("socket trailing slash", "/api/socket/x/"),
		serveGet("socket semicolon", "/api/socket/x;p=1"),
		serveGet("socket empty query", "/api/socket/x?"),
		serveGet("socket fragment", "/api/socket/x#frag"),

		// Escapes: $uri is decoded, so $3 carries decoded bytes into proxy_pass.
		serveGet("escape space", "/api/socket/a%20b"),
		serveGet("escape slash", "/api/socket/a%2Fb"),
		serveGet("escape percent", "/api/socket/a%25b"),
		serveGet("escape question", "/api/socket/a%3Fb?c=d"),
		serveGet("utf8 raw", "/api/socket/한글"),
		serveGet("utf8 encoded", "/api/socket/%ED%95%9C%EA%B8%80"),
		serveGet("plus", "/api/socket/a+b?q=a+b"),
		serveGet("escape nul", "/api/socket/a%00b"),
		serveGet("escape bad hex", "/api/socket/a%zzb"),

		// Dot segments and slashes are resolved before location matching.
		serveGet("dot parent", "/api/socket/../x"),
		serveGet("dot parent into socket", "/api/x/../socket/y"),
		serveGet("dot self", "/api/./socket/x"),
		serveGet("double slashes", "//api//socket/x"),
		serveGet("escaped dots", "/api/socket/%2e%2e/x"),
		serveGet("above root", "/../api/socket/x"),

		// Methods.
		serveRaw("head static", "HEAD / HTTP/1.1\r\n"+h+"\r\n"),
		serveRaw("head proxied", "HEAD /api/socket/x HTTP/1.1\r\n"+h+"\r\n"),
		serveRaw("post content-length", "POST /api/socket/post HTTP/1.1\r\n"+h+"Content-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello world"),
		serveRaw("post chunked", "POST /api/socket/post HTTP/1.1\r\n"+h+"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"),
		serveRaw("post static", "POST / HTTP/1.1\r\n"+h+"Content-Length: 3\r\n\r\nabc"),
		serveRaw("post expect continue", "POST /api/socket/post HTTP/1.1\r\n"+h+"Expect: 100-continue\r\nContent-Length: 4\r\n\r\nbody"),
		serveRaw("options", "OPTIONS /api/socket/x HTTP/1.1\r\n"+h+"\r\n"),
		serveRaw("options star", "OPTIONS * HTTP/1.1\r\n"+h+"\r\n"),
		serveRaw("unknown method", "FOO /api/socket/x HTTP/1.1\r\n"+h+"\r\n"),
		serveRaw("lowercase method", "get / HTTP/1.1\r\n"+h+"\r\n"),
		serveRaw("delete static", "DELETE /index.html HTTP/1.1\r\n"+h+"\r\n"),

		// Bad and unusual requests.
		serveRaw("bad version", "GET / HTTP/9.9\r\n"+h+"\r\n"),
		serveRaw("garbage version", "GET / FOO\r\n"+h+"\r\n"),
		serveRaw("http 2.0 line", "GET / HTTP/2.0\r\n"+h+"\r\n"),
		serveRaw("no host 1.1", "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n"),
		serveRaw("two hosts", "GET / HTTP/1.1\r\n"+h+h+"\r\n"),
		serveRaw("header without colon", "GET / HTTP/1.1\r\n"+h+"NoColonHere\r\n\r\n"),
		serveRaw("header with space in name", "GET /api/socket/x HTTP/1.1\r\n"+h+"X Bad: 1\r\n\r\n"),
		serveRaw("header with underscore", "GET /api/socket/x HTTP/1.1\r\n"+h+"X_Under: 1\r\n\r\n"),
		serveRaw("header case and order", "GET /api/socket/x HTTP/1.1\r\nx-CuStOm: Value\r\n"+h+"X-Dup: 1\r\nX-Dup: 2\r\nCookie: a=1\r\nCookie: b=2\r\nAccept:   spaced  \r\n\r\n"),
		serveRaw("connection close", "GET /api/socket/x HTTP/1.1\r\n"+h+"Connection: close\r\n\r\n"),
		serveRaw("client keep-alive header", "GET /api/socket/x HTTP/1.1\r\n"+h+"Connection: keep-alive, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: 300\r\nTE: trailers\r\n\r\n"),
		serveRaw("te and cl both", "POST /api/socket/post HTTP/1.1\r\n"+h+"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
		serveRaw("bad chunked", "POST /api/socket/post HTTP/1.1\r\n"+h+"Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"),
		serveRaw("too long uri", "GET "+longURI+" HTTP/1.1\r\n"+h+"\r\n"),
		serveRaw("long but fine uri", "GET "+okURI+" HTTP/1.1\r\n"+h+"\r\n"),
		serveRaw("too long header", "GET / HTTP/1.1\r\n"+h+longHeader+"\r\n\r\n"),
		serveRaw("extra spaces in request line", "GET  /api/socket/x  HTTP/1.1\r\n"+h+"\r\n"),
		serveRaw("bare LF", "GET /api/socket/x HTTP/1.1\nHost: "+serveHost+"\n\n"),
		serveRaw("http 1.0", "GET / HTTP/1.0\r\n\r\n"),
		serveRaw("http 1.0 proxied", "GET /api/socket/x HTTP/1.0\r\n"+h+"\r\n"),
		serveRaw("http 0.9", "GET /\r\n"),
		serveRaw("absolute uri", "GET https://other.example/api/socket/x?q=1 HTTP/1.1\r\n"+h+"\r\n"),
		{Name: "pipelined", Send: []string{"GET /api/socket/one HTTP/1.1\r\n" + h + "\r\nGET /api/socket/two HTTP/1.1\r\n" + h + "\r\n"}, Responses: 2},

		// Host variants: one server, so every name lands on it; $host is lowercased, port stripped.
		serveRaw("host with port", "GET /api/socket/x HTTP/1.1\r\nHost: www.my-api.com:{{PORT}}\r\n\r\n"),
		serveRaw("unknown host", "GET /api/socket/x HTTP/1.1\r\nHost: example.org\r\n\r\n"),
		serveRaw("uppercase host", "GET /api/socket/x HTTP/1.1\r\nHost: WWW.MY-API.COM\r\n\r\n"),
		serveRaw("host trailing dot", "GET /api/socket/x HTTP/1.1\r\nHost: www.my-api.com.\r\n\r\n"),
		serveRaw("bad host", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"),

		// TLS and plain HTTP on the TLS port.
		{Name: "plain http to tls port", Send: []string{"GET / HTTP/1.1\r\n" + h + "\r\n"}, Plain: true},
		{Name: "ipv6", Send: []string{"GET /api/socket/v6 HTTP/1.1\r\n" + h + "\r\n"}, IPv6: true},
		{Name: "wss ipv6", Send: []string{serveUpgrade("/api/socket/chat")}, IPv6: true, WS: serveFrames()[:2]},
		{Name: "no sni", Send: []string{"GET /api/socket/x HTTP/1.1\r\n" + h + "\r\n"}, NoSNI: true},

		// Upstream behaviours.
		serveGet("backend 404", "/api/socket/status/404"),
		serveGet("backend 500", "/api/socket/status/500"),
		serveGet("backend chunked", "/api/socket/chunked"),
		serveGet("backend odd headers", "/api/socket/headers"),
		serveGet("backend redirect", "/api/socket/redirect"),
		serveGet("backend no length", "/api/socket/nolength"),
		serveGet("backend slow", "/api/socket/slow"),

		// WebSocket. First version: no Upgrade/Connection headers are passed, so the backend sees
		// a plain request and answers 200; the client never gets 101. Second version: it works.
		{Name: "wss echo", Send: []string{serveUpgrade("/api/socket/chat")}, WS: serveFrames()},
		{Name: "wss query", Send: []string{serveUpgrade("/api/socket/chat?room=1")}, WS: serveFrames()[:1]},
		{Name: "wss no slash", Send: []string{serveUpgrade("/api/socket")}, WS: serveFrames()[:1]},
		{Name: "wss on static", Send: []string{serveUpgrade("/")}, WS: serveFrames()[:1]},
		{Name: "wss backend hangs up in tunnel", Send: []string{serveUpgrade("/api/socket/ws-hangup")}, WS: serveFrames()[:1]},
		{Name: "wss client hangs up in tunnel", Send: []string{serveUpgrade("/api/socket/chat"), "\x81\x85\x11\x22\x33\x44" + string([]byte{'h' ^ 0x11, 'e' ^ 0x22, 'l' ^ 0x33, 'l' ^ 0x44, 'o' ^ 0x11})}, Pause: 100 * time.Millisecond, AwaitFrames: 1, HangUpAfter: 100 * time.Millisecond, Settle: 200 * time.Millisecond},
		{Name: "ws plain to tls port", Send: []string{serveUpgrade("/api/socket/chat")}, Plain: true, WS: serveFrames()[:1]},
		{Name: "upgrade http1.0", Send: []string{strings.Replace(serveUpgrade("/api/socket/chat"), "HTTP/1.1", "HTTP/1.0", 1)}, WS: serveFrames()[:1]},
		{Name: "upgrade without key", Send: []string{"GET /api/socket/chat HTTP/1.1\r\n" + h + "Upgrade: websocket\r\nConnection: Upgrade\r\n\r\n"}},

		// Hang-ups and backend failures last, so a server that wrongly marks the backend down
		// afterwards fails only the final request, which checks exactly that: a single-address
		// upstream (proxy_pass with variables) is never considered unavailable by nginx.
		// Client hang-ups: the backend view shows whether the proxy forwarded anything.
		{Name: "client hangs up mid headers", Send: []string{"GET /api/socket/x HTTP/1.1\r\nHost: www"}, HangUp: true, Settle: 200 * time.Millisecond},
		{Name: "client hangs up mid body", Send: []string{"POST /api/socket/post HTTP/1.1\r\n" + h + "Content-Length: 100\r\n\r\n0123456789"}, HangUp: true, Settle: 200 * time.Millisecond},
		{Name: "client hangs up waiting", Send: []string{"GET /api/socket/slow HTTP/1.1\r\n" + h + "\r\n"}, AwaitRequests: 1, HangUpAfter: 100 * time.Millisecond, Settle: 500 * time.Millisecond},

		// Backend failures.
		serveGet("backend closes early", "/api/socket/close-early"),
		serveGet("backend hangs up", "/api/socket/hangup"),
		serveGet("proxied after backend failures", "/api/socket/after"),
	}
}

func serveArticleCase(t *testing.T, name, file string) harness.Case {
	t.Helper()
	config, err := os.ReadFile(filepath.Join(serveAssets(t), file))
	if err != nil {
		t.Fatal(err)
	}
	return harness.Case{
		Name:     name,
		Config:   string(config),
		Verbatim: true,
		Files:    serveArticleFiles,
		TLS:      true,
		SNI:      serveHost,
		Requests: serveArticleRequests(),
	}
}

func TestServeArticleWebSocket(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	harness.Compare(t, serveArticleCase(t, "websocket", "default.conf"), want, got, serveAssets(t))
}

func TestServeArticleRewrite(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	harness.Compare(t, serveArticleCase(t, "rewrite", "default.rewrite.conf"), want, got, serveAssets(t))
}

// With html/index.html absent, try_files' fallback /index.html redirects internally to itself
// and nginx answers with an error instead of looping.
func TestServeArticleMissingIndex(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	for _, file := range []string{"default.conf", "default.rewrite.conf"} {
		t.Run(file, func(t *testing.T) {
			c := serveArticleCase(t, "missing index", file)
			c.Files = []string{"cert.pem", "key.pem", "server.pem", "server.key"}
			c.Requests = []harness.Request{
				serveGet("root", "/"),
				serveGet("index", "/index.html"),
				serveGet("missing", "/missing"),
				serveGet("proxied still works", "/api/socket/x"),
			}
			harness.Compare(t, c, want, got, serveAssets(t))
		})
	}
}

// With nothing listening on the backend port, proxied requests get nginx's 502 page.
func TestServeArticleBackendDown(t *testing.T) {
	want, got := serveNginx(t), serveUnderTest(t)
	for _, file := range []string{"default.conf", "default.rewrite.conf"} {
		t.Run(file, func(t *testing.T) {
			c := serveArticleCase(t, "backend down", file)
			c.BackendDown = true
			c.Requests = []harness.Request{
				serveGet("get", "/api/socket/x"),
				serveRaw("post", "POST /api/socket/post HTTP/1.1\r\nHost: "+serveHost+"\r\nContent-Length: 2\r\n\r\nhi"),
				serveRaw("head", "HEAD /api/socket/x HTTP/1.1\r\nHost: "+serveHost+"\r\n\r\n"),
				{Name: "wss", Send: []string{serveUpgrade("/api/socket/chat")}, WS: serveFrames()[:1]},
				serveGet("static still works", "/"),
			}
			harness.Compare(t, c, want, got, serveAssets(t))
		})
	}
}

// The article's comments tell users without certificates to drop "ssl" and the certificate
// lines; that variant is plain HTTP both ways (the tunnel can splice), and ws:// works.
func TestServeArticlePlainHTTP(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	c := serveArticleCase(t, "plain", "default.conf")
	c.Config = strings.NewReplacer(" ssl;", ";", `ssl_certificate "server.pem";`, "", `ssl_certificate_key "server.key";`, "").Replace(c.Config)
	c.TLS = false
	h := "Host: " + serveHost + "\r\n"
	c.Requests = []harness.Request{
		serveGet("root", "/"),
		serveGet("socket test", "/api/socket/test?x=1"),
		serveGet("socket no slash", "/api/socket"),
		serveRaw("post chunked", "POST /api/socket/post HTTP/1.1\r\n"+h+"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
		serveRaw("bad request", "GET / HTTP/1.1\r\n\r\n"),
		{Name: "ws echo", Send: []string{serveUpgrade("/api/socket/chat")}, WS: serveFrames()},
		{Name: "ws ipv6", Send: []string{serveUpgrade("/api/socket/chat")}, IPv6: true, WS: serveFrames()[:2]},
		{Name: "ws backend hangs up in tunnel", Send: []string{serveUpgrade("/api/socket/ws-hangup")}, WS: serveFrames()[:1]},
		{Name: "ws upgrade and frame in one write", Send: []string{serveUpgrade("/api/socket/chat") + "\x81\x82\x11\x22\x33\x44" + string([]byte{'h' ^ 0x11, 'i' ^ 0x22})}, Settle: 200 * time.Millisecond},
		{Name: "ws client hangs up in tunnel", Send: []string{serveUpgrade("/api/socket/chat")}, HangUpAfter: 100 * time.Millisecond, Settle: 200 * time.Millisecond},
		serveGet("backend closes early", "/api/socket/close-early"),
		serveGet("backend hangs up", "/api/socket/hangup"),
		serveGet("proxied after backend failures", "/api/socket/after"),
	}
	harness.Compare(t, c, want, got, serveAssets(t))
}
