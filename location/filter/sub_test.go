package filter

import (
	"bytes"
	"math/rand"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// pairs is a sub_filter list for tests: pattern, replacement, ...
type pairs []string

func (p pairs) SubValue(i int, dst []byte) []byte { return append(dst, p[2*i+1]...) }

func (p pairs) table() *SubTable {
	var pats [][]byte
	for i := 0; i < len(p); i += 2 {
		pats = append(pats, []byte(strings.ToLower(p[i])))
	}
	t := new(SubTable)
	t.Build(pats)
	return t
}

// feed runs in through a Sub in the given pieces (a piece "|" is a flush
// of its own) and returns what reached the wire, flushes as "|" when
// marks is set.
func feed(p pairs, once bool, pieces []string, marks bool) string {
	var w recordWire
	var c Chain
	c.Reset(&w)
	var s Sub
	s.Reset(p.table(), p, once)
	c.Push(&s)
	for _, piece := range pieces {
		if piece == "|" {
			c.FilterBody(nil, true, false)
			continue
		}
		c.FilterBody([]byte(piece), false, false)
	}
	c.FilterBody(nil, false, true)
	if marks {
		return w.got.String()
	}
	return strings.ReplaceAll(w.got.String(), "|", "")
}

// The cases of nginx's sub_filter.t, sub_filter_multi.t and
// sub_filter_multi2.t (with the values their variables take), and the end
// of the body cutting a possible match short.
var subCases = []struct {
	name  string
	pairs pairs
	many  bool // sub_filter_once off
	in    string
	want  string
}{
	{"once", pairs{"foo", "bar"}, false, "foofoo", "barfoo"},
	{"caseless", pairs{"foo", "bar"}, false, "FOO", "bar"},
	{"many", pairs{"foo", "bar"}, true, "foofoo", "barbar"},
	{"incomplete", pairs{"foo", "bar"}, true, "fo", "fo"},
	{"incomplete long", pairs{"foo", "bar"}, true, "foofo", "barfo"},
	{"complex", pairs{"abac", "_replaced"}, false, "abac", "_replaced"},
	{"complex 1st char", pairs{"abac", "_replaced"}, false, "abaabac", "aba_replaced"},
	{"complex 2nd char", pairs{"abac", "_replaced"}, false, "ababac", "ab_replaced"},
	{"complex2 long", pairs{"ababX", "_replaced"}, false, "abababX", "ab_replaced"},
	{"complex3 aaaab", pairs{"aab", "_replaced"}, false, "aaaab", "aa_replaced"},
	{"single middle", pairs{"A", "B"}, false, "CAAC", "CBAC"},
	{"single many middle", pairs{"A", "B"}, true, "CAAC", "CBBC"},
	{"pattern uppercase", pairs{"Xfoo", "_replaced"}, false, "XFOO", "_replaced"},
	{"multi", pairs{"aab", "+", "yyz", "-"}, true, "aabAyyzBaab", "+A-B+"},
	{"multi partial", pairs{"aabb", "+", "aaabb", "-"}, true, "aabbaaabbaabb", "+-+"},
	{"multi exact", pairs{"aacbb", "+", "aadbb", "-"}, true, "aadbbaacbb", "-+"},
	{"multi caseless", pairs{"aab", "+", "yyz", "-"}, true, "AABYYZAAB", "+-+"},
	{"minimal", pairs{"ab", "+", "cd", "-", "ef", "*", "gh", "!", "x", "_"}, true,
		"AAabcdefghBxBabCxCcdDDefEEghFF", "AA+-*!B_B+C_C-DD*EE!FF"},
	{"utf8", pairs{"模様", "замена1", "पैटर्न", "замена2", "паттерн", "replaced"}, true,
		"ТЕКСТ模様ТЕКСТ2पैटर्नТЕКСТ3паттерн", "ТЕКСТзамена1ТЕКСТ2замена2ТЕКСТ3replaced"},
	{"once 1", pairs{"aab", "+", "yyz", "-"}, false, "aabyyzaab", "+-aab"},
	{"once 2", pairs{"aab", "+", "yyz", "-"}, false, "yyzaabyyz", "-+yyz"},
	{"once 3", pairs{"aab", "+", "yyz", "-"}, false, "yyzyyzaabaabyyz", "-yyz+aabyyz"},
	{"two lines", pairs{"a", "a+", "b", "b-"}, true, "abXYaXbZ", "a+b-XYa+Xb-Z"},
	{"variables", pairs{"aaaAbbb", "+", "yyAAzz", "-"}, true, "AaaaAbbbZyyAAzzY", "A+Z-Y"},
	{"crossbuf 7", pairs{"abpattxernyz", "+", "abpattternyz", "-"}, true,
		strings.Repeat("abpattxernyzABCDEFGHIJabpattternyz", 3), strings.Repeat("+ABCDEFGHIJ-", 3)},
	{"superlong", pairs{strings.Repeat("0123456789abcdef", 17), "+", "01ef", "-", "_", "*"}, true,
		strings.Repeat("01efA_Z"+strings.Repeat("0123456789abcdef", 17), 3), strings.Repeat("-A*Z+", 3)},
	// The first line that matches at the leftmost place wins, not the
	// longest.
	{"first line wins", pairs{"ab", "1", "abc", "2"}, true, "abcab", "1c1"},
	{"first line wins 2", pairs{"abc", "2", "ab", "1"}, true, "abcabx", "21x"},
	// ... and a longer line cut by the end of the body keeps the shorter
	// one from matching there.
	{"first line cut", pairs{"abc", "2", "ab", "1"}, true, "abcab", "2ab"},
	// At the end of the body a pattern cut short leaves the rest as it is,
	// even when a shorter pattern would match in it.
	{"end cuts a match", pairs{"abcd", "1", "bc", "2"}, true, "xabc", "xabc"},
	{"end after a declined", pairs{"abcd", "1", "bc", "2"}, true, "xabcx", "xa2x"},
	{"longer first, partial", pairs{"abcd", "1", "ab", "2"}, true, "abc", "abc"},
	{"longer first, declined", pairs{"abcd", "1", "ab", "2"}, true, "abcx", "2cx"},
	{"empty replacement", pairs{"foo", ""}, true, "afoob", "ab"},
	{"no match", pairs{"foo", "bar"}, true, "xyz", "xyz"},
	{"empty body", pairs{"foo", "bar"}, true, "", ""},
}

// TestSubEverySplit feeds each case whole, cut at every point (with and
// without a flush at the cut), and byte by byte.
func TestSubEverySplit(t *testing.T) {
	for _, tc := range subCases {
		t.Run(tc.name, func(t *testing.T) {
			once := !tc.many
			if d := cmp.Diff(tc.want, feed(tc.pairs, once, []string{tc.in}, false)); d != "" {
				t.Fatalf("whole (-want +got):\n%s", d)
			}
			for i := 0; i <= len(tc.in); i++ {
				for _, pieces := range [][]string{
					{tc.in[:i], tc.in[i:]},
					{tc.in[:i], "|", tc.in[i:]},
				} {
					if d := cmp.Diff(tc.want, feed(tc.pairs, once, pieces, false)); d != "" {
						t.Fatalf("split %q (-want +got):\n%s", pieces, d)
					}
				}
			}
			var bytewise []string
			for i := range len(tc.in) {
				bytewise = append(bytewise, tc.in[i:i+1])
			}
			if d := cmp.Diff(tc.want, feed(tc.pairs, once, bytewise, false)); d != "" {
				t.Fatalf("byte by byte (-want +got):\n%s", d)
			}
		})
	}
}

// TestSubFlush: a flush passes on what cannot be part of a match and
// holds the rest (sub_filter_buffering.t).
func TestSubFlush(t *testing.T) {
	tests := []struct {
		name  string
		pairs pairs
		in    []string
		want  string
	}{
		{"partial held", pairs{"za", "ZA"}, []string{"xyz", "|"}, "xy|z"},
		{"negative passed", pairs{"ab", "AB"}, []string{"xyz", "|"}, "xyz|"},
		{"completed after", pairs{"za", "ZA"}, []string{"xyz", "|", "ab", "|"}, "xy|ZAb|"},
		{"long pattern held", pairs{"abpatternyz", "+"}, []string{"XXabpat", "|", "ternyzB", "|"}, "XX|+B|"},
		{"a possible start held", pairs{"abpatternyz", "+"}, []string{"XXabpat", "|", "ternyzA", "|", "B"}, "XX|+|AB"},
		{"after the match", pairs{"patt", "+"}, []string{"pattABC", "|"}, "+ABC|"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, feed(tc.pairs, false, tc.in, true)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

// TestSubTableOrder: the table orders patterns by their byte at the
// shortest length less one, keeping the lines' order among equals.
func TestSubTableOrder(t *testing.T) {
	tb := pairs{"xc", "", "ya", "", "zc", "", "wb", ""}.table()
	var got []string
	for _, p := range tb.pats {
		got = append(got, string(p))
	}
	if d := cmp.Diff([]string{"ya", "wb", "xc", "zc"}, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if d := cmp.Diff([]int{1, 3, 0, 2}, tb.pair); d != "" {
		t.Errorf("pair (-want +got):\n%s", d)
	}
}

// subWhole is the matcher's meaning on a whole body, written plainly: at
// each place from the left, the patterns in table order; a full match is
// replaced, a match cut by the end of the body leaves the rest as is.
func subWhole(p pairs, once bool, in string) string {
	tb := p.table()
	used := make([]bool, tb.Len())
	n := 0
	var out []byte
	lowIn := []byte(in)
	for i := range lowIn {
		lowIn[i] = lower(lowIn[i])
	}
	for s := 0; s < len(in); {
		if once && n == tb.Len() {
			return string(append(out, in[s:]...))
		}
		if s+tb.minLen > len(in) {
			return string(append(out, in[s:]...))
		}
		found := -1
		for i, pat := range tb.pats {
			if pat[tb.minLen-1] != lowIn[s+tb.minLen-1] || once && used[i] {
				continue
			}
			rest := lowIn[s:]
			if len(rest) < len(pat) {
				if bytes.HasPrefix(pat, rest) {
					return string(append(out, in[s:]...))
				}
				continue
			}
			if bytes.Equal(rest[:len(pat)], pat) {
				found = i
				break
			}
		}
		if found < 0 {
			out = append(out, in[s])
			s++
			continue
		}
		used[found] = true
		n++
		out = append(out, p[2*tb.pair[found]+1]...)
		s += len(tb.pats[found])
	}
	return string(out)
}

// FuzzSub: the matcher fed in random pieces, with random flushes, gives
// what it gives fed the whole body, which is subWhole's result.
func FuzzSub(f *testing.F) {
	f.Add("ab\x00abc\x00b", "xabcabbcab", false, int64(1))
	f.Add("abcd\x00bc", "xabcdxabc", true, int64(2))
	f.Add("aab\x00yyz\x00a", "yyzyyzaabaabyyzA", false, int64(3))
	f.Fuzz(func(t *testing.T, patterns, in string, once bool, seed int64) {
		// "|" marks flushes in feed's pieces and output.
		in = strings.ReplaceAll(in, "|", "/")
		patterns = strings.ReplaceAll(patterns, "|", "/")
		var p pairs
		for _, pat := range strings.Split(patterns, "\x00") {
			if pat == "" || len(p) == 2*MaxSubPatterns {
				continue
			}
			p = append(p, pat, "<"+strings.ToUpper(pat)+">")
		}
		if len(p) == 0 {
			return
		}
		want := subWhole(p, once, in)
		if got := feed(p, once, []string{in}, false); got != want {
			t.Fatalf("whole: %q, want %q", got, want)
		}
		rnd := rand.New(rand.NewSource(seed))
		var pieces []string
		for rest := in; len(rest) > 0; {
			n := 1 + rnd.Intn(len(rest))
			pieces = append(pieces, rest[:n])
			rest = rest[n:]
			if rnd.Intn(3) == 0 {
				pieces = append(pieces, "|")
			}
		}
		if got := feed(p, once, pieces, false); got != want {
			t.Fatalf("pieces %q: %q, want %q", pieces, got, want)
		}
	})
}

// TestSubMatchesWhole checks the plain meaning against the cases.
func TestSubMatchesWhole(t *testing.T) {
	for _, tc := range subCases {
		if d := cmp.Diff(tc.want, subWhole(tc.pairs, !tc.many, tc.in)); d != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, d)
		}
	}
}
