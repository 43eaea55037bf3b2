package http2

import "sync"

// headCache keeps the HPACK encodings of a connection's recent response
// header lines. Its responses repeat most of theirs (server,
// content-type, a backend's fixed headers, grpc-status; the date for a
// second), and each line would be Huffman-coded again, at ~20
// instructions a byte (nginx codes it again too): a line seen before is
// copied as it was coded, the same bytes. A new date replaces the last
// one. A whole head whose lines were all seen before is kept too (the
// coding is line by line, no table): its next time is one look-up, not
// one a line (~150 instructions each, a line's split and look-up).
type headCache struct {
	mu    sync.Mutex
	seen  *SeenCache // 32 lines
	heads *SeenCache // 4 heads (or trailers)
	name  []byte     // scratch for a lower-cased name
}

// headCacheLine: longer lines (cookies, long links) are coded each time
// and not kept.
const headCacheLine = 256

// headCacheBlock: longer heads are not kept whole.
const headCacheBlock = 512

// appendLines is appendHeaderLines through the cache; hc may be nil
// (nothing kept).
func (hc *headCache) appendLines(b, lines []byte, name *[]byte) []byte {
	if hc == nil {
		return appendHeaderLines(b, lines, name)
	}
	hc.mu.Lock()
	defer hc.mu.Unlock()
	if enc, ok := hc.heads.Get(lines); ok {
		return append(b, enc...)
	}
	head, start, seen := lines, len(b), true
	for len(lines) > 0 {
		line, rest := nextLine(lines)
		lines = rest
		if len(line) == 0 {
			break
		}
		if enc, ok := hc.seen.Get(line); ok {
			b = append(b, enc...)
			continue
		}
		seen = false
		at := len(b)
		b = appendHeaderLine(b, line, &hc.name)
		hc.seen.Put(line, b[at:])
	}
	if seen {
		// Its lines repeat: the head is likely to (a head that differs
		// each time, by a length or a cookie, is not copied each time).
		hc.heads.Put(head, b[start:])
	}
	return b
}

func newHeadCache() *headCache {
	return &headCache{seen: NewSeenCache(3, headCacheLine), heads: NewSeenCache(0, headCacheBlock)}
}

// headCache is the connection's cache, made at its first use.
func (c *Conn) headCache() *headCache {
	if hc := c.heads.Load(); hc != nil {
		return hc
	}
	hc := newHeadCache()
	if c.heads.CompareAndSwap(nil, hc) {
		return hc
	}
	return c.heads.Load()
}
