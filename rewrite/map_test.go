package rewrite

import (
	"strings"
	"testing"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/google/go-cmp/cmp"
)

func entry(line int, key string, args ...string) *nginxconf.Directive { return dir(line, key, args...) }

// TestMapAgainstNginx: these maps were loaded in nginx 1.22.1 and printed
// by "return 200 y=$my|m=$m|h=$mh|r=$mr" for the requests below.
func TestMapAgainstNginx(t *testing.T) {
	c := NewCompiler()
	maps := []*nginxconf.Directive{
		block(dir(1, "map", "$uri", "$m"),
			entry(1, "default", "def"), entry(1, "/map/a", "A"),
			entry(1, "~^/map/(?<mx>b.*)$", "re-$mx-$1"), entry(1, "~*^/MAP/C", "ci")),
		block(dir(2, "map", "$http_host", "$mh"),
			entry(2, "hostnames"), entry(2, "default", "nohost"), entry(2, "*.example.com", "wild"),
			entry(2, "www.example.*", "tail"), entry(2, ".foo.com", "dotfoo"), entry(2, "exact.com", "exact")),
		block(dir(3, "map", "$arg_x", "$mr"),
			entry(3, "volatile"), entry(3, "default", "d$uri"), entry(3, "1", "one"), entry(3, "", "empty")),
		block(dir(4, "map", "$arg_y", "$my"),
			entry(4, "Abc", "upper"), entry(4, "~^B(?<yy>.)$", "r$yy"), entry(4, "~*^c", "cc"), entry(4, "default", "[$arg_y]")),
	}
	for _, m := range maps {
		if err := c.Map(m); err != nil {
			t.Fatal(err)
		}
	}
	cv := mustComplex(t, c, "y=$my|m=$m|h=$mh|r=$mr")
	if err := c.Finish(); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ target, host, want string }{
		{"/map/a", "", "y=[]|m=A|h=nohost|r=empty"},
		{"/map/bcd", "", "y=[]|m=re-bcd-bcd|h=nohost|r=empty"},
		{"/map/C", "", "y=[]|m=ci|h=nohost|r=empty"},
		{"/map/zz?x=1", "", "y=[]|m=def|h=nohost|r=one"},
		{"/map/zz?x=2", "", "y=[]|m=def|h=nohost|r=d/map/zz"},
		{"/map/q?x=", "", "y=[]|m=def|h=nohost|r=empty"},
		{"/map/?y=abc", "", "y=upper|m=def|h=nohost|r=empty"},
		{"/map/?y=ABC", "", "y=upper|m=def|h=nohost|r=empty"},
		{"/map/?y=Bq", "", "y=rq|m=def|h=nohost|r=empty"},
		{"/map/?y=bq", "", "y=[bq]|m=def|h=nohost|r=empty"},
		{"/map/?y=Cx", "", "y=cc|m=def|h=nohost|r=empty"},
		{"/map/", "a.example.com", "y=[]|m=def|h=wild|r=empty"},
		{"/map/", "A.Example.Com", "y=[]|m=def|h=wild|r=empty"},
		{"/map/", "www.example.org", "y=[]|m=def|h=tail|r=empty"},
		{"/map/", "www.example.org.", "y=[]|m=def|h=tail|r=empty"},
		{"/map/", "x.foo.com", "y=[]|m=def|h=dotfoo|r=empty"},
		{"/map/", "foo.com", "y=[]|m=def|h=dotfoo|r=empty"},
		{"/map/", "exact.com", "y=[]|m=def|h=exact|r=empty"},
		{"/map/", "EXACT.com:80", "y=[]|m=def|h=nohost|r=empty"},
		{"/map/", "other", "y=[]|m=def|h=nohost|r=empty"},
	}
	for _, tt := range tests {
		uri := tt.target
		if i := indexByte(uri, '?'); i >= 0 {
			uri = uri[:i]
		}
		var hdrs []string
		if tt.host != "" {
			hdrs = []string{"Host", tt.host}
		}
		s := testState(testReq("GET", tt.target, uri, hdrs...))
		if diff := cmp.Diff(tt.want, string(cv.Eval(s, nil))); diff != "" {
			t.Errorf("%s %s: %s", tt.target, tt.host, diff)
		}
	}
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

