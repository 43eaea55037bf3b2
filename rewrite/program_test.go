package rewrite

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/google/go-cmp/cmp"
)

// outcome is what a test observes after Program.Run: the action and the
// request as nginx's next phase would see it.
type outcome struct {
	Kind       string
	Code       int
	Text       string
	URI        string
	Args       string
	Cap1       string
	URIChanged bool
	IfBlock    int
}

func run(t *testing.T, c *Compiler, p *Program, s *State) outcome {
	t.Helper()
	a := p.Run(s)
	return outcome{
		Kind: a.Kind.String(), Code: a.Code, Text: string(a.Text),
		URI: string(s.Req.URI), Args: string(s.Req.Args), Cap1: string(s.Capture(1)),
		URIChanged: a.URIChanged, IfBlock: a.IfBlock,
	}
}

// TestRewriteAgainstNginx: each location was served by nginx 1.22.1 and
// requested with curl; want records what nginx did (the URI, args and $1
// were printed by the location the request landed in, the redirect
// targets read from Location).
func TestRewriteAgainstNginx(t *testing.T) {
	locs := map[string][]*nginxconf.Directive{
		"r":    {dir(1, "rewrite", "^/r/(.*)$", "/d/$1?x=$1", "last")},
		"r2":   {dir(2, "rewrite", "^/r2/(.*)$", "/d/$1", "last")},
		"r3":   {dir(3, "rewrite", "^/r3/(.*)$", "/d/$1?", "last")},
		"r4":   {dir(4, "rewrite", "^/r4/(.*)$", "/d/$1?y=1&$args", "last")},
		"red":  {dir(5, "rewrite", "^/red/(.*)$", "http://example.com/$1", "redirect")},
		"red2": {dir(6, "rewrite", "^/red2/(.*)$", "/x/$1?z=$1", "permanent")},
		"red3": {dir(7, "rewrite", "^/red3/(.*)$", "http://example.com/$1?")},
		"ret":  {dir(8, "return", "301", "/there$uri")},
		"ret2": {dir(9, "return", "404")},
		"ret3": {dir(10, "return", "404", "nf\n")},
		"nc": {
			dir(11, "rewrite", "^/nc/(?<first>[^/]*)/(?P<second>.*)$", "/d/$second"),
			dir(12, "return", "200", "first=$first|second=$second|1=$1|2=$2|uri=$uri"),
		},
		"brk":     {dir(13, "set", "$a", "1"), dir(14, "rewrite", "^", "/d/changed"), dir(15, "break"), dir(16, "return", "200", "notreached")},
		"nf":      {dir(17, "rewrite", "^/nf/(.*)", "/d/$1"), dir(18, "set", "$b", "2")},
		"cap1":    {block(dir(19, "if", `($uri`, "~", `^/cap1/(\w+))`)), dir(20, "return", "200", "1=$1")},
		"cap2":    {block(dir(21, "if", `($uri`, "~", `^/cap2/(\w+))`), dir(21, "return", "200", "in=$1"))},
		"cap3":    {dir(22, "rewrite", `^/cap3/(\w+)`, "/cap3/x"), dir(23, "return", "200", "1=$1|u=$uri")},
		"cap4":    {dir(24, "rewrite", `^/cap4/(\w+)`, "/cap4/x"), dir(25, "rewrite", "^/cap4/", "/cap4/y"), dir(26, "return", "200", "1=$1|u=$uri")},
		"capkeep": {block(dir(27, "if", `($uri`, "~", `^/capkeep/(\w+))`)), block(dir(28, "if", `($uri`, "~", `capkeep)`)), dir(29, "return", "200", "1=$1")},
		"set":     {dir(30, "set", "$args", "new=1"), dir(31, "return", "200", "args=$args|is=$is_args|ru=$request_uri")},
		"q2":      {dir(32, "rewrite", "^/q2/(.*)$", "/q2/$1"), dir(33, "set", "$a", "$1"), dir(34, "return", "200", "a=$a|1=$1")},
		"q3":      {dir(35, "rewrite", "^/q3/(.*)$", "/q3/$1"), dir(36, "set", "$args", "k=$1"), dir(37, "return", "200", "args=$args")},
		"uninit":  {dir(38, "return", "200", "[$never]")},
		"article": {dir(39, "rewrite", "^/(api)/(socket)/(.*)$", "/$2/$3", "break")},
	}
	c := NewCompiler()
	progs := map[string]*Program{}
	for name, b := range locs {
		p, err := c.Program(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		progs[name] = p
	}
	if _, err := c.Program([]*nginxconf.Directive{dir(40, "set", "$never", "x")}); err != nil {
		t.Fatal(err)
	}
	if err := c.Finish(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		loc, target, uri string
		want             outcome
	}{
		{"r", "/r/a%20b", "/r/a b", outcome{Kind: "Last", URI: "/d/a b", Args: "x=a%20b", Cap1: "a b", URIChanged: true}},
		{"r", "/r/a+b", "/r/a+b", outcome{Kind: "Last", URI: "/d/a+b", Args: "x=a%2Bb", Cap1: "a+b", URIChanged: true}},
		{"r", "/r/a%2Fb?q=1", "/r/a/b", outcome{Kind: "Last", URI: "/d/a/b", Args: "x=a/b&q=1", Cap1: "a/b", URIChanged: true}},
		{"r", "/r/plain?q=1", "/r/plain", outcome{Kind: "Last", URI: "/d/plain", Args: "x=plain&q=1", Cap1: "plain", URIChanged: true}},
		{"r", "/r/a%3Fb&c", "/r/a?b&c", outcome{Kind: "Last", URI: "/d/a?b&c", Args: "x=a%3Fb%26c", Cap1: "a?b&c", URIChanged: true}},
		{"r2", "/r2/a%20b?q=1", "/r2/a b", outcome{Kind: "Last", URI: "/d/a b", Args: "q=1", Cap1: "a b", URIChanged: true}},
		{"r3", "/r3/a?q=1", "/r3/a", outcome{Kind: "Last", URI: "/d/a", Args: "", Cap1: "a", URIChanged: true}},
		{"r4", "/r4/a%20b?q=1", "/r4/a b", outcome{Kind: "Last", URI: "/d/a b", Args: "y=1&q=1&q=1", Cap1: "a b", URIChanged: true}},
		{"r4", "/r4/a", "/r4/a", outcome{Kind: "Last", URI: "/d/a", Args: "y=1&", Cap1: "a", URIChanged: true}},
		{"red", "/red/a%20b", "/red/a b", outcome{Kind: "Redirect", Code: 302, Text: "http://example.com/a%20b", URI: "/red/a b", Cap1: "a b"}},
		{"red", "/red/a+b?q=1", "/red/a+b", outcome{Kind: "Redirect", Code: 302, Text: "http://example.com/a+b?q=1", URI: "/red/a+b", Args: "q=1", Cap1: "a+b"}},
		{"red", "/red/a%3Fb%2Fc%41%e4?q=%20", "/red/a?b/cA\xe4", outcome{Kind: "Redirect", Code: 302, Text: "http://example.com/a?b/cA%E4?q=%20", URI: "/red/a?b/cA\xe4", Args: "q=%20", Cap1: "a?b/cA\xe4"}},
		{"red", "/red/plain?q=1", "/red/plain", outcome{Kind: "Redirect", Code: 302, Text: "http://example.com/plain?q=1", URI: "/red/plain", Args: "q=1", Cap1: "plain"}},
		// nginx's header filter then made these absolute (http://127.0.0.1:18431/x/...).
		{"red2", "/red2/a%20b?q=1", "/red2/a b", outcome{Kind: "Redirect", Code: 301, Text: "/x/a%20b?z=a%20b&q=1", URI: "/red2/a b", Args: "q=1", Cap1: "a b"}},
		{"red2", "/red2/a?q=1", "/red2/a", outcome{Kind: "Redirect", Code: 301, Text: "/x/a?z=a&q=1", URI: "/red2/a", Args: "q=1", Cap1: "a"}},
		{"red3", "/red3/a%20b?q=1", "/red3/a b", outcome{Kind: "Redirect", Code: 302, Text: "http://example.com/a%20b", URI: "/red3/a b", Args: "q=1", Cap1: "a b"}},
		{"ret", "/ret/a%20b?q", "/ret/a b", outcome{Kind: "Return", Code: 301, Text: "/there/ret/a b", URI: "/ret/a b", Args: "q", IfBlock: 0}},
		{"ret2", "/ret2/", "/ret2/", outcome{Kind: "Return", Code: 404, URI: "/ret2/"}},
		{"ret3", "/ret3/", "/ret3/", outcome{Kind: "Return", Code: 404, Text: "nf\n", URI: "/ret3/"}},
		{"nc", "/nc/one/two%20x", "/nc/one/two x", outcome{Kind: "Return", Code: 200, Text: "first=one|second=two x|1=one|2=two x|uri=/d/two x", URI: "/d/two x", Cap1: "one", URIChanged: true}},
		{"nc", "/nc/one/two+x?k", "/nc/one/two+x", outcome{Kind: "Return", Code: 200, Text: "first=one|second=two+x|1=one|2=two+x|uri=/d/two+x", URI: "/d/two+x", Args: "k", Cap1: "one", URIChanged: true}},
		// nginx then served /d/changed from this location (404, file missing).
		{"brk", "/brk/", "/brk/", outcome{Kind: "Break", URI: "/d/changed", URIChanged: true}},
		{"nf", "/nf/a%20b?k=v", "/nf/a b", outcome{Kind: "Last", URI: "/d/a b", Args: "k=v", Cap1: "a b", URIChanged: true}},
		{"cap1", "/cap1/abc", "/cap1/abc", outcome{Kind: "Return", Code: 200, Text: "1=abc", URI: "/cap1/abc", Cap1: "abc"}},
		{"cap2", "/cap2/abc", "/cap2/abc", outcome{Kind: "Return", Code: 200, Text: "in=abc", URI: "/cap2/abc", Cap1: "abc"}},
		{"cap3", "/cap3/abc", "/cap3/abc", outcome{Kind: "Return", Code: 200, Text: "1=abc|u=/cap3/x", URI: "/cap3/x", Cap1: "abc", URIChanged: true}},
		{"cap4", "/cap4/abc", "/cap4/abc", outcome{Kind: "Return", Code: 200, Text: "1=|u=/cap4/y", URI: "/cap4/y", URIChanged: true}},
		{"capkeep", "/capkeep/abc", "/capkeep/abc", outcome{Kind: "Return", Code: 200, Text: "1=", URI: "/capkeep/abc"}},
		{"set", "/set/?a=b", "/set/", outcome{Kind: "Return", Code: 200, Text: "args=new=1|is=?|ru=/set/?a=b", URI: "/set/", Args: "new=1"}},
		{"q2", "/q2/a%20b", "/q2/a b", outcome{Kind: "Return", Code: 200, Text: "a=a b|1=a b", URI: "/q2/a b", Cap1: "a b", URIChanged: true}},
		{"q3", "/q3/a%20b", "/q3/a b", outcome{Kind: "Return", Code: 200, Text: "args=k=a b", URI: "/q3/a b", Args: "k=a b", Cap1: "a b", URIChanged: true}},
		{"uninit", "/uninit/", "/uninit/", outcome{Kind: "Return", Code: 200, Text: "[]", URI: "/uninit/"}},
		{"article", "/api/socket/test?x=1", "/api/socket/test", outcome{Kind: "Break", URI: "/socket/test", Args: "x=1", Cap1: "api", URIChanged: true}},
	}
	for _, tt := range tests {
		t.Run(tt.loc+" "+tt.target, func(t *testing.T) {
			s := testState(testReq("GET", tt.target, tt.uri))
			want := tt.want
			if want.IfBlock == 0 {
				want.IfBlock = -1
			}
			if tt.loc == "cap2" {
				want.IfBlock = 0
			}
			if tt.loc == "capkeep" {
				want.IfBlock = 1
			}
			if tt.loc == "cap1" {
				want.IfBlock = 0
			}
			got := run(t, c, progs[tt.loc], s)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-nginx +gonginx):\n%s", diff)
			}
		})
	}
}

