package upstream

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The pacing of proxy_limit_rate 1000, read by read, on a fixed clock.
func TestPipeRate(t *testing.T) {
	start := time.Unix(1000, 0)
	r := pipeRate{rate: 1000, start: start.Unix()}
	r.after(start, 200) // the preread bytes: 200ms before the first read
	type step struct {
		Allowed int
		Wait    time.Duration
	}
	var got []step
	record := func(now time.Time, size int) {
		n, wait := r.allowed(now, size)
		got = append(got, step{n, wait})
	}
	record(start, 4096)                                  // too early
	record(start.Add(200*time.Millisecond), 4096)        // the rest of the first second's 1000
	r.after(start.Add(200*time.Millisecond), 800)        // 800ms before the next
	record(start.Add(999*time.Millisecond), 4096)        // 1ms early
	record(start.Add(time.Second), 4096)                 // the second second: 1000 more
	r.after(start.Add(time.Second), 1000)                // 1s before the next
	record(start.Add(2*time.Second), 100)                // a read smaller than the limit
	r.read += 5000                                       // over the limit (as after a big preread)
	record(start.Add(2*time.Second+time.Millisecond), 1) // waits for 4000 bytes at 1000/s, +1ms
	want := []step{
		{0, 200 * time.Millisecond},
		{800, 0},
		{0, time.Millisecond},
		{1000, 0},
		{100, 0},
		{0, 4001 * time.Millisecond},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pacing (-want +got):\n%s", diff)
	}
	off := pipeRate{}
	if got := len(off.limit(make([]byte, 10))); got != 10 {
		t.Errorf("no limit took %d of 10", got)
	}
}
