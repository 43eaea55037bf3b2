package upstream

import (
	"encoding/binary"

	"github.com/gonginx/gonginx/rewrite/http1"
)

// A cache file keeps, beside the stored head's text, where its parts
// are (filecache.Meta.HeadIndex): what http1.ParseResponseHead made of
// that text when the file was written. A hit takes the head from it (~60
// instructions for three headers) instead of parsing the text again
// (~1,400), and gets the same http1.ResponseHead: the index is the
// parse's own result. A file without one (written before it, or whose
// index does not fit) is parsed as before.
//
// Layout, little-endian 16-bit words: status, major, minor, the status
// line's start and end, the head's length as parsed, then per header its
// name's start and end and its value's start and end, all offsets into
// the head's text.

const headIndexFixed = 6 * 2

// appendHeadIndex appends the index of head (appendStoredHead's text)
// to b, parsing it into h, a scratch head; nothing when it does not
// parse whole or an offset would not fit.
func appendHeadIndex(b, head []byte, h *http1.ResponseHead) []byte {
	if len(head) > 0xffff {
		return b
	}
	hl, err := http1.ParseResponseHead(head, h)
	if err != nil || hl == 0 || h.Status > 0xffff || h.Major > 0xffff || h.Minor > 0xffff {
		return b
	}
	start := len(b)
	le := binary.LittleEndian
	// offset is where s, a part of head, starts in it; ok false when s
	// is not head's (the parse made it elsewhere).
	offset := func(s []byte) (uint16, bool) {
		off := cap(head) - cap(s)
		if off < 0 || off+len(s) > len(head) || len(s) > 0 && &head[off] != &s[0] {
			return 0, false
		}
		return uint16(off), true
	}
	sl, ok := offset(h.StatusLine)
	if !ok {
		return b[:start]
	}
	b = le.AppendUint16(b, uint16(h.Status))
	b = le.AppendUint16(b, uint16(h.Major))
	b = le.AppendUint16(b, uint16(h.Minor))
	b = le.AppendUint16(b, sl)
	b = le.AppendUint16(b, sl+uint16(len(h.StatusLine)))
	b = le.AppendUint16(b, uint16(hl))
	for _, hd := range h.Headers {
		n, ok1 := offset(hd.Name)
		v, ok2 := offset(hd.Value)
		if !ok1 || !ok2 {
			return b[:start]
		}
		b = le.AppendUint16(b, n)
		b = le.AppendUint16(b, n+uint16(len(hd.Name)))
		b = le.AppendUint16(b, v)
		b = le.AppendUint16(b, v+uint16(len(hd.Value)))
	}
	return b
}

// loadHead fills h from head and its index idx as ParseResponseHead
// would, returning the head's length; 0 when idx does not describe head
// (a damaged file: the caller parses the text).
func loadHead(head, idx []byte, h *http1.ResponseHead) int {
	if len(idx) < headIndexFixed || (len(idx)-headIndexFixed)%8 != 0 {
		return 0
	}
	le := binary.LittleEndian
	n := len(head)
	ss, se, hl := int(le.Uint16(idx[6:])), int(le.Uint16(idx[8:])), int(le.Uint16(idx[10:]))
	if ss > se || se > n || hl == 0 || hl > n {
		return 0
	}
	h.Status, h.Major, h.Minor = int(le.Uint16(idx)), int(le.Uint16(idx[2:])), int(le.Uint16(idx[4:]))
	h.StatusLine = head[ss:se]
	hs := h.Headers[:0]
	for p := idx[headIndexFixed:]; len(p) >= 8; p = p[8:] {
		ns, ne, vs, ve := int(le.Uint16(p)), int(le.Uint16(p[2:])), int(le.Uint16(p[4:])), int(le.Uint16(p[6:]))
		if ns > ne || ne > n || vs > ve || ve > n {
			h.Headers = hs
			return 0
		}
		hs = append(hs, http1.Header{Name: head[ns:ne], Value: head[vs:ve]})
	}
	h.Headers = hs
	return hl
}
