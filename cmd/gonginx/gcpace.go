package main

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
)

// A serving process's live heap is small (about 0.3-3 MB: configuration
// tables, pools, parked connections), so the runtime's smallest heap goal,
// 4 MB at GOGC=100, sets how often it collects: a TLS handshake's ~70 KB
// of garbage starts a cycle every few dozen handshakes, and a cycle's
// fixed cost (roots, stacks, globals: about 5M instructions) is paid
// again each time. While the live heap is under a third of gcFloor the
// pacer runs at GOGC=200, whose smallest goal is gcFloor (8 MB), so a
// cycle comes half as often; above it GOGC=100 as before, so what a
// process holding many connections reaches (2x its live heap) is
// unchanged. GOGC or GOMEMLIMIT in the environment wins.
const gcFloor = 8 << 20

// gcPercentFor is the GOGC for a live heap of live bytes.
func gcPercentFor(live uint64) int {
	if live*3 < gcFloor {
		return 200
	}
	return 100
}

// paceGC starts the pacing (once per process). It reports whether it did.
func paceGC() bool {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return false
	}
	p := &gcPacer{percent: 100, live: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}}
	p.apply()
	return true
}

type gcPacer struct {
	percent int
	live    []metrics.Sample
}

// gcSentinel is what the pacer's finalizer hangs on: unreachable once
// made, it is finalized after the next cycle, which re-reads the live heap.
// It holds a pointer so it is an object of its own (tiny ones share one).
type gcSentinel struct{ _ *byte }

func (p *gcPacer) apply() {
	metrics.Read(p.live)
	var live uint64
	if p.live[0].Value.Kind() == metrics.KindUint64 {
		live = p.live[0].Value.Uint64()
	}
	if want := gcPercentFor(live); want != p.percent {
		debug.SetGCPercent(want)
		p.percent = want
	}
	runtime.SetFinalizer(&gcSentinel{}, func(*gcSentinel) { p.apply() })
}
