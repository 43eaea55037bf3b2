package upstream

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestConnSlotsTake(t *testing.T) {
	drains := 0
	var c *ConnSlots
	c = NewConnSlots(32, func() {
		drains++
		c.Release() // the drain frees one
	})
	var got []bool
	for range 32 {
		got = append(got, c.Take())
	}
	// 32 slots: a sixteenth is 2, so taking with 2 or fewer free
	// drains first (each drain here frees one).
	if drains != 2 {
		t.Errorf("drains after 32 takes = %d, want 2", drains)
	}
	if c.Used() != 30 {
		t.Errorf("used = %d, want 30", c.Used())
	}
	c.SetLimit(29)
	noDrain := NewConnSlots(1, nil)
	got = append(got, noDrain.Take(), noDrain.Take())
	noDrain.Release()
	got = append(got, noDrain.Take())
	want := make([]bool, 32)
	for i := range want {
		want[i] = true
	}
	want = append(want, true, false, true)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("takes (-want +got):\n%s", diff)
	}
	var unlimited *ConnSlots
	if !unlimited.Take() {
		t.Error("a nil ConnSlots refused")
	}
	unlimited.Release()
	if msg := c.ReusingMessage(); msg != "29 worker_connections are not enough, reusing connections" {
		t.Errorf("message %q", msg)
	}
}

func TestDrainCount(t *testing.T) {
	var got []int
	for _, n := range []int{1, 7, 8, 16, 100, 256, 257, 10000} {
		got = append(got, DrainCount(n))
	}
	if diff := cmp.Diff([]int{1, 1, 1, 2, 12, 32, 32, 32}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestConnSlotsWarnOncePerSecond(t *testing.T) {
	c := NewConnSlots(4, nil)
	at := time.Unix(1000, 0)
	got := []bool{c.ShouldWarn(at), c.ShouldWarn(at.Add(500 * time.Millisecond)), c.ShouldWarn(at.Add(time.Second))}
	if diff := cmp.Diff([]bool{true, false, true}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
