package rewrite

import (
	"bytes"
	"errors"
	"regexp"
	"regexp/syntax"
	"strings"
	"sync"

	"github.com/dlclark/regexp2/v2"
	"github.com/gonginx/gonginx/nginxconf"
)

// Regex is a compiled nginx (PCRE) regular expression. Patterns Go's RE2
// engine accepts run on it (linear time, no allocation per match for
// URI-sized subjects); patterns that need PCRE features RE2 lacks
// (lookaround, backreferences, atomic groups, \Z, ...) run on regexp2.
type Regex struct {
	pattern  string
	caseless bool
	re       *regexp.Regexp
	prog     *syntax.Prog
	pcre     *regexp2.Regexp // fallback engine, nil on the RE2 path
	ngroups  int
	named    []namedCapture
	// suffix: the pattern is a case-sensitive literal anchored at the
	// end ("\\.php$"), matched without running the program.
	suffix []byte
	// dollar: an RE2 pattern with a "$". PCRE's "$" also matches before
	// a newline that ends the subject ("\\.php$" matches "/x.php\n",
	// a URI with %0a), Go's only at the end: such a subject runs on
	// regexp2, whose "$" is PCRE's (nlRe, compiled on first need).
	dollar bool
	nlOnce sync.Once
	nlRe   *regexp2.Regexp
}

type namedCapture struct {
	group int
	v     *variable // nil for a regex compiled at run time (CompileRegex)
	name  string
}

// Regex compiles pattern as nginx would with PCRE (caseless for "~*").
// Named captures (?<name>…), (?P<name>…) and (?'name'…) become variables,
// as ngx_http_regex_compile makes them.
func (c *Compiler) Regex(pattern string, caseless bool) (*Regex, error) {
	rx := &Regex{pattern: pattern, caseless: caseless}
	if err := pcrePrecheck(pattern); err != nil {
		return nil, err
	}
	pattern = stripVerbs(pattern) // rx.pattern keeps them, as written
	var names []string
	flags := syntax.Perl
	if caseless {
		flags |= syntax.FoldCase
	}
	parsed, goErr := syntax.Parse(pattern, flags)
	if goErr == nil {
		if err := lookbehindCheck(pattern); err != nil {
			return nil, err
		}
		rx.re, goErr = regexp.Compile(goPrefix(caseless) + pattern)
	}
	if goErr == nil {
		prog, err := syntax.Compile(parsed.Simplify())
		if err != nil {
			return nil, pcreError(pattern, err)
		}
		rx.prog = prog
		rx.ngroups = rx.re.NumSubexp()
		names = rx.re.SubexpNames()
		rx.suffix = literalSuffix(parsed.Simplify())
		_, rx.dollar = pcreDollar(pattern)
	} else {
		if err := lookbehindCheck(pattern); err != nil {
			return nil, err
		}
		opts := regexp2.None
		if caseless {
			opts |= regexp2.IgnoreCase
		}
		re2, err := regexp2.Compile(pattern, opts, regexp2.OptionMaintainCaptureOrder())
		if err != nil {
			return nil, pcreError(pattern, goErr)
		}
		// The subject may come from a client: a match gives up after
		// runtimeMatchLimit, as PCRE stops at its match limit (where
		// nginx answers 500, see State.RegexFailed).
		re2.MatchTimeout = runtimeMatchLimit
		rx.re = nil
		rx.pcre = re2
		nums := re2.GetGroupNumbers()
		for _, n := range nums {
			if n > rx.ngroups {
				rx.ngroups = n
			}
		}
		names = make([]string, rx.ngroups+1)
		for _, n := range nums {
			if name := re2.GroupNameFromNumber(n); name != "" && name != itoa(n) {
				names[n] = name
			}
		}
	}
	for group, name := range names {
		if name == "" {
			continue
		}
		if c == nil {
			rx.named = append(rx.named, namedCapture{group: group, name: name})
			continue
		}
		v, err := c.newSlot(name)
		if err != nil {
			return nil, err
		}
		rx.named = append(rx.named, namedCapture{group: group, v: v})
	}
	return rx, nil
}

