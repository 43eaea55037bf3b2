package rewrite

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// dumpVars is the text of a "return 200" that was run under nginx 1.22.1
// (Debian) for the requests below; the want strings are nginx's answers.
const dumpVars = "uri=$uri|args=$args|qs=$query_string|is_args=$is_args|ru=$request_uri|m=$request_method|scheme=$scheme|https=$https|host=$host|hh=$http_host|ua=$http_user_agent|xf=$http_x_foo|xff=$http_x_forwarded_for|cookie=$http_cookie|ca=$cookie_a|cb=$cookie_B|arga=$arg_a|argb=$arg_B|ra=$remote_addr|sa=$server_addr|sp=$server_port|sn=$server_name|proto=$server_protocol|cl=$content_length|ct=$content_type|dr=$document_root|pxff=$proxy_add_x_forwarded_for|status=$status|ver=$nginx_version|U=$URI|dx=$http_x_foo_bar"

func TestVariablesAgainstNginx(t *testing.T) {
	c := NewCompiler()
	cv := mustComplex(t, c, dumpVars)
	if err := c.Finish(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		req  func() *State
		want string // from nginx
	}{
		{
			name: "headers repeated, cookies, args",
			// curl -H 'X-Foo: one' -H 'X-Foo: two' -H 'X-Forwarded-For: 1.1.1.1' -H 'X-Forwarded-For: 2.2.2.2'
			//   -H 'Cookie: A=c1; b=c2' -H 'Cookie: a=c3' -H 'X-Foo-Bar: dash' -H 'Host: WWW.Example.COM:18431' ...
			req: func() *State {
				r := testReq("GET", "/v/c?a=1&A=2&b=x%20y&B=3", "/v/c",
					"Host", "WWW.Example.COM:18431", "User-Agent", "UA", "Accept", "*/*",
					"X-Foo", "one", "X-Foo", "two", "X-Forwarded-For", "1.1.1.1", "X-Forwarded-For", "2.2.2.2",
					"Cookie", "A=c1; b=c2", "Cookie", "a=c3", "X-Foo-Bar", "dash", "Content-Type", "text/x")
				s := testState(r)
				s.Status = 200
				return s
			},
			want: "uri=/v/c|args=a=1&A=2&b=x%20y&B=3|qs=a=1&A=2&b=x%20y&B=3|is_args=?|ru=/v/c?a=1&A=2&b=x%20y&B=3|m=GET|scheme=http|https=|host=www.example.com|hh=WWW.Example.COM:18431|ua=UA|xf=one|xff=1.1.1.1, 2.2.2.2|cookie=A=c1; b=c2; a=c3|ca=c1|cb=c2|arga=1|argb=x%20y|ra=127.0.0.1|sa=127.0.0.1|sp=18431|sn=www.example.com|proto=HTTP/1.1|cl=|ct=text/x|dr=/tmp/hc/rt/html|pxff=1.1.1.1, 2.2.2.2, 127.0.0.1|status=200|ver=1.22.1|U=/v/c|dx=dash",
		},
		{
			name: "empty query after ?",
			req: func() *State {
				r := testReq("GET", "/v?", "/v", "Host", "127.0.0.1:18431", "User-Agent", "curl/7.88.1", "Accept", "*/*")
				r.Args = []byte{}
				s := testState(r)
				s.Status = 200
				return s
			},
			want: "uri=/v|args=|qs=|is_args=|ru=/v?|m=GET|scheme=http|https=|host=127.0.0.1|hh=127.0.0.1:18431|ua=curl/7.88.1|xf=|xff=|cookie=|ca=|cb=|arga=|argb=|ra=127.0.0.1|sa=127.0.0.1|sp=18431|sn=www.example.com|proto=HTTP/1.1|cl=|ct=|dr=/tmp/hc/rt/html|pxff=127.0.0.1|status=200|ver=1.22.1|U=/v|dx=",
		},
		{
			name: "HTTP/1.0 without Host: $host is server_name",
			req: func() *State {
				r := testReq("GET", "/v", "/v")
				r.Proto = []byte("HTTP/1.0")
				s := testState(r)
				s.Status = 200
				return s
			},
			want: "uri=/v|args=|qs=|is_args=|ru=/v|m=GET|scheme=http|https=|host=www.example.com|hh=|ua=|xf=|xff=|cookie=|ca=|cb=|arga=|argb=|ra=127.0.0.1|sa=127.0.0.1|sp=18431|sn=www.example.com|proto=HTTP/1.0|cl=|ct=|dr=/tmp/hc/rt/html|pxff=127.0.0.1|status=200|ver=1.22.1|U=/v|dx=",
		},
		{
			name: "absolute URI in request line wins over Host",
			// GET http://Abs.Example.com:99/v?x HTTP/1.1 / Host: h
			req: func() *State {
				r := testReq("GET", "http://Abs.Example.com:99/v?x", "/v", "Host", "h")
				r.Host = []byte("abs.example.com")
				r.RawURI = []byte("/v?x") // nginx's $request_uri is the path part
				s := testState(r)
				s.Status = 200
				return s
			},
			want: "uri=/v|args=x|qs=x|is_args=?|ru=/v?x|m=GET|scheme=http|https=|host=abs.example.com|hh=h|ua=|xf=|xff=|cookie=|ca=|cb=|arga=|argb=|ra=127.0.0.1|sa=127.0.0.1|sp=18431|sn=www.example.com|proto=HTTP/1.1|cl=|ct=|dr=/tmp/hc/rt/html|pxff=127.0.0.1|status=200|ver=1.22.1|U=/v|dx=",
		},
		{
			name: "HTTP/0.9: empty protocol",
			req: func() *State {
				r := testReq("GET", "/v", "/v")
				r.Proto = nil
				s := testState(r)
				s.Status = 200
				return s
			},
			want: "uri=/v|args=|qs=|is_args=|ru=/v|m=GET|scheme=http|https=|host=www.example.com|hh=|ua=|xf=|xff=|cookie=|ca=|cb=|arga=|argb=|ra=127.0.0.1|sa=127.0.0.1|sp=18431|sn=www.example.com|proto=|cl=|ct=|dr=/tmp/hc/rt/html|pxff=127.0.0.1|status=200|ver=1.22.1|U=/v|dx=",
		},
		{
			name: "repeated and prefixed argument names",
			req: func() *State {
				r := testReq("GET", "/v?a=1&a=2&aa=3&=4&xa=5", "/v")
				r.Proto = []byte("HTTP/1.0")
				s := testState(r)
				s.Status = 200
				return s
			},
			want: "uri=/v|args=a=1&a=2&aa=3&=4&xa=5|qs=a=1&a=2&aa=3&=4&xa=5|is_args=?|ru=/v?a=1&a=2&aa=3&=4&xa=5|m=GET|scheme=http|https=|host=www.example.com|hh=|ua=|xf=|xff=|cookie=|ca=|cb=|arga=1|argb=|ra=127.0.0.1|sa=127.0.0.1|sp=18431|sn=www.example.com|proto=HTTP/1.0|cl=|ct=|dr=/tmp/hc/rt/html|pxff=127.0.0.1|status=200|ver=1.22.1|U=/v|dx=",
		},
		{
			name: "POST with body",
			req: func() *State {
				r := testReq("POST", "/v", "/v", "Host", "127.0.0.1:18431", "User-Agent", "curl/7.88.1", "Accept", "*/*",
					"Content-Length", "3", "Content-Type", "application/x-www-form-urlencoded")
				s := testState(r)
				s.Status = 200
				return s
			},
			want: "uri=/v|args=|qs=|is_args=|ru=/v|m=POST|scheme=http|https=|host=127.0.0.1|hh=127.0.0.1:18431|ua=curl/7.88.1|xf=|xff=|cookie=|ca=|cb=|arga=|argb=|ra=127.0.0.1|sa=127.0.0.1|sp=18431|sn=www.example.com|proto=HTTP/1.1|cl=3|ct=application/x-www-form-urlencoded|dr=/tmp/hc/rt/html|pxff=127.0.0.1|status=200|ver=1.22.1|U=/v|dx=",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(cv.Eval(tt.req(), nil))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-nginx +gonginx):\n%s", diff)
			}
		})
	}
}

