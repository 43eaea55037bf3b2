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

// checkHeap fails unless every item knows its place and none is before
// its parent.
func checkHeap(t *testing.T, d *Deadlines[*timedItem]) {
	t.Helper()
	for i := range d.n {
		x := d.entry(i).x
		if int(x.slot) != i+1 {
			t.Fatalf("heap[%d] says it is at %d", i, x.slot-1)
		}
		if p := (i - 1) / 2; i > 0 && d.entry(i).at < d.entry(p).at {
			t.Fatalf("heap[%d] before its parent", i)
		}
	}
}

// TestDeadlinesOrder: items added and removed in any order keep the
// heap ordered with their places right (taken out from anywhere; a
// second Add or Remove is a no-op), and the timer is armed for the
// earliest ever added.
func TestDeadlinesOrder(t *testing.T) {
	var d Deadlines[*timedItem]
	base := Nanotime() + int64(time.Hour) // never fires in the test
	offsets := []int64{50, 10, 70, 30, 30, 90, 20, 60, 0, 80}
	items := make([]*timedItem, len(offsets))
	for i, off := range offsets {
		items[i] = &timedItem{at: base + off, name: i}
		d.Add(items[i])
		d.Add(items[i])
	}
	defer d.timer.Stop()
	for _, i := range []int{8, 2, 5} { // 0 (the top), 70, 90
		if !d.Remove(items[i]) {
			t.Errorf("remove of item %d: not in the heap", i)
		}
		if d.Remove(items[i]) {
			t.Errorf("second remove of item %d: still in the heap", i)
		}
	}
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
	if diff := cmp.Diff([]int64{10, 20, 30, 30, 50, 60, 80}, order); diff != "" {
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
	if d.n != 1 || d.entry(0).x != later || later.slot != 1 {
		t.Errorf("left waiting: %d items, want only the hour's", d.n)
	}
	if d.armed != later.at {
		t.Errorf("armed for +%v, want the hour's", time.Duration(d.armed-now))
	}
}

// TestDeadlinesChunks: a heap over several chunks stays ordered as items
// come and go in any order, grows a chunk at a time and lets its chunks
// go as it empties, keeping one spare.
func TestDeadlinesChunks(t *testing.T) {
	var d Deadlines[*timedItem]
	base := Nanotime() + int64(time.Hour)
	rng := rand.New(rand.NewPCG(1, 2))
	items := make([]*timedItem, 3*chunkLen+5)
	for i := range items {
		items[i] = &timedItem{at: base + rng.Int64N(1000), name: i}
		d.Add(items[i])
	}
	defer d.timer.Stop()
	if got, want := len(d.chunks), 4; got != want {
		t.Fatalf("%d entries in %d chunks, want %d", d.n, got, want)
	}
	checkHeap(t, &d)
	prev := int64(0)
	perm := rng.Perm(len(items))
	for k := 0; d.n > 0; k++ {
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
		if want := (d.n+chunkLen-1)/chunkLen + 1; d.n > 0 && len(d.chunks) > want {
			t.Fatalf("%d entries kept %d chunks, want at most %d", d.n, len(d.chunks), want)
		}
	}
	checkHeap(t, &d)
	if len(d.chunks) > 1 {
		t.Errorf("emptied: %d chunks kept", len(d.chunks))
	}
}
