package poller

import (
	"sync"
	"time"
)

// Timed is an item of Deadlines: it says when it is due (Nanotime's
// scale, set before Add and unchanged while in the heap) and keeps its
// place in the heap (index + 1; 0: not there) in a field of its own, so
// it is taken out from anywhere in O(log n) and a record lays the two
// out where its alignment leaves room.
type Timed interface {
	comparable
	DueAt() int64
	HeapSlot() *int32
}

// Deadlines is a set of items each due at its time: one heap ordered by
// deadline and one runtime timer armed for the earliest, as nginx keeps
// all its timers in one rbtree. A runtime timer per item costs its
// memory for as long as the item waits, and Reset and Stop on each wait.
// The zero value is ready once Expire is set.
//
// An item added goes to fresh first, a set in no order, and into the
// heap only when the timer fires while it is still there: most leave
// long before their time (a parked connection's next request, a
// WebSocket's end), and the set adds and takes one out in a few
// instructions, where the heap's Add and Remove took ~150 each (sifting,
// and the moved items' places written), four per WebSocket connection.
type Deadlines[T Timed] struct {
	mu   sync.Mutex
	heap entries[T] // ordered: entry i due no sooner than entry (i-1)/2
	// fresh are the items added since the timer last fired; freshMin
	// is the earliest of their times (or of one gone since: the timer
	// then fires early, and moves the rest into the heap).
	fresh    entries[T]
	freshMin int64
	timer    *time.Timer
	armed    int64 // Nanotime when timer fires; zero: stopped

	// Claim, if set, is asked under the heap's lock for each item whose
	// time passed: false leaves the item to whoever took it meanwhile
	// (a waker that won a race with the timer).
	Claim func(T) bool
	// Expire is called, outside the lock, for each item taken out for
	// its time (and claimed).
	Expire func(T)
}

// deadline is an entry: the item's time beside it, so ordering reads no
// item. A heap of the items themselves, ordered through their DueAt,
// took 881 instructions per Remove and Add at 200 items against this
// one's 785 (callgrind), at 8 bytes per entry less.
type deadline[T Timed] struct {
	at int64
	x  T
}

// entries is a list of entries that grows and shrinks a chunk of
// chunkLen entries (4 KiB) at a time: a slice grown by append doubles,
// each old copy left as garbage, about 34 bytes allocated per entry of
// 16 at 2,000 parked connections.
type entries[T Timed] struct {
	chunks []*[chunkLen]deadline[T]
	n      int
}

const (
	chunkBits = 8
	chunkLen  = 1 << chunkBits
)

// at is entry i.
func (l *entries[T]) at(i int) *deadline[T] {
	return &l.chunks[i>>chunkBits][i&(chunkLen-1)]
}

// grow makes room for one more entry (at index l.n-1 after it).
func (l *entries[T]) grow() {
	if l.n == len(l.chunks)*chunkLen {
		l.chunks = append(l.chunks, new([chunkLen]deadline[T]))
	}
	l.n++
}

// pop takes the last entry off. A chunk is let go once the one before
// it is empty too (one spare: an entry coming and going at a chunk's
// edge allocates nothing).
func (l *entries[T]) pop() deadline[T] {
	l.n--
	e := l.at(l.n)
	last := *e
	*e = deadline[T]{}
	if k := len(l.chunks); k > 1 && l.n <= (k-2)*chunkLen {
		l.chunks[k-1] = nil
		l.chunks = l.chunks[:k-1]
	}
	return last
}

// entry is the heap's entry i. Under mu.
func (d *Deadlines[T]) entry(i int) *deadline[T] { return d.heap.at(i) }

// An item's slot (HeapSlot) is its place: i+1 at the heap's entry i,
// -(i+1) at fresh's entry i, 0 when in neither.

// Add puts x in the set until x.DueAt(); a no-op when x is there.
func (d *Deadlines[T]) Add(x T) {
	d.mu.Lock()
	if slot := x.HeapSlot(); *slot == 0 {
		at := x.DueAt()
		d.fresh.grow()
		*d.fresh.at(d.fresh.n - 1) = deadline[T]{at, x}
		*slot = int32(-d.fresh.n)
		if d.fresh.n == 1 || at < d.freshMin {
			d.freshMin = at
			d.arm(at)
		}
	}
	d.mu.Unlock()
}

