package location

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gonginx/gonginx/location/filter"
	"github.com/gonginx/gonginx/location/syslog"
	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/rewrite/http1"
)

// Logger writes nginx-format error log lines
// ("2026/11/27 10:00:00 [error] 123#0: *1 msg, client: ..., server: ...")
// and access log lines (log_format, compiled at config load).
type Logger struct {
	mu  sync.Mutex
	w   io.Writer
	pid string
	max atomic.Int32 // 1 + levelRank of the least severe line written to w; 0: all
	// mainLogs are the main context's other error logs (syslog, more
	// files), each with its own level.
	mainLogs atomic.Pointer[[]errorLogRule]
	// debugAny: w or one of mainLogs takes debug lines (takesDebug),
	// made again at each change of either.
	debugAny atomic.Bool

	amu     sync.Mutex
	access  map[string]*os.File // path → open file
	failed  map[string]bool
	Verbose bool // log 404s and other "info"-level request errors
}

// NewLogger logs errors to w (stderr when nil).
func NewLogger(w io.Writer) *Logger {
	if w == nil {
		w = os.Stderr
	}
	return &Logger{w: w, pid: strconv.Itoa(os.Getpid()), access: map[string]*os.File{}, failed: map[string]bool{}}
}

// Log writes one line at level ("emerg", "warn", "notice", ...) to the
// main context's error logs that take it.
func (l *Logger) Log(level, msg string) {
	if l == nil {
		return
	}
	rank := levelRank(level)
	m := l.max.Load()
	toW := m == 0 || int32(rank) < m
	var others []errorLogRule
	if p := l.mainLogs.Load(); p != nil {
		others = *p
	}
	if !toW && !takenBy(others, rank) {
		return
	}
	b := l.line(level, msg)
	if toW {
		l.mu.Lock()
		l.w.Write(b)
		l.mu.Unlock()
	}
	l.writeTo(others, rank, b)
}

// MainLog is one more error_log of the main context: a file path
// (absolute), "stderr" or a "syslog:" destination, and its level.
type MainLog struct{ Dest, Level string }

// SetMainLogs replaces the main context's error logs besides the one
// SetOutput and SetLevel give (nginx writes a line to every log whose
// level takes it).
func (l *Logger) SetMainLogs(logs []MainLog) error {
	rules := make([]errorLogRule, 0, len(logs))
	for _, m := range logs {
		r := errorLogRule{path: m.Dest, rank: levelRank(m.Level)}
		if m.Level == "" {
			r.rank = levelRank("error")
		}
		if strings.HasPrefix(m.Dest, "syslog:") {
			p, err := syslog.Parse(m.Dest)
			if err != nil {
				return err
			}
			r.path, r.peer = "", p
		}
		rules = append(rules, r)
	}
	old := l.mainLogs.Swap(&rules)
	l.noteDebug()
	if old != nil {
		for _, r := range *old {
			if r.peer != nil {
				r.peer.Close()
			}
		}
	}
	return nil
}

func takenBy(rules []errorLogRule, rank int) bool {
	for _, r := range rules {
		if rank <= r.rank {
			return true
		}
	}
	return false
}

// takes reports whether logTo(logs, a level of rank, ...) writes the
// line anywhere: a message made only then is no garbage when it would
// be dropped (a keep-alive connection's close, at info).
func (l *Logger) takes(logs []errorLogRule, rank int) bool {
	if l == nil {
		return false
	}
	if len(logs) > 0 {
		return takenBy(logs, rank)
	}
	if m := l.max.Load(); m == 0 || int32(rank) < m {
		return true
	}
	var others []errorLogRule
	if p := l.mainLogs.Load(); p != nil {
		others = *p
	}
	return takenBy(others, rank)
}

// writeTo writes an error line to the rules that take its level.
func (l *Logger) writeTo(rules []errorLogRule, rank int, line []byte) {
	l.writeRules(rules, rank, line, false)
}

// writeRules is writeTo; all writes to every rule whatever its level (a
// debug_connection's lines).
func (l *Logger) writeRules(rules []errorLogRule, rank int, line []byte, all bool) {
	for _, r := range rules {
		switch {
		case rank > r.rank && !all:
		case r.peer != nil:
			// As ngx_syslog_writer: the line's level is the severity, and
			// a failed send is not logged (it would go to itself).
			r.peer.Send(min(rank, len(syslog.Severities)-1), time.Now(), line)
		case r.path == "stderr":
			os.Stderr.Write(line)
		default:
			if f := l.accessFile(r.path); f != nil {
				f.Write(line)
			}
		}
	}
}

