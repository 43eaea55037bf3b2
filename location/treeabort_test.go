package location

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

type closeCounter struct{ closed int }

func (c *closeCounter) Close() error { c.closed++; return nil }

// TestTreeAbort: fire closes the backends watched now and any watched
// after it; a watch stopped before it is not touched.
func TestTreeAbort(t *testing.T) {
	var tree treeAbort
	a, b, c := &subWatch{t: &tree}, &subWatch{t: &tree}, &subWatch{t: &tree}
	var ba, bb, bc closeCounter
	a.WatchAbort(&ba)
	b.WatchAbort(&bb)
	stoppedB := b.StopWatch()
	tree.fire(true)
	firedA := a.StopWatch()
	c.WatchAbort(&bc) // after the tree ended: closed at once
	firedC := c.StopWatch()
	type result struct {
		Closed               [3]int
		FiredA, StopB, FireC bool
		Gone                 bool
	}
	want := result{Closed: [3]int{1, 0, 1}, FiredA: true, StopB: false, FireC: true, Gone: true}
	got := result{Closed: [3]int{ba.closed, bb.closed, bc.closed}, FiredA: firedA, StopB: stoppedB, FireC: firedC, Gone: tree.clientGone()}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("-want +got:\n%s", d)
	}
	tree.reset()
	if tree.clientGone() {
		t.Error("reset kept the hang-up")
	}
}
