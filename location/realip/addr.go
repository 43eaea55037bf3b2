// Package realip is nginx's realip module without the server around it:
// the trusted-address list of set_real_ip_from, the address parsers nginx
// applies to X-Forwarded-For, X-Real-IP or another header
// (ngx_parse_addr_port, with ngx_inet_addr's and ngx_inet6_addr's own
// leniencies), the right-to-left walk of ngx_http_get_forwarded_addr and
// the address text nginx prints (ngx_sock_ntop). The location package
// applies it at the post-read and preaccess phases.
package realip

import "strconv"

// Addr is a parsed client address: IPv4 or IPv6 and a port (0: none).
type Addr struct {
	V6   bool
	Unix bool     // a unix-domain socket peer (only set_real_ip_from unix: trusts it)
	IP   [16]byte // IPv4 in the first four bytes
	Port int
}

// parseIPv4 is ngx_inet_addr: digits and dots, each octet at most 255,
// exactly three dots; empty octets count as 0 and leading zeros are
// decimal ("1..2.3" is 1.0.2.3, "010.0.0.1" is 10.0.0.1).
func parseIPv4(b []byte) (ip [4]byte, ok bool) {
	var addr uint32
	octet, dots := 0, 0
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			octet = octet*10 + int(c-'0')
			if octet > 255 {
				return ip, false
			}
		case c == '.':
			addr = addr<<8 + uint32(octet)
			octet = 0
			dots++
		default:
			return ip, false
		}
	}
	if dots != 3 {
		return ip, false
	}
	addr = addr<<8 + uint32(octet)
	return [4]byte{byte(addr >> 24), byte(addr >> 16), byte(addr >> 8), byte(addr)}, true
}

// parseIPv6 is ngx_inet6_addr: one leading ':' is skipped, "::" may
// appear once, groups have at most four hex digits, and a dotted IPv4
// tail fills the last two groups.
func parseIPv6(p []byte) (out [16]byte, ok bool) {
	if len(p) == 0 {
		return out, false
	}
	var buf [16]byte
	at := 0     // next byte of buf to write
	zero := -1  // where "::" was, in buf
	digit := -1 // index in p where the current group starts
	nibbles, word, n := 0, 0, 8
	if p[0] == ':' {
		p = p[1:]
	}
	i := 0
	for ; i < len(p); i++ {
		c := p[i]
		if c == ':' {
			if nibbles > 0 {
				digit = i + 1
				buf[at], buf[at+1] = byte(word>>8), byte(word)
				at += 2
				n--
				if n > 0 {
					nibbles, word = 0, 0
					continue
				}
			} else if zero < 0 {
				digit = i + 1
				zero = at
				continue
			}
			return out, false
		}
		if c == '.' && nibbles > 0 {
			if n < 2 || digit < 0 {
				return out, false
			}
			// ngx_inet_addr over the rest of the text after the last ':'.
			v4, ok := parseIPv4(p[digit:])
			if !ok {
				return out, false
			}
			buf[at], buf[at+1] = v4[0], v4[1]
			at += 2
			word = int(v4[2])<<8 | int(v4[3])
			n--
			break
		}
		nibbles++
		if nibbles > 4 {
			return out, false
		}
		switch {
		case c >= '0' && c <= '9':
			word = word*16 + int(c-'0')
		case c|0x20 >= 'a' && c|0x20 <= 'f':
			word = word*16 + int(c|0x20-'a') + 10
		default:
			return out, false
		}
	}
	if nibbles == 0 && zero < 0 {
		return out, false
	}
	buf[at], buf[at+1] = byte(word>>8), byte(word)
	at += 2
	n--
	if n > 0 {
		if zero < 0 {
			return out, false
		}
		// Move what followed "::" to the end, zeros between.
		gap := n * 2
		copy(out[:zero], buf[:zero])
		copy(out[zero+gap:], buf[zero:at])
		return out, true
	}
	if zero >= 0 {
		return out, false
	}
	return buf, true
}

// parseAddr is ngx_parse_addr: an IPv4 or an IPv6 address, no port.
func parseAddr(b []byte) (a Addr, ok bool) {
	if v4, ok := parseIPv4(b); ok {
		copy(a.IP[:], v4[:])
		return a, true
	}
	if v6, ok := parseIPv6(b); ok {
		a.V6, a.IP = true, v6
		return a, true
	}
	return a, false
}

// ParseAddrPort is ngx_parse_addr_port: "addr", "ipv4:port" or
// "[ipv6]:port" with a port of 1 to 65535.
func ParseAddrPort(b []byte) (a Addr, ok bool) {
	if a, ok := parseAddr(b); ok {
		return a, true
	}
	var host, port []byte
	if len(b) > 0 && b[0] == '[' {
		end := indexByte(b, ']')
		if end < 0 || end == len(b)-1 || b[end+1] != ':' {
			return a, false
		}
		// nginx drops the first and the last byte of what precedes the
		// port: "[::1]:80" leaves "::1".
		host, port = b[1:end], b[end+2:]
	} else {
		colon := indexByte(b, ':')
		if colon < 0 {
			return a, false
		}
		host, port = b[:colon], b[colon+1:]
	}
	p, ok := atoi(port)
	if !ok || p < 1 || p > 65535 {
		return a, false
	}
	if a, ok = parseAddr(host); !ok {
		return a, false
	}
	a.Port = p
	return a, true
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// atoi is ngx_atoi: decimal digits only, not empty, no overflow.
func atoi(b []byte) (int, bool) {
	if len(b) == 0 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' || n > (1<<31)/10 {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// AppendText appends the address as ngx_sock_ntop prints it without the
// port (what $remote_addr and the logs show).
func (a Addr) AppendText(dst []byte) []byte {
	if a.Unix {
		return append(dst, "unix:"...)
	}
	if !a.V6 {
		for i := 0; i < 4; i++ {
			if i > 0 {
				dst = append(dst, '.')
			}
			dst = strconv.AppendUint(dst, uint64(a.IP[i]), 10)
		}
		return dst
	}
	return appendIPv6(dst, &a.IP)
}

// appendIPv6 is ngx_inet6_ntop: the first longest run of two or more zero
// groups becomes "::", and some addresses starting with zeros end in
// dotted IPv4 (IPv4-mapped ones, and "::a.b.c.d" forms).
func appendIPv6(dst []byte, p *[16]byte) []byte {
	zero, last, max, n := -1, -1, 1, 0
	for i := 0; i < 16; i += 2 {
		if p[i] != 0 || p[i+1] != 0 {
			if max < n {
				zero, max = last, n
			}
			n = 0
			continue
		}
		if n == 0 {
			last = i
		}
		n++
	}
	if max < n {
		zero, max = last, n
	}
	end := 16
	if zero == 0 {
		if (max == 5 && p[10] == 0xff && p[11] == 0xff) || max == 6 || (max == 7 && p[14] != 0 && p[15] != 1) {
			end = 12
		}
		dst = append(dst, ':')
	}
	for i := 0; i < end; i += 2 {
		if i == zero {
			dst = append(dst, ':')
			i += (max - 1) * 2
			continue
		}
		dst = strconv.AppendUint(dst, uint64(p[i])<<8|uint64(p[i+1]), 16)
		if i < 14 {
			dst = append(dst, ':')
		}
	}
	if end == 12 {
		for i := 12; i < 16; i++ {
			if i > 12 {
				dst = append(dst, '.')
			}
			dst = strconv.AppendUint(dst, uint64(p[i]), 10)
		}
	}
	return dst
}
