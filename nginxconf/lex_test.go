package nginxconf

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// tok is a Token without Pos, for compact tables.
type tok struct {
	Kind   TokenKind
	Line   int
	Val    string
	Quoted bool
}

func lexAll(src string, limit int) []tok {
	l := newLexer(src, limit)
	var out []tok
	for range 10000 {
		t := l.Next()
		out = append(out, tok{t.Kind, t.Line, t.Val, t.Quoted})
		if t.Kind == TokEOF || t.Kind == TokError {
			break
		}
	}
	return out
}

func w(line int, v string) tok   { return tok{TokWord, line, v, false} }
func q(line int, v string) tok   { return tok{TokWord, line, v, true} }
func semi(line int) tok          { return tok{TokSemicolon, line, ";", false} }
func lb(line int) tok            { return tok{TokLBrace, line, "{", false} }
func rb(line int) tok            { return tok{TokRBrace, line, "}", false} }
func com(line int, v string) tok { return tok{TokComment, line, v, false} }
func eof(line int) tok           { return tok{TokEOF, line, "", false} }
func lexErr(line int, msg string) tok {
	return tok{TokError, line, msg, false}
}

func TestLexer(t *testing.T) {
	long := strings.Repeat("a", fileTokenLimit)
	tests := []struct {
		name string
		in   string
		want []tok
	}{
		{"empty", "", []tok{eof(1)}},
		{"words and semicolon", "listen 80;", []tok{w(1, "listen"), w(1, "80"), semi(1), eof(1)}},
		{"block", "http {\n}\n", []tok{w(1, "http"), lb(1), rb(2), eof(3)}},
		{"no space before brace", "server{listen 80;}", []tok{w(1, "server"), lb(1), w(1, "listen"), w(1, "80"), semi(1), rb(1), eof(1)}},
		{"brace inside word is not special", "a b}", []tok{w(1, "a"), w(1, "b}"), eof(1)}},
		{"tabs and CRLF", "a\tb\r\nc;\r\n", []tok{w(1, "a"), w(1, "b"), w(2, "c"), semi(2), eof(3)}},
		{"comment to end of line", "# hello\nx; # tail { ; }\n", []tok{com(1, " hello"), w(2, "x"), semi(2), com(2, " tail { ; }"), eof(3)}},
		{"korean comment", "# 저는 9000번\nlisten 9000;", []tok{com(1, " 저는 9000번"), w(2, "listen"), w(2, "9000"), semi(2), eof(2)}},
		{"comment CRLF trimmed", "#c\r\n", []tok{com(1, "c"), eof(2)}},
		{"hash inside word", "a#b;", []tok{w(1, "a#b"), semi(1), eof(1)}},
		{"double quoted", `a "b c";`, []tok{w(1, "a"), q(1, "b c"), semi(1), eof(1)}},
		{"single quoted", `a 'b "c"';`, []tok{w(1, "a"), q(1, `b "c"`), semi(1), eof(1)}},
		{"empty quoted", `a "";`, []tok{w(1, "a"), q(1, ""), semi(1), eof(1)}},
		{"escapes in quotes", `a "q\"s\'b\\t\tr\rn\nx\y";`, []tok{w(1, "a"), q(1, "q\"s'b\\t\tr\rn\nx\\y"), semi(1), eof(1)}},
		{"escapes in words", `a b\"c\;d\ e;`, []tok{w(1, "a"), w(1, `b"c\;d\ e`), semi(1), eof(1)}},
		{"escaped newline in word counts lines", "a\\\nb;", []tok{w(1, "a\\\nb"), semi(2), eof(2)}},
		{"multi-line quoted", "a \"x\ny\"\n;", []tok{w(1, "a"), q(1, "x\ny"), semi(3), eof(3)}},
		{"quote only at token start", `a b"c" d'e';`, []tok{w(1, "a"), w(1, `b"c"`), w(1, `d'e'`), semi(1), eof(1)}},
		{"variable", "set $a $b;", []tok{w(1, "set"), w(1, "$a"), w(1, "$b"), semi(1), eof(1)}},
		{"braced variable does not open a block", "return 200 ${host}x{", []tok{w(1, "return"), w(1, "200"), w(1, "${host}x"), lb(1), eof(1)}},
		{"braces after dollar", "a $${{b} {", []tok{w(1, "a"), w(1, "$${{b}"), lb(1), eof(1)}},
		{"regex with braces needs quotes", `location ~ "^/a{2}$" {`, []tok{w(1, "location"), w(1, "~"), q(1, "^/a{2}$"), lb(1), eof(1)}},
		{"unquoted regex brace opens block", `location ~ ^/a{2} {`, []tok{w(1, "location"), w(1, "~"), w(1, "^/a"), lb(1), w(1, "2}"), lb(1), eof(1)}},
		{"if with quoted operand and paren", `if ($a = "b") {`, []tok{w(1, "if"), w(1, "($a"), w(1, "="), q(1, "b"), w(1, ")"), lb(1), eof(1)}},
		{"quoted then semicolon", `a "b";`, []tok{w(1, "a"), q(1, "b"), semi(1), eof(1)}},
		{"quoted then brace", `a "b"{`, []tok{w(1, "a"), q(1, "b"), lb(1), eof(1)}},
		{"quoted then letter", `a "b"c;`, []tok{w(1, "a"), lexErr(1, `unexpected "c"`)}},
		{"quoted then quote", `a "b""c";`, []tok{w(1, "a"), lexErr(1, `unexpected """`)}},
		{"quoted then close brace", `a "b"}`, []tok{w(1, "a"), lexErr(1, `unexpected "}"`)}},
		{"quoted then hash", `a "b"#`, []tok{w(1, "a"), lexErr(1, `unexpected "#"`)}},
		{"error line after multi-line quote", "a \"x\n\ny\"z;", []tok{w(1, "a"), lexErr(3, `unexpected "z"`)}},
		{"unterminated quote", "a \"x\n\n", []tok{w(1, "a"), lexErr(3, `unexpected end of file, expecting ";" or "}"`)}},
		{"quoted at eof", `a "b"`, []tok{w(1, "a"), q(1, "b"), eof(1)}},
		{"word at eof", "a b", []tok{w(1, "a"), w(1, "b"), eof(1)}},
		{"lone punctuation", "; { }", []tok{semi(1), lb(1), rb(1), eof(1)}},
		{"token of 4095 bytes", long[1:] + ";", []tok{w(1, long[1:]), semi(1), eof(1)}},
		{"token of 4096 bytes", long + ";", []tok{lexErr(1, `too long parameter "aaaaaaaaaa..." started`)}},
		{"token of 4096 bytes at eof", long, []tok{w(1, long), eof(1)}},
		{"quoted too long", "\n\"" + long + "\";", []tok{lexErr(2, `too long parameter, probably missing terminating """ character`)}},
		{"quoted 4094 ok", "'" + long[2:] + "';", []tok{q(1, long[2:]), semi(1), eof(1)}},
		{"quoted 4095 needs its next byte", "'" + long[1:] + "';", []tok{lexErr(1, `too long parameter "aaaaaaaaaa..." started`)}},
		{"comment too long", "#" + long + "\n", []tok{lexErr(1, `too long parameter "#aaaaaaaaa..." started`)}},
		{"comment of 4095 bytes", "#" + long[2:] + "\nx;", []tok{com(1, long[2:]), w(2, "x"), semi(2), eof(2)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, lexAll(tt.in, fileTokenLimit)); diff != "" {
				t.Errorf("lex(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestLexerParamHasNoLimit(t *testing.T) {
	long := strings.Repeat("a", 3*fileTokenLimit)
	want := []tok{w(1, long), semi(1), eof(1)}
	if diff := cmp.Diff(want, lexAll(long+";", 0)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestLexerPositions(t *testing.T) {
	l := NewLexer(`ab "cd" ;`)
	var got []int
	for tk := l.Next(); tk.Kind != TokEOF; tk = l.Next() {
		got = append(got, tk.Pos)
	}
	if diff := cmp.Diff([]int{0, 3, 8}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestUnescape(t *testing.T) {
	tests := []struct{ raw, want string }{
		{`\.(png|jpe?g)$`, `\.(png|jpe?g)$`},
		{`a\\b`, `a\b`},
		{`\\.`, `\.`},
		{`\.\"`, `\."`},
		{`x\`, `x\`},
		{`\t\r\n\'`, "\t\r\n'"},
		{`\d+\n`, "\\d+\n"},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, unescape(tt.raw)); diff != "" {
			t.Errorf("unescape(%q) (-want +got):\n%s", tt.raw, diff)
		}
	}
}
