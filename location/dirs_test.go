package location

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDirReader reads a directory bigger than one getdents64 buffer, with
// a dangling and a looping link, as autoindex and random_index see it.
func TestDirReader(t *testing.T) {
	dir := t.TempDir()
	var want []string
	for i := 0; i < 1500; i++ {
		name := fmt.Sprintf("a-rather-long-file-name-%04d", i)
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		want = append(want, name+" file")
	}
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	os.Symlink("nowhere", filepath.Join(dir, "dangling"))
	os.Symlink("loop", filepath.Join(dir, "loop"))
	os.Symlink("sub", filepath.Join(dir, "sublink"))
	want = append(want, ". dir", ".. dir", "sub dir", "dangling other (lstat)", "loop other (lstat)", "sublink dir")
	slices.Sort(want)

	var d dirReader
	var nameBuf []byte
	if e := d.open(&nameBuf, []byte(dir)); e != 0 {
		t.Fatal(e)
	}
	defer d.close()
	var got []string
	for {
		name, typ, e := d.next()
		if e != 0 {
			t.Fatal(e)
		}
		if name == nil {
			break
		}
		var st syscall.Stat_t
		kind := ""
		if e := d.statAt(name, true, &st); e != 0 {
			if e != syscall.ENOENT && e != syscall.ELOOP {
				t.Fatalf("stat %s: %v", name, e)
			}
			if e := d.statAt(name, false, &st); e != 0 {
				t.Fatalf("lstat %s: %v", name, e)
			}
			if typ != dtLnk {
				t.Errorf("%s: d_type %d, want a link", name, typ)
			}
			kind = " (lstat)"
		}
		switch st.Mode & syscall.S_IFMT {
		case syscall.S_IFDIR:
			kind = " dir" + kind
		case syscall.S_IFREG:
			kind = " file" + kind
		default:
			kind = " other" + kind
		}
		got = append(got, string(name)+kind)
	}
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
}

func TestDirReaderOpenErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	os.WriteFile(file, nil, 0o644)
	var d dirReader
	var buf []byte
	for path, want := range map[string]syscall.Errno{filepath.Join(dir, "missing"): syscall.ENOENT, file: syscall.ENOTDIR} {
		if e := d.open(&buf, []byte(path)); e != want {
			t.Errorf("open %s: %v, want %v", path, e, want)
		}
	}
}
