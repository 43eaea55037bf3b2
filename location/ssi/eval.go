package ssi

import (
	"bytes"
	"strconv"
	"time"

	"github.com/gonginx/gonginx/rewrite"
)

// variable appends the value of $name (lowercase) to dst as
// ngx_http_ssi_get_variable and then ngx_http_get_variable find it: a
// regex capture $0..$9, a variable set by an ssi command, $date_local and
// $date_gmt in this response's timefmt, the request's variables.
func (f *Filter) variable(name, dst []byte) ([]byte, bool) {
	s := f.shared
	if len(name) == 1 && name[0] >= '0' && name[0] <= '9' {
		if i := int(name[0] - '0'); i < s.capN {
			a, b := s.captures[2*i], s.captures[2*i+1]
			if a >= 0 && b >= a {
				dst = append(dst, s.capSubj[a:b]...)
			}
			return dst, true
		}
	}
	if v := s.lookup(name); v != nil {
		return append(dst, v.value...), true
	}
	switch string(name) {
	case "date_local":
		return f.appendDate(dst, false), true
	case "date_gmt":
		return f.appendDate(dst, true), true
	}
	return f.host.Variable(name, dst)
}

// appendDate is ngx_http_ssi_date_gmt_local_variable: now in timefmt
// ("%s" alone is seconds since the epoch).
func (f *Filter) appendDate(dst []byte, gmt bool) []byte {
	now := time.Now()
	if string(f.timefmt) == "%s" {
		return strconv.AppendInt(dst, now.Unix(), 10)
	}
	if gmt {
		now = now.UTC()
	}
	return AppendStrftime(dst, f.timefmt, now, gmt)
}

// evaluate appends text with its $variables and ${variables} replaced
// and backslash escapes undone (ngx_http_ssi_evaluate_string); with
// addPrefix a relative result gets the directory of the request's URI in
// front. ok is false, logged, for an invalid variable name.
func (f *Filter) evaluate(dst, text []byte, addPrefix bool) ([]byte, bool) {
	start := len(dst)
	if bytes.IndexByte(text, '$') < 0 {
		if addPrefix && (len(text) == 0 || text[0] != '/') {
			dst = appendURIDir(dst, f.host.URI())
		}
		return unescapeBackslashes(dst, text), true
	}
	// Parts go to dst; the prefix, when it applies, is put in front after.
	first := -1 // where the first non-empty part begins
	for i := 0; i < len(text); {
		if text[i] == '$' {
			i++
			if i == len(text) {
				return f.invalidVariable(dst[:start], text)
			}
			bracket := false
			if text[i] == '{' {
				bracket = true
				i++
				if i == len(text) {
					return f.invalidVariable(dst[:start], text)
				}
			}
			nameStart, nameEnd := i, -1
			for ; i < len(text); i++ {
				c := text[i]
				if c == '}' && bracket {
					nameEnd, bracket = i, false
					i++
					break
				}
				if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' {
					continue
				}
				break
			}
			if nameEnd < 0 {
				nameEnd = i
			}
			name := text[nameStart:nameEnd]
			if bracket {
				f.logf("the closing bracket in \"%s\" variable is missing", name)
				return dst[:start], false
			}
			if len(name) == 0 {
				return f.invalidVariable(dst[:start], text)
			}
			lowerInPlace(name)
			n := len(dst)
			var found bool
			dst, found = f.variable(name, dst)
			if !found {
				dst = dst[:n]
			}
			if first < 0 && len(dst) > n {
				first = n
			}
			continue
		}
		n := len(dst)
		quoted := false
		for ; i < len(text); i++ {
			c := text[i]
			if !quoted {
				if c == '\\' {
					quoted = true
					continue
				}
				if c == '$' {
					break
				}
			} else {
				quoted = false
				if c != '\\' && c != '\'' && c != '"' && c != '$' {
					dst = append(dst, '\\')
				}
			}
			dst = append(dst, c)
		}
		if first < 0 && len(dst) > n {
			first = n
		}
	}
	if addPrefix && first >= 0 && dst[first] != '/' {
		f.scratch2 = appendURIDir(f.scratch2[:0], f.host.URI())
		if k := len(f.scratch2); k > 0 {
			dst = append(dst, f.scratch2...)
			copy(dst[start+k:], dst[start:len(dst)-k])
			copy(dst[start:], f.scratch2)
		}
	}
	return dst, true
}

func (f *Filter) invalidVariable(dst, text []byte) ([]byte, bool) {
	f.logf("invalid variable name in \"%s\"", text)
	return dst, false
}

// appendURIDir appends uri up to its last '/', nothing if it has none.
func appendURIDir(dst, uri []byte) []byte {
	if i := bytes.LastIndexByte(uri, '/'); i >= 0 {
		return append(dst, uri[:i+1]...)
	}
	return dst
}

// unescapeBackslashes drops the backslash before \ ' " $ and keeps it
// before anything else; a trailing one is dropped.
func unescapeBackslashes(dst, text []byte) []byte {
	quoted := false
	for _, c := range text {
		if !quoted {
			if c == '\\' {
				quoted = true
				continue
			}
		} else {
			quoted = false
			if c != '\\' && c != '\'' && c != '"' && c != '$' {
				dst = append(dst, '\\')
			}
		}
		dst = append(dst, c)
	}
	return dst
}

