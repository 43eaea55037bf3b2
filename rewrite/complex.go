package rewrite

import (
	"github.com/gonginx/gonginx/nginxconf"
)

type segKind uint8

const (
	segLiteral segKind = iota
	segVariable
	segCapture // $1..$9
	segArgs    // the first '?' of a rewrite replacement: args start here
)

type segment struct {
	kind segKind
	lit  string
	v    *variable
	n    int // capture number
}

// Complex is a value with variables ("prefix$var${var}suffix", $1..$9),
// parsed once at config load as ngx_http_script_compile does.
type Complex struct {
	raw      string
	segs     []segment
	hasVars  bool
	hasCaps  bool
	hasQuery bool // a '?' appeared in the text (nginx's sc->args)
}

// Complex parses value. Errors use nginx's wording and carry no file:line
// (wrap them with At).
func (c *Compiler) Complex(value string) (*Complex, error) {
	return c.parse(value, false)
}

// parse follows ngx_http_script_compile: "$" then a digit 1-9 is a
// capture; "${name}" or "$name" (letters, digits, '_') a variable; a '$'
// with no name is "invalid variable name". With compileArgs (a rewrite
// replacement that is not a redirect) the first '?' starts the arguments.
func (c *Compiler) parse(value string, compileArgs bool) (*Complex, error) {
	cv := &Complex{raw: value}
	for i := 0; i < len(value); {
		if value[i] == '$' {
			i++
			if i == len(value) {
				return nil, &nginxconf.Error{Msg: "invalid variable name"}
			}
			if ch := value[i]; ch >= '1' && ch <= '9' {
				cv.segs = append(cv.segs, segment{kind: segCapture, n: int(ch - '0')})
				cv.hasCaps = true
				i++
				continue
			}
			bracket := false
			if value[i] == '{' {
				bracket = true
				i++
				if i == len(value) {
					return nil, &nginxconf.Error{Msg: "invalid variable name"}
				}
			}
			start := i
			closed := false
			for ; i < len(value); i++ {
				ch := value[i]
				if ch == '}' && bracket {
					closed = true
					break
				}
				if !isNameChar(ch) {
					break
				}
			}
			name := value[start:i]
			if bracket && !closed {
				return nil, &nginxconf.Error{Msg: `the closing bracket in "` + name + `" variable is missing`}
			}
			if closed {
				i++
			}
			if name == "" {
				return nil, &nginxconf.Error{Msg: "invalid variable name"}
			}
			cv.segs = append(cv.segs, segment{kind: segVariable, v: c.lookup(name)})
			cv.hasVars = true
			continue
		}
		if value[i] == '?' && compileArgs {
			cv.hasQuery = true
			compileArgs = false
			cv.segs = append(cv.segs, segment{kind: segArgs})
			i++
			continue
		}
		start := i
		for i < len(value) && value[i] != '$' {
			if value[i] == '?' {
				cv.hasQuery = true
				if compileArgs {
					break
				}
			}
			i++
		}
		cv.segs = append(cv.segs, segment{kind: segLiteral, lit: value[start:i]})
	}
	return cv, nil
}

func isNameChar(ch byte) bool {
	return ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '_'
}

// String returns the value as written.
func (cv *Complex) String() string { return cv.raw }

// Static returns the value when it has neither variables nor captures.
func (cv *Complex) Static() (string, bool) {
	if cv.hasVars || cv.hasCaps {
		return "", false
	}
	return cv.raw, true
}

// HasVariables reports whether the value names a variable ($name, ${name}).
func (cv *Complex) HasVariables() bool { return cv.hasVars }

// HasCaptures reports whether the value uses $1..$9.
func (cv *Complex) HasCaptures() bool { return cv.hasCaps }

// Eval appends the value for the request in s to dst. Captures are copied
// as they are, as ngx_http_complex_value and ngx_http_script_run do (so
// proxy_pass and return see "$1" unescaped).
func (cv *Complex) Eval(s *State, dst []byte) []byte {
	dst, _ = cv.eval(s, dst, false)
	return dst
}

// EvalQuoted is Eval in a context where nginx's script engine has quote
// set (a redirect, or values computed by the rewrite module before any
// rewrite matched): captures are escaped with NGX_ESCAPE_ARGS when the
// request URI had %XX escapes or '+'.
func (cv *Complex) EvalQuoted(s *State, dst []byte) []byte {
	dst, _ = cv.eval(s, dst, true)
	return dst
}

// eval appends the value; it returns where the arguments start in dst
// (after a replacement's first '?'), or -1.
func (cv *Complex) eval(s *State, dst []byte, quote bool) ([]byte, int) {
	argsAt := -1
	isArgs := false
	for i := range cv.segs {
		sg := &cv.segs[i]
		switch sg.kind {
		case segLiteral:
			dst = append(dst, sg.lit...)
		case segVariable:
			dst = sg.v.eval(s, dst)
		case segCapture:
			// Whether to escape is asked of the request here: most
			// values have no capture.
			escape := (isArgs || quote) && s.Req != nil && (s.Req.QuotedURI || s.Req.PlusInURI)
			dst = appendCapture(s, sg.n, dst, escape)
		case segArgs:
			isArgs = true
			argsAt = len(dst)
		}
	}
	return dst, argsAt
}

