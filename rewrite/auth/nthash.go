package auth

import (
	"encoding/hex"

	"golang.org/x/crypto/md4"
)

// ntHash is libxcrypt's "$3$": MD4 of the password's bytes widened to
// 16 bits (not decoded as UTF-8), as "$3$$" and 32 hex digits. Whatever
// follows "$3$" in the setting is ignored.
func ntHash(password []byte) []byte {
	h := md4.New()
	var wide [2]byte
	for _, c := range password {
		wide[0] = c
		h.Write(wide[:])
	}
	return hex.AppendEncode([]byte("$3$$"), h.Sum(nil))
}
