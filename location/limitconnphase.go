package location

import (
	"strconv"
	"strings"
	"time"

	"github.com/gonginx/gonginx/location/limit"
	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/upstream"
)

// connZone is a limit_conn_zone: its key and memory.
type connZone struct {
	key  *rewrite.Complex
	text string
	zone *limit.Zone
}

// limitConnConf is a level's limit_conn settings; a level with limit_conn
// lines replaces the list it inherited (ngx_http_limit_conn_merge_conf).
type limitConnConf struct {
	owner  *locConf
	limits []limit.Conn
	zones  []*connZone
	level  string // limit_conn_log_level; "" is "error"
	status int    // limit_conn_status; 0 is 503
	dryRun bool
}

// $limit_conn_status values.
var limitConnStatusText = [...]string{"", "PASSED", "REJECTED", "REJECTED_DRY_RUN"}

const (
	lconnPassed = iota + 1
	lconnRejected
	lconnRejectedDryRun
)

// connZoneDirective reads a limit_conn_zone line (values -t checked).
func (c *compiler) connZoneDirective(d *nginxconf.Directive) error {
	z := &connZone{text: d.Args[0]}
	var name string
	var size int64
	for _, a := range d.Args[1:] {
		if v, ok := strings.CutPrefix(a, "zone="); ok {
			n, sz, _ := strings.Cut(v, ":")
			name = n
			size, _ = nginxconf.ParseSize(sz)
		}
	}
	var err error
	if z.key, z.zone, err = c.declareZone(d, name, size); err != nil {
		return err
	}
	if c.connZones == nil {
		c.connZones = map[string]*connZone{}
	}
	c.connZones[name] = z
	c.rt.ordersFirst = true
	return nil
}

// limitConnDirective applies limit_conn, limit_conn_log_level,
// limit_conn_status or limit_conn_dry_run.
func (c *compiler) limitConnDirective(conf *locConf, d *nginxconf.Directive) error {
	lc := &conf.limitConn
	switch d.Name {
	case "limit_conn_log_level":
		lc.level = d.Args[0]
	case "limit_conn_status":
		lc.status, _ = strconv.Atoi(d.Args[0])
	case "limit_conn_dry_run":
		lc.dryRun = onOff(d)
	case "limit_conn":
		if len(d.Args) != 2 {
			return nil
		}
		if lc.owner != conf {
			lc.owner, lc.limits, lc.zones = conf, nil, nil
		}
		z := c.connZones[d.Args[0]]
		if z == nil {
			// As limit_req: nginxconf.Check reports it.
			if !c.opts.Serving {
				return nil
			}
			return &nginxconf.Error{Msg: "zero size shared memory zone \"" + d.Args[0] + "\""}
		}
		n, _ := strconv.Atoi(d.Args[1])
		lc.limits = append(lc.limits[:len(lc.limits):len(lc.limits)], limit.Conn{Zone: z.zone, Max: int32(n)})
		lc.zones = append(lc.zones[:len(lc.zones):len(lc.zones)], z)
	}
	return nil
}

// limitConn is ngx_http_limit_conn_handler at the preaccess phase (after
// limit_req): the main request is counted in each zone until it ends
// (endLimitConn), once, whatever redirects and subrequests follow.
// Its first test is inlined at the callers (the rest is limitConnRun): a
// request the module has nothing to do for costs a test, not a call.
func (x *exchange) limitConn(conf *locConf) int {
	if len(conf.limitConn.limits) == 0 {
		return 0
	}
	return x.limitConnRun(conf)
}

