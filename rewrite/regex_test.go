package rewrite

import (
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRegexCaptures(t *testing.T) {
	tests := []struct {
		pattern  string
		caseless bool
		subject  string
		match    bool
		caps     []string // $0, $1, ...
		fallback bool
	}{
		{`^/(api)/(socket)/(.*)$`, false, "/api/socket/test", true, []string{"/api/socket/test", "api", "socket", "test"}, false},
		{`^/(api)/(socket)/(.*)$`, false, "/api/socket", false, nil, false},
		{`^/IF/(x)(y)?`, true, "/if/x", true, []string{"/if/x", "x", ""}, false},
		{`(?<first>[^/]*)/(?P<second>.*)$`, false, "a/b/c", true, []string{"a/b/c", "a", "b/c"}, false},
		{`\d+`, false, "ab123cd", true, []string{"123"}, false},
		{`^/x/(?=y)(.)`, false, "/x/yz", true, []string{"/x/y", "y"}, true},
		{`^/(a+)\1$`, false, "/aaaa", true, []string{"/aaaa", "aa"}, true},
		{`^/(?<n>a)(b)$`, false, "/ab", true, []string{"/ab", "a", "b"}, false},
		{`^/(?<n>a)(b)(?=$)`, false, "/ab", true, []string{"/ab", "a", "b"}, true}, // PCRE numbering in the fallback too
		{`^/(?!admin)(\w+)`, false, "/admin", false, nil, true},
		{`foo\Z`, false, "foo", true, []string{"foo"}, true},
		{`(?>a+)b`, false, "aab", true, []string{"aab"}, true},
		{`^/é(.)$`, false, "/éx", true, []string{"/éx", "x"}, false},
		{`^/(.)$`, false, "/\xff", true, []string{"/\xff", "\xff"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			c := NewCompiler()
			rx, err := c.Regex(tt.pattern, tt.caseless)
			if err != nil {
				t.Fatal(err)
			}
			if rx.Fallback() != tt.fallback {
				t.Errorf("fallback = %v", rx.Fallback())
			}
			s := testState(testReq("GET", "/", "/"))
			got := rx.Match(s, []byte(tt.subject))
			if got != tt.match {
				t.Fatalf("match = %v", got)
			}
			if !got {
				return
			}
			var caps []string
			for i := 0; i <= rx.NumCaptures(); i++ {
				caps = append(caps, string(s.Capture(i)))
			}
			if diff := cmp.Diff(tt.caps, caps); diff != "" {
				t.Error(diff)
			}
		})
	}
}

// TestRegexDollarBeforeNewline: PCRE's "$" (nginx sets no
// PCRE2_DOLLAR_ENDONLY) also matches before a newline that ends the
// subject, which a client puts in $uri with %0a: "location ~ \.php$"
// takes "/x.php%0a" in nginx. Go's "$" is the end only.
func TestRegexDollarBeforeNewline(t *testing.T) {
	for _, tc := range []struct {
		pattern  string
		caseless bool
		subject  string
		caps     []string // nil: no match
	}{
		{`\.php$`, false, "/x.php\n", []string{".php"}},
		{`\.PHP$`, true, "/x.php\n", []string{".php"}},
		{`\.php$`, false, "/x.php\n\n", nil},
		{`\.php$`, false, "/x.php\nx", nil},
		{`^/rwa(.*)$`, false, "/rwa/\r\n", []string{"/rwa/\r", "/\r"}},
		{`^/(?P<n>[^/]+)$`, false, "/ab\n", []string{"/ab\n", "ab\n"}}, // [^/] takes the newline itself
		{`^/(?P<n>.+)$`, false, "/ab\n", []string{"/ab", "ab"}},
		{`[$]x$`, false, "$x\n", []string{"$x"}},
		{`a\$`, false, "a$\n", []string{"a$"}},
		{`a\$$`, false, "a$\n", []string{"a$"}},
		{`[]$]$`, false, "$\n", []string{"$"}},
		{`(?m)^a$`, false, "a\n", []string{"a"}},
		{`^(.+\.php)(/.*)$`, false, "/x.php/a\n", []string{"/x.php/a", "/x.php", "/a"}},
		{`^/x`, false, "/x\n", []string{"/x"}},
		{`^/(\d+)\s?$`, false, "/12\n", []string{"/12\n", "12"}},
		{`^/(\w+)$`, false, "/\xc3\xa9\n", nil}, // \w is ASCII in both
		{`^/([\w.]+)$`, false, "/a.b\n", []string{"/a.b", "a.b"}},
		{`^/([[:alpha:]]+)$`, false, "/ab\n", []string{"/ab", "ab"}},
		{`^/([^[:digit:]]+)$`, false, "/ab\n", []string{"/ab\n", "ab\n"}},
		{`^/[[:punct:]]$`, false, "/]\n", []string{"/]"}},
		{`^/[[:^alpha:]]$`, false, "/1\n", nil}, // no such regexp2 class: RE2 answers, as before
	} {
		rx, err := NewCompiler().Regex(tc.pattern, tc.caseless)
		if err != nil {
			t.Fatal(err)
		}
		s := testState(testReq("GET", "/", "/"))
		var caps []string
		if rx.Match(s, []byte(tc.subject)) {
			caps = []string{}
			for i := 0; i <= rx.NumCaptures(); i++ {
				caps = append(caps, string(s.Capture(i)))
			}
		}
		if diff := cmp.Diff(tc.caps, caps); diff != "" {
			t.Errorf("%q on %q: captures (-want +got):\n%s", tc.pattern, tc.subject, diff)
		}
		if got := rx.Test([]byte(tc.subject)); got != (tc.caps != nil) {
			t.Errorf("%q on %q: Test = %v", tc.pattern, tc.subject, got)
		}
		if got := rx.MatchString(tc.subject); got != (tc.caps != nil) {
			t.Errorf("%q on %q: MatchString = %v", tc.pattern, tc.subject, got)
		}
	}
	rx, err := NewCompiler().Regex(`^(.+\.php)(/.+)$`, false)
	if err != nil {
		t.Fatal(err)
	}
	split := &FastCGISplit{Regex: rx}
	script, info := split.split([]byte("/x.php/a\n"))
	if string(script) != "/x.php" || string(info) != "/a" {
		t.Errorf("fastcgi_split_path_info on /x.php/a%%0a: %q %q, want \"/x.php\" \"/a\"", script, info)
	}
}

// TestBacktrackerMatchesRegexp checks the allocation-free matcher against
// Go's regexp on the RE2 path.
func TestBacktrackerMatchesRegexp(t *testing.T) {
	patterns := []string{
		`^/(api)/(socket)/(.*)$`, `(a|ab)(c|bcd)(d*)`, `(a*)+`, `(a*)*b`, `x*`, `\b(\w+)\b`, `(?i)ÉTÉ(s?)`,
		`^$`, `(?m)^b`, `a{2,3}(b)?`, `[^/]+$`, `(.*?)(\d+)`, `(?U)(a+)(a*)`, `(|a)+`, `(a|b)*?c`,
		`\.php$`, `c$`, `/c$`, `(?i)\.PHP$`, `é$`, `(?m)c$`,
	}
	subjects := []string{"", "/api/socket/x", "abcd", "aaab", "xx", "hello world", "été", "a\nb", "aab", "/a/b/c", "abc123", "aaa", "abababc", "\xff\xfe", "ÉTÉs",
		"/index.php", "/a.php.php", "/a.php\n", ".php", "/a.PHP", "abc\n"}
	for _, p := range patterns {
		re := regexp.MustCompile(p)
		c := NewCompiler()
		rx, err := c.Regex(p, false)
		if err != nil {
			t.Fatal(err)
		}
		for _, sub := range subjects {
			if _, dollar := pcreDollar(p); dollar && strings.HasSuffix(sub, "\n") {
				continue // PCRE's "$", not Go's: TestRegexDollarBeforeNewline
			}
			s := testState(testReq("GET", "/", "/"))
			want := re.FindSubmatchIndex([]byte(sub))
			ok := rx.Match(s, []byte(sub))
			var got []int
			if ok {
				got = s.Captures
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%q on %q: %s", p, sub, diff)
			}
		}
	}
}

// A case-sensitive ASCII literal before $ is matched as a suffix; the
// others run the program (TestBacktrackerMatchesRegexp checks both
// against Go's regexp).
func TestRegexLiteralSuffix(t *testing.T) {
	for _, tc := range []struct {
		pattern  string
		caseless bool
		want     string
	}{
		{`\.php$`, false, ".php"}, {`/x$`, false, "/x"}, {`\.php$`, true, ""}, {`(?i)\.php$`, false, ""},
		{`é$`, false, ""}, {`(?m)\.php$`, false, ""}, {`^\.php$`, false, ""}, {`(\.php)$`, false, ""}, {`\.php`, false, ""},
	} {
		rx, err := NewCompiler().Regex(tc.pattern, tc.caseless)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, string(rx.suffix)); diff != "" {
			t.Errorf("%q caseless=%v: suffix (-want +got):\n%s", tc.pattern, tc.caseless, diff)
		}
	}
}

