package rewrite

import (
	"testing"

	"github.com/gonginx/gonginx/nginxconf"
)

// The article's location: rewrite ^/(api)/(socket)/(.*)$ /$2/$3 break;
// proxy_pass http://127.0.0.1:32000/$2/$3;

func BenchmarkComplexEvalProxyPass(b *testing.B) {
	c := NewCompiler()
	rx, _ := c.Regex(`^/(api)/(socket)/(.*)$`, false)
	cv := mustComplex(b, c, "http://127.0.0.1:32000/$2/$3")
	s := testState(testReq("GET", "/api/socket/test", "/api/socket/test"))
	rx.Match(s, s.Req.URI)
	var dst []byte
	b.ReportAllocs()
	for b.Loop() {
		dst = cv.Eval(s, dst[:0])
	}
	if string(dst) != "http://127.0.0.1:32000/socket/test" {
		b.Fatal(string(dst))
	}
}

func BenchmarkProgramRunArticleRewrite(b *testing.B) {
	c := NewCompiler()
	p, err := c.Program([]*nginxconf.Directive{dir(1, "rewrite", "^/(api)/(socket)/(.*)$", "/$2/$3", "break")})
	if err != nil {
		b.Fatal(err)
	}
	if err := c.Finish(); err != nil {
		b.Fatal(err)
	}
	r := testReq("GET", "/api/socket/test?x=1", "/api/socket/test")
	uri, args := r.URI, r.Args
	s := testState(r)
	b.ReportAllocs()
	for b.Loop() {
		s.Reset(r)
		r.URI, r.Args = uri, args
		if a := p.Run(s); a.Kind != Break {
			b.Fatal(a.Kind)
		}
	}
	if string(r.URI) != "/socket/test" {
		b.Fatal(string(r.URI))
	}
}

func BenchmarkVariableLookup(b *testing.B) {
	c := NewCompiler()
	cv := mustComplex(b, c, "$host|$http_upgrade|$arg_id|$cookie_sid|$proxy_add_x_forwarded_for|$request_uri")
	if err := c.Finish(); err != nil {
		b.Fatal(err)
	}
	s := testState(testReq("GET", "/x?a=1&id=42", "/x", "Host", "www.my-api.com", "Upgrade", "websocket",
		"Connection", "upgrade", "Cookie", "a=1; sid=abc", "X-Forwarded-For", "10.0.0.1"))
	var dst []byte
	b.ReportAllocs()
	for b.Loop() {
		dst = cv.Eval(s, dst[:0])
	}
}

func BenchmarkMapEval(b *testing.B) {
	c := NewCompiler()
	m := block(dir(1, "map", "$http_upgrade", "$connection_upgrade"), dir(2, "default", "upgrade"), dir(3, "", "close"))
	if err := c.Map(m); err != nil {
		b.Fatal(err)
	}
	cv := mustComplex(b, c, "$connection_upgrade")
	r := testReq("GET", "/x", "/x", "Upgrade", "websocket")
	s := testState(r)
	var dst []byte
	b.ReportAllocs()
	for b.Loop() {
		s.Reset(r)
		dst = cv.Eval(s, dst[:0])
	}
}
