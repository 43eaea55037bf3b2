package rewrite

import (
	"testing"
	"time"

	"github.com/gonginx/gonginx/rewrite/http1"
	"github.com/google/go-cmp/cmp"
)

// The $upstream_* variables as nginx 1.22 logs them (the last case
// recorded from nginx with a backend that sends no Server or Date).
func TestUpstreamTryVariables(t *testing.T) {
	c := NewCompiler()
	cv := mustComplex(t, c, `$upstream_connect_time|$upstream_header_time|$upstream_response_length|$upstream_bytes_received|$upstream_bytes_sent|`+
		`$upstream_http_x_a|$upstream_http_x_empty|$upstream_http_server|$upstream_http_date|$upstream_cookie_b|$upstream_cookie_B2|$upstream_trailer_x`)
	if err := c.Finish(); err != nil {
		t.Fatal(err)
	}
	s := testState(testReq("GET", "/", "/"))
	head := []http1.Header{{Name: []byte("X-A"), Value: []byte("one")}, {Name: []byte("X-Empty"), Value: []byte("")},
		{Name: []byte("Set-Cookie"), Value: []byte("a=1")}, {Name: []byte("Set-Cookie"), Value: []byte("B = two ; path=/")},
		{Name: []byte("X-A"), Value: []byte("second")}}
	tests := []struct {
		name  string
		head  []http1.Header
		tries []UpstreamTry
		want  string
	}{
		{"no upstream", nil, nil, "-|-|-|-|-|-|-|-|-|-|-|-"},
		{"one try", head, []UpstreamTry{{Addr: "a", Status: 200, Time: time.Second, ConnectTime: time.Millisecond,
			HeaderTime: 2 * time.Millisecond, ResponseLength: 23, BytesReceived: 68, BytesSent: 45}},
			"0.001|0.002|23|68|45|one||||two |-|-"},
		{"a failed connect first", head, []UpstreamTry{{Addr: "a", Status: 502, ConnectTime: -1, HeaderTime: -1},
			{Addr: "b", Status: 200, ConnectTime: 0, HeaderTime: 1500 * time.Millisecond, ResponseLength: 2, BytesReceived: 40, BytesSent: 60}},
			"-, 0.000|-, 1.500|0, 2|0, 40|0, 60|one||||two |-|-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.Reset(s.Req)
			for _, try := range tt.tries {
				s.AddUpstream(try)
			}
			if tt.head != nil {
				s.SetUpstreamHeaders(tt.head)
			}
			if diff := cmp.Diff(tt.want, string(cv.EvalLog(s, nil, LogEscapeDefault))); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// A second pass through the proxy (after an internal redirect) is set
// off with " : ", as nginx's upstream variables print an empty state.
func TestUpstreamPasses(t *testing.T) {
	c := NewCompiler()
	cv := mustComplex(t, c, `$upstream_addr|$upstream_status|$upstream_bytes_sent`)
	if err := c.Finish(); err != nil {
		t.Fatal(err)
	}
	s := testState(testReq("GET", "/", "/"))
	s.StartUpstreamPass()
	s.AddUpstream(UpstreamTry{Addr: "a", Status: 500, BytesSent: 10})
	s.StartUpstreamPass()
	s.AddUpstreamTry("b", 502, 0)
	s.AddUpstream(UpstreamTry{Addr: "c", Status: 200, BytesSent: 20})
	if diff := cmp.Diff("a : b, c|500 : 502, 200|10 : 0, 20", string(cv.EvalLog(s, nil, LogEscapeDefault))); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