// line formats one error log line.
func (l *Logger) line(level, msg string) []byte {
	b := make([]byte, 0, 64+len(msg))
	b = time.Now().AppendFormat(b, "2006/01/02 15:04:05")
	b = append(b, " ["...)
	b = append(b, level...)
	b = append(b, "] "...)
	// pid#tid: a process of gonginx logs as one thread, as nginx's does.
	b = append(b, l.pid...)
	b = append(b, '#')
	b = append(b, l.pid...)
	b = append(b, ": "...)
	b = append(b, msg...)
	// nginx writes a line into NGX_MAX_ERROR_STR (2048) bytes, the
	// newline included: a longer message is cut.
	if len(b) > maxErrorLine-1 {
		b = b[:maxErrorLine-1]
	}
	return append(b, '\n')
}

const maxErrorLine = 2048

// errorLogRule is one error_log line of a level: where, and the least
// severe level it takes.
type errorLogRule struct {
	path string       // absolute, or "stderr"
	peer *syslog.Peer // a "syslog:" log instead of a path
	rank int
}

// logLevels are nginx's error_log levels, most severe first.
var logLevels = []string{"emerg", "alert", "crit", "error", "warn", "notice", "info", "debug"}

func levelRank(level string) int {
	for i, l := range logLevels {
		if l == level {
			return i
		}
	}
	return len(logLevels)
}

// errorLog reads an http, server or location error_log line: a file
// (prefix-relative) or stderr, and a level (error by default).
func (c *compiler) errorLog(conf *locConf, d *nginxconf.Directive) error {
	if len(d.Args) == 0 {
		return nil
	}
	r := errorLogRule{path: d.Args[0], rank: levelRank("error")}
	switch {
	case strings.HasPrefix(r.path, "memory:"):
		// Not a file: its lines stay in the main log.
		return nil
	case strings.HasPrefix(r.path, "syslog:"):
		p, err := c.syslogPeer(d)
		if err != nil {
			return err
		}
		r.path, r.peer = "", p
	case r.path != "stderr":
		r.path = c.cfg.PrefixPath(r.path)
		// Opened by the master with the access logs (same file cache).
		if !slices.Contains(c.rt.AccessLogs, r.path) {
			c.rt.AccessLogs = append(c.rt.AccessLogs, r.path)
		}
	}
	if len(d.Args) > 1 {
		r.rank = levelRank(d.Args[1])
	}
	conf.errorLogs = append(conf.errorLogs, r)
	conf.errorLogsDebug = takenBy(conf.errorLogs, debugRank)
	return nil
}

// logTo writes a line at level to logs, or to the main logs when there
// are none.
func (l *Logger) logTo(logs []errorLogRule, level, msg string) {
	if l == nil {
		return
	}
	if len(logs) == 0 {
		l.Log(level, msg)
		return
	}
	rank := levelRank(level)
	if takenBy(logs, rank) {
		l.writeTo(logs, rank, l.line(level, msg))
	}
}

