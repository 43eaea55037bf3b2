package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestProcsPerWorker: the workers share the CPUs, at least one each.
func TestProcsPerWorker(t *testing.T) {
	tests := []struct{ cpus, workers, want int }{
		{2, 1, 2}, {2, 2, 1}, {2, 3, 1}, {8, 2, 4}, {8, 3, 2}, {1, 4, 1},
	}
	var got, want []int
	for _, tt := range tests {
		got = append(got, procsPerWorker(tt.cpus, tt.workers))
		want = append(want, tt.want)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("procsPerWorker (-want +got):\n%s", diff)
	}
}
