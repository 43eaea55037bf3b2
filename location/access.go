package location

import (
	"bytes"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"time"

	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/rewrite/auth"
	"github.com/gonginx/gonginx/rewrite/http1"
)

// The access phase as nginx runs it for a main request: allow/deny
// (ngx_http_access_module), auth_basic, then auth_request, in that order
// (the reverse of their modules' registration), combined by "satisfy".
// Subrequests skip it (ngx_http_core_access_phase).

// authConf is a level's access settings beyond allow/deny.
type authConf struct {
	satisfyAny bool
	realm      *rewrite.Complex // auth_basic; a value of "off" turns it off
	userFile   *rewrite.Complex // auth_basic_user_file, a relative value under the conf prefix
	request    []byte           // auth_request URI; nil: off
	sets       []*rewrite.Assignment
	delay      time.Duration // auth_delay
	setsOwner  *locConf      // the level whose auth_request_set lines sets holds
}

// limitExcept is a location's limit_except block: methods outside allowed
// run under conf, which the block's directives changed.
type limitExcept struct {
	allowed uint32 // bits of http1 method codes
	conf    *locConf
}

// authScratch is an exchange's memory for the access phase.
type authScratch struct {
	file    []byte        // a piece of the user file
	scan    auth.UserScan // the user file's scan
	stored  []byte        // the password found
	creds   []byte        // decoded credentials
	path    []byte        // auth_basic_user_file evaluated
	name    []byte        // the same under the conf prefix
	pending *locConf      // the auth_request whose subrequest runs now
	status  int           // its status
	www     []byte        // the WWW-Authenticate of its 401
	// wwwMore is auth_request's WWW-Authenticate after auth_basic's
	// (satisfy any): nginx's header list holds both.
	wwwMore []byte
	// sending: an auth subrequest went to a backend, whose finalization
	// left nginx's connection log action at "sending to client" until
	// the next internal redirect (ngx_http_handler clears it).
	sending bool
}

// access answers 0 to go on, else the status that ends the request.
// Its caller asks accessOff first.
func (x *exchange) access(conf *locConf) int {
	if x.isSub() || x.req.Conn == nil {
		return 0
	}
	code := 0
	for i := range 3 {
		var rc int
		switch i {
		case 0:
			rc = x.accessRules(conf)
		case 1:
			rc = x.authBasic(conf)
		default:
			rc = x.authRequest(conf, code == 401 && len(x.wwwAuth) > 0)
		}
		switch {
		case rc < 0: // declined
			continue
		case !conf.auth.satisfyAny:
			if rc == 0 {
				continue
			}
			if rc == 401 {
				return x.authDelay(conf)
			}
			return rc
		case rc == 0:
			// The first that allows lets the request in, and takes back
			// a WWW-Authenticate an earlier one added.
			x.wwwAuth, x.auth.wwwMore = x.wwwAuth[:0], x.auth.wwwMore[:0]
			return 0
		case rc == 401 || rc == 403:
			if code != 401 {
				code = rc
			}
			continue
		}
		return rc
	}
	if code == 403 {
		x.log.Errorf(x, "access forbidden by rule")
	}
	if code == 401 {
		return x.authDelay(conf)
	}
	return code
}

// accessOff reports that each access module declines in conf (their
// first tests, together): access need not be called (a call, and its
// loop's steps over three declines, touched ~8 code lines).
func accessOff(conf *locConf) bool {
	return len(conf.access) == 0 && (conf.auth.realm == nil || conf.auth.userFile == nil) && conf.auth.request == nil
}

// authDelay is ngx_http_core_auth_delay: a 401 goes out auth_delay
// later, so that how long a wrong password takes tells nothing.
func (x *exchange) authDelay(conf *locConf) int {
	if d := conf.auth.delay; d > 0 {
		x.log.Logf(x, "info", "delaying unauthorized request")
		x.waits()
		time.Sleep(d)
	}
	return 401
}