// TestQuotedCaptureInSet: nginx's rewrite engine starts with quote on, so
// "set $a $1" before any rewrite escapes the capture when the URI had %XX
// or '+' (verified: location ~ ^/q/(.*)$ { set $a $1; return 200
// "a=$a|1=$1"; } answers "a=a%20b|1=a b" for /q/a%20b).
func TestQuotedCaptureInSet(t *testing.T) {
	c := NewCompiler()
	loc, err := c.Regex("^/q/(.*)$", false)
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.Program([]*nginxconf.Directive{dir(1, "set", "$a", "$1"), dir(2, "return", "200", "a=$a|1=$1")})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Finish(); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ target, uri, want string }{
		{"/q/a%20b", "/q/a b", "a=a%20b|1=a b"},
		{"/q/a+b", "/q/a+b", "a=a%2Bb|1=a+b"},
		{"/q/ab", "/q/ab", "a=ab|1=ab"},
	} {
		s := testState(testReq("GET", tt.target, tt.uri))
		if !loc.Match(s, s.Req.URI) {
			t.Fatal("location regex did not match")
		}
		if diff := cmp.Diff(tt.want, string(p.Run(s).Text)); diff != "" {
			t.Errorf("%s: %s", tt.target, diff)
		}
	}
}

// TestIfAgainstNginx: the /if/ location run under nginx with these requests.
func TestIfAgainstNginx(t *testing.T) {
	c := NewCompiler()
	b := []*nginxconf.Directive{
		dir(1, "set", "$a", ""),
		block(dir(2, "if", "($arg_q)"), dir(2, "set", "$a", "${a}q")),
		block(dir(3, "if", "($arg_q", "=", "0)"), dir(3, "set", "$a", "${a}zero")),
		block(dir(4, "if", "($arg_q", "!=", "abc)"), dir(4, "set", "$a", "${a}ne")),
		block(dir(5, "if", "($uri", "~*", "^/IF/(x)(y)?)"), dir(5, "set", "$a", "${a}re$1$2")),
		block(dir(6, "if", "($uri", "!~", "x)"), dir(6, "set", "$a", "${a}nx")),
		block(dir(7, "if", "(-f", "$request_filename)"), dir(7, "set", "$a", "${a}f")),
		block(dir(8, "if", "(-d", "$request_filename)"), dir(8, "set", "$a", "${a}d")),
		block(dir(9, "if", "(-e", "$request_filename)"), dir(9, "set", "$a", "${a}e")),
		block(dir(10, "if", "(!-e", "$request_filename)"), dir(10, "set", "$a", "${a}!e")),
		dir(11, "return", "200", "a=$a|1=$1|2=$2"),
	}
	p, err := c.Program(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Finish(); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "if", "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "if", "file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ target, uri, root, want string }{
		{"/if/", "/if/", "/nonexistent", "a=nenx!e|1=|2="},
		{"/if/?q=0", "/if/", "/nonexistent", "a=zeronenx!e|1=|2="},
		{"/if/?q=abc", "/if/", "/nonexistent", "a=qnx!e|1=|2="},
		{"/if/x?q=1", "/if/x", "/nonexistent", "a=qnerex!e|1=|2="},
		{"/if/xy", "/if/xy", "/nonexistent", "a=nerexy!e|1=|2="},
		{"/if/file", "/if/file", root, "a=nenxfe|1=|2="},
		{"/if/dir", "/if/dir", root, "a=nenxde|1=|2="},
		{"/if/dir/", "/if/dir/", root, "a=nenxde|1=|2="},
	}
	for _, tt := range tests {
		s := testState(testReq("GET", tt.target, tt.uri))
		s.DocumentRoot = tt.root
		if diff := cmp.Diff(tt.want, string(p.Run(s).Text)); diff != "" {
			t.Errorf("%s: %s", tt.target, diff)
		}
	}
}

