package filecache

import (
	"os"
	"path/filepath"
	"testing"
	"time"

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

// A stored entry reads back with its times, key, Vary, ETag, head, head
// index and body; Refresh rewrites its times only.
func TestStoreOpenRefresh(t *testing.T) {
	z := NewZone("z", t.TempDir(), []int{1, 2}, 0, 0, 0)
	k := Sum([]byte("key"))
	m := Meta{ValidSec: 100, UpdatingSec: 2, ErrorSec: 3, LastModified: -1, Date: 50, Key: []byte("key"),
		Vary: []byte("Accept"), ETag: []byte(`"e"`), Head: []byte("HTTP/1.1 200 OK\r\n\r\n"), HeadIndex: []byte("index"), Variant: Sum([]byte("v"))}
	var w Writer
	if err := z.Begin(&w, k, &m, nil); err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("body "))
	w.Write([]byte("bytes"))
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	e := Entry{Fd: -1}
	defer e.Close()
	found, err := z.Open(k, &e, time.Now())
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
	if found, _ := z.Open(k, &e, time.Now()); !found || e.ValidSec != 200 || e.Date != 60 || string(e.Head) != string(m.Head) {
		t.Errorf("after Refresh: valid %d date %d head %q", e.ValidSec, e.Date, e.Head)
	}
	if found, _ := z.Open(Sum([]byte("other")), &e, time.Now()); found {
		t.Error("a key never stored was found")
	}
}

// Open reads a small file whole: ReadAt gives its body from that read,
// a longer body's rest from the file, in chunks of any size, and the
// length is the file's whether the read filled the buffer or not.
func TestReadAtAcrossOpensRead(t *testing.T) {
	z := NewZone("z", t.TempDir(), []int{1}, 0, 0, 0)
	m := Meta{LastModified: -1, Key: []byte("k"), Head: []byte("HTTP/1.1 200 OK\r\n\r\n")}
	hl := len(appendHeader(nil, &m))
	for _, size := range []int{0, 1, 100, 1024 - hl - 1, 1024 - hl, 1024 - hl + 1, 5000} {
		body := make([]byte, size)
		for i := range body {
			body[i] = byte('a' + i%23)
		}
		k := Sum([]byte{byte(size), byte(size >> 8)})
		var w Writer
		if err := z.Begin(&w, k, &m, nil); err != nil {
			t.Fatal(err)
		}
		w.Write(body)
		if err := w.Commit(); err != nil {
			t.Fatal(err)
		}
		e := Entry{Fd: -1}
		if found, err := z.Open(k, &e, time.Now()); !found || err != nil {
			t.Fatalf("size %d: Open: %v %v", size, found, err)
		}
		if e.BodyLength() != int64(size) {
			t.Errorf("size %d: BodyLength %d", size, e.BodyLength())
		}
		for _, chunk := range []int{7, 4096} {
			var got []byte
			buf := make([]byte, chunk)
			for off := int64(0); off < e.BodyLength(); {
				n, err := e.ReadAt(buf[:min(int64(chunk), e.BodyLength()-off)], off)
				if err != nil || n == 0 {
					t.Fatalf("size %d chunk %d: ReadAt at %d: %d %v", size, chunk, off, n, err)
				}
				got = append(got, buf[:n]...)
				off += int64(n)
			}
			if string(got) != string(body) {
				t.Errorf("size %d chunk %d: body differs (%d bytes read)", size, chunk, len(got))
			}
		}
		e.Close()
	}
}