func TestRegexNamedCaptureVariables(t *testing.T) {
	c := NewCompiler()
	rx, err := c.Regex(`^/(?<user>[^/]+)/(?P<rest>.*)$`, false)
	if err != nil {
		t.Fatal(err)
	}
	cv := mustComplex(t, c, "$user|$rest|$1")
	if err := c.Finish(); err != nil {
		t.Fatal(err)
	}
	s := testState(testReq("GET", "/bob/x/y", "/bob/x/y"))
	subject := []byte("/bob/x/y")
	if !rx.Match(s, subject) {
		t.Fatal("no match")
	}
	copy(subject, "XXXXXXXX") // captures survive changes to the subject
	if diff := cmp.Diff("bob|x/y|bob", string(cv.Eval(s, nil))); diff != "" {
		t.Error(diff)
	}
	if _, err := c.Regex(`(?<uri>x)`, false); err == nil || err.Error() != `the duplicate "uri" variable` {
		t.Errorf("named capture over a built-in: %v", err)
	}
}

// TestPCREErrors: messages nginx 1.22 (PCRE2) printed for these location
// regexes.
func TestPCREErrors(t *testing.T) {
	tests := []struct{ pattern, want string }{
		{"^/(?<n>a)(?<n>b)", `pcre2_compile() failed: two named subpatterns have the same name (PCRE2_DUPNAMES not set) in "^/(?<n>a)(?<n>b)" at "b)"`},
		{"(?'n'a)(?'n'b)", `pcre2_compile() failed: two named subpatterns have the same name (PCRE2_DUPNAMES not set) in "(?'n'a)(?'n'b)" at "b)"`},
		{"^/(?<1a>x)", `pcre2_compile() failed: subpattern name must start with a non-digit in "^/(?<1a>x)" at "1a>x)"`},
		{"(?<é>x)", `pcre2_compile() failed: subpattern name expected in "(?<é>x)" at "é>x)"`},
		{"^/(?&x)", `pcre2_compile() failed: reference to non-existent subpattern in "^/(?&x)" at "x)"`},
		{"[[:alpha:][:foo:]]", `pcre2_compile() failed: unknown POSIX class name in "[[:alpha:][:foo:]]" at "foo:]]"`},
		{"x{2,1}", `pcre2_compile() failed: numbers out of order in {} quantifier in "x{2,1}" at "}"`},
		{"x{2,70000}", `pcre2_compile() failed: number too big in {} quantifier in "x{2,70000}" at "}"`},
		// Escapes PCRE2 refuses, worded and placed as nginx -t prints them.
		{`\mraid\.js$`, `pcre2_compile() failed: unrecognized character follows \ in "\mraid\.js$" at "mraid\.js$"`},
		{`[\i]x`, `pcre2_compile() failed: unrecognized character follows \ in "[\i]x" at "i]x"`},
		{`a\Lb`, `pcre2_compile() failed: PCRE2 does not support \F, \L, \l, \N{name}, \U, or \u in "a\Lb" at "b"`},
		{`[\B]`, `pcre2_compile() failed: escape sequence is invalid in character class in "[\B]" at "B]"`},
		{`[\N]`, `pcre2_compile() failed: \N is not supported in a class in "[\N]" at "]"`},
		{`\ka`, `pcre2_compile() failed: \k is not followed by a braced, angle-bracketed, or quoted name in "\ka" at "a"`},
		{`\gx`, `pcre2_compile() failed: \g is not followed by a braced, angle-bracketed, or quoted name/number or by a plain number in "\gx" at "x"`},
		{`\c`, `pcre2_compile() failed: \c at end of pattern in "\c"`},
		{`\Q\m\E`, ""},
		{`\k<a>(?<a>x)`, ""},
		{"(*UTF8)^/x", ""},
		{"x{1001}", ""},
		{"[a[:digit:]]", ""},
		{"(?<a1>x)(?<_b>y)", ""},
	}
	for _, tt := range tests {
		_, err := NewCompiler().Regex(tt.pattern, false)
		if diff := cmp.Diff(tt.want, errString(err)); diff != "" {
			t.Errorf("%s: (-want +got)\n%s", tt.pattern, diff)
		}
	}
}
