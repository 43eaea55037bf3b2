//go:build linux && !race

package wake

import (
	"sync/atomic"
	"unsafe"
)

// Wake is a binary semaphore: a wake given while nobody waits is kept for the next
// wait (a channel of one's token), and one waiting goroutine is made
// runnable by the wake that finds it. Its goroutine
// parks and is readied by the runtime's own calls, as the runtime's
// poller parks a network read (netpollblock): a channel's receive and
// send took its lock twice, a sudog and a select's drain per wait
// (~450 instructions and ~6 locked ones per keep-alive request, beside
// ~200 for the ready that stays).
//
// The word holds 0 (nothing), wakeGiven, or the parked goroutine (the
// runtime's g, whose records are never freed). Each park is readied by
// exactly one wake: the wake that swaps the goroutine out of the word.
type Wake struct{ word atomic.Uintptr }

const wakeGiven = 1

// Parking and readying through the runtime's scheduler: both are
// linknamed from outside the runtime by other projects too, which the
// runtime keeps working (go.dev/issue/67401).
//
//go:linkname gopark runtime.gopark
func gopark(unlockf func(gp uintptr, w unsafe.Pointer) bool, w unsafe.Pointer, reason, traceReason uint8, traceskip int)

//go:linkname goready runtime.goready
func goready(gp uintptr, traceskip int)

// The runtime's "IO wait" (waitReasonIOWait) and its trace's network
// block (traceBlockNet): how a parked Conn shows in a goroutine dump,
// as a read parked in the runtime's poller shows.
const (
	waitReasonIOWait = 2
	traceBlockNet    = 2
)

// Give wakes the goroutine that waits, or keeps the wake for the next
// wait.
func (k *Wake) Give() {
	for {
		v := k.word.Load()
		switch v {
		case wakeGiven:
			return
		case 0:
			if k.word.CompareAndSwap(0, wakeGiven) {
				return
			}
		default:
			if k.word.CompareAndSwap(v, 0) {
				goready(v, 0)
				return
			}
		}
	}
}

// Take waits for a wake (one given before the call returns at once).
func (k *Wake) Take() {
	if k.word.CompareAndSwap(wakeGiven, 0) {
		return
	}
	gopark(parkCommit, unsafe.Pointer(k), waitReasonIOWait, traceBlockNet, 0)
	// Readied (the wake took the goroutine out of the word), or a wake
	// came between the look above and the park's commit: take it.
	k.word.CompareAndSwap(wakeGiven, 0)
}

// Drop forgets a wake given and not taken (a late one).
func (k *Wake) Drop() { k.word.CompareAndSwap(wakeGiven, 0) }

// parkCommit publishes the parking goroutine in the word, unless a wake
// came first (the goroutine then runs on). It runs on the scheduler's
// stack, in the middle of the park: no stack growth, no blocking.
//
//go:nosplit
func parkCommit(gp uintptr, w unsafe.Pointer) bool {
	return (*Wake)(w).word.CompareAndSwap(0, gp)
}

// Init readies k for use (nothing to do here; wake_chan.go's makes its
// channel).
func (k *Wake) Init() {}
