package nginxconf

import "strings"

// TokenKind says what a Token is.
type TokenKind uint8

const (
	TokEOF       TokenKind = iota // end of input; Line is the last line
	TokWord                       // a word or a quoted string; Val is its value
	TokSemicolon                  // ";"
	TokLBrace                     // "{"
	TokRBrace                     // "}"
	TokComment                    // "#..." to end of line; Val is the text after '#'
	TokError                      // a lexical error; Val is nginx's message
)

func (k TokenKind) String() string {
	switch k {
	case TokEOF:
		return "EOF"
	case TokWord:
		return "word"
	case TokSemicolon:
		return ";"
	case TokLBrace:
		return "{"
	case TokRBrace:
		return "}"
	case TokComment:
		return "comment"
	case TokError:
		return "error"
	}
	return "?"
}

// Token is one lexical item with where it starts.
type Token struct {
	Kind TokenKind
	Pos  int    // byte offset of the token's first byte (the quote for a quoted word)
	Line int    // 1-based line of the token's first byte; for TokError, the line nginx reports
	Val  string // word value (quotes removed, escapes resolved), comment text or error message
	// Quoted is true for a word written in '...' or "...".
	Quoted bool
}

// fileTokenLimit is nginx's NGX_CONF_BUFFER: a token that does not end
// within this many bytes of its start is "too long" (nginx reads files
// through a buffer of this size). Parameters given with -g have no limit.
const fileTokenLimit = 4096

// Lexer splits nginx configuration text into tokens by the rules of
// ngx_conf_read_token. It is pull-based: each Next runs state functions
// until one of them emits a token.
type Lexer struct {
	src     string
	pos     int // next byte to read
	line    int // line of src[pos]
	limit   int // token length limit, 0 for none
	state   stateFn
	tok     Token
	emitted bool
}

// stateFn scans one thing and returns the state that scans the next.
type stateFn func(*Lexer) stateFn

// NewLexer returns a lexer over src read as a configuration file.
func NewLexer(src string) *Lexer { return newLexer(src, fileTokenLimit) }

func newLexer(src string, limit int) *Lexer {
	return &Lexer{src: src, line: 1, limit: limit, state: lexBetween}
}

// Next returns the next token. After TokEOF or TokError it keeps
// returning that token.
func (l *Lexer) Next() Token { return *l.next() }

// next is Next returning the lexer's own token, valid until the next
// call: the parser reads every token and copies none.
func (l *Lexer) next() *Token {
	if l.state == nil {
		return &l.tok
	}
	l.emitted = false
	for !l.emitted {
		l.state = l.state(l)
	}
	if l.tok.Kind == TokEOF || l.tok.Kind == TokError {
		l.state = nil
	}
	return &l.tok
}

func (l *Lexer) emit(kind TokenKind, pos, line int, val string, quoted bool) {
	l.tok = Token{Kind: kind, Pos: pos, Line: line, Val: val, Quoted: quoted}
	l.emitted = true
}

func (l *Lexer) errorf(line int, msg string) stateFn {
	l.emit(TokError, l.pos, line, msg, false)
	return nil
}

// tooLong reports whether reading src[i] for a token started at start
// crosses nginx's buffer: the token did not end within limit bytes and
// the file goes on (at the end of the file nginx reports end of file).
func (l *Lexer) tooLong(start, i int) bool {
	return l.limit > 0 && i-start >= l.limit && i < len(l.src)
}

func (l *Lexer) tooLongStarted(start, line int) stateFn {
	end := min(start+10, len(l.src))
	return l.errorf(line, `too long parameter "`+l.src[start:end]+`..." started`)
}

// lexBetween skips white space and dispatches on the first byte of the
// next token.
func lexBetween(l *Lexer) stateFn {
	src, i := l.src, l.pos
	for i < len(src) {
		c := src[i]
		switch c {
		case ' ', '\t', '\r':
			i++
			continue
		case '\n':
			l.line++
			i++
			continue
		}
		l.pos = i
		switch c {
		case ';':
			l.emit(TokSemicolon, i, l.line, ";", false)
			l.pos++
			return lexBetween
		case '{':
			l.emit(TokLBrace, i, l.line, "{", false)
			l.pos++
			return lexBetween
		case '}':
			l.emit(TokRBrace, i, l.line, "}", false)
			l.pos++
			return lexBetween
		case '#':
			return lexComment
		case '"', '\'':
			return lexQuoted
		default:
			return lexWord(l)
		}
	}
	l.pos = i
	l.emit(TokEOF, i, l.line, "", false)
	return nil
}

