package rewrite

import (
	"regexp"
	"strings"
	"testing"

	"github.com/gonginx/gonginx/nginxconf"
)

func FuzzComplex(f *testing.F) {
	for _, s := range []string{"http://127.0.0.1:32000/$2/$3", "${a}b$1$", "$", "${", "${x", "a?b$args?c", "$arg_Foo$http_x_y$cookie_z", "$1$2$3$4$5$6$7$8$9$0"} {
		f.Add(s, "/a%20b?x=1")
	}
	f.Fuzz(func(t *testing.T, value, target string) {
		c := NewCompiler()
		cv, err := c.Complex(value)
		if err != nil {
			return
		}
		_ = c.Finish()
		rx, err := c.Regex(`^(.)(.*)$`, false)
		if err != nil {
			t.Fatal(err)
		}
		s := testState(testReq("GET", target, target))
		rx.Match(s, s.Req.URI)
		cv.Eval(s, nil)
		cv.EvalQuoted(s, nil)
		// The rewrite-replacement parse must also hold up.
		if rc, err := c.parse(value, true); err == nil {
			rc.eval(s, nil, false)
		}
		p, err := c.Program([]*nginxconf.Directive{dir(1, "rewrite", "^(.*)$", value+"x"), dir(2, "return", "200", value)})
		if err == nil {
			p.Run(s)
		}
	})
}

func FuzzRegex(f *testing.F) {
	for _, s := range []string{`^/(api)/(socket)/(.*)$`, `(?<n>a)\1`, `(?<=a)b`, `[z-a]`, `a**`, `(?i)x`, `\Z`, `((a)|b)+`, `(?>a+)`, `a{2,}?`} {
		f.Add(s, "/api/socket/a", false)
	}
	f.Fuzz(func(t *testing.T, pattern, subject string, caseless bool) {
		c := NewCompiler()
		rx, err := c.Regex(pattern, caseless)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		s := testState(testReq("GET", "/", "/"))
		ok := rx.Match(s, []byte(subject))
		if rx.Fallback() || rx.dollar && strings.HasSuffix(subject, "\n") {
			return // regexp2's answer (PCRE's "$" for the second)
		}
		// The allocation-free matcher must agree with Go's regexp.
		p := pattern
		if caseless {
			p = "(?i)" + p
		}
		want := regexp.MustCompile(p).FindSubmatchIndex([]byte(subject))
		if ok != (want != nil) {
			t.Fatalf("match %v, regexp %v", ok, want)
		}
		if ok {
			for i := range want {
				if want[i] != s.Captures[i] {
					t.Fatalf("captures %v, regexp %v", s.Captures, want)
				}
			}
		}
	})
}
