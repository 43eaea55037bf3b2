package nginxconf

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// writeTree writes files (name → content) under a new temp dir and
// returns the dir with a trailing slash.
func writeTree(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir() + "/"
	for name, content := range files {
		path := dir + name
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const head = "events{}\nhttp{access_log off;\n"

// TestLoadErrors checks messages and lines against what nginx 1.22 printed
// for the same files (nginx -t -p DIR/ -c DIR/nginx.conf); "D/" stands
// for the temp dir.
func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		globals string
		want    string
	}{
		{"stray close brace at top", map[string]string{"nginx.conf": head + "server {\n listen 8080;\n}\n}\n}\n"},
			"", `unexpected "}" in D/nginx.conf:7`},
		{"missing semicolon before brace", map[string]string{"nginx.conf": head + "server {\n listen 8080\n}\n}\n"},
			"", `unexpected "}" in D/nginx.conf:5`},
		{"end of file inside block", map[string]string{"nginx.conf": head + "server {\n listen 8080;\n"},
			"", `unexpected end of file, expecting "}" in D/nginx.conf:5`},
		{"end of file after word", map[string]string{"nginx.conf": head + "server {\n listen 8080;\n}\n}\nfoo"},
			"", `unexpected end of file, expecting ";" or "}" in D/nginx.conf:7`},
		{"lone semicolon", map[string]string{"nginx.conf": head + "server {\n listen 8080;\n}\n}\n;"},
			"", `unexpected ";" in D/nginx.conf:7`},
		{"lone block", map[string]string{"nginx.conf": head + "server {\n listen 8080;\n{}\n}\n"},
			"", `unexpected "{" in D/nginx.conf:5`},
		{"letter after quote", map[string]string{"nginx.conf": head + "server {\n listen 8080;\n server_name \"a\"b;}\n}\n"},
			"", `unexpected "b" in D/nginx.conf:5`},
		{"quote after quote", map[string]string{"nginx.conf": head + "server {\n listen 8080;\n server_name \"a\"\"b\";}\n}\n"},
			"", `unexpected """ in D/nginx.conf:5`},
		{"brace ends no word", map[string]string{"nginx.conf": head + "server {\n listen 8080;\n server_name a b}\n}\n"},
			"", `unexpected "}" in D/nginx.conf:6`},
		{"error after multi-line string", map[string]string{"nginx.conf": "events{}\nhttp{access_log off;\nserver{listen 8080; return 200 \"a\n\nb\n\nc\"x;}}"},
			"", `unexpected "x" in D/nginx.conf:7`},
		{"unterminated string", map[string]string{"nginx.conf": "events{}\nhttp{access_log off;\nserver{listen 8080; return 200 \"a\n\nb\n\nc\n"},
			"", `unexpected end of file, expecting ";" or "}" in D/nginx.conf:8`},
		{"stray brace after block", map[string]string{"nginx.conf": "events{}\nhttp{access_log off;\nserver{listen 8080;}}\n}\n"},
			"", `unexpected "}" in D/nginx.conf:4`},
		{"block in types", map[string]string{"nginx.conf": head + "types { text/html html; a {} }\n}\n"},
			"", `unexpected "{" in D/nginx.conf:3`},
		{"missing include", map[string]string{"nginx.conf": head + "server \n{\n listen 8080;\n include nothere.conf;\n}\n}\n"},
			"", `open() "D/nothere.conf" failed (2: No such file or directory) in D/nginx.conf:6`},
		{"stray brace in included file", map[string]string{"nginx.conf": head + "include conf.d/*.conf;\n}\n", "conf.d/a.conf": "server{listen 8081;}\n}\n"},
			"", `unexpected "}" in D/conf.d/a.conf:2`},
		{"open block in included file", map[string]string{"nginx.conf": head + "include conf.d/*.conf;\n}\n", "conf.d/a.conf": "server{listen 8081;\n"},
			"", `unexpected end of file, expecting "}" in D/conf.d/a.conf:2`},
		{"include of a directory", map[string]string{"nginx.conf": head + "include sub;\n}\n", "sub/x": ""},
			"", `pread() "D/sub" failed (21: Is a directory)`},
		{"missing main file", map[string]string{"other.conf": ""},
			"", `open() "D/nginx.conf" failed (2: No such file or directory)`},
		{"globals without semicolon", map[string]string{"nginx.conf": "events{}\n"},
			"pid x.pid; foo", `unexpected end of parameter, expecting ";" in command line`},
		{"globals with open quote", map[string]string{"nginx.conf": "events{}\n"},
			`pid "x.pid;`, `unexpected end of parameter, expecting ";" in command line`},
		{"globals with block", map[string]string{"nginx.conf": "events{}\n"},
			"foo {}", `block directives are not supported in -g option in command line`},
		{"globals with close brace", map[string]string{"nginx.conf": "events{}\n"},
			"}", `unexpected "}" in command line`},
		{"globals: checked in command line", map[string]string{"nginx.conf": "events{}\n"},
			"error_log stderr; worker_processes 1 2;", `invalid number of arguments in "worker_processes" directive in command line`},
		{"globals come before the file", map[string]string{"nginx.conf": "events{}\npid x.pid;\n"},
			"pid y.pid;", `"pid" directive is duplicate in D/nginx.conf:2`},
		{"types: include arguments", map[string]string{"nginx.conf": head + "types {\n include a b;\n}\n}\n"},
			"", `invalid number of arguments in "include" directive in D/nginx.conf:4`},
		{"map: include followed", map[string]string{"nginx.conf": head + "map $a $b {\n include nomap.inc;\n}\n}\n"},
			"", `open() "D/nomap.inc" failed (2: No such file or directory) in D/nginx.conf:4`},
		{"directive not terminated, at its brace line", map[string]string{"nginx.conf": head + "server {\n listen 8080;\n server_name a\n b {}\n}\n"},
			"", `directive "server_name" is not terminated by ";" in D/nginx.conf:6`},
		{"dynamic module not loaded", map[string]string{"nginx.conf": "events{}\nstream {\n}\n"},
			"", `unknown directive "stream" in D/nginx.conf:2`},
		{"load_module after a module block", map[string]string{"nginx.conf": "events{}\nload_module x.so;\n"},
			"", `"load_module" directive is specified too late in D/nginx.conf:2`},
		{"load_module of a missing object", map[string]string{"nginx.conf": "load_module x.so;\nevents{}\n"},
			"", `dlopen() "D/x.so" failed (D/x.so: cannot open shared object file: No such file or directory) in D/nginx.conf:1`},
		// nginx itself recurses until it crashes (SIGSEGV) on a cycle.
		{"include cycle stops", map[string]string{"nginx.conf": head + "include a.conf;\n}\n", "a.conf": "include b.conf;\n", "b.conf": "\ninclude a.conf;\n"},
			"", `include of "D/a.conf" nested more than 64 deep (an include cycle?) in D/b.conf:2`},
		{"location without block, at its semicolon line", map[string]string{"nginx.conf": head + "server \n{\n listen 8080;\n location\n/\n;\n}\n}\n"},
			"", `directive "location" has no opening "{" in D/nginx.conf:8`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeTree(t, tt.files)
			_, err := Load(dir+"nginx.conf", Options{Prefix: dir, Globals: tt.globals})
			got := "<nil>"
			if err != nil {
				got = strings.ReplaceAll(err.Error(), dir, "D/")
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// names renders a tree as "name args {...}" lines, for compact tables.
func names(ds []*Directive) []string {
	var out []string
	var walk func(ds []*Directive, indent string)
	walk = func(ds []*Directive, indent string) {
		for _, d := range ds {
			s := indent + strings.Join(append([]string{d.Name}, d.Args...), " ")
			if d.Block != nil {
				s += " {"
			}
			out = append(out, s)
			walk(d.Block, indent+"  ")
		}
	}
	walk(ds, "")
	return out
}

func TestIncludeSplicing(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"nginx.conf":     "events {}\nhttp {\n    include conf.d/*.conf;\n    include conf.d/b.conf;\n    include none/*.conf;\n    server { listen 1; include snip.conf; }\n}\n",
		"conf.d/b.conf":  "server { listen 8082; }\n",
		"conf.d/a.conf":  "server { listen 8081; include snip.conf; }\n",
		"conf.d/.h.conf": "broken {\n",
		"snip.conf":      "server_name x;\n",
	})
	cfg, err := Load(dir+"nginx.conf", Options{})
	if err != nil {
		t.Fatal(err)
	}
	wantTree := []string{
		"events {", "http {",
		"  server {", "    listen 8081", "    server_name x",
		"  server {", "    listen 8082",
		"  server {", "    listen 8082",
		"  server {", "    listen 1", "    server_name x",
	}
	if diff := cmp.Diff(wantTree, names(cfg.Tree)); diff != "" {
		t.Errorf("Config.Tree (-want +got):\n%s", diff)
	}
	var files []string
	for _, f := range cfg.Files {
		files = append(files, strings.TrimPrefix(f.Path, dir))
	}
	// Each file once, in the order first read; include is relative to the
	// conf prefix, not to the including file.
	if diff := cmp.Diff([]string{"nginx.conf", "conf.d/a.conf", "snip.conf", "conf.d/b.conf"}, files); diff != "" {
		t.Errorf("Files (-want +got):\n%s", diff)
	}
	wantOwn := []string{
		"events {", "http {",
		"  include conf.d/*.conf", "  include conf.d/b.conf", "  include none/*.conf",
		"  server {", "    listen 1", "    include snip.conf",
	}
	if diff := cmp.Diff(wantOwn, names(cfg.Files[0].Tree)); diff != "" {
		t.Errorf("Files[0].Tree (-want +got):\n%s", diff)
	}
	http := cfg.Files[0].Tree[1]
	var incs [][]int
	for _, d := range append(http.Block[:3:3], http.Block[3].Block[1]) {
		incs = append(incs, d.Includes)
	}
	if diff := cmp.Diff([][]int{{1, 3}, {3}, {}, {2}}, incs); diff != "" {
		t.Errorf("Includes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"server {", "  listen 8081", "  include snip.conf"}, names(cfg.Files[1].Tree)); diff != "" {
		t.Errorf("a.conf tree (-want +got):\n%s", diff)
	}
}

func TestDumpT(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"nginx.conf":    "events{}\nhttp{access_log off;\ninclude conf.d/*.conf;\ninclude conf.d/a.conf;\n}\n",
		"conf.d/a.conf": "server{listen 8081;}\n",
		"conf.d/b.conf": "server{listen 8082;}",
	})
	cfg, err := Load(dir+"nginx.conf", Options{})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := cfg.DumpT(&b); err != nil {
		t.Fatal(err)
	}
	// Bytes as nginx -T printed them for the same tree (each file once).
	want := "# configuration file D/nginx.conf:\nevents{}\nhttp{access_log off;\ninclude conf.d/*.conf;\ninclude conf.d/a.conf;\n}\n\n" +
		"# configuration file D/conf.d/a.conf:\nserver{listen 8081;}\n\n" +
		"# configuration file D/conf.d/b.conf:\nserver{listen 8082;}\n"
	if diff := cmp.Diff(want, strings.ReplaceAll(b.String(), dir, "D/")); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestGlobOrder(t *testing.T) {
	files := map[string]string{"nginx.conf": head + "include c/*;\n}\n"}
	for _, n := range []string{".h", "B", "a", "a-b", "_x", "1"} {
		files["c/"+n] = "#" + n + "\n"
	}
	dir := writeTree(t, files)
	cfg, err := Load(dir+"nginx.conf", Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range cfg.Files[1:] {
		got = append(got, strings.TrimPrefix(f.Path, dir))
	}
	// nginx -T listed them in this order, without the dot file.
	if diff := cmp.Diff([]string{"c/1", "c/B", "c/_x", "c/a", "c/a-b"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestPaths(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"etc/nginx.conf":       "events{}\n",
		"etc/conf.d/site.conf": "server { listen 80; }\n",
		"etc/other/site.conf":  "server { listen 80; }\n",
		"etc/sites-enabled/x":  "server { listen 80; }\n",
	})
	tests := []struct {
		conf, prefix               string
		wantConfPrefix, wantPrefix string
		wantFragment               bool
	}{
		{dir + "etc/nginx.conf", "", dir + "etc/", dir + "etc/", false},
		{"etc/nginx.conf", dir, dir + "etc/", dir, false},
		{dir + "etc/conf.d/site.conf", "", dir + "etc/", dir + "etc/", true},
		{dir + "etc/sites-enabled/x", "/srv/www", dir + "etc/", "/srv/www/", true},
		{dir + "etc/other/site.conf", "", dir + "etc/other/", dir + "etc/other/", true},
	}
	for _, tt := range tests {
		cfg, err := Load(tt.conf, Options{Prefix: tt.prefix})
		if err != nil {
			t.Fatal(err)
		}
		got := []any{cfg.ConfPrefix, cfg.Prefix, cfg.Fragment}
		if diff := cmp.Diff([]any{tt.wantConfPrefix, tt.wantPrefix, tt.wantFragment}, got); diff != "" {
			t.Errorf("Load(%q, -p %q) (-want +got):\n%s", tt.conf, tt.prefix, diff)
		}
		if got, want := cfg.ConfPath("server.pem"), tt.wantConfPrefix+"server.pem"; got != want {
			t.Errorf("ConfPath = %q, want %q", got, want)
		}
		if got, want := cfg.PrefixPath("html"), tt.wantPrefix+"html"; got != want {
			t.Errorf("PrefixPath = %q, want %q", got, want)
		}
		if got := cfg.ConfPath("/abs"); got != "/abs" {
			t.Errorf("ConfPath(/abs) = %q", got)
		}
	}
}

func TestArticleFragments(t *testing.T) {
	for _, name := range []string{"default.conf", "default.rewrite.conf"} {
		t.Run(name, func(t *testing.T) {
			path, _ := filepath.Abs("testdata/article/" + name)
			cfg, err := Load(path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if !cfg.Fragment {
				t.Fatal("not loaded as a fragment")
			}
			got := names(cfg.Tree)
			if len(got) < 5 {
				t.Fatalf("tree too small: %q", got)
			}
			if diff := cmp.Diff([]string{"events {", "http {", "  types {", "    text/html html htm shtml"}, got[:4]); diff != "" {
				t.Errorf("wrapping (-want +got):\n%s", diff)
			}
			http := cfg.Tree[1]
			if d := http.Block[1]; d.Name != "default_type" || d.Args[0] != "application/octet-stream" {
				t.Errorf("second http directive = %s %q", d.Name, d.Args)
			}
			srv := http.Block[2]
			if srv.Name != "server" || srv.File != path || srv.Line != 1 {
				t.Errorf("server directive = %s %s:%d", srv.Name, srv.File, srv.Line)
			}
			if len(cfg.Files) != 1 || cfg.Files[0].Tree[0] != srv {
				t.Errorf("fragment file tree does not hold the server block")
			}
		})
	}
}

func TestFragmentErrorNamesFragment(t *testing.T) {
	dir := writeTree(t, map[string]string{"conf.d/x.conf": "server {\n  listen 80;\n  location / {\n}\n"})
	_, err := Load(dir+"conf.d/x.conf", Options{})
	want := `unexpected end of file, expecting "}" in ` + dir + "conf.d/x.conf:5"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
}

func mustAbs(t testing.TB, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestFragmentWithGlobalsAndInclude(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"conf.d/site.conf":  "server {\n    listen 80;\n    include snippets/ssl.conf;\n}\n",
		"snippets/ssl.conf": "ssl_certificate server.pem;\n",
	})
	cfg, err := Load(dir+"conf.d/site.conf", Options{Globals: "worker_processes 1;"})
	if err != nil {
		t.Fatal(err)
	}
	got := names(cfg.Tree)
	want := []string{"worker_processes 1", "events {", "http {"}
	if diff := cmp.Diff(want, []string{got[0], got[1], got[2]}); diff != "" {
		t.Errorf("top (-want +got):\n%s", diff)
	}
	// The stock layout: conf.d's parent is the conf prefix.
	srv := cfg.Tree[2].Block[2]
	if diff := cmp.Diff([]string{"server {", "  listen 80", "  ssl_certificate server.pem"}, names([]*Directive{srv})); diff != "" {
		t.Errorf("server (-want +got):\n%s", diff)
	}
	if got, want := cfg.ConfPath(srv.Block[1].Args[0]), dir+"server.pem"; got != want {
		t.Errorf("certificate path %q, want %q", got, want)
	}
	if cfg.Tree[0].File != "" || cfg.Tree[1].File != "" {
		t.Errorf("globals and wrapping should have no file")
	}
}

// TestLoadDuplicates checks "is duplicate" through the parser's per-block
// duplicate keys: across include boundaries, not leaking out of nested
// blocks, and after many repeatable directives. Messages are nginx
// 1.22's for each config.
func TestLoadDuplicates(t *testing.T) {
	const srv = "server{listen 127.0.0.1:8080;\n"
	many := strings.Repeat("proxy_set_header X v;\n", 1000) + "proxy_http_version 1.1;\n"
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"before an include, in the included file",
			map[string]string{"nginx.conf": head + "include conf.d/a.conf;\ndefault_type b;\n}\n", "conf.d/a.conf": "default_type a;\n"},
			`"default_type" directive is duplicate in D/nginx.conf:4`},
		{"custom duplicate after an include",
			map[string]string{"nginx.conf": head + srv + "include conf.d/a.conf;\nroot /b;\n}\n}\n", "conf.d/a.conf": "root /a;\n"},
			`"root" directive is duplicate in D/nginx.conf:5`},
		{"nested blocks keep their own",
			map[string]string{"nginx.conf": head + srv + "location / { root /a; proxy_http_version 1.1; }\nroot /b;\nproxy_http_version 1.0;\n}\n}\n"},
			"<nil>"},
		{"root after alias",
			map[string]string{"nginx.conf": head + srv + "location / { alias /a/;\nroot /b;\n}\n}\n}\n"},
			`"root" directive is duplicate, "alias" directive was specified earlier in D/nginx.conf:5`},
		{"after many repeatable ones",
			map[string]string{"nginx.conf": head + srv + "location / { include conf.d/a.conf;\nproxy_http_version 1.0;\n}\n}\n}\n", "conf.d/a.conf": many},
			`"proxy_http_version" directive is duplicate in D/nginx.conf:5`},
		{"between two included files",
			map[string]string{"nginx.conf": head + srv + "location / { include conf.d/*.conf;\n}\n}\n}\n", "conf.d/a.conf": "expires 1h;\n", "conf.d/b.conf": "expires 2h;\n"},
			`"expires" directive is duplicate in D/conf.d/b.conf:1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeTree(t, tt.files)
			_, err := Load(dir+"nginx.conf", Options{Prefix: dir})
			got := "<nil>"
			if err != nil {
				got = strings.ReplaceAll(err.Error(), dir, "D/")
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestDupKeysBounded: a block's keys hold each key once, so a block of
// any length costs a bounded scan per directive (Load stays linear).
func TestDupKeysBounded(t *testing.T) {
	names := []string{"proxy_set_header", "server", "root", "alias", "proxy_http_version", "expires", "add_header"}
	add := func(seen []dupKey, rounds int) []dupKey {
		for range rounds {
			for _, name := range names {
				seen = addDupKeys(seen, 0, name)
			}
		}
		return seen
	}
	once := add(nil, 1)
	if len(once) == 0 {
		t.Fatal("no keys for root, alias, proxy_http_version")
	}
	if diff := cmp.Diff(once, add(nil, 10000), cmp.AllowUnexported(dupKey{})); diff != "" {
		t.Errorf("keys after 10000 rounds (-once +many):\n%s", diff)
	}
}

// TestLoadSnapshot: loading from a Config's Files gives the same files in
// the same order after the disk changed (files edited, added, removed), as
// a worker loads what its master read.
func TestLoadSnapshot(t *testing.T) {
	files := map[string]string{
		"nginx.conf": head + "include c/*.conf;\ninclude d/x;\nserver { listen 127.0.0.1:8001; }\n}\n",
		"c/a.conf":   "server { listen 127.0.0.1:8002; }\n",
		"c/b.conf":   "server { listen 127.0.0.1:8003; }\n",
		"c/.h.conf":  "bogus;\n",
		"d/x":        "# x\n",
	}
	dir := writeTree(t, files)
	cfg, err := Load(dir+"nginx.conf", Options{})
	if err != nil {
		t.Fatal(err)
	}
	snapshot := map[string][]byte{}
	var want []string
	for _, f := range cfg.Files {
		snapshot[f.Path] = f.Data
		want = append(want, f.Path+"="+string(f.Data))
	}
	os.WriteFile(dir+"nginx.conf", []byte("bogus;\n"), 0o644)
	os.WriteFile(dir+"c/c.conf", []byte("bogus;\n"), 0o644)
	os.Remove(dir + "c/a.conf")
	os.Remove(dir + "d/x")
	again, err := Load(dir+"nginx.conf", Options{Files: snapshot})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range again.Files {
		got = append(got, f.Path+"="+string(f.Data))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	if _, err := Load(dir+"other.conf", Options{Files: snapshot}); err == nil || !strings.Contains(err.Error(), "No such file") {
		t.Errorf("a file not in the snapshot: %v", err)
	}
}
