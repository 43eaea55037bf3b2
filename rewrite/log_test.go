package rewrite

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestEvalLog checks log_format evaluation; the escaped header values were
// recorded from nginx 1.22 with X-T: a"b\c<TAB>z<0x01><0x1f><0x7f>é.
func TestEvalLog(t *testing.T) {
	const odd = "a\"b\\c\tz\x01\x1f\x7f\xc3\xa9"
	tests := []struct {
		name   string
		format string
		esc    LogEscape
		hdrs   []string
		want   string
	}{
		{"default escapes", `"$http_x_t"`, LogEscapeDefault, []string{"X-T", odd}, `"a\x22b\x5Cc\x09z\x01\x1F\x7F\xC3\xA9"`},
		{"json escapes", `{"x":"$http_x_t"}`, LogEscapeJSON, []string{"X-T", odd}, "{\"x\":\"a\\\"b\\\\c\\tz\\u0001\\u001F\x7f\xc3\xa9\"}"},
		{"none", `[$http_x_t]`, LogEscapeNone, []string{"X-T", odd}, "[" + odd + "]"},
		{"literal text is not escaped", `"\x01$status`, LogEscapeDefault, nil, `"\x01200`},
		{"missing is a dash", `"$http_referer" "$remote_user" "$upstream_addr"`, LogEscapeDefault, nil, `"-" "-" "-"`},
		{"missing under json is empty", `"$http_referer","$upstream_addr"`, LogEscapeJSON, nil, `"",""`},
		{"missing under none is empty", `[$http_referer]`, LogEscapeNone, nil, `[]`},
		{"basic user without auth_basic", `"$remote_user"`, LogEscapeDefault, []string{"Authorization", "Basic dXNlcjpwdw=="}, `"user"`},
		{"basic without colon", `"$remote_user"`, LogEscapeDefault, []string{"Authorization", "Basic dXNlcg=="}, `"-"`},
		{"basic caseless, spaces, no padding", `"$remote_user"`, LogEscapeDefault, []string{"Authorization", "basic   dXNlcjpwdw"}, `"user"`},
		{"basic not base64", `"$remote_user"`, LogEscapeDefault, []string{"Authorization", "Basic !!"}, `"-"`},
		{"not basic", `"$remote_user"`, LogEscapeDefault, []string{"Authorization", "Bearer dXNlcjpwdw=="}, `"-"`},
		{"request line", `"$request"`, LogEscapeDefault, nil, `"GET /a?b=1 HTTP/1.1"`},
		{"counters", `$status $body_bytes_sent $bytes_sent $request_length $connection $connection_requests $pipe`, LogEscapeDefault, nil, `200 6 240 98 7 2 p`},
		{"no upstream", `$upstream_status|$upstream_response_time`, LogEscapeNone, nil, `|`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewCompiler()
			cv := mustComplex(t, c, tt.format)
			if err := c.Finish(); err != nil {
				t.Fatal(err)
			}
			s := testState(testReq("GET", "/a?b=1", "/a", tt.hdrs...))
			s.Status, s.BodyBytesSent, s.BytesSent, s.RequestLength = 200, 6, 240, 98
			s.Connection, s.ConnectionRequests, s.Pipelined = 7, 2, true
			got := string(cv.EvalLog(s, nil, tt.esc))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("EvalLog(%q) (-want +got):\n%s", tt.format, diff)
			}
		})
	}
}

func TestLogTimes(t *testing.T) {
	c := NewCompiler()
	cv := mustComplex(t, c, "$request_time $upstream_status $upstream_response_time")
	s := testState(testReq("GET", "/", "/"))
	s.Start = time.Now().Add(-1500 * time.Millisecond)
	s.UpstreamAddr, s.UpstreamStatus, s.UpstreamResponseTime = "127.0.0.1:80", 502, 1234*time.Millisecond
	got := string(cv.EvalLog(s, nil, LogEscapeDefault))
	// $request_time is at least 1.500; it cannot be asserted exactly.
	if len(got) < 5 || got[:4] != "1.50" && got[:4] != "1.51" {
		t.Errorf("request_time in %q", got)
	}
	if diff := cmp.Diff("502 1.234", got[6:]); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func BenchmarkEvalLog(b *testing.B) {
	c := NewCompiler()
	cv := mustComplex(b, c, `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" "$http_x_t"`)
	if err := c.Finish(); err != nil {
		b.Fatal(err)
	}
	s := testState(testReq("GET", "/a?b=1", "/a", "User-Agent", "curl/8", "X-T", "a\"b"))
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = cv.EvalLog(s, buf[:0], LogEscapeDefault)
	}
}

// TestUpstreamTries: several servers tried are joined with ", " (as nginx
// 1.22 logged "127.0.0.1:1, 127.0.0.1:8081" "502, 200" for a refused
// connect then an answer).
func TestUpstreamTries(t *testing.T) {
	c := NewCompiler()
	cv := mustComplex(t, c, `"$upstream_addr" "$upstream_status" "$upstream_response_time"`)
	if err := c.Finish(); err != nil {
		t.Fatal(err)
	}
	s := testState(testReq("GET", "/", "/"))
	tests := []struct {
		tries []UpstreamTry
		want  string
	}{
		{nil, `"-" "-" "-"`},
		{[]UpstreamTry{{Addr: "127.0.0.1:8081", Status: 200, Time: 12 * time.Millisecond}}, `"127.0.0.1:8081" "200" "0.012"`},
		{[]UpstreamTry{{Addr: "127.0.0.1:1", Status: 502}, {Addr: "127.0.0.1:8081", Status: 200, Time: 1001 * time.Millisecond}}, `"127.0.0.1:1, 127.0.0.1:8081" "502, 200" "0.000, 1.001"`},
	}
	for _, tt := range tests {
		s.Reset(s.Req)
		for _, try := range tt.tries {
			s.AddUpstreamTry(try.Addr, try.Status, try.Time)
		}
		if diff := cmp.Diff(tt.want, string(cv.EvalLog(s, nil, LogEscapeDefault))); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	}
}
