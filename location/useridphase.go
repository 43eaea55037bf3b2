package location

import (
	"net/netip"
	"strconv"
	"time"

	"github.com/gonginx/gonginx/location/userid"
	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/rewrite/http1"
)

// defaultUserid is nginx's merged default (ngx_http_userid_merge_conf).
var defaultUserid = useridConf{cfg: userid.Config{Name: "uid", Path: "; path=/"}}

// useridConf is a level's userid settings.
type useridConf struct {
	cfg        userid.Config
	p3p        []byte   // cfg.P3P, for the header without a copy per response
	flagsOwner *locConf // userid_flags lines of a level OR together, replacing inherited flags
}

// useridDirective applies one of the userid directives (values -t has
// checked).
func (c *compiler) useridDirective(conf *locConf, d *nginxconf.Directive) error {
	if len(d.Args) == 0 {
		return nil
	}
	u, a := &conf.userid.cfg, d.Args[0]
	switch d.Name {
	case "userid":
		u.Enable = map[string]userid.Enable{"off": userid.Off, "log": userid.Log, "v1": userid.V1, "on": userid.On}[a]
	case "userid_service":
		n, _ := strconv.ParseInt(a, 10, 64)
		u.Service, u.HasService = uint32(n), true
	case "userid_name":
		u.Name = a
	case "userid_domain":
		u.Domain = "; domain=" + a
		if a == "none" {
			u.Domain = ""
		}
	case "userid_path":
		u.Path = "; path=" + a
	case "userid_p3p":
		u.P3P = a
		if a == "none" {
			u.P3P = ""
		}
		conf.userid.p3p = []byte(u.P3P)
	case "userid_expires":
		switch a {
		case "max":
			u.Expires = userid.MaxExpires
		case "off":
			u.Expires = 0
		default:
			n, ok := nginxconf.ParseTime(a, true)
			if !ok {
				return confErr(d, "\"%s\" directive invalid value", d.Name)
			}
			u.Expires = n
		}
	case "userid_mark":
		u.Mark = 0
		if a != "off" {
			u.Mark = a[0]
		}
	case "userid_flags":
		if conf.userid.flagsOwner != conf {
			u.Flags, conf.userid.flagsOwner = 0, conf
		}
		for _, f := range d.Args {
			u.Flags |= map[string]int{"secure": userid.Secure, "httponly": userid.HTTPOnly,
				"samesite=strict": userid.SameSiteStrict, "samesite=lax": userid.SameSiteLax,
				"samesite=none": userid.SameSiteNone}[f]
		}
	}
	return nil
}

// useridState is the module's context for a main request.
type useridState struct {
	read       bool // the cookie was looked for
	created    bool // uid_set was decided
	got, set   userid.UID
	reset      bool
	cookie     []byte // the client's uid cookie value
	out        []byte // the Set-Cookie value
	hdrs       []http1.Header
	resetValue []byte
	// gotVar and setVar are $uid_got and $uid_set as first evaluated:
	// nginx caches them for the request.
	gotVar, setVar cachedVar
}

// cachedVar is a variable's value kept for the rest of the request.
type cachedVar struct {
	done, found bool
	val         []byte
}

// get returns the cached value, computing it with f the first time.
func (v *cachedVar) get(s *rewrite.State, dst []byte, f func(dst []byte) ([]byte, bool)) []byte {
	if !v.done {
		v.done = true
		v.val, v.found = f(v.val[:0])
	}
	if v.found && len(v.val) == 0 {
		s.FoundEmpty = true
	}
	return append(dst, v.val...)
}

// mainExchange is the main request's exchange.
func (x *exchange) mainExchange() *exchange {
	for x.parent != nil {
		x = x.parent
	}
	return x
}

// uidGet is ngx_http_userid_get_uid: the client's cookie, once per
// request; a short or undecodable one is logged and ignored.
func (x *exchange) uidGet(c *userid.Config) *useridState {
	st := &x.mods.uid
	if st.read {
		return st
	}
	st.read, st.got, st.cookie = true, userid.UID{}, st.cookie[:0]
	v, line, ok := userid.FindCookie(x.req.Headers, c.Name)
	if !ok {
		return st
	}
	st.cookie = append(st.cookie, v...)
	got, bad := userid.Decode(v)
	if bad != "" {
		x.log.Errorf(x, "client sent %s userid cookie \"%s\"", bad, line)
		return st
	}
	st.got = got
	return st
}