// logRejected logs a request the parser rejected, at info, as
// ngx_http_process_request_line and _headers do: the reason, where it
// was found, and for a repeated header both lines.
func (x *exchange) logRejected(perr *http1.Error) {
	rank := levelRank("info")
	if logs := x.conf().errorLogs; len(logs) > 0 && !takenBy(logs, rank) {
		return
	}
	r := x.req
	msg := perr.Msg
	switch perr {
	case http1.ErrDuplicateHost, http1.ErrDuplicateHeader:
		// The last header is the repeated one; the first of its name
		// came before.
		if n := len(r.Headers); n > 1 {
			last := r.Headers[n-1]
			for _, h := range r.Headers[:n-1] {
				if http1.EqualFold(h.Name, string(last.Name)) {
					msg += `: "` + string(last.Name) + ": " + string(last.Value) + `", previous value: "` +
						string(h.Name) + ": " + string(h.Value) + `"`
					break
				}
			}
		}
	case http1.ErrUnknownTE:
		msg += `: "` + string(r.HeaderValue("Transfer-Encoding")) + `"`
	case http1.ErrInvalidHeader:
		if hc, ok := x.c.(interface{ HeadLineAt(int) []byte }); ok {
			if line := hc.HeadLineAt(r.Parsed); len(line) > 0 {
				msg += `: "` + invalidHeaderText(line) + `"`
			}
		}
	case http1.ErrHeaderTooLarge:
		// ngx_http_process_request_headers shows the line from its start
		// to its buffer's end, at most NGX_MAX_ERROR_STR - 300 bytes.
		if hc, ok := x.c.(interface{ HeadRestAt(int) []byte }); ok {
			if rest := hc.HeadRestAt(r.Parsed); len(rest) > 0 && r.LongLineRoom > 0 {
				msg += `: "` + string(rest[:min(len(rest), r.LongLineRoom, 2048-300)]) + `..."`
			}
		}
	}
	if info := x.c.ConnInfo(); info != nil && info.HTTP2 != 0 && x.srv != nil {
		// An HTTP/2 stream's header block: nginx's stream log, with the
		// request line only where the check came after nginx built it
		// (ngx_http_process_request_header's, the method kept).
		client := ""
		if r.Conn != nil {
			client = r.Conn.RemoteAddr
		}
		host := r.HeaderValue("Host")
		if host == nil {
			host = x.streamHost
		}
		line := streamHeaderLine(x.connID, msg, client, x.srv.Name, nil)
		if len(r.Method) > 0 {
			line += ", request: \"" + string(appendRequestLine(nil, r)) + "\""
		}
		if host != nil {
			line += ", host: \"" + string(host) + "\""
		}
		x.log.logTo(x.conf().errorLogs, "info", line)
		return
	}
	if r.InRequestLine() {
		// ngx_http_set_keepalive names a request already buffered behind
		// the previous one "pipelined" until its line is read.
		if x.c.Pipelined() {
			msg += " while reading client pipelined request line"
		} else {
			msg += " while reading client request line"
		}
	} else {
		msg += " while reading client request headers"
	}
	x.log.Logf(x, "info", "%s", msg)
}

// logDroppedHeaders logs the header lines ignore_invalid_headers left
// out, at info, as ngx_http_process_request_headers does while it reads
// them: the host named only when its header came before the line.
func (x *exchange) logDroppedHeaders(r *http1.Request) {
	rank := levelRank("info")
	if logs := x.conf().errorLogs; len(logs) > 0 && !takenBy(logs, rank) {
		return
	}
	hc, ok := x.c.(interface{ HeadLineAt(int) []byte })
	if !ok {
		return
	}
	all := r.Headers
	for _, d := range r.Dropped {
		// nginx's header_end: the value without the spaces after it.
		line := bytes.TrimRight(hc.HeadLineAt(d.At), " ")
		r.Headers = all[:d.Headers]
		x.log.Logf(x, "info", "client sent invalid header line: \"%s\" while reading client request headers", line)
	}
	r.Headers = all
}

// invalidHeaderText is how nginx shows a header line it rejected: the
// bytes before the one at fault (a control byte or space in the name, a
// ':' that starts the line, a NUL in the value, a CR not followed by LF
// anywhere), that byte as \xNN, then "...".
func invalidHeaderText(line []byte) string {
	inName := true
	for i, ch := range line {
		if inName && ch == ':' && i > 0 {
			inName = false
			continue
		}
		if ch == 0 || ch == '\r' || inName && (ch <= 0x20 || ch == 0x7f || ch == ':') {
			return string(line[:i]) + `\x` + hex2(ch) + "..."
		}
	}
	return string(line)
}

func hex2(b byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[b>>4], digits[b&15]})
}

// Errorf logs a request error with nginx's context suffix.
func (l *Logger) Errorf(x *exchange, format string, args ...any) {
	l.Logf(x, "error", format, args...)
}

// Logf logs a request's line at level ("crit", "error", ...) with nginx's
// context suffix, to the error logs of the configuration the request
// runs under (the main log when it has none).
func (l *Logger) Logf(x *exchange, level, format string, args ...any) {
	if x != nil {
		l.logf(x, x.upstreamName, level, format, args...)
		return
	}
	l.logf(x, "", level, format, args...)
}

// LogTryErrorAside logs err, which names upstream, from another
// goroutine while the request's try runs (an HTTP/2 client's reset read
// by the connection's reader): it writes nothing of the request's.
func (x *exchange) LogTryErrorAside(err error, upstream string) {
	level := "error"
	var le interface{ LogLevel() string }
	if errors.As(err, &le) {
		level = le.LogLevel()
	}
	x.log.logf(x, upstream, level, "%v", err)
}

