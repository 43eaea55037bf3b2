package realip

import (
	"errors"
	"net"
	"strings"

	"github.com/gonginx/gonginx/rewrite/http1"
)

// Net is one set_real_ip_from entry (nginx's ngx_cidr_t).
type Net struct {
	Unix bool // "unix:": any unix-domain peer
	V6   bool
	IP   [16]byte // already masked
	Mask [16]byte
}

// Source says which header carries the address (real_ip_header).
type Source uint8

const (
	XRealIP       Source = iota // the first X-Real-IP line (nginx's default)
	XForwardedFor               // every X-Forwarded-For line, last first
	Header                      // the first line of another header
	ProxyProtocol               // the PROXY protocol header's source address
)

// Config is a level's realip settings, merged as
// ngx_http_realip_merge_loc_conf does.
type Config struct {
	From      []Net // nil: the module does nothing here
	Source    Source
	Name      string // lowercased header name for Header
	Recursive bool
}

// ParseSource reads real_ip_header's argument (case-sensitive for the
// three names nginx knows; any other is a header name).
func ParseSource(arg string) (Source, string) {
	switch arg {
	case "X-Real-IP":
		return XRealIP, ""
	case "X-Forwarded-For":
		return XForwardedFor, ""
	case "proxy_protocol":
		return ProxyProtocol, ""
	}
	return Header, strings.ToLower(arg)
}

// ErrLowBits says a CIDR had host bits set: nginx warns "low address
// bits of ... are meaningless" and uses it masked.
var ErrLowBits = errors.New("low address bits are meaningless")

// ParseNet reads set_real_ip_from's argument: "unix:", an address, or an
// address/bits (ngx_ptocidr); lookup resolves any other name, as nginx
// resolves a host name at start-up into one /32 or /128 per address.
// The returned error is ErrLowBits (with the nets) or a lookup's error.
func ParseNet(arg string, lookup func(string) ([]net.IP, error)) ([]Net, error) {
	if arg == "unix:" {
		return []Net{{Unix: true}}, nil
	}
	if n, lowBits, ok := parseCIDR([]byte(arg)); ok {
		if lowBits {
			return []Net{n}, ErrLowBits
		}
		return []Net{n}, nil
	}
	ips, err := lookup(arg)
	if err != nil {
		return nil, err
	}
	var nets []Net
	for _, ip := range ips {
		var n Net
		if v4 := ip.To4(); v4 != nil {
			copy(n.IP[:], v4)
			copy(n.Mask[:4], []byte{255, 255, 255, 255})
		} else {
			n.V6 = true
			copy(n.IP[:], ip.To16())
			for i := range n.Mask {
				n.Mask[i] = 255
			}
		}
		nets = append(nets, n)
	}
	return nets, nil
}

// parseCIDR is ngx_ptocidr.
func parseCIDR(b []byte) (n Net, lowBits, ok bool) {
	slash := indexByte(b, '/')
	addr := b
	if slash >= 0 {
		addr = b[:slash]
	}
	bits := 32
	if v4, ok := parseIPv4(addr); ok {
		copy(n.IP[:], v4[:])
	} else if v6, ok := parseIPv6(addr); ok {
		n.V6, n.IP, bits = true, v6, 128
	} else {
		return n, false, false
	}
	if slash >= 0 {
		var ok bool
		if bits, ok = atoiShift(b[slash+1:]); !ok {
			return n, false, false
		}
		if n.V6 && bits > 128 || !n.V6 && bits > 32 {
			return n, false, false
		}
	}
	size := 4
	if n.V6 {
		size = 16
	}
	for i := 0; i < size; i++ {
		s := min(bits, 8)
		bits -= s
		n.Mask[i] = byte(0xff << (8 - s))
		if n.IP[i]&n.Mask[i] != n.IP[i] {
			lowBits = true
			n.IP[i] &= n.Mask[i]
		}
	}
	return n, lowBits, true
}

// atoiShift is ngx_atoi for a mask length (an empty one is an error).
func atoiShift(b []byte) (int, bool) {
	n, ok := atoi(b)
	return n, ok
}

