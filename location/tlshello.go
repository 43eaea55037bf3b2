package location

import "golang.org/x/crypto/cryptobyte"

// offersTicket reports whether a TLS record holding a ClientHello (what
// a TLS socket's first read took) offers a session ticket: a
// session_ticket extension that is not empty. False when the record is
// cut short or holds no ClientHello: the handshake then goes as one that
// offers none.
func offersTicket(rec []byte) bool {
	s := cryptobyte.String(rec)
	var typ, msgType uint8
	var version uint16
	var body, hello, sessionID, suites, compression, exts cryptobyte.String
	if !s.ReadUint8(&typ) || typ != 22 || !s.ReadUint16(&version) || !s.ReadUint16LengthPrefixed(&body) ||
		!body.ReadUint8(&msgType) || msgType != 1 || !body.ReadUint24LengthPrefixed(&hello) ||
		!hello.Skip(2+32) || !hello.ReadUint8LengthPrefixed(&sessionID) || !hello.ReadUint16LengthPrefixed(&suites) ||
		!hello.ReadUint8LengthPrefixed(&compression) || !hello.ReadUint16LengthPrefixed(&exts) {
		return false
	}
	for !exts.Empty() {
		var ext uint16
		var data cryptobyte.String
		if !exts.ReadUint16(&ext) || !exts.ReadUint16LengthPrefixed(&data) {
			return false
		}
		if ext == 35 { // session_ticket
			return len(data) > 0
		}
	}
	return false
}
