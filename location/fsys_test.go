package location

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gonginx/gonginx/nginxconf"
)

// openFile under each disable_symlinks mode, against a tree with links to
// files and directories, loops and dangling links.
func TestOpenFileSymlinks(t *testing.T) {
	dir := t.TempDir()
	mk := func(name, content string) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ln := func(target, name string) {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	mk("a/file", "x")
	ln("file", "a/link")
	ln("a", "dirlink")
	ln("loop", "loop")
	ln("nowhere", "dangling")
	if os.Getuid() == 0 {
		mk("b/other", "y")
		if err := os.Chown(filepath.Join(dir, "b/other"), 65534, 65534); err != nil {
			t.Fatal(err)
		}
		ln("../b/other", "a/otherlink")
	}

	type want struct {
		Errno  syscall.Errno
		Failed string
	}
	tests := []struct {
		name string
		path string
		rule openRule
		want want
	}{
		{"off follows", "a/link", openRule{}, want{0, ""}},
		{"off dir link", "dirlink/file", openRule{}, want{0, ""}},
		{"off missing", "a/none", openRule{}, want{syscall.ENOENT, failedOpen}},
		{"on plain", "a/file", openRule{mode: symlinksOn}, want{0, ""}},
		{"on link", "a/link", openRule{mode: symlinksOn}, want{syscall.ELOOP, failedOpenat}},
		{"on dir link in the middle", "dirlink/file", openRule{mode: symlinksOn}, want{syscall.ENOTDIR, failedOpenat}},
		{"on loop", "loop", openRule{mode: symlinksOn}, want{syscall.ELOOP, failedOpenat}},
		{"on dangling", "dangling", openRule{mode: symlinksOn}, want{syscall.ELOOP, failedOpenat}},
		{"on double slashes and dots", "/./a//file", openRule{mode: symlinksOn}, want{0, ""}},
		{"on trailing slash on a file", "a/file/", openRule{mode: symlinksOn}, want{syscall.ENOTDIR, failedOpenat}},
		{"on trailing slash on a dir", "a/", openRule{mode: symlinksOn}, want{0, ""}},
		{"not owner same owner", "a/link", openRule{mode: symlinksNotOwner}, want{0, ""}},
		{"not owner dir link same owner", "dirlink/file", openRule{mode: symlinksNotOwner}, want{0, ""}},
		{"from skips the checked prefix", "dirlink/file", openRule{mode: symlinksOn, from: -1}, want{0, ""}},
	}
	if os.Getuid() == 0 {
		tests = append(tests, struct {
			name string
			path string
			rule openRule
			want want
		}{"not owner other owner", "a/otherlink", openRule{mode: symlinksNotOwner}, want{syscall.ELOOP, failedOpenat}})
	}
	var buf []byte
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := dir + "/" + tt.path
			rule := tt.rule
			if rule.from < 0 {
				rule.from = len(dir + "/dirlink")
			}
			fd, e, failed := openFile(&buf, []byte(path), rule, oRead)
			if e == 0 {
				syscall.Close(fd)
				failed = ""
			}
			if diff := cmp.Diff(tt.want, want{e, failed}); diff != "" {
				t.Errorf("openFile(%q, %+v) (-want +got):\n%s", path, rule, diff)
			}
		})
	}
}

// The disable_symlinks arguments nginx accepts and the errors it gives.
func TestDisableSymlinksArgs(t *testing.T) {
	tests := []struct {
		args     []string
		wantMode uint8
		wantFrom string
		wantErr  string
	}{
		{[]string{"off"}, symlinksOff, "", ""},
		{[]string{"on"}, symlinksOn, "", ""},
		{[]string{"if_not_owner"}, symlinksNotOwner, "", ""},
		{[]string{"on", "from=$document_root"}, symlinksOn, "$document_root", ""},
		{[]string{"from=/x", "if_not_owner"}, symlinksNotOwner, "/x", ""},
		{[]string{"yes"}, 0, "", `invalid parameter "yes"`},
		{[]string{"from=/x"}, 0, "", `"disable_symlinks" must have "off", "on" or "if_not_owner" parameter`},
		{[]string{"on", "off"}, 0, "", `duplicate parameters "on off"`},
		{[]string{"off", "from=/x"}, 0, "", `"from=" cannot be used with "off" parameter`},
	}
	for _, tt := range tests {
		conf := defaultLocConf()
		err := disableSymlinks(conf, &nginxconf.Directive{Name: "disable_symlinks", Args: tt.args})
		gotErr := ""
		if err != nil {
			gotErr = err.Error()
		}
		got := []any{conf.symlinks, conf.symlinksFromRaw, gotErr}
		want := []any{tt.wantMode, tt.wantFrom, tt.wantErr}
		if tt.wantErr != "" {
			got, want = got[2:], want[2:]
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("disable_symlinks %v (-want +got):\n%s", tt.args, diff)
		}
	}
}
