package nginxconf

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func formatString(t testing.TB, src string) string {
	t.Helper()
	f, err := parseText(src, true)
	if err != nil {
		t.Fatalf("parse %q: %v", src, err)
	}
	return string(Format(f))
}

func parseText(src string, comments bool) (*File, error) {
	return Parse("/t.conf", []byte(src), Options{Comments: comments})
}

func TestFormat(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"indent and spacing", "http{server{listen   80;\n\tserver_name a b;}}",
			"http {\n    server {\n        listen 80;\n        server_name a b;\n    }\n}\n"},
		{"empty block", "events {}", "events {\n}\n"},
		{"comments kept, inline stays inline", "# top\nhttp { # open\n  a 1; # after a\n  # own line\n  b 2;\n}\n",
			"# top\nhttp { # open\n    a 1; # after a\n    # own line\n    b 2;\n}\n"},
		{"one blank line kept", "a 1;\n\n\n\nb 2;\nc 3;\n", "a 1;\n\nb 2;\nc 3;\n"},
		{"quotes only when needed", `set $a "plain"; add_header X "a b"; return 200 "";`,
			"set $a \"plain\";\nadd_header X \"a b\";\nreturn 200 \"\";\n"},
		{"bare words stay bare", `rewrite ^/(api)/(.*)$ /$2 break; location ~ \.php$ { }`,
			"rewrite ^/(api)/(.*)$ /$2 break;\nlocation ~ \\.php$ {\n}\n"},
		{"escapes re-quoted", `a "x\"y" 'it\'s' "t\tab" b\;c;`,
			"a \"x\\\"y\" \"it's\" \"t\tab\" b\\;c;\n"},
		{"braced variable bare", "return 200 ${host}x;", "return 200 ${host}x;\n"},
		{"brace in unquoted arg gets quotes", "a \"x{y\";", "a \"x{y\";\n"},
		{"korean comment", "# 저는 9000번\nlisten 9000;", "# 저는 9000번\nlisten 9000;\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := formatString(t, tt.in)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			// Formatting is idempotent.
			if again := formatString(t, got); again != got {
				t.Errorf("second format differs:\n%s", again)
			}
		})
	}
}

func TestFormatArticle(t *testing.T) {
	for _, name := range []string{"default.conf", "default.rewrite.conf"} {
		cfg, err := Load(mustAbs(t, "testdata/article/"+name), Options{Comments: true})
		if err != nil {
			t.Fatal(err)
		}
		out := Format(cfg.Files[0])
		back, perr := parseText(string(out), true)
		if perr != nil {
			t.Fatal(perr)
		}
		if diff := cmp.Diff(shape(cfg.Files[0].Tree), shape(back.Tree)); diff != "" {
			t.Errorf("%s: tree changed by Format (-want +got):\n%s", name, diff)
		}
		if !strings.Contains(string(out), "\n    location ^~ /api/socket/ {\n") || !strings.Contains(string(out), "\n        rewrite ^/(api)/(socket)/(.*)$ /$2/$3 break;\n") {
			t.Errorf("%s: unexpected layout:\n%s", name, out)
		}
	}
}

// shape is a tree as names, args, quoting and comments, for comparisons
// that ignore lines.
type shapeNode struct {
	Name    string
	Args    []string
	Comment string
	Block   []shapeNode
	IsBlock bool
}

func shape(ds []*Directive) []shapeNode {
	var out []shapeNode
	for _, d := range ds {
		out = append(out, shapeNode{d.Name, d.Args, d.Comment, shape(d.Block), d.Block != nil})
	}
	return out
}
