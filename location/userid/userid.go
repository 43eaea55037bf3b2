// Package userid is nginx's userid filter without the server around it:
// reading the uid cookie (base64 of four 32-bit words, as a little-endian
// nginx lays them out in memory), making a new uid (the "v1" and "on"
// layouts and their per-process sequencers), and writing the Set-Cookie
// value and the $uid_got/$uid_set text.
package userid

import (
	"encoding/binary"
	"math/bits"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/gonginx/gonginx/rewrite/http1"
)

// Enable is the userid directive.
type Enable uint8

const (
	Off Enable = iota
	Log
	V1
	On
)

// Cookie flags (userid_flags).
const (
	Secure = 1 << iota
	HTTPOnly
	SameSiteStrict
	SameSiteLax
	SameSiteNone
)

// MaxExpires is "userid_expires max".
const MaxExpires = 2145916555

// Config is a level's merged userid settings.
type Config struct {
	Enable     Enable
	Name       string // "uid"
	Domain     string // "; domain=..." or ""
	Path       string // "; path=/"
	P3P        string
	Expires    int64 // seconds; 0: a session cookie
	Flags      int
	Service    uint32
	HasService bool
	Mark       byte // 0: none
}

// UID is four words as nginx's uint32_t uid[4] holds them on a
// little-endian machine.
type UID [4]uint32

// Zero reports whether the uid is absent (nginx tests the last word).
func (u *UID) Zero() bool { return u[3] == 0 }

// FindCookie is ngx_http_parse_multi_header_lines over the Cookie lines:
// the value of the first "name=" (name caseless, spaces around '='
// skipped, up to ';'), and the whole line it was found in.
func FindCookie(headers []http1.Header, name string) (value, line []byte, ok bool) {
	for i := range headers {
		if !hasPrefixFold(headers[i].Name, "cookie") || len(headers[i].Name) != len("cookie") {
			continue
		}
		v := headers[i].Value
		if len(name) > len(v) {
			continue
		}
		p := 0
		for p < len(v) {
			if hasPrefixFold(v[p:], name) {
				q := p + len(name)
				for q < len(v) && v[q] == ' ' {
					q++
				}
				if q < len(v) && v[q] == '=' {
					q++
					for q < len(v) && v[q] == ' ' {
						q++
					}
					end := q
					for end < len(v) && v[end] != ';' {
						end++
					}
					return v[q:end], v, true
				}
				p = q
			}
			for p < len(v) {
				c := v[p]
				p++
				if c == ';' || c == ',' {
					break
				}
			}
			for p < len(v) && v[p] == ' ' {
				p++
			}
		}
	}
	return nil, nil, false
}