// Capture returns capture n of the last successful match ($n), or nil.
func (s *State) Capture(n int) []byte {
	if 2*n+1 >= len(s.Captures) {
		return nil
	}
	a, b := s.Captures[2*n], s.Captures[2*n+1]
	if a < 0 || b < a || b > len(s.CaptureSubject) {
		return nil
	}
	return s.CaptureSubject[a:b]
}

func appendCapture(s *State, n int, dst []byte, escape bool) []byte {
	c := s.Capture(n)
	if escape {
		return appendEscapeArgs(dst, c)
	}
	return append(dst, c...)
}

// At returns err with the directive's file and line when err is a
// placeless *nginxconf.Error, as nginx's ngx_conf_log_error prints it.
func At(err error, d *nginxconf.Directive) error {
	if e, ok := err.(*nginxconf.Error); ok && e.File == "" && d != nil {
		return &nginxconf.Error{Msg: e.Msg, File: d.File, Line: d.ReportLine(), Warn: e.Warn}
	}
	return err
}

// LogEscape is log_format's escape= parameter: how variable values are
// written into an access log line (literal text is written as is).
type LogEscape uint8

const (
	LogEscapeDefault LogEscape = iota // `"`, `\`, controls and bytes ≥ 0x7f as \xHH; empty as "-"
	LogEscapeJSON                     // JSON string escapes; empty stays empty
	LogEscapeNone                     // as is; empty stays empty
)

// EvalLog appends the value as ngx_http_log_module writes a log_format
// line: each variable escaped with esc.
func (cv *Complex) EvalLog(s *State, dst []byte, esc LogEscape) []byte {
	for i := range cv.segs {
		sg := &cv.segs[i]
		start := len(dst)
		switch sg.kind {
		case segLiteral:
			dst = append(dst, sg.lit...)
			continue
		case segVariable:
			s.FoundEmpty = false
			dst = sg.v.eval(s, dst)
		case segCapture:
			dst = appendCapture(s, sg.n, dst, false)
		default:
			continue
		}
		if len(dst) == start && sg.kind == segVariable && s.FoundEmpty {
			continue
		}
		if len(dst) == start {
			// nginx writes "-" for a variable without a value, except
			// with escape=json or escape=none, or when the value was
			// found empty.
			if esc == LogEscapeDefault && (sg.kind != segVariable || !sg.v.found) {
				dst = append(dst, '-')
			}
			continue
		}
		if esc == LogEscapeNone || !needsLogEscape(dst[start:], esc) {
			continue
		}
		s.logScratch = append(s.logScratch[:0], dst[start:]...)
		dst = dst[:start]
		if esc == LogEscapeJSON {
			dst = appendJSONEscaped(dst, s.logScratch)
		} else {
			dst = appendLogEscaped(dst, s.logScratch)
		}
	}
	return dst
}

func needsLogEscape(v []byte, esc LogEscape) bool {
	for _, ch := range v {
		if ch == '"' || ch == '\\' || ch < 0x20 || (esc == LogEscapeDefault && ch >= 0x7f) {
			return true
		}
	}
	return false
}

const upperHex = "0123456789ABCDEF"

// appendLogEscaped is ngx_http_log_escape: `"`, `\`, controls and bytes
// from 0x7f up become \xHH.
func appendLogEscaped(dst, v []byte) []byte {
	for _, ch := range v {
		if ch == '"' || ch == '\\' || ch < 0x20 || ch >= 0x7f {
			dst = append(dst, '\\', 'x', upperHex[ch>>4], upperHex[ch&15])
			continue
		}
		dst = append(dst, ch)
	}
	return dst
}

// appendJSONEscaped is ngx_escape_json: `"` and `\` backslashed, the
// usual control escapes, other controls as \u00HH; UTF-8 passes through.
func appendJSONEscaped(dst, v []byte) []byte {
	for _, ch := range v {
		switch {
		case ch == '"' || ch == '\\':
			dst = append(dst, '\\', ch)
		case ch == '\n':
			dst = append(dst, '\\', 'n')
		case ch == '\r':
			dst = append(dst, '\\', 'r')
		case ch == '\t':
			dst = append(dst, '\\', 't')
		case ch == '\b':
			dst = append(dst, '\\', 'b')
		case ch == '\f':
			dst = append(dst, '\\', 'f')
		case ch < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', upperHex[ch>>4], upperHex[ch&15])
		default:
			dst = append(dst, ch)
		}
	}
	return dst
}