// logf is Logf naming upstream after ", upstream:" when it is not "".
func (l *Logger) logf(x *exchange, upstream, level, format string, args ...any) {
	if l == nil {
		return
	}
	var logs []errorLogRule
	if x != nil && x.srv != nil {
		logs = x.conf().errorLogs
	}
	rank := levelRank(level)
	all := x != nil && x.debugConn
	if len(logs) > 0 && !all {
		wanted := false
		for _, r := range logs {
			wanted = wanted || rank <= r.rank
		}
		if !wanted {
			return
		}
	}
	msg := fmt.Sprintf(format, args...)
	if x != nil && x.connID > 0 {
		msg = "*" + strconv.FormatUint(x.connID, 10) + " " + msg
	}
	if x != nil && x.req != nil {
		// A subrequest shares its main request's line; nginx names the
		// subrequest's URI after it.
		r := x.mainConn().Request()
		if x.auth.sending {
			msg += " while sending to client"
		}
		msg += ", client: "
		if r.Conn != nil {
			msg += r.Conn.RemoteAddr
		}
		if x.srv != nil {
			msg += ", server: " + x.srv.Name
		}
		if len(r.Method) == 0 && len(x.st.RequestLine) > 0 {
			msg += ", request: \"" + string(x.st.RequestLine) + "\""
		} else {
			msg += ", request: \"" + string(appendRequestLine(nil, r)) + "\""
		}
		if x.isSub() {
			msg += ", subrequest: \"" + string(x.req.URI) + "\""
		}
		switch {
		case upstream != "":
			msg += ", upstream: \"" + upstream + "\""
		case x.proxied && x.st.UpstreamLog != nil:
			msg += ", upstream: \"" + x.st.UpstreamLog.UpstreamLogName() + "\""
		case x.st.UpstreamName.Named():
			msg += ", upstream: \"" + string(x.st.UpstreamName.Append(nil)) + "\""
		}
		if h := r.HeaderValue("Host"); h != nil {
			msg += ", host: \"" + string(h) + "\""
		}
	}
	if len(logs) == 0 && !all {
		l.Log(level, msg)
		return
	}
	l.writeLine(logs, rank, l.line(level, msg), all)
}

// appendRequestLine appends $request: method, URI as sent, and protocol
// (absent for HTTP/0.9).
func appendRequestLine(b []byte, r *http1.Request) []byte {
	b = append(b, r.Method...)
	b = append(b, ' ')
	b = append(b, r.RequestTarget()...)
	if len(r.Proto) > 0 {
		b = append(b, ' ')
		b = append(b, r.Proto...)
	}
	return b
}

// accessFile returns the open access log for path, opening it once.
func (l *Logger) accessFile(path string) *os.File {
	l.amu.Lock()
	defer l.amu.Unlock()
	if f, ok := l.access[path]; ok {
		return f
	}
	if l.failed[path] {
		return nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		l.failed[path] = true
		l.Log("emerg", fmt.Sprintf("open() \"%s\" failed (%s)", path, nginxconf.ErrnoText(err)))
		return nil
	}
	l.access[path] = f
	return f
}

// SetOutput sends error lines to w from now on (a worker's inherited or
// reopened error log).
func (l *Logger) SetOutput(w io.Writer) {
	l.mu.Lock()
	l.w = w
	l.mu.Unlock()
}

// SetLevel drops lines less severe than level ("error" is nginx's
// default); "" keeps every line.
func (l *Logger) SetLevel(level string) {
	if strings.HasPrefix(level, "debug_") {
		level = "debug" // nginx's debug_http, debug_core...: debug lines
	}
	if r := levelRank(level); r < len(logLevels) {
		l.max.Store(int32(r) + 1)
	} else {
		l.max.Store(0)
	}
	l.noteDebug()
}

// Adopt makes f the open access log for path, as a worker does with the
// files its master opened (a worker running as "user" may not be allowed
// to open them). A file adopted before for path is closed.
func (l *Logger) Adopt(path string, f *os.File) {
	l.amu.Lock()
	if old := l.access[path]; old != nil && old != f {
		old.Close()
	}
	l.access[path] = f
	delete(l.failed, path)
	l.amu.Unlock()
}

// Reopen closes the access logs so the next line reopens them (SIGUSR1).
func (l *Logger) Reopen() {
	l.amu.Lock()
	for p, f := range l.access {
		f.Close()
		delete(l.access, p)
	}
	l.failed = map[string]bool{}
	l.amu.Unlock()
}

// Close closes the access logs.
func (l *Logger) Close() { l.Reopen() }

