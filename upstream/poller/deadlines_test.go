package poller

import (
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type timedItem struct {
	at   int64
	slot int32
	name int
}

func (x *timedItem) DueAt() int64     { return x.at }
func (x *timedItem) HeapSlot() *int32 { return &x.slot }

// checkFresh fails unless every fresh item knows its place.
func checkFresh(t *testing.T, d *Deadlines[*timedItem]) {
	t.Helper()
	for i := range d.fresh.n {
		if x := d.fresh.at(i).x; int(x.slot) != -(i + 1) {
			t.Fatalf("fresh[%d] says it is at %d", i, x.slot)
		}
	}
}

// settle moves the fresh items into the heap, as the timer's firing does.
func settle(d *Deadlines[*timedItem]) {
	d.mu.Lock()
	d.settleFresh()
	d.mu.Unlock()
}

// checkHeap fails unless every item knows its place and none is before
// its parent.
func checkHeap(t *testing.T, d *Deadlines[*timedItem]) {
	t.Helper()
	for i := range d.heap.n {
		x := d.entry(i).x
		if int(x.slot) != i+1 {
			t.Fatalf("heap[%d] says it is at %d", i, x.slot-1)
		}
		if p := (i - 1) / 2; i > 0 && d.entry(i).at < d.entry(p).at {
			t.Fatalf("heap[%d] before its parent", i)
		}
	}
}

// TestDeadlinesOrder: items added and removed in any order keep their
// places right (taken out from anywhere, fresh or in the heap; a second
// Add or Remove is a no-op), the heap they move into stays ordered, and
// the timer is armed for the earliest ever added.
func TestDeadlinesOrder(t *testing.T) {
	var d Deadlines[*timedItem]
	base := Nanotime() + int64(time.Hour) // never fires in the test
	offsets := []int64{50, 10, 70, 30, 30, 90, 20, 60, 0, 80, 40, 5}
	items := make([]*timedItem, len(offsets))
	for i, off := range offsets[:10] {
		items[i] = &timedItem{at: base + off, name: i}
		d.Add(items[i])
		d.Add(items[i])
	}
	defer d.timer.Stop()
	for _, i := range []int{8, 2, 9} { // 0 (the earliest), 70, 80 (the last added)
		if !d.Remove(items[i]) {
			t.Errorf("remove of fresh item %d: not there", i)
		}
		if d.Remove(items[i]) {
			t.Errorf("second remove of item %d: still there", i)
		}
		checkFresh(t, &d)
	}
	settle(&d)
	checkHeap(t, &d)
	if d.fresh.n != 0 {
		t.Fatalf("%d items left fresh", d.fresh.n)
	}
	// Added after: fresh again, beside the heap.
	for i := 10; i < len(offsets); i++ {
		items[i] = &timedItem{at: base + offsets[i], name: i}
		d.Add(items[i])
	}
	checkFresh(t, &d)
	if !d.Remove(items[5]) { // 90, in the heap
		t.Error("remove of item 5: not in the heap")
	}
	checkHeap(t, &d)
	if got := d.Len(); got != 8 {
		t.Errorf("Len %d, want 8", got)
	}
	settle(&d)
	checkHeap(t, &d)
	if d.armed != base {
		t.Errorf("armed for +%d, want the first added's +0", d.armed-base)
	}
	var order []int64
	for d.Len() > 0 {
		x := d.entry(0).x
		order = append(order, x.at-base)
		d.Remove(x)
		checkHeap(t, &d)
	}
	if diff := cmp.Diff([]int64{5, 10, 20, 30, 30, 40, 50, 60}, order); diff != "" {
		t.Errorf("deadlines in order (-want +got):\n%s", diff)
	}
	for i, x := range items {
		if x.slot != 0 {
			t.Errorf("item %d still placed: %d", i, x.slot)
		}
	}
}

// TestDeadlinesFire: when the timer fires, the items whose time passed
// are expired once each, except those Claim declines (taken meanwhile
// by someone else); the later ones wait, and the timer is armed for
// them.
func TestDeadlinesFire(t *testing.T) {
	var mu sync.Mutex
	var expired []int
	done := make(chan struct{})
	d := Deadlines[*timedItem]{
		Claim: func(x *timedItem) bool { return x.name != 1 },
		Expire: func(x *timedItem) {
			mu.Lock()
			expired = append(expired, x.name)
			if len(expired) == 2 {
				close(done)
			}
			mu.Unlock()
		},
	}
	now := Nanotime()
	later := &timedItem{at: now + int64(time.Hour), name: 3}
	d.Add(later)
	defer d.timer.Stop()
	for i, wait := range []time.Duration{20 * time.Millisecond, 10 * time.Millisecond, 30 * time.Millisecond} {
		d.Add(&timedItem{at: now + int64(wait), name: i})
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the timer did not expire the items that were due")
	}
	mu.Lock()
	got := append([]int(nil), expired...)
	mu.Unlock()
	if diff := cmp.Diff([]int{0, 2}, got); diff != "" {
		t.Errorf("expired, in order (-want +got):\n%s", diff)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.heap.n != 1 || d.fresh.n != 0 || d.entry(0).x != later || later.slot != 1 {
		t.Errorf("left waiting: %d items in the heap and %d fresh, want only the hour's in the heap", d.heap.n, d.fresh.n)
	}
	if d.armed != later.at {
		t.Errorf("armed for +%v, want the hour's", time.Duration(d.armed-now))
	}
}

// TestDeadlinesChunks: fresh items and the heap they move into keep
// their places right as items come and go in any order, grow a chunk at
// a time and let their chunks go as they empty, keeping one spare; the
// heap stays ordered.
func TestDeadlinesChunks(t *testing.T) {
	var d Deadlines[*timedItem]
	base := Nanotime() + int64(time.Hour)
	rng := rand.New(rand.NewPCG(1, 2))
	items := make([]*timedItem, 4*chunkLen+5)
	for i := range items {
		items[i] = &timedItem{at: base + rng.Int64N(1000), name: i}
		d.Add(items[i])
	}
	defer d.timer.Stop()
	if got, want := len(d.fresh.chunks), 5; got != want {
		t.Fatalf("%d fresh entries in %d chunks, want %d", d.fresh.n, got, want)
	}
	// A chunk's worth and more go while fresh, from anywhere.
	for _, i := range rng.Perm(len(items))[:chunkLen+10] {
		if !d.Remove(items[i]) {
			t.Fatalf("fresh item %d was not there", i)
		}
	}
	checkFresh(t, &d)
	if want := (d.fresh.n+chunkLen-1)/chunkLen + 1; len(d.fresh.chunks) > want {
		t.Fatalf("%d fresh entries kept %d chunks, want at most %d", d.fresh.n, len(d.fresh.chunks), want)
	}
	settle(&d)
	if len(d.fresh.chunks) > 1 {
		t.Errorf("fresh emptied: %d chunks kept", len(d.fresh.chunks))
	}
	if got, want := len(d.heap.chunks), (d.heap.n+chunkLen-1)/chunkLen; got != want {
		t.Fatalf("%d heap entries in %d chunks, want %d", d.heap.n, got, want)
	}
	checkHeap(t, &d)
	prev := int64(0)
	perm := rng.Perm(len(items))
	for k := 0; d.heap.n > 0; k++ {
		i := perm[k%len(perm)]
		fromTop := k%2 == 0 || k >= len(perm) // every other one, then the rest
		if fromTop {
			top := d.entry(0).x
			if top.at < prev {
				t.Fatalf("top due at %d after one at %d", top.at, prev)
			}
			prev = top.at
			i = top.name
		}
		if !d.Remove(items[i]) && fromTop {
			t.Fatalf("the top, item %d, was not in the heap", i)
		}
		if want := (d.heap.n+chunkLen-1)/chunkLen + 1; d.heap.n > 0 && len(d.heap.chunks) > want {
			t.Fatalf("%d entries kept %d chunks, want at most %d", d.heap.n, len(d.heap.chunks), want)
		}
	}
	checkHeap(t, &d)
	if len(d.heap.chunks) > 1 {
		t.Errorf("emptied: %d chunks kept", len(d.heap.chunks))
	}
	for i, x := range items {
		if x.slot != 0 {
			t.Fatalf("item %d still placed: %d", i, x.slot)
		}
	}
}