func TestMoreVariables(t *testing.T) {
	c := NewCompiler()
	c.AddVariable("request_filename", func(s *State, dst []byte) []byte { return append(dst, "/override"...) })
	c.AddPrefixVariable("upstream_http_", func(s *State, name string, dst []byte) []byte { return append(dst, "up:"+name...) })
	cv := mustComplex(t, c, "$https|$scheme|$request_id|$status|$binary_remote_addr|$request_filename|$upstream_http_X_Y|$sent_http_foo|$proxy_host:$proxy_port|$upstream_addr|${uri}x")
	if err := c.Finish(); err != nil {
		t.Fatal(err)
	}
	r := testReq("GET", "/a", "/a")
	r.Conn.TLS = true
	r.Conn.RemoteAddr = "10.0.0.1"
	s := testState(r)
	s.RequestID = [16]byte{0xde, 0xad, 0xbe, 0xef, 15: 1}
	s.ProxyHost, s.ProxyPort, s.UpstreamAddr = "127.0.0.1:32000", "32000", "127.0.0.1:32000"
	got := string(cv.Eval(s, nil))
	want := "on|https|deadbeef000000000000000000000001|000|\x0a\x00\x00\x01|/override|up:x_y||127.0.0.1:32000:32000|127.0.0.1:32000|/ax"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Error(diff)
	}
}

