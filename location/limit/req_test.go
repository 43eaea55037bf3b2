package limit

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

type keys []string

func (k keys) Key(i int) ([]byte, error) { return []byte(k[i]), nil }

func newZone(t *testing.T, name string) *Zone {
	t.Helper()
	z, err := Private(name, MinSize)
	if err != nil {
		t.Fatal(err)
	}
	return z
}

// step is one request at a time on the zones' clock.
type step struct {
	at   int64
	keys keys
	want Outcome
}

func run(t *testing.T, limits []Req, steps []step) {
	t.Helper()
	defer func(c func() int64) { clock = c }(clock)
	var got, want []Outcome
	for _, s := range steps {
		clock = func() int64 { return 1_000_000 + s.at }
		out, err := Check(limits, s.keys)
		if err != nil {
			t.Fatal(err)
		}
		got, want = append(got, out), append(want, s.want)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("outcomes (-want +got):\n%s", d)
	}
}

func TestBurstNodelay(t *testing.T) {
	// rate=1r/s burst=2 nodelay: three at once pass, the fourth is over.
	l := []Req{{Zone: newZone(t, "one"), Rate: 1000, Burst: 2000, Delay: nodelay}}
	k := keys{"a"}
	run(t, l, []step{
		{0, k, Outcome{Result: Passed}},
		{0, k, Outcome{Result: Passed, Excess: 1000}},
		{0, k, Outcome{Result: Passed, Excess: 2000}},
		{0, k, Outcome{Result: Rejected, Excess: 3000}},
		// A rejected request leaves the bucket as it was.
		{500, k, Outcome{Result: Rejected, Excess: 2500}},
		{1000, k, Outcome{Result: Passed, Excess: 2000}},
		{1001, k, Outcome{Result: Rejected, Excess: 2999}},
		// Another key has its own bucket; an empty key is not limited.
		{1001, keys{"b"}, Outcome{Result: Passed}},
		{1001, keys{""}, Outcome{Result: Declined}},
	})
}

const nodelay = (1<<63 - 1) / 1000 * 1000

func TestDelay(t *testing.T) {
	// burst=3 delay=1 at 2r/s: the second passes, the third waits
	// (excess 2 - delay 1) / 2r/s = 500ms.
	l := []Req{{Zone: newZone(t, "d"), Rate: 2000, Burst: 3000, Delay: 1000}}
	k := keys{"a"}
	run(t, l, []step{
		{0, k, Outcome{Result: Passed}},
		{0, k, Outcome{Result: Passed, Excess: 1000}},
		{0, k, Outcome{Result: Delayed, Excess: 2000, Delay: 500}},
		{100, k, Outcome{Result: Delayed, Excess: 2800, Delay: 900}},
		{100, k, Outcome{Result: Rejected, Excess: 3800}},
	})
}

func TestPerMinute(t *testing.T) {
	// 1r/m is 16 per 1000 s in nginx's integers: 30 s leak 480.
	l := []Req{{Zone: newZone(t, "m"), Rate: 1000 / 60, Burst: 1000, Delay: nodelay}}
	k := keys{"a"}
	run(t, l, []step{
		{0, k, Outcome{Result: Passed}},
		{30000, k, Outcome{Result: Passed, Excess: 520}},
		{30000, k, Outcome{Result: Rejected, Excess: 1520}},
	})
}

func TestSeveralLimits(t *testing.T) {
	// The first zone is only accounted when the last lets the request
	// through; the longest delay names its zone.
	l := []Req{
		{Zone: newZone(t, "slow"), Rate: 1000, Burst: 5000, Delay: 0},
		{Zone: newZone(t, "fast"), Rate: 1000, Burst: 1000, Delay: nodelay},
	}
	k := keys{"a", "a"}
	run(t, l, []step{
		{0, k, Outcome{Result: Passed, Limit: 1}},
		{0, k, Outcome{Result: Delayed, Excess: 1000, Limit: 0, Delay: 1000}},
		// fast rejects: slow's bucket stays at 1000 (no third request).
		{0, k, Outcome{Result: Rejected, Excess: 2000, Limit: 1}},
		{1000, k, Outcome{Result: Delayed, Excess: 1000, Limit: 0, Delay: 1000}},
		// An empty key skips its limit.
		{1000, keys{"a", ""}, Outcome{Result: Delayed, Excess: 2000, Limit: 0, Delay: 2000}},
	})
}

func TestFullZone(t *testing.T) {
	// Keys nobody counts on make room for new ones: no key is refused.
	l := []Req{{Zone: newZone(t, "f"), Rate: 1000, Burst: 0, Delay: nodelay}}
	defer func(c func() int64) { clock = c }(clock)
	clock = func() int64 { return 5000 }
	for i := range 10000 {
		out, _ := Check(l, keys{string(rune('a'+i%26)) + string(rune(i))})
		if out.Result != Passed {
			t.Fatalf("key %d: %+v", i, out)
		}
	}
}