// A cached error answers until it expires or a response is stored for
// its key, then not; one set again after either answers again (Error
// skips the lookup only while no key has one).
func TestErrorCachedUntilExpiredOrStored(t *testing.T) {
	z := NewZone("z", t.TempDir(), []int{1}, 0, 0, 0)
	a, b := Sum([]byte("a")), Sum([]byte("b"))
	if st := z.Error(a, 100); st != 0 {
		t.Fatalf("nothing cached: %d", st)
	}
	z.SetError(a, 404, 200)
	z.SetError(b, 502, 300)
	z.SetError(b, 503, 300) // replaced, still one
	if st := z.Error(a, 150); st != 404 {
		t.Errorf("a before it expires: %d, want 404", st)
	}
	if st := z.Error(a, 201); st != 0 {
		t.Errorf("a expired: %d, want 0", st)
	}
	if st := z.Error(b, 201); st != 503 {
		t.Errorf("b while a expired: %d, want 503", st)
	}
	var w Writer
	m := Meta{LastModified: -1, Key: []byte("b"), Head: []byte("HTTP/1.1 200 OK\r\n\r\n")}
	if err := z.Begin(&w, b, &m, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if st := z.Error(b, 201); st != 0 {
		t.Errorf("b after a response was stored: %d, want 0", st)
	}
	if n := z.errs.Load(); n != 0 {
		t.Errorf("%d errors counted with none cached", n)
	}
	z.SetError(a, 500, 400)
	if st := z.Error(a, 300); st != 500 {
		t.Errorf("a set again: %d, want 500", st)
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

// UpdatingUntil is the holder's lock age (nginx's node->lock_time), the
// zero time once the lock is given back.
func TestUpdatingUntil(t *testing.T) {
	z := NewZone("z", t.TempDir(), nil, 0, 0, 0)
	k := Sum([]byte("k"))
	before := time.Now()
	z.TryUpdate(k, time.Hour)
	until := z.UpdatingUntil(k)
	got := []bool{until.After(before), !until.After(time.Now().Add(time.Hour))}
	z.Done(k)
	got = append(got, z.UpdatingUntil(k).IsZero())
	if d := cmp.Diff([]bool{true, true, true}, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

// The manager: files on disk are loaded as just used; one unused for
// longer than inactive goes, and the least recently used go while the
// cache is over max_size.
func TestManager(t *testing.T) {
	dir := t.TempDir()
	z := NewZone("z", dir, []int{1}, time.Minute, 0, 0)
	store := func(key string, body int) Key {
		k := Sum([]byte(key))
		var w Writer
		m := Meta{Key: []byte(key), Head: []byte("HTTP/1.1 200 OK\r\n\r\n")}
		if err := z.Begin(&w, k, &m, nil); err != nil {
			t.Fatal(err)
		}
		w.Write(make([]byte, body))
		if err := w.Commit(); err != nil {
			t.Fatal(err)
		}
		return k
	}
	a, b, c := store("a", 1000), store("b", 1000), store("c", 1000)
	z.Stop()
	exists := func(ks ...Key) []bool {
		var got []bool
		for _, k := range ks {
			_, err := os.Stat(z.FileName(k))
			got = append(got, err == nil)
		}
		return got
	}
	// A new zone on the same path (a restart) loads them.
	z2 := NewZone("z", dir, []int{1}, time.Minute, 0, 0)
	z2.load()
	z2.expire(time.Now())
	if d := cmp.Diff([]bool{true, true, true}, exists(a, b, c)); d != "" {
		t.Errorf("loaded (-want +got):\n%s", d)
	}
	z2.expire(time.Now().Add(2 * time.Minute))
	if d := cmp.Diff([]bool{false, false, false}, exists(a, b, c)); d != "" {
		t.Errorf("inactive (-want +got):\n%s", d)
	}
	z3 := NewZone("z", dir, []int{1}, time.Hour, 2500, 0)
	z = z3
	a, b, c = store("a", 1000), store("b", 1000), store("c", 1000)
	var e Entry
	e.Fd = -1
	z3.Open(a, &e, time.Now()) // a used last
	e.Close()
	z3.expire(time.Now())
	z3.Stop()
	if d := cmp.Diff([]bool{true, false, true}, exists(a, b, c)); d != "" {
		t.Errorf("max_size (-want +got):\n%s", d)
	}
}

// A file of version 1 (no head index) is still read; a head index that
// would make the header longer than a reader takes is dropped, not the
// entry.
func TestHeadIndexVersions(t *testing.T) {
	m := Meta{LastModified: -1, Key: []byte("k"), Head: []byte("HTTP/1.1 200 OK\r\n\r\n"), HeadIndex: []byte("idx")}
	b := appendHeader(nil, &m)
	v1 := append([]byte{}, b[:len(b)-len(m.HeadIndex)]...)
	v1[4], v1[76], v1[77] = 1, 0, 0
	var got Meta
	if n, err := decodeHeader(append(v1, "body"...), &got); n != len(v1) || err != nil {
		t.Fatalf("version 1: %d %v, want %d", n, err, len(v1))
	}
	if string(got.Head) != string(m.Head) || len(got.HeadIndex) != 0 {
		t.Errorf("version 1: head %q index %q", got.Head, got.HeadIndex)
	}
	v1[4] = 3
	if _, err := decodeHeader(v1, &got); err != ErrCorrupt {
		t.Errorf("version 3: %v, want ErrCorrupt", err)
	}
	m.Head = make([]byte, maxMetaLen-fixedSize-len(m.Key))
	m.HeadIndex = []byte("idx")
	b = appendHeader(nil, &m)
	if n, err := decodeHeader(b, &got); n != len(b) || err != nil || len(got.HeadIndex) != 0 || len(got.Head) != len(m.Head) {
		t.Errorf("full header: %d %v, index %q", n, err, got.HeadIndex)
	}
}

// use_temp_path: the file Begin's create made (in another directory) is
// the entry once committed, moved into the zone; copyInto, the move
// across file systems, leaves the same entry.
func TestBeginInTempPath(t *testing.T) {
	for _, copied := range []bool{false, true} {
		z := NewZone("z", t.TempDir(), []int{1, 2}, 0, 0, 0)
		temp := t.TempDir()
		k := Sum([]byte("key"))
		m := Meta{ValidSec: 100, LastModified: -1, Key: []byte("key"), Head: []byte("HTTP/1.1 200 OK\r\n\r\n")}
		var w Writer
		if err := z.Begin(&w, k, &m, func() (*os.File, error) { return os.CreateTemp(temp, "t") }); err != nil {
			t.Fatal(err)
		}
		w.Write([]byte("body"))
		if copied {
			tmp := w.f.Name()
			w.f.Close()
			w.f = nil
			if err := os.MkdirAll(filepath.Dir(z.FileName(k)), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := z.copyInto(tmp, z.FileName(k)); err != nil {
				t.Fatal(err)
			}
		} else if err := w.Commit(); err != nil {
			t.Fatal(err)
		}
		if left, _ := os.ReadDir(temp); len(left) != 0 {
			t.Errorf("copied %v: %d files left in the temporary path", copied, len(left))
		}
		e := Entry{Fd: -1}
		found, err := z.Open(k, &e, time.Now())
		if !found || err != nil || e.BodyLength() != 4 {
			t.Errorf("copied %v: Open: %v %v, body %d bytes", copied, found, err, e.BodyLength())
		}
		e.Close()
	}
}
