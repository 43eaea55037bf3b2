package location

import (
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gonginx/gonginx/location/limit"
	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite"
)

// reqZone is a limit_req_zone: its key, rate and memory.
type reqZone struct {
	key  *rewrite.Complex
	text string // the key as written, for the too-long-key message
	rate int64  // requests per 1000 s
	zone *limit.Zone
}

// ZoneSpec is a shared zone a configuration declares.
type ZoneSpec struct {
	ID   string // limit.ZoneID: module, size and name
	Name string
	Size int
}

// limitReqConf is a level's limit_req settings; a level with limit_req
// lines replaces the list it inherited (ngx_http_limit_req_merge_conf).
type limitReqConf struct {
	owner  *locConf
	limits []limit.Req
	zones  []*reqZone
	level  string // limit_req_log_level; "" is "error"
	status int    // limit_req_status; 0 is 503
	dryRun bool
}

// $limit_req_status values (index into limitReqStatusText).
const (
	lreqPassed = iota + 1
	lreqDelayed
	lreqRejected
	lreqDelayedDryRun
	lreqRejectedDryRun
)

var limitReqStatusText = [...]string{"", "PASSED", "DELAYED", "REJECTED", "DELAYED_DRY_RUN", "REJECTED_DRY_RUN"}

// limitZones reads the http block's limit_req_zone lines (values -t
// checked) before any limit_req names them, as nginx finds a zone
// declared after its use.
func (c *compiler) limitZones(block []*nginxconf.Directive) error {
	for _, d := range block {
		if d.Name == "limit_conn_zone" && len(d.Args) == 2 {
			if err := c.connZoneDirective(d); err != nil {
				return err
			}
			continue
		}
		if d.Name != "limit_req_zone" || len(d.Args) < 3 {
			continue
		}
		z := &reqZone{text: d.Args[0]}
		var name string
		var size int64
		for _, a := range d.Args[1:] {
			switch {
			case strings.HasPrefix(a, "zone="):
				n, sz, _ := strings.Cut(a[5:], ":")
				name = n
				size, _ = nginxconf.ParseSize(sz)
			case strings.HasPrefix(a, "rate="):
				v, scale := a[5:], int64(1)
				if s, ok := strings.CutSuffix(v, "r/s"); ok {
					v = s
				} else if s, ok := strings.CutSuffix(v, "r/m"); ok {
					v, scale = s, 60
				}
				r, _ := strconv.ParseInt(v, 10, 64)
				z.rate = r * 1000 / scale
			}
		}
		if z.rate <= 0 {
			z.rate = 1000 // nginx's default of 1r/s
		}
		var err error
		if z.key, z.zone, err = c.declareZone(d, name, size); err != nil {
			return err
		}
		if c.reqZones == nil {
			c.reqZones = map[string]*reqZone{}
		}
		c.reqZones[name] = z
	}
	return nil
}

// declareZone is what limit_req_zone and limit_conn_zone share: the key
// compiled, the zone taken from the registry (kept across reloads) and
// listed for the master to share with its workers.
func (c *compiler) declareZone(d *nginxconf.Directive, name string, size int64) (*rewrite.Complex, *limit.Zone, error) {
	key, err := c.rc.Complex(d.Args[0])
	if err != nil {
		return nil, nil, rewrite.At(err, d)
	}
	zone, err := c.opts.Zones.Zone(d.Name, name, d.Args[0], int(size))
	if err != nil {
		return nil, nil, &nginxconf.Error{Msg: err.Error()}
	}
	c.rt.Zones = append(c.rt.Zones, ZoneSpec{ID: limit.ZoneID(d.Name, name, int(size)), Name: name, Size: int(size)})
	return key, zone, nil
}

// limitReqDirective applies limit_req, limit_req_log_level,
// limit_req_status or limit_req_dry_run.
func (c *compiler) limitReqDirective(conf *locConf, d *nginxconf.Directive) error {
	lr := &conf.limitReq
	switch d.Name {
	case "limit_req_log_level":
		lr.level = d.Args[0]
	case "limit_req_status":
		lr.status, _ = strconv.Atoi(d.Args[0])
	case "limit_req_dry_run":
		lr.dryRun = onOff(d)
	case "limit_req":
		if lr.owner != conf {
			lr.owner, lr.limits, lr.zones = conf, nil, nil
		}
		var l limit.Req
		var z *reqZone
		for _, a := range d.Args {
			switch {
			case strings.HasPrefix(a, "zone="):
				z = c.reqZones[a[5:]]
			case strings.HasPrefix(a, "burst="):
				n, _ := strconv.ParseInt(a[6:], 10, 64)
				l.Burst = n * 1000
			case strings.HasPrefix(a, "delay="):
				n, _ := strconv.ParseInt(a[6:], 10, 64)
				l.Delay = n * 1000
			case a == "nodelay":
				l.Delay = (1<<63 - 1) / 1000 * 1000
			}
		}
		if z == nil {
			// nginxconf.Check reports the zone with no size after -t's
			// "syntax is ok", as nginx; serving never runs without it.
			if !c.opts.Serving {
				return nil
			}
			name := ""
			for _, a := range d.Args {
				if n, ok := strings.CutPrefix(a, "zone="); ok {
					name = n
				}
			}
			return &nginxconf.Error{Msg: "zero size shared memory zone \"" + name + "\""}
		}
		l.Zone, l.Rate = z.zone, z.rate
		lr.limits = append(lr.limits[:len(lr.limits):len(lr.limits)], l)
		lr.zones = append(lr.zones[:len(lr.zones):len(lr.zones)], z)
	}
	return nil
}

// limitKeys evaluates the zones' keys for limit.Check, with no closure
// to allocate per request.
type limitKeys struct {
	x    *exchange
	conf *limitReqConf
	key  []byte
}

