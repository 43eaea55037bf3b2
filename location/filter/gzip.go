package filter

import (
	"strconv"
	"sync"

	"github.com/klauspost/compress/gzip"
)

// Gzip is the gzip body filter (ngx_http_gzip_filter_module's body part):
// it compresses the body at a level from 1 to 9 into one gzip member. A
// flush ends a deflate block with an empty stored block and passes on all
// output so far (zlib's Z_SYNC_FLUSH, as nginx does for a flush buffer), so
// the client can read everything sent before it.
//
// The compressor and the output buffer are taken from pools when the
// first bytes come and given back when the body ends (or Release), so a
// Gzip kept with a request costs nothing between responses.
type Gzip struct {
	next  Link
	level int
	zw    *gzip.Writer
	out   *[]byte // compressed bytes not yet passed on
	// In and Out count the bytes taken and produced (gzip header and
	// trailer included, as zlib's total_out): nginx's $gzip_ratio.
	In, Out int64
	done    bool
	err     error
	// fresh: input came since the last flush. zlib makes no empty block
	// for a flush with nothing new (Z_BUF_ERROR), and the proxy flushes
	// before every read from the backend.
	fresh bool
	// A body's first bytes wait here until it is known whether the whole
	// body is small: klauspost's levels 1 to 6 store a block under 128
	// bytes as it is (64 bytes become 89 where zlib makes 24), so a small
	// body is compressed at level 9, which codes it as zlib does.
	small  [smallBody]byte
	nsmall int
	used   int // the level of zw's pool
	// whole: the body was compressed in one go (a small body's), so
	// the member is at hand in out when it ends (zlibFinal).
	whole bool
	// headDone: the gzip header's XFL and OS bytes were set to zlib's.
	headDone bool
}

const smallBody = 128

// outSize is how many compressed bytes are gathered before they are passed
// on: nginx gives zlib 4k buffers and passes on what fills them while the
// input lasts, so its pieces are as big as the output of one input buffer.
const outSize = 32 << 10

var outBufs = sync.Pool{New: func() any { b := make([]byte, 0, outSize); return &b }}

// gzipWriters pools compressors per level (index 1 to 9): one holds
// several hundred KiB of tables.
var gzipWriters [10]sync.Pool

// Reset prepares g for a response compressed at level (1 to 9).
func (g *Gzip) Reset(level int) {
	g.Release()
	g.level = min(max(level, 1), 9)
	g.In, g.Out, g.done, g.err, g.fresh, g.nsmall = 0, 0, false, nil, false, 0
	g.whole, g.headDone = false, false
}

// SetNext is Link's.
func (g *Gzip) SetNext(next Link) { g.next = next }

// Ratio is $gzip_ratio's value, "in/out" with two decimals rounded half
// up as ngx_http_gzip_ratio_variable does; ok is false before the body
// ended (nginx's zout is set by deflateEnd).
func (g *Gzip) Ratio(dst []byte) ([]byte, bool) {
	if !g.done || g.Out == 0 {
		return dst, false
	}
	zint := g.In / g.Out
	zfrac := g.In * 100 / g.Out % 100
	if g.In*1000/g.Out%10 > 4 {
		zfrac++
		if zfrac > 99 {
			zint++
			zfrac = 0
		}
	}
	dst = strconv.AppendInt(dst, zint, 10)
	dst = append(dst, '.', byte('0'+zfrac/10), byte('0'+zfrac%10))
	return dst, true
}

// Body is Link's.
func (g *Gzip) Body(p []byte, flush, last bool) error {
	if g.err != nil {
		return g.err
	}
	if g.done {
		return g.next.Body(p, flush, last)
	}
	if g.zw == nil {
		if !last && !flush && g.nsmall+len(p) < smallBody {
			g.nsmall += copy(g.small[g.nsmall:], p)
			g.In += int64(len(p))
			return nil
		}
		if g.nsmall == 0 && len(p) == 0 && !last {
			// Nothing to compress yet: a flush has nothing to pass on.
			return g.next.Body(nil, true, false)
		}
		level := g.level
		if last && g.nsmall+len(p) < smallBody {
			level, g.whole = 9, true
		}
		g.start(level)
		if g.nsmall > 0 {
			g.fresh = true
			if _, err := g.zw.Write(g.small[:g.nsmall]); err != nil {
				return g.fail(err)
			}
		}
	}
	if len(p) > 0 {
		g.In += int64(len(p))
		g.fresh = true
		if _, err := g.zw.Write(p); err != nil {
			return g.fail(err)
		}
	}
	switch {
	case last:
		if err := g.zw.Close(); err != nil {
			return g.fail(err)
		}
		g.done = true
		if g.whole {
			g.zlibFinal()
		}
		err := g.pass(false, true)
		g.Release()
		return err
	case flush:
		if g.fresh {
			g.fresh = false
			if err := g.zw.Flush(); err != nil {
				return g.fail(err)
			}
		}
		return g.pass(true, false)
	}
	return nil
}

