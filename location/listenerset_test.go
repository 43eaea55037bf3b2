package location

import (
	"errors"
	"net"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type fakeListening struct {
	key     string
	events  *[]string
	started bool
}

func (f *fakeListening) Start() { f.started = true; *f.events = append(*f.events, "start "+f.key) }
func (f *fakeListening) Close() { *f.events = append(*f.events, "close "+f.key) }

func TestListenerSetUpdate(t *testing.T) {
	var events []string
	ls := NewListenerSet[*fakeListening](true)
	opener := func(keys []string, fail string) func(int) (*fakeListening, error) {
		return func(i int) (*fakeListening, error) {
			if keys[i] == fail {
				events = append(events, "fail "+keys[i])
				return nil, errors.New("bind failed")
			}
			events = append(events, "open "+keys[i])
			return &fakeListening{key: keys[i], events: &events}, nil
		}
	}
	var bound []string
	bind := func(all []*fakeListening) {
		bound = bound[:0]
		for _, l := range all {
			bound = append(bound, l.key)
		}
		events = append(events, "bind")
	}
	step := func(name string, keys []string, fail string, wantErr bool, want []string) {
		t.Helper()
		events = nil
		err := ls.Update(keys, opener(keys, fail), bind)
		if (err != nil) != wantErr {
			t.Fatalf("%s: err %v", name, err)
		}
		if diff := cmp.Diff(want, events); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	// Held until Serve: opened and bound, not started.
	step("first", []string{"a", "b"}, "", false, []string{"open a", "open b", "bind"})
	events = nil
	ls.Serve()
	if diff := cmp.Diff([]string{"start a", "start b"}, events); diff != "" {
		t.Errorf("serve (-want +got):\n%s", diff)
	}
	// A failed open closes only what this update opened; a and b stay.
	step("failed", []string{"a", "c", "d"}, "d", true, []string{"open c", "fail d", "close c"})
	// b is kept (no open), c opens and starts, a closes.
	step("reload", []string{"c", "b"}, "", false, []string{"open c", "bind", "start c", "close a"})
	if diff := cmp.Diff([]string{"c", "b"}, bound); diff != "" {
		t.Errorf("bound (-want +got):\n%s", diff)
	}
	events = nil
	ls.CloseAll()
	if len(events) != 2 || len(ls.byKey) != 0 {
		t.Errorf("close all: %v, %d left", events, len(ls.byKey))
	}
}

func TestConnSetCloseAll(t *testing.T) {
	var s ConnSet
	a, a2 := net.Pipe()
	b, b2 := net.Pipe()
	defer a2.Close()
	defer b2.Close()
	defer b.Close()
	s.Track(a, true)
	s.Track(b, true)
	s.Track(b, false) // its session ended
	s.CloseAll()
	if _, err := a.Write([]byte("x")); err == nil {
		t.Error("a tracked connection is still open after CloseAll")
	}
	go b2.Read(make([]byte, 1))
	if _, err := b.Write([]byte("x")); err != nil {
		t.Errorf("an untracked connection was closed: %v", err)
	}
}
