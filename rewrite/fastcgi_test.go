package rewrite

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// $fastcgi_script_name and $fastcgi_path_info under
// fastcgi_split_path_info: the split kept for the last URI is used only
// for the same URI's bytes and the same location's split, whatever
// changed between evaluations.
func TestFastCGISplitMemo(t *testing.T) {
	c := NewCompiler()
	rx, err := c.Regex(`^(.+?\.php)(/.*)$`, false)
	if err != nil {
		t.Fatal(err)
	}
	other, err := c.Regex(`^(/a)(.*)$`, false)
	if err != nil {
		t.Fatal(err)
	}
	both := mustComplex(t, c, "$fastcgi_script_name|$fastcgi_path_info")
	split := &FastCGISplit{Regex: rx, Index: "index.php"}
	long := "/" + strings.Repeat("d", fcgiMemoURI) + ".php/x"
	s := testState(testReq("GET", "/a/b.php/c/d", "/a/b.php/c/d"))
	s.FastCGI = split
	eval := func() string { return string(both.Eval(s, nil)) }
	var got []string
	got = append(got, eval(), eval())
	copy(s.Req.URI, "/a/e.php/f/g") // the same length, rewritten in place
	got = append(got, eval())
	s.Req.URI = []byte("/a/")
	got = append(got, eval())
	s.Req.URI = []byte("/a/b.php/c/d")
	copied := *s // a copy of the State, as a background update makes
	copied.Req = testReq("GET", "/z.php/y", "/z.php/y")
	got = append(got, string(both.Eval(&copied, nil)), eval())
	s.FastCGI = &FastCGISplit{Regex: other}
	got = append(got, eval())
	s.FastCGI = split
	s.Req.URI = []byte(long)
	got = append(got, eval(), eval())
	want := []string{"/a/b.php|/c/d", "/a/b.php|/c/d", "/a/e.php|/f/g", "/a/index.php|", "/z.php|/y", "/a/b.php|/c/d",
		"/a|/b.php/c/d", long[:len(long)-2] + "|/x", long[:len(long)-2] + "|/x"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