// lexComment scans '#' to the end of the line. The newline stays for
// lexBetween. nginx keeps the token start at '#', so a comment line is
// subject to the token length limit too.
func lexComment(l *Lexer) stateFn {
	start, line := l.pos, l.line
	i := start + 1
	for ; i < len(l.src) && l.src[i] != '\n'; i++ {
		if l.tooLong(start, i) {
			return l.tooLongStarted(start, line)
		}
	}
	if l.tooLong(start, i) {
		return l.tooLongStarted(start, line)
	}
	text := strings.TrimRight(l.src[start+1:i], "\r") // CRLF files, stray CRs
	l.pos = i
	l.emit(TokComment, start, line, text, false)
	return lexBetween
}

// wordStop marks the bytes lexWord must look at; any other byte just
// extends the word.
var wordStop = [256]bool{' ': true, '\t': true, '\r': true, '\n': true, ';': true, '{': true, '\\': true, '$': true}

// lexWord scans an unquoted word: up to white space, ';' or '{' (but not
// a '{' right after '$', which opens "${var}"). A backslash makes the
// next byte part of the word whatever it is.
func lexWord(l *Lexer) stateFn {
	start, line := l.pos, l.line
	// The word must end before start+limit (nginx's buffer).
	end := len(l.src)
	if l.limit > 0 && start+l.limit < end {
		end = start + l.limit
	}
	src, hasBackslash := l.src, false
	i := start
scan:
	for i < end {
		c := src[i]
		if !wordStop[c] {
			i++
			continue
		}
		switch c {
		case '\\':
			// The next byte is part of the word, even a newline.
			hasBackslash = true
			i++
			if i < end {
				if src[i] == '\n' {
					l.line++
				}
				i++
			}
		case '$':
			// "${" does not end the word at its brace.
			i++
			for i < end && src[i] == '{' {
				i++
			}
		default: // white space, ';' or '{'
			break scan
		}
	}
	if l.tooLong(start, i) {
		return l.tooLongStarted(start, line)
	}
	raw := l.src[start:i]
	l.pos = i
	l.emit(TokWord, start, line, unescapeIf(raw, hasBackslash), false)
	return lexBetween
}

// lexQuoted scans a '...' or "..." string. After the closing quote nginx
// wants white space, ';', '{' or ')' (the last for "if (... "x")").
func lexQuoted(l *Lexer) stateFn {
	q := l.src[l.pos]
	quotePos, line := l.pos, l.line
	start := l.pos + 1 // nginx's token start is after the quote
	escaped, hasBackslash := false, false
	i := start
	for ; ; i++ {
		if l.tooLong(start, i) {
			l.line = line
			return l.errorf(line, `too long parameter, probably missing terminating "`+string(q)+`" character`)
		}
		if i >= len(l.src) {
			l.pos = i
			return l.errorf(l.line, `unexpected end of file, expecting ";" or "}"`)
		}
		c := l.src[i]
		if c == '\n' {
			l.line++
		}
		if escaped {
			escaped = false
			continue
		}
		if c == '\\' {
			escaped, hasBackslash = true, true
			continue
		}
		if c == q {
			break
		}
	}
	raw := l.src[start:i]
	next := i + 1
	if l.tooLong(start, next) {
		return l.tooLongStarted(start, line)
	}
	if next < len(l.src) {
		switch c := l.src[next]; c {
		case ' ', '\t', '\r', '\n', ';', '{', ')':
		default:
			l.pos = next
			return l.errorf(l.line, `unexpected "`+l.src[next:next+1]+`"`)
		}
	}
	l.pos = next
	l.emit(TokWord, quotePos, line, unescapeIf(raw, hasBackslash), true)
	return lexBetween
}

func unescapeIf(raw string, hasBackslash bool) string {
	if !hasBackslash {
		return raw
	}
	return unescape(raw)
}

// unescape resolves nginx's escapes: \" \' \\ become the byte itself,
// \t \r \n the control byte; any other backslash stays as written.
func unescape(raw string) string {
	if !hasEscape(raw) {
		return raw // only backslashes that stay (regexes: "\.", "\d"): no copy
	}
	var b strings.Builder
	b.Grow(len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c == '\\' && i+1 < len(raw) {
			switch raw[i+1] {
			case '"', '\'', '\\':
				b.WriteByte(raw[i+1])
				i++
				continue
			case 't':
				b.WriteByte('\t')
				i++
				continue
			case 'r':
				b.WriteByte('\r')
				i++
				continue
			case 'n':
				b.WriteByte('\n')
				i++
				continue
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}

// hasEscape reports whether unescape would change raw.
func hasEscape(raw string) bool {
	for i := 0; i+1 < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		switch raw[i+1] {
		case '"', '\'', '\\', 't', 'r', 'n':
			return true
		}
		i++ // the escaped byte is not a backslash that starts an escape
	}
	return false
}
