package location

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// FuzzParseRange: a client's Range header never panics and never yields a
// range outside the file.
func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"bytes=0-0", "bytes=-5", "bytes=5-", "bytes=1-2,4-5", "bytes=9999999999999999999-", "bytes=-", "bytes= 3 - 4 "} {
		f.Add(s, int64(10))
	}
	f.Fuzz(func(t *testing.T, v string, size int64) {
		if size < 0 {
			size = -size
		}
		ranges, code := parseRanges([]byte(v), size, nil, -1)
		if code != 206 {
			return
		}
		var total int64
		for _, r := range ranges {
			if r.start < 0 || r.end <= r.start || r.end > size {
				t.Fatalf("parseRanges(%q, %d): %v outside the file", v, size, r)
			}
			total += r.end - r.start
		}
		if total > size {
			t.Fatalf("parseRanges(%q, %d): %d bytes of ranges", v, size, total)
		}
	})
}

// FuzzETagList: If-None-Match lists never panic.
func FuzzETagList(f *testing.F) {
	f.Add(`"a", W/"b", *`, `"b"`)
	f.Fuzz(func(t *testing.T, list, etag string) {
		etagListMatch([]byte(list), []byte(etag), true)
	})
}

// FuzzOpenFileNoSymlinks: whatever path a request maps to, disable_symlinks
// on never opens a file reached through a symlink: what it opens is
// exactly the path as written, with "." and ".." taken lexically.
func FuzzOpenFileNoSymlinks(f *testing.F) {
	dir := f.TempDir()
	for _, p := range []string{"a/b", "a/c"} {
		os.MkdirAll(filepath.Join(dir, p), 0o755)
	}
	os.WriteFile(filepath.Join(dir, "a/b/f"), []byte("f"), 0o644)
	os.WriteFile(filepath.Join(dir, "a/g"), []byte("g"), 0o644)
	os.Symlink("b", filepath.Join(dir, "a/lb"))
	os.Symlink("../g", filepath.Join(dir, "a/b/lg"))
	os.Symlink("/etc", filepath.Join(dir, "a/etc"))
	os.Symlink("lp", filepath.Join(dir, "a/lp"))
	for _, s := range []string{"a/b/f", "a/lb/f", "a/b/lg", "a/etc/hostname", "a/./b//f", "a/b/../g", "a/lb/../g", "a/lp", "a/b/f/", "a/"} {
		f.Add(s)
	}
	var buf []byte
	f.Fuzz(func(t *testing.T, rel string) {
		if strings.IndexByte(rel, 0) >= 0 {
			return
		}
		path := dir + "/" + rel
		fd, e, _ := openFile(&buf, []byte(path), openRule{mode: symlinksOn}, oRead)
		if e != 0 {
			return
		}
		defer syscall.Close(fd)
		got, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
		if err != nil {
			t.Skip("no /proc")
		}
		// Lexically resolved, as openat walks it (".." of a real
		// directory is its parent).
		want := filepath.Clean(path)
		if got != want {
			t.Fatalf("openFile(%q) opened %q, not %q", rel, got, want)
		}
	})
}
