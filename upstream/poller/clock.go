package poller

import (
	"math"
	"sync/atomic"
	"time"
)

// A Conn's deadlines are kept on the monotonic clock alone: a check
// reads one clock (time.Since of a time with a monotonic reading reads
// CLOCK_MONOTONIC only), where time.Now reads two (CLOCK_REALTIME, then
// CLOCK_MONOTONIC), and a keep-alive client's read checks its deadline
// on every request. Go's own net deadlines run on the same clock.

// monoBase is the scale's origin: a reading is the nanoseconds since it,
// plus 1 (0 stays "none").
var monoBase = time.Now()

// Nanotime reads the monotonic clock alone (one clock read, where
// time.Now makes two): for deadlines and durations, with MonoOf and
// TimeOf, never for a time shown (a Date, a log line). At least 1.
func Nanotime() int64 { return int64(time.Since(monoBase)) + 1 }

// nanotime is Nanotime, for the package's own use.
func nanotime() int64 { return Nanotime() }

// eventNow is Nanotime as the latest batch of events began to be handled
// (never moving back, with two pollers): a handler's now, as nginx's
// cached time is its last epoll_wait's return, one clock read per batch.
var eventNow atomic.Int64

// EventNanotime is Nanotime as the batch of events being handled began:
// for a handler on a poller's goroutine (older by what the handlers
// before it in the batch took).
func EventNanotime() int64 { return eventNow.Load() }

func setEventNow() {
	now := Nanotime()
	for {
		old := eventNow.Load()
		if now <= old || eventNow.CompareAndSwap(old, now) {
			return
		}
	}
}

// MonoOf is t on Nanotime's scale: 0 for the zero time (no deadline),
// at least 1 (a time long past), at most math.MaxInt64. t.Sub uses both
// monotonic readings when t has one, as a time from time.Now does; the
// wall clocks otherwise.
func MonoOf(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	since := int64(t.Sub(monoBase)) // saturates at the Duration's bounds
	if since >= math.MaxInt64-1 {
		return math.MaxInt64
	}
	if since < 0 {
		return 1
	}
	return since + 1
}

func monoOf(t time.Time) int64 { return MonoOf(t) }

// TimeOf is the time.Time of a Nanotime reading m (not 0): its
// monotonic reading is exact, its wall reading the process's first
// plus the monotonic time since (off by what the wall clock was set or
// slewed meanwhile): for deadlines and durations only.
func TimeOf(m int64) time.Time { return monoBase.Add(time.Duration(m - 1)) }

// wallBase is a time.Now reading and its place on Nanotime's scale (its
// exact monotonic reading).
type wallBase struct {
	t    time.Time
	mono int64
}

// wall is Now's last time.Now reading.
var wall atomic.Pointer[wallBase]

// wallRefresh is how long Now moves a time.Now reading on by the
// monotonic clock before it reads the wall clock again: its wall reading
// is off by what the wall clock was slewed meanwhile (at most 500 ppm:
// 50 µs), and a wall clock set anew shows within it.
const wallRefresh = int64(100 * time.Millisecond)

// Now is time.Now read with one clock (the monotonic one) most of the
// time: the last wall reading moved on by the monotonic time since, read
// again every wallRefresh, as nginx's cached clock is its last reading.
// Its monotonic reading is exact (it compares and subtracts as
// time.Now's), its wall reading within wallRefresh's slew: for a time
// shown to the second (a Date) or a duration, where two clock reads per
// request were the cost.
func Now() time.Time {
	m := Nanotime()
	if b := wall.Load(); b != nil && m >= b.mono && m-b.mono < wallRefresh {
		return b.t.Add(time.Duration(m - b.mono))
	}
	t := time.Now()
	wall.Store(&wallBase{t: t, mono: MonoOf(t)})
	return t
}
