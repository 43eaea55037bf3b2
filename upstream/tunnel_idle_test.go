package upstream

import (
	"testing"
	"time"

	"github.com/gonginx/gonginx/upstream/poller"
	"github.com/google/go-cmp/cmp"
)

// TestIdleHeapOrder: tunnels' idle deadlines are kept in one heap; each
// knows its place (taken out from anywhere in O(log n)), the earliest is
// at the top, and one taken out is no longer there (a second remove
// reports it gone).
func TestIdleHeapOrder(t *testing.T) {
	var h idleHeap
	base := poller.Nanotime() + int64(time.Hour) // never fires in the test
	offsets := []int64{50, 10, 40, 30, 20, 60, 0}
	ts := make([]*tunnel, len(offsets))
	for i, off := range offsets {
		ts[i] = &tunnel{}
		h.add(ts[i], base+off)
	}
	defer h.timer.Stop()
	for _, i := range []int{2, 6, 0} { // deadlines +40, +0 (the top), +50
		if !h.remove(ts[i]) {
			t.Errorf("remove of tunnel %d: not in the heap", i)
		}
		if h.remove(ts[i]) {
			t.Errorf("second remove of tunnel %d: still in the heap", i)
		}
	}
	for i, x := range h.heap {
		if int(x.idleIdx) != i+1 {
			t.Errorf("heap[%d] says it is at %d", i, x.idleIdx-1)
		}
	}
	var order []int64
	for len(h.heap) > 0 {
		order = append(order, h.heap[0].idleAt-base)
		h.take(0)
	}
	if diff := cmp.Diff([]int64{10, 20, 30, 60}, order); diff != "" {
		t.Errorf("deadlines in order (-want +got):\n%s", diff)
	}
}
