package location

import (
	"github.com/gonginx/gonginx/location/limit"

	"github.com/gonginx/gonginx/location/realip"
	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite"
	"github.com/gonginx/gonginx/rewrite/http1"
)

// modState is the per-request state of the access modules of their own
// files, kept with the pooled exchange.
type modState struct {
	realip     realipState
	refVar     cachedVar // $invalid_referer
	modernVar  cachedVar // $modern_browser
	ancientVar cachedVar // $ancient_browser
	secureLink secureLinkState
	uid        useridState
	limitReq   uint8 // $limit_req_status, on the main request
	limitConn  uint8 // $limit_conn_status, on the main request
	connHeld   []limit.Held
	limitKeys  limitKeys
}

// reset starts a request.
func (m *modState) reset() {
	m.realip.done = false
	m.limitReq, m.limitConn = 0, 0
	m.secureLink.hasExpires = false
	m.uid.read, m.uid.created, m.uid.reset = false, false, false
	m.uid.set = [4]uint32{}
	m.uid.gotVar.done, m.uid.setVar.done = false, false
	m.secureLink.linkVar.done, m.secureLink.expiresVar.done = false, false
	m.refVar.done, m.modernVar.done, m.ancientVar.done = false, false, false
}

// redirected is the part of an internal redirect that clears the
// modules' contexts (nginx zeroes r->ctx): userid reads its cookie and
// makes its uid again and secure_link forgets the expiry it read, though
// the variables keep the values the request cached (realip's address
// stays, as nginx finds it again).
func (m *modState) redirected() {
	m.secureLink.hasExpires = false
	m.uid.read, m.uid.created, m.uid.reset = false, false, false
	m.uid.set = [4]uint32{}
}

// realipState is what the realip module keeps for a request: whether it
// ran (nginx's module context) and the connection as the request sees it
// afterwards.
type realipState struct {
	done bool
	info http1.ConnInfo // the connection with the client's real address
	text []byte         // scratch for the address text
	pp   []byte         // scratch for the PROXY protocol address
	addr string         // the last address text, reused while it repeats
}

// realipDirective applies set_real_ip_from, real_ip_header and
// real_ip_recursive; a level with set_real_ip_from lines replaces the
// list it inherited (ngx_http_realip_merge_loc_conf).
func (c *compiler) realipDirective(conf *locConf, d *nginxconf.Directive) error {
	if len(d.Args) != 1 {
		return nil
	}
	switch d.Name {
	case "set_real_ip_from":
		nets, err := realip.ParseNet(d.Args[0], nginxconf.LookupIP)
		// -t's checks warned of low address bits already.
		if err != nil && err != realip.ErrLowBits {
			return confErr(d, "host not found in set_real_ip_from \"%s\"", d.Args[0])
		}
		if conf.realipOwner != conf {
			conf.realip.From, conf.realipOwner = nil, conf
		}
		conf.realip.From = append(conf.realip.From, nets...)
	case "real_ip_header":
		src, name := realip.ParseSource(d.Args[0])
		conf.realip.Source = src
		if name != "" {
			conf.realip.Name = name
		}
	case "real_ip_recursive":
		conf.realip.Recursive = onOff(d)
	}
	return nil
}

// applyRealip is ngx_http_realip_handler, run at the post-read phase with
// the server's settings and at the preaccess phase with the location's:
// the first that finds a trusted peer and an address changes the
// request's client address, once per request (internal redirects and
// subrequests keep it).
// Its first test is inlined at the callers (the rest is applyRealipRun): a
// request the module has nothing to do for costs a test, not a call.
func (x *exchange) applyRealip(conf *locConf) {
	if x.mods.realip.done || conf.realip.From == nil {
		return
	}
	x.applyRealipRun(conf)
}

// applyRealipRun is applyRealip past its first test.
func (x *exchange) applyRealipRun(conf *locConf) {
	rs := &x.mods.realip
	if rs.done || conf.realip.From == nil || x.isSub() || x.c.ConnInfo() == nil {
		return
	}
	orig := x.c.ConnInfo()
	var a realip.Addr
	if orig.RemoteAddr == "unix:" {
		a.Unix = true
	} else {
		rs.text = append(rs.text[:0], orig.RemoteAddr...)
		var ok bool
		if a, ok = realip.ParseAddrPort(rs.text); !ok {
			return
		}
	}
	if conf.realip.Source == realip.ProxyProtocol {
		// nginx takes the header's source address, then its port.
		if !orig.Proxied {
			return
		}
		rs.pp = append(rs.pp[:0], orig.Proxy.Addr...)
		if !realip.FromProxy(&conf.realip, rs.pp, &a) {
			return
		}
		a.Port = 0
		for _, c := range []byte(orig.Proxy.Port) {
			a.Port = a.Port*10 + int(c-'0')
		}
	} else if !realip.Forwarded(&conf.realip, x.req.Headers, &a) {
		return
	}
	rs.done = true
	rs.info = *orig
	rs.text = a.AppendText(rs.text[:0])
	if string(rs.text) != rs.addr {
		rs.addr = string(rs.text)
	}
	rs.text = rs.text[:0]
	rs.info.RemoteAddr, rs.info.RemotePort = rs.addr, uint16(a.Port)
	x.req.Conn = &rs.info
}

// addRealipVariables defines $realip_remote_addr and $realip_remote_port
// (the connection's own address whatever realip did) and $remote_port,
// found empty when the real address came without a port, as nginx's.
func addRealipVariables(rc *rewrite.Compiler) {
	conn := func(f func(ci *http1.ConnInfo) string) func(s *rewrite.State, dst []byte) []byte {
		return func(s *rewrite.State, dst []byte) []byte {
			x, ok := s.Files.(*exchange)
			if !ok || x.c == nil || x.c.ConnInfo() == nil {
				return dst
			}
			v := f(x.c.ConnInfo())
			s.FoundEmpty = v == ""
			return append(dst, v...)
		}
	}
	rc.AddVariable("realip_remote_addr", conn(func(ci *http1.ConnInfo) string { return ci.RemoteAddr }))
	rc.AddVariable("realip_remote_port", func(s *rewrite.State, dst []byte) []byte {
		x, ok := s.Files.(*exchange)
		if !ok || x.c == nil || x.c.ConnInfo() == nil {
			return dst
		}
		ci := x.c.ConnInfo()
		s.FoundEmpty = ci.RemotePort == 0
		return ci.AppendRemotePort(dst)
	})
	rc.AddVariable("remote_port", func(s *rewrite.State, dst []byte) []byte {
		if s.Req == nil || s.Req.Conn == nil {
			return dst
		}
		s.FoundEmpty = s.Req.Conn.RemotePort == 0
		return s.Req.Conn.AppendRemotePort(dst)
	})
}