// Contains is ngx_cidr_match for one entry: an IPv4-mapped IPv6 peer
// matches IPv4 entries.
func (n *Net) Contains(a *Addr) bool {
	if a.Unix || n.Unix {
		return a.Unix && n.Unix
	}
	v6, ip := a.V6, a.IP
	if v6 && isV4Mapped(&ip) {
		v6 = false
		copy(ip[:4], ip[12:16])
	}
	if v6 != n.V6 {
		return false
	}
	size := 4
	if v6 {
		size = 16
	}
	for i := 0; i < size; i++ {
		if ip[i]&n.Mask[i] != n.IP[i] {
			return false
		}
	}
	return true
}

func isV4Mapped(ip *[16]byte) bool {
	for i := 0; i < 10; i++ {
		if ip[i] != 0 {
			return false
		}
	}
	return ip[10] == 0xff && ip[11] == 0xff
}

// Trusted reports whether a is in the list (ngx_cidr_match).
func Trusted(from []Net, a *Addr) bool {
	for i := range from {
		if from[i].Contains(a) {
			return true
		}
	}
	return false
}

// lastAddr is one step of ngx_http_get_forwarded_addr_internal: trailing
// spaces and commas are dropped, and the last item of the list is what
// follows the last space or comma. It returns the item and the list
// before it (nil when the item started the value).
func lastAddr(v []byte) (item, rest []byte, more bool) {
	end := len(v)
	for end > 1 && (v[end-1] == ' ' || v[end-1] == ',') {
		end--
	}
	start := end - 1
	for start > 0 {
		if v[start] == ' ' || v[start] == ',' {
			start++
			break
		}
		start--
	}
	if start <= 0 {
		return v[:end], nil, false
	}
	return v[start:end], v[:start-1], true
}

type result uint8

const (
	declined result = iota // the address stays
	found                  // an address was taken and the walk ended in the list
	done                   // an address was taken; an untrusted or bad item stopped the walk
)

// forwardedIn walks one header value right to left while the current
// address is trusted.
func forwardedIn(from []Net, a *Addr, v []byte, recursive bool) result {
	took := false
	for {
		if !Trusted(from, a) {
			if took {
				return done
			}
			return declined
		}
		if len(v) == 0 {
			// nginx would read the byte before an empty value: a ':' or
			// a space, never an address.
			return declined
		}
		item, rest, more := lastAddr(v)
		next, ok := ParseAddrPort(item)
		if !ok {
			if took {
				return done
			}
			return declined
		}
		*a, took, v = next, true, rest
		if !recursive || !more {
			return found
		}
	}
}

// Forwarded applies the header c names in headers to the client address
// a, as ngx_http_realip_handler does through ngx_http_get_forwarded_addr;
// it reports whether a changed. ProxyProtocol is FromProxy's.
func Forwarded(c *Config, headers []http1.Header, a *Addr) bool {
	switch c.Source {
	case XForwardedFor:
		// The lines from last to first; with real_ip_recursive the walk
		// goes on into the line before while every item was trusted.
		rc, seen := declined, false
		for i := len(headers) - 1; i >= 0; i-- {
			if !equalFold(headers[i].Name, "x-forwarded-for") {
				continue
			}
			rc = forwardedIn(c.From, a, headers[i].Value, c.Recursive)
			if !c.Recursive {
				break
			}
			if rc == declined && seen {
				rc = done
				break
			}
			if rc != found {
				break
			}
			seen = true
		}
		return rc != declined
	case XRealIP, Header:
		name := c.Name
		if c.Source == XRealIP {
			name = "x-real-ip"
		}
		for i := range headers {
			if equalFold(headers[i].Name, name) {
				return forwardedIn(c.From, a, headers[i].Value, c.Recursive) != declined
			}
		}
	}
	return false
}

// FromProxy applies the source address of a PROXY protocol header (value)
// to the client address a when a is trusted, as ngx_http_realip_handler
// does for "real_ip_header proxy_protocol"; the caller sets the port.
func FromProxy(c *Config, value []byte, a *Addr) bool {
	return forwardedIn(c.From, a, value, c.Recursive) != declined
}

// equalFold compares a header name with a lowercase name.
func equalFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := range b {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}
