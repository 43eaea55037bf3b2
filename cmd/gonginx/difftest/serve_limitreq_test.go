package difftest

import (
	"regexp"
	"strconv"
	"testing"

	"github.com/gonginx/gonginx/cmd/gonginx/difftest/harness"
)

// limit_req as nginx runs it: bursts of requests at 1r/m (no leak within
// the test, so the 200/503 sequence does not depend on timing), nodelay,
// limit_req_status, dry run, two limits in one location, keys per URI and
// empty keys, a location inheriting the server's limit or replacing it,
// $limit_req_status, a return (rewrite phase) that limit_req never sees,
// and a request delayed (burst without nodelay) that then proceeds.
func TestServeLimitReq(t *testing.T) {
	t.Parallel()
	want, got := serveNginx(t), serveUnderTest(t)
	const config = `limit_req_zone $uri zone=one:32k rate=1r/m;
limit_req_zone $arg_k zone=bykey:32k rate=1r/m;
limit_req_zone $server_name zone=srv:32k rate=1r/m;
limit_req_zone $uri zone=slow:32k rate=1r/s;
server {
    listen 127.0.0.1:{{PORT}};
    server_name localhost;
    add_header X-LR "[$limit_req_status]" always;
    limit_req zone=srv burst=6 nodelay;
    location /nd/ { limit_req zone=one burst=2 nodelay; }
    location /st/ { limit_req zone=one nodelay; limit_req_status 429; limit_req_log_level warn; }
    location /dry/ { limit_req zone=one burst=1 nodelay; limit_req_dry_run on; }
    location /key/ { limit_req zone=bykey burst=1 nodelay; }
    location /two/ { limit_req zone=bykey burst=3 nodelay; limit_req zone=one burst=1 nodelay; }
    location /ret/ { limit_req zone=one nodelay; return 200 "ret\n"; }
    location /inh/ { }
    location /delay/ { limit_req zone=slow burst=5; }
}
`
	req := func(target string) harness.Request {
		return harness.Request{Name: target, Send: []string{"GET " + target + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"}}
	}
	var reqs []harness.Request
	for _, t := range []string{
		"/nd/f", "/nd/f", "/nd/f", "/nd/f", "/nd/f", "/nd/g",
		"/st/f", "/st/f",
		"/dry/f", "/dry/f", "/dry/f",
		"/key/f?k=a", "/key/f?k=a", "/key/f?k=a", "/key/f?k=b", "/key/f", "/key/f", "/key/f",
		"/two/f?k=c", "/two/f?k=c", "/two/f?k=c", "/two/f?k=d", "/two/f",
		"/ret/f", "/ret/f", "/ret/f",
		"/inh/f", "/inh/f", "/inh/f", "/inh/f", "/inh/f", "/inh/f", "/inh/f", "/inh/f",
		"/delay/f", "/delay/f",
	} {
		reqs = append(reqs, req(t))
	}
	content := map[string]string{}
	for _, d := range []string{"nd", "st", "dry", "key", "two", "inh", "delay"} {
		content["html/"+d+"/f"] = d + "\n"
	}
	content["html/nd/g"] = "g\n"
	harness.Compare(t, harness.Case{Name: "limit_req", Config: config, Content: content, Requests: reqs}, want, got, serveAssets(t))
}

// excessLogged is the excess a limit_req line of the error log gives.
var excessLogged = regexp.MustCompile(`excess: (\d+)\.(\d{3})`)

// wholeExcess rounds the excess limit_req logs to whole requests (an
// ErrorMask). At 1r/m nginx's bucket (16 per 1000 s in its integers)
// leaks a thousandth of a request every 62.5 ms, so the thousandths say
// how fast the harness's requests followed each other: on a loaded
// machine the three of a burst took 125 ms or more (excess 1.998, not
// 2.000), for either server. The arithmetic itself is location/limit's
// tests', on a clock of their own.
func wholeExcess(line string) string {
	return excessLogged.ReplaceAllStringFunc(line, func(m string) string {
		s := excessLogged.FindStringSubmatch(m)
		n, _ := strconv.Atoi(s[1])
		f, _ := strconv.Atoi(s[2])
		return "excess: ~" + strconv.Itoa((n*1000+f+500)/1000)
	})
}
