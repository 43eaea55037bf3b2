package resolver

import (
	"encoding/binary"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Address lookups (PTR), as ngx_resolve_addr does for the mail module's
// SMTP client names: one question of type PTR for the in-addr.arpa (or
// ip6.arpa) name, the first PTR record of the answer (CNAMEs before it
// are skipped), cached as names are.

const typePTR = 12

// ResolveAddr returns the name addr's PTR record gives.
func (r *Resolver) ResolveAddr(addr netip.Addr, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	key := arpaName(addr)
	n, _ := r.lookupWith("ptr "+key, deadline, func(n *node) { r.queryPTR(key, n, deadline) })
	switch {
	case n.code == codeStopped:
		return "", ErrStopped
	case n.code != 0:
		return "", &Error{Name: addr.String(), Code: n.code}
	}
	return n.cname, nil
}

// arpaName is the reverse lookup name of addr.
func arpaName(addr netip.Addr) string {
	var sb strings.Builder
	b := addr.AsSlice()
	if addr.Is4() || addr.Is4In6() {
		b = addr.Unmap().AsSlice()
		for i := len(b) - 1; i >= 0; i-- {
			sb.WriteString(strconv.Itoa(int(b[i])) + ".")
		}
		sb.WriteString("in-addr.arpa")
		return sb.String()
	}
	const hex = "0123456789abcdef"
	for i := len(b) - 1; i >= 0; i-- {
		sb.WriteByte(hex[b[i]&15])
		sb.WriteByte('.')
		sb.WriteByte(hex[b[i]>>4])
		sb.WriteByte('.')
	}
	sb.WriteString("ip6.arpa")
	return sb.String()
}

// queryPTR asks the servers in turn, resending until the deadline, and
// fills n: the name in n.cname, or the error code.
func (r *Resolver) queryPTR(key string, n *node, deadline time.Time) {
	if len(r.cfg.Servers) == 0 {
		n.code = codeTimedOut
		return
	}
	for time.Now().Before(deadline) {
		select {
		case <-r.stop:
			n.code = codeStopped
			return
		default:
		}
		r.mu.Lock()
		server := r.cfg.Servers[r.next%len(r.cfg.Servers)]
		r.next++
		r.mu.Unlock()
		attempt := time.Now().Add(r.resend)
		if attempt.After(deadline) {
			attempt = deadline
		}
		if msg := r.exchangeUDP(server, key, typePTR, attempt); msg != nil {
			parsePTR(msg, n)
			return
		}
		select {
		case <-r.stop:
		case <-time.After(time.Until(attempt)):
		}
	}
	n.code = codeTimedOut
}

// parsePTR reads a PTR response into n as ngx_resolver_process_ptr: an
// error code; else the first PTR record's name, CNAME records skipped;
// a record of another type, or a PTR whose name does not parse, is a
// format error; no PTR at all is "Host not found".
func parsePTR(msg []byte, n *node) {
	flags := binary.BigEndian.Uint16(msg[2:])
	if code := int(flags & 0xf); code != 0 {
		n.code = code
		return
	}
	nan := int(binary.BigEndian.Uint16(msg[6:]))
	_, off, err := readName(msg, 12)
	if err != nil {
		n.code = codeFormErr
		return
	}
	off += 4
	for range nan {
		if _, off, err = readName(msg, off); err != nil || off+10 > len(msg) {
			n.code = codeFormErr
			return
		}
		typ := binary.BigEndian.Uint16(msg[off:])
		ttl := binary.BigEndian.Uint32(msg[off+4:])
		size := int(binary.BigEndian.Uint16(msg[off+8:]))
		off += 10
		if off+size > len(msg) {
			n.code = codeFormErr
			return
		}
		switch typ {
		case typeCNAME:
			off += size
			continue
		case typePTR:
			name, end, err := readName(msg, off)
			if err != nil || size == 0 || end > off+size || name == "" {
				n.code = codeFormErr
				return
			}
			if int32(ttl) < 0 {
				ttl = 0
			}
			n.cname = name
			n.valid = time.Now().Add(time.Duration(ttl) * time.Second)
			return
		default:
			n.code = codeFormErr
			return
		}
	}
	n.code = codeNXDomain
}

// exchangeUDP sends one query and returns the matching response (nil by
// the deadline).
func (r *Resolver) exchangeUDP(server netip.AddrPort, name string, qtype uint16, deadline time.Time) []byte {
	conn := r.dial("udp", server, deadline)
	if conn == nil {
		return nil
	}
	defer r.untrack(conn)
	id := uint16(time.Now().UnixNano())
	if _, err := conn.Write(appendQuery(nil, id, name, qtype)); err != nil {
		return nil
	}
	conn.SetReadDeadline(deadline)
	buf := make([]byte, 4096)
	for {
		m, err := conn.Read(buf)
		if err != nil {
			return nil
		}
		msg := buf[:m]
		if m < 12 || binary.BigEndian.Uint16(msg) != id || binary.BigEndian.Uint16(msg[2:])&0xf870 != flagResponse ||
			binary.BigEndian.Uint16(msg[4:]) != 1 {
			continue
		}
		q, off, err := readName(msg, 12)
		if err != nil || q != name || off+4 > m || binary.BigEndian.Uint16(msg[off:]) != qtype {
			continue
		}
		return msg
	}
}
