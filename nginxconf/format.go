package nginxconf

import (
	"bytes"
	"strings"
)

// Format writes f's directives (as written: include directives are not
// expanded) in a canonical layout: four spaces per level, one directive
// per line, comments kept (a comment that followed a directive on its line
// stays there), at most one blank line where the source had any, and
// arguments quoted only when a bare word would not read back the same.
func Format(f *File) []byte {
	var b bytes.Buffer
	formatBlock(&b, f.Tree, 0, nil)
	return b.Bytes()
}

func formatBlock(b *bytes.Buffer, ds []*Directive, depth int, parent *Directive) {
	var prev *Directive
	for i, d := range ds {
		inline := false
		if d.Name == "#" && d.Line > 0 {
			switch {
			case prev != nil && prev.Block == nil && prev.Name != "#" && prev.File == d.File && prev.EndLine == d.Line:
				inline = true
			case i == 0 && parent != nil && parent.File == d.File && parent.EndLine == d.Line:
				inline = true
			}
		}
		if inline {
			// Replace the line break just written with the comment.
			if n := b.Len(); n > 0 && b.Bytes()[n-1] == '\n' {
				b.Truncate(n - 1)
			}
			b.WriteString(" #")
			b.WriteString(d.Comment)
			b.WriteByte('\n')
			prev = d
			continue
		}
		if prev != nil && d.Line > 0 && prev.File == d.File && d.Line > lastLine(prev)+1 {
			b.WriteByte('\n')
		}
		b.WriteString(strings.Repeat("    ", depth))
		if d.Name == "#" {
			b.WriteByte('#')
			b.WriteString(d.Comment)
			b.WriteByte('\n')
			prev = d
			continue
		}
		b.WriteString(quoteArg(d.Name, d.NameQuoted))
		for i, a := range d.Args {
			b.WriteByte(' ')
			b.WriteString(quoteArg(a, d.IsQuoted(i)))
		}
		if d.Block == nil {
			b.WriteString(";\n")
		} else {
			b.WriteString(" {\n")
			formatBlock(b, d.Block, depth+1, d)
			b.WriteString(strings.Repeat("    ", depth))
			b.WriteString("}\n")
		}
		prev = d
	}
}

// lastLine is the last source line a directive is known to occupy.
func lastLine(d *Directive) int {
	end := d.EndLine
	if d.Block != nil {
		for _, c := range d.Block {
			if c.File == d.File {
				end = max(end, lastLine(c)+1) // its "}" is at least one line on
			}
		}
	}
	return end
}

// quoteArg returns v as it should be written: bare when the lexer reads
// the bare word back as v, else in double quotes with the escapes nginx
// resolves. Arguments written in quotes stay quoted (a quoted "if"
// operand means something else than a bare one).
func quoteArg(v string, wasQuoted bool) string {
	if !wasQuoted && readsBackBare(v) {
		return v
	}
	var b strings.Builder
	b.Grow(len(v) + 2)
	b.WriteByte('"')
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			// A backslash that nginx would read as the start of an
			// escape must be doubled; any other stays as is.
			if i+1 == len(v) || strings.IndexByte(`"'\tnr`, v[i+1]) >= 0 {
				b.WriteString(`\\`)
			} else {
				b.WriteByte('\\')
			}
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func readsBackBare(v string) bool {
	if v == "" || v[len(v)-1] == '\\' {
		return false
	}
	switch v[0] {
	case '"', '\'', '#', ';', '{', '}':
		return false
	}
	l := newLexer(v, 0)
	t := l.Next()
	return t.Kind == TokWord && !t.Quoted && t.Val == v && t.Pos == 0 && l.pos == len(v)
}
