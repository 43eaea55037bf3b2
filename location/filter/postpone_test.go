package filter

import (
	"bytes"
	"errors"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// sinkLink records the bytes it gets, a flush as "|", the end as "$"; it
// fails every write once fail is set.
type sinkLink struct {
	got  bytes.Buffer
	fail error
}

func (l *sinkLink) SetNext(Link) {}
func (l *sinkLink) Body(p []byte, flush, last bool) error {
	if l.fail != nil {
		return l.fail
	}
	l.got.Write(p)
	if flush {
		l.got.WriteByte('|')
	}
	if last {
		l.got.WriteByte('$')
	}
	return nil
}

// TestPostponeOrder: subrequests beside the request write in any order
// (the second ends first); the client gets document order, the request's
// own output between them where it was written.
func TestPostponeOrder(t *testing.T) {
	tests := []struct {
		name  string
		order []int // which segment writes first, by index
		want  string
	}{
		{"in order", []int{0, 1}, "a[A0A1]b|[B0B1]c$"},
		{"second first", []int{1, 0}, "a[A0A1]b|[B0B1]c$"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out sinkLink
			var l Postpone
			l.SetNext(&out)
			l.Reset()
			l.Body([]byte("a"), false, false)
			segA := l.Start()
			l.Body([]byte("b"), true, false) // a flush waits for its turn
			segB := l.Start()
			l.Body([]byte("c"), false, false)
			segs := []*Segment{segA, segB}
			names := []string{"A", "B"}
			var wg sync.WaitGroup
			for _, i := range tt.order {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					s := segs[i]
					s.Write([]byte("[" + names[i] + "0"))
					s.Pass()
					s.Write([]byte(names[i] + "1]"))
					s.Done()
				}(i)
				wg.Wait() // one after the other, in tt.order
			}
			if err := l.Body(nil, false, true); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, out.got.String()); d != "" {
				t.Errorf("-want +got:\n%s", d)
			}
		})
	}
}

// TestPostponeWaitPassed: the request goes on once the subrequest passed
// its turn, passing on what it wrote before.
func TestPostponeWaitPassed(t *testing.T) {
	var out sinkLink
	var l Postpone
	l.SetNext(&out)
	l.Reset()
	s := l.Start()
	release := make(chan struct{})
	go func() {
		s.Write([]byte("head"))
		s.Pass()
		<-release
		s.Write([]byte("-tail"))
		s.Done()
	}()
	if err := l.WaitPassed(s); err != nil {
		t.Fatal(err)
	}
	l.Body([]byte("!"), false, false)
	close(release)
	if err := l.Drain(); err != nil {
		t.Fatal(err)
	}
	l.Body([]byte("after"), false, true)
	if d := cmp.Diff("head-tail!after$", out.got.String()); d != "" {
		t.Errorf("-want +got:\n%s", d)
	}
}

// TestPostponeBackpressure: the subrequest in turn waits while more than
// maxKept of its output is not passed on; one not in turn is kept whole.
func TestPostponeBackpressure(t *testing.T) {
	var out sinkLink
	var l Postpone
	l.SetNext(&out)
	l.Reset()
	first := l.Start()
	second := l.Start()
	big := bytes.Repeat([]byte("x"), maxKept)
	done := make(chan struct{})
	go func() {
		second.Write(big)
		second.Write(big) // not in turn: kept, no wait
		second.Done()
		first.Write(big)
		first.Write(big) // in turn and full: waits for the request
		first.Done()
		close(done)
	}()
	if err := l.Body(nil, false, true); err != nil {
		t.Fatal(err)
	}
	<-done
	if got, want := out.got.Len(), 4*maxKept+1; got != want {
		t.Errorf("passed on %d bytes, want %d", got, want)
	}
}

// TestPostponeAbort: a failed client write fails the subrequests'
// writes, and Abort ends a wait for them.
func TestPostponeAbort(t *testing.T) {
	var out sinkLink
	var l Postpone
	l.SetNext(&out)
	l.Reset()
	s := l.Start()
	errGone := errors.New("gone")
	out.fail = errGone
	s.Write([]byte("x"))
	if err := l.Drain(); !errors.Is(err, errGone) {
		t.Fatalf("Drain: %v, want %v", err, errGone)
	}
	if err := s.Write([]byte("y")); !errors.Is(err, errGone) {
		t.Fatalf("Write after the failure: %v, want %v", err, errGone)
	}
	s.Done()

	var l2 Postpone
	l2.SetNext(&sinkLink{})
	l2.Reset()
	s2 := l2.Start()
	go l2.Abort(ErrAborted)
	if err := l2.Drain(); !errors.Is(err, ErrAborted) {
		t.Fatalf("Drain: %v, want %v", err, ErrAborted)
	}
	if err := s2.Write([]byte("z")); !errors.Is(err, ErrAborted) {
		t.Fatalf("Write after Abort: %v", err)
	}
}

// TestPostponeWaitEarlier: a later subrequest that ended first waits for
// the earlier ones' end before what follows its end (its log line), as
// nginx finalizes subrequests in output order.
func TestPostponeWaitEarlier(t *testing.T) {
	var out sinkLink
	var l Postpone
	l.SetNext(&out)
	l.Reset()
	first, second := l.Start(), l.Start()
	var order []string
	var mu sync.Mutex
	note := func(s string) { mu.Lock(); order = append(order, s); mu.Unlock() }
	ended := make(chan struct{})
	go func() {
		second.Write([]byte("b"))
		second.WaitEarlier()
		note("second logged")
		second.Done()
		close(ended)
	}()
	first.Write([]byte("a"))
	note("first logged")
	first.Done()
	<-ended
	if d := cmp.Diff([]string{"first logged", "second logged"}, order); d != "" {
		t.Errorf("-want +got:\n%s", d)
	}
	l.Body(nil, false, true)
	if d := cmp.Diff("ab$", out.got.String()); d != "" {
		t.Errorf("-want +got:\n%s", d)
	}
}
