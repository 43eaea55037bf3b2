package rewrite

import (
	"net/netip"
	"unsafe"
)

// parseNgxAddr parses an address as ngx_parse_addr does, without
// allocating for the addresses clients send: IPv4 as ngx_inet_addr reads
// it (decimal octets, leading zeros and empty octets allowed, never
// 255.255.255.255, which is its INADDR_NONE), IPv6 as hex groups with
// "::" and an optional dotted tail (no zone).
func parseNgxAddr(s string) (netip.Addr, bool) {
	colon := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == ':':
			colon = true
		case c == '.', c >= '0' && c <= '9', c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
		default:
			return netip.Addr{}, false
		}
	}
	if !colon {
		return inetAddr(s)
	}
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is6() {
		return netip.Addr{}, false
	}
	return a, true
}

// inetAddr is ngx_inet_addr.
func inetAddr(s string) (netip.Addr, bool) {
	var addr uint32
	octet, dots := uint32(0), 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			octet = octet*10 + uint32(c-'0')
			if octet > 255 {
				return netip.Addr{}, false
			}
		case c == '.':
			addr = addr<<8 + octet
			octet = 0
			dots++
		default:
			return netip.Addr{}, false
		}
	}
	if dots != 3 {
		return netip.Addr{}, false
	}
	addr = addr<<8 + octet
	if addr == 0xffffffff {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4([4]byte{byte(addr >> 24), byte(addr >> 16), byte(addr >> 8), byte(addr)}), true
}

// parseAddrPort parses an address with an optional port, as
// ngx_parse_addr_port does ("1.2.3.4:80", "[::1]:80"); the zero Addr when
// it is not one.
func parseAddrPort(b []byte) netip.Addr {
	if len(b) == 0 {
		return netip.Addr{}
	}
	// A view of the bytes, only read while parsing (an error that keeps
	// it is dropped at once): no copy per request.
	s := unsafe.String(&b[0], len(b))
	if a, ok := parseNgxAddr(s); ok {
		return a
	}
	var host string
	var port string
	if s[0] == '[' {
		end := -1
		for i := 1; i < len(s); i++ {
			if s[i] == ']' {
				end = i
				break
			}
		}
		if end < 0 || end == len(s)-1 || s[end+1] != ':' {
			return netip.Addr{}
		}
		host, port = s[1:end], s[end+2:]
	} else {
		colon := -1
		for i := 0; i < len(s); i++ {
			if s[i] == ':' {
				colon = i
				break
			}
		}
		if colon < 0 {
			return netip.Addr{}
		}
		host, port = s[:colon], s[colon+1:]
	}
	n := 0
	for i := 0; i < len(port); i++ {
		if port[i] < '0' || port[i] > '9' || n > 65535 {
			return netip.Addr{}
		}
		n = n*10 + int(port[i]-'0')
	}
	if len(port) == 0 || n < 1 || n > 65535 {
		return netip.Addr{}
	}
	a, ok := parseNgxAddr(host)
	if !ok {
		return netip.Addr{}
	}
	return a
}