// ifCommand is "if" and "elif" (ngx_http_ssi_if): expr is a truth test of
// its left side, or "left = right", "left != right", where right is a
// string or a /regex/ whose captures become $1.. (and named ones ssi
// variables).
func (f *Filter) ifCommand(a *args) (bool, error) {
	if len(f.ps.command) == 2 && f.conditional != 0 {
		f.logf("the \"if\" command inside the \"if\" command")
		return false, nil
	}
	if f.outputChosen {
		f.output = false
		return true, nil
	}
	expr := a.val[0]
	p := 0
	for ; p < len(expr); p++ {
		c := expr[p]
		if c >= 'A' && c <= 'Z' {
			expr[p] = c | 0x20
			continue
		}
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '$' || c == '{' || c == '}' || c == '_' || c == '"' || c == '\'' {
			continue
		}
		break
	}
	leftText := expr[:p]
	for p < len(expr) && expr[p] == ' ' {
		p++
	}
	left, ok := f.evaluate(f.scratch[:0], leftText, false)
	f.scratch = left
	if !ok {
		return false, nil
	}
	if p == len(expr) {
		f.choose(len(left) > 0)
		return true, nil
	}
	negative := false
	switch {
	case expr[p] == '=':
		p++
	case p+1 < len(expr) && expr[p] == '!' && expr[p+1] == '=':
		negative = true
		p += 2
	default:
		f.logf("invalid expression in \"%s\"", expr)
		return false, nil
	}
	for p < len(expr) && expr[p] == ' ' {
		p++
	}
	last := len(expr)
	regex := false
	if p < last-1 && expr[p] == '/' {
		if expr[last-1] != '/' {
			f.logf("invalid expression in \"%s\"", expr)
			return false, nil
		}
		regex = true
		last--
		p++
	} else if p < last-1 && expr[p] == '\\' && expr[p+1] == '/' {
		p++
	}
	right, ok := f.evaluate(f.scratch2[:0], expr[p:last], false)
	f.scratch2 = right
	if !ok {
		return false, nil
	}
	var match bool
	if regex {
		m, ok := f.regexMatch(right, left)
		if !ok {
			return false, nil
		}
		match = m
	} else {
		match = bytes.Equal(left, right)
	}
	f.choose(match != negative)
	return true, nil
}

// choose ends an if or elif: its branch is output when cond holds.
func (f *Filter) choose(cond bool) {
	if cond {
		f.output, f.outputChosen = true, true
	} else {
		f.output = false
	}
	f.conditional = condIf
}

// regexMatch matches subject against pattern (compiled as PCRE would,
// case-sensitive). A match keeps its captures for $0..$9 and sets its
// named captures as ssi variables.
func (f *Filter) regexMatch(pattern, subject []byte) (matched, ok bool) {
	rx, err := compileRegex(pattern)
	if err != nil {
		f.logf("%s", rewrite.RegexErrorText(err))
		return false, false
	}
	s := f.shared
	if !rx.Match(&s.rs, subject) {
		return false, true
	}
	s.capSubj = append(s.capSubj[:0], subject...)
	s.captures = append(s.captures[:0], s.rs.Captures...)
	s.capN = 0
	for i := 0; 2*i+1 < len(s.captures); i++ {
		if s.captures[2*i] >= 0 {
			s.capN = i + 1
		}
	}
	rx.NamedCaptures(func(group int, name string) {
		var v []byte
		if 2*group+1 < len(s.captures) && s.captures[2*group] >= 0 {
			v = s.capSubj[s.captures[2*group]:s.captures[2*group+1]]
		}
		s.set(bytes.ToLower([]byte(name)), v)
	})
	return true, true
}

// echo outputs a variable (ngx_http_ssi_echo); encoding= changes the
// encoding of this echo and of the ones after it.
func (f *Filter) echo(a *args) (bool, error) {
	name := a.val[0]
	lowerInPlace(name)
	value, found := f.variable(name, f.scratch[:0])
	f.scratch = value
	if !found {
		if def, ok := a.get(1); ok {
			value = def
		} else {
			value = noneValue
		}
	}
	if len(value) == 0 {
		return true, nil
	}
	if enc, ok := a.get(2); ok {
		switch string(enc) {
		case "none":
			f.encoding = encNone
		case "url":
			f.encoding = encURL
		case "entity":
			f.encoding = encEntity
		default:
			f.logf("unknown encoding \"%s\" in the \"echo\" command", enc)
		}
	}
	switch f.encoding {
	case encURL:
		f.scratch2 = appendEscapeHTMLURI(f.scratch2[:0], value)
		value = f.scratch2
	case encEntity:
		f.scratch2 = rewrite.AppendEscapeHTML(f.scratch2[:0], value)
		value = f.scratch2
	}
	return true, f.emit(value)
}

// htmlURI is ngx_escape_uri's NGX_ESCAPE_HTML table: the bytes echo's
// url encoding writes as %XX.
var htmlURI = [8]uint32{
	0xffffffff, 0x500000ad, 0x50000000, 0xb8000001,
	0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
}

func appendEscapeHTMLURI(dst, v []byte) []byte {
	const hex = "0123456789ABCDEF"
	for _, c := range v {
		if htmlURI[c>>5]&(1<<(c&0x1f)) != 0 {
			dst = append(dst, '%', hex[c>>4], hex[c&0xf])
			continue
		}
		dst = append(dst, c)
	}
	return dst
}