// literalSuffix is the literal of a pattern that is only a
// case-sensitive literal before the end of the subject (Go's $ without
// (?m): the end only, as the compiled program matches it), else nil.
func literalSuffix(re *syntax.Regexp) []byte {
	if re.Op != syntax.OpConcat || len(re.Sub) != 2 {
		return nil
	}
	lit, end := re.Sub[0], re.Sub[1]
	if lit.Op != syntax.OpLiteral || lit.Flags&syntax.FoldCase != 0 || end.Op != syntax.OpEndText {
		return nil
	}
	b := make([]byte, 0, len(lit.Rune))
	for _, r := range lit.Rune {
		if r >= 0x80 { // ASCII only: bytes and runes match alike
			return nil
		}
		b = append(b, byte(r))
	}
	return b
}

func goPrefix(caseless bool) string {
	if caseless {
		return "(?i)"
	}
	return ""
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

// String returns the pattern as written.
func (rx *Regex) String() string { return rx.pattern }

// NumCaptures is the number of capture groups.
func (rx *Regex) NumCaptures() int { return rx.ngroups }

// Fallback reports whether the pattern runs on the backtracking PCRE-like
// engine (it needed features RE2 lacks).
func (rx *Regex) Fallback() bool { return rx.pcre != nil }

// Match reports whether subject matches. On a match it stores the
// captures in s.Captures (offsets into s.CaptureSubject, a State-owned
// copy of subject, so later URI changes leave $1.. intact) and sets named
// capture variables; like nginx, a match replaces earlier captures even
// when the regex has none, and a failed match leaves them alone (the
// rewrite module clears them itself).
func (rx *Regex) Match(s *State, subject []byte) bool {
	if rx.pcre != nil || rx.dollar && len(subject) > 0 && subject[len(subject)-1] == '\n' {
		if re := rx.backtracking(subject); re != nil {
			return rx.matchFallback(re, s, subject)
		}
	}
	var ok bool
	if rx.suffix != nil {
		if !bytes.HasSuffix(subject, rx.suffix) {
			return false
		}
		s.Captures = append(s.Captures[:0], len(subject)-len(rx.suffix), len(subject))
		rx.keepSubject(s, subject)
		return true
	}
	if canBacktrack(rx.prog, len(subject)) {
		b := backtrackers.Get().(*backtracker)
		s.Captures, ok = b.match(rx.prog, subject, rx.ngroups, s.Captures)
		backtrackers.Put(b)
	} else {
		loc := rx.re.FindSubmatchIndex(subject) // allocates; long subjects only
		if ok = loc != nil; ok {
			s.Captures = append(s.Captures[:0], loc...)
		}
	}
	if !ok {
		return false
	}
	rx.keepSubject(s, subject)
	return true
}

func (rx *Regex) keepSubject(s *State, subject []byte) {
	if len(subject) == 0 || len(s.CaptureSubject) == 0 || &subject[0] != &s.CaptureSubject[0] {
		s.CaptureSubject = append(s.CaptureSubject[:0], subject...)
	}
	for _, nc := range rx.named {
		if nc.v == nil {
			continue
		}
		nc.v.store(s, s.Capture(nc.group))
	}
}

// backtracking is the regexp2 engine subject runs on: the pattern's
// own fallback, or for an RE2 pattern with a "$" and a subject that ends
// with a newline, the pattern on regexp2 (PCRE's "$"); nil: RE2.
func (rx *Regex) backtracking(subject []byte) *regexp2.Regexp {
	if rx.pcre != nil {
		return rx.pcre
	}
	if !rx.dollar || len(subject) == 0 || subject[len(subject)-1] != '\n' {
		return nil
	}
	rx.nlOnce.Do(func() {
		opts := regexp2.None
		if rx.caseless {
			opts |= regexp2.IgnoreCase
		}
		pattern, _ := pcreDollar(stripVerbs(rx.pattern))
		re, err := regexp2.Compile(pattern, opts, regexp2.OptionMaintainCaptureOrder())
		if err != nil {
			return // RE2 goes on matching it
		}
		// The subject comes from a client: bounded as PCRE's match limit.
		re.MatchTimeout = runtimeMatchLimit
		rx.nlRe = re
	})
	return rx.nlRe
}

// re2Classes are Go's ASCII \d \s \w (regexp2's default ones are
// Unicode), as a class and as a class's members.
var re2Classes = map[byte][2]string{
	'd': {"[0-9]", "0-9"}, 'D': {"[^0-9]", ""},
	's': {"[\\t\\n\\f\\r ]", "\\t\\n\\f\\r "}, 'S': {"[^\\t\\n\\f\\r ]", ""},
	'w': {"[0-9A-Za-z_]", "0-9A-Za-z_"}, 'W': {"[^0-9A-Za-z_]", ""},
}

// posixMembers are the ASCII members of RE2's (and PCRE's) POSIX classes.
var posixMembers = map[string]string{
	"alnum": "0-9A-Za-z", "alpha": "A-Za-z", "ascii": "\\x00-\\x7f", "blank": "\\t ", "cntrl": "\\x00-\\x1f\\x7f",
	"digit": "0-9", "graph": "!-~", "lower": "a-z", "print": " -~", "punct": "!-/:-@\\[-`{-~",
	"space": "\\t\\n\\v\\f\\r ", "upper": "A-Z", "word": "0-9A-Za-z_", "xdigit": "0-9A-Fa-f",
}

// pcreDollar is an RE2 pattern with a "$" as regexp2's default mode
// takes it, whose "$" is PCRE's (its RE2 mode's is Go's): "(?P<" as
// "(?<", \d \s \w and POSIX classes as Go's ASCII ones. ok is false when the pattern
// has no "$" outside a class that no backslash escapes, or when a "(?m"
// flag makes "$" a line's end, which RE2 already has as PCRE has it.
func pcreDollar(pattern string) (out string, ok bool) {
	var b strings.Builder
	inClass := false
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		switch {
		case c == '\\' && i+1 < len(pattern):
			i++
			c = pattern[i]
			if cl, found := re2Classes[c]; found {
				switch {
				case !inClass:
					b.WriteString(cl[0])
					continue
				case cl[1] != "":
					b.WriteString(cl[1])
					continue
				}
			}
			b.WriteByte('\\')
		case inClass && c == '[' && strings.HasPrefix(pattern[i:], "[:"):
			// A POSIX class, which regexp2's default mode reads as members
			// '[', ':', ...: its ASCII members instead.
			j := strings.Index(pattern[i:], ":]")
			members, found := posixMembers[pattern[i+2:i+max(j, 2)]]
			if j < 0 || !found {
				return "", false
			}
			b.WriteString(members)
			i += j + 1
			continue
		case inClass:
			inClass = c != ']'
		case c == '[':
			inClass = true
			// "[]...]", "[^]...]": that first ']' is a member.
			j := i + 1
			if j < len(pattern) && pattern[j] == '^' {
				j++
			}
			if j < len(pattern) && pattern[j] == ']' {
				b.WriteString(pattern[i:j])
				i, c = j, ']'
			}
		case c == '(' && strings.HasPrefix(pattern[i:], "(?"):
			flags := pattern[i+2:]
			if j := strings.IndexAny(flags, ":)<"); j >= 0 && strings.IndexByte(flags[:j], 'm') >= 0 {
				return "", false
			}
			if strings.HasPrefix(flags, "P<") {
				b.WriteString("(?")
				i += 2 // the "<" is written next
				continue
			}
		case c == '$':
			ok = true
		}
		b.WriteByte(c)
	}
	return b.String(), ok
}

