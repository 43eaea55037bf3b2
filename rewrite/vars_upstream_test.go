package rewrite

import (
	"testing"
	"time"

	"github.com/gonginx/gonginx/rewrite/http1"
	"github.com/google/go-cmp/cmp"
)

func TestUpstreamHeaderVariables(t *testing.T) {
	head := []http1.Header{
		{Name: []byte("X-Mixed-CASE"), Value: []byte("one")},
		{Name: []byte("x-dup"), Value: []byte("first")},
		{Name: []byte("X-Dup"), Value: []byte("second")},
		{Name: []byte("Set-Cookie"), Value: []byte("tc=")},
		{Name: []byte("Set-Cookie"), Value: []byte("a = 1 ; Path=/")},
		{Name: []byte("set-cookie"), Value: []byte("b=2;c=3")},
		{Name: []byte("Set-Cookie"), Value: []byte("d")},
	}
	tests := []struct {
		name, value string
		head        []http1.Header
		want        string
	}{
		{"no upstream", "[$upstream_http_x_dup][$upstream_cookie_a]", nil, "[][]"},
		{"header by name", "$upstream_http_x_mixed_case", head, "one"},
		{"first of several", "$upstream_http_x_dup", head, "first"},
		{"dash is not underscore in the variable", "[$upstream_http_x-dup]", head, "[-dup]"},
		{"missing", "[$upstream_http_nope]", head, "[]"},
		{"cookie with spaces", "[$upstream_cookie_a]", head, "[1 ]"},
		{"cookie first of a line", "$upstream_cookie_b", head, "2"},
		{"cookie later in a line is not seen", "[$upstream_cookie_c]", head, "[]"},
		{"empty cookie", "[$upstream_cookie_tc]", head, "[]"},
		{"no '='", "[$upstream_cookie_d]", head, "[]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewCompiler()
			cv := mustComplex(t, c, tt.value)
			if err := c.Finish(); err != nil {
				t.Fatal(err)
			}
			s := testState(testReq("GET", "/", "/"))
			if tt.head != nil {
				s.SetUpstreamHeaders(tt.head)
			}
			if diff := cmp.Diff(tt.want, string(cv.Eval(s, nil))); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// The head is copied (the proxy's buffer is reused for the body) into
// memory the State keeps: no allocation per request once grown.
func TestSetUpstreamHeadersCopiesWithoutAllocating(t *testing.T) {
	name, value := []byte("X-A"), []byte("v")
	head := []http1.Header{{Name: name, Value: value}}
	s := testState(testReq("GET", "/", "/"))
	s.SetUpstreamHeaders(head)
	value[0] = 'w'
	if got := string(upstreamHeaderVar(s, "x_a", nil)); got != "v" {
		t.Errorf("after the buffer changed: %q, want %q", got, "v")
	}
	if n := testing.AllocsPerRun(100, func() { s.Reset(s.Req); s.SetUpstreamHeaders(head) }); n != 0 {
		t.Errorf("%v allocs per request, want 0", n)
	}
}

// The try under way is seen by the header filters with no response time
// ("-") and is replaced, not repeated, when it ends.
func TestBeginUpstream(t *testing.T) {
	c := NewCompiler()
	cv := mustComplex(t, c, "[$upstream_addr] [$upstream_response_time] [$upstream_status]")
	if err := c.Finish(); err != nil {
		t.Fatal(err)
	}
	s := testState(testReq("GET", "/", "/"))
	eval := func() string { return string(cv.Eval(s, nil)) }
	s.AddUpstreamTry("a:1", 502, 1500*time.Millisecond)
	s.BeginUpstream(UpstreamTry{Addr: "b:2", Status: 200, Time: -1})
	got := []string{eval()}
	s.BeginUpstream(UpstreamTry{Addr: "b:2", Status: 200, Time: 2 * time.Second})
	got = append(got, eval())
	s.AddUpstream(UpstreamTry{Addr: "b:2", Status: 200, Time: 2 * time.Second})
	got = append(got, eval())
	s.Reset(s.Req)
	s.BeginUpstream(UpstreamTry{Addr: "c:3", Status: 204, Time: -1})
	got = append(got, eval())
	want := []string{
		"[a:1, b:2] [1.500, -] [502, 200]",
		"[a:1, b:2] [1.500, 2.000] [502, 200]",
		"[a:1, b:2] [1.500, 2.000] [502, 200]",
		"[c:3] [-] [204]",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// Under UpstreamUnread (no variable of the configuration reads the head)
// only the headers the modules read by name are copied, unless an
// X-Accel-Redirect asks for the head to be kept.
func TestSetUpstreamHeadersUnread(t *testing.T) {
	h := func(name, value string) http1.Header {
		return http1.Header{Name: []byte(name), Value: []byte(value)}
	}
	type nv struct{ Name, Value string }
	tests := []struct {
		name string
		head []http1.Header
		want []nv
	}{
		{"none read", []http1.Header{h("Server", "s"), h("Content-Type", "text/html"), h("X-Accel-Rate", "1")}, nil},
		{"x-accel and www-authenticate", []http1.Header{
			h("Server", "s"), h("X-Accel-Charset", "koi8-r"), h("x-accel-buffering", "no"),
			h("X-Accel-Limit-Rate", "10"), h("WWW-Authenticate", "Basic"), h("X-Accel-Expires", "5"), h("Date", "d"),
		}, []nv{
			{"X-Accel-Charset", "koi8-r"}, {"x-accel-buffering", "no"}, {"X-Accel-Limit-Rate", "10"},
			{"WWW-Authenticate", "Basic"}, {"X-Accel-Expires", "5"},
		}},
		{"x-accel-redirect keeps all", []http1.Header{h("Server", "s"), h("X-ACCEL-REDIRECT", "/r"), h("Set-Cookie", "a=1")},
			[]nv{{"Server", "s"}, {"X-ACCEL-REDIRECT", "/r"}, {"Set-Cookie", "a=1"}}},
	}
	for _, tt := range tests {
		s := testState(testReq("GET", "/", "/"))
		s.UpstreamUnread = true
		// A longer head first: its copies must not show through.
		s.SetUpstreamHeaders([]http1.Header{h("X-Accel-Redirect", "/old"), h("A", "1"), h("B", "2"), h("C", "3")})
		s.Reset(s.Req)
		s.SetUpstreamHeaders(tt.head)
		var got []nv
		for _, x := range s.UpstreamHeaders() {
			got = append(got, nv{string(x.Name), string(x.Value)})
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s: (-want +got):\n%s", tt.name, diff)
		}
		if !s.upstream.set {
			t.Errorf("%s: the head is not marked as received", tt.name)
		}
		if !s.UpstreamUnread {
			t.Errorf("%s: Reset cleared UpstreamUnread", tt.name)
		}
	}
}