// logFormat is one log_format, compiled at config load: its strings are
// written one after the other, variables escaped with esc.
type logFormat struct {
	parts []*rewrite.Complex
	esc   rewrite.LogEscape
}

// combinedFormat is nginx's predefined "combined" format.
const combinedFormat = `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"`

// accessLogRule is one access_log line.
type accessLogRule struct {
	path      string           // absolute; when the path has no variables
	pathValue *rewrite.Complex // a path with variables, prefixed at load
	peer      *syslog.Peer     // a "syslog:" log instead of a path
	format    *logFormat
	cond      *rewrite.Complex // if=: no line when it is empty or "0"
	gzipLevel int              // gzip[=level]: lines go out as gzip members
	// lastError is when a variable path last failed to open (unix
	// seconds): nginx logs that once a minute per access_log line.
	lastError atomic.Int64
}

// compileFormat compiles the strings of a log_format (or combined).
func (c *compiler) compileFormat(d *nginxconf.Directive, args []string) (*logFormat, error) {
	f := &logFormat{}
	if len(args) > 0 {
		if v, ok := strings.CutPrefix(args[0], "escape="); ok {
			switch v {
			case "default":
			case "json":
				f.esc = rewrite.LogEscapeJSON
			case "none":
				f.esc = rewrite.LogEscapeNone
			default:
				return nil, confErr(d, "unknown log format escaping \"%s\"", v)
			}
			args = args[1:]
		}
	}
	for _, a := range args {
		cv, err := c.rc.Complex(a)
		if err != nil {
			if d != nil {
				return nil, rewrite.At(err, d)
			}
			return nil, err
		}
		f.parts = append(f.parts, cv)
	}
	return f, nil
}

func (c *compiler) formats() (map[string]*logFormat, error) {
	if c.logFormats == nil {
		combined, err := c.compileFormat(nil, []string{combinedFormat})
		if err != nil {
			return nil, err
		}
		c.logFormats = map[string]*logFormat{"combined": combined}
		c.logFormatNames = []string{"combined"}
	}
	return c.logFormats, nil
}

// logFormat compiles a log_format directive.
func (c *compiler) logFormat(d *nginxconf.Directive) error {
	formats, err := c.formats()
	if err != nil {
		return err
	}
	if len(d.Args) < 2 {
		return nil // nginxconf reports the argument count
	}
	if _, dup := formats[d.Args[0]]; dup {
		return confErr(d, `duplicate "log_format" name "%s"`, d.Args[0])
	}
	f, err := c.compileFormat(d, d.Args[1:])
	if err != nil {
		return err
	}
	formats[d.Args[0]] = f
	c.logFormatNames = append(c.logFormatNames, d.Args[0])
	return nil
}

// accessLog adds an access_log line to conf. buffer= and flush= are
// accepted and lines are written at once (nginx's output is the same once
// its buffer is flushed); with gzip each line is a gzip member of its own
// (nginx's a buffer's worth: zcat reads the same lines either way).
func (c *compiler) accessLog(conf *locConf, d *nginxconf.Directive) error {
	if len(d.Args) == 0 {
		return nil
	}
	if d.Args[0] == "off" {
		conf.accessOff = true
		return nil
	}
	formats, err := c.formats()
	if err != nil {
		return err
	}
	r := &accessLogRule{}
	if strings.HasPrefix(d.Args[0], "syslog:") {
		if r.peer, err = c.syslogPeer(d); err != nil {
			return err
		}
	} else if strings.Contains(d.Args[0], "$") {
		if r.pathValue, err = c.rc.Complex(c.cfg.PrefixPath(d.Args[0])); err != nil {
			return rewrite.At(err, d)
		}
	} else {
		r.path = c.cfg.PrefixPath(d.Args[0])
		if !slices.Contains(c.rt.AccessLogs, r.path) {
			c.rt.AccessLogs = append(c.rt.AccessLogs, r.path)
		}
	}
	name := "combined"
	if len(d.Args) >= 2 {
		name = d.Args[1]
	}
	c.combinedUsed = c.combinedUsed || name == "combined"
	// ngx_http_log_set_log takes the first format defined (combined is
	// the first) whose name matches caselessly, an exact match later or
	// not (log_format's duplicates are compared exactly).
	for _, n := range c.logFormatNames {
		if strings.EqualFold(n, name) {
			r.format = formats[n]
			break
		}
	}
	if r.format == nil {
		return confErr(d, "unknown log format \"%s\"", name)
	}
	for _, a := range d.Args[min(2, len(d.Args)):] {
		if v, ok := strings.CutPrefix(a, "if="); ok {
			if r.cond, err = c.rc.Complex(v); err != nil {
				return rewrite.At(err, d)
			}
		}
		if a == "gzip" {
			r.gzipLevel = 1
		} else if v, ok := strings.CutPrefix(a, "gzip="); ok {
			r.gzipLevel, _ = strconv.Atoi(v) // 1 to 9, checked by -t
		}
	}
	conf.accessLogs = append(conf.accessLogs, r)
	return nil
}

