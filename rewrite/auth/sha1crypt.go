package auth

import (
	"crypto/hmac"
	"crypto/sha1"
	"strconv"
	"strings"
)

// sha1Crypt is NetBSD's "$sha1$rounds$salt$": HMAC-SHA1 keyed with the
// password over "salt$sha1$rounds", then over its own output until
// rounds HMACs were taken (one at least). rounds is written as a decimal
// number, normalized in the output as libxcrypt does.
func sha1Crypt(password []byte, setting string) ([]byte, bool) {
	rest := setting[len("$sha1$"):]
	end := strings.IndexByte(rest, '$')
	if end < 0 {
		return nil, false
	}
	rounds := uint64(0)
	for _, c := range []byte(rest[:end]) {
		if c < '0' || c > '9' {
			return nil, false
		}
		rounds = rounds*10 + uint64(c-'0')
		if rounds > 1<<32-1 {
			return nil, false
		}
	}
	salt := rest[end+1:]
	if i := strings.IndexByte(salt, '$'); i >= 0 {
		salt = salt[:i]
	}
	r := strconv.FormatUint(rounds, 10)
	mac := hmac.New(sha1.New, password)
	mac.Write([]byte(salt + "$sha1$" + r))
	d := mac.Sum(nil)
	for i := uint64(1); i < rounds; i++ {
		mac.Reset()
		mac.Write(d)
		d = mac.Sum(d[:0])
	}
	out := []byte("$sha1$" + r + "$" + salt + "$")
	for i := 0; i < 18; i += 3 {
		out = to64(out, uint32(d[i])<<16|uint32(d[i+1])<<8|uint32(d[i+2]), 4)
	}
	return to64(out, uint32(d[18])<<16|uint32(d[19])<<8|uint32(d[0]), 4), true
}
