package difftest

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// The attack sweep: the checklist's hostile HTTP/1 shapes (smuggling framing, traversal, Host
// and request-line anomalies, methods, Expect, oversized heads, pipelines broken midway, slow
// bodies, ranges) sent raw through the locations the earlier audits (serve_attack*_test.go) do
// not hold together: try_files, a regex capture and a named one in proxy_pass, auth_basic with
// allow/deny and satisfy, alias beside them, all in two servers, the second with merge_slashes
// off. Each case is a name and the raw bytes; the client's view (statuses, heads, bodies, how
// the connection ends, a pipelined follower's answer), the backend's (request line, headers,
// body, framing) and the error log's request lines (info level) are compared.
const sweepLocations = `
    root html/w;
    error_log stderr info;
    location / { }
    location /p/ { proxy_pass http://{{BACKEND}}/; }
    location /al/ { alias html/w/sub/; }
    location /tf/ { try_files $uri $uri/ @fb; }
    location /tfp/ { try_files $uri /p$uri; }
    location /tfa/ { alias html/w/sub/; try_files $uri =404; }
    location @fb { proxy_pass http://{{BACKEND}}; proxy_set_header X-U $uri; }
    location ~ ^/rc/(.*)$ { proxy_pass http://{{BACKEND}}/got/$1; proxy_set_header X-C $1; }
    location ~ ^/rn/(?<rest>.*)$ { proxy_pass http://{{BACKEND}}/got/$rest$is_args$args; }
    location /adm/ { allow 127.0.0.1; deny all; proxy_pass http://{{BACKEND}}; }
    location /deny/ { deny all; proxy_pass http://{{BACKEND}}; }
    location /au/ { auth_basic "sweep"; auth_basic_user_file htpasswd; proxy_pass http://{{BACKEND}}; }
    location /aa/ { satisfy any; deny all; auth_basic "sweep"; auth_basic_user_file htpasswd; alias html/w/sub/; }
    location /ep/ { error_page 404 = @fb; }
    location /sa/ { set $args x=1; proxy_pass http://{{BACKEND}}; }
    location /rw/ { rewrite ^/rw/(.*)$ /p/$1 last; }
    location /ab/ { satisfy all; allow 127.0.0.1; deny all; auth_basic "sweep"; auth_basic_user_file htpasswd; try_files $uri @fb; }
`

const sweepConfig = `server {
    listen 127.0.0.1:{{PORT}};
    server_name sweep;` + sweepLocations + `}
server {
    listen 127.0.0.1:{{PORT}};
    server_name nomerge;
    merge_slashes off;` + sweepLocations + `}
`

var sweepContent = map[string]string{
	"html/secret.txt":    "SECRET outside the root\n",
	"html/w/a.txt":       "a\n",
	"html/w/r.txt":       "0123456789abcdefghij",
	"html/w/sub/b.txt":   "b\n",
	"html/w/sub/r.txt":   "0123456789abcdefghij",
	"html/w/tf/t.txt":    "t\n",
	"html/w/tf/d/x.txt":  "x\n",
	"html/w/tfp/t.txt":   "tp\n",
	"html/w/ab/b.txt":    "ab\n",
	"html/w/adm/x.txt":   "adm\n",
	"html/w/au/x.txt":    "au\n",
	"html/w/back\\s.txt": "backslash name\n",
	"htpasswd":           "u:{PLAIN}pw\n",
}

// sweepAuth is u:pw, the one user.
const sweepAuth = "Authorization: Basic dTpwdw==\r\n"

// sweepFollower is pipelined behind a case: its answer, or its absence, shows how the server
// framed the case (a smuggled request would be one more answer or reach the backend).
const sweepFollower = "GET /p/follower HTTP/1.1\r\nHost: sweep\r\nConnection: close\r\n\r\n"

type sweepCase struct {
	name string
	raw  string
	// pair pipelines sweepFollower behind raw and reads both answers
	// (three where raw holds two requests).
	pair bool
}

