package server

import (
	"time"

	"github.com/gonginx/gonginx/upstream/poller"
)

// idleTimers is keepalive_timeout for the parked connections of a
// server (one heap and one timer: poller.Deadlines). A time.Timer per
// parked connection (and its callback) cost 136 bytes each.
type idleTimers = poller.Deadlines[*serverConn]

// DueAt and HeapSlot make a parked connection an item of idleTimers: due
// at h1.idleUntil, placed at timerAt.
func (sc *serverConn) DueAt() int64     { return int64(sc.h1.idleUntil) }
func (sc *serverConn) HeapSlot() *int32 { return &sc.timerAt }

// claimIdle takes a connection whose keepalive_timeout passed off the
// poller, under idleTimers' lock: one woken by input meanwhile is its
// waker's (and idleTimers.Remove is a no-op for it).
func claimIdle(sc *serverConn) bool { return sc.h1.waker.Unpark() }

// monoTime is a time on the monotonic clock, on poller.Nanotime's
// scale (0: none): a connection keeps its times in 8 bytes each, where
// a time.Time takes 24, and reading it is one clock read, where
// time.Now makes two.
type monoTime int64

func monoOf(t time.Time) monoTime { return monoTime(poller.MonoOf(t)) }

func monoNow() monoTime { return monoTime(poller.Nanotime()) }

// Time is m as a time.Time, for deadlines and durations (poller.TimeOf).
func (m monoTime) Time() time.Time {
	if m == 0 {
		return time.Time{}
	}
	return poller.TimeOf(int64(m))
}