// matchFallback runs a regexp2 engine; it allocates per match.
func (rx *Regex) matchFallback(re *regexp2.Regexp, s *State, subject []byte) bool {
	m, err := re.FindStringMatch(string(subject))
	if err != nil {
		// Only the match limit fails a match: PCRE2_ERROR_MATCHLIMIT.
		s.RegexFailed = `pcre2_match() failed: -47 on "` + string(subject) + `" using "` + rx.pattern + `"`
		return false
	}
	if m == nil {
		return false
	}
	s.Captures = s.Captures[:0]
	for n := 0; n <= rx.ngroups; n++ {
		g := m.GroupByNumber(n)
		if g == nil || len(g.Captures) == 0 {
			s.Captures = append(s.Captures, -1, -1)
			continue
		}
		i, l := g.ByteRange()
		s.Captures = append(s.Captures, i, i+l)
	}
	rx.keepSubject(s, subject)
	return true
}

// Test reports whether subject matches, without touching captures
// (ngx_regex_exec_array, for lists such as gzip_disable).
func (rx *Regex) Test(subject []byte) bool {
	if rx.backtracking(subject) != nil {
		return rx.MatchString(string(subject))
	}
	return rx.re.Match(subject)
}

// MatchString reports whether subject matches, without touching captures.
func (rx *Regex) MatchString(subject string) bool {
	if rx.pcre != nil || rx.dollar && strings.HasSuffix(subject, "\n") {
		re := rx.backtracking([]byte(subject))
		if re == nil {
			return rx.re.MatchString(subject)
		}
		ok, err := re.MatchString(subject)
		return err == nil && ok
	}
	return rx.re.MatchString(subject)
}

