package location

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"

	"github.com/gonginx/gonginx/rewrite"
)

// Regex is a compiled regular expression as location and server_name use
// it, shaped like rewrite.Regex: on a match it stores the captures in
// s.Captures (offsets into s.CaptureSubject, a copy of subject) and
// reports true; a failed match leaves s alone.
type Regex interface {
	Match(s *rewrite.State, subject []byte) bool
	NumCaptures() int
}

// CompileRegex compiles a regex with Go's RE2 alone; Compile uses the
// rewrite package's compiler instead (PCRE syntax, named captures).
var CompileRegex = func(expr string, caseless bool) (Regex, error) {
	src := expr
	if caseless {
		src = "(?i)" + src
	}
	re, err := regexp.Compile(src)
	if err != nil {
		return nil, fmt.Errorf("pcre2_compile() failed: %s in \"%s\"", reErrText(err), expr)
	}
	return &stdRegex{re: re}, nil
}

func reErrText(err error) string {
	var e *syntax.Error
	if errors.As(err, &e) {
		switch e.Code {
		case syntax.ErrMissingParen:
			return "missing closing parenthesis"
		case syntax.ErrUnexpectedParen:
			return "unmatched closing parenthesis"
		}
		return string(e.Code)
	}
	return err.Error()
}

type stdRegex struct{ re *regexp.Regexp }

func (r *stdRegex) Match(s *rewrite.State, subject []byte) bool {
	// FindSubmatchIndex allocates; the rewrite package's engine does not.
	m := r.re.FindSubmatchIndex(subject)
	if m == nil {
		return false
	}
	s.Captures = append(s.Captures[:0], m...)
	s.CaptureSubject = append(s.CaptureSubject[:0], subject...)
	return true
}

func (r *stdRegex) NumCaptures() int { return r.re.NumSubexp() }
