package upstream

import (
	"bytes"
	"errors"

	"github.com/gonginx/gonginx/rewrite/http2"
)

// This file decodes HPACK header blocks for the gRPC client, as nginx's
// grpc module does (ngx_http_grpc_parse_header): the static and dynamic
// tables, and Huffman strings by the decoder of our HTTP/2 server, which
// is nginx's (ngx_http_huff_decode serves both): padding of more than
// seven bits of EOS, which some encoders send, is taken. Fields go into
// the stream's arena, without an allocation per field.

var errHPACK = errors.New("upstream sent invalid encoded header")

// hpackStatic is RFC 7541's static table (index 1 first).
var hpackStatic = [...][2]string{
	{":authority", ""}, {":method", "GET"}, {":method", "POST"}, {":path", "/"},
	{":path", "/index.html"}, {":scheme", "http"}, {":scheme", "https"}, {":status", "200"},
	{":status", "204"}, {":status", "206"}, {":status", "304"}, {":status", "400"},
	{":status", "404"}, {":status", "500"}, {"accept-charset", ""}, {"accept-encoding", "gzip, deflate"},
	{"accept-language", ""}, {"accept-ranges", ""}, {"accept", ""}, {"access-control-allow-origin", ""},
	{"age", ""}, {"allow", ""}, {"authorization", ""}, {"cache-control", ""},
	{"content-disposition", ""}, {"content-encoding", ""}, {"content-language", ""}, {"content-length", ""},
	{"content-location", ""}, {"content-range", ""}, {"content-type", ""}, {"cookie", ""},
	{"date", ""}, {"etag", ""}, {"expect", ""}, {"expires", ""},
	{"from", ""}, {"host", ""}, {"if-match", ""}, {"if-modified-since", ""},
	{"if-none-match", ""}, {"if-range", ""}, {"if-unmodified-since", ""}, {"last-modified", ""},
	{"link", ""}, {"location", ""}, {"max-forwards", ""}, {"proxy-authenticate", ""},
	{"proxy-authorization", ""}, {"range", ""}, {"referer", ""}, {"refresh", ""},
	{"retry-after", ""}, {"server", ""}, {"set-cookie", ""}, {"strict-transport-security", ""},
	{"transfer-encoding", ""}, {"user-agent", ""}, {"vary", ""}, {"via", ""},
	{"www-authenticate", ""},
}

// hpackDecoder is a connection's decoding state: the dynamic table,
// newest first.
type hpackDecoder struct {
	table   [][2]string
	size    int // RFC 7541 4.1's size of the table
	maxSize int
	// huff keeps recent Huffman strings with what they decode to: with
	// no header table (nginx's SETTINGS) a backend codes the same names
	// and values in every response.
	huff *http2.SeenCache

	// gen counts the table's changes (insertions, size updates); seen
	// keeps the last two blocks decoded with no change to it (a
	// response's head and its trailers) with their fields: a backend
	// sends the same blocks for each call, which decode the same while
	// the table is the same (~2k instructions a gRPC call).
	gen  uint64
	seen [2]seenHPACKBlock
	next int // the seen entry replaced next
}

type seenHPACKBlock struct {
	key    []byte
	gen    uint64
	arena  []byte
	fields [][4]int
}

// seenBlockMax: longer blocks are decoded each time, not kept.
const seenBlockMax = 512

// decodeSeen is decode into an empty g, from seen when the block was
// decoded before under the same table.
func (d *hpackDecoder) decodeSeen(block []byte, g *grpcStream) error {
	if len(block) > seenBlockMax {
		return d.decode(block, g)
	}
	for i := range d.seen {
		if s := &d.seen[i]; s.key != nil && s.gen == d.gen && bytes.Equal(s.key, block) {
			g.arena = append(g.arena, s.arena...)
			g.fields = append(g.fields, s.fields...)
			return nil
		}
	}
	gen := d.gen
	if err := d.decode(block, g); err != nil || d.gen != gen {
		return err
	}
	s := &d.seen[d.next]
	d.next = 1 - d.next
	s.key, s.gen = append(s.key[:0], block...), gen
	if s.key == nil {
		s.key = []byte{}
	}
	s.arena = append(s.arena[:0], g.arena...)
	s.fields = append(s.fields[:0], g.fields...)
	return nil
}

// huffSeenMax: longer strings are decoded each time, not kept.
const huffSeenMax = 64

// huffDecode appends raw decoded to dst: as a string seen before
// decoded, else by the decoder (then kept).
func (d *hpackDecoder) huffDecode(dst, raw []byte) ([]byte, bool) {
	if d.huff == nil {
		d.huff = http2.NewSeenCache(2, huffSeenMax) // 16 strings
	}
	if out, ok := d.huff.Get(raw); ok {
		return append(dst, out...), true
	}
	at := len(dst)
	dst, ok := http2.HuffmanDecode(dst, raw)
	if ok {
		d.huff.Put(raw, dst[at:])
	}
	return dst, ok
}