// pcreError words a compile error as nginx prints PCRE2's:
// `pcre2_compile() failed: MESSAGE in "PATTERN" at "REST"`, the "at" part
// left out when PCRE2 reports the error at the end of the pattern.
func pcreError(pattern string, err error) error {
	msg, off := pcreMessage(pattern, err)
	if off >= len(pattern) || off < 0 {
		return &nginxconf.Error{Msg: `pcre2_compile() failed: ` + msg + ` in "` + pattern + `"`}
	}
	return &nginxconf.Error{Msg: `pcre2_compile() failed: ` + msg + ` in "` + pattern + `" at "` + pattern[off:] + `"`}
}

func pcreMessage(pattern string, err error) (string, int) {
	var se *syntax.Error
	if !errors.As(err, &se) {
		return err.Error(), len(pattern)
	}
	at := func() int {
		if i := strings.Index(pattern, se.Expr); i >= 0 && se.Expr != "" {
			return i
		}
		return len(pattern)
	}
	switch se.Code {
	case syntax.ErrMissingParen:
		return "missing closing parenthesis", len(pattern)
	case syntax.ErrUnexpectedParen:
		return "unmatched closing parenthesis", unmatchedParen(pattern)
	case syntax.ErrMissingRepeatArgument:
		return "quantifier does not follow a repeatable item", at()
	case syntax.ErrMissingBracket:
		return "missing terminating ] for character class", len(pattern)
	case syntax.ErrTrailingBackslash:
		return `\ at end of pattern`, len(pattern)
	case syntax.ErrInvalidCharRange:
		return "range out of order in character class", at() + len(se.Expr) - 1
	case syntax.ErrInvalidRepeatSize:
		return repeatError(pattern, at())
	case syntax.ErrInvalidNamedCapture:
		return "syntax error in subpattern name (missing terminator?)", at()
	case syntax.ErrInvalidEscape:
		return "unrecognized character follows \\", at() + 2
	case syntax.ErrInvalidPerlOp:
		return "unrecognized character after (? or (?-", at() + 2
	case syntax.ErrInvalidCharClass:
		return "unknown POSIX class name", at()
	}
	return string(se.Code), at()
}

// unmatchedParen finds the first ')' that closes nothing.
func unmatchedParen(p string) int {
	depth, inClass := 0, false
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case c == '\\':
			i++
		case inClass:
			if c == ']' {
				inClass = false
			}
		case c == '[':
			inClass = true
			if i+1 < len(p) && p[i+1] == ']' {
				i++
			}
		case c == '(':
			depth++
		case c == ')':
			if depth == 0 {
				return i
			}
			depth--
		}
	}
	return len(p)
}

