package stream

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/gonginx/gonginx/location"
	"github.com/gonginx/gonginx/location/filter"
	"github.com/gonginx/gonginx/location/syslog"
	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite"
)

// logFormat compiles a stream log_format (stream has no predefined
// format).
func (cc *compiler) logFormat(d *nginxconf.Directive) error {
	if len(d.Args) < 2 {
		return nil
	}
	if _, dup := cc.formats[d.Args[0]]; dup {
		return confErr(d, `duplicate "log_format" name "%s"`, d.Args[0])
	}
	f := &logFormat{}
	args := d.Args[1:]
	if v, ok := strings.CutPrefix(args[0], "escape="); ok {
		switch v {
		case "json":
			f.esc = rewrite.LogEscapeJSON
		case "none":
			f.esc = rewrite.LogEscapeNone
		}
		args = args[1:]
	}
	for _, a := range args {
		cv, err := cc.c.rc.Complex(a)
		if err != nil {
			return rewrite.At(err, d)
		}
		f.parts = append(f.parts, cv)
	}
	cc.formats[d.Args[0]] = f
	cc.formatNames = append(cc.formatNames, d.Args[0])
	return nil
}

// logs compiles the access_log and error_log lines of a server: its own,
// else the stream level's.
func (cc *compiler) logs(srv *server, blocks [][]*nginxconf.Directive) error {
	for i := len(blocks) - 1; i >= 0; i-- {
		ds := all(blocks[i], "error_log")
		if len(ds) == 0 {
			continue
		}
		for _, d := range ds {
			el, err := location.CompileErrorLog(cc.cfg, cc.rt, d)
			if err != nil {
				return err
			}
			if el != nil {
				srv.errorLogs = append(srv.errorLogs, el)
			}
		}
		break
	}
	if ds := all(blocks[len(blocks)-1], "access_log"); len(ds) > 0 {
		logs, err := cc.accessLogs(ds)
		if err != nil {
			return err
		}
		srv.logs = logs
		return nil
	}
	// The stream level's lines, compiled once: its files are opened
	// (created) even when every server has its own, as nginx's are.
	if !cc.streamLogsDone {
		cc.streamLogsDone = true
		logs, err := cc.accessLogs(all(blocks[0], "access_log"))
		if err != nil {
			return err
		}
		cc.streamLogs = logs
	}
	srv.logs = cc.streamLogs
	return nil
}

// accessLogs compiles one level's access_log lines ("off": none).
func (cc *compiler) accessLogs(ds []*nginxconf.Directive) ([]*accessLog, error) {
	var out []*accessLog
	for _, d := range ds {
		if d.Args[0] == "off" {
			return nil, nil
		}
		r, err := cc.accessLog(d)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func (cc *compiler) accessLog(d *nginxconf.Directive) (*accessLog, error) {
	r := &accessLog{}
	switch {
	case strings.HasPrefix(d.Args[0], "syslog:"):
		p, err := syslog.Parse(d.Args[0])
		if err != nil {
			return nil, confErr(d, "%s", err)
		}
		cc.rt.AddSyslogPeer(p)
		r.peer = p
	case strings.Contains(d.Args[0], "$"):
		cv, err := cc.c.rc.Complex(cc.cfg.PrefixPath(d.Args[0]))
		if err != nil {
			return nil, rewrite.At(err, d)
		}
		r.pathValue = cv
	default:
		r.path = cc.cfg.PrefixPath(d.Args[0])
		cc.rt.AddAccessLog(r.path)
	}
	if len(d.Args) < 2 {
		return nil, confErr(d, "log format is not specified")
	}
	// ngx_stream_log_set_log takes the first format defined whose name
	// matches caselessly, an exact match later or not (log_format's
	// duplicates are compared exactly).
	for _, name := range cc.formatNames {
		if strings.EqualFold(name, d.Args[1]) {
			r.format = cc.formats[name]
			break
		}
	}
	if r.format == nil {
		return nil, confErr(d, "unknown log format \"%s\"", d.Args[1])
	}
	for _, a := range d.Args[2:] {
		if v, ok := strings.CutPrefix(a, "if="); ok {
			cv, err := cc.c.rc.Complex(v)
			if err != nil {
				return nil, rewrite.At(err, d)
			}
			r.cond = cv
		}
		if a == "gzip" {
			r.gzipLevel = 1
		} else if v, ok := strings.CutPrefix(a, "gzip="); ok {
			r.gzipLevel, _ = strconv.Atoi(v) // 1 to 9, checked by -t
		}
	}
	return r, nil
}

// writeAccessLogs writes the session's lines (ngx_stream_log_handler).
func (ss *session) writeAccessLogs() {
	var b []byte
	for _, r := range ss.server.logs {
		if r.cond != nil {
			b = r.cond.Eval(&ss.st, b[:0])
			if len(b) == 0 || len(b) == 1 && b[0] == '0' {
				continue
			}
		}
		path := r.path
		if r.pathValue != nil {
			b = r.pathValue.Eval(&ss.st, b[:0])
			path = string(b)
		}
		b = b[:0]
		for _, p := range r.format.parts {
			b = p.EvalLog(&ss.st, b, r.format.esc)
		}
		b = append(b, '\n')
		if r.peer != nil {
			err := r.peer.Send(r.peer.Severity(), time.Now(), b)
			var short *syslog.ShortWriteError
			if err != nil && !errors.As(err, &short) {
				ss.logf("warn", "send() to syslog failed", "")
			}
			continue
		}
		if r.gzipLevel > 0 {
			// Each line a gzip member of its own: zcat reads what
			// nginx's buffered members give.
			b = filter.AppendMember(nil, b, r.gzipLevel)
		}
		if f := ss.srv.log.AccessFile(path); f != nil {
			f.Write(b)
		}
	}
}
