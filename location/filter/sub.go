package filter

// The sub_filter stream matcher (ngx_http_sub_filter_module's body
// filter). Patterns are matched caselessly (ASCII) at the leftmost
// position where any of them starts; at one position the first in the
// table's order wins, which for patterns that can match there is the
// order of the sub_filter lines. A pattern cut by the end of a write is
// held back (at most the longest pattern less one byte) until the next
// write decides it; a flush passes on every byte that cannot start a
// match. When the body ends, held bytes go out as they are, as nginx
// sends its "looked" buffer, without looking for a shorter match in them.

// SubTable is a compiled set of search patterns: nginx's
// ngx_http_sub_tables_t with its sorted matches. Build it once per
// location at load time, or per response (into a reused table) when the
// patterns have variables.
type SubTable struct {
	minLen, maxLen int
	// pats are the lowercased patterns ordered by their byte at minLen-1
	// (stable, so lines with the same byte keep their order); pair maps
	// each back to its sub_filter line.
	pats [][]byte
	pair []int
	// index[c]..index[c+1] are the patterns whose byte at minLen-1 is c.
	index [257]uint8
	// shift[c] is how far the end of a minLen window may move when it
	// ends in c: the distance to c's nearest place in the patterns'
	// first minLen bytes.
	shift [256]uint8
}

// MaxSubPatterns is nginx's limit on sub_filter lines per level.
const MaxSubPatterns = 255

// Build compiles pats, already lowercased and none empty, at most
// MaxSubPatterns of them, in the order of their sub_filter lines. It
// reuses the table's memory: a table built again per response allocates
// only while it grows.
func (t *SubTable) Build(pats [][]byte) {
	n := len(pats)
	t.pats, t.pair = t.pats[:0], t.pair[:0]
	t.minLen, t.maxLen = len(pats[0]), len(pats[0])
	for _, p := range pats {
		t.minLen = min(t.minLen, len(p))
		t.maxLen = max(t.maxLen, len(p))
	}
	// Insertion sort on the byte at minLen-1, stable as ngx_sort.
	k := t.minLen - 1
	for i, p := range pats {
		t.pats = append(t.pats, p)
		t.pair = append(t.pair, i)
		j := len(t.pats) - 1
		for j > 0 && t.pats[j-1][k] > p[k] {
			t.pats[j], t.pair[j] = t.pats[j-1], t.pair[j-1]
			j--
		}
		t.pats[j], t.pair[j] = p, i
	}
	m := min(t.minLen, 255)
	for c := range t.shift {
		t.shift[c] = uint8(m)
	}
	ch := 0
	for i, p := range t.pats {
		for j := 0; j < m; j++ {
			c := p[t.minLen-1-j]
			t.shift[c] = min(t.shift[c], uint8(j))
		}
		for c := int(p[k]); ch <= c; ch++ {
			t.index[ch] = uint8(i)
		}
	}
	for ; ch < len(t.index); ch++ {
		t.index[ch] = uint8(n)
	}
}

// Len is the number of patterns.
func (t *SubTable) Len() int { return len(t.pats) }

// MaxLen is the length of the longest pattern.
func (t *SubTable) MaxLen() int { return t.maxLen }

// SubValues gives the replacement of a pattern, by the number of its
// sub_filter line, evaluated for the response (variables included).
type SubValues interface {
	SubValue(pair int, dst []byte) []byte
}

// Sub is the sub_filter link of one response; it is reused response
// after response (Reset), keeping its buffers.
type Sub struct {
	next   Link
	t      *SubTable
	values SubValues
	once   bool // sub_filter_once

	looked []byte // bytes of a possible match held back
	offset int    // end of the window to look at next, from the input's start
	index  int    // the pattern to try first at that window (after a partial match)
	done   bool   // sub_filter_once and every pattern replaced: pass all on
	used   int    // replacements made

	// val caches each pattern's replacement for the response, as nginx
	// evaluates it once: vals[valAt[i]:valAt[i+1]]... kept as spans.
	vals  []byte
	spans [][2]int32 // by table position; [0] == -1: not evaluated yet
	out   []byte
}

// Reset readies s for a response with table t, replacement values v and
// sub_filter_once.
func (s *Sub) Reset(t *SubTable, v SubValues, once bool) {
	s.t, s.values, s.once = t, v, once
	if cap(s.looked) < t.maxLen {
		s.looked = make([]byte, 0, t.maxLen)
	}
	s.looked = s.looked[:0]
	s.offset, s.index, s.done, s.used = t.minLen-1, 0, false, 0
	s.vals = s.vals[:0]
	s.spans = s.spans[:0]
	for range t.pats {
		s.spans = append(s.spans, [2]int32{-1, -1})
	}
}

