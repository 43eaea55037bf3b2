package resolver

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"strings"
)

// DNS record types and the header bits nginx's resolver looks at.
const (
	typeA     = 1
	typeCNAME = 5
	typeAAAA  = 28

	flagResponse  = 0x8000
	flagTruncated = 0x0200
	flagRecursion = 0x0100
)

// Response codes and nginx's names for them (ngx_resolver_strerror);
// codeTimedOut is NGX_RESOLVE_TIMEDOUT (ETIMEDOUT).
const (
	codeFormErr  = 1
	codeServFail = 2
	codeNXDomain = 3
	codeNotImp   = 4
	codeRefused  = 5
	codeTimedOut = 110
)

func strerror(code int) string {
	switch code {
	case codeFormErr:
		return "Format error"
	case codeServFail:
		return "Server failure"
	case codeNXDomain:
		return "Host not found"
	case codeNotImp:
		return "Unimplemented"
	case codeRefused:
		return "Operation refused"
	case codeTimedOut:
		return "Operation timed out"
	}
	return "Unknown error"
}

// appendQuery appends a standard query for name (recursion desired, one
// question of class IN), as ngx_resolver_create_name_query writes it.
func appendQuery(b []byte, id uint16, name string, qtype uint16) []byte {
	b = binary.BigEndian.AppendUint16(b, id)
	b = binary.BigEndian.AppendUint16(b, flagRecursion)
	b = append(b, 0, 1, 0, 0, 0, 0, 0, 0)
	for label := range strings.SplitSeq(strings.TrimSuffix(name, "."), ".") {
		b = append(b, byte(len(label)))
		b = append(b, label...)
	}
	b = append(b, 0)
	b = binary.BigEndian.AppendUint16(b, qtype)
	return binary.BigEndian.AppendUint16(b, 1)
}

// answer is what one response says about one question.
type answer struct {
	id        uint16
	qtype     uint16
	qname     string // lower case
	truncated bool
	code      int
	addrs     []netip.Addr
	cname     string
	ttl       uint32
	records   int // answer records of any type
}

var errMalformed = errors.New("malformed DNS response")

// parseResponse reads a response as ngx_resolver_process_response and
// ngx_resolver_process_a do: a standard response to one question of class
// IN; every A or AAAA record of the answer section counts (those after a
// CNAME too), the TTL is the least of the answers'.
func parseResponse(msg []byte) (*answer, error) {
	if len(msg) < 12 {
		return nil, errMalformed
	}
	flags := binary.BigEndian.Uint16(msg[2:])
	if flags&0xf870 != flagResponse {
		return nil, errMalformed
	}
	a := &answer{
		id:        binary.BigEndian.Uint16(msg),
		truncated: flags&flagTruncated != 0,
		code:      int(flags & 0xf),
		ttl:       ^uint32(0),
	}
	if binary.BigEndian.Uint16(msg[4:]) != 1 {
		return nil, errMalformed
	}
	nan := int(binary.BigEndian.Uint16(msg[6:]))
	name, off, err := readName(msg, 12)
	if err != nil || off+4 > len(msg) {
		return nil, errMalformed
	}
	a.qname = name
	a.qtype = binary.BigEndian.Uint16(msg[off:])
	if binary.BigEndian.Uint16(msg[off+2:]) != 1 {
		return nil, errMalformed
	}
	off += 4
	if a.code != 0 {
		return a, nil
	}
	for range nan {
		if _, off, err = readName(msg, off); err != nil || off+10 > len(msg) {
			return nil, errMalformed
		}
		typ := binary.BigEndian.Uint16(msg[off:])
		ttl := binary.BigEndian.Uint32(msg[off+4:])
		size := int(binary.BigEndian.Uint16(msg[off+8:]))
		off += 10
		if off+size > len(msg) || binary.BigEndian.Uint16(msg[off-8:]) != 1 {
			return nil, errMalformed
		}
		if int32(ttl) < 0 {
			ttl = 0
		}
		a.ttl = min(a.ttl, ttl)
		a.records++
		data := msg[off : off+size]
		switch typ {
		case typeA, typeAAAA:
			if typ != a.qtype || (typ == typeA && size != 4) || (typ == typeAAAA && size != 16) {
				return nil, errMalformed
			}
			addr, _ := netip.AddrFromSlice(data)
			a.addrs = append(a.addrs, addr)
		case typeCNAME:
			if a.cname, _, err = readName(msg, off); err != nil {
				return nil, errMalformed
			}
		}
		off += size
	}
	return a, nil
}

// readName reads a possibly compressed name at off, returning it in lower
// case without the final dot and the offset after it.
func readName(msg []byte, off int) (string, int, error) {
	var sb strings.Builder
	end := -1
	for jumps := 0; ; {
		if off >= len(msg) {
			return "", 0, errMalformed
		}
		n := int(msg[off])
		switch {
		case n == 0:
			if end < 0 {
				end = off + 1
			}
			return sb.String(), end, nil
		case n&0xc0 == 0xc0:
			if off+1 >= len(msg) || jumps > 64 {
				return "", 0, errMalformed
			}
			if end < 0 {
				end = off + 2
			}
			off = int(binary.BigEndian.Uint16(msg[off:]) & 0x3fff)
			jumps++
		case n&0xc0 != 0:
			return "", 0, errMalformed
		default:
			if off+1+n > len(msg) || sb.Len()+n > 255 {
				return "", 0, errMalformed
			}
			if sb.Len() > 0 {
				sb.WriteByte('.')
			}
			sb.WriteString(strings.ToLower(string(msg[off+1 : off+1+n])))
			off += 1 + n
		}
	}
}
