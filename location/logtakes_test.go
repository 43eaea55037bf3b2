package location

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestLoggerTakes: takes, which lets a caller skip making a message,
// says whether logTo writes the line anywhere (the main log's writer at
// its level, the main context's other logs, or the level's rules).
func TestLoggerTakes(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "other.log")
	for _, tc := range []struct {
		name     string
		level    string    // SetLevel
		main     []MainLog // SetMainLogs
		rules    []errorLogRule
		wantTake bool
	}{
		{name: "main log at error", level: "error"},
		{name: "main log at info", level: "info", wantTake: true},
		{name: "main log keeps every line", level: "", wantTake: true},
		{name: "another main log at info", level: "error", main: []MainLog{{Dest: file, Level: "info"}}, wantTake: true},
		{name: "another main log at notice", level: "error", main: []MainLog{{Dest: file, Level: "notice"}}},
		{name: "the level's rule at error", level: "", rules: []errorLogRule{{path: file, rank: levelRank("error")}}},
		{name: "the level's rule at info", level: "error", rules: []errorLogRule{{path: file, rank: levelRank("info")}}, wantTake: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os.Remove(file)
			var w bytes.Buffer
			l := NewLogger(&w)
			l.SetLevel(tc.level)
			if err := l.SetMainLogs(tc.main); err != nil {
				t.Fatal(err)
			}
			took := l.takes(tc.rules, levelRank("info"))
			l.logTo(tc.rules, "info", "*1 client 127.0.0.1 closed keepalive connection")
			fileBytes, _ := os.ReadFile(file)
			wrote := w.Len() > 0 || len(fileBytes) > 0
			if diff := cmp.Diff([]bool{tc.wantTake, tc.wantTake}, []bool{took, wrote}); diff != "" {
				t.Errorf("(takes, wrote) (-want +got):\n%s", diff)
			}
		})
	}
	var nilLog *Logger
	if nilLog.takes(nil, levelRank("info")) {
		t.Error("a nil Logger takes lines")
	}
}