// limitConnRun is limitConn past its first test.
func (x *exchange) limitConnRun(conf *locConf) int {
	lc := &conf.limitConn
	if len(lc.limits) == 0 {
		return 0
	}
	m := x.mainExchange()
	if x.beside {
		// Subrequests beside the page count it one at a time.
		m.mainMu.Lock()
		defer m.mainMu.Unlock()
	}
	if m.mods.limitConn != 0 {
		return 0
	}
	if m.order != nil {
		// nginx's one event loop counts the first requests of
		// connections in the order they came: ours wait for those of
		// connections accepted earlier.
		m.order.WaitEarlier()
	}
	for i := range lc.limits {
		z := lc.zones[i]
		key := z.key.Eval(&x.st, x.mods.limitKeys.key[:0])
		x.mods.limitKeys.key = key
		if len(key) == 0 {
			continue
		}
		if len(key) > 255 {
			x.log.Logf(x, "error", "the value of the \"%s\" key is more than 255 bytes: \"%s\"", z.text, key)
			continue
		}
		m.mods.limitConn = lconnPassed
		h, res := lc.limits[i].Acquire(key)
		if res == limit.Rejected && upstream.SettleAborts() {
			h, res = x.acquireAfterAborts(&lc.limits[i], key)
		}
		if res == limit.Passed {
			m.mods.connHeld = append(m.mods.connHeld, h)
			continue
		}
		if res == limit.Rejected {
			level, dry := lc.level, ""
			if level == "" {
				level = "error"
			}
			if lc.dryRun {
				dry = ", dry run,"
			}
			x.log.Logf(x, level, "limiting connections%s by zone \"%s\"", dry, z.zone.Name)
		} else {
			x.log.Logf(x, "alert", "could not allocate node in limit_conn zone \"%s\"", z.zone.Name)
		}
		m.endLimitConn()
		if lc.dryRun {
			m.mods.limitConn = lconnRejectedDryRun
			return 0
		}
		m.mods.limitConn = lconnRejected
		if lc.status == 0 {
			return 503
		}
		return lc.status
	}
	return 0
}

// acquireAfterAborts tries again while requests whose clients hung up
// are still ending: nginx, handling events in order, would have ended
// them (and their counts) on the hang-up, before it read this request.
// Bounded: a refusal is late by at most abortSettleTime.
func (x *exchange) acquireAfterAborts(lim *limit.Conn, key []byte) (limit.Held, limit.Result) {
	deadline := time.Now().Add(abortSettleTime)
	for {
		ending := upstream.SettleAborts()
		time.Sleep(time.Millisecond)
		h, res := lim.Acquire(key)
		if res != limit.Rejected || !ending || time.Now().After(deadline) {
			return h, res
		}
	}
}

const abortSettleTime = 100 * time.Millisecond

// Ordered is a connection's place among the first requests of the
// connections accepted before it (location/server keeps the order).
type Ordered interface {
	// WaitEarlier returns once every connection accepted before this
	// one has had its first request pass the preaccess phase, has shown
	// no request yet, or has ended (or after a bound).
	WaitEarlier()
	// Pass says this connection's first request passed the preaccess
	// phase (or ended before it).
	Pass()
}

// OrdersFirst reports whether the first requests of connections must be
// ordered as accepted (the configuration counts connections).
func (rt *Router) OrdersFirst() bool { return rt.ordersFirst }

// passOrder lets the connections accepted after this one go on.
func (x *exchange) passOrder() {
	x.order.Pass()
	x.order = nil
}

// endLimitConn ends the counts of the request (nginx's pool cleanup).
// Its first test is inlined at the callers (the rest is endLimitConnRun): a
// request the module has nothing to do for costs a test, not a call.
func (x *exchange) endLimitConn() {
	if len(x.mods.connHeld) == 0 {
		return
	}
	x.endLimitConnRun()
}

// endLimitConnRun is endLimitConn past its first test.
func (x *exchange) endLimitConnRun() {
	for i, h := range x.mods.connHeld {
		h.Release()
		x.mods.connHeld[i] = limit.Held{}
	}
	x.mods.connHeld = x.mods.connHeld[:0]
}

// addLimitConnVariables defines $limit_conn_status.
func addLimitConnVariables(rc *rewrite.Compiler) {
	rc.AddVariable("limit_conn_status", func(s *rewrite.State, dst []byte) []byte {
		x, ok := s.Files.(*exchange)
		if !ok || s.Req == nil {
			return dst
		}
		if st := x.mainExchange().mods.limitConn; st != 0 {
			return append(dst, limitConnStatusText[st]...)
		}
		return dst
	})
}
