package difftest

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// The attack audit: hostile HTTP/1 requests (smuggling, traversal, Host and request line
// anomalies, body limits, header injection through variables, pipelining after an error) sent
// raw to nginx and gonginx on one config with a proxied and an aliased location. What is
// compared: the status and head of each response, whether the connection stays open (or a
// response nobody asked for follows), and the exact bytes the backend receives.
const attackConfig = `server {
    listen 127.0.0.1:{{PORT}};
    server_name attack;
    root html/w;
    location / { }
    location /p/ { proxy_pass http://{{BACKEND}}/; }
    location /q { proxy_pass http://{{BACKEND}}; }
    location /ph/ {
        proxy_pass http://{{BACKEND}};
        proxy_set_header Host $host;
        proxy_set_header X-Http-Host $http_host;
    }
    location /i { alias html/w/; }
    location /j/ { alias html/w/; }
    location /v/ { return 200 "uri=$uri args=$args request_uri=$request_uri host=$host http_host=$http_host\n"; }
    location /hdr { add_header X-A $arg_x; add_header X-U $uri; add_header X-H $http_x_h; return 200 "ok\n"; }
    location /loc { return 302 $arg_x; }
    location /locu { return 302 /x$uri; }
    location /rw { rewrite ^/rw(.*)$ /to$1 redirect; }
    location /rwe { rewrite ^ /to/%0d%0aX-Inj:%20y redirect; }
    location /rwa { rewrite ^/rwa(.*)$ /to$1?a=$arg_x redirect; }
    location /small/ { client_max_body_size 10; proxy_pass http://{{BACKEND}}/; }
    location /smallr/ { client_max_body_size 10; return 200 "s\n"; }
    location /smallp/ { client_max_body_size 10; error_page 413 @big; proxy_pass http://{{BACKEND}}/; }
    location @big { return 413 "too big\n"; }
    location ~ \.php$ { return 200 "php uri=$uri\n"; }
    location ~ ^/cap/(.*)$ { return 200 "cap=[$1]\n"; }
}
`

var attackContent = map[string]string{
	"html/secret.txt":    "SECRET outside the root\n",
	"html/w/index.html":  "index\n",
	"html/w/a.txt":       "a\n",
	"html/w/sub/b.txt":   "b\n",
	"html/w/a.txt.html":  "a html\n",
	"html/w/back\\s.txt": "backslash name\n",
}

const attackHost = "Host: attack\r\n"

// attackFollower is pipelined behind an attack request: whether it is answered, and as what,
// shows how the server framed the attack request (a smuggled request would be a third answer or
// reach the backend).
const attackFollower = "GET /p/follower HTTP/1.1\r\n" + attackHost + "Connection: close\r\n\r\n"

// attackPair is an attack request followed by attackFollower on one connection; two answers
// are read (the second fails to come where the server closes after the first).
func attackPair(name, raw string) harness.Request {
	return harness.Request{Name: name, Send: []string{raw + attackFollower}, Responses: 2}
}

// attackOne is one request on a keep-alive connection: its answer and whether the connection
// stays open.
func attackOne(name, raw string) harness.Request {
	return harness.Request{Name: name, Send: []string{raw}}
}

func attackGet(name, target string, extra ...string) harness.Request {
	return attackOne(name, "GET "+target+" HTTP/1.1\r\n"+attackHost+strings.Join(extra, "")+"\r\n")
}