// uidCreate is ngx_http_userid_create_uid: keep the client's uid (sent
// back only to add a missing mark), or make a new one when there is none
// or $uid_reset asks for it.
func (x *exchange) uidCreate(c *userid.Config, st *useridState) {
	if st.created {
		return
	}
	st.created = true
	if !st.got.Zero() {
		if x.rt.uidReset != nil {
			st.resetValue = x.rt.uidReset.Eval(&x.st, st.resetValue[:0])
		}
		r := st.resetValue
		if len(r) == 0 || len(r) == 1 && r[0] == '0' {
			if c.Mark == 0 || len(st.cookie) > 23 && st.cookie[22] == c.Mark && st.cookie[23] == '=' {
				return
			}
			st.set = st.got
			return
		}
		st.reset = true
		if string(r) == "log" {
			x.log.Logf(x, "notice", "userid cookie \"%s\" was reset", userid.AppendVar(nil, c.Name, &st.got))
		}
	}
	var local [4]byte
	if x.c != nil && x.c.ConnInfo() != nil {
		if a, err := netip.ParseAddr(x.c.ConnInfo().ServerAddress()); err == nil {
			b := a.As16()
			copy(local[:], b[12:])
		}
	}
	st.set = userid.New(c, local, time.Now().Unix())
}

// useridFilter is the userid header filter, below the headers filter:
// the main request's response gets the Set-Cookie (and P3P) of a new or
// re-marked uid.
// Its first test is inlined at the callers (the rest is useridFilterRun): a
// request the module has nothing to do for costs a test, not a call.
func (x *exchange) useridFilter(resp *http1.Response, conf *locConf) {
	if conf.userid.cfg.Enable < userid.V1 {
		return
	}
	x.useridFilterRun(resp, conf)
}

// useridFilterRun is useridFilter past its first test.
func (x *exchange) useridFilterRun(resp *http1.Response, conf *locConf) {
	c := &conf.userid.cfg
	if x.isSub() || c.Enable < userid.V1 {
		return
	}
	st := x.uidGet(c)
	x.uidCreate(c, st)
	if st.set.Zero() {
		return
	}
	fresh := st.got.Zero() || st.reset
	st.out = userid.AppendCookie(st.out[:0], c, &st.set, fresh, st.cookie, time.Now().Unix())
	st.hdrs = append(append(st.hdrs[:0], resp.Headers...), http1.Header{Name: setCookieName, Value: st.out})
	if c.P3P != "" {
		st.hdrs = append(st.hdrs, http1.Header{Name: p3pName, Value: conf.userid.p3p})
	}
	resp.Headers = st.hdrs
}

var (
	setCookieName = []byte("Set-Cookie")
	p3pName       = []byte("P3P")
)

// addUseridVariables defines $uid_got and $uid_set ($uid_reset is a
// plain variable "set" fills).
func addUseridVariables(rc *rewrite.Compiler) {
	rc.AddVariable("uid_got", func(s *rewrite.State, dst []byte) []byte {
		x, ok := s.Files.(*exchange)
		if !ok || x.srv == nil {
			return dst
		}
		m := x.mainExchange()
		// Subrequests beside the page compute it once, one at a time.
		m.mainMu.Lock()
		defer m.mainMu.Unlock()
		return m.mods.uid.gotVar.get(s, dst, func(dst []byte) ([]byte, bool) {
			c := &m.conf().userid.cfg
			if c.Enable == userid.Off {
				return dst, false
			}
			st := m.uidGet(c)
			if st.got.Zero() {
				return dst, false
			}
			return userid.AppendVar(dst, c.Name, &st.got), true
		})
	})
	rc.AddVariable("uid_set", func(s *rewrite.State, dst []byte) []byte {
		x, ok := s.Files.(*exchange)
		if !ok || x.srv == nil {
			return dst
		}
		m := x.mainExchange()
		// Subrequests beside the page compute it once, one at a time.
		m.mainMu.Lock()
		defer m.mainMu.Unlock()
		return m.mods.uid.setVar.get(s, dst, func(dst []byte) ([]byte, bool) {
			c := &m.conf().userid.cfg
			if c.Enable < userid.V1 {
				return dst, false
			}
			st := m.uidGet(c)
			m.uidCreate(c, st)
			if st.set.Zero() {
				return dst, false
			}
			return userid.AppendVar(dst, c.Name, &st.set), true
		})
	})
}
