package poller

import (
	"math"
	"testing"
	"time"
)

// TestMonoOf: a deadline's time on Nanotime's scale keeps what a check
// against the clock needs: none, long past, far ahead, and how far a
// near one is.
func TestMonoOf(t *testing.T) {
	if got := MonoOf(time.Time{}); got != 0 {
		t.Errorf("zero time: got %d, want 0 (no deadline)", got)
	}
	if got := MonoOf(time.Unix(1, 0)); got != 1 {
		t.Errorf("time.Unix(1, 0): got %d, want 1 (long past)", got)
	}
	if got := MonoOf(time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)); got != math.MaxInt64 {
		t.Errorf("far ahead: got %d, want MaxInt64", got)
	}
	before := Nanotime()
	d := MonoOf(time.Now().Add(time.Hour))
	after := Nanotime()
	if d < before+int64(time.Hour) || d > after+int64(time.Hour) {
		t.Errorf("an hour ahead: got %d, want within [%d, %d]", d, before+int64(time.Hour), after+int64(time.Hour))
	}
	// TimeOf and MonoOf agree, and a Time made by TimeOf compares with
	// time.Now's on the monotonic clock.
	m := Nanotime()
	if got := MonoOf(TimeOf(m)); got != m {
		t.Errorf("MonoOf(TimeOf(%d)) = %d", m, got)
	}
	if now := time.Now(); now.Before(TimeOf(m)) {
		t.Errorf("time.Now() is before TimeOf(an earlier Nanotime())")
	}
	// A wall-clock time (no monotonic reading) a minute ago is past.
	if got := MonoOf(time.Now().Add(-time.Minute).Round(0)); got > Nanotime() {
		t.Errorf("a minute ago (wall clock only): got %d, not past", got)
	}
}

// TestNow: poller.Now's monotonic reading is time.Now's (they order and
// subtract alike), and its wall reading is time.Now's within a
// millisecond.
func TestNow(t *testing.T) {
	for i := 0; i < 3; i++ {
		before := time.Now()
		got := Now()
		after := time.Now()
		if got.Before(before) || got.After(after) {
			t.Errorf("Now() = %v, not between time.Now()'s %v and %v (monotonic)", got, before, after)
		}
		if d := got.Round(0).Sub(before.Round(0)); d < -time.Millisecond || d > after.Sub(before)+time.Millisecond {
			t.Errorf("Now()'s wall reading is %v from time.Now()'s", d)
		}
	}
}