// lookbehindCheck rejects what PCRE2 10.42 rejects and regexp2 (.NET)
// would accept: a lookbehind whose length is not fixed.
func lookbehindCheck(p string) error {
	for _, open := range []string{"(?<=", "(?<!"} {
		for i := strings.Index(p, open); i >= 0; {
			depth := 0
			for j := i + len(open); j < len(p); j++ {
				c := p[j]
				if c == '\\' {
					j++
					continue
				}
				if c == '(' {
					depth++
				}
				if c == ')' {
					if depth == 0 {
						break
					}
					depth--
				}
				if c == '*' || c == '+' || (c == '?' && p[j-1] != '(') || (c == '{' && j+1 < len(p) && strings.Contains(p[j:], ",")) {
					return &nginxconf.Error{Msg: `pcre2_compile() failed: lookbehind assertion is not fixed length in "` + p + `" at "` + p[i:] + `"`}
				}
			}
			next := strings.Index(p[i+1:], open)
			if next < 0 {
				break
			}
			i += 1 + next
		}
	}
	return nil
}

// pcreVerbs matches the option settings PCRE2 accepts at the start of a
// pattern, such as (*UTF8) or (*UCP); they change nothing here.
func stripVerbs(p string) string {
	for strings.HasPrefix(p, "(*") {
		end := strings.IndexByte(p, ')')
		if end < 0 {
			return p
		}
		for _, c := range p[2:end] {
			if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '=') {
				return p
			}
		}
		p = p[end+1:]
	}
	return p
}

// posixClasses are the [:name:] classes PCRE2 knows.
var posixClasses = map[string]bool{
	"alpha": true, "digit": true, "alnum": true, "upper": true, "lower": true, "space": true,
	"punct": true, "print": true, "graph": true, "cntrl": true, "xdigit": true, "blank": true,
	"word": true, "ascii": true,
}

// pcrePrecheck finds the errors PCRE2 reports that neither Go's parser
// nor regexp2 words as PCRE2 does (or that regexp2 accepts): subpattern
// names (syntax, duplicates, references) and POSIX class names.
func pcrePrecheck(p string) error {
	fail := func(msg string, off int) error {
		return &nginxconf.Error{Msg: `pcre2_compile() failed: ` + msg + ` in "` + p + `" at "` + p[off:] + `"`}
	}
	seen := map[string]bool{}
	var refs []int // offsets of (?&name) names
	inClass := false
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '\\' && i+1 < len(p) && p[i+1] == 'Q':
			// \Q...\E quotes: no escape inside is one.
			end := strings.Index(p[i+2:], `\E`)
			if end < 0 {
				return nil
			}
			i += 2 + end + 1
		case c == '\\':
			if msg, off := escapeError(p, i, inClass); msg != "" {
				if off >= len(p) {
					return &nginxconf.Error{Msg: `pcre2_compile() failed: ` + msg + ` in "` + p + `"`}
				}
				return fail(msg, off)
			}
			i++
		case inClass:
			if c == ']' {
				inClass = false
			} else if c == '[' && i+1 < len(p) && p[i+1] == ':' {
				if end := strings.Index(p[i+2:], ":]"); end >= 0 {
					name := p[i+2 : i+2+end]
					if !posixClasses[strings.TrimPrefix(name, "^")] {
						return fail("unknown POSIX class name", i+2)
					}
					i += 2 + end + 1
				}
			}
		case c == '[':
			inClass = true
			if i+1 < len(p) && p[i+1] == '^' {
				i++
			}
			if i+1 < len(p) && p[i+1] == ']' {
				i++
			}
		case c == '{':
			j := i + 1
			for j < len(p) && (p[j] >= '0' && p[j] <= '9' || p[j] == ',') {
				j++
			}
			if j < len(p) && p[j] == '}' && j > i+1 && p[i+1] != ',' && strings.Count(p[i+1:j], ",") <= 1 {
				if msg, off := repeatError(p, i); msg != "number too big in {} quantifier" || tooBig(p[i+1:j]) {
					return fail(msg, off)
				}
			}
		case c == '(' && strings.HasPrefix(p[i:], "(?&"):
			refs = append(refs, i+3)
		case c == '(' && i+2 < len(p) && p[i+1] == '?':
			start, term := -1, byte(0)
			switch {
			case strings.HasPrefix(p[i:], "(?P<"):
				start, term = i+4, '>'
			case strings.HasPrefix(p[i:], "(?<") && !strings.HasPrefix(p[i:], "(?<=") && !strings.HasPrefix(p[i:], "(?<!"):
				start, term = i+3, '>'
			case strings.HasPrefix(p[i:], "(?'"):
				start, term = i+3, '\''
			}
			if start < 0 {
				continue
			}
			if start >= len(p) || !isWordByte(p[start]) {
				return fail("subpattern name expected", min(start, len(p)))
			}
			if p[start] >= '0' && p[start] <= '9' {
				return fail("subpattern name must start with a non-digit", start)
			}
			end := start
			for end < len(p) && isWordByte(p[end]) {
				end++
			}
			if end >= len(p) || p[end] != term {
				continue // Go and regexp2 word the other errors
			}
			name := p[start:end]
			if seen[name] {
				return fail("two named subpatterns have the same name (PCRE2_DUPNAMES not set)", end+1)
			}
			seen[name] = true
		}
	}
	for _, off := range refs {
		end := off
		for end < len(p) && isWordByte(p[end]) {
			end++
		}
		if !seen[p[off:end]] {
			return fail("reference to non-existent subpattern", off)
		}
	}
	return nil
}

