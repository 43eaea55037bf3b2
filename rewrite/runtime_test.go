package rewrite

import (
	"testing"

	"github.com/gonginx/gonginx/rewrite/http1"
	"github.com/google/go-cmp/cmp"
)

// TestLookup: variables found at run time by name, as ssi's echo finds
// them: configuration ones, prefixes, found-empty against not found.
func TestLookup(t *testing.T) {
	c := NewCompiler()
	if err := c.Finish(); err != nil {
		t.Fatal(err)
	}
	req := &http1.Request{URI: []byte("/p"), Args: []byte("a=1&e=")}
	s := &State{Req: req}
	tests := []struct {
		name  string
		want  string
		found bool
	}{
		{"uri", "/p", true},
		{"arg_a", "1", true},
		{"arg_e", "", true},
		{"arg_none", "", false},
		{"no_such_variable", "", false},
		{"args", "a=1&e=", true},
	}
	for _, tc := range tests {
		got, found, _ := c.Lookup(s, []byte(tc.name), nil)
		if d := cmp.Diff(tc.want+"|"+map[bool]string{true: "found"}[tc.found], string(got)+"|"+map[bool]string{true: "found"}[found]); d != "" {
			t.Errorf("%s: -want +got:\n%s", tc.name, d)
		}
	}
}

// TestCompileRegex: a run-time regex lists its named groups and does not
// touch a configuration.
func TestCompileRegex(t *testing.T) {
	rx, err := CompileRegex(`(?P<w>[a-z]+)-(\d+)`)
	if err != nil {
		t.Fatal(err)
	}
	var s State
	if !rx.Match(&s, []byte("x abc-12")) {
		t.Fatal("no match")
	}
	var names []string
	rx.NamedCaptures(func(g int, name string) { names = append(names, name+"="+string(s.Capture(g))) })
	if d := cmp.Diff([]string{"w=abc"}, names); d != "" {
		t.Error(d)
	}
	if _, err := CompileRegex("("); err == nil || RegexErrorText(err) != `pcre2_compile() failed: missing closing parenthesis in "("` {
		t.Errorf("error %v", err)
	}
}
