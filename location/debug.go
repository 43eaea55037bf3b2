package location

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/gonginx/gonginx/nginxconf"
)

// Debug logging. nginx built --with-debug (Debian's is) writes [debug]
// lines to an error_log of level debug, and to every error log of a
// connection from a debug_connection address. gonginx writes the lines an
// operator reads to follow a request: its request line, URI, arguments and
// headers, the location chosen, its end (status) and the connection's
// close. nginx's trace of its own internals (buffers, timers, event
// calls) has no counterpart here and is not written. A request decides
// once, at each stage, whether anything takes debug lines: a few branches
// when nothing does.

const debugRank = 7 // levelRank("debug")

// DebugConnections is events{}'s debug_connection list: addresses and
// networks, and whether "unix:" named connections over unix sockets.
type DebugConnections struct {
	Prefixes []netip.Prefix
	Unix     bool
}

// Match tells whether a client address ("1.2.3.4", "::1", "unix:")
// is one to debug.
func (d *DebugConnections) Match(remote string) bool {
	if d == nil {
		return false
	}
	if strings.HasPrefix(remote, "unix:") {
		return d.Unix
	}
	a, err := netip.ParseAddr(remote)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range d.Prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// debugConnections reads events{}'s debug_connection lines: an address,
// a CIDR network, "unix:" (a host name is resolved by nginx at load;
// here it is refused by -t's checks when it is not an address).
func debugConnections(events *nginxconf.Directive) *DebugConnections {
	var d *DebugConnections
	for _, e := range events.Block {
		if e.Name != "debug_connection" || len(e.Args) != 1 {
			continue
		}
		if d == nil {
			d = &DebugConnections{}
		}
		v := e.Args[0]
		if v == "unix:" {
			d.Unix = true
			continue
		}
		if p, err := netip.ParsePrefix(v); err == nil {
			d.Prefixes = append(d.Prefixes, p.Masked())
		} else if a, err := netip.ParseAddr(v); err == nil {
			d.Prefixes = append(d.Prefixes, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	return d
}

// SetDebugConnection marks the connection as one of debug_connection's:
// every line of its requests, debug ones too, goes to every error log.
func (h Conn) SetDebugConnection(on bool) { h.x.debugConn = on }

// debugWanted tells whether the error logs in force take debug lines.
func (x *exchange) debugWanted() bool {
	if x.debugConn {
		return true
	}
	if x.srv != nil {
		// Both answers made when the logs were set (three asks per
		// request looked through the rules).
		if conf := x.conf(); len(conf.errorLogs) > 0 {
			return conf.errorLogsDebug
		}
	}
	return x.log.takesDebug()
}

// takesDebug tells whether the main context's logs take debug lines.
func (l *Logger) takesDebug() bool { return l != nil && l.debugAny.Load() }

// noteDebug makes debugAny again from the level and the main logs.
func (l *Logger) noteDebug() {
	// Only a level of debug: a Logger never given one (0, every line
	// but these) writes none.
	on := l.max.Load() > debugRank
	if p := l.mainLogs.Load(); !on && p != nil {
		on = takenBy(*p, debugRank)
	}
	l.debugAny.Store(on)
}

// debug writes a [debug] line for the request's connection (no context
// suffix: nginx writes none at debug). Callers check debugWanted first.
func (x *exchange) debug(msg string) {
	line := x.log.line("debug", "*"+strconv.FormatUint(x.connID, 10)+" "+msg)
	var logs []errorLogRule
	if x.srv != nil {
		logs = x.conf().errorLogs
	}
	x.log.writeLine(logs, debugRank, line, x.debugConn)
}

// writeLine writes a formatted line at rank to logs (the main logs when
// there are none); all writes it to every one whatever its level, as a
// debug_connection's lines are.
func (l *Logger) writeLine(logs []errorLogRule, rank int, line []byte, all bool) {
	if len(logs) > 0 {
		l.writeRules(logs, rank, line, all)
		return
	}
	m := l.max.Load()
	if all || m == 0 || int32(rank) < m {
		l.mu.Lock()
		l.w.Write(line)
		l.mu.Unlock()
	}
	if p := l.mainLogs.Load(); p != nil {
		l.writeRules(*p, rank, line, all)
	}
}

// debugRequest writes the request's head as nginx's debug lines name it.
func (x *exchange) debugRequest() {
	r := x.req
	x.debug("http request line: \"" + string(appendRequestLine(nil, r)) + "\"")
	x.debug("http uri: \"" + string(r.URI) + "\"")
	x.debug("http args: \"" + string(r.Args) + "\"")
	for _, h := range r.Headers {
		x.debug("http header: \"" + string(h.Name) + ": " + string(h.Value) + "\"")
	}
	x.debug("http header done")
}

// debugLocation names the configuration a request runs under.
func (x *exchange) debugLocation(loc *Location) {
	name := "no location"
	if loc != nil && loc.Name != "" {
		name = loc.Name
	}
	x.debug("using configuration \"" + name + "\"")
}

// debugEnd writes the request's end.
func (x *exchange) debugEnd() {
	if x.req == nil {
		return
	}
	x.debug("http finalize request: " + strconv.Itoa(x.status) + ", \"" + string(x.req.URI) + "?" + string(x.req.Args) + "\"")
	x.debug("http log handler")
	x.debug("http close request")
}