// writeAccessLogs writes the lines of conf's access_log rules for the
// request just served, as ngx_http_log_handler does at request end.
// Its first test is inlined at the callers (the rest is writeAccessLogsRun): the
// common case costs a test, not a call.
func (x *exchange) writeAccessLogs(conf *locConf) {
	if conf.accessOff || len(conf.accessLogs) == 0 {
		return
	}
	x.writeAccessLogsRun(conf)
}

// writeAccessLogsRun is writeAccessLogs past its first test.
func (x *exchange) writeAccessLogsRun(conf *locConf) {
	if conf.accessOff || len(conf.accessLogs) == 0 {
		return
	}
	s := &x.st
	s.Status = x.status
	total, header := x.c.BytesSent()
	s.BytesSent, s.BodyBytesSent = total, total-header
	if s.BodyBytesSent < 0 {
		s.BodyBytesSent = 0
	}
	s.RequestLength = x.c.RequestLength()
	// nginx clears r->keepalive before it logs a request whose connection
	// is kept (ngx_http_set_keepalive), so the log reads
	// $sent_http_connection "close" and no $sent_http_keep_alive.
	x.c.Sent().KeepAlive = false
	// nginx sets r->request_complete unless it terminates the request (a
	// body its backend cut short ends normally).
	s.RequestComplete = x.status != 499 && x.status != 408 && !x.c.Terminated()
	for _, r := range conf.accessLogs {
		if r.cond != nil {
			x.tmp = r.cond.Eval(s, x.tmp[:0])
			if len(x.tmp) == 0 || (len(x.tmp) == 1 && x.tmp[0] == '0') {
				continue
			}
		}
		var f *os.File
		varPath := ""
		switch {
		case r.pathValue != nil:
			x.tmp = r.pathValue.Eval(s, x.tmp[:0])
			varPath = string(x.tmp)
		case r.peer == nil:
			if f = x.log.accessFile(r.path); f == nil {
				continue
			}
		}
		b := x.tmp[:0]
		for _, p := range r.format.parts {
			b = p.EvalLog(s, b, r.format.esc)
		}
		b = append(b, '\n')
		x.tmp = b
		if r.peer != nil {
			x.sendSyslog(r.peer, b)
			continue
		}
		if r.pathValue != nil {
			if err := x.log.writeVarLog(conf.logCache, varPath, b); err != nil {
				x.logVarPathError(r, err)
			}
			continue
		}
		if r.gzipLevel > 0 {
			x.logGz = filter.AppendMember(x.logGz[:0], b, r.gzipLevel)
			b = x.logGz
		}
		f.Write(b)
	}
}

// syslogPeer reads a "syslog:" destination of d (checked by -t already);
// its socket is the configuration's, closed with it.
func (c *compiler) syslogPeer(d *nginxconf.Directive) (*syslog.Peer, error) {
	p, err := syslog.Parse(d.Args[0])
	if err != nil {
		return nil, confErr(d, "%s", err)
	}
	c.rt.syslogPeers = append(c.rt.syslogPeers, p)
	return p, nil
}

// sendSyslog sends an access log line, warning as ngx_http_log_handler
// does when it does not go out whole.
func (x *exchange) sendSyslog(p *syslog.Peer, line []byte) {
	err := p.Send(p.Severity(), time.Now(), line)
	var short *syslog.ShortWriteError
	switch {
	case err == nil:
	case errors.As(err, &short):
		x.log.Logf(x, "warn", "%s", err)
	default:
		x.log.Logf(x, "warn", "send() to syslog failed")
	}
}

// logVarPathError logs a variable access log path that failed to open,
// at most once a minute for the access_log line (ngx_http_log_write).
func (x *exchange) logVarPathError(r *accessLogRule, err error) {
	now := time.Now().Unix()
	if last := r.lastError.Load(); now-last > 59 && r.lastError.CompareAndSwap(last, now) {
		x.log.Logf(x, "crit", "%s", err)
	}
}