func (d *hpackDecoder) entry(i int) (name, value string, ok bool) {
	switch {
	case i >= 1 && i <= len(hpackStatic):
		e := hpackStatic[i-1]
		return e[0], e[1], true
	case i > len(hpackStatic) && i-len(hpackStatic) <= len(d.table):
		e := d.table[i-len(hpackStatic)-1]
		return e[0], e[1], true
	}
	return "", "", false
}

func (d *hpackDecoder) add(name, value string) {
	d.gen++
	n := len(name) + len(value) + 32
	d.table = append(d.table, [2]string{})
	copy(d.table[1:], d.table)
	d.table[0] = [2]string{name, value}
	d.size += n
	d.evict()
}

func (d *hpackDecoder) evict() {
	for d.size > d.maxSize && len(d.table) > 0 {
		e := d.table[len(d.table)-1]
		d.size -= len(e[0]) + len(e[1]) + 32
		d.table = d.table[:len(d.table)-1]
	}
}

// hpackInteger reads an integer with an n-bit prefix.
func hpackInteger(b []byte, n uint) (int, []byte, bool) {
	if len(b) == 0 {
		return 0, nil, false
	}
	max := 1<<n - 1
	v := int(b[0]) & max
	b = b[1:]
	if v < max {
		return v, b, true
	}
	for m := uint(0); ; m += 7 {
		if len(b) == 0 || m > 28 {
			return 0, nil, false
		}
		c := b[0]
		b = b[1:]
		v += int(c&0x7f) << m
		if c&0x80 == 0 {
			return v, b, true
		}
	}
}

// str reads a string literal into the arena.
func (d *hpackDecoder) str(b []byte, g *grpcStream) (start, end int, rest []byte, ok bool) {
	if len(b) == 0 {
		return 0, 0, nil, false
	}
	huff := b[0]&0x80 != 0
	n, b, ok := hpackInteger(b, 7)
	if !ok || n > len(b) {
		return 0, 0, nil, false
	}
	raw := b[:n]
	start = len(g.arena)
	if !huff {
		g.arena = append(g.arena, raw...)
		return start, len(g.arena), b[n:], true
	}
	// Decoded into the arena (x/net's decoder made a string through a
	// pooled buffer, a byte at a time: ~6k instructions per gRPC call,
	// whose backend codes every field, the header table being off).
	if g.arena, ok = d.huffDecode(g.arena, raw); !ok {
		g.arena = g.arena[:start]
		return 0, 0, nil, false
	}
	return start, len(g.arena), b[n:], true
}

// decode decodes a whole header block into g.fields.
func (d *hpackDecoder) decode(block []byte, g *grpcStream) error {
	b := block
	for len(b) > 0 {
		c := b[0]
		switch {
		case c&0x80 != 0: // indexed
			i, rest, ok := hpackInteger(b, 7)
			if !ok {
				return errHPACK
			}
			name, value, ok := d.entry(i)
			if !ok {
				return errHPACK
			}
			g.addField(name, value)
			b = rest
		case c&0xe0 == 0x20: // dynamic table size update
			n, rest, ok := hpackInteger(b, 5)
			if !ok || n > 4096 {
				return errHPACK
			}
			d.maxSize = n
			d.gen++
			d.evict()
			b = rest
		default:
			prefix, index := uint(4), false
			if c&0xc0 == 0x40 {
				prefix, index = 6, true
			}
			i, rest, ok := hpackInteger(b, prefix)
			if !ok {
				return errHPACK
			}
			b = rest
			at := len(g.arena)
			if i > 0 {
				name, _, ok := d.entry(i)
				if !ok {
					return errHPACK
				}
				g.arena = append(g.arena, name...)
			} else {
				_, _, b, ok = d.str(b, g)
				if !ok {
					return errHPACK
				}
			}
			mid := len(g.arena)
			_, _, b, ok = d.str(b, g)
			if !ok {
				return errHPACK
			}
			g.fields = append(g.fields, [4]int{at, mid, mid, len(g.arena)})
			if index {
				d.add(string(g.arena[at:mid]), string(g.arena[mid:]))
			}
		}
	}
	return nil
}

// validHeaderName: no control, space, ':', DEL, upper-case letter or
// byte past ASCII, as ngx_http_grpc_validate_header_name.
func validHeaderName(b []byte) bool {
	var bad bool
	for _, c := range b {
		bad = bad || badNameByte[c] // no branch per byte
	}
	return len(b) > 0 && !bad
}

var badNameByte = func() (t [256]bool) {
	for c := range t {
		t[c] = c <= ' ' || c == ':' || c >= 0x7f || 'A' <= c && c <= 'Z'
	}
	return t
}()

// validHeaderValue: no NUL, CR or LF, as
// ngx_http_grpc_validate_header_value (eight bytes at a time).
func validHeaderValue(b []byte) bool { return !http2.HasLineEnd(b) }
