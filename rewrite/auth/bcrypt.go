package auth

import (
	"encoding/base64"

	"golang.org/x/crypto/bcrypt"
)

// bcryptB64 is bcrypt's own base-64 alphabet.
var bcryptB64 = base64.NewEncoding("./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789").WithPadding(base64.NoPadding)

// bcryptVerify checks a $2a$, $2b$, $2x$ or $2y$ hash. x/crypto keeps the
// salt as written, so a setting libxcrypt would not give back whole (a
// salt whose last character carries unused bits, a cost not written as
// two digits from 04 to 31, anything after the 60 characters) is a
// mismatch here, as crypt's output differs from it there.
func bcryptVerify(password, stored []byte) Result {
	if len(stored) != 60 || stored[0] != '$' || stored[1] != '2' || stored[3] != '$' || stored[6] != '$' {
		return Mismatch
	}
	minor := stored[2]
	if minor != 'a' && minor != 'b' && minor != 'x' && minor != 'y' {
		return Mismatch
	}
	d1, d2 := stored[4], stored[5]
	if d1 < '0' || d1 > '3' || d2 < '0' || d2 > '9' {
		return Mismatch
	}
	if cost := int(d1-'0')*10 + int(d2-'0'); cost < 4 || cost > 31 {
		return Mismatch
	}
	var salt [16]byte
	if n, err := bcryptB64.Decode(salt[:], stored[7:29]); err != nil || n != 16 ||
		bcryptB64.EncodeToString(salt[:]) != string(stored[7:29]) {
		return Mismatch
	}
	// $2a$ and $2x$ differ from $2b$ for bytes with the high bit set
	// (crypt_blowfish's sign-extension bug and its countermeasure),
	// which x/crypto does not reproduce.
	if minor == 'a' || minor == 'x' {
		for _, c := range password {
			if c >= 0x80 {
				return Unsupported
			}
		}
	}
	// Blowfish takes 72 bytes of key; crypt ignores the rest.
	password = password[:min(len(password), 72)]
	if bcrypt.CompareHashAndPassword(stored, password) == nil {
		return Match
	}
	return Mismatch
}