func (k *limitKeys) Key(i int) ([]byte, error) {
	z, x := k.conf.zones[i], k.x
	k.key = z.key.Eval(&x.st, k.key[:0])
	if len(k.key) > 65535 {
		x.log.Logf(x, "error", "the value of the \"%s\" key is more than 65535 bytes: \"%s\"", z.text, k.key)
		return nil, nil
	}
	return k.key, nil
}

// limitReq is ngx_http_limit_req_handler at the preaccess phase: the
// main request is limited once, an internal redirect or a subrequest
// after it is not. It returns the status to finish with, or 0.
// Its first test is inlined at the callers (the rest is limitReqRun): a
// request the module has nothing to do for costs a test, not a call.
func (x *exchange) limitReq(conf *locConf) int {
	if len(conf.limitReq.limits) == 0 {
		return 0
	}
	return x.limitReqRun(conf)
}

// limitReqRun is limitReq past its first test.
func (x *exchange) limitReqRun(conf *locConf) int {
	lr := &conf.limitReq
	if len(lr.limits) == 0 {
		return 0
	}
	m := x.mainExchange()
	if x.beside {
		// Subrequests beside the page decide it one at a time.
		m.mainMu.Lock()
	}
	rc, delay := x.limitReqCheck(lr, m)
	if x.beside {
		m.mainMu.Unlock()
	}
	if delay <= 0 {
		return rc
	}
	// The request waits, then goes on through the phases; a client that
	// goes away meanwhile ends it (ngx_http_test_reading).
	x.passTurn()
	x.waits()
	if x.waitClient(delay) {
		x.log.Logf(x, "info", "client prematurely closed connection")
		return 499
	}
	return 0
}

// limitReqCheck is limitReq's decision: a status to finish with, or how
// long the request waits first.
func (x *exchange) limitReqCheck(lr *limitReqConf, m *exchange) (int, time.Duration) {
	if m.mods.limitReq != 0 {
		return 0, 0
	}
	x.mods.limitKeys.x, x.mods.limitKeys.conf = x, lr
	out, err := limit.Check(lr.limits, &x.mods.limitKeys)
	x.mods.limitKeys = limitKeys{key: x.mods.limitKeys.key}
	if err != nil {
		return 500, 0
	}
	level := lr.level
	if level == "" {
		level = "error"
	}
	dry := ""
	if lr.dryRun {
		dry = ", dry run"
	}
	excess := func() string {
		return strconv.FormatInt(out.Excess/1000, 10) + "." + pad3(out.Excess%1000)
	}
	switch out.Result {
	case limit.Declined:
		return 0, 0
	case limit.Rejected, limit.Failed:
		if out.Result == limit.Rejected {
			x.log.Logf(x, level, "limiting requests%s, excess: %s by zone \"%s\"", dry, excess(), lr.limits[out.Limit].Zone.Name)
		} else {
			x.log.Logf(x, "alert", "could not allocate node in limit_req zone \"%s\"", lr.limits[out.Limit].Zone.Name)
		}
		if lr.dryRun {
			m.mods.limitReq = lreqRejectedDryRun
			return 0, 0
		}
		m.mods.limitReq = lreqRejected
		if lr.status == 0 {
			return 503, 0
		}
		return lr.status, 0
	case limit.Passed:
		m.mods.limitReq = lreqPassed
		return 0, 0
	}
	x.log.Logf(x, delayLevel(level), "delaying request%s, excess: %s, by zone \"%s\"", dry, excess(), lr.limits[out.Limit].Zone.Name)
	if lr.dryRun {
		m.mods.limitReq = lreqDelayedDryRun
		return 0, 0
	}
	m.mods.limitReq = lreqDelayed
	if m.order != nil {
		m.passOrder() // a delayed request holds no count: others go on
	}
	return 0, time.Duration(out.Delay) * time.Millisecond
}

// waitClient sleeps d, looking at the client's socket every 100ms as
// nginx's read event would tell it: true when the client closed it.
func (x *exchange) waitClient(d time.Duration) (gone bool) {
	var raw syscall.RawConn
	if x.c != nil {
		raw, _ = x.c.Socket()
	}
	end := time.Now().Add(d)
	for {
		left := time.Until(end)
		if left <= 0 {
			return false
		}
		time.Sleep(min(left, 100*time.Millisecond))
		if raw != nil && clientClosed(raw) {
			return true
		}
	}
}

// clientClosed peeks at a socket without blocking: EOF or an error is a
// client gone, bytes (a pipelined request) or nothing yet are not.
func clientClosed(raw syscall.RawConn) bool {
	gone := false
	raw.Control(func(fd uintptr) {
		var b [1]byte
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		gone = (err == nil && n == 0) || (err != nil && err != syscall.EAGAIN && err != syscall.EINTR)
	})
	return gone
}

// delayLevel is the level of "delaying request": one less severe than
// limit_req_log_level, info at the least.
func delayLevel(level string) string {
	switch level {
	case "error":
		return "warn"
	case "warn":
		return "notice"
	}
	return "info"
}

func pad3(n int64) string {
	s := strconv.FormatInt(n, 10)
	return strings.Repeat("0", 3-len(s)) + s
}

// addLimitVariables defines $limit_req_status.
func addLimitVariables(rc *rewrite.Compiler) {
	rc.AddVariable("limit_req_status", func(s *rewrite.State, dst []byte) []byte {
		x, ok := s.Files.(*exchange)
		if !ok || s.Req == nil {
			return dst
		}
		if st := x.mainExchange().mods.limitReq; st != 0 {
			return append(dst, limitReqStatusText[st]...)
		}
		return dst
	})
}
