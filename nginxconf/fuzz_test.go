package nginxconf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fuzzSeeds adds the article configs, the golden inputs and a few tricky
// snippets.
func fuzzSeeds(f *testing.F) {
	for _, pattern := range []string{"testdata/*.conf", "testdata/article/*.conf", "testdata/inc/*"} {
		paths, _ := filepath.Glob(pattern)
		for _, p := range paths {
			if data, err := os.ReadFile(p); err == nil {
				f.Add(data)
			}
		}
	}
	for _, s := range []string{
		"", ";", "{", "}", "a", `a "b`, `a "b"c;`, "a ${b}{ c; }", "a\\", "a \\\n;", "#", "# x\r\n",
		`if ($a = "b") { return 200 'x\'y'; }`, "a # c\n b;", "types { text/html html; }",
	} {
		f.Add([]byte(s))
	}
}

func FuzzLex(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		l := NewLexer(string(data))
		prev := -1
		// Every token consumes at least one byte, so len+1 tokens end it.
		for i := 0; i <= len(data)+1; i++ {
			tk := l.Next()
			if tk.Kind == TokEOF || tk.Kind == TokError {
				return
			}
			if tk.Pos <= prev || tk.Pos >= len(data) {
				t.Fatalf("token %d at %d after %d (len %d)", i, tk.Pos, prev, len(data))
			}
			prev = tk.Pos
		}
		t.Fatalf("no end of input after %d tokens", len(data)+2)
	})
}

func FuzzParse(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		Parse("/f.conf", data, Options{Comments: true})
		// Checked, as Load parses, without touching the file system.
		p := &parser{cfg: &Config{}, comments: true, noInclude: true}
		root := p.newBuf(nil)
		src := &source{lex: newLexer(string(data), fileTokenLimit), path: "/f.conf"}
		p.parseBlock(src, root, MainConf, topOfFile)
		root.close()
	})
}

// FuzzRoundTrip checks that Format writes a file that reads back as the
// same tree.
func FuzzRoundTrip(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse("/f.conf", data, Options{Comments: true})
		if err != nil {
			return
		}
		out := Format(file)
		back, err := Parse("/f.conf", out, Options{Comments: true})
		if err != nil {
			if strings.Contains(err.Error(), "too long parameter") {
				return // escaping made a token longer than nginx reads
			}
			t.Fatalf("formatted text does not parse: %v\n%s", err, out)
		}
		if diff := cmp.Diff(shape(file.Tree), shape(back.Tree)); diff != "" {
			t.Fatalf("round trip changed the tree (-want +got):\n%s\nformatted:\n%s", diff, out)
		}
	})
}