// escapeError words the backslash-letter escapes PCRE2 10.42 refuses
// (Go's parser refuses them too, but at another offset and in other
// words), found with nginx -t: the message and PCRE2's offset, or "".
func escapeError(p string, i int, inClass bool) (string, int) {
	if i+1 >= len(p) {
		return "", 0 // Go words a trailing backslash as PCRE2 does
	}
	n := p[i+1]
	next := byte(0)
	if i+2 < len(p) {
		next = p[i+2]
	}
	switch {
	case strings.IndexByte("FLlUu", n) >= 0:
		return `PCRE2 does not support \F, \L, \l, \N{name}, \U, or \u`, i + 2
	case strings.IndexByte("ijmqyIJMOTY", n) >= 0:
		return `unrecognized character follows \`, i + 1
	case inClass && strings.IndexByte("ABCGKRXZkz", n) >= 0:
		return "escape sequence is invalid in character class", i + 1
	case inClass && n == 'N':
		return `\N is not supported in a class`, i + 2
	case inClass:
	case n == 'k' && next != '{' && next != '<' && next != '\'':
		return `\k is not followed by a braced, angle-bracketed, or quoted name`, i + 2
	case n == 'g' && next != '{' && next != '<' && next != '\'' && next != '+' && next != '-' && !(next >= '0' && next <= '9'):
		return `\g is not followed by a braced, angle-bracketed, or quoted name/number or by a plain number`, i + 2
	case n == 'c' && next == 0:
		return `\c at end of pattern`, len(p)
	}
	return "", 0
}

func isWordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// repeatError words an invalid {m,n} as PCRE2: numbers above 65535 are
// too big, n < m is out of order; both at the closing brace.
func repeatError(pattern string, from int) (string, int) {
	open := strings.IndexByte(pattern[from:], '{')
	if open < 0 {
		return "number too big in {} quantifier", from
	}
	open += from
	end := strings.IndexByte(pattern[open:], '}')
	if end < 0 {
		return "number too big in {} quantifier", open
	}
	end += open
	lo, hi, hasHi := strings.Cut(pattern[open+1:end], ",")
	m, n := atoiSafe(lo), atoiSafe(hi)
	if m > 65535 || hasHi && n > 65535 {
		return "number too big in {} quantifier", end
	}
	if hasHi && hi != "" && n < m {
		return "numbers out of order in {} quantifier", end
	}
	return "number too big in {} quantifier", end
}

func atoiSafe(s string) int {
	n := 0
	for i := 0; i < len(s) && n <= 1<<20; i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0
		}
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// tooBig reports a {} quantifier number above PCRE2's 65535.
func tooBig(q string) bool {
	lo, hi, _ := strings.Cut(q, ",")
	return atoiSafe(lo) > 65535 || atoiSafe(hi) > 65535
}