// accessRules is ngx_http_access_handler: -1 when no rule matches.
// Its first test is inlined at the callers (the rest is accessRulesRun): a
// request the module has nothing to do for costs a test, not a call.
func (x *exchange) accessRules(conf *locConf) int {
	if len(conf.access) == 0 {
		return -1
	}
	return x.accessRulesRun(conf)
}

// accessRulesRun is accessRules past its first test.
func (x *exchange) accessRulesRun(conf *locConf) int {
	if len(conf.access) == 0 {
		return -1
	}
	ip := remoteIP(x.req.Conn.RemoteAddr, &x.tmp)
	for _, r := range conf.access {
		switch {
		case r.unix:
			if x.req.Conn.RemoteAddr != "unix:" {
				continue
			}
		case r.net != nil:
			if ip == nil || !r.net.Contains(ip) {
				continue
			}
		}
		if !r.deny {
			return 0
		}
		if !conf.auth.satisfyAny {
			x.log.Errorf(x, "access forbidden by rule")
		}
		return 403
	}
	return -1
}

// remoteIP parses the client's address into scratch, an IPv4-mapped one
// as IPv4 (ngx_http_access_handler tests those against IPv4 rules).
func remoteIP(addr string, scratch *[]byte) net.IP {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return nil
	}
	if a.Is4() || a.Is4In6() {
		b := a.As4()
		*scratch = append((*scratch)[:0], b[:]...)
	} else {
		b := a.As16()
		*scratch = append((*scratch)[:0], b[:]...)
	}
	return net.IP(*scratch)
}

var authOff = []byte("off")

// authBasic is ngx_http_auth_basic_handler.
// Its first test is inlined at the callers (the rest is authBasicRun): a
// request the module has nothing to do for costs a test, not a call.
func (x *exchange) authBasic(conf *locConf) int {
	if conf.auth.realm == nil || conf.auth.userFile == nil {
		return -1
	}
	return x.authBasicRun(conf)
}

// authBasicRun is authBasic past its first test.
func (x *exchange) authBasicRun(conf *locConf) int {
	a := &conf.auth
	if a.realm == nil || a.userFile == nil {
		return -1
	}
	s := &x.auth
	x.tmp = a.realm.Eval(&x.st, x.tmp[:0])
	if bytes.Equal(x.tmp, authOff) {
		return -1
	}
	user, pass, ok := x.credentials()
	if !ok {
		x.log.Logf(x, "info", "no user/password was provided for basic authentication")
		return x.setRealm()
	}
	s.path = a.userFile.Eval(&x.st, s.path[:0])
	name := s.path
	if len(name) == 0 || name[0] != '/' {
		// ngx_get_full_name at run time: the conf prefix before a
		// relative name (an empty one names the prefix itself).
		s.name = append(append(s.name[:0], x.rt.cfg.ConfPrefix...), name...)
		name = s.name
	}
	s.scan.Reset(user, s.stored)
	rc := x.scanUserFile(name)
	stored, found := s.scan.Result()
	s.stored = stored[:0]
	// nginx zeroes its buffer too. One defer, open-coded: with two, every
	// return of this function (run for each request) calls the runtime.
	defer func() {
		clear(stored)
		clear(s.file[:cap(s.file)])
	}()
	if rc != 0 {
		return rc
	}
	if !found {
		x.log.Errorf(x, "user \"%s\" was not found in \"%s\"", user, name)
		return x.setRealm()
	}
	switch auth.Verify(pass, stored) {
	case auth.Match:
		return 0
	case auth.Unsupported:
		// libxcrypt computes it; gonginx does not, so it never lets in.
		x.log.Errorf(x, "user \"%s\": password hash format not supported by gonginx", user)
		return x.setRealm()
	}
	x.log.Errorf(x, "user \"%s\": password mismatch", user)
	return x.setRealm()
}

// credentials decodes the request's Authorization header (the first).
func (x *exchange) credentials() (user, pass []byte, ok bool) {
	for i := range x.req.Headers {
		h := &x.req.Headers[i]
		if len(h.Name) == len("authorization") && strings.EqualFold(string(h.Name), "authorization") {
			var u, p []byte
			u, p, ok = auth.Credentials(x.auth.creds[:0], h.Value)
			if ok {
				x.auth.creds = u[:0] // keep the room it grew
			}
			return u, p, ok
		}
	}
	return nil, nil, false
}

