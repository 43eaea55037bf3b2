// Package proxyproto reads the PROXY protocol header (versions 1 and 2)
// a load balancer sends before the client's bytes, as nginx 1.22's
// ngx_proxy_protocol_read does: what is an error, what is skipped and
// what each address reads as. It owns only the parsing; the server reads
// the bytes (one read, as nginx) and the variables show the result.
package proxyproto

import (
	"bytes"
	"strconv"

	"github.com/gonginx/gonginx/location/realip"
)

// MaxTLSHeader is NGX_PROXY_PROTOCOL_MAX_HEADER: on an ssl listener nginx
// peeks at most this many bytes plus one for the header.
const MaxTLSHeader = 107

// Header is what a header carried: the source (the client) and the
// destination (the address the client connected to) as nginx keeps them.
// A version 1 address is the text as sent; a version 2 one is printed as
// ngx_sock_ntop prints it. A port of 0 reads as empty.
type Header struct {
	SrcAddr, DstAddr string
	SrcPort, DstPort int
}

// Error is a header nginx refuses; the connection is closed. Msg is
// what nginx logs at [error], "" when it closes without a word.
type Error struct{ Msg string }

func (e *Error) Error() string {
	if e.Msg == "" {
		return "PROXY protocol header refused"
	}
	return e.Msg
}

var v2Signature = []byte("\r\n\r\n\x00\r\nQUIT\n")

// v2HeaderLen is the fixed part of a version 2 header: the signature,
// version and command, family and transport, and the length.
const v2HeaderLen = 16

// Parse reads the header at the start of b (the bytes of one read). It
// returns the bytes the header took, and h is nil when the header names
// no addresses (UNKNOWN, a LOCAL command, another transport or family):
// the connection then goes on with its own addresses.
func Parse(b []byte) (h *Header, n int, err error) {
	if len(b) >= v2HeaderLen && bytes.Equal(b[:len(v2Signature)], v2Signature) {
		return parseV2(b)
	}
	if len(b) < 8 || string(b[:6]) != "PROXY " {
		return nil, 0, broken(b)
	}
	p := b[6:]
	if len(p) >= 7 && string(p[:7]) == "UNKNOWN" {
		// The rest of the line is skipped up to CRLF, whatever it holds.
		if i := bytes.Index(p[7:], []byte("\r\n")); i >= 0 {
			return nil, 6 + 7 + i + 2, nil
		}
		return nil, 0, broken(b)
	}
	if len(p) < 5 || string(p[:3]) != "TCP" || (p[3] != '4' && p[3] != '6') || p[4] != ' ' {
		return nil, 0, broken(b)
	}
	p = p[5:]
	var src, dst []byte
	var ok bool
	var hd Header
	if src, p, ok = readAddr(p); !ok {
		return nil, 0, broken(b)
	}
	if dst, p, ok = readAddr(p); !ok {
		return nil, 0, broken(b)
	}
	if hd.SrcPort, p, ok = readPort(p, ' '); !ok {
		return nil, 0, broken(b)
	}
	if hd.DstPort, p, ok = readPort(p, '\r'); !ok {
		return nil, 0, broken(b)
	}
	if len(p) == 0 || p[0] != '\n' {
		return nil, 0, broken(b)
	}
	hd.SrcAddr, hd.DstAddr = string(src), string(dst)
	return &hd, len(b) - len(p) + 1, nil
}

func broken(b []byte) error {
	return &Error{Msg: `broken header: "` + string(b) + `"`}
}

// readAddr takes the characters up to a space: hex digits, ':' and '.'
// only, an empty address included (nginx checks no more).
func readAddr(p []byte) (addr, rest []byte, ok bool) {
	for i, c := range p {
		if c == ' ' {
			return p[:i], p[i+1:], true
		}
		if c != ':' && c != '.' && !('a' <= c && c <= 'f') && !('A' <= c && c <= 'F') && !('0' <= c && c <= '9') {
			return nil, nil, false
		}
	}
	return nil, nil, false
}

// readPort takes the decimal number up to sep (ngx_atoi: digits only,
// at least one) and checks it is at most 65535.
func readPort(p []byte, sep byte) (port int, rest []byte, ok bool) {
	i := bytes.IndexByte(p, sep)
	if i <= 0 {
		return 0, nil, false
	}
	n := 0
	for _, c := range p[:i] {
		if c < '0' || c > '9' {
			return 0, nil, false
		}
		if n = n*10 + int(c-'0'); n > 65535 {
			return 0, nil, false
		}
	}
	return n, p[i+1:], true
}

func parseV2(b []byte) (*Header, int, error) {
	if v := b[12] >> 4; v != 2 {
		return nil, 0, &Error{Msg: "unknown PROXY protocol version: " + strconv.Itoa(int(v))}
	}
	size := int(b[14])<<8 | int(b[15])
	if len(b)-v2HeaderLen < size {
		return nil, 0, &Error{Msg: "header is too large"}
	}
	end := v2HeaderLen + size
	body := b[v2HeaderLen:end]
	// Only the PROXY command over a stream transport carries addresses;
	// LOCAL (a health check) and the rest are skipped whole.
	if b[12]&0x0f != 1 || b[13]&0x0f != 1 {
		return nil, end, nil
	}
	var h Header
	switch b[13] >> 4 {
	case 1: // AF_INET
		if len(body) < 12 {
			return nil, 0, &Error{}
		}
		h.SrcAddr = addrText(false, body[0:4])
		h.DstAddr = addrText(false, body[4:8])
		h.SrcPort = int(body[8])<<8 | int(body[9])
		h.DstPort = int(body[10])<<8 | int(body[11])
	case 2: // AF_INET6
		if len(body) < 36 {
			return nil, 0, &Error{}
		}
		h.SrcAddr = addrText(true, body[0:16])
		h.DstAddr = addrText(true, body[16:32])
		h.SrcPort = int(body[32])<<8 | int(body[33])
		h.DstPort = int(body[34])<<8 | int(body[35])
	default:
		return nil, end, nil
	}
	// TLVs after the addresses are skipped: nginx 1.22 reads none.
	return &h, end, nil
}

func addrText(v6 bool, ip []byte) string {
	a := realip.Addr{V6: v6}
	copy(a.IP[:], ip)
	var buf [48]byte
	return string(a.AppendText(buf[:0]))
}

// PortText is a port as $proxy_protocol_port shows it: empty for 0.
func PortText(port int) string {
	if port <= 0 {
		return ""
	}
	return strconv.Itoa(port)
}