func (s sweepCase) request() harness.Request {
	if s.pair {
		return harness.Request{Name: s.name, Send: []string{s.raw + sweepFollower}, Responses: 1 + strings.Count(s.raw, " HTTP/1.")}
	}
	// The client closes a kept connection: the server's "closed keepalive
	// connection" line is let come before the next request's lines.
	return harness.Request{Name: s.name, Send: []string{s.raw}, Settle: sweepSettle}
}

const sweepSettle = 150 * time.Millisecond

func sweepRun(t *testing.T, name string, cases []sweepCase) {
	t.Helper()
	nginx := serveNginx(t)
	gonginx := serveUnderTest(t)
	reqs := make([]harness.Request, 0, len(cases))
	for _, s := range cases {
		reqs = append(reqs, s.request())
	}
	c := harness.Case{Name: name, Config: sweepConfig, Content: sweepContent, Requests: reqs, ErrorLog: true}
	harness.Compare(t, c, nginx, gonginx, serveAssets(t))
}

// sweepTargets are one target in each kind of location.
var sweepTargets = []string{"/a.txt", "/p/x", "/al/b.txt", "/tf/t.txt", "/tf/none", "/tfp/none", "/tfa/b.txt",
	"/rc/x", "/rn/x", "/adm/x", "/deny/x", "/au/x", "/aa/b.txt", "/ab/b.txt"}

func sweepGet(host, target string, extra ...string) string {
	return "GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\n" + strings.Join(extra, "") + "\r\n"
}

// Framing: bodies whose length two parsers could read two ways, into each kind of location
// (the proxied ones forward it, the static ones and the refusals discard it).
func TestServeAttackSweepFraming(t *testing.T) {
	t.Parallel()
	const chunk5 = "5\r\nhello\r\n0\r\n\r\n"
	bodies := []struct{ name, head, body string }{
		{"CL and TE", "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", chunk5},
		{"two CL", "Content-Length: 5\r\nContent-Length: 6\r\n", "hello!"},
		{"CL with sign", "Content-Length: +5\r\n", "hello"},
		{"CL leading zeros", "Content-Length: 005\r\n", "hello"},
		{"CL huge", "Content-Length: 99999999999999999999\r\n", "hello"},
		{"CL space inside", "Content-Length: 5 5\r\n", "hello"},
		{"TE gzip, chunked", "Transfer-Encoding: gzip, chunked\r\n", chunk5},
		{"TE chunked, chunked", "Transfer-Encoding: chunked, chunked\r\n", chunk5},
		{"chunk extension", "Transfer-Encoding: chunked\r\n", "5;a=b\r\nhello\r\n0\r\n\r\n"},
		{"chunk size overflow", "Transfer-Encoding: chunked\r\n", "ffffffffffffffff1\r\nhello\r\n0\r\n\r\n"},
		{"chunk bare LF", "Transfer-Encoding: chunked\r\n", "5\nhello\n0\n\n"},
		{"obs-fold", "X-A: a\r\n b\r\nContent-Length: 5\r\n", "hello"},
		{"space before colon", "Content-Length : 5\r\n", "hello"},
		{"body request in chunk", "Content-Length: 0\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\nGET /p/smuggled HTTP/1.1\r\nHost: sweep\r\n\r\n"},
		{"GET with body", "Content-Length: 5\r\n", "hello"},
		{"GET with chunked body", "Transfer-Encoding: chunked\r\n", chunk5},
	}
	var cases []sweepCase
	for _, target := range sweepTargets {
		for _, b := range bodies {
			method := "POST"
			if strings.HasPrefix(b.name, "GET") {
				method = "GET"
			}
			cases = append(cases, sweepCase{target + " " + b.name,
				method + " " + target + " HTTP/1.1\r\nHost: sweep\r\n" + sweepAuth + b.head + "\r\n" + b.body, true})
		}
	}
	sweepRun(t, "sweep framing", cases)
}

