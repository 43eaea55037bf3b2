package location

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestLogFileCache: open_log_file_cache max=3 min_uses=2 keeps a path's
// descriptor from its second use and drops the least recently used entry
// at the fourth path; a path that fails to open makes no entry. After the
// directory moves, only the paths still held open get their lines (into
// the moved files), as nginx's access_log.t checks.
func TestLogFileCache(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "dir")
	os.Mkdir(dir, 0o755)
	c := &logFileCache{max: 3, minUses: 2, inactive: time.Minute, valid: time.Minute, entries: map[string]*cachedLog{}}
	l := NewLogger(nil)
	for _, name := range []string{"lru", "lru", "once", "first", "first", "second", "second"} {
		if err := l.writeVarLog(c, filepath.Join(dir, name), []byte("/\n")); err != nil {
			t.Fatal(err)
		}
	}
	os.Rename(dir, dir+"_moved")
	for _, name := range []string{"lru", "once", "first", "second"} {
		l.writeVarLog(c, filepath.Join(dir, name), []byte("/\n"))
	}
	os.Rename(dir+"_moved", dir)
	got := map[string]int{}
	for _, name := range []string{"lru", "once", "first", "second"} {
		b, _ := os.ReadFile(filepath.Join(dir, name))
		got[name] = strings.Count(string(b), "/")
	}
	if d := cmp.Diff(map[string]int{"lru": 2, "once": 1, "first": 3, "second": 3}, got); d != "" {
		t.Errorf("lines per file (-want +got):\n%s", d)
	}
	c.close()
	if len(c.entries) != 0 {
		t.Errorf("entries left after close: %d", len(c.entries))
	}

	// Without a cache every line opens and closes its file.
	p := filepath.Join(base, "plain")
	for i := 0; i < 2; i++ {
		if err := l.writeVarLog(nil, p, []byte("x\n")); err != nil {
			t.Fatal(err)
		}
	}
	if b, _ := os.ReadFile(p); string(b) != "x\nx\n" {
		t.Errorf("plain: %q", b)
	}
	if err := l.writeVarLog(nil, filepath.Join(base, "nodir", "x"), []byte("x\n")); err == nil || !strings.HasPrefix(err.Error(), `open() "`) {
		t.Errorf("missing dir: %v", err)
	}
}