func TestUnknownVariable(t *testing.T) {
	// nginx -t: `[emerg] unknown "foo" variable` (no file:line); names
	// are case-insensitive ($URI is $uri) and $0 is a variable called "0".
	tests := []struct{ value, want string }{
		{"$foo", `unknown "foo" variable`},
		{"$URI$Http_X_Y", ``},
		{"$0", `unknown "0" variable`},
		{"$1x$10", ``},
		{"$a$b", `unknown "a" variable`},
		{"$FOO", `unknown "foo" variable`},
	}
	for _, tt := range tests {
		c := NewCompiler()
		if _, err := c.Complex(tt.value); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.want, errString(c.Finish())); diff != "" {
			t.Errorf("%q: %s", tt.value, diff)
		}
	}
}

// TestReadsSent: only a name the configuration uses counts, not the
// built-in $sent_http_* the table defines.
func TestReadsSent(t *testing.T) {
	tests := []struct {
		values []string
		want   bool
	}{
		{nil, false},
		{[]string{"$http_x $sent_trailer_x $upstream_http_x"}, false},
		{[]string{"a", "${sent_http_x_a}b"}, true},
		{[]string{"$SENT_HTTP_CONTENT_TYPE"}, true},
	}
	for _, tt := range tests {
		c := NewCompiler()
		for _, v := range tt.values {
			if _, err := c.Complex(v); err != nil {
				t.Fatal(err)
			}
		}
		if got := c.ReadsSent(); got != tt.want {
			t.Errorf("%q: ReadsSent = %v, want %v", tt.values, got, tt.want)
		}
	}
}

func TestReadsUpstream(t *testing.T) {
	tests := []struct {
		values []string
		want   bool
	}{
		{nil, false},
		{[]string{"$http_x $sent_http_x $upstream_trailer_x $upstream_status $upstream_addr"}, false},
		{[]string{"a", "${upstream_http_x_a}b"}, true},
		{[]string{"$UPSTREAM_HTTP_SERVER"}, true},
		{[]string{"$upstream_cookie_a"}, true},
	}
	for _, tt := range tests {
		c := NewCompiler()
		for _, v := range tt.values {
			if _, err := c.Complex(v); err != nil {
				t.Fatal(err)
			}
		}
		if got := c.ReadsUpstream(); got != tt.want {
			t.Errorf("%q: ReadsUpstream = %v, want %v", tt.values, got, tt.want)
		}
	}
}
