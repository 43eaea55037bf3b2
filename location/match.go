package location

import "github.com/gonginx/gonginx/rewrite"

// findRC mirrors the return codes of ngx_http_core_find_location.
type findRC uint8

const (
	findDeclined findRC = iota // nothing matched at this level
	findOK                     // exact or regex match: final
	findAgain                  // a prefix matched: nested levels were searched
	findDone                   // auto-redirect: answer 301 to uri + "/"
	findError                  // a regex hit its match limit (st.RegexFailed): 500
)

// Match finds the location for uri in srv as nginx does. It returns nil
// when no location matches (the server-level configuration applies) and
// redirect=true for nginx's auto-redirect of a proxied "/prefix/" asked as
// "/prefix". Regex captures are stored in st. A regex that hit its
// match limit leaves st.RegexFailed set, loc the location nginx's
// configuration is then (the prefix one, or the server's).
func (srv *VirtualServer) Match(st *rewrite.State, uri []byte) (loc *Location, redirect bool) {
	st.RegexFailed = ""
	l, rc := findLocation(srv.root, uri, st)
	if l == nil {
		return srv.root, false
	}
	return l, rc == findDone
}

func findLocation(parent *Location, uri []byte, st *rewrite.State) (*Location, findRC) {
	lv := &parent.children
	if lv.exactLens&lenBit(len(uri)) != 0 {
		if l, ok := lv.exact[string(uri)]; ok {
			if st.Trace != nil {
				st.Trace("location", l.describe()+": exact match, final")
			}
			return l, findOK
		}
	}
	p := lv.longestPrefix(uri)
	if (p == nil || len(p.Name) != len(uri)) && lv.redirectLens&lenBit(len(uri)) != 0 {
		if l, ok := lv.redirect[string(uri)]; ok {
			return l, findDone
		}
	}
	var cur *Location
	rc := findDeclined
	noregex := false
	if p != nil {
		cur, rc, noregex = p, findAgain, p.mod == modNoRegex
		if st.Trace != nil {
			note := ": longest prefix, kept unless a regex location matches"
			if noregex {
				note = ": longest prefix, ^~ so no regex is tried"
			}
			st.Trace("location", p.describe()+note)
		}
		inner, irc := findLocation(p, uri, st)
		if irc == findOK || irc == findDone {
			return inner, irc
		}
		if inner != nil {
			cur = inner
		}
		if irc == findError {
			return cur, irc
		}
	}
	if !noregex {
		for _, l := range lv.regexes {
			if !l.re.Match(st, uri) {
				if st.RegexFailed != "" {
					// nginx's r->loc_conf stays the prefix one.
					return cur, findError
				}
				if st.Trace != nil {
					st.Trace("location", l.describe()+": no match")
				}
				continue
			}
			if st.Trace != nil {
				st.Trace("location", l.describe()+": matches, the first regex in order to match wins")
			}
			if inner, irc := findLocation(l, uri, st); irc == findError {
				if inner == nil {
					inner = l
				}
				return inner, findError
			} else if inner != nil {
				return inner, findOK
			}
			return l, findOK
		}
	}
	return cur, rc
}

// longestPrefix finds the longest prefix location name of uri: the last
// name sorted at or before uri has every prefix of uri that is in the set
// among its own prefixes, which parentIdx chains.
func (lv *level) longestPrefix(uri []byte) *Location {
	ps := lv.prefixes
	lo, hi := 0, len(ps)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if cmpStrBytes(ps[m].Name, uri) <= 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	for i := lo - 1; i >= 0; i = lv.parentIdx[i] {
		n := ps[i].Name
		if len(n) <= len(uri) && string(uri[:len(n)]) == n {
			return ps[i]
		}
	}
	return nil
}

func cmpStrBytes(a string, b []byte) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	switch {
	case len(a) < len(b):
		return -1
	case len(a) > len(b):
		return 1
	}
	return 0
}

// Named returns the named location ("@name") of srv, or nil.
func (srv *VirtualServer) Named(name []byte) *Location {
	return srv.named[string(name)]
}

// selectServer picks the server of a for host (lowercased, no port).
func (a *Addr) selectServer(host []byte, st *rewrite.State) *VirtualServer {
	if len(a.Servers) == 1 && !a.regexes {
		return a.Servers[0]
	}
	if s := a.names.lookup(host, st); s != nil {
		return s
	}
	return a.Default
}

// namedServer is the server a TLS server name selects by its names, nil
// when none does; an address of one server without regex names has no
// names to look up (nginx's virtual_names is NULL).
func (a *Addr) namedServer(host string) *VirtualServer {
	if len(a.Servers) == 1 && !a.regexes {
		return nil
	}
	return a.names.lookup([]byte(host), &rewrite.State{})
}

// SelectServer picks the server for host (lowercased, without port) among
// those of a (exported for tests and tools).
func (a *Addr) SelectServer(host string) *VirtualServer {
	return a.selectServer([]byte(host), &rewrite.State{})
}

// AddrFor picks the address configuration of a socket for a local IP.
func (s *Socket) AddrFor(local []byte) *Addr {
	if len(s.Addrs) == 1 {
		return s.Addrs[0]
	}
	for _, a := range s.Addrs[:len(s.Addrs)-1] {
		if ipEqual(a.Listen.IP, local) {
			return a
		}
	}
	return s.Addrs[len(s.Addrs)-1]
}

func ipEqual(ip []byte, local []byte) bool {
	if len(ip) == len(local) {
		return string(ip) == string(local)
	}
	if len(ip) == 4 && len(local) == 16 {
		return string(local[12:]) == string(ip) && string(local[:12]) == "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff"
	}
	return false
}