// Paths that try to leave a location or reach one around its guard: dot segments raw and
// escaped, escaped slashes, backslashes, doubled slashes (merged and not), NUL and CR/LF that
// the decoded URI carries into a capture, $uri and the upstream request.
func TestServeAttackSweepPaths(t *testing.T) {
	t.Parallel()
	var cases []sweepCase
	for _, host := range []string{"sweep", "nomerge"} {
		for _, target := range []string{
			// around the guards
			"/%61u/x", "/AU/x", "//au/x", "/./au/x", "/x/../au/x", "/au/./x", "/au/../au/x", "/au%2fx", "/%2fau/x",
			"/deny%2fx", "/%64eny/x", "/deny/..", "/deny/%2e%2e/a.txt", "//deny//x", "/adm/../deny/x",
			"/aa/../../secret.txt", "/aa/..%2f..%2fsecret.txt", "/aa/%2e%2e/%2e%2e/secret.txt",
			"/ab/../../secret.txt", "/ab/%2e%2e/a.txt", "/ab//b.txt",
			// alias and try_files
			"/al/../../secret.txt", "/al/..%2f..%2fsecret.txt", "/al/%2e%2e/%2e%2e/secret.txt", "/al/..\\..\\secret.txt",
			"/al//b.txt", "/al/./b.txt", "/tf/../../secret.txt", "/tf/..%2f..%2fsecret.txt", "/tf/%2e%2e/a.txt",
			"/tf/d", "/tf/d/", "/tf//t.txt", "/tf/t.txt/", "/tf/%00", "/tf/t.txt%00.html", "/tf/\\..\\x",
			"/tfp/../x", "/tfp/%2e%2e/%2e%2e/x", "/tfp/a%0d%0aX-Inj:%20y", "/tfp//a", "/tfa/../secret.txt",
			"/tfa/..%2fsecret.txt", "/tfa/b.txt/", "/tfa//b.txt",
			// captures and $uri into the upstream request
			"/rc/a%0d%0aX-Inj:%20y", "/rc/a%0aX:1", "/rc/a%20b", "/rc/%2e%2e/x", "/rc/..%2f..%2fx", "/rc/a%00b",
			"/rc/a?b=%0d%0a", "/rc//a//b", "/rc/a%2fb", "/rc/%3f", "/rc/%23", "/rn/a%0d%0aX-Inj:%20y", "/rn/a?x=%0d%0a",
			"/rn/a%3fb", "/rn/%25", "/rn//a", "/tf/%0d%0aX-Inj:%20y", "/tf/a%0aX:1",
			// the target as sent, or the URI escaped, where a named location, set $args or a rewrite ran
			"/ep/a%41\\b?c=%0d", "/ep/../ep/x", "/ep//a", "/ep/%0d%0aX:1", "/sa/a%41\\b?c=d", "/sa//a", "/rw/a%41\\b?c=d",
			"/rw/%0d%0aX:1", "/tf/a%41?b", "/tf/a b", "/ep/a\xc3\xa9",
			// past the root
			"/../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt", "/sub/../../secret.txt", "/.%2e/secret.txt",
			"/%2e%2e%5csecret.txt", "/back\\s.txt", "/back%5cs.txt", "///a.txt", "/sub/./..//./a.txt",
		} {
			cases = append(cases, sweepCase{host + " " + target, sweepGet(host, target, sweepAuth), false})
		}
	}
	for _, abs := range []string{"http://sweep/au/x", "http://other/au/x", "http://nomerge//au/x", "http://sweep/%2e%2e/secret.txt",
		"http://u@sweep/adm/x", "http://sweep:1/rc/x", "http://sweep/rc/%0d%0aX:1", "http://SWEEP/tf/none"} {
		cases = append(cases, sweepCase{"absolute " + abs, sweepGet("other", abs), false})
	}
	sweepRun(t, "sweep paths", cases)
}