// SetNext is Link's.
func (s *Sub) SetNext(next Link) { s.next = next }

// Body is Link's: it replaces matches in p and passes the result on in
// one piece per call.
func (s *Sub) Body(p []byte, flush, last bool) error {
	if s.done && len(s.looked) == 0 {
		return s.next.Body(p, flush, last)
	}
	s.out = s.out[:0]
	for pos := 0; pos < len(p); {
		matched, n := s.parse(p[pos:], flush)
		pos += n
		if matched {
			s.replace()
		}
	}
	if len(p) == 0 && flush && len(s.looked) > 0 && !s.done {
		// A flush of its own: nginx sees the flag on the last data
		// buffer and passes on what cannot start a match; looking at the
		// held bytes again does the same.
		s.parse(nil, true)
	}
	if last && len(s.looked) > 0 {
		s.out = append(s.out, s.looked...)
		s.looked = s.looked[:0]
	}
	return s.next.Body(s.out, flush, last)
}

// replace appends the replacement of the pattern s.index matched.
func (s *Sub) replace() {
	i := s.index
	sp := &s.spans[i]
	if sp[0] < 0 {
		start := len(s.vals)
		s.vals = s.values.SubValue(s.t.pair[i], s.vals)
		*sp = [2]int32{int32(start), int32(len(s.vals))}
	}
	s.out = append(s.out, s.vals[sp[0]:sp[1]]...)
	s.index = 0
	s.used++
	s.done = s.once && s.used == len(s.t.pats)
}

// at is the byte at i of the stream seen from cur: held bytes for i < 0.
func (s *Sub) at(cur []byte, i int) byte {
	if i < 0 {
		return s.looked[len(s.looked)+i]
	}
	return cur[i]
}

// matchResult of one pattern at one start.
type matchResult uint8

const (
	declined matchResult = iota
	partial              // matches as far as the bytes go
	matchedAll
)

// match compares pat with the stream from start (< 0: in the held bytes).
func (s *Sub) match(cur []byte, start int, pat []byte) matchResult {
	k := 0
	if start < 0 {
		for i := len(s.looked) + start; i < len(s.looked) && k < len(pat); i, k = i+1, k+1 {
			if lower(s.looked[i]) != pat[k] {
				return declined
			}
		}
		start = 0
	}
	for i := start; i < len(cur) && k < len(pat); i, k = i+1, k+1 {
		if lower(cur[i]) != pat[k] {
			return declined
		}
	}
	if k != len(pat) {
		return partial
	}
	return matchedAll
}

// parse looks at cur after the held bytes, as ngx_http_sub_parse: it
// passes on (to s.out) what precedes the first match or possible match,
// holds back what may still be one, and reports a match (its pattern in
// s.index) and how much of cur it used.
func (s *Sub) parse(cur []byte, flush bool) (matched bool, used int) {
	t := s.t
	end := len(cur)
	offset := s.offset
	var start, next int
	if s.done {
		// Everything is passed on.
		offset = end + t.minLen - 1
		goto again
	}
	for offset < end {
		c := lower(s.at(cur, offset))
		if sh := t.shift[c]; sh > 0 {
			offset += int(sh)
			continue
		}
		// The window ending at offset may start a pattern.
		start = offset - t.minLen + 1
		for i, j := max(int(t.index[c]), s.index), int(t.index[int(c)+1]); i < j; i++ {
			if s.once && s.spans[i][0] >= 0 {
				continue // replaced once already
			}
			switch s.match(cur, start, t.pats[i]) {
			case declined:
				continue
			case partial:
				s.index = i
				goto again
			}
			s.index = i
			s.offset = offset + len(t.pats[i])
			next = start + len(t.pats[i])
			end = max(next, 0)
			matched = true
			goto done
		}
		offset++
		s.index = 0
	}
	if flush {
		// Pass on each start no pattern can begin at.
		for ; offset-t.minLen+1 < end; offset++ {
			start = offset - t.minLen + 1
			for _, pat := range t.pats {
				if s.match(cur, start, pat) == partial {
					goto again
				}
			}
		}
	}
again:
	s.offset = offset
	start = offset - t.minLen + 1
	next = start
done:
	// Pass on the stream up to start; hold [next, end).
	s.out = append(s.out, s.looked[:len(s.looked)+min(start, 0)]...)
	s.out = append(s.out, cur[:max(start, 0)]...)
	if next < 0 {
		n := copy(s.looked, s.looked[len(s.looked)+next:])
		s.looked = s.looked[:n]
	} else {
		s.looked = s.looked[:0]
	}
	s.looked = append(s.looked, cur[max(next, 0):end]...)
	s.offset -= end
	return matched, end
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