// TestConfigErrors: the messages nginx -t printed for these directives
// (file:line is the directive's; unknown variables have none).
func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		d    *nginxconf.Directive
		want string
	}{
		{"dollar at end", dir(3, "return", "200", "a$"), "invalid variable name in " + testFile + ":3"},
		{"open brace", dir(3, "return", "200", "${foo"), `the closing bracket in "foo" variable is missing in ` + testFile + ":3"},
		{"bad name in braces", dir(3, "return", "200", "${fo-o}"), `the closing bracket in "fo" variable is missing in ` + testFile + ":3"},
		{"dollar dash", dir(3, "return", "200", "$-"), "invalid variable name in " + testFile + ":3"},
		{"return 999x", dir(3, "return", "999x"), `invalid return code "999x" in ` + testFile + ":3"},
		{"return 1000", dir(3, "return", "1000"), `invalid return code "1000" in ` + testFile + ":3"},
		{"return 999", dir(3, "return", "999"), ""},
		{"return /x", dir(3, "return", "/x"), `invalid return code "/x" in ` + testFile + ":3"},
		{"return URL", dir(3, "return", "http://x"), ""},
		{"rewrite flag", dir(3, "rewrite", "^", "/x", "foo"), `invalid parameter "foo" in ` + testFile + ":3"},
		{"empty replacement", dir(3, "rewrite", "^", ""), "empty replacement in " + testFile + ":3"},
		{"missing paren", dir(3, "rewrite", "^(foo", "/x"), `pcre2_compile() failed: missing closing parenthesis in "^(foo" in ` + testFile + ":3"},
		{"unmatched paren", dir(3, "rewrite", "foo)", "/x"), `pcre2_compile() failed: unmatched closing parenthesis in "foo)" at ")" in ` + testFile + ":3"},
		{"nothing to repeat", dir(3, "rewrite", "*a", "/x"), `pcre2_compile() failed: quantifier does not follow a repeatable item in "*a" at "*a" in ` + testFile + ":3"},
		{"open class", dir(3, "rewrite", "[a", "/x"), `pcre2_compile() failed: missing terminating ] for character class in "[a" in ` + testFile + ":3"},
		{"trailing backslash", dir(3, "rewrite", `a\`, "/x"), `pcre2_compile() failed: \ at end of pattern in "a\" in ` + testFile + ":3"},
		{"range", dir(3, "rewrite", "[z-a]", "/x"), `pcre2_compile() failed: range out of order in character class in "[z-a]" at "a]" in ` + testFile + ":3"},
		{"lookbehind", dir(3, "rewrite", "(?<=a+)b", "/x"), `pcre2_compile() failed: lookbehind assertion is not fixed length in "(?<=a+)b" at "(?<=a+)b" in ` + testFile + ":3"},
		{"set name", dir(3, "set", "foo", "bar"), `invalid variable name "foo" in ` + testFile + ":3"},
		{"set uri", dir(3, "set", "$uri", "x"), `the duplicate "uri" variable in ` + testFile + ":3"},
		{"set args", dir(3, "set", "$args", "x"), ""},
		{"if no operand", block(dir(3, "if", "($a", "~)")), `invalid condition "$a" in ` + testFile + ":3"},
		{"if word", block(dir(3, "if", "(foo)")), `invalid condition "foo" in ` + testFile + ":3"},
		{"if ==", block(dir(3, "if", "($a", "==", "b)")), `unexpected "==" in condition in ` + testFile + ":3"},
		{"if -q", block(dir(3, "if", "(-q", "/x)")), `invalid condition "-q" in ` + testFile + ":3"},
		{"if three", block(dir(3, "if", "($a", "=", "b", "c)")), `invalid condition "$a" in ` + testFile + ":3"},
		{"if regex", block(dir(3, "if", "($a", "!~*", "()")), `pcre2_compile() failed: missing closing parenthesis in "(" in ` + testFile + ":3"},
		{"if !-q", block(dir(3, "if", "(!-q", "$uri)")), `invalid condition "!-q" in ` + testFile + ":3"},
		{"if -f alone", block(dir(3, "if", "(-f)")), `invalid condition "-f" in ` + testFile + ":3"},
		{"if empty", block(dir(3, "if", "()")), `invalid condition ")" in ` + testFile + ":3"},
		{"if = nothing", block(dir(3, "if", "($a", "=", ")")), `invalid condition "$a" in ` + testFile + ":3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewCompiler()
			c.AddVariable("a", func(s *State, dst []byte) []byte { return dst })
			_, err := c.Program([]*nginxconf.Directive{tt.d})
			if diff := cmp.Diff(tt.want, errString(err)); diff != "" {
				t.Error(diff)
			}
		})
	}
}