// Authorization headers odd and repeated, and the guarded locations' answers kept or closed.
func TestServeAttackSweepAuth(t *testing.T) {
	t.Parallel()
	var cases []sweepCase
	for _, target := range []string{"/au/x", "/aa/b.txt", "/ab/b.txt"} {
		for _, a := range []struct{ name, head string }{
			{"none", ""},
			{"good", sweepAuth},
			{"wrong password", "Authorization: Basic dTp4\r\n"},
			{"lower-case scheme", "Authorization: basic dTpwdw==\r\n"},
			{"upper-case scheme", "Authorization: BASIC dTpwdw==\r\n"},
			{"two spaces", "Authorization: Basic  dTpwdw==\r\n"},
			{"tab", "Authorization: Basic\tdTpwdw==\r\n"},
			{"no credentials", "Authorization: Basic\r\n"},
			{"bad base64", "Authorization: Basic !!!!\r\n"},
			{"no padding", "Authorization: Basic dTpwdw\r\n"},
			{"no colon", "Authorization: Basic dXB3\r\n"},
			{"trailing junk", "Authorization: Basic dTpwdw== x\r\n"},
			{"other scheme", "Authorization: Bearer dTpwdw==\r\n"},
			{"two headers, good first", sweepAuth + "Authorization: Basic dTp4\r\n"},
			{"two headers, good second", "Authorization: Basic dTp4\r\n" + sweepAuth},
			{"user with NUL", "Authorization: Basic dQA6cHc=\r\n"},
			{"long", "Authorization: Basic " + strings.Repeat("QUFB", 1500) + "\r\n"},
		} {
			cases = append(cases, sweepCase{target + " " + a.name, sweepGet("sweep", target, a.head), true})
		}
		cases = append(cases,
			sweepCase{target + " 401 with a body", "POST " + target + " HTTP/1.1\r\nHost: sweep\r\nContent-Length: 5\r\n\r\nhello", true},
			sweepCase{target + " 401 with a chunked body", "POST " + target + " HTTP/1.1\r\nHost: sweep\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", true},
			sweepCase{target + " 401 with Expect", "POST " + target + " HTTP/1.1\r\nHost: sweep\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n", false},
			sweepCase{target + " HTTP/1.0 keep-alive 401", "GET " + target + " HTTP/1.0\r\nHost: sweep\r\nConnection: keep-alive\r\n\r\n", true},
		)
	}
	cases = append(cases,
		sweepCase{"/deny/ with a body", "POST /deny/x HTTP/1.1\r\nHost: sweep\r\nContent-Length: 5\r\n\r\nhello", true},
		sweepCase{"/deny/ with Expect", "POST /deny/x HTTP/1.1\r\nHost: sweep\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n", false},
		sweepCase{"/deny/ HTTP/1.0 keep-alive", "GET /deny/x HTTP/1.0\r\nHost: sweep\r\nConnection: keep-alive\r\n\r\n", true},
		sweepCase{"/adm/ X-Forwarded-For", sweepGet("sweep", "/adm/x", "X-Forwarded-For: 10.0.0.1\r\nX-Real-IP: 10.0.0.1\r\n"), true},
	)
	sweepRun(t, "sweep auth", cases)
}

