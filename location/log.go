package location

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/gonginx/gonginx/rewrite/http1"
)

// Logger writes nginx-format error log lines
// ("2026/11/27 10:00:00 [error] 123#0: *1 msg, client: ..., server: ...")
// and access log lines in the combined format.
type Logger struct {
	mu  sync.Mutex
	w   io.Writer
	pid string

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

// Log writes one line at level ("emerg", "warn", "notice", ...).
func (l *Logger) Log(level, msg string) {
	if l == nil {
		return
	}
	b := make([]byte, 0, 64+len(msg))
	b = time.Now().AppendFormat(b, "2006/01/02 15:04:05")
	b = append(b, " ["...)
	b = append(b, level...)
	b = append(b, "] "...)
	b = append(b, l.pid...)
	b = append(b, "#0: "...)
	b = append(b, msg...)
	b = append(b, '\n')
	l.mu.Lock()
	l.w.Write(b)
	l.mu.Unlock()
}

// Errorf logs a request error with nginx's context suffix.
func (l *Logger) Errorf(x *exchange, format string, args ...any) {
	if l == nil {
		return
	}
	msg := fmt.Sprintf(format, args...)
	if x != nil && x.connID > 0 {
		msg = "*" + strconv.FormatUint(x.connID, 10) + " " + msg
	}
	if x != nil && x.req != nil {
		r := x.req
		msg += ", client: "
		if r.Conn != nil {
			msg += r.Conn.RemoteAddr
		}
		if x.srv != nil {
			msg += ", server: " + x.srv.Name
		}
		msg += ", request: \"" + string(appendRequestLine(nil, r)) + "\""
		if h := r.HeaderValue("Host"); h != nil {
			msg += ", host: \"" + string(h) + "\""
		}
	}
	l.Log("error", msg)
}

// appendRequestLine appends $request: method, URI as sent, and protocol
// (absent for HTTP/0.9).
func appendRequestLine(b []byte, r *http1.Request) []byte {
	b = append(b, r.Method...)
	b = append(b, ' ')
	b = append(b, r.RawURI...)
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
		l.Log("emerg", fmt.Sprintf("open() %q failed (%s)", path, errnoText(err)))
		return nil
	}
	l.access[path] = f
	return f
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

// appendCombined formats nginx's "combined" access log line.
func appendCombined(b []byte, x *exchange, now time.Time) []byte {
	r := x.req
	if r.Conn != nil {
		b = append(b, r.Conn.RemoteAddr...)
	}
	b = append(b, " - - ["...)
	b = now.AppendFormat(b, "02/Jan/2006:15:04:05 -0700")
	b = append(b, "] \""...)
	b = appendRequestLine(b, r)
	b = append(b, "\" "...)
	b = strconv.AppendInt(b, int64(x.status), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, x.sent, 10)
	b = append(b, " \""...)
	b = appendOrDash(b, r.HeaderValue("Referer"))
	b = append(b, "\" \""...)
	b = appendOrDash(b, r.HeaderValue("User-Agent"))
	b = append(b, "\"\n"...)
	return b
}

func appendOrDash(b, v []byte) []byte {
	if len(v) == 0 {
		return append(b, '-')
	}
	return append(b, v...)
}

// errnoText renders an error as nginx does: "2: No such file or directory".
func errnoText(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return strconv.Itoa(int(errno)) + ": " + errnoMessage(errno)
	}
	return err.Error()
}

func errnoMessage(e syscall.Errno) string {
	s := e.Error()
	if s == "" {
		return s
	}
	// Go's texts are lowercase; glibc's start with a capital.
	if s[0] >= 'a' && s[0] <= 'z' {
		return string(s[0]-'a'+'A') + s[1:]
	}
	return s
}

// remoteIP parses the client address once per check into scratch.
func remoteIP(addr string, scratch *[]byte) net.IP {
	ip := net.ParseIP(addr)
	if v4 := ip.To4(); v4 != nil {
		return v4
	}
	return ip
}

// parseHTTPTime reads an IMF-fixdate (and the two obsolete forms).
func parseHTTPTime(b []byte) (int64, bool) {
	s := string(b)
	for _, layout := range []string{time.RFC1123, time.RFC850, time.ANSIC} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.Unix(), true
		}
	}
	return 0, false
}