func TestServeAttackSmuggling(t *testing.T) {
	t.Parallel()
	nginx := serveNginx(t)
	gonginx := serveUnderTest(t)
	post := func(name string, headers, body string) harness.Request {
		return attackPair(name, "POST /p/x HTTP/1.1\r\n"+attackHost+headers+"\r\n"+body)
	}
	const chunk5 = "5\r\nhello\r\n0\r\n\r\n"
	reqs := []harness.Request{
		// Content-Length and Transfer-Encoding together, both orders.
		post("CL then TE", "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", chunk5),
		post("TE then CL", "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", chunk5),
		post("CL 0 then TE, smuggled GET in chunk", "Content-Length: 0\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\nGET /p/smuggled HTTP/1.1\r\n"+attackHost+"\r\n"),
		// Two Content-Lengths.
		post("two CL equal", "Content-Length: 5\r\nContent-Length: 5\r\n", "hello"),
		post("two CL different", "Content-Length: 5\r\nContent-Length: 6\r\n", "hello!"),
		post("CL list", "Content-Length: 5, 5\r\n", "hello"),
		post("CL list no space", "Content-Length: 5,5\r\n", "hello"),
		// Odd Content-Length values.
		post("CL leading space", "Content-Length:    5\r\n", "hello"),
		post("CL trailing space", "Content-Length: 5   \r\n", "hello"),
		post("CL trailing tab", "Content-Length: 5\t\r\n", "hello"),
		post("CL plus", "Content-Length: +5\r\n", "hello"),
		post("CL minus zero", "Content-Length: -0\r\n", ""),
		post("CL leading zeros", "Content-Length: 0005\r\n", "hello"),
		post("CL hex", "Content-Length: 0x5\r\n", "hello"),
		post("CL empty", "Content-Length: \r\n", "hello"),
		post("CL huge", "Content-Length: 9223372036854775807\r\n", "hello"),
		post("CL overflow", "Content-Length: 9223372036854775808\r\n", "hello"),
		post("CL inner space", "Content-Length: 5 5\r\n", "hello"),
		post("CL space before colon", "Content-Length : 5\r\n", "hello"),
		post("CL obs-fold", "Content-Length:\r\n 5\r\n", "hello"),
		// Transfer-Encoding forms.
		post("TE gzip, chunked", "Transfer-Encoding: gzip, chunked\r\n", chunk5),
		post("TE chunked, gzip", "Transfer-Encoding: chunked, gzip\r\n", chunk5),
		post("TE identity, chunked", "Transfer-Encoding: identity, chunked\r\n", chunk5),
		post("TE identity", "Transfer-Encoding: identity\r\nContent-Length: 5\r\n", "hello"),
		post("TE Chunked", "Transfer-Encoding: Chunked\r\n", chunk5),
		post("TE CHUNKED", "Transfer-Encoding: CHUNKED\r\n", chunk5),
		post("TE chunked trailing space", "Transfer-Encoding: chunked  \r\n", chunk5),
		post("TE chunked trailing tab", "Transfer-Encoding: chunked\t\r\n", chunk5),
		post("TE tab before chunked", "Transfer-Encoding:\tchunked\r\n", chunk5),
		post("TE no space", "Transfer-Encoding:chunked\r\n", chunk5),
		post("TE chunked with parameter", "Transfer-Encoding: chunked;q=1\r\n", chunk5),
		post("TE xchunked", "Transfer-Encoding: xchunked\r\n", chunk5),
		post("TE chunkedx", "Transfer-Encoding: chunkedx\r\n", chunk5),
		post("TE two headers", "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", chunk5),
		post("TE then identity header", "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n", chunk5),
		post("TE empty", "Transfer-Encoding: \r\n", chunk5),
		post("TE obs-fold", "Transfer-Encoding:\r\n chunked\r\n", chunk5),
		post("TE obs-fold after another header", "X-A: a\r\n Transfer-Encoding: chunked\r\n", chunk5),
		post("TE space before colon", "Transfer-Encoding : chunked\r\nContent-Length: 5\r\n", "hello"),
		post("TE name with tab", "Transfer-Encoding\t: chunked\r\n", chunk5),
		post("TE vertical tab", "Transfer-Encoding: \x0bchunked\r\n", chunk5),
		post("TE in HTTP/1.0", "Transfer-Encoding: chunked\r\n", chunk5),
		// Chunk sizes.
		post("chunk extension", "Transfer-Encoding: chunked\r\n", "5;ext=1\r\nhello\r\n0;x\r\n\r\n"),
		post("chunk extension quoted", "Transfer-Encoding: chunked\r\n", "5;e=\"a;b\"\r\nhello\r\n0\r\n\r\n"),
		post("chunk size space before ext", "Transfer-Encoding: chunked\r\n", "5 ;e\r\nhello\r\n0\r\n\r\n"),
		post("chunk size trailing space", "Transfer-Encoding: chunked\r\n", "5 \r\nhello\r\n0\r\n\r\n"),
		post("chunk size trailing tab", "Transfer-Encoding: chunked\r\n", "5\t\r\nhello\r\n0\r\n\r\n"),
		post("chunk size leading space", "Transfer-Encoding: chunked\r\n", " 5\r\nhello\r\n0\r\n\r\n"),
		post("chunk size leading zeros", "Transfer-Encoding: chunked\r\n", "0005\r\nhello\r\n0000\r\n\r\n"),
		post("chunk size upper hex", "Transfer-Encoding: chunked\r\n", "A\r\n0123456789\r\n0\r\n\r\n"),
		post("chunk size lower hex", "Transfer-Encoding: chunked\r\n", "a\r\n0123456789\r\n0\r\n\r\n"),
		post("chunk size 0x", "Transfer-Encoding: chunked\r\n", "0x5\r\nhello\r\n0\r\n\r\n"),
		post("chunk size minus", "Transfer-Encoding: chunked\r\n", "-5\r\nhello\r\n0\r\n\r\n"),
		post("chunk size overflow", "Transfer-Encoding: chunked\r\n", "10000000000000005\r\nhello\r\n0\r\n\r\n"),
		post("chunk size 16 digits", "Transfer-Encoding: chunked\r\n", "0000000000000005\r\nhello\r\n0\r\n\r\n"),
		post("chunk size 17 digits", "Transfer-Encoding: chunked\r\n", "00000000000000005\r\nhello\r\n0\r\n\r\n"),
		post("chunk size empty", "Transfer-Encoding: chunked\r\n", "\r\nhello\r\n0\r\n\r\n"),
		post("chunk bare LF", "Transfer-Encoding: chunked\r\n", "5\nhello\n0\n\n"),
		post("chunk data not followed by CRLF", "Transfer-Encoding: chunked\r\n", "5\r\nhelloXX0\r\n\r\n"),
		post("chunk data bare CR", "Transfer-Encoding: chunked\r\n", "5\r\nhello\r0\r\n\r\n"),
		post("chunk trailers", "Transfer-Encoding: chunked\r\n", "5\r\nhello\r\n0\r\nX-T: 1\r\nContent-Length: 99\r\n\r\n"),
		post("chunk trailer obs-fold", "Transfer-Encoding: chunked\r\n", "5\r\nhello\r\n0\r\nX-T: 1\r\n folded\r\n\r\n"),
		// Both take the follower for the trailer and wait for its end
		// (client_header_timeout, 60 s): its answer is not there 2 s on.
		func() harness.Request {
			r := post("chunk last without trailer end", "Transfer-Encoding: chunked\r\n", "5\r\nhello\r\n0\r\n")
			r.ReadFor = 2 * time.Second
			return r
		}(),
		// Framing longer than a buffer: nginx skips extensions, zeros and
		// trailers without a limit.
		post("chunk extension of 20000 bytes", "Transfer-Encoding: chunked\r\n", "5;"+strings.Repeat("e", 20000)+"\r\nhello\r\n0\r\n\r\n"),
		post("chunk size with 20000 leading zeros", "Transfer-Encoding: chunked\r\n", strings.Repeat("0", 20000)+"5\r\nhello\r\n0\r\n\r\n"),
		post("trailer of 20000 bytes", "Transfer-Encoding: chunked\r\n", "5\r\nhello\r\n0\r\nX-T: "+strings.Repeat("t", 20000)+"\r\n\r\n"),
		post("2000 one-byte chunks", "Transfer-Encoding: chunked\r\n", strings.Repeat("1\r\nx\r\n", 2000)+"0\r\n\r\n"),
		post("last chunk extension of 20000 bytes", "Transfer-Encoding: chunked\r\n", "5\r\nhello\r\n0;"+strings.Repeat("e", 20000)+"\r\n\r\n"),
		attackPair("discarded: chunk extension of 20000 bytes", "POST /v/x HTTP/1.1\r\n"+attackHost+"Transfer-Encoding: chunked\r\n\r\n5;"+strings.Repeat("e", 20000)+"\r\nhello\r\n0\r\n\r\n"),
		attackPair("discarded: 20000 leading zeros", "POST /v/x HTTP/1.1\r\n"+attackHost+"Transfer-Encoding: chunked\r\n\r\n"+strings.Repeat("0", 20000)+"5\r\nhello\r\n0\r\n\r\n"),
		attackPair("discarded: trailer of 20000 bytes", "POST /v/x HTTP/1.1\r\n"+attackHost+"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T: "+strings.Repeat("t", 20000)+"\r\n\r\n"),
		attackPair("discarded by a 405: chunk extension of 20000 bytes", "POST /a.txt HTTP/1.1\r\n"+attackHost+"Transfer-Encoding: chunked\r\n\r\n5;"+strings.Repeat("e", 20000)+"\r\nhello\r\n0\r\n\r\n"),
		// Line ends and control characters in the head.
		attackPair("bare LF head", "POST /p/x HTTP/1.1\n"+"Host: attack\nContent-Length: 5\n\nhello"),
		attackPair("bare CR in request line", "POST /p/x\rHTTP/1.1\r\n"+attackHost+"Content-Length: 5\r\n\r\nhello"),
		post("bare CR in header value", "X-A: a\rb\r\nContent-Length: 5\r\n", "hello"),
		post("bare CR ends header", "X-A: a\rContent-Length: 5\r\n", "hello"),
		post("NUL in header value", "X-A: a\x00b\r\nContent-Length: 5\r\n", "hello"),
		post("NUL in header name", "X\x00A: b\r\nContent-Length: 5\r\n", "hello"),
		post("CTL in header value", "X-A: a\x01b\x1fc\r\nContent-Length: 5\r\n", "hello"),
		post("DEL in header value", "X-A: a\x7fb\r\nContent-Length: 5\r\n", "hello"),
		post("CTL in header name", "X\x01A: b\r\nContent-Length: 5\r\n", "hello"),
		post("high bytes in header name", "X\xc3\xa9: b\r\nContent-Length: 5\r\n", "hello"),
		post("header name with space", "X A: b\r\nContent-Length: 5\r\n", "hello"),
		post("Host space before colon", "Host : other\r\nContent-Length: 5\r\n", "hello"),
		post("header without colon", "Content-Length 5\r\nContent-Length: 5\r\n", "hello"),
		post("header with empty name", ": v\r\nContent-Length: 5\r\n", "hello"),
		attackPair("continuation line after request line", "POST /p/x HTTP/1.1\r\n Content-Length: 5\r\n"+attackHost+"Content-Length: 5\r\n\r\nhello"),
	}
	for i := range reqs {
		if strings.HasPrefix(reqs[i].Name, "TE in HTTP/1.0") {
			reqs[i].Send[0] = strings.Replace(reqs[i].Send[0], "POST /p/x HTTP/1.1", "POST /p/x HTTP/1.0", 1)
		}
	}
	c := harness.Case{Name: "smuggling", Config: attackConfig, Content: attackContent, Requests: reqs}
	harness.Compare(t, c, nginx, gonginx, serveAssets(t))
}