// setRealm adds "WWW-Authenticate: Basic realm=..." (the realm evaluated
// in x.tmp) and answers 401.
func (x *exchange) setRealm() int {
	x.wwwAuth = append(append(append(x.wwwAuth[:0], `Basic realm="`...), x.tmp...), '"')
	return 401
}

// scanUserFile reads the user file through x.auth.scan, a buffer at a
// time as nginx does, until the user's password was read: 403 when the
// file does not exist, 500 when it cannot be opened or read.
func (x *exchange) scanUserFile(name []byte) int {
	s := &x.auth
	x.cpath = append(append(x.cpath[:0], name...), 0)
	fd, e := openat(atFDCWD, &x.cpath[0], syscall.O_RDONLY|syscall.O_CLOEXEC)
	if e != 0 {
		if e == syscall.ENOENT {
			x.log.Errorf(x, "open() \"%s\" failed (%s)", name, nginxconf.ErrnoText(e))
			return 403
		}
		x.log.Logf(x, "crit", "open() \"%s\" failed (%s)", name, nginxconf.ErrnoText(e))
		return 500
	}
	defer syscall.Close(fd)
	if s.file == nil {
		s.file = make([]byte, userFileBuf)
	}
	for off := int64(0); ; {
		n, err := syscall.Pread(fd, s.file, off)
		if err != nil {
			e, _ := err.(syscall.Errno)
			x.log.Logf(x, "crit", "pread() \"%s\" failed (%s)", name, nginxconf.ErrnoText(e))
			return 500
		}
		if n == 0 || s.scan.Feed(s.file[:n]) {
			return 0
		}
		off += int64(n)
	}
}

// userFileBuf is NGX_HTTP_AUTH_BUF_SIZE, what nginx reads at a time.
const userFileBuf = 2048

func discardSub([]byte) error { return nil }

// authRequest is ngx_http_auth_request_handler: the subrequest's status
// decides, its auth_request_set values are set in any case.
// Its first test is inlined at the callers (the rest is authRequestRun): a
// request the module has nothing to do for costs a test, not a call.
func (x *exchange) authRequest(conf *locConf, basic401 bool) int {
	if conf.auth.request == nil {
		return -1
	}
	return x.authRequestRun(conf, basic401)
}

// authRequestRun is authRequest past its first test.
func (x *exchange) authRequestRun(conf *locConf, basic401 bool) int {
	a := &conf.auth
	if a.request == nil {
		return -1
	}
	s := &x.auth
	s.pending, s.status, s.www = conf, 0, s.www[:0]
	x.waits() // the subrequest's backend answers later
	x.subrequest(a.request, nil, false, discardSub)
	s.pending = nil
	switch st := s.status; {
	case st == 403:
		return 403
	case st == 401:
		switch {
		case len(s.www) == 0:
		case basic401:
			s.wwwMore = append(s.wwwMore[:0], s.www...)
		default:
			x.wwwAuth = append(x.wwwAuth[:0], s.www...)
		}
		return 401
	case st >= 200 && st < 300:
		return 0
	default:
		x.log.Errorf(x, "auth request unexpected status: %d", st)
		return 500
	}
}

// authRequestDone runs when the auth subrequest sx ended, before it is
// released: its status, its backend's WWW-Authenticate, and the
// auth_request_set values evaluated in it.
func (x *exchange) authRequestDone(sx *exchange) {
	s := &x.auth
	s.status = sx.c.SubStatus()
	s.sending = s.sending || len(sx.st.UpstreamTries) > 0
	s.www = append(s.www[:0], sx.st.UpstreamHeader("www_authenticate")...)
	for _, set := range s.pending.auth.sets {
		x.tmp = set.Apply(&x.st, &sx.st, x.tmp[:0])
	}
}