// TestFinishErrors: unknown variables are reported after the whole
// configuration, without a place, as nginx -t prints them.
func TestFinishErrors(t *testing.T) {
	tests := []struct {
		name string
		b    []*nginxconf.Directive
		want string
	}{
		{"if var", []*nginxconf.Directive{block(dir(1, "if", "($a)"), dir(1, "return", "200", "$b"))}, `unknown "a" variable`},
		{"spaces in if", []*nginxconf.Directive{block(dir(1, "if", "(", "$a", ")"))}, `unknown "a" variable`},
		// A capture is not a variable name in a condition.
		{"if $1", []*nginxconf.Directive{block(dir(1, "if", "($1", "=", "x)"))}, `unknown "1" variable`},
		{"set later", []*nginxconf.Directive{dir(1, "return", "200", "$later"), dir(2, "set", "$later", "x")}, ``},
	}
	for _, tt := range tests {
		c := NewCompiler()
		if _, err := c.Program(tt.b); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if diff := cmp.Diff(tt.want, errString(c.Finish())); diff != "" {
			t.Errorf("%s: %s", tt.name, diff)
		}
	}
}

// TestRegexMatchLimit: a PCRE-only pattern (a lookahead, the
// backtracking engine) that a client's URI sends into catastrophic
// backtracking. PCRE stops at its match limit; nginx's rewrite and if
// then answer 500 (ngx_http_script_regex_start_code's NGX_ERROR) and log
// `pcre2_match() failed: -47 on "URI" using "PATTERN"`, where a plain
// no match goes on.
func TestRegexMatchLimit(t *testing.T) {
	c := NewCompiler()
	rw, err := c.Program([]*nginxconf.Directive{dir(1, "rewrite", "^/r/(?=a)(a+)+$", "/x", "last"), dir(2, "return", "200", "no")})
	if err != nil {
		t.Fatal(err)
	}
	cond, err := c.Program([]*nginxconf.Directive{block(dir(3, "if", "($uri", "~", "^/i/(?=a)(a+)+$)"), dir(4, "return", "200", "if")), dir(5, "return", "200", "no")})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Finish(); err != nil {
		t.Fatal(err)
	}
	bomb := strings.Repeat("a", 40) + "b"
	for _, tt := range []struct {
		p        *Program
		uri      string
		want     outcome
		wantFail string
	}{
		{rw, "/r/" + bomb, outcome{Kind: "Return", Code: 500, URI: "/r/" + bomb, IfBlock: -1},
			`pcre2_match() failed: -47 on "/r/` + bomb + `" using "^/r/(?=a)(a+)+$"`},
		{rw, "/r/aab", outcome{Kind: "Return", Code: 200, Text: "no", URI: "/r/aab", IfBlock: -1}, ""},
		{cond, "/i/" + bomb, outcome{Kind: "Return", Code: 500, URI: "/i/" + bomb, IfBlock: -1},
			`pcre2_match() failed: -47 on "/i/` + bomb + `" using "^/i/(?=a)(a+)+$"`},
		{cond, "/i/aa", outcome{Kind: "Return", Code: 200, Text: "if", URI: "/i/aa", Cap1: "aa", IfBlock: 0}, ""},
	} {
		s := testState(testReq("GET", tt.uri, tt.uri))
		if got := run(t, c, tt.p, s); got != tt.want {
			t.Errorf("%s: %+v, want %+v", tt.uri, got, tt.want)
		}
		if s.RegexFailed != tt.wantFail {
			t.Errorf("%s: RegexFailed %q, want %q", tt.uri, s.RegexFailed, tt.wantFail)
		}
	}
}
