package http2

import (
	"errors"
	"strconv"
	"strings"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// decoder reads a request's header block (RFC 7541) as nginx's
// ngx_http_v2_state_header_block does, where it differs from x/net's
// hpack.Decoder: an integer longer than four octets is a COMPRESSION_ERROR
// (nginx's NGX_HTTP_V2_INT_OCTETS), a Huffman string may end in more than
// seven bits of padding as long as they are ones (ngx_http_huff_decode
// only asks that the string end on a prefix of EOS), and a size update is
// taken anywhere in the block. Fields are emitted as they complete; a
// representation cut by a fragment's end waits in pend for the next one.
type decoder struct {
	emit     func(name, value []byte)
	strLimit int // one string's length (large_client_header_buffers size)

	maxSize int // the table size the client may ask for (our SETTINGS)
	limit   int // the size it asked for last
	size    int // the table's size now (entries' bytes + 32 each)

	// The dynamic table: ents[first:] oldest first, their bytes in arena.
	arena []byte
	ents  []hentry
	first int

	pend []byte // an incomplete representation
	huff []byte // scratch for Huffman-decoded strings
	name []byte // scratch for a name taken from the table

	// What the field being emitted is known to be, so that its checks
	// (checkField) run once per table entry, not once per request that
	// names it: staticName, its name is the static table's (valid);
	// verdict, the slot of the dynamic table entry that is the field
	// (its name and value), where the check's verdict is kept (0: not
	// checked yet). nil for a literal value.
	staticName bool
	verdict    *uint8

	// gen counts the changes of the dynamic table (insertions, size
	// updates); literal: a representation other than an indexed field
	// was read since it was last cleared. A block of indexed fields
	// alone read under the same gen gives the same fields again.
	gen     uint64
	literal bool
}

// hentry is a dynamic table entry: its bytes in the arena, and the
// verdict of the checks on it (decoder.verdict).
type hentry struct {
	off, nlen, vlen int
	verdict         uint8
}

// hpackError is a connection error with nginx's log line.
type hpackError struct {
	code http2.ErrCode
	msg  string
}

func (e *hpackError) Error() string { return e.msg }

var (
	errNeedMore      = errors.New("hpack: representation continues")
	errIntTooLong    = errors.New("hpack: integer longer than 4 octets")
	errHuffman       = &hpackError{http2.ErrCodeCompression, "client sent invalid encoded header field"}
	errFieldLarge    = &hpackError{http2.ErrCodeEnhanceYourCalm, "client sent too large header field"}
	errLengthTooLong = &hpackError{http2.ErrCodeCompression, "client sent header field with too long length value"}
	errBlockLength   = &hpackError{http2.ErrCodeFrameSize, "client sent header block with incorrect length"}
)

// intOctets is nginx's NGX_HTTP_V2_INT_OCTETS: the prefix octet and at
// most three more.
const intOctets = 4

func newDecoder(maxSize, strLimit int, emit func(name, value []byte)) *decoder {
	return &decoder{emit: emit, strLimit: strLimit, maxSize: maxSize, limit: maxSize}
}

// Write decodes a fragment of a header block.
func (d *decoder) Write(frag []byte) error {
	p := frag
	if len(d.pend) > 0 {
		d.pend = append(d.pend, frag...)
		p = d.pend
	}
	for len(p) > 0 {
		n, err := d.field(p)
		if err == errNeedMore {
			break
		}
		if err != nil {
			d.pend = d.pend[:0]
			return err
		}
		p = p[n:]
	}
	// p aliases pend or frag; copy works for either (forward overlap).
	d.pend = append(d.pend[:0], p...)
	return nil
}

// Close ends a block: a representation still open is nginx's "incorrect
// length".
func (d *decoder) Close() error {
	if len(d.pend) > 0 {
		d.pend = d.pend[:0]
		return errBlockLength
	}
	return nil
}

// scanInts walks the complete representations at the start of a block
// without decoding them, for an integer nginx would refuse; it returns
// how many bytes it walked, to resume from there when more arrive.
func scanInts(p []byte) (int, *hpackError) {
	done := 0
	for done < len(p) {
		q := p[done:]
		ch := q[0]
		prefix := uint(4)
		switch {
		case ch >= 0x80:
			prefix = 7
		case ch >= 0x40:
			prefix = 6
		case ch >= 0x20:
			prefix = 5
		}
		idx, n, err := readInt(q, prefix)
		if err == errIntTooLong {
			return done, tooLongIndex(prefix)
		}
		if err != nil {
			return done, nil
		}
		if prefix != 7 && prefix != 5 {
			for k := 0; k < 2; k++ {
				if k == 0 && idx > 0 {
					continue // the name is indexed
				}
				l, m, err := readInt(q[n:], 7)
				if err == errIntTooLong {
					return done, errLengthTooLong
				}
				if err != nil || len(q)-n-m < l {
					return done, nil
				}
				n += m + l
			}
		}
		done += n
	}
	return done, nil
}

func tooLongIndex(prefix uint) *hpackError {
	what := "header index"
	if prefix == 5 {
		what = "size update"
	}
	return &hpackError{http2.ErrCodeCompression, "client sent header block with too long " + what + " value"}
}

// readInt is HPACK's integer (RFC 7541 5.1) as ngx_http_v2_parse_int
// reads it.
func readInt(p []byte, prefix uint) (v, n int, err error) {
	if len(p) == 0 {
		return 0, 0, errNeedMore
	}
	max := 1<<prefix - 1
	v = int(p[0]) & max
	if v != max {
		return v, 1, nil
	}
	end := len(p)
	if end > intOctets {
		end = intOctets
	}
	shift := 0
	for i := 1; i < end; i++ {
		v += int(p[i]&0x7f) << shift
		if p[i] < 0x80 {
			return v, i + 1, nil
		}
		shift += 7
	}
	if end >= intOctets {
		return 0, 0, errIntTooLong
	}
	return 0, 0, errNeedMore
}

// field decodes one representation from p, returning its length.
func (d *decoder) field(p []byte) (int, error) {
	ch := p[0]
	var prefix uint
	switch {
	case ch >= 0x80:
		prefix = 7
	case ch >= 0x40:
		prefix = 6
	case ch >= 0x20:
		prefix = 5
	default:
		prefix = 4
	}
	idx, n, err := readInt(p, prefix)
	if err == errIntTooLong {
		return 0, tooLongIndex(prefix)
	}
	if err != nil {
		return 0, err
	}
	switch prefix {
	case 7:
		name, value, err := d.entry(idx)
		if err != nil {
			return 0, err
		}
		d.staticName, d.verdict = idx <= len(staticTable), nil
		if !d.staticName {
			d.verdict = &d.ents[len(d.ents)-1-(idx-len(staticTable)-1)].verdict
		}
		d.emit(name, value)
		return n, nil
	case 5:
		d.gen++
		d.literal = true
		if idx > d.maxSize {
			return 0, &hpackError{http2.ErrCodeCompression, "client sent invalid table size update"}
		}
		d.limit = idx
		d.evict(0)
		return n, nil
	}
	d.literal = true
	var name []byte
	if idx > 0 {
		if name, _, err = d.entry(idx); err != nil {
			return 0, err
		}
	} else {
		var m int
		if name, m, err = d.str(p[n:]); err != nil {
			return 0, err
		}
		n += m
	}
	// The name may sit in d.huff or the table: the value's decoding and
	// the insertion must not overwrite it.
	d.name = append(d.name[:0], name...)
	value, m, err := d.str(p[n:])
	if err != nil {
		return 0, err
	}
	n += m
	d.staticName, d.verdict = idx > 0 && idx <= len(staticTable), nil
	if prefix == 6 {
		var kept bool
		name, value, kept = d.add(d.name, value)
		if kept {
			d.verdict = &d.ents[len(d.ents)-1].verdict
		}
		d.emit(name, value)
	} else {
		d.emit(d.name, value)
	}
	return n, nil
}

// str reads a string literal; a Huffman-coded one is decoded into d.huff.
func (d *decoder) str(p []byte) ([]byte, int, error) {
	if len(p) == 0 {
		return nil, 0, errNeedMore
	}
	huff := p[0]&0x80 != 0
	l, n, err := readInt(p, 7)
	if err == errIntTooLong {
		return nil, 0, errLengthTooLong
	}
	if err != nil {
		return nil, 0, err
	}
	if l > d.strLimit {
		return nil, 0, errFieldLarge
	}
	if len(p)-n < l {
		return nil, 0, errNeedMore
	}
	s := p[n : n+l]
	if !huff {
		return s, n + l, nil
	}
	out, ok := huffDecode(d.huff[:0], s)
	if !ok {
		return nil, 0, errHuffman
	}
	d.huff = out
	return out, n + l, nil
}

// entry is the name and value at a 1-based index: the static table, then
// the dynamic one newest first.
func (d *decoder) entry(idx int) (name, value []byte, err error) {
	switch {
	case idx == 0:
		return nil, nil, &hpackError{http2.ErrCodeCompression, "client sent invalid hpack table index 0"}
	case idx <= len(staticTable):
		e := &staticTable[idx-1]
		return e.name, e.value, nil
	}
	i := len(d.ents) - 1 - (idx - len(staticTable) - 1)
	if i < d.first {
		return nil, nil, &hpackError{http2.ErrCodeCompression, "client sent out of bound hpack table index: " + strconv.Itoa(idx)}
	}
	e := d.ents[i]
	return d.arena[e.off : e.off+e.nlen], d.arena[e.off+e.nlen : e.off+e.nlen+e.vlen], nil
}

// add inserts a field, evicting the oldest as needed; a field larger than
// the whole table empties it and is not kept (RFC 7541 4.4). It returns
// the field's bytes (in the arena when kept).
func (d *decoder) add(name, value []byte) ([]byte, []byte, bool) {
	d.gen++
	sz := len(name) + len(value) + 32
	if sz > d.limit {
		d.evict(d.limit + 1)
		return name, value, false
	}
	d.evict(sz)
	// Live bytes are at most the table size: compact before the arena
	// doubles it, so it stays within a fixed bound.
	if d.first > 0 && len(d.arena)+len(name)+len(value) > 2*d.maxSize {
		off := d.ents[d.first].off
		n := copy(d.arena, d.arena[off:])
		d.arena = d.arena[:n]
		m := copy(d.ents, d.ents[d.first:])
		d.ents = d.ents[:m]
		d.first = 0
		for i := range d.ents {
			d.ents[i].off -= off
		}
	}
	off := len(d.arena)
	d.arena = append(d.arena, name...)
	d.arena = append(d.arena, value...)
	d.ents = append(d.ents, hentry{off: off, nlen: len(name), vlen: len(value)})
	d.size += sz
	return d.arena[off : off+len(name)], d.arena[off+len(name):], true
}

// evict drops the oldest entries until need more bytes fit.
func (d *decoder) evict(need int) {
	for d.size+need > d.limit && d.first < len(d.ents) {
		e := d.ents[d.first]
		d.size -= e.nlen + e.vlen + 32
		d.first++
	}
	if d.first == len(d.ents) {
		d.ents, d.arena, d.first = d.ents[:0], d.arena[:0], 0
	}
}

type staticEntry struct{ name, value []byte }

// staticTable is RFC 7541's Appendix A.
var staticTable = func() []staticEntry {
	const t = `:authority|:method GET|:method POST|:path /|:path /index.html|:scheme http|` +
		`:scheme https|:status 200|:status 204|:status 206|:status 304|:status 400|:status 404|` +
		`:status 500|accept-charset|accept-encoding gzip, deflate|accept-language|accept-ranges|` +
		`accept|access-control-allow-origin|age|allow|authorization|cache-control|` +
		`content-disposition|content-encoding|content-language|content-length|content-location|` +
		`content-range|content-type|cookie|date|etag|expect|expires|from|host|if-match|` +
		`if-modified-since|if-none-match|if-range|if-unmodified-since|last-modified|link|` +
		`location|max-forwards|proxy-authenticate|proxy-authorization|range|referer|refresh|` +
		`retry-after|server|set-cookie|strict-transport-security|transfer-encoding|user-agent|` +
		`vary|via|www-authenticate`
	var s []staticEntry
	for _, f := range strings.Split(t, "|") {
		name, value, _ := strings.Cut(f, " ")
		s = append(s, staticEntry{[]byte(name), []byte(value)})
	}
	return s
}()

// huffNode is one 8-bit step of the Huffman decoding table: an inner
// node's next table, or a leaf's symbol and its code's bits in this step.
type huffNode struct {
	next *[256]huffNode
	sym  uint16
	bits uint8
}

const huffEOS = 256

// huffRoot is built from x/net's encoder (the codes of RFC 7541
// Appendix B), so the table is not written out twice.
var huffRoot = func() *[256]huffNode {
	root := new([256]huffNode)
	put := func(code uint32, length uint, sym uint16) {
		t := root
		for length > 8 {
			i := byte(code >> (length - 8))
			if t[i].next == nil {
				t[i].next = new([256]huffNode)
			}
			t = t[i].next
			length -= 8
		}
		shift := 8 - length
		base := int(code&(1<<length-1)) << shift
		for i := 0; i < 1<<shift; i++ {
			t[base+i] = huffNode{sym: sym, bits: uint8(length)}
		}
	}
	for c := 0; c < 256; c++ {
		// Eight copies fill whole bytes: the byte count is the code's bits.
		enc := hpack.AppendHuffmanString(nil, strings.Repeat(string([]byte{byte(c)}), 8))
		length := uint(len(enc))
		nb := (length + 7) / 8
		var code uint64
		for _, b := range enc[:nb] {
			code = code<<8 | uint64(b)
		}
		put(uint32(code>>(nb*8-length)), length, uint16(c))
	}
	put(1<<30-1, 30, huffEOS)
	return root
}()

// HuffmanDecode appends the HPACK Huffman string s decoded to dst, as
// ngx_http_huff_decode does (the gRPC client's decoder too): false for
// EOS in s or padding that is not a prefix of EOS (all ones). Unlike RFC
// 7541 5.2 the padding may be longer than seven bits.
func HuffmanDecode(dst, s []byte) ([]byte, bool) { return huffDecode(dst, s) }

// huffDecode is HuffmanDecode.
func huffDecode(dst, s []byte) ([]byte, bool) {
	var cur uint64
	var cbits uint
	t := huffRoot
	ones := true // the bits since the last symbol are all ones
	for _, b := range s {
		cur = cur<<8 | uint64(b)
		cbits += 8
		for cbits >= 8 {
			i := byte(cur >> (cbits - 8))
			n := &t[i]
			if n.next != nil {
				ones = ones && i == 0xff
				t = n.next
				cbits -= 8
				continue
			}
			if n.sym == huffEOS {
				return dst, false
			}
			dst = append(dst, byte(n.sym))
			cbits -= uint(n.bits)
			t, ones = huffRoot, true
		}
	}
	for cbits > 0 {
		n := &t[byte(cur<<(8-cbits))]
		if n.next != nil || uint(n.bits) > cbits {
			break
		}
		if n.sym == huffEOS {
			return dst, false
		}
		dst = append(dst, byte(n.sym))
		cbits -= uint(n.bits)
		t, ones = huffRoot, true
	}
	mask := uint64(1)<<cbits - 1
	return dst, ones && cur&mask == mask
}

// dropScratch lets the scratch buffers go between header blocks (a
// parked connection's); the table stays.
func (d *decoder) dropScratch() {
	d.pend, d.huff, d.name = nil, nil, nil
}
