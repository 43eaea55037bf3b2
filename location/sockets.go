package location

import (
	"strings"

	"github.com/gonginx/gonginx/nginxconf"
)

// The listen sockets of the compiled configuration: each server's listen
// directives gathered per address:port, default servers and the socket
// options nginx requires to agree.

func (c *compiler) addListen(srv *VirtualServer, l *Listen) error {
	for _, a := range c.addrs {
		if a.Listen.Addr != l.Addr || a.Listen.Network != l.Network {
			continue
		}
		if l.Set {
			if a.Listen.Set {
				return &nginxconf.Error{Msg: "duplicate listen options for " + l.Addr, File: l.File, Line: l.Line}
			}
			def := a.Listen.DefaultServer
			nl := *l
			nl.DefaultServer = def
			a.Listen = &nl
		}
		if l.DefaultServer {
			if a.Default != nil && a.defaultExplicit() {
				return &nginxconf.Error{Msg: "a duplicate default server for " + l.Addr, File: l.File, Line: l.Line}
			}
			a.Default = srv
			a.Listen.DefaultServer = true
		}
		if l.SSL {
			a.Listen.SSL = true
		}
		if l.HTTP2 {
			a.Listen.HTTP2 = true
		}
		if l.ProxyProtocol {
			a.Listen.ProxyProtocol = true
		}
		a.Servers = append(a.Servers, srv)
		return nil
	}
	cp := *l
	a := &Addr{Listen: &cp, Servers: []*VirtualServer{srv}, Default: srv}
	c.addrs = append(c.addrs, a)
	return nil
}

func (a *Addr) defaultExplicit() bool { return a.Listen.DefaultServer }

// buildSockets groups addresses by family and port as
// ngx_http_init_listening does and builds the name tables.
func (c *compiler) buildSockets() error {
	for _, a := range c.addrs {
		def := a.Default.root.conf.limits
		for _, s := range a.Servers {
			l := s.root.conf.limits
			a.maxHead = max(a.maxHead, l.ClientHeaderBufferSize+l.LargeHeaderBufferSize*l.LargeHeaderBuffers)
			if l.LargeHeaderBufferSize != def.LargeHeaderBufferSize || l.LargeHeaderBuffers != def.LargeHeaderBuffers ||
				l.MaxHeaders != def.MaxHeaders || l.UnderscoresInHeaders != def.UnderscoresInHeaders ||
				l.KeepInvalidHeaders != def.KeepInvalidHeaders {
				a.hostLimits = true
			}
		}
	}
	for _, a := range c.addrs {
		for _, s := range a.Servers {
			for _, n := range s.Names {
				if strings.HasPrefix(n, "~") {
					a.regexes = true
				}
			}
		}
		if len(a.Servers) > 1 || a.regexes {
			for _, s := range a.Servers {
				for _, n := range s.Names {
					if strings.HasPrefix(n, "~") {
						re, err := c.regex(n[1:], serverNameCaseless(n))
						if err != nil {
							return err
						}
						a.names.regex = append(a.names.regex, regexName{re: re, srv: s})
						continue
					}
					if err := a.names.add(n, s, a.Listen.Addr, c.warnLate); err != nil {
						return &nginxconf.Error{Msg: err.Error()}
					}
				}
			}
		}
	}
	type portKey struct {
		network string
		port    int
	}
	for _, a := range c.addrs {
		if !a.Listen.SSL {
			continue
		}
		// ngx_http_ssl_init: the default server of an ssl address must
		// have a certificate, or reject handshakes and then every server
		// of the address must have one or reject; nginx names the block.
		def := a.Default
		if def.SSL != nil && len(def.SSL.Certificates) > 0 {
			continue
		}
		if def.SSL == nil || !def.SSL.Reject {
			return &nginxconf.Error{Msg: "no \"ssl_certificate\" is defined for the \"listen ... ssl\" directive", File: def.File, Line: def.Line}
		}
		for _, vs := range a.Servers {
			if vs.SSL == nil {
				return &nginxconf.Error{Msg: "no \"ssl_certificate\" is defined for the \"listen ... ssl\" directive", File: vs.File, Line: vs.Line}
			}
		}
	}
	groups := map[portKey][]*Addr{}
	var order []portKey
	for _, a := range c.addrs {
		k := portKey{a.Listen.Network, a.Listen.Port}
		if a.Listen.Network == "unix" {
			k.network = "unix:" + a.Listen.Path
		}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], a)
	}
	for _, k := range order {
		addrs := groups[k]
		var wild *Addr
		var rest []*Addr
		for _, a := range addrs {
			if a.Listen.wildcard() {
				wild = a
			} else {
				rest = append(rest, a)
			}
		}
		if wild == nil {
			for _, a := range addrs {
				c.rt.Sockets = append(c.rt.Sockets, &Socket{Listen: a.Listen, Addrs: []*Addr{a}})
			}
			continue
		}
		s := &Socket{Listen: wild.Listen}
		for _, a := range rest {
			if a.Listen.Bind {
				c.rt.Sockets = append(c.rt.Sockets, &Socket{Listen: a.Listen, Addrs: []*Addr{a}})
				continue
			}
			s.Addrs = append(s.Addrs, a)
		}
		s.Addrs = append(s.Addrs, wild)
		c.rt.Sockets = append(c.rt.Sockets, s)
	}
	return nil
}
