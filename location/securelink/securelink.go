// Package securelink is nginx's secure_link module without the server
// around it: the "hash,expires" check of secure_link/secure_link_md5
// (base64url of an MD5, nginx's lenient decoder) and the older
// secure_link_secret URI form.
package securelink

import (
	"crypto/md5"
	"crypto/subtle"
)

// Result is the value $secure_link takes.
type Result uint8

const (
	NotFound Result = iota // no value: the link is wrong
	Expired                // "0"
	Valid                  // "1"
)

// Split is the first step of ngx_http_secure_link_variable: the value of
// "secure_link" is "hash" or "hash,expires". ok is false when the
// expiry is not a positive number (the link is then not found); expires
// is the text after the comma (nil without one), which
// $secure_link_expires shows even when the hash is wrong.
func Split(link []byte) (hash, expires []byte, when int64, ok bool) {
	for i, c := range link {
		if c != ',' {
			continue
		}
		hash, expires = link[:i], link[i+1:]
		when, ok = atotm(expires)
		if !ok || when <= 0 {
			return hash, expires, 0, false
		}
		return hash, expires, when, true
	}
	return link, nil, 0, true
}

// Check compares hash (base64url of an MD5, at most 24 characters)
// with the MD5 of input and then the expiry with now.
func Check(hash, input []byte, when, now int64) Result {
	if len(hash) > 24 {
		return NotFound
	}
	var buf [18]byte
	n, ok := decodeBase64URL(buf[:], hash)
	if !ok || n != 16 {
		return NotFound
	}
	sum := md5.Sum(input)
	if subtle.ConstantTimeCompare(buf[:16], sum[:]) != 1 {
		return NotFound
	}
	if when != 0 && when < now {
		return Expired
	}
	return Valid
}

// atotm is ngx_atotm: decimal digits only, not empty, no overflow.
func atotm(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	const max = 1<<63 - 1
	var v int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int64(c - '0')
		if v >= max/10 && (v > max/10 || d > max%10) {
			return 0, false
		}
		v = v*10 + d
	}
	return v, true
}

// decodeBase64URL is ngx_decode_base64url: it stops at the first '=',
// refuses any character outside the URL alphabet before it, and keeps
// whatever bits a short last group has.
func decodeBase64URL(dst, src []byte) (int, bool) {
	l := 0
	for ; l < len(src); l++ {
		if src[l] == '=' {
			break
		}
		if url64(src[l]) < 0 {
			return 0, false
		}
	}
	if l%4 == 1 {
		return 0, false
	}
	s, d := src[:l], 0
	for len(s) > 3 {
		a, b, c, e := url64(s[0]), url64(s[1]), url64(s[2]), url64(s[3])
		dst[d], dst[d+1], dst[d+2] = byte(a<<2|b>>4), byte(b<<4|c>>2), byte(c<<6|e)
		d += 3
		s = s[4:]
	}
	if len(s) > 1 {
		dst[d] = byte(url64(s[0])<<2 | url64(s[1])>>4)
		d++
	}
	if len(s) > 2 {
		dst[d] = byte(url64(s[1])<<4 | url64(s[2])>>2)
		d++
	}
	return d, true
}

func url64(c byte) int {
	switch {
	case c >= 'A' && c <= 'Z':
		return int(c - 'A')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 26
	case c >= '0' && c <= '9':
		return int(c-'0') + 52
	case c == '-':
		return 62
	case c == '_':
		return 63
	}
	return -1
}

// Old is ngx_http_secure_link_old_variable for secure_link_secret: the
// raw request URI is "/prefix/<32 hex digits>/<link>", and the digits
// must be the MD5 of link followed by secret. It returns the link part
// ($secure_link's value) and whether it was found.
func Old(uri []byte, secret string) ([]byte, bool) {
	if len(uri) < 1 {
		return nil, false
	}
	p := 1
	next := func() int {
		for p < len(uri) {
			c := uri[p]
			p++
			if c == '/' {
				return p
			}
		}
		return -1
	}
	start := next()
	if start < 0 {
		return nil, false
	}
	if next() < 0 {
		return nil, false
	}
	end := p - 1
	link := uri[p:]
	if end-start != 32 || len(link) == 0 {
		return nil, false
	}
	h := md5.New()
	h.Write(link)
	h.Write([]byte(secret))
	var sum [16]byte
	h.Sum(sum[:0])
	for i := 0; i < 16; i++ {
		hi, lo := hexVal(uri[start+2*i]), hexVal(uri[start+2*i+1])
		if hi < 0 || lo < 0 || byte(hi<<4|lo) != sum[i] {
			return nil, false
		}
	}
	return link, true
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c|0x20 >= 'a' && c|0x20 <= 'f':
		return int(c|0x20-'a') + 10
	}
	return -1
}
