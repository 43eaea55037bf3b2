package auth

import (
	"bytes"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"strings"
)

// Result is what checking a password against a stored hash gives.
type Result uint8

const (
	Mismatch    Result = iota // crypt's output differs from the stored string
	Match                     // it is the stored string
	Unsupported               // a format libxcrypt has and this package lacks: never a match
)

// Verify checks password against stored (one user file entry) as nginx
// does: crypt(password, stored) == stored. Both are C strings to nginx,
// so each ends at its first NUL.
func Verify(password, stored []byte) Result {
	password, stored = cString(password), cString(stored)
	var got []byte
	switch {
	case bytes.HasPrefix(stored, []byte("$apr1$")):
		got = md5Crypt(password, stored, "$apr1$")
	case bytes.HasPrefix(stored, []byte("{PLAIN}")):
		return equal(password, stored[len("{PLAIN}"):])
	case bytes.HasPrefix(stored, []byte("{SSHA}")):
		got = ssha(password, stored[len("{SSHA}"):])
	case bytes.HasPrefix(stored, []byte("{SHA}")):
		sum := sha1.Sum(password)
		var enc [28]byte
		base64.StdEncoding.Encode(enc[:], sum[:])
		return equal(enc[:], stored[len("{SHA}"):])
	default:
		return libcCrypt(password, stored)
	}
	return equal(got, stored)
}

func equal(got, stored []byte) Result {
	if subtle.ConstantTimeCompare(got, stored) == 1 {
		return Match
	}
	return Mismatch
}

func cString(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}

// ssha is nginx's {SSHA}: base64(SHA1(password salt) salt), the salt
// being what the stored value decodes to after 20 bytes (none when it
// does not decode or is shorter).
func ssha(password, enc []byte) []byte {
	dec := make([]byte, max(base64.RawStdEncoding.DecodedLen(len(enc)), 20))
	n, err := decodeNginxBase64(dec, enc)
	if err != nil || n < 20 {
		n = 20
	}
	h := sha1.New()
	h.Write(password)
	h.Write(dec[20:n])
	copy(dec, h.Sum(nil))
	return base64.StdEncoding.AppendEncode([]byte("{SSHA}"), dec[:n])
}

// decodeNginxBase64 is ngx_decode_base64: the input up to its first '='.
func decodeNginxBase64(dst, src []byte) (int, error) {
	if i := bytes.IndexByte(src, '='); i >= 0 {
		src = src[:i]
	}
	if bytes.ContainsAny(src, "\r\n") {
		return 0, base64.CorruptInputError(0)
	}
	return base64.RawStdEncoding.Decode(dst, src)
}

// libcCrypt is crypt(3) as Debian's libxcrypt computes it, for the
// formats gonginx implements.
func libcCrypt(password, setting []byte) Result {
	if badSettingChars(setting) {
		return Mismatch // libxcrypt's failure token "*0" or "*1"
	}
	s := string(setting)
	switch {
	case strings.HasPrefix(s, "$1$"):
		return equal(md5Crypt(password, setting, "$1$"), setting)
	case strings.HasPrefix(s, "$5$"):
		got, ok := shaCrypt(password, s, false)
		if !ok {
			return Mismatch
		}
		return equal(got, setting)
	case strings.HasPrefix(s, "$6$"):
		got, ok := shaCrypt(password, s, true)
		if !ok {
			return Mismatch
		}
		return equal(got, setting)
	case strings.HasPrefix(s, "$2"):
		return bcryptVerify(password, setting)
	case strings.HasPrefix(s, "$sha1$"):
		got, ok := sha1Crypt(password, s)
		if !ok {
			return Mismatch
		}
		return equal(got, setting)
	case strings.HasPrefix(s, "$7$"):
		got, ok := scryptCrypt(password, s)
		if !ok {
			return Mismatch
		}
		return equal(got, setting)
	case strings.HasPrefix(s, "_"):
		got, ok := bsdiCrypt(password, setting)
		if !ok {
			return Mismatch
		}
		return equal(got, setting)
	case strings.HasPrefix(s, "$3$"):
		return equal(ntHash(password), setting)
	case strings.HasPrefix(s, "$y$"):
		got, ok := yescryptCrypt(password, s)
		if !ok {
			return Mismatch
		}
		return equal(got, setting)
	case strings.HasPrefix(s, "$gy$"):
		got, ok := gostYescryptCrypt(password, s)
		if !ok {
			return Mismatch
		}
		return equal(got, setting)
	case strings.HasPrefix(s, "$md5"):
		return Unsupported
	case strings.HasPrefix(s, "$"):
		return Mismatch // no such method: a failure token
	}
	got, ok := desCrypt(password, setting)
	if !ok {
		return Mismatch
	}
	return equal(got, setting)
}

// badSettingChars is libxcrypt's refusal of a setting holding a control
// character, a space, a non-ASCII byte or one of *:;!\ (whatever the
// method): crypt fails.
func badSettingChars(s []byte) bool {
	for _, c := range s {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`*:;!\`, c) >= 0 {
			return true
		}
	}
	return false
}

// itoa64 is crypt's base-64 alphabet.
const itoa64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// to64 appends n characters of v, low 6 bits first.
func to64(dst []byte, v uint32, n int) []byte {
	for ; n > 0; n-- {
		dst = append(dst, itoa64[v&0x3f])
		v >>= 6
	}
	return dst
}
