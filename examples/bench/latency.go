package main

import (
	"slices"
	"sync"
	"time"
)

// latencies gathers how long each request, message or call took, from
// the goroutines of a run: each keeps its own samples and merges them
// once at its end, so measuring costs no lock per request.
type latencies struct {
	mu  sync.Mutex
	all []time.Duration
}

func (l *latencies) merge(local []time.Duration) {
	l.mu.Lock()
	l.all = append(l.all, local...)
	l.mu.Unlock()
}

// p99 is the 99th percentile in µs, the time nine in a hundred clients
// stay under (0 without samples).
func (l *latencies) p99() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.all) == 0 {
		return 0
	}
	slices.Sort(l.all)
	return float64(l.all[len(l.all)*99/100].Microseconds())
}
