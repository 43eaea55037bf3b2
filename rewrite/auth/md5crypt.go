package auth

import (
	"bytes"
	"crypto/md5"
)

// md5Crypt is Poul-Henning Kamp's MD5 crypt with the given magic ("$1$"
// for crypt(3), "$apr1$" for Apache's variant nginx computes itself). The
// salt is up to 8 characters after the magic, ending at '$'.
func md5Crypt(password, setting []byte, magic string) []byte {
	salt := setting[len(magic):]
	if i := bytes.IndexByte(salt, '$'); i >= 0 {
		salt = salt[:i]
	}
	salt = salt[:min(len(salt), 8)]

	ctx := md5.New()
	ctx.Write(password)
	ctx.Write([]byte(magic))
	ctx.Write(salt)

	alt := md5.New()
	alt.Write(password)
	alt.Write(salt)
	alt.Write(password)
	final := alt.Sum(nil)
	for n := len(password); n > 0; n -= 16 {
		ctx.Write(final[:min(n, 16)])
	}
	var zero [1]byte
	for i := len(password); i > 0; i >>= 1 {
		if i&1 != 0 {
			ctx.Write(zero[:])
		} else {
			ctx.Write(password[:1])
		}
	}
	final = ctx.Sum(final[:0])

	for i := range 1000 {
		c := md5.New()
		if i&1 != 0 {
			c.Write(password)
		} else {
			c.Write(final)
		}
		if i%3 != 0 {
			c.Write(salt)
		}
		if i%7 != 0 {
			c.Write(password)
		}
		if i&1 != 0 {
			c.Write(final)
		} else {
			c.Write(password)
		}
		final = c.Sum(final[:0])
	}

	out := make([]byte, 0, len(magic)+len(salt)+1+22)
	out = append(out, magic...)
	out = append(out, salt...)
	out = append(out, '$')
	f := func(a, b, c int) uint32 { return uint32(final[a])<<16 | uint32(final[b])<<8 | uint32(final[c]) }
	out = to64(out, f(0, 6, 12), 4)
	out = to64(out, f(1, 7, 13), 4)
	out = to64(out, f(2, 8, 14), 4)
	out = to64(out, f(3, 9, 15), 4)
	out = to64(out, f(4, 10, 5), 4)
	out = to64(out, uint32(final[11]), 2)
	return out
}
