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
type Deadlines[T Timed] struct {
	mu     sync.Mutex
	chunks []*[chunkLen]deadline[T] // the heap: entry i is entry(i)
	n      int                      // entries in the heap
	timer  *time.Timer
	armed  int64 // Nanotime when timer fires; zero: stopped

	// Claim, if set, is asked under the heap's lock for each item whose
	// time passed: false leaves the item to whoever took it meanwhile
	// (a waker that won a race with the timer).
	Claim func(T) bool
	// Expire is called, outside the lock, for each item taken out for
	// its time (and claimed).
	Expire func(T)
}

// deadline is a heap entry: the item's time beside it, so ordering
// reads no item. A heap of the items themselves, ordered through their
// DueAt, took 881 instructions per Remove and Add at 200 items against
// this one's 785 (callgrind), at 8 bytes per entry less.
type deadline[T Timed] struct {
	at int64
	x  T
}

// The heap grows and shrinks a chunk of chunkLen entries (4 KiB) at a
// time: a slice grown by append doubles, each old copy left as garbage,
// about 34 bytes allocated per entry of 16 at 2,000 parked connections.
const (
	chunkBits = 8
	chunkLen  = 1 << chunkBits
)

// entry is the heap's entry i. Under mu.
func (d *Deadlines[T]) entry(i int) *deadline[T] {
	return &d.chunks[i>>chunkBits][i&(chunkLen-1)]
}

// Add puts x in the heap until x.DueAt(); a no-op when x is there.
func (d *Deadlines[T]) Add(x T) {
	d.mu.Lock()
	if *x.HeapSlot() == 0 {
		if d.n == len(d.chunks)*chunkLen {
			d.chunks = append(d.chunks, new([chunkLen]deadline[T]))
		}
		d.n++
		d.up(d.n-1, deadline[T]{x.DueAt(), x})
		d.arm()
	}
	d.mu.Unlock()
}

// Remove takes x out of the heap; false when it was not there (never
// added, or its time's timer took it). The timer stays armed: when it
// fires early it is armed again.
func (d *Deadlines[T]) Remove(x T) bool {
	d.mu.Lock()
	i := int(*x.HeapSlot()) - 1
	if i >= 0 {
		d.take(i)
	}
	d.mu.Unlock()
	return i >= 0
}

// Len is how many items wait.
func (d *Deadlines[T]) Len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.n
}

// take removes the heap's entry i: the last entry fills its place. A
// chunk is let go once the one before it is empty too (one spare: an
// entry coming and going at a chunk's edge allocates nothing). Under mu.
func (d *Deadlines[T]) take(i int) {
	*d.entry(i).x.HeapSlot() = 0
	d.n--
	last := d.n
	e := *d.entry(last)
	*d.entry(last) = deadline[T]{}
	if k := len(d.chunks); k > 1 && d.n <= (k-2)*chunkLen {
		d.chunks[k-1] = nil
		d.chunks = d.chunks[:k-1]
	}
	if i == last {
		return
	}
	if i > 0 && e.at < d.entry((i-1)/2).at {
		d.up(i, e)
	} else {
		d.down(i, e)
	}
}

// arm sets the timer for the earliest deadline if it would fire later
// (or not at all). Under mu.
func (d *Deadlines[T]) arm() {
	if d.n == 0 {
		return
	}
	at := d.entry(0).at
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

// fire takes out the items whose time passed, arms the timer for the
// next, and expires them.
func (d *Deadlines[T]) fire() {
	d.mu.Lock()
	d.armed = 0
	now := Nanotime()
	var due []T // rare: once per deadline that passed
	for d.n > 0 && d.entry(0).at <= now {
		x := d.entry(0).x
		d.take(0)
		if d.Claim == nil || d.Claim(x) {
			due = append(due, x)
		}
	}
	d.arm()
	d.mu.Unlock()
	for _, x := range due {
		d.Expire(x)
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
	for n := d.n; ; {
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
