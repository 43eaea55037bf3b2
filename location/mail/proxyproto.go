package mail

import (
	"net"
	"strings"
	"time"

	"github.com/gonginx/gonginx/location/proxyproto"
	"github.com/gonginx/gonginx/nginxconf"
	"github.com/gonginx/gonginx/rewrite/http1"
)

// The PROXY protocol: "listen ... proxy_protocol" reads the header the
// connection starts with (ngx_mail_proxy_protocol_handler), and
// set_real_ip_from makes its source the client (ngx_mail_realip_module);
// "proxy_protocol on" sends a header to the backend.

// readProxyHeader reads the client's PROXY header within timeout; false
// closes the session (logged as nginx logs it).
func (s *session) readProxyHeader() bool {
	s.action = "reading PROXY protocol"
	s.nc.SetReadDeadline(time.Now().Add(s.sv.timeout))
	var info http1.ConnInfo
	if f := proxyproto.ReadHeader(s.nc, make([]byte, 4096), false, &info); f != nil {
		if f.Msg != "" {
			msg, errText, _ := strings.Cut(f.Msg, " (")
			if errText != "" {
				errText = " (" + errText
			}
			s.logf(f.Level, msg, errText)
		}
		return false
	}
	s.nc.SetReadDeadline(time.Time{})
	if !info.Proxied {
		return true
	}
	s.proxied = &info
	ip := net.ParseIP(s.addr)
	if ip == nil || !s.sv.realipFrom(ip) {
		return true
	}
	if src := net.ParseIP(info.Proxy.Addr); src != nil {
		s.addr, s.port = src.String(), info.Proxy.Port
		if s.port == "" {
			s.port = "0"
		}
	}
	return true
}

// realipFrom reports whether set_real_ip_from trusts ip.
func (sv *server) realipFrom(ip net.IP) bool {
	for _, n := range sv.realip {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// compileRealip reads set_real_ip_from (mail{}'s when the server has none).
func compileRealip(sv *server, main, srv *nginxconf.Directive) error {
	for _, b := range []*nginxconf.Directive{srv, main} {
		for _, d := range all(b.Block, "set_real_ip_from") {
			v := d.Args[0]
			if v == "unix:" {
				continue // a unix socket's client is not an IP address
			}
			if !strings.Contains(v, "/") {
				if strings.Contains(v, ":") {
					v += "/128"
				} else {
					v += "/32"
				}
			}
			_, n, err := net.ParseCIDR(v)
			if err != nil {
				return &nginxconf.Error{Msg: "invalid parameter \"" + d.Args[0] + "\"", File: d.File, Line: d.EndLine}
			}
			sv.realip = append(sv.realip, n)
		}
		if len(sv.realip) > 0 {
			break
		}
	}
	return nil
}

// proxyHeader is the PROXY line for the backend: the client (as realip
// left it) and the address it connected to (ngx_proxy_protocol_write).
func (s *session) proxyHeader() []byte {
	local := s.nc.LocalAddr()
	if tc, ok := s.nc.(interface{ NetConn() net.Conn }); ok {
		local = tc.NetConn().LocalAddr()
	}
	lip, lport, _ := net.SplitHostPort(local.String())
	family := "TCP4"
	if strings.Contains(s.addr, ":") {
		family = "TCP6"
	}
	return []byte("PROXY " + family + " " + s.addr + " " + lip + " " + s.port + " " + lport + "\r\n")
}
