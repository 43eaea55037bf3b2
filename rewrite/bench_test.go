package rewrite

import (
	"testing"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite/http1"
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

// BenchmarkFastCGISplitParams: the values Debian's snippets/fastcgi-php.conf
// and fastcgi.conf make of $fastcgi_script_name and $fastcgi_path_info
// under fastcgi_split_path_info, one request's worth per iteration.
func BenchmarkFastCGISplitParams(b *testing.B) {
	c := NewCompiler()
	rx, err := c.Regex(`^(.+?\.php)(/.*)$`, false)
	if err != nil {
		b.Fatal(err)
	}
	values := []*Complex{mustComplex(b, c, "$fastcgi_script_name"), mustComplex(b, c, "$fastcgi_path_info"),
		mustComplex(b, c, "/var/www$fastcgi_script_name"), mustComplex(b, c, "$fastcgi_script_name")}
	// Requests for two URIs in turn: each is split anew, as a request
	// for a URI other than the last one's is.
	s := testState(testReq("GET", "/app/index.php/user/42", "/app/index.php/user/42"))
	reqs := [2]*http1.Request{testReq("GET", "/app/index.php/user/43", "/app/index.php/user/43"), s.Req}
	s.FastCGI = &FastCGISplit{Regex: rx, Index: "index.php"}
	var dst []byte
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		s.Req = reqs[i%2]
		dst = dst[:0]
		for _, cv := range values {
			dst = cv.Eval(s, dst)
		}
	}
	if want := "/app/index.php" + string(s.Req.URI[len("/app/index.php"):]) + "/var/www/app/index.php/app/index.php"; string(dst) != want {
		b.Fatal(string(dst))
	}
}