// Methods: the known ones nginx treats apart (HEAD, OPTIONS, TRACE, CONNECT), unknown and
// lower-case ones, and methods with characters nginx refuses, in each kind of location.
func TestServeAttackSweepMethods(t *testing.T) {
	t.Parallel()
	var cases []sweepCase
	for _, target := range sweepTargets {
		for _, m := range []string{"HEAD", "OPTIONS", "TRACE", "CONNECT", "DELETE", "PATCH", "PROPFIND", "FOO", "get", "Get",
			"G_T", "G-T", "G1T", "G.T", "G@T", "GET\x00", strings.Repeat("X", 40)} {
			raw := m + " " + target + " HTTP/1.1\r\nHost: sweep\r\n" + sweepAuth + "\r\n"
			cases = append(cases, sweepCase{target + " " + m, raw, m != "HEAD"})
		}
		cases = append(cases,
			sweepCase{target + " CONNECT authority", "CONNECT sweep:80 HTTP/1.1\r\nHost: sweep\r\n\r\n", true},
			sweepCase{target + " OPTIONS with a body", "OPTIONS " + target + " HTTP/1.1\r\nHost: sweep\r\n" + sweepAuth + "Content-Length: 5\r\n\r\nhello", true},
			sweepCase{target + " DELETE chunked", "DELETE " + target + " HTTP/1.1\r\nHost: sweep\r\n" + sweepAuth + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", true},
		)
	}
	sweepRun(t, "sweep methods", cases)
}

// Request lines and heads: versions, HTTP/0.9, HTTP/1.0 keep-alive, Host forms, control bytes
// and sizes at large_client_header_buffers' edges (8k), in the guarded and rewritten locations.
func TestServeAttackSweepHeads(t *testing.T) {
	t.Parallel()
	var cases []sweepCase
	for _, target := range []string{"/au/x", "/tf/none", "/rc/x", "/deny/x"} {
		for _, h := range []struct{ name, raw string }{
			{"HTTP/0.9", "GET " + target + "\r\n"},
			{"HTTP/1.0", "GET " + target + " HTTP/1.0\r\n\r\n"},
			{"HTTP/1.0 keep-alive", "GET " + target + " HTTP/1.0\r\nHost: sweep\r\n" + sweepAuth + "Connection: keep-alive\r\n\r\n"},
			{"HTTP/1.2", "GET " + target + " HTTP/1.2\r\nHost: sweep\r\n" + sweepAuth + "\r\n"},
			{"HTTP/2.0", "GET " + target + " HTTP/2.0\r\nHost: sweep\r\n\r\n"},
			{"two Host", "GET " + target + " HTTP/1.1\r\nHost: sweep\r\nHost: nomerge\r\n" + sweepAuth + "\r\n"},
			{"Host with port", "GET " + target + " HTTP/1.1\r\nHost: sweep:8080\r\n" + sweepAuth + "\r\n"},
			{"Host with userinfo", "GET " + target + " HTTP/1.1\r\nHost: u@sweep\r\n" + sweepAuth + "\r\n"},
			{"Host with slash", "GET " + target + " HTTP/1.1\r\nHost: sweep/x\r\n" + sweepAuth + "\r\n"},
			{"Host with CR", "GET " + target + " HTTP/1.1\r\nHost: sw\reep\r\n" + sweepAuth + "\r\n"},
			{"no Host", "GET " + target + " HTTP/1.1\r\n" + sweepAuth + "\r\n"},
			{"NUL in URI", "GET " + target + "\x00 HTTP/1.1\r\nHost: sweep\r\n\r\n"},
			{"LF in URI", "GET " + target + "\n HTTP/1.1\r\nHost: sweep\r\n\r\n"},
			{"CR in URI", "GET " + target + "\rx HTTP/1.1\r\nHost: sweep\r\n\r\n"},
			{"NUL in header", "GET " + target + " HTTP/1.1\r\nHost: sweep\r\nX-A: a\x00\r\n\r\n"},
			{"invalid header name", "GET " + target + " HTTP/1.1\r\nHost: sweep\r\n" + sweepAuth + "X{A}: 1\r\n\r\n"},
			{"header name with space", "GET " + target + " HTTP/1.1\r\nHost: sweep\r\nX A: 1\r\n\r\n"},
			{"empty header name", "GET " + target + " HTTP/1.1\r\nHost: sweep\r\n: v\r\n\r\n"},
			{"CR in header name", "GET " + target + " HTTP/1.1\r\nHost: sweep\r\nX\rA: 1\r\n\r\n"},
			{"obs-fold in Authorization", "GET " + target + " HTTP/1.1\r\nHost: sweep\r\nAuthorization: Basic\r\n dTpwdw==\r\n\r\n"},
			{"bare LF head", "GET " + target + " HTTP/1.1\nHost: sweep\n" + strings.TrimSuffix(sweepAuth, "\r\n") + "\n\n"},
			{"request line 8k", "GET " + target + "?" + strings.Repeat("q", 8192-len("GET "+target+"? HTTP/1.1\r\n")) + " HTTP/1.1\r\nHost: sweep\r\n" + sweepAuth + "\r\n"},
			{"request line 8k+1", "GET " + target + "?" + strings.Repeat("q", 8193-len("GET "+target+"? HTTP/1.1\r\n")) + " HTTP/1.1\r\nHost: sweep\r\n" + sweepAuth + "\r\n"},
			{"header 8k", "GET " + target + " HTTP/1.1\r\nHost: sweep\r\n" + sweepAuth + "X-Big: " + strings.Repeat("v", 8192-len("X-Big: \r\n")) + "\r\n\r\n"},
			{"header 8k+1", "GET " + target + " HTTP/1.1\r\nHost: sweep\r\n" + sweepAuth + "X-Big: " + strings.Repeat("v", 8193-len("X-Big: \r\n")) + "\r\n\r\n"},
			{"cookie 9k", "GET " + target + " HTTP/1.1\r\nHost: sweep\r\n" + sweepAuth + "Cookie: " + strings.Repeat("c", 9000) + "\r\n\r\n"},
			{"five 7k headers", "GET " + target + " HTTP/1.1\r\nHost: sweep\r\n" + sweepAuth + strings.Repeat("X-H: "+strings.Repeat("h", 7000)+"\r\n", 5) + "\r\n"},
			{"1000 small headers", "GET " + target + " HTTP/1.1\r\nHost: sweep\r\n" + sweepAuth + strings.Repeat("X-H: h\r\n", 1000) + "\r\n"},
		} {
			cases = append(cases, sweepCase{target + " " + h.name, h.raw, true})
		}
	}
	sweepRun(t, "sweep heads", cases)
}

// Expect, pipelines broken midway, ranges and slow bodies through the guarded, try_files and
// capture locations.
func TestServeAttackSweepFlow(t *testing.T) {
	t.Parallel()
	var cases []sweepCase
	for _, target := range []string{"/au/x", "/ab/b.txt", "/tf/none", "/tfa/r.txt", "/rc/x", "/deny/x"} {
		post := "POST " + target + " HTTP/1.1\r\nHost: sweep\r\n" + sweepAuth
		cases = append(cases,
			sweepCase{target + " Expect, no body yet", post + "Content-Length: 5\r\nExpect: 100-continue\r\n\r\n", false},
			sweepCase{target + " Expect, body sent", post + "Content-Length: 5\r\nExpect: 100-continue\r\n\r\nhello", true},
			sweepCase{target + " Expect upper case", post + "Content-Length: 5\r\nExpect: 100-CONTINUE\r\n\r\nhello", true},
			sweepCase{target + " Expect other", post + "Content-Length: 5\r\nExpect: 200-ok\r\n\r\nhello", true},
			sweepCase{target + " Expect on GET", sweepGet("sweep", target, sweepAuth, "Expect: 100-continue\r\n"), true},
			sweepCase{target + " Expect on HTTP/1.0", "POST " + target + " HTTP/1.0\r\nHost: sweep\r\n" + sweepAuth + "Content-Length: 5\r\nExpect: 100-continue\r\n\r\nhello", false},
			sweepCase{target + " pipelined after a bad header", sweepGet("sweep", target, sweepAuth) + sweepGet("sweep", target, "X A: 1\r\n"), true},
			sweepCase{target + " pipelined after a 401", sweepGet("sweep", target) + sweepGet("sweep", target, sweepAuth), true},
			sweepCase{target + " pipelined after a body short of its length", post + "Content-Length: 10\r\n\r\nhello" + sweepGet("sweep", "/a.txt"), true},
			sweepCase{target + " ranges overlapping", sweepGet("sweep", target, sweepAuth, "Range: bytes=0-5,2-8,1-1\r\n"), false},
			sweepCase{target + " ranges many", sweepGet("sweep", target, sweepAuth, "Range: bytes="+strings.Repeat("0-0,", 300)+"0-0\r\n"), false},
			sweepCase{target + " ranges suffix and huge", sweepGet("sweep", target, sweepAuth, "Range: bytes=-5,9223372036854775807-\r\n"), false},
			sweepCase{target + " ranges reversed", sweepGet("sweep", target, sweepAuth, "Range: bytes=5-1\r\n"), false},
		)
	}
	reqs := make([]harness.Request, 0, len(cases)+4)
	for _, s := range cases {
		reqs = append(reqs, s.request())
	}
	// A body that comes in pieces, and one that stops (client_body_timeout 1s here, 150 ms gaps).
	for _, target := range []string{"/au/x", "/tf/none", "/rc/x"} {
		head := "POST " + target + " HTTP/1.1\r\nHost: sweep\r\n" + sweepAuth
		reqs = append(reqs,
			harness.Request{Name: target + " slow body", Send: []string{head + "Content-Length: 10\r\n\r\n01", "234", "56789"}, Pause: 150 * time.Millisecond, Settle: sweepSettle},
			harness.Request{Name: target + " slow chunked body", Send: []string{head + "Transfer-Encoding: chunked\r\n\r\n2\r\n01", "\r\n3\r\n234\r\n", "0\r\n\r\n"}, Pause: 150 * time.Millisecond, Settle: sweepSettle},
			harness.Request{Name: target + " body stops", Send: []string{head + "Content-Length: 10\r\n\r\n01234"}, ReadAfter: 2 * time.Second, Settle: sweepSettle},
		)
	}
	// A body still coming when a refusal went out: discarded as it comes,
	// a bad chunk among it then.
	for _, target := range []string{"/deny/x", "/au/x", "/a.txt"} {
		head := "POST " + target + " HTTP/1.1\r\nHost: sweep\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"
		reqs = append(reqs,
			harness.Request{Name: target + " bad chunk after the answer", Send: []string{head, "zz\r\n" + sweepFollower}, Pause: 200 * time.Millisecond, Responses: 2},
			harness.Request{Name: target + " good chunks after the answer", Send: []string{head, "3\r\nabc\r\n0\r\n\r\n" + sweepFollower}, Pause: 200 * time.Millisecond, Responses: 2},
		)
	}
	nginx := serveNginx(t)
	gonginx := serveUnderTest(t)
	config := strings.ReplaceAll(sweepConfig, "error_log stderr info;", "error_log stderr info;\n    client_body_timeout 1s;")
	c := harness.Case{Name: "sweep flow", Config: config, Content: sweepContent, Requests: reqs, ErrorLog: true}
	harness.Compare(t, c, nginx, gonginx, serveAssets(t))
}

// sweepMixRequest combines the sweep's pieces at random (a method, a target with a path trick,
// guards' credentials, framing, Expect, Range, Host forms): the named cases one by one miss
// their interactions. No HEAD: the client would read a pipelined follower's answer as its own.
func sweepMixRequest(rng *rand.Rand) string {
	pick := func(xs ...string) string { return xs[rng.Intn(len(xs))] }
	target := pick(sweepTargets...)
	switch rng.Intn(4) {
	case 0:
		target = strings.Replace(target, "/", pick("//", "/./", "/x/../", "/%2e/", "/%2f"), 1)
	case 1:
		target += pick("/../x", "%2f..%2fsecret.txt", "%0d%0aX-Inj:%201", "?a=%0d%0a", "%00", "\\..\\a", "/..", "%20x")
	}
	line := pick("GET", "GET", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "FOO", "get") + " " + target + " " +
		pick("HTTP/1.1", "HTTP/1.1", "HTTP/1.1", "HTTP/1.0")
	hs := []string{pick("Host: sweep", "Host: sweep", "Host: nomerge", "Host: sweep:1", "Host: SWEEP.", "Host: u@sweep")}
	for n := rng.Intn(5); n > 0; n-- {
		hs = append(hs, pick(strings.TrimSuffix(sweepAuth, "\r\n"), "Authorization: Basic dTp4", "Authorization: basic dTpwdw==",
			"Content-Length: 5", "Content-Length: 0", "Content-Length: 10", "Content-Length: 05", "Transfer-Encoding: chunked",
			"Transfer-Encoding: gzip, chunked", "Expect: 100-continue", "Connection: keep-alive", "Connection: close",
			"Range: bytes=0-1,3-4", "Range: bytes=-3", "Range: bytes=5-1", "X_U: 1", "X{A}: 1", "X-A: a\x00b",
			"Cookie: a=1", "X-Forwarded-For: 10.0.0.1", "If-Range: \"x\"", "Accept-Encoding: gzip"))
	}
	body := pick("", "", "hello", "5\r\nhello\r\n0\r\n\r\n", "5;x\r\nhello\r\n0\r\n\r\n", "0\r\n\r\n", "fffffffffffffffff\r\n",
		"5\r\nhelloXX", "0123456789A", "0\r\n\r\nGET /p/smuggled HTTP/1.1\r\nHost: sweep\r\n\r\n")
	return line + "\r\n" + strings.Join(hs, "\r\n") + "\r\n\r\n" + body
}

// TestServeAttackSweepMix: sweepMixRequest's combinations, each with a pipelined follower.
// SWEEP_SEED and SWEEP_COUNT run others locally.
func TestServeAttackSweepMix(t *testing.T) {
	t.Parallel()
	rng, count := seededRand("SWEEP", 19, 150)
	var cases []sweepCase
	for i := 0; i < count; i++ {
		raw := sweepMixRequest(rng)
		cases = append(cases, sweepCase{fmt.Sprintf("%d %q", i, raw), raw, true})
	}
	sweepRun(t, "sweep mix", cases)
}

// Heads at the edges of small header buffers (client_header_buffer_size 200,
// large_client_header_buffers 3 600): a request line or a header line that fills a large
// buffer (414, 494 shown as 400), buffers used up by lines that each fit, and what the error
// log shows of the line at fault; the second server answers them with its error_page.
func TestServeAttackSweepLimits(t *testing.T) {
	t.Parallel()
	config := strings.Replace(sweepConfig, "server_name sweep;", "server_name sweep;\n    client_header_buffer_size 200;\n    large_client_header_buffers 3 600;", 1)
	config = strings.Replace(config, "merge_slashes off;", `merge_slashes off;
    client_header_buffer_size 200;
    large_client_header_buffers 3 600;
    error_page 400 414 494 /err;
    location = /err { return 200 "err $status\n"; }`, 1)
	var reqs []harness.Request
	for _, host := range []string{"sweep", "nomerge"} {
		head := "GET /au/x HTTP/1.1\r\n"
		for _, n := range []int{150, 198, 199, 200, 201, 580, 598, 599, 600, 601} {
			line := "GET /au/x?" + strings.Repeat("q", n-len("GET /au/x? HTTP/1.1\r\n")) + " HTTP/1.1\r\n"
			reqs = append(reqs, sweepCase{fmt.Sprintf("%s request line of %d", host, n), line + "Host: " + host + "\r\n" + sweepAuth + "\r\n", true}.request())
			hdr := "X-L: " + strings.Repeat("l", n-len("X-L: \r\n")) + "\r\n"
			reqs = append(reqs, sweepCase{fmt.Sprintf("%s header line of %d", host, n), head + "Host: " + host + "\r\n" + sweepAuth + hdr + "\r\n", true}.request())
		}
		for _, k := range []int{2, 3, 4, 6} {
			hdrs := strings.Repeat("X-M: "+strings.Repeat("m", 500)+"\r\n", k)
			reqs = append(reqs, sweepCase{fmt.Sprintf("%s %d lines of 507", host, k), head + "Host: " + host + "\r\n" + sweepAuth + hdrs + "\r\n", true}.request())
			hdrs = strings.Repeat("X-S: "+strings.Repeat("s", 150)+"\r\n", 3*k)
			reqs = append(reqs, sweepCase{fmt.Sprintf("%s %d lines of 157", host, 3*k), head + "Host: " + host + "\r\n" + sweepAuth + hdrs + "\r\n", true}.request())
		}
		reqs = append(reqs,
			sweepCase{host + " cookie of 700", head + "Host: " + host + "\r\nCookie: " + strings.Repeat("c", 700) + "\r\n\r\n", true}.request(),
			sweepCase{host + " long line before Host", head + "X-L: " + strings.Repeat("l", 700) + "\r\nHost: " + host + "\r\n\r\n", true}.request(),
			// Sent in pieces: the line grows past the buffer across reads.
			harness.Request{Name: host + " header line in pieces", Send: []string{head + "Host: " + host + "\r\nX-P: " + strings.Repeat("p", 250),
				strings.Repeat("p", 250), strings.Repeat("p", 250) + "\r\n\r\n"}, Pause: 100 * time.Millisecond, Settle: sweepSettle},
		)
	}
	nginx := serveNginx(t)
	gonginx := serveUnderTest(t)
	c := harness.Case{Name: "sweep limits", Config: config, Content: sweepContent, Requests: reqs, ErrorLog: true}
	harness.Compare(t, c, nginx, gonginx, serveAssets(t))
}
