package location

import (
	"strings"

	"github.com/gonginx/gonginx/location/syslog"
	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite"
)

// streamLogs is what ngx_stream_log_module knows as stream{} is read: the
// log_format names defined so far (stream has no built-in "combined").
type streamLogs struct {
	formats []string
}

// format records a stream log_format, refusing a name used before
// (ngx_stream_log_set_format compares them case-sensitively).
func (s *streamLogs) format(d *nginxconf.Directive) *nginxconf.Error {
	for _, f := range s.formats {
		if f == d.Args[0] {
			return &nginxconf.Error{Msg: `duplicate "log_format" name "` + d.Args[0] + `"`, File: d.File, Line: endLine(d)}
		}
	}
	s.formats = append(s.formats, d.Args[0])
	return nil
}

// accessLog follows ngx_stream_log_set_log as the directive is read: the
// path's variables compiled, a format defined before (found caselessly),
// then buffer=, flush=, gzip[=N] and if= in order.
func (s *streamLogs) accessLog(d *nginxconf.Directive, rc func() *rewrite.Compiler) *nginxconf.Error {
	a := d.Args
	errf := func(msg string) *nginxconf.Error { return &nginxconf.Error{Msg: msg, File: d.File, Line: endLine(d)} }
	if a[0] == "off" {
		if len(a) > 1 {
			return errf(`invalid parameter "` + a[1] + `"`)
		}
		return nil
	}
	switch {
	case strings.HasPrefix(a[0], "syslog:"):
		if _, err := syslog.Parse(a[0]); err != nil {
			return errf(err.Error())
		}
	case strings.Contains(a[0], "$"):
		if _, err := rc().Complex(a[0]); err != nil {
			return asConfErr(rewrite.At(err, d), d)
		}
	}
	if len(a) < 2 {
		return errf("log format is not specified")
	}
	known := false
	for _, f := range s.formats {
		known = known || strings.EqualFold(f, a[1])
	}
	if !known {
		return errf(`unknown log format "` + a[1] + `"`)
	}
	var size, flush bool
	for _, v := range a[2:] {
		switch {
		case strings.HasPrefix(v, "buffer="):
			n, ok := nginxconf.ParseSize(v[7:])
			if !ok || n == 0 {
				return errf(`invalid buffer size "` + v[7:] + `"`)
			}
			size = true
		case strings.HasPrefix(v, "flush="):
			n, ok := nginxconf.ParseTime(v[6:], false)
			if !ok || n == 0 {
				return errf(`invalid flush time "` + v[6:] + `"`)
			}
			flush = true
		case v == "gzip":
			size = true
		case strings.HasPrefix(v, "gzip="):
			if n, ok := nginxconf.ParseNumber(v[5:]); !ok || n < 1 || n > 9 {
				return errf(`invalid compression level "` + v[5:] + `"`)
			}
			size = true
		case strings.HasPrefix(v, "if="):
			if _, err := rc().Complex(v[3:]); err != nil {
				return asConfErr(rewrite.At(err, d), d)
			}
		default:
			return errf(`invalid parameter "` + v + `"`)
		}
	}
	if flush && !size {
		return errf(`no buffer is defined for access_log "` + a[0] + `"`)
	}
	return nil
}

// logFormatCheck is the syntax check of the log modules'
// compile_format, made as log_format is read: an unknown escape=, then
// each '$' in order: "invalid parameter" naming the rest of the argument
// from a '$' with no name, or an unclosed "${".
func logFormatCheck(d *nginxconf.Directive) *nginxconf.Error {
	errf := func(msg string) *nginxconf.Error { return &nginxconf.Error{Msg: msg, File: d.File, Line: endLine(d)} }
	args := d.Args[1:]
	if len(args) > 0 {
		if esc, ok := strings.CutPrefix(args[0], "escape="); ok {
			if esc != "default" && esc != "json" && esc != "none" {
				return errf(`unknown log format escaping "` + esc + `"`)
			}
			args = args[1:]
		}
	}
	for _, a := range args {
		for i := 0; i < len(a); i++ {
			if a[i] != '$' {
				continue
			}
			from := i
			i++
			bracket := i < len(a) && a[i] == '{'
			if bracket {
				i++
			}
			start := i
			for i < len(a) && (a[i] >= 'a' && a[i] <= 'z' || a[i] >= 'A' && a[i] <= 'Z' || a[i] >= '0' && a[i] <= '9' || a[i] == '_') {
				i++
			}
			if bracket && start < len(a) && (i == len(a) || a[i] != '}') {
				return errf(`the closing bracket in "` + a[start:i] + `" variable is missing`)
			}
			if i == start {
				return errf(`invalid parameter "` + a[from:] + `"`)
			}
			if !bracket {
				i-- // the loop's i++ comes to the character after the name
			}
		}
	}
	return nil
}