func hasPrefixFold(b []byte, p string) bool {
	if len(b) < len(p) {
		return false
	}
	for i := 0; i < len(p); i++ {
		x, y := b[i], p[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// Decode reads a cookie value as ngx_http_userid_get_uid: too short
// (under 22 characters) or not base64 in its first 22 is an error
// ("too short" or "invalid"); decoding stops at a '=' among them.
func Decode(v []byte) (u UID, err string) {
	if len(v) < 22 {
		return u, "too short"
	}
	var b [16]byte
	if !decodeBase64(b[:], v[:22]) {
		return u, "invalid"
	}
	for i := range u {
		u[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	return u, ""
}

// decodeBase64 is ngx_decode_base64 into dst (16 bytes suffice for 22
// characters).
func decodeBase64(dst, src []byte) bool {
	l := 0
	for ; l < len(src); l++ {
		if src[l] == '=' {
			break
		}
		if b64(src[l]) < 0 {
			return false
		}
	}
	if l%4 == 1 {
		return false
	}
	s, d := src[:l], 0
	for len(s) > 3 {
		a, b, c, e := b64(s[0]), b64(s[1]), b64(s[2]), b64(s[3])
		dst[d], dst[d+1], dst[d+2] = byte(a<<2|b>>4), byte(b<<4|c>>2), byte(c<<6|e)
		d += 3
		s = s[4:]
	}
	if len(s) > 1 {
		dst[d] = byte(b64(s[0])<<2 | b64(s[1])>>4)
		d++
	}
	if len(s) > 2 {
		dst[d] = byte(b64(s[1])<<4 | b64(s[2])>>2)
	}
	return true
}

func b64(c byte) int {
	switch {
	case c >= 'A' && c <= 'Z':
		return int(c - 'A')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 26
	case c >= '0' && c <= '9':
		return int(c-'0') + 52
	case c == '+':
		return 62
	case c == '/':
		return 63
	}
	return -1
}

// The per-process state nginx's worker keeps: start_value from the
// microseconds and pid at start, and the two sequencers.
var (
	startValue  = uint32(time.Now().Nanosecond()/1000/20)<<16 | uint32(os.Getpid())
	sequencerV1 atomic.Uint32
	sequencerV2 atomic.Uint32
)

func init() {
	sequencerV1.Store(1)
	sequencerV2.Store(0x03030302)
}

// New makes a uid as ngx_http_userid_create_uid: local is the 4 bytes of
// the local address nginx puts first in "on" mode (the IPv4 address, the
// last four bytes of an IPv6 one, zeros for a unix socket).
func New(c *Config, local [4]byte, now int64) UID {
	var u UID
	if c.Enable == V1 {
		if c.HasService {
			u[0] = c.Service
		}
		u[1] = uint32(now)
		u[2] = startValue
		u[3] = sequencerV1.Add(0x100) - 0x100
		return u
	}
	if c.HasService {
		u[0] = bits.ReverseBytes32(c.Service)
	} else {
		u[0] = binary.LittleEndian.Uint32(local[:])
	}
	u[1] = bits.ReverseBytes32(uint32(now))
	u[2] = bits.ReverseBytes32(startValue)
	for {
		old := sequencerV2.Load()
		next := old + 0x100
		if next < 0x03030302 {
			next = 0x03030302
		}
		if sequencerV2.CompareAndSwap(old, next) {
			u[3] = bits.ReverseBytes32(old)
			return u
		}
	}
}

// AppendVar appends "name=" and the four words in upper-case hex, as
// $uid_got and $uid_set show them.
func AppendVar(dst []byte, name string, u *UID) []byte {
	dst = append(append(dst, name...), '=')
	for _, w := range u {
		for shift := 28; shift >= 0; shift -= 4 {
			dst = append(dst, "0123456789ABCDEF"[w>>uint(shift)&15])
		}
	}
	return dst
}

// AppendCookie appends the Set-Cookie value of ngx_http_userid_set_uid.
// With fresh set, the uid is encoded anew (its "==" taking the mark);
// otherwise got is the client's cookie, whose first 22 characters are
// sent back followed by the mark and '='.
func AppendCookie(dst []byte, c *Config, u *UID, fresh bool, got []byte, now int64) []byte {
	dst = append(append(dst, c.Name...), '=')
	if fresh {
		var b [16]byte
		for i, w := range u {
			binary.LittleEndian.PutUint32(b[4*i:], w)
		}
		s := len(dst)
		dst = appendBase64(dst, b[:])
		if c.Mark != 0 {
			dst[s+22] = c.Mark
		}
	} else {
		dst = append(append(dst, got[:22]...), c.Mark, '=')
	}
	switch {
	case c.Expires == MaxExpires:
		dst = append(dst, "; expires=Thu, 31-Dec-37 23:55:55 GMT"...)
	case c.Expires != 0:
		dst = append(dst, "; expires="...)
		dst = AppendCookieTime(dst, now+c.Expires)
	}
	dst = append(append(dst, c.Domain...), c.Path...)
	for _, f := range []struct {
		bit  int
		text string
	}{{Secure, "; secure"}, {HTTPOnly, "; httponly"}, {SameSiteStrict, "; samesite=strict"}, {SameSiteLax, "; samesite=lax"}, {SameSiteNone, "; samesite=none"}} {
		if c.Flags&f.bit != 0 {
			dst = append(dst, f.text...)
		}
	}
	return dst
}

const stdAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

func appendBase64(dst, src []byte) []byte {
	for len(src) >= 3 {
		dst = append(dst, stdAlphabet[src[0]>>2], stdAlphabet[(src[0]&3)<<4|src[1]>>4],
			stdAlphabet[(src[1]&15)<<2|src[2]>>6], stdAlphabet[src[2]&63])
		src = src[3:]
	}
	switch len(src) {
	case 1:
		dst = append(dst, stdAlphabet[src[0]>>2], stdAlphabet[(src[0]&3)<<4], '=', '=')
	case 2:
		dst = append(dst, stdAlphabet[src[0]>>2], stdAlphabet[(src[0]&3)<<4|src[1]>>4], stdAlphabet[(src[1]&15)<<2], '=')
	}
	return dst
}

// AppendCookieTime is ngx_http_cookie_time: "Thu, 01-Jan-2026 00:00:00
// GMT", with the year 2037 written "37".
func AppendCookieTime(dst []byte, t int64) []byte {
	tm := time.Unix(t, 0).UTC()
	dst = append(dst, tm.Weekday().String()[:3]...)
	dst = append(dst, ", "...)
	dst = tm.AppendFormat(dst, "02-Jan-")
	if tm.Year() == 2037 {
		dst = append(dst, "37"...)
	} else {
		dst = strconv.AppendInt(dst, int64(tm.Year()), 10)
	}
	return tm.AppendFormat(dst, " 15:04:05 GMT")
}
