package nginxconf

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCheckEvents(t *testing.T) {
	cfg := &Config{Tree: []*Directive{{Name: "http", Block: []*Directive{}}}}
	err := Check(cfg)
	if err == nil || err.Error() != `no "events" section in configuration` {
		t.Errorf("Check without events = %v", err)
	}
	cfg.Tree = append(cfg.Tree, &Directive{Name: "events", Block: []*Directive{}})
	if err := Check(cfg); err != nil {
		t.Errorf("Check with events = %v", err)
	}
}

// TestCheckFiles: the messages nginx 1.22 -t printed for the same
// directives; "D/" stands for the temp dir.
func TestCheckFiles(t *testing.T) {
	tests := []struct {
		name string
		conf string
		want string
	}{
		{"temp path parent missing", "events{}\nhttp{access_log off; proxy_temp_path D/no/tmp;}\n", `mkdir() "D/no/tmp" failed (2: No such file or directory)`},
		{"error log dir missing", "error_log D/no/e.log;\nevents{}\n", `open() "D/no/e.log" failed (2: No such file or directory)`},
		{"access log dir missing", "events{}\nhttp{access_log D/no/a.log;}\n", `open() "D/no/a.log" failed (2: No such file or directory)`},
		{"paths before files", "error_log D/no/e.log;\nevents{}\nhttp{access_log off; fastcgi_cache_path D/no/c keys_zone=z:1m;}\n", `mkdir() "D/no/c" failed (2: No such file or directory)`},
		{"created", "error_log stderr;\nevents{}\nhttp{access_log D/a.log; access_log D/$host.log; client_body_temp_path D/body;}\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir() + "/"
			conf := strings.ReplaceAll(tt.conf, "D/", dir)
			if err := os.WriteFile(dir+"nginx.conf", []byte(conf), 0o644); err != nil {
				t.Fatal(err)
			}
			cfg, err := Load(dir+"nginx.conf", Options{Prefix: dir})
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if err := Check(cfg); err != nil {
				got = strings.ReplaceAll(err.Error(), dir, "D/")
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestPasswordLines(t *testing.T) {
	for _, tt := range []struct {
		content string
		want    []string
	}{
		{"one\r\n\ntwo\nthree", []string{"one", "two", "three"}},
		{"", []string{""}},
		{"\n\r\n", []string{""}},
	} {
		if d := cmp.Diff(tt.want, passwordLines([]byte(tt.content))); d != "" {
			t.Errorf("%q (-want +got):\n%s", tt.content, d)
		}
	}
}