func TestServeAttackTraversal(t *testing.T) {
	t.Parallel()
	nginx := serveNginx(t)
	gonginx := serveUnderTest(t)
	reqs := []harness.Request{}
	for _, target := range []string{
		// static
		"/a.txt", "/../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E/secret.txt", "/sub/%2e%2e/%2e%2e/secret.txt",
		"/sub/..%2f..%2fsecret.txt", "/sub/%2e%2e%2f%2e%2e%2fsecret.txt", "/sub%2f..%2fa.txt", "//a.txt", "/./a.txt",
		"/sub/./b.txt", "/sub/.%2fb.txt", "/sub\\..\\a.txt", "/back\\s.txt", "/back%5cs.txt", "/a.txt%00.html",
		"/a.txt%00", "/%00", "/a.txt/", "/a.txt.", "/a.txt%20", "/sub/..", "/sub/.", "/sub/%2e", "/sub/%2e%2e",
		"/..", "/.%2e/secret.txt", "/%2e./secret.txt", "/sub/...", "/%zz", "/%2", "/a.txt?../../secret.txt",
		"/a.txt#../secret.txt", "/%c0%ae%c0%ae/secret.txt", "/%uff0e%uff0e/secret.txt",
		// alias: "location /i" without a trailing slash maps /i../x to html/w/../x, as nginx does
		"/i", "/i/", "/ia.txt", "/i/a.txt", "/i../secret.txt", "/i/../secret.txt", "/i%2e%2e/secret.txt",
		"/i..%2fsecret.txt", "/i/..%2f..%2fsecret.txt", "/i/sub/../../secret.txt", "/j/../secret.txt",
		"/j/..%2fsecret.txt", "/j/%2e%2e/secret.txt", "/j/a.txt", "/j/sub/b.txt", "/j../secret.txt",
		// proxied with a URI part (normalized $uri) and without one (the client's URI as sent)
		"/p/a/../b", "/p/../v/x", "/p/%2e%2e/v/x", "/p/..%2fv%2fx", "/p/a%2fb", "/p//a//b", "/p/a%00b",
		"/p/a%0d%0aX-Inj:%20y", "/p/a%20b?c=%0d%0a", "/p/a?x=../../", "/p/%c0%af", "/p/\\..\\x",
		"/q/a/../b", "/q/%2e%2e/x", "/q/..%2fx", "/q/a%2fb", "/q//a", "/q/a%0d%0aX-Inj:%20y", "/q/a?b#c",
		"/q/../../x",
		// variables
		"/v/a%2fb/%2e%2e/c", "/v/a%00b", "/v/%0d%0a",
	} {
		reqs = append(reqs, attackGet(target, target))
	}
	for _, abs := range []string{
		"http://attack/a.txt", "http://attack/../secret.txt", "http://attack/%2e%2e/secret.txt",
		"http://attack/i../secret.txt", "http://attack/p/x", "http://other/ph/x", "http://user@attack/ph/x",
		"http://attack:80/ph/x", "http://attack./ph/x", "http://ATTACK/ph/x", "http://attack:99999/ph/x",
		"http://att_ack/ph/x", "http://[::1]/ph/x", "http://attack", "http://attack?x=1", "https://attack/ph/x",
		"ftp://attack/ph/x", "http:/attack/ph/x", "http://attack\\@evil/ph/x", "//attack/ph/x",
		"http://attack/%2e%2e/%2e%2e/secret.txt", "http://a%2fb/ph/x", "http://attack:80:80/ph/x", "http://attack:/ph/x",
		"http://[::1/ph/x", "http://-attack/ph/x", "http://attack..com/ph/x", "HTTP://attack/ph/x", "Http://attack/ph/x",
		"http://ATTACK./ph/x", "http://attack:0080/ph/x", "http://attack:65536/ph/x", "http://a\tb/ph/x", "http://attack#x/ph/x",
		"http://attack?/ph/x", "http://attack;x/ph/x", "http://at%00tack/ph/x",
	} {
		reqs = append(reqs, attackGet("absolute "+abs, abs))
	}
	c := harness.Case{Name: "traversal", Config: attackConfig, Content: attackContent, Requests: reqs}
	harness.Compare(t, c, nginx, gonginx, serveAssets(t))
}

func TestServeAttackTraversalNoMerge(t *testing.T) {
	t.Parallel()
	nginx := serveNginx(t)
	gonginx := serveUnderTest(t)
	config := strings.Replace(attackConfig, "server_name attack;", "server_name attack;\n    merge_slashes off;", 1)
	var reqs []harness.Request
	for _, target := range []string{
		"//a.txt", "/sub//b.txt", "//../secret.txt", "/sub//..//..//secret.txt", "/i//../secret.txt",
		"/i..//secret.txt", "/j//a.txt", "/j//../secret.txt", "/p//a//../b", "/q//a//../b", "/v//a//./b//",
		"///secret.txt", "/%2f%2fa.txt",
	} {
		reqs = append(reqs, attackGet(target, target))
	}
	c := harness.Case{Name: "nomerge", Config: config, Content: attackContent, Requests: reqs}
	harness.Compare(t, c, nginx, gonginx, serveAssets(t))
}

