package auth

import (
	"strings"

	"golang.org/x/crypto/scrypt"
)

// scryptCrypt is libxcrypt's "$7$": one character of log2 N, five each of
// r and p (30 bits, low first), the salt as written, then scrypt's 32
// bytes in crypt's base 64 (low bits first).
func scryptCrypt(password []byte, setting string) ([]byte, bool) {
	if len(setting) < 3+1+5+5 {
		return nil, false
	}
	nlog := strings.IndexByte(itoa64, setting[3])
	if nlog < 2 {
		return nil, false
	}
	decode30 := func(s string) (int, bool) {
		v := 0
		for i := range 5 {
			c := strings.IndexByte(itoa64, s[i])
			if c < 0 {
				return 0, false
			}
			v |= c << (6 * i)
		}
		return v, true
	}
	r, ok1 := decode30(setting[4:9])
	p, ok2 := decode30(setting[9:14])
	if !ok1 || !ok2 || r == 0 || p == 0 {
		return nil, false
	}
	salt := setting[14:]
	if i := strings.IndexByte(salt, '$'); i >= 0 {
		salt = salt[:i]
	}
	key, err := scrypt.Key(password, []byte(salt), 1<<nlog, r, p, 32)
	if err != nil {
		return nil, false
	}
	out := append([]byte(nil), setting[:14]...)
	out = append(out, salt...)
	out = append(out, '$')
	for i := 0; i < 30; i += 3 {
		out = to64(out, uint32(key[i])|uint32(key[i+1])<<8|uint32(key[i+2])<<16, 4)
	}
	return to64(out, uint32(key[30])|uint32(key[31])<<8, 3), true
}
