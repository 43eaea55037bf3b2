package stream

// ssl_preread: what a TLS ClientHello says before any handshake
// ($ssl_preread_server_name, $ssl_preread_alpn_protocols,
// $ssl_preread_protocol), read as ngx_stream_ssl_preread_module reads it:
// whole records of the handshake type, their payloads one message, the
// fields walked in order; a field longer than what its message has left,
// an SNI name that is not a host name, or an empty ALPN protocol make the
// module decline (the variables are then empty).

type prereadResult uint8

const (
	prereadAgain    prereadResult = iota // more bytes are needed
	prereadOK                            // the hello was read
	prereadDeclined                      // not a ClientHello nginx reads
)

// clientHello is what ssl_preread found.
type clientHello struct {
	ok         bool // read: the variables are found (maybe empty)
	serverName string
	alpn       string // protocols joined with ","
	protocol   string // "TLSv1.2", ...; "" when unknown
}

func (h *clientHello) reset() { *h = clientHello{} }

// parseRecords reads the TLS records at the start of b.
func parseRecords(b []byte, h *clientHello) prereadResult {
	var msg []byte
	for p := b; len(p) >= 5; {
		if p[0]&0x80 != 0 && p[2] == 1 && (p[3] == 0 || p[3] == 3) {
			// A version 2 ClientHello: only the version is known.
			*h = clientHello{ok: true, protocol: protocolName(p[3], p[4])}
			return prereadOK
		}
		if p[0] != 0x16 || p[1] != 3 {
			h.reset()
			return prereadDeclined
		}
		n := int(p[3])<<8 | int(p[4])
		if len(p) < 5+n {
			break
		}
		msg = append(msg, p[5:5+n]...)
		p = p[5+n:]
		switch r := parseHello(msg, h); r {
		case prereadDeclined:
			h.reset()
			return r
		case prereadOK:
			return r
		}
	}
	return prereadAgain
}

// protocolName is SSL_get_version's name of a version.
func protocolName(major, minor byte) string {
	switch uint16(major)<<8 | uint16(minor) {
	case 0x0002:
		return "SSLv2"
	case 0x0300:
		return "SSLv3"
	case 0x0301:
		return "TLSv1"
	case 0x0302:
		return "TLSv1.1"
	case 0x0303:
		return "TLSv1.2"
	case 0x0304:
		return "TLSv1.3"
	}
	return ""
}

// The fields of a ClientHello, in order (the states of nginx's parser).
const (
	stHeader = iota
	stVersion
	stRandom
	stSidLen
	stSid
	stCsLen
	stCs
	stCmLen
	stCm
	stExt
	stExtHeader
	stSniLen
	stSniHostHead
	stSniHost
	stAlpnLen
	stAlpnProtoLen
	stAlpnProtoData
	stSupverLen
)

// parseHello walks one handshake message, as far as msg goes.
func parseHello(msg []byte, h *clientHello) prereadResult {
	var (
		head        [4]byte
		version     [2]byte
		host, alpn  []byte
		hostSet     bool
		alpnSet     bool
		state       = stHeader
		size        = 4
		left        = 4
		ext         int
		pos         int
		field       []byte // the bytes of the field just read
		hostLen     int
		alpnPending bool
	)
	for {
		if len(msg)-pos < size {
			return prereadAgain
		}
		field = msg[pos : pos+size]
		pos += size
		left -= size
		switch state {
		case stHeader:
			copy(head[:], field)
			if head[0] != 1 {
				return prereadDeclined
			}
			state, size = stVersion, 2
			left = int(head[1])<<16 | int(head[2])<<8 | int(head[3])
		case stVersion:
			copy(version[:], field)
			state, size = stRandom, 32
		case stRandom:
			state, size = stSidLen, 1
		case stSidLen:
			state, size = stSid, int(field[0])
		case stSid:
			state, size = stCsLen, 2
		case stCsLen:
			state, size = stCs, int(field[0])<<8|int(field[1])
		case stCs:
			state, size = stCmLen, 1
		case stCmLen:
			state, size = stCm, int(field[0])
		case stCm, stExt:
			if left == 0 {
				h.ok, h.serverName, h.alpn = true, string(host), string(alpn)
				h.protocol = protocolName(version[0], version[1])
				return prereadOK
			}
			if state == stCm {
				state, size = stExt, 2
			} else {
				state, size = stExtHeader, 4
			}
		case stExtHeader:
			switch {
			case field[0] == 0 && field[1] == 0 && !hostSet:
				state, size = stSniLen, 2
			case field[0] == 0 && field[1] == 16 && !alpnSet:
				state, size = stAlpnLen, 2
			case field[0] == 0 && field[1] == 43:
				state, size = stSupverLen, 1
			default:
				state, size = stExt, int(field[2])<<8|int(field[3])
			}
		case stSniLen:
			ext = int(field[0])<<8 | int(field[1])
			state, size = stSniHostHead, 3
		case stSniHostHead:
			if field[0] != 0 {
				return prereadDeclined
			}
			size = int(field[1])<<8 | int(field[2])
			if ext < 3+size {
				return prereadDeclined
			}
			ext -= 3 + size
			hostLen, hostSet = size, true
			state = stSniHost
		case stSniHost:
			host = append(host[:0], field[:hostLen]...)
			state, size = stExt, ext
		case stAlpnLen:
			ext = int(field[0])<<8 | int(field[1])
			alpnSet = true
			state, size = stAlpnProtoLen, 1
		case stAlpnProtoLen:
			size = int(field[0])
			if size == 0 || ext < 1+size {
				return prereadDeclined
			}
			ext -= 1 + size
			state = stAlpnProtoData
		case stAlpnProtoData:
			if alpnPending {
				alpn = append(alpn, ',')
			}
			alpn = append(alpn, field...)
			if ext > 0 {
				alpnPending = true
				state, size = stAlpnProtoLen, 1
			} else {
				state, size = stExt, 0
			}
		case stSupverLen:
			version = [2]byte{3, 4}
			state, size = stExt, int(field[0])
		}
		if left < size {
			return prereadDeclined
		}
	}
}
