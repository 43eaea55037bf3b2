// Package limit keeps the state of limit_req and limit_conn zones in
// memory that every worker process maps (nginx's shared memory zones):
// a fixed table of slots with a process-shared lock, and nginx's leaky
// bucket with its millisecond arithmetic.
package limit

import (
	"errors"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// The zone's memory: a header, then buckets of slotsPerBucket slots. A
// key hashes to one bucket; a full bucket evicts as nginx's expiry does
// (only entries nobody counts on), so memory bounds the keys as the
// zone's size does under nginx.
const (
	headerSize     = 64
	slotSize       = 128
	slotsPerBucket = 8
	bucketSize     = slotSize * slotsPerBucket
	keyRoom        = slotSize - 40
	probeBuckets   = 4
	// MinSize is nginx's smallest zone (8 pages, "zone ... is too small").
	MinSize = 8 * 4096
)

type header struct {
	lock  uint32 // pid of the holder, 0 when free
	_     uint32
	magic uint64 // set once the zone is formatted
}

const zoneMagic = 0x676f6e67696e786c // "gonginxl"

// slot is one key's state. hash is 0 for a free slot.
type slot struct {
	hash   uint64
	last   int64 // ms of the last accounted request (limit_req)
	excess int64 // in 1/1000 requests (limit_req)
	used   int64 // ms of the last lookup, for eviction
	count  int32 // lookups in progress (limit_req), connections (limit_conn)
	keyLen uint16
	_      uint16
	key    [keyRoom]byte // the key's first bytes; the hash covers the rest
}

// Zone is one zone's memory, shared or private.
type Zone struct {
	Name    string
	mem     []byte
	buckets int
	pid     uint32
}

// NewZone formats (or adopts) mem as a zone; mem must outlive the zone.
func NewZone(name string, mem []byte) (*Zone, error) {
	if len(mem) < MinSize || uintptr(unsafe.Pointer(&mem[0]))%8 != 0 {
		return nil, errors.New("zone \"" + name + "\" is too small")
	}
	z := &Zone{Name: name, mem: mem, buckets: (len(mem) - headerSize) / bucketSize, pid: uint32(syscall.Getpid())}
	// New memory (a fresh file, a fresh allocation) is zeroes: every
	// slot free. Not clearing it leaves untouched pages unallocated.
	atomic.StoreUint64(&z.header().magic, zoneMagic)
	return z, nil
}

// Private is a zone of this process alone (one process serving).
func Private(name string, size int) (*Zone, error) {
	words := make([]uint64, (size+7)/8)
	return NewZone(name, unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), len(words)*8))
}

func (z *Zone) header() *header { return (*header)(unsafe.Pointer(&z.mem[0])) }

func (z *Zone) slotAt(b, i int) *slot {
	return (*slot)(unsafe.Pointer(&z.mem[headerSize+b*bucketSize+i*slotSize]))
}

// lock takes the zone's lock, which other processes take too. A holder
// that died (a worker killed in the few instructions it holds it) is
// found by its pid and the lock taken from it, as nginx's master frees
// a dead worker's mutex.
func (z *Zone) lock() {
	p := &z.header().lock
	for spins := 0; ; spins++ {
		if atomic.CompareAndSwapUint32(p, 0, z.pid) {
			return
		}
		if spins < 100 {
			runtime.Gosched()
			continue
		}
		holder := atomic.LoadUint32(p)
		if holder != 0 && holder != z.pid && syscall.Kill(int(holder), 0) == syscall.ESRCH {
			atomic.CompareAndSwapUint32(p, holder, 0)
		}
		time.Sleep(50 * time.Microsecond)
	}
}

func (z *Zone) unlock() { atomic.StoreUint32(&z.header().lock, 0) }

// hashKey is FNV-1a 64, never 0 (0 marks a free slot).
func hashKey(key []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range key {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h | 1
}

func (s *slot) matches(h uint64, key []byte) bool {
	if s.hash != h || int(s.keyLen) != len(key) {
		return false
	}
	n := min(len(key), keyRoom)
	return string(s.key[:n]) == string(key[:n])
}

// find returns key's slot, or a fresh one for it (fresh=true), or nil
// when the buckets it may live in are full of entries in use. A key
// lives in its own bucket or one of the next probeBuckets-1, so the zone
// fills up as a whole rather than bucket by bucket. evictable tells
// whether an entry may go (nginx's expiry); with none, the least
// recently used entry nobody counts on goes, as nginx's forced expiry.
// Called with the lock held.
func (z *Zone) find(key []byte, now int64, evictable func(*slot) bool) (s *slot, fresh bool) {
	h := hashKey(key)
	home := int(h % uint64(z.buckets))
	var free, expired, old *slot
	for p := 0; p < min(probeBuckets, z.buckets); p++ {
		b := (home + p) % z.buckets
		for i := 0; i < slotsPerBucket; i++ {
			s := z.slotAt(b, i)
			switch {
			case s.hash == 0:
				if free == nil {
					free = s
				}
			case s.matches(h, key):
				s.used = now
				return s, false
			case s.count == 0:
				if expired == nil && evictable(s) {
					expired = s
				}
				if old == nil || s.used < old.used {
					old = s
				}
			}
		}
	}
	switch {
	case free != nil:
	case expired != nil:
		free = expired
	default:
		free = old
	}
	if free == nil {
		return nil, false
	}
	*free = slot{hash: h, used: now, keyLen: uint16(min(len(key), 65535))}
	copy(free.key[:], key)
	return free, true
}

// clock is CLOCK_MONOTONIC in milliseconds, the same in every process
// (nginx's ngx_current_msec): one clock_gettime at start, then Go's
// monotonic reading, which is that clock too.
var clockBase, clockStart = func() (int64, time.Time) {
	var ts syscall.Timespec
	start := time.Now()
	syscall.Syscall(syscall.SYS_CLOCK_GETTIME, 1, uintptr(unsafe.Pointer(&ts)), 0)
	return ts.Nano(), start
}()

// NowMs is the zones' clock.
func NowMs() int64 { return (clockBase + int64(time.Since(clockStart))) / 1e6 }

// clock is NowMs, which tests replace.
var clock = NowMs
