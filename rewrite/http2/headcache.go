package http2

import (
	"bytes"
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
	headCacheSize = 32
	// headCacheLine: longer lines (cookies, long links) are coded each
	// time and not kept.
	headCacheLine = 256
)

func (hc *headCache) slot(line []byte) int {
	n := len(line)
	return int((uint(n)*31 + uint(line[0])*7 + uint(line[n/2])*3 + uint(line[n-1])) % headCacheSize)
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
