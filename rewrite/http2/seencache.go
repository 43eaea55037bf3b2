package http2

import (
	"bytes"
	"encoding/binary"
	bits64 "math/bits"
)

// SeenCache maps a few recent byte strings to what they were turned
// into (a response line to its HPACK coding, a Huffman string to its
// decoding), for what a connection's messages repeat. Four ways per set,
// the least recently used replaced: a response's few strings all stay
// though a hash put three of them in one set (direct-mapped, two lines
// of each response shared a slot and both were coded again every time).
// Not safe for concurrent use.
type SeenCache struct {
	ents  []seenEntry
	bits  uint   // sets: 1<<bits
	max   int    // longer keys are not kept
	clock uint32 // stamps the entries' last use
}

type seenEntry struct {
	n    int    // buf[:n] is the key, buf[n:] its value
	used uint32 // the clock at its last use (0: empty)
	buf  []byte
}

const seenWays = 4

// NewSeenCache makes a cache of 4<<bits strings up to max bytes long.
func NewSeenCache(bits uint, max int) *SeenCache {
	return &SeenCache{ents: make([]seenEntry, seenWays<<bits), bits: bits, max: max}
}

// Get is key's value, valid until the next Put.
func (c *SeenCache) Get(key []byte) ([]byte, bool) {
	if len(key) == 0 || len(key) > c.max {
		return nil, false
	}
	set := c.ents[seenWays*cacheSet(key, c.bits):][:seenWays]
	for i := range set {
		e := &set[i]
		if e.used != 0 && e.n == len(key) && bytes.Equal(e.buf[:e.n], key) {
			c.clock++
			e.used = c.clock
			return e.buf[e.n:], true
		}
	}
	return nil, false
}

// Put keeps key's value (copied) in place of its set's least recently
// used.
func (c *SeenCache) Put(key, value []byte) {
	if len(key) == 0 || len(key) > c.max {
		return
	}
	set := c.ents[seenWays*cacheSet(key, c.bits):][:seenWays]
	old := &set[0]
	for i := 1; i < seenWays; i++ {
		// An empty entry first, else the oldest (ages are unsigned
		// distances from the clock, right across its wrap; a stamp
		// that wrapped to 0 reads as empty: a miss, harmless).
		if e := &set[i]; e.used == 0 || c.clock-e.used > c.clock-old.used && old.used != 0 {
			old = e
		}
	}
	c.clock++
	old.n, old.used = len(key), c.clock
	old.buf = append(append(old.buf[:0], key...), value...)
}

// cacheSet is b's set among 1<<bits: a hash of b's length and first and
// last eight bytes, where lines of one name differ (a date's seconds, a
// length's digits); a few bytes' sum put "Date: ..." and "Connection:
// keep-alive" together.
func cacheSet(b []byte, bits uint) int {
	var head, tail uint64
	if n := len(b); n >= 8 {
		head, tail = binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[n-8:])
	} else {
		for _, c := range b {
			head = head<<8 | uint64(c)
		}
	}
	// splitmix64's finalizer: every input bit reaches the top bits.
	z := head ^ bits64.RotateLeft64(tail, 32) ^ uint64(len(b))*0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return int((z ^ z>>31) >> (64 - bits))
}