func TestMapCachedPerRequest(t *testing.T) {
	c := NewCompiler()
	if err := c.Map(block(dir(1, "map", "$uri", "$m"), entry(1, "default", "$uri"))); err != nil {
		t.Fatal(err)
	}
	p, err := c.Program([]*nginxconf.Directive{
		dir(2, "set", "$before", "$m"),
		dir(3, "rewrite", "^", "/new"),
		dir(4, "return", "200", "$before $m"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Finish(); err != nil {
		t.Fatal(err)
	}
	s := testState(testReq("GET", "/old", "/old"))
	// Not volatile: the value computed first sticks for the request.
	if diff := cmp.Diff("/old /old", string(p.Run(s).Text)); diff != "" {
		t.Error(diff)
	}
}

// TestMapErrors: messages as nginx -t printed them.
func TestMapErrors(t *testing.T) {
	tests := []struct {
		name string
		d    *nginxconf.Directive
		want string
	}{
		{"two defaults", block(dir(1, "map", "$uri", "$m"), entry(2, "default", "a"), entry(3, "default", "b")), "duplicate default map parameter in " + testFile + ":3"},
		{"name", block(dir(1, "map", "$uri", "m")), `invalid variable name "m" in ` + testFile + ":1"},
		{"builtin", block(dir(1, "map", "$uri", "$host")), `the duplicate "host" variable in ` + testFile + ":1"},
		{"three", block(dir(1, "map", "$uri", "$m"), entry(2, "a", "b", "c")), "invalid number of the map parameters in " + testFile + ":2"},
		{"dup key", block(dir(1, "map", "$uri", "$m"), entry(2, "a", "b"), entry(3, "A", "c")), `conflicting parameter "a" in ` + testFile + ":3"},
		{"same twice", block(dir(1, "map", "$uri", "$m"), entry(2, "a", "b"), entry(3, "a", "b")), `conflicting parameter "a" in ` + testFile + ":3"},
		{"two stars", block(dir(1, "map", "$uri", "$m"), entry(2, "hostnames"), entry(3, "*.a.*", "b")), `invalid hostname or wildcard "*.a.*" in ` + testFile + ":3"},
		{"bad regex", block(dir(1, "map", "$uri", "$m"), entry(2, "~(", "b")), `pcre2_compile() failed: missing closing parenthesis in "(" in ` + testFile + ":2"},
	}
	for _, tt := range tests {
		c := NewCompiler()
		if diff := cmp.Diff(tt.want, errString(c.Map(tt.d))); diff != "" {
			t.Errorf("%s: %s", tt.name, diff)
		}
	}
}

// alertRecorder is a TryLogger that keeps the regex alerts it is given.
type alertRecorder struct{ alerts []string }

func (a *alertRecorder) LogTryError(error)         {}
func (a *alertRecorder) LogRegexFailed(msg string) { a.alerts = append(a.alerts, msg) }

// TestMapRegexMatchLimit: a map regex that hits the match limit ends the
// search with the default (ngx_http_map_find) and the alert is logged
// (ngx_http_regex_exec), while the request goes on.
func TestMapRegexMatchLimit(t *testing.T) {
	c := NewCompiler()
	m := block(dir(1, "map", "$uri", "$m"), entry(1, "~^/m/(?=a)(a+)+$", "matched"), entry(1, "~^/m/", "second"),
		entry(1, "default", "def"))
	if err := c.Map(m); err != nil {
		t.Fatal(err)
	}
	cv := mustComplex(t, c, "m=$m")
	if err := c.Finish(); err != nil {
		t.Fatal(err)
	}
	bomb := "/m/" + strings.Repeat("a", 40) + "b"
	for _, tt := range []struct{ uri, want, alert string }{
		{bomb, "m=def", `pcre2_match() failed: -47 on "` + bomb + `" using "^/m/(?=a)(a+)+$"`},
		{"/m/aa", "m=matched", ""},
		{"/m/b", "m=second", ""},
	} {
		s := testState(testReq("GET", tt.uri, tt.uri))
		rec := &alertRecorder{}
		s.TryLog = rec
		if got := string(cv.Eval(s, nil)); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.uri, got, tt.want)
		}
		want := []string(nil)
		if tt.alert != "" {
			want = []string{tt.alert}
		}
		if diff := cmp.Diff(want, rec.alerts); diff != "" {
			t.Errorf("%s: alerts: %s", tt.uri, diff)
		}
		if s.RegexFailed != "" {
			t.Errorf("%s: RegexFailed left set: %q", tt.uri, s.RegexFailed)
		}
	}
}
