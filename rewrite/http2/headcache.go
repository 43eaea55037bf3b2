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
	// scratch is a kept head's record: its own count, its coding.
	scratch []byte
}

// headCacheLine: longer lines (cookies, long links) are coded each time
// and not kept.
const headCacheLine = 256

// headCacheBlock: longer heads are not kept whole.
const headCacheBlock = 512

// appendLines is appendHeaderLines through the cache; hc may be nil
// (nothing kept). A line of nginx's own fields (the first own bytes of
// lines) is kept under its line with the CRLF, another without: the
// same text codes differently in each (a static file's Last-Modified
// and a backend's). A whole head keeps its own count with its coding.
func (hc *headCache) appendLines(b, lines []byte, own int, name *[]byte) []byte {
	if hc == nil {
		return appendHeaderLines(b, lines, own, name)
	}
	hc.mu.Lock()
	defer hc.mu.Unlock()
	keep := true
	if enc, ok := hc.heads.Get(lines); ok {
		if int(enc[0])<<8|int(enc[1]) == own {
			return append(b, enc[2:]...)
		}
		keep = false // the same text split otherwise: not kept twice
	}
	head, start, seen, left := lines, len(b), true, own
	for len(lines) > 0 {
		line, rest := nextLine(lines)
		key, isOwn := line, left > 0
		if isOwn {
			key = lines[:len(lines)-len(rest)]
		}
		left -= len(lines) - len(rest)
		lines = rest
		if len(line) == 0 {
			break
		}
		if enc, ok := hc.seen.Get(key); ok {
			b = append(b, enc...)
			continue
		}
		seen = false
		at := len(b)
		b = appendHeaderLine(b, line, isOwn, &hc.name)
		hc.seen.Put(key, b[at:])
	}
	if seen && keep {
		// Its lines repeat: the head is likely to (a head that differs
		// each time, by a length or a cookie, is not copied each time).
		hc.scratch = append(append(hc.scratch[:0], byte(own>>8), byte(own)), b[start:]...)
		hc.heads.Put(head, hc.scratch)
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
