package difftest

import (
	"fmt"
	"math/rand"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// The differential request fuzzer: generated requests (methods, targets with escapes and dot
// segments, versions, Host forms, framing, Expect, odd headers) sent raw to nginx and gonginx on
// one config with static files, return, redirects and proxy_pass to the recording backend; the
// responses (status, headers, body) and what the backend received are compared.
//
// CI runs a fixed seed and count; WIRE_FUZZ_SEED and WIRE_FUZZ_COUNT run others locally, e.g.
// WIRE_FUZZ_COUNT=5000 WIRE_FUZZ_SEED=$RANDOM go test -run TestServeWireFuzz ./cmd/gonginx/difftest.
// Every difference found becomes a named case in TestServeWireOddRequests.
const wireFuzzConfig = `server {
    listen 127.0.0.1:{{PORT}};
    server_name fuzz;
    root html;
    location / { }
    location /r/ { return 200 "r uri=$uri args=$args request_uri=$request_uri host=$host\n"; }
    location = /redir { return 301 /target; }
    location /p/ { proxy_pass http://{{BACKEND}}/; }
    location /q { proxy_pass http://{{BACKEND}}; }
    location = /rw { rewrite ^ /target redirect; }
    location = /r204 { return 204; }
    location = /r404 { return 404; }
    location = /r404t { return 404 "gone\n"; }
}
`

var wireFuzzContent = map[string]string{
	"html/index.html":  "index\n",
	"html/a b.txt":     "a b\n",
	"html/dir/x.txt":   "x\n",
	"html/%41.txt":     "percent-41\n",
	"html/A.txt":       "capital a\n",
	"html/dir/sub.txt": "sub\n",
}

// fuzzRequest builds one raw request from rng; keep says it asks for no close, so how the
// connection ends (kept, closed, lingering) is worth observing.
func fuzzRequest(rng *rand.Rand) (raw string, keep bool) {
	pick := func(xs ...string) string { return xs[rng.Intn(len(xs))] }
	method := pick("GET", "GET", "GET", "HEAD", "POST", "POST", "PUT", "DELETE", "OPTIONS", "PATCH",
		"CONNECT", "TRACE", "PROPFIND", "get", "GE_T", "G-T", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "M")
	path := pick("/", "/index.html", "/a%20b.txt", "/a b.txt", "/%41.txt", "/%2541.txt", "/dir/", "/dir",
		"/dir/../index.html", "/dir/./x.txt", "/dir//x.txt", "//index.html", "/../index.html",
		"/dir/%2e%2e/index.html", "/dir/%2E./A.txt", "/nope", "/r/", "/r/a%2fb", "/r/x?y=1&z=%20",
		"/r/%00", "/r/%zz", "/r/a+b?c+d", "/redir", "/redir?x", "/p/", "/p/x?y=1", "/p/a%20b",
		"/p/%25/", "/p/../r/", "/q", "/q/sub?x=%41", "/p/x#frag", "/index.html?", "/r/\xff")
	target := path
	switch rng.Intn(8) {
	case 0:
		target = pick("http://fuzz", "http://FUZZ:80", "http://other", "https://fuzz", "http://fuzz:1") + path
	case 1:
		target = pick("*", "fuzz:80", "fuzz", "http://", "http://fuzz?x", "/r/?x y", "%2F")
	}
	version := pick("HTTP/1.1", "HTTP/1.1", "HTTP/1.1", "HTTP/1.0", "HTTP/1.0", "HTTP/1.2", "HTTP/2.0",
		"HTTP/0.9", "http/1.1", "HTTP/1.10", "HTTP/01.1", "HTTP/1.100", "HTTP/999.1", "HTTP/1.1 x", "HTTP/1", "")
	sep := " "
	if rng.Intn(10) == 0 {
		sep = pick("  ", "\t", " \t")
	}
	line := method + sep + target
	if version != "" {
		line += sep + version
	}
	var hs []string
	switch rng.Intn(10) {
	case 0:
	case 1:
		hs = append(hs, "Host: "+pick("", " ", "a b", "a/b", "fuzz:", "[::1]", "fuzz.", "..", "FUZZ", "fuzz:8x", "a\\b"))
	case 2:
		hs = append(hs, "Host: fuzz", "Host: fuzz")
	default:
		hs = append(hs, "Host: fuzz")
	}
	body := ""
	switch rng.Intn(8) {
	case 0:
		body = "hello"
		hs = append(hs, "Content-Length: 5")
	case 1:
		body = "5\r\nhello\r\n0\r\n\r\n"
		hs = append(hs, "Transfer-Encoding: chunked")
	case 2:
		hs = append(hs, "Content-Length: "+pick("-1", "abc", "1 2", "", "99999999999999999999"))
	case 3:
		body = "5\r\nhello\r\n0\r\n\r\n"
		hs = append(hs, "Transfer-Encoding: "+pick("gzip", "chunked, chunked", "CHUNKED", "identity"))
	case 4:
		body = "hello"
		hs = append(hs, "Content-Length: 5", "Transfer-Encoding: chunked")
	case 5:
		body = "hello"
		hs = append(hs, "Content-Length: 5", "Content-Length: 5")
	}
	if rng.Intn(4) == 0 {
		hs = append(hs, "Expect: "+pick("100-continue", "100-continue", "100-Continue", "nonsense"))
	}
	if rng.Intn(4) == 0 {
		hs = append(hs, pick("X_Under: 1", "X Space: 1", "X-Ctl: a\x01b", "NoColon", ": empty",
			" Leading: space", "X-Nul: a\x00b", "X-Tab:\tv", "X-Bare-CR: a\rb", "X\x7f: del",
			"X-Fold: a\r\n b", "X-Long: "+strings.Repeat("v", 200), "Connection: close",
			"Connection: keep-alive", "Connection: upgrade", "Upgrade: websocket", "Cookie: a=b",
			"X-Utf8: \xc3\xa9", "X-Empty:", "x-lower: v"))
	}
	// Every connection ends after its requests: the fuzzer compares answers, not idle
	// connections. A second request pipelined behind the first shows how its framing was read.
	second := ""
	keep = rng.Intn(8) == 0
	if keep {
	} else if rng.Intn(4) == 0 {
		second = pick("GET /r/second HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n\r\n",
			"POST /p/second HTTP/1.1\r\nHost: fuzz\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc")
	} else if !strings.Contains(strings.Join(hs, ""), "Connection: ") {
		hs = append(hs, "Connection: close")
	}
	eol := "\r\n"
	if rng.Intn(10) == 0 {
		eol = "\n" // nginx accepts a bare LF as the line end
	}
	req := line + eol
	if version == "" {
		return req, keep // HTTP/0.9: no headers
	}
	return req + strings.Join(hs, eol) + eol + eol + body + second, keep
}

// seededRand is a generated test's source and number of cases: seed and
// count unless PREFIX_SEED and PREFIX_COUNT in the environment say
// others (to run more locally).
func seededRand(prefix string, seed int64, count int) (*rand.Rand, int) {
	if v, err := strconv.ParseInt(os.Getenv(prefix+"_SEED"), 10, 64); err == nil {
		seed = v
	}
	if v, err := strconv.Atoi(os.Getenv(prefix + "_COUNT")); err == nil {
		count = v
	}
	return rand.New(rand.NewSource(seed)), count
}

func TestServeWireFuzz(t *testing.T) {
	t.Parallel()
	nginx := serveNginx(t)
	gonginx := serveUnderTest(t)
	rng, count := seededRand("WIRE_FUZZ", 8, 300)
	var reqs []harness.Request
	for i := 0; i < count; i++ {
		raw, keep := fuzzRequest(rng)
		name := fmt.Sprintf("%d %q", i, raw)
		n := 1
		if strings.Count(raw, " HTTP/1.1\r\nHost: fuzz\r\n") > 1 || strings.Contains(raw, "/second HTTP") {
			n = 2
		}
		reqs = append(reqs, harness.Request{Name: name, Send: []string{raw}, SkipEnd: !keep, Responses: n})
	}
	c := harness.Case{Name: "fuzz", Config: wireFuzzConfig, Content: wireFuzzContent, Requests: reqs}
	harness.Compare(t, c, nginx, gonginx, serveAssets(t))
}

// oddRequest is a named raw request for the fuzzer's config.
func oddRequest(name, raw string) harness.Request {
	return harness.Request{Name: name, Send: []string{raw}, SkipEnd: true}
}

// Differences the fuzzer found (and the cases issue 8 names), kept as named regression cases.
func TestServeWireOddRequests(t *testing.T) {
	t.Parallel()
	nginx := serveNginx(t)
	gonginx := serveUnderTest(t)
	const host = "Host: fuzz\r\n"
	expect := func(name, method, target, extra string) harness.Request {
		return oddRequest(name, method+" "+target+" HTTP/1.1\r\n"+host+"Expect: 100-continue\r\n"+extra+"Connection: close\r\n\r\n")
	}
	reqs := []harness.Request{
		// CONNECT is 405 once the head is read (ngx_http_process_request_header); an authority
		// or absolute target is 400 first, from the request line parser.
		oddRequest("CONNECT origin form", "CONNECT /redir HTTP/1.1\r\n"+host+"\r\n"),
		oddRequest("CONNECT authority", "CONNECT fuzz:80 HTTP/1.1\r\n"+host+"\r\n"),
		oddRequest("CONNECT absolute", "CONNECT http://fuzz/p/ HTTP/1.1\r\n"+host+"\r\n"),
		oddRequest("CONNECT HTTP/1.0", "CONNECT /r/a%2fb HTTP/1.0\r\n\r\n"),
		// Methods nginx refuses by form: lower case, digits, too long for its parser is fine.
		oddRequest("lower-case method", "get / HTTP/1.1\r\n"+host+"\r\n"),
		oddRequest("method with digit", "G3T / HTTP/1.1\r\n"+host+"\r\n"),
		oddRequest("method with underscore", "GE_T http://fuzz:1/redir?x HTTP/1.1\r\n"+host+"\r\n"),
		oddRequest("long method", "ABCDEFGHIJKLMNOPQRSTUVWXYZ /p/x?y=1 HTTP/1.1\r\n"+host+"\r\n"),
		// The Host header is validated even when the request line carries the host.
		oddRequest("absolute URI, Host ..", "GE_T http://other/q HTTP/1.0\r\nHost: ..\r\nContent-Length: 5\r\n\r\nhello"),
		oddRequest("absolute URI, Host spaced", "GET http://FUZZ:80/p/a%20b HTTP/1.1\r\nHost: a b\r\n\r\n"),
		oddRequest("absolute URI, Host slashed", "GET http://fuzz/r/ HTTP/1.1\r\nHost: a/b\r\n\r\n"),
		oddRequest("absolute URI, Host empty", "GET http://fuzz/r/ HTTP/1.1\r\nHost: \r\n\r\n"),
		oddRequest("absolute URI, Host other", "GET http://fuzz/r/ HTTP/1.1\r\nHost: other\r\n\r\n"),
		// Expect: 100-continue: the 100 goes out when the body is read or discarded.
		expect("expect: static file", "GET", "/index.html", ""),
		expect("expect: static 404", "GET", "/nope", ""),
		expect("expect: static OPTIONS 405", "OPTIONS", "/index.html?", ""),
		expect("expect: static POST 405", "POST", "/dir//x.txt", "Content-Length: 5\r\n"),
		expect("expect: directory redirect", "GET", "/dir", ""),
		expect("expect: return 301 URL", "GE_T", "http://fuzz:1/redir?x", ""),
		expect("expect: return 204", "GET", "/r204", ""),
		expect("expect: return 404", "GET", "/r404", ""),
		expect("expect: return 404 text", "GET", "/r404t", ""),
		expect("expect: return 200 text", "POST", "/r/", "Content-Length: 5\r\n"),
		expect("expect: rewrite redirect", "GET", "/rw", ""),
		expect("expect: proxied without a body", "GET", "/p/x", ""),
		expect("expect: proxied HEAD", "HEAD", "https://fuzz/p/x#frag", ""),
		// A HEAD rejected after its method token gets no body (nginx set r->method already).
		oddRequest("HEAD with HTTP/2.0", "HEAD / HTTP/2.0\r\n"+host+"\r\n"),
		oddRequest("HEAD with lower-case version", "HEAD / http/1.1\r\n"+host+"\r\n"),
		oddRequest("HEAD with HTTP/0.9 version", "HEAD /index.html HTTP/0.9\r\n"+host+"\r\n"),
		oddRequest("HEAD with bad URI", "HEAD /%zz%00 HTTP/1.1\r\n"+host+"\r\n"),
		// A body nginx discards is parsed as far as it arrived with the head: a chunk longer
		// than declared is a 400 where the response does not read the body.
		oddRequest("runaway chunk, return text", "POST /r/ HTTP/1.1\r\n"+host+"Connection: close\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nSEE-THIS\r\n0\r\n\r\n"),
		oddRequest("runaway chunk, static file", "GET /index.html HTTP/1.1\r\n"+host+"Connection: close\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nSEE-THIS\r\n0\r\n\r\n"),
		oddRequest("runaway chunk, return 301", "GET /redir HTTP/1.1\r\n"+host+"Connection: close\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nSEE-THIS\r\n0\r\n\r\n"),
		oddRequest("runaway chunk, 404", "GET /nope HTTP/1.1\r\n"+host+"Connection: close\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nSEE-THIS\r\n0\r\n\r\n"),
		oddRequest("bad chunk size, return text", "POST /r/ HTTP/1.1\r\n"+host+"Connection: close\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
		{Name: "valid chunks discarded, then a pipelined request", Send: []string{"POST /r/ HTTP/1.1\r\n" + host +
			"Transfer-Encoding: chunked\r\n\r\n4\r\nSEE!\r\n0\r\n\r\nGET /r/next HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n"}, Responses: 2},
		{Name: "runaway chunk after a 404, then a pipelined request", Send: []string{"GET /nope HTTP/1.1\r\n" + host +
			"Transfer-Encoding: chunked\r\n\r\n4\r\nSEE-THIS\r\n0\r\n\r\nGET /r/next HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n"}, Responses: 2},
		oddRequest("expect: HTTP/1.0", "POST /p/x HTTP/1.0\r\n"+host+"Expect: 100-continue\r\nContent-Length: 2\r\n\r\nhi"),
		oddRequest("expect: other value", "POST /p/x HTTP/1.1\r\n"+host+"Expect: 100-continuex\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi"),
	}
	c := harness.Case{Name: "odd", Config: wireFuzzConfig, Content: wireFuzzContent, Requests: reqs}
	harness.Compare(t, c, nginx, gonginx, serveAssets(t))
}

// merge_slashes off keeps "//" in $uri (location matching and proxying see it), and
// underscores_in_headers on and ignore_invalid_headers off keep headers nginx drops by default.
func TestServeWireParsingSwitches(t *testing.T) {
	t.Parallel()
	nginx := serveNginx(t)
	gonginx := serveUnderTest(t)
	c := harness.Case{Name: "switches", Config: `server {
    listen 127.0.0.1:{{PORT}};
    merge_slashes off;
    underscores_in_headers on;
    ignore_invalid_headers off;
    root html;
    location / { }
    location /r/ { return 200 "uri=$uri under=$http_x_under\n"; }
    location //double/ { return 200 "double $uri\n"; }
    location /p/ { proxy_pass http://{{BACKEND}}/; }
}
`, Content: wireFuzzContent, Requests: []harness.Request{
		oddRequest("double slash in return", "GET /r//a/./b//c HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n\r\n"),
		oddRequest("double slash location", "GET //double/x HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n\r\n"),
		oddRequest("double slash static", "GET //index.html HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n\r\n"),
		oddRequest("double slash proxied", "GET /p//a//b HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n\r\n"),
		oddRequest("escaped double slash", "GET /r/%2F%2Fx HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n\r\n"),
		oddRequest("underscore header", "GET /r/ HTTP/1.1\r\nHost: fuzz\r\nX_Under: yes\r\nConnection: close\r\n\r\n"),
		oddRequest("invalid header proxied", "GET /p/x HTTP/1.1\r\nHost: fuzz\r\nX@Y: 1\r\nX_Z: 2\r\nConnection: close\r\n\r\n"),
	}}
	harness.Compare(t, c, nginx, gonginx, serveAssets(t))
}

// msie_padding (on by default): nginx pads its built-in 4xx and 5xx pages for MSIE and Chrome
// User-Agents, as ngx_http_process_user_agent tells them (Opera and Gecko are neither).
func TestServeWireBrowserPadding(t *testing.T) {
	t.Parallel()
	nginx := serveNginx(t)
	gonginx := serveUnderTest(t)
	const (
		msie    = "Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 6.1)"
		chrome  = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
		firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"
		opera   = "Opera/9.80 (Windows NT 6.1) Presto/2.12 Version/12.16 MSIE 6.0x"
	)
	get := func(name, target, ua string, extra ...string) harness.Request {
		return oddRequest(name, "GET "+target+" HTTP/1.1\r\nHost: fuzz\r\nUser-Agent: "+ua+"\r\n"+strings.Join(extra, "")+"Connection: close\r\n\r\n")
	}
	c := harness.Case{Name: "padding", Config: `server {
    listen 127.0.0.1:{{PORT}};
    root html;
    location / { }
    location = /r404t { return 404 "text\n"; }
    location = /r500 { return 500; }
    location = /r301 { return 301 /x; }
    location /off/ { msie_padding off; }
}
`, Content: wireFuzzContent, Requests: []harness.Request{
		get("MSIE 404", "/nope", msie),
		get("Chrome 404", "/nope", chrome),
		get("Firefox 404", "/nope", firefox),
		get("Opera 404", "/nope", opera),
		get("Chrome 500", "/r500", chrome),
		get("Chrome 301", "/r301", chrome),
		get("Chrome return 404 text", "/r404t", chrome),
		get("Chrome 405", "/index.html?", chrome),
		get("Chrome 400", "/nope", chrome, "Content-Length: x\r\n"),
		get("Chrome, msie_padding off", "/off/nope", chrome),
		oddRequest("Chrome HEAD 404", "HEAD /nope HTTP/1.1\r\nHost: fuzz\r\nUser-Agent: "+chrome+"\r\n\r\n"),
		oddRequest("Chrome HTTP/1.0 404", "GET /nope HTTP/1.0\r\nUser-Agent: "+chrome+"\r\n\r\n"),
		oddRequest("two User-Agents, the first counts", "GET /nope HTTP/1.0\r\nUser-Agent: "+firefox+"\r\nUser-Agent: "+chrome+"\r\n\r\n"),
	}}
	c.Requests[7].Send[0] = "OPTIONS /index.html HTTP/1.1\r\nHost: fuzz\r\nUser-Agent: " + chrome + "\r\nConnection: close\r\n\r\n"
	harness.Compare(t, c, nginx, gonginx, serveAssets(t))
}
