package http2

import (
	"bytes"
	"encoding/binary"
	"sync"
)

// headCache keeps the HPACK encodings of a connection's recent response
// header lines. Its responses repeat most of theirs (server,
// content-type, a backend's fixed headers, grpc-status; the date for a
// second), and each line would be Huffman-coded again, at ~20
// instructions a byte (nginx codes it again too): a line seen before is
// copied as it was coded, the same bytes. Direct-mapped by a hash of
// the line: a new date replaces the last one.
type headCache struct {
	mu   sync.Mutex
	ents [headCacheSize]struct {
		n   int    // buf[:n] is the line, buf[n:] its encoding
		buf []byte // nil: empty
	}
	name []byte // scratch for a lower-cased name
}

const (
	headCacheBits = 5
	headCacheSize = 1 << headCacheBits
	// headCacheLine: longer lines (cookies, long links) are coded each
	// time and not kept.
	headCacheLine = 256
)

func (hc *headCache) slot(line []byte) int { return CacheSlot(line, headCacheBits) }

// CacheSlot is b's slot among 1<<bits of a small direct-mapped cache
// (the response lines' here, the gRPC client's Huffman strings): a hash
// of b's length and first and last eight bytes, where lines of one name
// differ (a date's seconds, a length's digits); a few bytes' sum put
// "Date: ..." and "Connection: keep-alive" in one slot.
func CacheSlot(b []byte, bits uint) int {
	var head, tail uint64
	if n := len(b); n >= 8 {
		head, tail = binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[n-8:])
	} else {
		for _, c := range b {
			head = head<<8 | uint64(c)
		}
	}
	x := (head*0x9e3779b97f4a7c15 ^ tail) * 0xbf58476d1ce4e5b9
	return int((x ^ uint64(len(b))*0x94d049bb133111eb) >> (64 - bits))
}

// appendLines is appendHeaderLines through the cache; hc may be nil
// (nothing kept).
func (hc *headCache) appendLines(b, lines []byte, name *[]byte) []byte {
	if hc == nil {
		return appendHeaderLines(b, lines, name)
	}
	hc.mu.Lock()
	defer hc.mu.Unlock()
	for len(lines) > 0 {
		line, rest := nextLine(lines)
		lines = rest
		if len(line) == 0 {
			break
		}
		if len(line) > headCacheLine {
			b = appendHeaderLine(b, line, &hc.name)
			continue
		}
		e := &hc.ents[hc.slot(line)]
		if e.buf != nil && e.n == len(line) && bytes.Equal(e.buf[:e.n], line) {
			b = append(b, e.buf[e.n:]...)
			continue
		}
		at := len(b)
		b = appendHeaderLine(b, line, &hc.name)
		e.n = len(line)
		e.buf = append(append(e.buf[:0], line...), b[at:]...)
	}
	return b
}

// headCache is the connection's cache, made at its first use.
func (c *Conn) headCache() *headCache {
	if hc := c.heads.Load(); hc != nil {
		return hc
	}
	hc := new(headCache)
	if c.heads.CompareAndSwap(nil, hc) {
		return hc
	}
	return c.heads.Load()
}
