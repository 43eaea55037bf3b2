package filecache

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFileName(t *testing.T) {
	k := Sum([]byte("http://127.0.0.1:8081/t.html"))
	z := NewZone("z", "/c", []int{1, 2}, 0, 0, 0)
	hx := z.FileName(k)[len("/c/x/yz/"):]
	want := "/c/" + hx[31:] + "/" + hx[29:31] + "/" + hx
	if d := cmp.Diff(want, z.FileName(k)); d != "" {
		t.Errorf("levels 1:2 (-want +got):\n%s", d)
	}
}

// A stored entry reads back with its times, key, Vary, ETag, head and
// body; Refresh rewrites its times only.
func TestStoreOpenRefresh(t *testing.T) {
	z := NewZone("z", t.TempDir(), []int{1, 2}, 0, 0, 0)
	k := Sum([]byte("key"))
	m := Meta{ValidSec: 100, UpdatingSec: 2, ErrorSec: 3, LastModified: -1, Date: 50, Key: []byte("key"),
		Vary: []byte("Accept"), ETag: []byte(`"e"`), Head: []byte("HTTP/1.1 200 OK\r\n\r\n"), Variant: Sum([]byte("v"))}
	var w Writer
	if err := z.Begin(&w, k, &m); err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("body "))
	w.Write([]byte("bytes"))
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	e := Entry{Fd: -1}
	defer e.Close()
	found, err := z.Open(k, &e)
	if !found || err != nil {
		t.Fatalf("Open: %v %v", found, err)
	}
	body := make([]byte, e.BodyLength())
	if _, err := e.ReadAt(body, 0); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(m, e.Meta); d != "" {
		t.Errorf("meta (-want +got):\n%s", d)
	}
	if d := cmp.Diff("body bytes", string(body)); d != "" {
		t.Errorf("body (-want +got):\n%s", d)
	}
	m2 := e.Meta
	m2.ValidSec, m2.Date = 200, 60
	if err := z.Refresh(&e, &m2); err != nil {
		t.Fatal(err)
	}
	if found, _ := z.Open(k, &e); !found || e.ValidSec != 200 || e.Date != 60 || string(e.Head) != string(m.Head) {
		t.Errorf("after Refresh: valid %d date %d head %q", e.ValidSec, e.Date, e.Head)
	}
	if found, _ := z.Open(Sum([]byte("other")), &e); found {
		t.Error("a key never stored was found")
	}
}

// The updating mark: one holder at a time, free again after Done or its
// lock age.
func TestTryUpdate(t *testing.T) {
	z := NewZone("z", t.TempDir(), nil, 0, 0, 0)
	k := Sum([]byte("k"))
	got := []bool{z.TryUpdate(k, 0), z.TryUpdate(k, 0), z.Updating(k)}
	z.Done(k)
	got = append(got, z.Updating(k), z.TryUpdate(k, 0))
	if d := cmp.Diff([]bool{true, false, true, false, true}, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}