func TestServeAttackHost(t *testing.T) {
	t.Parallel()
	nginx := serveNginx(t)
	gonginx := serveUnderTest(t)
	get := func(name, target, head string) harness.Request {
		return attackOne(name, "GET "+target+" HTTP/1.1\r\n"+head+"\r\n")
	}
	var reqs []harness.Request
	for _, target := range []string{"/v/x", "/ph/x"} {
		for _, h := range []struct{ name, head string }{
			{"two Host", "Host: attack\r\nHost: other\r\n"},
			{"two Host same", "Host: attack\r\nHost: attack\r\n"},
			{"Host with port", "Host: attack:80\r\n"},
			{"Host with other port", "Host: attack:8080\r\n"},
			{"Host with bad port", "Host: attack:8x\r\n"},
			{"Host with empty port", "Host: attack:\r\n"},
			{"Host userinfo", "Host: user@attack\r\n"},
			{"Host userinfo with password", "Host: u:p@attack\r\n"},
			{"Host trailing dot", "Host: attack.\r\n"},
			{"Host two trailing dots", "Host: attack..\r\n"},
			{"Host leading dot", "Host: .attack\r\n"},
			{"Host upper case", "Host: ATTACK\r\n"},
			{"Host with slash", "Host: attack/x\r\n"},
			{"Host with backslash", "Host: attack\\x\r\n"},
			{"Host with space", "Host: att ack\r\n"},
			{"Host with tab", "Host: att\tack\r\n"},
			{"Host with CTL", "Host: att\x01ack\r\n"},
			{"Host with NUL", "Host: att\x00ack\r\n"},
			{"Host with percent", "Host: att%41ck\r\n"},
			{"Host with underscore", "Host: att_ack\r\n"},
			{"Host with high bytes", "Host: \xc3\xa9\r\n"},
			{"Host IPv6", "Host: [::1]:80\r\n"},
			{"Host IPv6 unclosed", "Host: [::1\r\n"},
			{"Host IPv6 junk after", "Host: [::1]x\r\n"},
			{"Host empty", "Host: \r\n"},
			{"Host only dots", "Host: ..\r\n"},
			{"Host dot dot inside", "Host: a..b\r\n"},
			{"Host long", "Host: " + strings.Repeat("a", 300) + "\r\n"},
			{"Host with CRLF-encoded", "Host: a%0d%0ab\r\n"},
			{"Host with question mark", "Host: attack?x\r\n"},
			{"Host with hash", "Host: attack#x\r\n"},
			{"no Host", ""},
		} {
			reqs = append(reqs, get(target+" "+h.name, target, h.head))
		}
		reqs = append(reqs, attackOne(target+" HTTP/1.0 without Host", "GET "+target+" HTTP/1.0\r\n\r\n"))
		reqs = append(reqs, attackOne(target+" HTTP/1.0 with two Host", "GET "+target+" HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"))
	}
	c := harness.Case{Name: "host", Config: attackConfig, Content: attackContent, Requests: reqs}
	harness.Compare(t, c, nginx, gonginx, serveAssets(t))
}