// applyAuth applies the access directives of this file.
func (c *compiler) applyAuth(conf *locConf, d *nginxconf.Directive) (bool, error) {
	a := &conf.auth
	switch d.Name {
	case "satisfy":
		a.satisfyAny = len(d.Args) == 1 && d.Args[0] == "any"
	case "auth_basic":
		v, err := c.rc.Complex(d.Args[0])
		if err != nil {
			return true, rewrite.At(err, d)
		}
		a.realm = v
	case "auth_basic_user_file":
		v, err := c.rc.Complex(d.Args[0])
		if err != nil {
			return true, rewrite.At(err, d)
		}
		a.userFile = v
	case "auth_request":
		a.request = nil
		if d.Args[0] != "off" {
			a.request = []byte(d.Args[0])
		}
	case "auth_request_set":
		set, err := c.rc.AuthRequestSet(d)
		if err != nil {
			return true, err
		}
		// A level with its own lines replaces the inherited ones.
		if a.setsOwner != conf {
			a.sets, a.setsOwner = nil, conf
		}
		a.sets = append(a.sets, set)
	case "auth_delay":
		ms, _ := nginxconf.ParseTime(d.Args[0], false)
		a.delay = time.Duration(ms) * time.Millisecond
	case "limit_except":
		// compiled with its location (compileLimitExcept)
	default:
		return false, nil
	}
	return true, nil
}

// limitMethods are the methods limit_except names, as nginx's
// ngx_methods_names.
var limitMethods = map[string]int{
	"GET": http1.MethodGET, "HEAD": http1.MethodHEAD, "POST": http1.MethodPOST, "PUT": http1.MethodPUT,
	"DELETE": http1.MethodDELETE, "MKCOL": http1.MethodMKCOL, "COPY": http1.MethodCOPY,
	"MOVE": http1.MethodMOVE, "OPTIONS": http1.MethodOPTIONS, "PROPFIND": http1.MethodPROPFIND,
	"PROPPATCH": http1.MethodPROPPATCH, "LOCK": http1.MethodLOCK, "UNLOCK": http1.MethodUNLOCK,
	"PATCH": http1.MethodPATCH,
}

// compileLimitExcept compiles loc's limit_except block, if any, as
// ngx_http_core_limit_except: a configuration merged from the location's
// for the methods not listed (GET brings HEAD). It has no rewrite
// program and no try_files of its own, and keeps proxy_pass (as
// ngx_http_proxy_merge_loc_conf gives it to a limit_except block).
func (c *compiler) compileLimitExcept(loc *Location, block []*nginxconf.Directive) error {
	var d *nginxconf.Directive
	for _, x := range block {
		if x.Name != "limit_except" {
			continue
		}
		if d != nil {
			return confErr(x, "\"limit_except\" directive is duplicate")
		}
		d = x
	}
	if d == nil {
		return nil
	}
	var allowed uint32
	for _, m := range d.Args {
		code, ok := limitMethods[strings.ToUpper(m)]
		if !ok {
			return confErr(d, "invalid method \"%s\"", m)
		}
		allowed |= 1 << code
	}
	if allowed&(1<<http1.MethodGET) != 0 {
		allowed |= 1 << http1.MethodHEAD
	}
	lc := loc.conf.clone()
	lc.proxyPass = loc.conf.proxyPass
	if err := c.applyScoped(lc, d.Block, "limit_except"); err != nil {
		return err
	}
	blocks := append(append([][]*nginxconf.Directive(nil), loc.blocks...), d.Block)
	if err := c.finishConfIn(lc, loc, d, blocks, true); err != nil {
		return err
	}
	loc.limitExcept = &limitExcept{allowed: allowed, conf: lc}
	return nil
}

// limited is the configuration a request of method code runs under in
// loc when limit_except excludes it, else nil.
func (loc *Location) limited(code int) *locConf {
	l := loc.limitExcept
	if l == nil || code < 32 && l.allowed&(1<<code) != 0 {
		return nil
	}
	return l.conf
}
