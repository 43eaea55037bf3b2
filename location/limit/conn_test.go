package limit

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestConnCounts(t *testing.T) {
	c := Conn{Zone: newZone(t, "c"), Max: 2}
	var got []Result
	var held []Held
	try := func(key string) {
		h, r := c.Acquire([]byte(key))
		got = append(got, r)
		if r == Passed {
			held = append(held, h)
		}
	}
	try("a")
	try("a")
	try("a") // a third in progress
	try("b")
	held[0].Release()
	try("a") // one ended
	for _, h := range held[1:] {
		h.Release()
	}
	try("a")
	try("a")
	want := []Result{Passed, Passed, Rejected, Passed, Passed, Passed, Passed}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestConnFullZone(t *testing.T) {
	// Keys in progress are never evicted: a zone full of them refuses
	// new keys (nginx's "could not allocate" answer); ended ones free it.
	c := Conn{Zone: newZone(t, "f"), Max: 1}
	var held []Held
	failed := 0
	for i := range 1000 {
		h, r := c.Acquire([]byte{byte(i), byte(i >> 8)})
		switch r {
		case Passed:
			held = append(held, h)
		case Failed:
			failed++
		}
	}
	if failed == 0 || len(held)+failed != 1000 {
		t.Fatalf("held %d failed %d", len(held), failed)
	}
	// The zone fills as a whole, as nginx's slab does, not bucket by
	// bucket: nearly every slot is used before a key is refused.
	slots := (MinSize - headerSize) / slotSize
	if len(held) < slots*9/10 {
		t.Errorf("%d keys held in a zone of %d slots", len(held), slots)
	}
	for _, h := range held {
		h.Release()
	}
	// The same keys fit again, as many as before.
	again := 0
	for i := range 1000 {
		if _, r := c.Acquire([]byte{byte(i), byte(i >> 8)}); r == Passed {
			again++
		}
	}
	if again != len(held) {
		t.Errorf("after release %d keys fit, before %d", again, len(held))
	}
}
