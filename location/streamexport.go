package location

import (
	"crypto/tls"
	"os"
	"slices"
	"strings"

	"github.com/gonginx/gonginx/location/syslog"
	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/upstream"
)

// What package location/stream shares with the HTTP side: the logger's
// files, error_log rules, and the sockets the master binds.

// StreamConfig is a compiled stream{} block (package location/stream),
// carried by the Router so that the master binds its sockets and the
// server serves them.
type StreamConfig interface {
	// Listens are its sockets, one per socket.
	Listens() []*Listen
	// Groups are its upstream{} blocks and implicit groups.
	Groups() *upstream.Groups
}

// MailConfig is a compiled mail{} block (package location/mail), carried
// by the Router so that the master binds its sockets and the server
// serves them.
type MailConfig interface {
	// Listens are its sockets, one per socket.
	Listens() []*Listen
}

// Listens returns every socket of the configuration: the http{} ones,
// then the stream{} ones, then the mail{} ones.
func (rt *Router) Listens() []*Listen {
	out := make([]*Listen, 0, len(rt.Sockets))
	for _, s := range rt.Sockets {
		out = append(out, s.Listen)
	}
	if rt.Stream != nil {
		out = append(out, rt.Stream.Listens()...)
	}
	if rt.Mail != nil {
		out = append(out, rt.Mail.Listens()...)
	}
	return out
}

// AccessFile returns the open log file for path (absolute), opening it
// once; nil when it cannot be opened (logged once).
func (l *Logger) AccessFile(path string) *os.File { return l.accessFile(path) }

// ErrorLog is one error_log line of a stream{} or server{} level.
type ErrorLog struct{ rule errorLogRule }

// CompileErrorLog reads an error_log line of a stream level: a file
// (prefix-relative) or stderr or syslog:, and a level (error by
// default); the file joins rt's logs the master opens.
func CompileErrorLog(cfg *nginxconf.Config, rt *Router, d *nginxconf.Directive) (*ErrorLog, error) {
	if len(d.Args) == 0 || strings.HasPrefix(d.Args[0], "memory:") {
		return nil, nil
	}
	r := errorLogRule{path: d.Args[0], rank: levelRank("error")}
	switch {
	case strings.HasPrefix(r.path, "syslog:"):
		p, err := syslog.Parse(d.Args[0])
		if err != nil {
			return nil, confErr(d, "%s", err)
		}
		rt.syslogPeers = append(rt.syslogPeers, p)
		r.path, r.peer = "", p
	case r.path != "stderr":
		r.path = cfg.PrefixPath(r.path)
		if !slices.Contains(rt.AccessLogs, r.path) {
			rt.AccessLogs = append(rt.AccessLogs, r.path)
		}
	}
	if len(d.Args) > 1 {
		r.rank = levelRank(d.Args[1])
	}
	return &ErrorLog{rule: r}, nil
}

// LogTo writes msg at level to logs, or to the main error logs when
// there are none (a level without error_log).
func (l *Logger) LogTo(logs []*ErrorLog, level, msg string) {
	if len(logs) == 0 {
		l.Log(level, msg)
		return
	}
	rank := levelRank(level)
	rules := make([]errorLogRule, 0, len(logs))
	for _, e := range logs {
		if rank <= e.rule.rank {
			rules = append(rules, e.rule)
		}
	}
	if len(rules) > 0 {
		l.writeTo(rules, rank, l.line(level, msg))
	}
}

// TakesDebug tells whether logs (the main logs when there are none)
// take debug lines, so a caller formats them only then.
func (l *Logger) TakesDebug(logs []*ErrorLog) bool {
	if len(logs) == 0 {
		return l.takesDebug()
	}
	for _, e := range logs {
		if debugRank <= e.rule.rank {
			return true
		}
	}
	return false
}

// AddSyslogPeer makes p part of rt: closed with the configuration.
func (rt *Router) AddSyslogPeer(p *syslog.Peer) { rt.syslogPeers = append(rt.syslogPeers, p) }

// AddAccessLog adds an access_log path (absolute) for the master to open.
func (rt *Router) AddAccessLog(path string) {
	if !slices.Contains(rt.AccessLogs, path) {
		rt.AccessLogs = append(rt.AccessLogs, path)
	}
}

// Config returns the configuration rt was compiled from.
func (rt *Router) Config() *nginxconf.Config { return rt.cfg }

// LoadCertPair loads a certificate and its key as ssl_certificate and
// ssl_certificate_key do (an encrypted key tried with each password),
// with nginx's messages.
func LoadCertPair(certPath, keyPath string, passwords []string) (tls.Certificate, error) {
	return loadPair(certPath, keyPath, passwords)
}

// CertSecurityCheck is the security check OpenSSL makes of a server's
// certificate file as it is loaded at start, at the security level of
// the server's ssl_ciphers.
func CertSecurityCheck(certPath, ciphers string) error { return certSecurityCheck(certPath, ciphers) }

// OpenSSLCipherName is OpenSSL's name of a cipher suite ($ssl_cipher).
func OpenSSLCipherName(id uint16) string { return opensslCipherNames[id] }

// TicketSeed is the seed session ticket keys derive from (the master's,
// so its workers agree; random when none was given).
func (rt *Router) TicketSeed() []byte { return rt.ticketSeed }

// Takes tells whether logs (the main logs when there are none) take
// lines of level: nginx's c->log->log_level check before work done only
// for a log line.
func (l *Logger) Takes(logs []*ErrorLog, level string) bool {
	rank := levelRank(level)
	if len(logs) == 0 {
		if l == nil {
			return false
		}
		if m := l.max.Load(); m == 0 || int32(rank) < m {
			return true
		}
		if p := l.mainLogs.Load(); p != nil {
			return takenBy(*p, rank)
		}
		return false
	}
	for _, e := range logs {
		if rank <= e.rule.rank {
			return true
		}
	}
	return false
}