func TestServeAttackRequestLine(t *testing.T) {
	t.Parallel()
	nginx := serveNginx(t)
	gonginx := serveUnderTest(t)
	var reqs []harness.Request
	for _, target := range []string{"/a.txt", "/p/x"} {
		for _, l := range []struct{ name, line string }{
			{"HTTP/2.0", "GET " + target + " HTTP/2.0"},
			{"HTTP/3.0", "GET " + target + " HTTP/3.0"},
			{"HTTP/01.1", "GET " + target + " HTTP/01.1"},
			{"HTTP/1.01", "GET " + target + " HTTP/1.01"},
			{"HTTP/1.1.1", "GET " + target + " HTTP/1.1.1"},
			{"HTTP/1.", "GET " + target + " HTTP/1."},
			{"HTTP/1.1000", "GET " + target + " HTTP/1.1000"},
			{"HTTP/1000.0", "GET " + target + " HTTP/1000.0"},
			{"HTTP/1.1 trailing space", "GET " + target + " HTTP/1.1 "},
			{"HTTP/1.1 trailing tab", "GET " + target + " HTTP/1.1\t"},
			{"lower-case protocol", "GET " + target + " hTTP/1.1"},
			{"HTTPS/1.1", "GET " + target + " HTTPS/1.1"},
			{"lower-case method", "get " + target + " HTTP/1.1"},
			{"mixed-case method", "Get " + target + " HTTP/1.1"},
			{"very long method", strings.Repeat("A", 2000) + " " + target + " HTTP/1.1"},
			{"method with NUL", "GE\x00T " + target + " HTTP/1.1"},
			{"method with dash", "M-SEARCH " + target + " HTTP/1.1"},
			{"two spaces", "GET  " + target + "  HTTP/1.1"},
			{"tab separated", "GET\t" + target + "\tHTTP/1.1"},
			{"leading space", " GET " + target + " HTTP/1.1"},
			{"space in target", "GET " + target + " x HTTP/1.1"},
			{"NUL in target", "GET " + target + "\x00 HTTP/1.1"},
			{"CTL in target", "GET " + target + "\x01 HTTP/1.1"},
			{"DEL in target", "GET " + target + "\x7f HTTP/1.1"},
			{"high bytes in target", "GET " + target + "\xff HTTP/1.1"},
			{"TRACE", "TRACE " + target + " HTTP/1.1"},
			{"OPTIONS star", "OPTIONS * HTTP/1.1"},
		} {
			reqs = append(reqs, attackOne(target+" "+l.name, l.line+"\r\n"+attackHost+"\r\n"))
		}
	}
	reqs = append(reqs,
		attackOne("HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
		attackOne("empty lines before the request", "\r\n\r\nGET /a.txt HTTP/1.1\r\n"+attackHost+"\r\n"),
		attackOne("bare LF lines before the request", "\n\nGET /a.txt HTTP/1.1\r\n"+attackHost+"\r\n"),
		attackOne("HTTP/0.9", "GET /a.txt\r\n"),
		attackOne("HTTP/0.9 POST", "POST /a.txt\r\n"),
		attackOne("HTTP/0.9 proxied", "GET /p/x\r\n"),
		attackOne("TLS on the plain port", "\x16\x03\x01\x00\xc8\x01\x00\x00\xc4\x03\x03"+strings.Repeat("\x00", 40)),
	)
	c := harness.Case{Name: "request line", Config: attackConfig, Content: attackContent, Requests: reqs}
	harness.Compare(t, c, nginx, gonginx, serveAssets(t))
}

func TestServeAttackBodyLimits(t *testing.T) {
	t.Parallel()
	nginx := serveNginx(t)
	gonginx := serveUnderTest(t)
	var reqs []harness.Request
	// /smallp/: an error_page answers the 413, of a body read or not.
	for _, target := range []string{"/small/x", "/smallr/x", "/smallp/x"} {
		post := func(name, headers, body string) harness.Request {
			return attackPair(target+" "+name, "POST "+target+" HTTP/1.1\r\n"+attackHost+headers+"\r\n"+body)
		}
		reqs = append(reqs,
			post("CL at the limit", "Content-Length: 10\r\n", "0123456789"),
			post("CL over the limit", "Content-Length: 11\r\n", "0123456789A"),
			post("CL over the limit, body not sent", "Content-Length: 11\r\n", ""),
			post("CL over, Expect", "Content-Length: 11\r\nExpect: 100-continue\r\n", ""),
			post("CL over, Expect, body sent", "Content-Length: 11\r\nExpect: 100-continue\r\n", "0123456789A"),
			post("CL at, Expect", "Content-Length: 10\r\nExpect: 100-continue\r\n", "0123456789"),
			post("CL huge", "Content-Length: 99999999999\r\n", "x"),
			post("chunked at the limit", "Transfer-Encoding: chunked\r\n", "a\r\n0123456789\r\n0\r\n\r\n"),
			post("chunked over in one chunk", "Transfer-Encoding: chunked\r\n", "b\r\n0123456789A\r\n0\r\n\r\n"),
			post("chunked over in two chunks", "Transfer-Encoding: chunked\r\n", "6\r\n012345\r\n5\r\n6789A\r\n0\r\n\r\n"),
			post("chunked over, size only", "Transfer-Encoding: chunked\r\n", "fffffff\r\n"),
			post("chunked over, Expect", "Transfer-Encoding: chunked\r\nExpect: 100-continue\r\n", "b\r\n0123456789A\r\n0\r\n\r\n"),
		)
	}
	// A body too large by its Content-Length, the rest sent slowly after the 413.
	reqs = append(reqs, harness.Request{Name: "413 then the body", Send: []string{
		"POST /small/x HTTP/1.1\r\n" + attackHost + "Content-Length: 20\r\n\r\n", "01234567890123456789" + attackFollower},
		Pause: 100 * time.Millisecond, Responses: 2})
	c := harness.Case{Name: "body limits", Config: attackConfig, Content: attackContent, Requests: reqs}
	harness.Compare(t, c, nginx, gonginx, serveAssets(t))
}

// Header injection: variables that carry a client's bytes into response headers. $arg_x and
// $request_uri are raw (no %0d%0a decoded); $uri is decoded, and nginx writes what it holds.
func TestServeAttackHeaderInjection(t *testing.T) {
	t.Parallel()
	nginx := serveNginx(t)
	gonginx := serveUnderTest(t)
	var reqs []harness.Request
	for _, target := range []string{
		"/hdr?x=a%0d%0aSet-Cookie:%20x=1", "/hdr?x=a%0aX:1", "/hdr?x=a\rb", "/hdr/%0d%0aX-Inj:%20y",
		"/hdr/%0aX-Inj:y", "/hdr/%00", "/hdr/%0d", "/loc?x=http://a/%0d%0aSet-Cookie:%20x=1",
		"/loc?x=%0d%0aX:1", "/loc?x=/a%0d%0a", "/locu/%0d%0aSet-Cookie:%20x=1", "/locu/a%0aX:1", "/locu/%00",
		"/locu/%0d", "/rw/%0d%0aX-Inj:%20y", "/rw/a%0aX:1", "/rw/%20", "/rwe", "/rwa/a?x=%0d%0aX:1",
		"/rwa/%0d%0a?x=1", "/p/%0d%0aX-Inj:%20y", "/p/a?%0d%0a",
		// PCRE's "$" matches before a newline that ends the subject
		"/x.php", "/x.php%0a", "/x.php%0a%0a", "/x.php%0d", "/x.php%0d%0a", "/cap/a%0a", "/cap/a%0ab", "/cap/%0a",
	} {
		reqs = append(reqs, attackGet(target, target))
	}
	reqs = append(reqs,
		attackGet("/hdr header value with escapes", "/hdr", "X-H: a%0d%0aX:1\r\n"),
		attackGet("/hdr header value with high bytes", "/hdr", "X-H: \xc3\xa9\xff\r\n"),
	)
	c := harness.Case{Name: "injection", Config: attackConfig, Content: attackContent, Requests: reqs}
	harness.Compare(t, c, nginx, gonginx, serveAssets(t))
}

// Pipelined requests behind one the server refuses: nginx answers the error and closes, so the
// requests behind it are never read.
func TestServeAttackPipelined(t *testing.T) {
	t.Parallel()
	nginx := serveNginx(t)
	gonginx := serveUnderTest(t)
	pair := func(name, first string) harness.Request {
		return harness.Request{Name: name, Send: []string{first + attackFollower}, Responses: 2}
	}
	reqs := []harness.Request{
		pair("after a 400 request line", "GET /a.txt HTTP/1.1 x\r\n"+attackHost+"\r\n"),
		pair("after a 400 header", "GET /a.txt HTTP/1.1\r\n"+attackHost+"X A: b\r\n\r\n"),
		pair("after a 400 bad CL", "GET /a.txt HTTP/1.1\r\n"+attackHost+"Content-Length: x\r\n\r\n"),
		pair("after a 400 no Host", "GET /a.txt HTTP/1.1\r\n\r\n"),
		pair("after a 404", "GET /nope HTTP/1.1\r\n"+attackHost+"\r\n"),
		pair("after a 405", "POST /a.txt HTTP/1.1\r\n"+attackHost+"Content-Length: 3\r\n\r\nabc"),
		pair("after a 405 chunked", "POST /a.txt HTTP/1.1\r\n"+attackHost+"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"),
		pair("after a 413", "POST /small/x HTTP/1.1\r\n"+attackHost+"Content-Length: 11\r\n\r\n0123456789A"),
		pair("after a 414", "GET /"+strings.Repeat("u", 9000)+" HTTP/1.1\r\n"+attackHost+"\r\n"),
		pair("after a 494", "GET /a.txt HTTP/1.1\r\n"+attackHost+"X-Big: "+strings.Repeat("v", 9000)+"\r\n\r\n"),
		pair("after a 301", "GET /sub HTTP/1.1\r\n"+attackHost+"\r\n"),
		pair("after a 302 return", "GET /loc?x=/y HTTP/1.1\r\n"+attackHost+"\r\n"),
		pair("after a HEAD", "HEAD /a.txt HTTP/1.1\r\n"+attackHost+"\r\n"),
		pair("after a proxied HEAD", "HEAD /p/x HTTP/1.1\r\n"+attackHost+"\r\n"),
		pair("after a proxied 404", "GET /p/status/404 HTTP/1.1\r\n"+attackHost+"\r\n"),
		pair("after an HTTP/1.0", "GET /a.txt HTTP/1.0\r\n"+attackHost+"\r\n"),
		pair("after an HTTP/1.0 keep-alive", "GET /a.txt HTTP/1.0\r\n"+attackHost+"Connection: keep-alive\r\n\r\n"),
		pair("after Connection: close", "GET /a.txt HTTP/1.1\r\n"+attackHost+"Connection: close\r\n\r\n"),
		pair("after Connection: close, keep-alive", "GET /a.txt HTTP/1.1\r\n"+attackHost+"Connection: close, keep-alive\r\n\r\n"),
		pair("after a GET with a body", "GET /a.txt HTTP/1.1\r\n"+attackHost+"Content-Length: 5\r\n\r\nhello"),
		pair("after a GET whose body is a request", "GET /a.txt HTTP/1.1\r\n"+attackHost+"Content-Length: 39\r\n\r\nGET /p/smuggled HTTP/1.1\r\nHost: a\r\n\r\n"),
		pair("after a proxied GET whose body is a request", "GET /p/x HTTP/1.1\r\n"+attackHost+"Content-Length: 39\r\n\r\nGET /p/smuggled HTTP/1.1\r\nHost: a\r\n\r\n"),
		{Name: "three pipelined, the middle bad", Send: []string{"GET /a.txt HTTP/1.1\r\n" + attackHost + "\r\nGET /a.txt HTTP/1.1\r\n" + attackHost +
			"Content-Length: 1\r\nContent-Length: 2\r\n\r\nxx" + attackFollower}, Responses: 3},
	}
	// Many at once, and heads that together fill several buffers.
	var many, big strings.Builder
	for i := 0; i < 60; i++ {
		many.WriteString("GET /a.txt HTTP/1.1\r\n" + attackHost + "\r\n")
		big.WriteString("GET /p/x HTTP/1.1\r\n" + attackHost + "X-Pad: " + strings.Repeat("p", 700) + "\r\n\r\n")
	}
	reqs = append(reqs,
		harness.Request{Name: "60 pipelined, then a close", Send: []string{many.String() + "GET /a.txt HTTP/1.1\r\n" + attackHost + "Connection: close\r\n\r\n"}, Responses: 61},
		harness.Request{Name: "60 pipelined proxied with 700-byte headers", Send: []string{big.String() + attackFollower}, Responses: 61},
		harness.Request{Name: "pipelined after a body split mid-request", Send: []string{"POST /p/x HTTP/1.1\r\n" + attackHost + "Content-Length: 10\r\n\r\n01234",
			"56789GET /a.txt HTTP/1.1\r\n" + attackHost + "Connection: close\r\n\r\n"}, Pause: 100 * time.Millisecond, Responses: 2},
	)
	c := harness.Case{Name: "pipelined", Config: attackConfig, Content: attackContent, Requests: reqs}
	harness.Compare(t, c, nginx, gonginx, serveAssets(t))
}

// Slow clients: a head or a body that stops coming. nginx closes at client_header_timeout
// without a response; client_body_timeout in a proxied body answers 408.
func TestServeAttackSlow(t *testing.T) {
	nginx := serveNginx(t)
	gonginx := serveUnderTest(t)
	config := strings.Replace(attackConfig, "server_name attack;",
		"server_name attack;\n    client_header_timeout 500ms;\n    client_body_timeout 500ms;", 1)
	slow := func(name string, parts ...string) harness.Request {
		return harness.Request{Name: name, Send: parts, Pause: 200 * time.Millisecond, ReadAfter: 1200 * time.Millisecond}
	}
	reqs := []harness.Request{
		slow("header trickles past the timeout", "GET /a.txt HTTP/1.1\r\n", attackHost, "X-A: 1\r\n", "X-B: 2\r\n", "X-C: 3\r\n", "X-D: 4\r\n"),
		slow("request line byte by byte", "G", "E", "T", " ", "/"),
		slow("proxied body stops", "POST /p/x HTTP/1.1\r\n"+attackHost+"Content-Length: 10\r\n\r\n01234"),
		slow("proxied chunked body stops", "POST /p/x HTTP/1.1\r\n"+attackHost+"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"),
		slow("discarded body stops", "POST /smallr/x HTTP/1.1\r\n"+attackHost+"Content-Length: 10\r\n\r\n01234"),
		slow("keep-alive, then a partial second head", "GET /a.txt HTTP/1.1\r\n"+attackHost+"\r\nGET /a.txt HTTP/1.1\r\n"),
	}
	reqs[len(reqs)-1].Responses = 1
	c := harness.Case{Name: "slow", Config: config, Content: attackContent, Requests: reqs}
	harness.Compare(t, c, nginx, gonginx, serveAssets(t))
}

// Range headers built to overflow or multiply the work (CVE-2017-7529's
// shapes among them), on a static file and a proxied response.
func TestServeAttackRanges(t *testing.T) {
	t.Parallel()
	nginx := serveNginx(t)
	gonginx := serveUnderTest(t)
	content := map[string]string{"html/w/r.txt": "0123456789abcdefghij"}
	var reqs []harness.Request
	for _, target := range []string{"/r.txt", "/p/x"} {
		for _, r := range []string{
			"bytes=0-0", "bytes=-0", "bytes=1-0", "bytes=0-", "bytes=-20", "bytes=-21", "bytes=19-", "bytes=20-",
			"bytes=-9223372036854775808", "bytes=-9223372036854775807", "bytes=0-9223372036854775807",
			"bytes=0-18446744073709551615", "bytes=9223372036854775807-", "bytes=-18446744073709551616",
			"bytes=0-1,1-2", "bytes=0-1,0-1,0-1,0-1", "bytes=5-,0-5", "bytes=0-1, 3-4", "bytes=0-1 ,3-4",
			"bytes= 0-1", "bytes =0-1", "Bytes=0-1", "bytes=0-1,", "bytes=,0-1", "bytes=a-b", "bytes=0--1",
			"bytes=-", "bytes=", "items=0-1", "bytes=0-1\tx", "bytes=00000000000000000000001-2",
			"bytes=-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1",
		} {
			reqs = append(reqs, attackGet(target+" "+r, target, "Range: "+r+"\r\n"))
		}
		reqs = append(reqs,
			attackGet(target+" If-Range mismatch", target, "Range: bytes=0-1\r\nIf-Range: \"x\"\r\n"),
			attackGet(target+" two Range headers", target, "Range: bytes=0-1\r\nRange: bytes=2-3\r\n"),
		)
	}
	config := strings.Replace(attackConfig, "location /p/ {", "location /p/ { max_ranges 3;", 1)
	for k, v := range attackContent {
		content[k] = v
	}
	c := harness.Case{Name: "ranges", Config: config, Content: content, Requests: reqs}
	harness.Compare(t, c, nginx, gonginx, serveAssets(t))
}

// Hop-by-hop and upgrade headers a client sends through proxy_pass: what
// the backend gets (h2c smuggling, Connection naming end-to-end headers).
func TestServeAttackHopByHop(t *testing.T) {
	t.Parallel()
	nginx := serveNginx(t)
	gonginx := serveUnderTest(t)
	var reqs []harness.Request
	for _, h := range []struct{ name, head string }{
		{"h2c upgrade", "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n"},
		{"websocket upgrade not configured", "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: " + serveWSKey + "\r\nSec-WebSocket-Version: 13\r\n"},
		{"Connection names X-Forwarded-For", "Connection: X-Forwarded-For\r\nX-Forwarded-For: 1.2.3.4\r\n"},
		{"Connection names Host", "Connection: Host\r\n"},
		{"Keep-Alive header", "Keep-Alive: timeout=1000\r\n"},
		{"TE trailers", "TE: trailers\r\n"},
		{"Proxy-Connection", "Proxy-Connection: keep-alive\r\n"},
		{"Proxy-Authorization", "Proxy-Authorization: Basic eDp5\r\n"},
		{"Trailer", "Trailer: X-T\r\n"},
		{"X-Forwarded-Host", "X-Forwarded-Host: evil\r\nX-Forwarded-Proto: https\r\n"},
		{"Expect other", "Expect: 100-continue, x\r\n"},
		{"Content-Length on GET", "Content-Length: 0\r\n"},
		{"Transfer-Encoding on GET", "Transfer-Encoding: chunked\r\n"},
	} {
		raw := "GET /p/x HTTP/1.1\r\n" + attackHost + h.head + "\r\n"
		if strings.Contains(h.head, "chunked") {
			raw += "0\r\n\r\n"
		}
		reqs = append(reqs, attackPair(h.name, raw))
	}
	c := harness.Case{Name: "hop-by-hop", Config: attackConfig, Content: attackContent, Requests: reqs}
	harness.Compare(t, c, nginx, gonginx, serveAssets(t))
}

// attackFramingRequest combines framing headers and bodies at random: the
// named smuggling cases one by one miss their interactions. No HEAD: the
// client reads a pipelined follower's answer as the first request's.
func attackFramingRequest(rng *rand.Rand) string {
	pick := func(xs ...string) string { return xs[rng.Intn(len(xs))] }
	line := pick("POST", "POST", "GET", "PUT", "DELETE") + " " + pick("/p/x", "/p/x", "/q/y", "/smallr/x", "/small/x", "/a.txt", "/v/x", "/nope") +
		" " + pick("HTTP/1.1", "HTTP/1.1", "HTTP/1.1", "HTTP/1.0")
	var hs []string
	if rng.Intn(6) != 0 {
		hs = append(hs, "Host: attack")
	}
	for n := rng.Intn(4); n > 0; n-- {
		name := pick("Content-Length", "Transfer-Encoding", "Transfer-Encoding", "content-length", "TRANSFER-ENCODING", "Expect", "Connection")
		var value string
		switch strings.ToLower(name) {
		case "content-length":
			value = pick("5", "0", "10", "11", "22", "+5", "05", "5,5", "-1", "", "5 ", "1e1", "0x5", "99999999999999999999")
		case "transfer-encoding":
			value = pick("chunked", "chunked", "Chunked", "chunked ", "identity", "gzip, chunked", "chunked, identity", "", "chunked\t", "x")
		case "expect":
			value = pick("100-continue", "100-CONTINUE", "200-ok")
		case "connection":
			value = pick("close", "keep-alive", "Upgrade", "close, keep-alive")
		}
		sep := pick(": ", ": ", ":", " : ", ":\r\n ", ":  ")
		hs = append(hs, name+sep+value)
	}
	body := pick("", "hello", "5\r\nhello\r\n0\r\n\r\n", "5;x=y\r\nhello\r\n0\r\n\r\n", "a\r\n0123456789\r\n0\r\n\r\n",
		"b\r\n0123456789A\r\n0\r\n\r\n", "0\r\n\r\n", "5\nhello\n0\n\n", "fffffffffffffffff\r\n", "5\r\nhelloXX", "0123456789A",
		"0\r\n\r\nGET /p/smuggled HTTP/1.1\r\nHost: attack\r\n\r\n", "5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n")
	eol := "\r\n"
	if rng.Intn(8) == 0 {
		eol = "\n"
	}
	return line + eol + strings.Join(hs, eol) + eol + eol + body
}

// TestServeAttackFraming: attackFramingRequest's combinations, each with a
// pipelined follower. ATTACK_SEED and ATTACK_COUNT run others locally.
func TestServeAttackFraming(t *testing.T) {
	t.Parallel()
	nginx := serveNginx(t)
	gonginx := serveUnderTest(t)
	rng, count := seededRand("ATTACK", 14, 150)
	var reqs []harness.Request
	for i := 0; i < count; i++ {
		raw := attackFramingRequest(rng)
		req := attackPair(fmt.Sprintf("%d %q", i, raw), raw)
		if strings.Contains(raw, "/p/smuggled") {
			req.Responses = 3 // where the body is read as a request of its own
		}
		reqs = append(reqs, req)
	}
	c := harness.Case{Name: "framing", Config: attackConfig, Content: attackContent, Requests: reqs}
	harness.Compare(t, c, nginx, gonginx, serveAssets(t))
}

// Names a client chose reflected into responses: autoindex listings (HTML,
// JSON, XML) of files with markup, quotes, CR and LF in their names, and
// the slash redirect of a directory whose name holds them.
func TestServeAttackNames(t *testing.T) {
	t.Parallel()
	nginx := serveNginx(t)
	gonginx := serveUnderTest(t)
	content := map[string]string{}
	for k, v := range attackContent {
		content[k] = v
	}
	for _, name := range []string{"<b>x</b>.txt", "a&amp;b.txt", "q\"x'.txt", "%41.txt", "sp ace.txt", "\xc3\xa9.txt",
		"x?y.txt", "#frag.txt", "cr\rlf\n.txt", "tab\t.txt", "back\\slash.txt", "ctl\x01.txt", "\xff.txt",
		"d\r\nX-Inj: 1/f.txt", "<d>/f.txt", "d?x/f.txt", "d%2f/f.txt"} {
		content["html/ai/"+name] = "n\n"
	}
	config := strings.Replace(attackConfig, "location /p/ {", `location /ai/ { alias html/ai/; autoindex on; }
    location /aj/ { alias html/ai/; autoindex on; autoindex_format json; }
    location /ax/ { alias html/ai/; autoindex on; autoindex_format xml; }
    location /p/ {`, 1)
	var reqs []harness.Request
	for _, target := range []string{"/ai/", "/aj/", "/ax/", "/ai/d%0d%0aX-Inj:%201", "/ai/%3cd%3e", "/ai/d%3fx", "/ai/d%252f",
		"/ai/d%0d%0aX-Inj:%201?a=%0d%0a", "/ai/%3cb%3ex%3c/b%3e.txt", "/ai/cr%0dlf%0a.txt"} {
		reqs = append(reqs, attackGet(target, target))
	}
	c := harness.Case{Name: "names", Config: config, Content: content, Requests: reqs}
	harness.Compare(t, c, nginx, gonginx, serveAssets(t))
}

// The parsing switches open: underscores_in_headers on and
// ignore_invalid_headers off pass names a backend may read as framing
// ("Transfer_Encoding"); and which of two servers odd Host forms select.
func TestServeAttackSwitches(t *testing.T) {
	t.Parallel()
	nginx := serveNginx(t)
	gonginx := serveUnderTest(t)
	config := strings.Replace(attackConfig, "server_name attack;",
		"server_name attack;\n    underscores_in_headers on;\n    ignore_invalid_headers off;", 1) + `server {
    listen 127.0.0.1:{{PORT}};
    server_name other *.wild.test ~^re(?<n>\d+)\.test$;
    location / { return 200 "other host=$host n=$n\n"; }
}
`
	post := func(name, headers, body string) harness.Request {
		return attackPair(name, "POST /p/x HTTP/1.1\r\n"+attackHost+headers+"\r\n"+body)
	}
	reqs := []harness.Request{
		post("Transfer_Encoding", "Transfer_Encoding: chunked\r\nContent-Length: 5\r\n", "hello"),
		post("Content_Length", "Content_Length: 5\r\n", "hello"),
		post("Transfer-Encoding with a dot", "Transfer-Encoding.: chunked\r\nContent-Length: 5\r\n", "hello"),
		post("header name with @", "X@Y: 1\r\nContent-Length: 5\r\n", "hello"),
		post("header name with high byte", "X\xffY: 1\r\nContent-Length: 5\r\n", "hello"),
		post("header name with slash", "X/Y: 1\r\nContent-Length: 5\r\n", "hello"),
		post("header name with colon run", "X:: 1\r\nContent-Length: 5\r\n", "hello"),
	}
	for _, host := range []string{"other", "OTHER", "other.", "other:80", "other:", "u@other", "a.wild.test", "A.WILD.TEST.",
		".wild.test", "wild.test", "a..wild.test", "re12.test", "re12.test.", "RE12.TEST", "re12.test:1", "re.test", "re12.test\\",
		"attack", "[::1]", "127.0.0.1", "other\x00"} {
		reqs = append(reqs, attackOne("Host "+host, "GET /v/x HTTP/1.1\r\nHost: "+host+"\r\n\r\n"))
	}
	c := harness.Case{Name: "switches", Config: config, Content: attackContent, Requests: reqs}
	harness.Compare(t, c, nginx, gonginx, serveAssets(t))
}

// Hostile bodies through proxy_request_buffering off (the body relayed as
// it comes, chunked to an HTTP/1.1 backend) and buffered to HTTP/1.1: a bad
// chunk after good ones, sizes that overflow, framing split across writes.
func TestServeAttackUnbuffered(t *testing.T) {
	t.Parallel()
	nginx := serveNginx(t)
	gonginx := serveUnderTest(t)
	config := strings.Replace(attackConfig, "location /p/ {", `location /pu/ { proxy_pass http://{{BACKEND}}/; proxy_request_buffering off; proxy_http_version 1.1; }
    location /pb/ { proxy_pass http://{{BACKEND}}/; proxy_http_version 1.1; }
    location /pus/ { proxy_pass http://{{BACKEND}}/; proxy_request_buffering off; client_max_body_size 10; }
    location /p/ {`, 1)
	var reqs []harness.Request
	for _, target := range []string{"/pu/x", "/pb/x", "/pus/x"} {
		for _, b := range []struct{ name, head, body string }{
			{"chunked", "Transfer-Encoding: chunked\r\n", "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"},
			{"bad chunk after a good one", "Transfer-Encoding: chunked\r\n", "5\r\nhello\r\nzz\r\nxx\r\n0\r\n\r\n"},
			{"overflowing size after a good one", "Transfer-Encoding: chunked\r\n", "5\r\nhello\r\nffffffffffffffffff\r\n"},
			{"data without its CRLF", "Transfer-Encoding: chunked\r\n", "5\r\nhelloXY5\r\nworld\r\n0\r\n\r\n"},
			{"over the limit in the second chunk", "Transfer-Encoding: chunked\r\n", "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"},
			{"extensions and trailers", "Transfer-Encoding: chunked\r\n", "5;a=b\r\nhello\r\n0;c\r\nX-T: 1\r\n\r\n"},
			{"Content-Length", "Content-Length: 11\r\n", "hello world"},
			{"Content-Length and more bytes", "Content-Length: 5\r\n", "hello world"},
			{"Content-Length over the limit", "Content-Length: 11\r\n", "hello world"},
		} {
			reqs = append(reqs, attackPair(target+" "+b.name, "POST "+target+" HTTP/1.1\r\n"+attackHost+b.head+"\r\n"+b.body))
		}
		reqs = append(reqs, harness.Request{Name: target + " chunked split across writes", Send: []string{
			"POST " + target + " HTTP/1.1\r\n" + attackHost + "Transfer-Encoding: chunked\r\n\r\n5\r\nhel", "lo\r\n", "zz\r\n" + attackFollower},
			Pause: 100 * time.Millisecond, Responses: 2})
		reqs = append(reqs, harness.Request{Name: target + " body cut by the client", Send: []string{
			"POST " + target + " HTTP/1.1\r\n" + attackHost + "Content-Length: 20\r\n\r\nhello"}, HangUpAfter: 200 * time.Millisecond})
	}
	c := harness.Case{Name: "unbuffered", Config: config, Content: attackContent, Requests: reqs}
	harness.Compare(t, c, nginx, gonginx, serveAssets(t))
}

// How $cookie_* and $arg_* read repeated, odd and empty names: which value
// a check on them sees.
func TestServeAttackCookiesArgs(t *testing.T) {
	t.Parallel()
	nginx := serveNginx(t)
	gonginx := serveUnderTest(t)
	config := strings.Replace(attackConfig, "location /p/ {", `location /ck { return 200 "a=[$cookie_a] b=[$cookie_b] ab=[$cookie_a_b] dash=[$cookie_a-b] arg_a=[$arg_a] arg_b=[$arg_b] arg_ab=[$arg_a_b] args=[$args] is_args=[$is_args]\n"; }
    location /p/ {`, 1)
	var reqs []harness.Request
	for _, ck := range []string{"a=1; a=2", "a=1;a=2", "A=1", "a =1", " a=1", "a= 1 ", "=x; a=1", "a", "a=", "b=1; a=2",
		"xa=1; a=2", "a=1,b=2", "a=\"q\"", "a_b=1", "a-b=1", "a=1\tb=2", "a=%0d%0a", "a=1;;b=2", "a=1; b=2; a=3"} {
		reqs = append(reqs, attackGet("cookie "+ck, "/ck", "Cookie: "+ck+"\r\n"))
	}
	reqs = append(reqs, attackGet("two Cookie headers", "/ck", "Cookie: b=1\r\nCookie: a=2\r\n"))
	for _, q := range []string{"a=1&a=2", "a=1;a=2", "A=1", "a", "a=", "&a=1", "xa=1&a=2", "a=%00", "a=1%26b=2", "a_b=1",
		"a=1&&b=2", "b=1&a", "=1&a=2", "a=1#x", "a=1?b=2", "a%3d1", "a=1+2"} {
		reqs = append(reqs, attackGet("args "+q, "/ck?"+q))
	}
	c := harness.Case{Name: "cookies args", Config: config, Content: attackContent, Requests: reqs}
	harness.Compare(t, c, nginx, gonginx, serveAssets(t))
}

// Decoded client bytes carried into the upstream request by variables:
// proxy_pass with $uri (taken as it is, CR and LF included) and
// proxy_set_header with $uri and $http_*; what the backend receives.
func TestServeAttackUpstreamInjection(t *testing.T) {
	t.Parallel()
	nginx := serveNginx(t)
	gonginx := serveUnderTest(t)
	config := strings.Replace(attackConfig, "location /p/ {", `location /pv/ { proxy_pass http://{{BACKEND}}$uri; }
    location /pa/ { proxy_pass http://{{BACKEND}}/x?a=$arg_a; }
    location /ps/ { proxy_pass http://{{BACKEND}}/; proxy_set_header X-U $uri; proxy_set_header X-H $http_x_h; }
    location /p/ {`, 1)
	var reqs []harness.Request
	for _, target := range []string{"/pv/a", "/pv/%0d%0aX-Inj:%20y", "/pv/a%20b", "/pv/a%0aX:1", "/pv/%0d%0a%0d%0aGET%20/p/smuggled%20HTTP/1.1",
		"/pv/a?b=%0d%0a", "/pa/?a=%0d%0aX:1", "/pa/?a=a%20b", "/ps/%0d%0aX-Inj:%20y", "/ps/a%0aX:1", "/ps/a%0d"} {
		reqs = append(reqs, attackGet(target, target))
	}
	reqs = append(reqs, attackGet("/ps/ header with escapes", "/ps/x", "X-H: a%0d%0aX:1\r\n"))
	c := harness.Case{Name: "upstream injection", Config: config, Content: attackContent, Requests: reqs}
	harness.Compare(t, c, nginx, gonginx, serveAssets(t))
}
