package main

import (
	"runtime/debug"
	"testing"
)

// TestGCPercentFor: GOGC=200 (smallest goal 8 MB) while the live heap is
// under a third of 8 MB, GOGC=100 from there.
func TestGCPercentFor(t *testing.T) {
	for _, tt := range []struct {
		live uint64
		want int
	}{{0, 200}, {1 << 20, 200}, {gcFloor/3 - 1, 200}, {gcFloor / 3 * 3, 100}, {gcFloor, 100}, {1 << 30, 100}} {
		if got := gcPercentFor(tt.live); got != tt.want {
			t.Errorf("gcPercentFor(%d) = %d, want %d", tt.live, got, tt.want)
		}
	}
}

// TestPaceGCEnvironmentWins: GOGC or GOMEMLIMIT set leaves the runtime's
// pacing alone.
func TestPaceGCEnvironmentWins(t *testing.T) {
	for _, env := range []string{"GOGC", "GOMEMLIMIT"} {
		t.Run(env, func(t *testing.T) {
			t.Setenv(env, "100")
			before := debug.SetGCPercent(100)
			defer debug.SetGCPercent(before)
			if paceGC() {
				t.Errorf("paceGC with %s set: started", env)
			}
			if got := debug.SetGCPercent(100); got != 100 {
				t.Errorf("GOGC with %s set: %d, want 100", env, got)
			}
		})
	}
}