func (g *Gzip) start(level int) {
	g.used = level
	if w, _ := gzipWriters[level].Get().(*gzip.Writer); w != nil {
		g.zw = w
		w.Reset(g)
	} else {
		g.zw, _ = gzip.NewWriterLevel(g, level)
	}
	g.out = outBufs.Get().(*[]byte)
}

func (g *Gzip) fail(err error) error {
	g.err = err
	g.Release()
	return err
}

// Write takes the compressor's output (Gzip is its io.Writer), passing it
// on in pieces of outSize.
func (g *Gzip) Write(p []byte) (int, error) {
	g.Out += int64(len(p))
	n := len(p)
	for len(p) > 0 {
		b := *g.out
		k := min(len(p), cap(b)-len(b))
		b = append(b, p[:k]...)
		*g.out = b
		p = p[k:]
		if len(b) == cap(b) {
			if err := g.pass(false, false); err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}

// pass hands the gathered output to the next link.
func (g *Gzip) pass(flush, last bool) error {
	b := *g.out
	*g.out = b[:0]
	if !g.headDone && len(b) >= 10 {
		// zlib's header, as nginx's gzip wrapper writes it: XFL 4 at
		// level 1, 2 at level 9, else 0 (klauspost's has 0 or 2), and
		// OS 3, Unix (klauspost's: 255, unknown).
		g.headDone = true
		b[8], b[9] = 0, 3
		switch g.level {
		case 1:
			b[8] = 4
		case 9:
			b[8] = 2
		}
	}
	return g.next.Body(b, flush, last)
}

// zlibFinal ends a member compressed in one go as zlib's Z_FINISH does:
// its one block is the final one. klauspost ends it with an empty final
// block of its own (10 bits), one byte more than zlib's for most small
// bodies ("SEE-THIS" is 29 bytes gzipped where nginx sends 28).
func (g *Gzip) zlibFinal() {
	b := *g.out
	if len(b) < 10+8+2 {
		return
	}
	d := b[10 : len(b)-8]
	// The stream ends with the final block's bits 1 (BFINAL), 1 0
	// (BTYPE fixed) and seven 0s (end of block), then 0s to the byte's
	// end: its last set bit is BTYPE's low one.
	i := len(d) - 1
	for i >= 0 && d[i] == 0 {
		i--
	}
	if i < 0 {
		return
	}
	bit := i*8 + 7
	for d[i]>>(bit%8)&1 == 0 {
		bit--
	}
	start := bit - 1 // the final block's BFINAL bit
	if start <= 0 || d[start/8]>>(start%8)&1 == 0 {
		return // no block before it, or not the shape expected
	}
	n := (start + 7) / 8
	if start%8 != 0 {
		d[n-1] &= 1<<(start%8) - 1
	}
	d[0] |= 1 // the first block is the last
	copy(b[10+n:], b[len(b)-8:])
	b = b[:10+n+8]
	g.Out -= int64(len(*g.out) - len(b))
	*g.out = b
}

// Release gives the compressor and buffer back to their pools; a body cut
// short ends here.
func (g *Gzip) Release() {
	if g.zw != nil {
		g.zw.Reset(nil)
		gzipWriters[g.used].Put(g.zw)
		g.zw = nil
	}
	if g.out != nil {
		*g.out = (*g.out)[:0]
		outBufs.Put(g.out)
		g.out = nil
	}
}

// memberWriter gathers one gzip member (AppendMember).
type memberWriter struct {
	zw  *gzip.Writer
	dst []byte
}

func (m *memberWriter) Write(p []byte) (int, error) {
	m.dst = append(m.dst, p...)
	return len(p), nil
}

var memberWriters [10]sync.Pool

// AppendMember appends src compressed at level (1 to 9) as one whole
// gzip member: access_log's gzip lines.
func AppendMember(dst, src []byte, level int) []byte {
	level = min(max(level, 1), 9)
	m, _ := memberWriters[level].Get().(*memberWriter)
	if m == nil {
		m = &memberWriter{}
		m.zw, _ = gzip.NewWriterLevel(m, level)
	}
	m.dst = dst
	m.zw.Reset(m)
	m.zw.Write(src)
	m.zw.Close()
	dst, m.dst = m.dst, nil
	memberWriters[level].Put(m)
	return dst
}
