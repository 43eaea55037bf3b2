// Package syslog sends log lines to a syslog server as nginx's
// ngx_syslog.c does: an RFC 3164 header ("<PRI>Mmm dd hh:mm:ss host tag: ")
// before each line, one datagram a line, over UDP or a unix datagram
// socket. The socket is connected at the first send and again after a
// send fails, so a syslog server that comes back is used again.
//
// It owns only the wire; which lines go to a peer (levels, formats,
// if=) is the logger's business (location's Logger).
package syslog

import (
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Facilities and Severities are nginx's names, in their numeric order
// (note "error"/"warn" as in nginx.conf, not syslog's "err"/"warning").
var (
	Facilities = []string{"kern", "user", "mail", "daemon", "auth", "intern", "lpr", "news", "uucp",
		"clock", "authpriv", "ftp", "ntp", "audit", "alert", "cron", "local0",
		"local1", "local2", "local3", "local4", "local5", "local6", "local7"}
	Severities = []string{"emerg", "alert", "crit", "error", "warn", "notice", "info", "debug"}
)

// Peer is one "syslog:" log destination.
type Peer struct {
	network, addr string // "udp" host:port, or "unixgram" path
	facility      int
	severity      int // of access log lines; error lines carry their level
	tag           string
	nohostname    bool

	mu   sync.Mutex
	conn net.Conn
	buf  []byte
}

// Parse reads a destination "syslog:server=ADDR[,facility=F][,severity=S]
// [,tag=T][,nohostname]" as ngx_syslog_process_conf does: facility local7,
// severity info and tag "nginx" by default, port 514. nginxconf's -t
// checks give the configuration's error messages; these are for callers
// that did not run them.
func Parse(dest string) (*Peer, error) {
	rest, ok := strings.CutPrefix(dest, "syslog:")
	if !ok {
		return nil, errors.New("not a syslog destination")
	}
	p := &Peer{facility: -1, severity: -1}
	for _, param := range strings.Split(rest, ",") {
		switch {
		case strings.HasPrefix(param, "server="):
			if p.addr != "" {
				return nil, errors.New(`duplicate syslog "server"`)
			}
			if err := p.setServer(param[len("server="):]); err != nil {
				return nil, err
			}
		case strings.HasPrefix(param, "facility="):
			if p.facility = index(Facilities, param[len("facility="):]); p.facility < 0 {
				return nil, errors.New("unknown syslog facility " + strconv.Quote(param[len("facility="):]))
			}
		case strings.HasPrefix(param, "severity="):
			if p.severity = index(Severities, param[len("severity="):]); p.severity < 0 {
				return nil, errors.New("unknown syslog severity " + strconv.Quote(param[len("severity="):]))
			}
		case strings.HasPrefix(param, "tag="):
			p.tag = param[len("tag="):]
		case param == "nohostname":
			p.nohostname = true
		default:
			return nil, errors.New("unknown syslog parameter " + strconv.Quote(param))
		}
	}
	if p.addr == "" {
		return nil, errors.New("no syslog server specified")
	}
	if p.facility < 0 {
		p.facility = 23 // local7
	}
	if p.severity < 0 {
		p.severity = 6 // info
	}
	if p.tag == "" {
		p.tag = "nginx"
	}
	return p, nil
}

// setServer resolves the server once, at load, as ngx_parse_url does
// (the first address of a name is used).
func (p *Peer) setServer(s string) error {
	if path, ok := strings.CutPrefix(s, "unix:"); ok {
		if path == "" {
			return errors.New("no path in the unix domain socket in syslog server " + strconv.Quote(s))
		}
		p.network, p.addr = "unixgram", path
		return nil
	}
	host, port := s, "514"
	if h, pt, err := net.SplitHostPort(s); err == nil {
		host, port = h, pt
	} else if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		host = s[1 : len(s)-1]
	}
	addr, err := net.ResolveUDPAddr("udp", net.JoinHostPort(host, port))
	if err != nil {
		return errors.New("host not found in syslog server " + strconv.Quote(s))
	}
	p.network, p.addr = "udp", addr.String()
	return nil
}

// Severity is the severity of access log lines sent to p.
func (p *Peer) Severity() int { return p.severity }

// Send sends line (without its newline) as one message of severity.
// A failed send closes the socket; the next send connects again.
func (p *Peer) Send(severity int, now time.Time, line []byte) error {
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conn == nil {
		c, err := net.Dial(p.network, p.addr)
		if err != nil {
			return err
		}
		p.conn = c
	}
	p.buf = append(p.AppendHeader(p.buf[:0], severity, now), line...)
	n, err := p.conn.Write(p.buf)
	if err != nil {
		p.conn.Close()
		p.conn = nil
		return err
	}
	if n != len(p.buf) {
		return &ShortWriteError{Wrote: n, Of: len(p.buf)}
	}
	return nil
}

// ShortWriteError is a datagram the kernel took only part of.
type ShortWriteError struct{ Wrote, Of int }

func (e *ShortWriteError) Error() string {
	return "send() to syslog has written only " + strconv.Itoa(e.Wrote) + " of " + strconv.Itoa(e.Of)
}

// AppendHeader appends ngx_syslog_add_header's PRI and HEADER parts:
// "<PRI>Mmm dd hh:mm:ss host tag: ", the time local, the host name
// lowercased.
func (p *Peer) AppendHeader(b []byte, severity int, now time.Time) []byte {
	b = append(b, '<')
	b = strconv.AppendInt(b, int64(p.facility*8+severity), 10)
	b = append(b, '>')
	b = now.AppendFormat(b, "Jan _2 15:04:05")
	b = append(b, ' ')
	if !p.nohostname {
		b = append(b, hostname()...)
		b = append(b, ' ')
	}
	b = append(b, p.tag...)
	return append(b, ": "...)
}

// Close closes the socket, if one is open.
func (p *Peer) Close() {
	p.mu.Lock()
	if p.conn != nil {
		p.conn.Close()
		p.conn = nil
	}
	p.mu.Unlock()
}

// hostname is ngx_cycle->hostname: gethostname(), lowercased.
var hostname = sync.OnceValue(func() string {
	h, _ := os.Hostname()
	return strings.ToLower(h)
})

func index(names []string, name string) int {
	for i, n := range names {
		if n == name {
			return i
		}
	}
	return -1
}