// Remove takes x out of the set; false when it was not there (never
// added, or its time's timer took it). The timer stays armed: when it
// fires early it is armed again.
func (d *Deadlines[T]) Remove(x T) bool {
	d.mu.Lock()
	p := x.HeapSlot()
	slot := int(*p)
	switch {
	case slot > 0:
		d.take(slot - 1)
	case slot < 0:
		*p = 0
		d.takeFresh(-slot - 1)
	}
	d.mu.Unlock()
	return slot != 0
}

// Len is how many items wait.
func (d *Deadlines[T]) Len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.heap.n + d.fresh.n
}

// takeFresh removes fresh's entry i, whose item's place the caller
// cleared: the last entry fills its place. Under mu.
func (d *Deadlines[T]) takeFresh(i int) {
	last := d.fresh.pop()
	if i < d.fresh.n {
		*d.fresh.at(i) = last
		*last.x.HeapSlot() = int32(-(i + 1))
	}
}

// take removes the heap's entry i: the last entry fills its place. Under
// mu.
func (d *Deadlines[T]) take(i int) {
	*d.entry(i).x.HeapSlot() = 0
	e := d.heap.pop()
	last := d.heap.n
	if i == last {
		return
	}
	if i > 0 && e.at < d.entry((i-1)/2).at {
		d.up(i, e)
	} else {
		d.down(i, e)
	}
}

// arm sets the timer for at if it would fire later (or not at all).
// Under mu.
func (d *Deadlines[T]) arm(at int64) {
	if d.armed != 0 && d.armed <= at {
		return
	}
	d.armed = at
	wait := time.Duration(at - Nanotime())
	if d.timer == nil {
		d.timer = time.AfterFunc(wait, d.fire)
	} else {
		d.timer.Reset(wait)
	}
}

// fire moves the fresh items into the heap, takes out the items whose
// time passed, in order, arms the timer for the next, and expires them.
func (d *Deadlines[T]) fire() {
	d.mu.Lock()
	d.armed = 0
	d.settleFresh()
	now := Nanotime()
	var due []T // rare: once per deadline that passed
	for d.heap.n > 0 && d.entry(0).at <= now {
		x := d.entry(0).x
		d.take(0)
		if d.Claim == nil || d.Claim(x) {
			due = append(due, x)
		}
	}
	if d.heap.n > 0 {
		d.arm(d.entry(0).at)
	}
	d.mu.Unlock()
	for _, x := range due {
		d.Expire(x)
	}
}

// settleFresh moves the fresh items into the heap. Under mu.
func (d *Deadlines[T]) settleFresh() {
	for d.fresh.n > 0 {
		e := d.fresh.pop()
		d.heap.grow()
		d.up(d.heap.n-1, e)
	}
}

// up places e at the free place i or above it, moving down the parents
// due later (each entry is written once, not swapped). Under mu.
func (d *Deadlines[T]) up(i int, e deadline[T]) {
	hole := d.entry(i)
	for i > 0 {
		p := (i - 1) / 2
		pe := d.entry(p)
		if pe.at <= e.at {
			break
		}
		*hole = *pe
		*hole.x.HeapSlot() = int32(i + 1)
		hole, i = pe, p
	}
	*hole = e
	*e.x.HeapSlot() = int32(i + 1)
}

// down places e at the free place i or below it, moving up the earlier
// children. Under mu.
func (d *Deadlines[T]) down(i int, e deadline[T]) {
	hole := d.entry(i)
	for n := d.heap.n; ; {
		m := 2*i + 1
		if m >= n {
			break
		}
		me := d.entry(m)
		if r := m + 1; r < n {
			if re := d.entry(r); re.at < me.at {
				m, me = r, re
			}
		}
		if e.at <= me.at {
			break
		}
		*hole = *me
		*hole.x.HeapSlot() = int32(i + 1)
		hole, i = me, m
	}
	*hole = e
	*e.x.HeapSlot() = int32(i + 1)
}
